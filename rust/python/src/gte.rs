//! Bindings of GTE's scores and top-k lists (`sciml_kernels::graph::gte`).

use std::ops::Range;

use numpy::{Element, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};
use sciml_kernels::fastrp::NodeIndex;
use sciml_kernels::graph::{self, Bipartite};
use sciml_kernels::Real;

use crate::arrays::{data, float_dtype, kernel_error, to_numpy, view, Float};
use crate::threads::pool;

type Pair<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// A non-negative int argument: `TypeError` when not an int, `ValueError` when negative
/// or too large (PyO3's own conversion raises an unnamed `OverflowError`).
fn count(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, got {obj}"
        )));
    }
    obj.extract::<u64>()
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .filter(|&v| v <= isize::MAX as usize)
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be an int >= 0, got {obj}")))
}

fn n_items_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    count(obj, "n_items")
}
fn item_start_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    count(obj, "item_start")
}
fn item_stop_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    count(obj, "item_stop")
}
fn chunk_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    count(obj, "chunk")
}

/// The arguments shared by both entry points, unchecked.
struct Args<'a, 'py> {
    indptr: &'a Bound<'py, PyAny>,
    indices: &'a Bound<'py, PyAny>,
    data: &'a Bound<'py, PyAny>,
    t_indptr: &'a Bound<'py, PyAny>,
    t_indices: &'a Bound<'py, PyAny>,
    t_data: &'a Bound<'py, PyAny>,
    n_items: usize,
    users: &'a Bound<'py, PyAny>,
    items: Range<usize>,
}

/// Whether `indices` (and `t_indices`, which must match) is int64 (else int32).
fn wide_indices(py: Python<'_>, a: &Args<'_, '_>) -> PyResult<bool> {
    let dtype = |name: &str, obj: &Bound<'_, PyAny>| -> PyResult<bool> {
        let dt = obj
            .cast::<PyUntypedArray>()
            .map_err(|_| PyTypeError::new_err(format!("{name} must be a numpy array")))?
            .dtype();
        if dt.is_equiv_to(&numpy::dtype::<i64>(py)) {
            Ok(true)
        } else if dt.is_equiv_to(&numpy::dtype::<i32>(py)) {
            Ok(false)
        } else {
            Err(PyTypeError::new_err(format!(
                "{name} must be int32 or int64, got {dt}"
            )))
        }
    };
    let wide = dtype("indices", a.indices)?;
    if dtype("t_indices", a.t_indices)? != wide {
        return Err(PyTypeError::new_err(
            "indices and t_indices must have the same dtype",
        ));
    }
    Ok(wide)
}

/// Borrows the arrays as slices and runs `f` on the bipartite graph and the users.
fn with_graph<'py, I, T, R>(
    a: &Args<'_, 'py>,
    f: impl FnOnce(&Bipartite<'_, I, T>, &[i64]) -> PyResult<R>,
) -> PyResult<R>
where
    I: NodeIndex + Element,
    T: Real + Element,
{
    let indptr = view::<i64>("indptr", a.indptr, 1)?;
    let indices = view::<I>("indices", a.indices, 1)?;
    let values = view::<T>("data", a.data, 1)?;
    let t_indptr = view::<i64>("t_indptr", a.t_indptr, 1)?;
    let t_indices = view::<I>("t_indices", a.t_indices, 1)?;
    let t_values = view::<T>("t_data", a.t_data, 1)?;
    let users = view::<i64>("users", a.users, 1)?;
    let graph = Bipartite {
        indptr: data(&indptr),
        indices: data(&indices),
        data: data(&values),
        t_indptr: data(&t_indptr),
        t_indices: data(&t_indices),
        t_data: data(&t_values),
        n_items: a.n_items,
    };
    f(&graph, data(&users))
}

fn scores_typed<'py, I, T>(
    py: Python<'py>,
    a: &Args<'_, 'py>,
    coeffs: &[f64],
    chunk: usize,
) -> PyResult<Bound<'py, PyAny>>
where
    I: NodeIndex + Element,
    T: Real + Element,
{
    let (out, n) = with_graph::<I, T, _>(a, |g, users| {
        let pool = pool()?;
        let items = a.items.clone();
        let out = py
            .detach(|| pool.install(|| graph::gte_scores(g, coeffs, users, items, chunk)))
            .map_err(kernel_error)?;
        Ok((out, users.len()))
    })?;
    to_numpy(py, out, &[n, a.items.len()])
}

/// Raw GTE scores of `users` over the items `item_start..item_stop`.
///
/// R (n_users, n_items) in CSR: `indptr` int64 (n_users + 1,), `indices` int32 or int64
/// (nnz,), sorted within rows, `data` float32 or float64 (nnz,), weights >= 0; its
/// transpose R^T in CSR (`t_indptr` (n_items + 1,), `t_indices`, `t_data`, same dtypes).
/// `coeffs`: c_0..c_d of q with S = R q(R^T R). `users` int64 (m,). Returns S[users,
/// item_start:item_stop], (m, item_stop - item_start) in data's dtype. Runs without the
/// GIL on sciml's pool; `chunk` item columns at a time.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, t_indptr, t_indices, t_data, n_items, coeffs, users, item_start,
    item_stop, chunk=64
))]
#[allow(clippy::too_many_arguments)]
pub fn gte_scores<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    t_indptr: &Bound<'py, PyAny>,
    t_indices: &Bound<'py, PyAny>,
    t_data: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = n_items_arg)] n_items: usize,
    coeffs: Vec<f64>,
    users: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = item_start_arg)] item_start: usize,
    #[pyo3(from_py_with = item_stop_arg)] item_stop: usize,
    #[pyo3(from_py_with = chunk_arg)] chunk: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let a = Args {
        indptr,
        indices,
        data,
        t_indptr,
        t_indices,
        t_data,
        n_items,
        users,
        items: checked_items(item_start, item_stop)?,
    };
    let wide = wide_indices(py, &a)?;
    match (wide, float_dtype("data", data)?) {
        (false, Float::F32) => scores_typed::<i32, f32>(py, &a, &coeffs, chunk),
        (false, Float::F64) => scores_typed::<i32, f64>(py, &a, &coeffs, chunk),
        (true, Float::F32) => scores_typed::<i64, f32>(py, &a, &coeffs, chunk),
        (true, Float::F64) => scores_typed::<i64, f64>(py, &a, &coeffs, chunk),
    }
}

fn checked_items(start: usize, stop: usize) -> PyResult<Range<usize>> {
    if start > stop {
        return Err(PyValueError::new_err(format!(
            "item_start ({start}) must be <= item_stop ({stop})"
        )));
    }
    Ok(start..stop)
}

fn topk_typed<'py, I, T>(
    py: Python<'py>,
    a: &Args<'_, 'py>,
    coeffs: &[f64],
    chunk: usize,
    exclude_seen: bool,
    top_ids: &Bound<'py, PyAny>,
    top_scores: &Bound<'py, PyAny>,
) -> PyResult<Pair<'py>>
where
    I: NodeIndex + Element,
    T: Real + Element,
{
    let ids_in = view::<i64>("top_ids", top_ids, 2)?;
    let scores_in = view::<T>("top_scores", top_scores, 2)?;
    let shape = ids_in.shape().to_vec();
    if scores_in.shape() != shape.as_slice() {
        return Err(PyValueError::new_err(format!(
            "top_scores has shape {:?} but top_ids has shape {shape:?}",
            scores_in.shape()
        )));
    }
    let mut ids = data(&ids_in).to_vec();
    let mut vals = data(&scores_in).to_vec();
    with_graph::<I, T, _>(a, |g, users| {
        if users.len() != shape[0] {
            return Err(PyValueError::new_err(format!(
                "top_ids must have len(users) = {} rows, got shape {shape:?}",
                users.len()
            )));
        }
        let pool = pool()?;
        let items = a.items.clone();
        py.detach(|| {
            pool.install(|| {
                graph::gte_topk(
                    g,
                    coeffs,
                    users,
                    items,
                    chunk,
                    exclude_seen,
                    &mut ids,
                    &mut vals,
                )
            })
        })
        .map_err(kernel_error)
    })?;
    Ok((to_numpy(py, ids, &shape)?, to_numpy(py, vals, &shape)?))
}

/// Merges the items `item_start..item_stop` into the running top-k lists of `users`.
///
/// Arguments as `gte_scores`, plus `top_ids` int64 (m, k) and `top_scores` (m, k) in
/// data's dtype: each row sorted by score descending, ties by lower item id, empty slots
/// (-1) last; start from all -1. Returns the updated `(top_ids, top_scores)` (new arrays).
/// With `exclude_seen`, items in a user's row of R are never candidates.
#[pyfunction]
#[pyo3(signature = (
    indptr, indices, data, t_indptr, t_indices, t_data, n_items, coeffs, users, item_start,
    item_stop, top_ids, top_scores, *, exclude_seen=true, chunk=64
))]
#[allow(clippy::too_many_arguments)]
pub fn gte_topk<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
    t_indptr: &Bound<'py, PyAny>,
    t_indices: &Bound<'py, PyAny>,
    t_data: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = n_items_arg)] n_items: usize,
    coeffs: Vec<f64>,
    users: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = item_start_arg)] item_start: usize,
    #[pyo3(from_py_with = item_stop_arg)] item_stop: usize,
    top_ids: &Bound<'py, PyAny>,
    top_scores: &Bound<'py, PyAny>,
    exclude_seen: bool,
    #[pyo3(from_py_with = chunk_arg)] chunk: usize,
) -> PyResult<Pair<'py>> {
    let a = Args {
        indptr,
        indices,
        data,
        t_indptr,
        t_indices,
        t_data,
        n_items,
        users,
        items: checked_items(item_start, item_stop)?,
    };
    let wide = wide_indices(py, &a)?;
    let run = match (wide, float_dtype("data", data)?) {
        (false, Float::F32) => topk_typed::<i32, f32>,
        (false, Float::F64) => topk_typed::<i32, f64>,
        (true, Float::F32) => topk_typed::<i64, f32>,
        (true, Float::F64) => topk_typed::<i64, f64>,
    };
    run(py, &a, &coeffs, chunk, exclude_seen, top_ids, top_scores)
}
