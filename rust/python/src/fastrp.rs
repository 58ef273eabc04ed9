//! Bindings of FastRP (`sciml_kernels::fastrp`).

use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sciml_kernels::fastrp::{self, CsrGraph, DegreeKind, FastRpOptions, NodeIndex, Normalization};

use crate::arrays::{data, dim_arg, kernel_error, num_nodes_arg, seed_arg, to_numpy, view};
use crate::threads::pool;

fn normalization(name: &str) -> PyResult<Normalization> {
    match name {
        "none" => Ok(Normalization::None),
        "output" => Ok(Normalization::Output),
        "propagate" => Ok(Normalization::Propagate),
        _ => Err(PyValueError::new_err(format!(
            "normalization must be 'none', 'output' or 'propagate', got {name:?}"
        ))),
    }
}

fn degree_kind(name: &str) -> PyResult<DegreeKind> {
    match name {
        "weighted" => Ok(DegreeKind::Weighted),
        "count" => Ok(DegreeKind::Count),
        _ => Err(PyValueError::new_err(format!(
            "degree must be 'weighted' or 'count', got {name:?}"
        ))),
    }
}

/// The FastRP embedding of the CSR graph `(indptr, indices, data)`.
///
/// `indptr` int64 (n + 1,), `indices` int32 or int64 (nnz,), `data` float32 (nnz,) or
/// None (unweighted). Returns float32 (n, dim). Runs without the GIL on sciml's pool.
/// `low_memory`: last step in place (None: automatic, from 256 MiB of embedding).
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, *, dim, weights, beta, sparsity,
    normalization="output", degree="weighted", self_influence=0.0, standardize=true, seed=0,
    low_memory=None
))]
#[allow(clippy::too_many_arguments)]
pub fn fastrp_embedding<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = dim_arg)] dim: usize,
    weights: Vec<f64>,
    beta: f64,
    sparsity: f64,
    normalization: &str,
    degree: &str,
    self_influence: f64,
    standardize: bool,
    #[pyo3(from_py_with = seed_arg)] seed: u64,
    low_memory: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = FastRpOptions {
        dim,
        weights,
        beta,
        sparsity,
        normalization: self::normalization(normalization)?,
        degree: degree_kind(degree)?,
        self_influence,
        standardize,
        seed,
        low_memory,
    };
    let indptr = view::<i64>("indptr", indptr, 1)?;
    let edge_weights = data.map(|w| view::<f32>("data", w, 1)).transpose()?;
    let weights = edge_weights.as_ref().map(|w| data_of(w));
    let dtype = indices
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err("indices must be a numpy array"))?
        .dtype();
    if dtype.is_equiv_to(&numpy::dtype::<i32>(py)) {
        let indices = view::<i32>("indices", indices, 1)?;
        run(py, data_of(&indptr), data_of(&indices), weights, &opts)
    } else if dtype.is_equiv_to(&numpy::dtype::<i64>(py)) {
        let indices = view::<i64>("indices", indices, 1)?;
        run(py, data_of(&indptr), data_of(&indices), weights, &opts)
    } else {
        Err(PyTypeError::new_err(format!(
            "indices must be int32 or int64, got {dtype}"
        )))
    }
}

fn data_of<'a, T: numpy::Element>(a: &'a numpy::PyReadonlyArrayDyn<'_, T>) -> &'a [T] {
    data(a)
}

fn run<'py, I: NodeIndex>(
    py: Python<'py>,
    indptr: &[i64],
    indices: &[I],
    weights: Option<&[f32]>,
    opts: &FastRpOptions,
) -> PyResult<Bound<'py, PyAny>> {
    let graph = CsrGraph {
        indptr,
        indices,
        data: weights,
    };
    let pool = pool()?;
    let out = py
        .detach(|| pool.install(|| fastrp::fastrp_embedding(&graph, opts)))
        .map_err(kernel_error)?;
    let n = indptr.len().saturating_sub(1);
    to_numpy(py, out, &[n, opts.dim])
}

/// The random projection R (num_nodes, dim) float32 that FastRP uses for `(sparsity,
/// seed)`, densely, without degree scaling: entries +-sqrt(sparsity) or 0.
#[pyfunction]
#[pyo3(signature = (num_nodes, dim, sparsity, seed=0))]
pub fn fastrp_projection<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = num_nodes_arg)] num_nodes: usize,
    #[pyo3(from_py_with = dim_arg)] dim: usize,
    sparsity: f64,
    #[pyo3(from_py_with = seed_arg)] seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let pool = pool()?;
    let r = py
        .detach(|| pool.install(|| fastrp::random_projection(num_nodes, dim, sparsity, seed)))
        .map_err(kernel_error)?;
    to_numpy(py, r, &[num_nodes, dim])
}
