//! Bindings of the P1 field transfer (`sciml_kernels::mesh::transfer`).

use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sciml_kernels::mesh::transfer::{self, CellIndex, CsrMatrix};

use crate::arrays::{data, kernel_error, to_numpy, view};
use crate::threads::pool;

type Csr<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// The P1 transfer matrix T (Nd, Ns) from a source mesh to destination points, in CSR.
///
/// `src_points` float64 (Ns, d), `src_cells` int32 or int64 (M, d + 1) with d = 2
/// (triangles) or 3 (tetrahedra), `dst_points` float64 (Nd, d). Returns `(indptr,
/// indices, data)`: int64 (Nd + 1,), int64 (Nd (d + 1),), float64 (Nd (d + 1),); each
/// row holds the d + 1 vertices of one source element, sorted, zero weights included.
/// Runs without the GIL on sciml's pool.
#[pyfunction]
pub fn transfer_matrix<'py>(
    py: Python<'py>,
    src_points: &Bound<'py, PyAny>,
    src_cells: &Bound<'py, PyAny>,
    dst_points: &Bound<'py, PyAny>,
) -> PyResult<Csr<'py>> {
    let dtype = src_cells
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err("src_cells must be a numpy array"))?
        .dtype();
    if dtype.is_equiv_to(&numpy::dtype::<i32>(py)) {
        let cells = view::<i32>("src_cells", src_cells, 2)?;
        run(py, src_points, cells.shape(), data(&cells), dst_points)
    } else if dtype.is_equiv_to(&numpy::dtype::<i64>(py)) {
        let cells = view::<i64>("src_cells", src_cells, 2)?;
        run(py, src_points, cells.shape(), data(&cells), dst_points)
    } else {
        Err(PyTypeError::new_err(format!(
            "src_cells must be int32 or int64, got {dtype}"
        )))
    }
}

fn run<'py, I: CellIndex>(
    py: Python<'py>,
    src_points: &Bound<'py, PyAny>,
    cells_shape: &[usize],
    cells: &[I],
    dst_points: &Bound<'py, PyAny>,
) -> PyResult<Csr<'py>> {
    let d = cells_shape[1].wrapping_sub(1);
    if d != 2 && d != 3 {
        return Err(PyValueError::new_err(format!(
            "src_cells must have 3 (triangles) or 4 (tetrahedra) columns, got shape {cells_shape:?}"
        )));
    }
    let src = view::<f64>("src_points", src_points, 2)?;
    let dst = view::<f64>("dst_points", dst_points, 2)?;
    for (name, a) in [("src_points", &src), ("dst_points", &dst)] {
        if a.shape()[1] != d {
            return Err(PyValueError::new_err(format!(
                "{name} must have {d} columns to match src_cells of shape {cells_shape:?}, got shape {:?}",
                a.shape()
            )));
        }
    }
    let (src, dst) = (data(&src), data(&dst));
    let pool = pool()?;
    let CsrMatrix {
        nrows,
        indptr,
        indices,
        data: weights,
        ..
    } = py
        .detach(|| pool.install(|| transfer::transfer_matrix(src, cells, dst, d)))
        .map_err(kernel_error)?;
    let nnz = indices.len();
    Ok((
        to_numpy(py, indptr, &[nrows + 1])?,
        to_numpy(py, indices, &[nnz])?,
        to_numpy(py, weights, &[nnz])?,
    ))
}
