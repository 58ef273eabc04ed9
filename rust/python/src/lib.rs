//! The extension module `sciml._core`: thin PyO3 bindings over `sciml-kernels`.
//!
//! Each binding checks ranks, shapes and dtypes, releases the GIL around the kernel,
//! runs it on sciml's own rayon pool (see [`threads`]) and maps kernel errors to
//! `ValueError`.

mod arrays;
mod fastrp;
mod gaussian;
mod gte;
mod mesh_morph;
mod mesh_transfer;
mod threads;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(threads::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian::gaussian_embedding_forward, m)?)?;
    m.add_function(wrap_pyfunction!(gaussian::gaussian_embedding_backward, m)?)?;
    m.add_function(wrap_pyfunction!(fastrp::fastrp_embedding, m)?)?;
    m.add_function(wrap_pyfunction!(fastrp::fastrp_projection, m)?)?;
    m.add_function(wrap_pyfunction!(gte::gte_scores, m)?)?;
    m.add_function(wrap_pyfunction!(gte::gte_topk, m)?)?;
    m.add_function(wrap_pyfunction!(mesh_transfer::transfer_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(mesh_morph::floater_morph, m)?)?;
    m.add_function(wrap_pyfunction!(mesh_morph::rbf_morph, m)?)?;
    m.add_function(wrap_pyfunction!(mesh_morph::signed_measures, m)?)?;
    Ok(())
}
