//! numpy <-> slice helpers shared by the bindings.

use numpy::{
    Element, PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The floating-point dtypes kernels accept.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Float {
    F32,
    F64,
}

/// The dtype of `obj`, which must be a float32 or float64 numpy array.
pub(crate) fn float_dtype(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Float> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a numpy array, got {}",
            type_name(obj)
        ))
    })?;
    let py = obj.py();
    let dtype = arr.dtype();
    if dtype.is_equiv_to(&numpy::dtype::<f64>(py)) {
        Ok(Float::F64)
    } else if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) {
        Ok(Float::F32)
    } else {
        Err(PyTypeError::new_err(format!(
            "{name} must be float32 or float64, got {dtype}"
        )))
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".into(), |n| n.to_string())
}

/// A read-only view of `obj` as an array of T with the given rank.
pub(crate) fn view<'py, T: Element>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    ndim: usize,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let arr: PyReadonlyArrayDyn<'py, T> = obj.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a numpy array of dtype {}",
            std::any::type_name::<T>()
        ))
    })?;
    if arr.ndim() != ndim {
        return Err(PyValueError::new_err(format!(
            "{name} must have {ndim} dimensions, got shape {:?}",
            arr.shape()
        )));
    }
    if !arr.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name} must be C-contiguous (use numpy.ascontiguousarray)"
        )));
    }
    Ok(arr)
}

/// The contiguous data of a view checked by [`view`].
pub(crate) fn data<'a, T: Element>(arr: &'a PyReadonlyArrayDyn<'_, T>) -> &'a [T] {
    arr.as_slice().unwrap_or(&[])
}

/// A new numpy array with the given shape holding `values`.
pub(crate) fn to_numpy<'py, T: Element>(
    py: Python<'py>,
    values: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any())
}

/// A kernel error as the Python exception users expect: `MemoryError` for a request
/// too large for the machine, `ValueError` for everything else.
pub(crate) fn kernel_error(e: sciml_kernels::KernelError) -> PyErr {
    match e {
        sciml_kernels::KernelError::Memory(msg) => PyMemoryError::new_err(msg),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A non-negative integer argument named `name`: `TypeError` when not an int, `ValueError`
/// when negative or above `max` (PyO3's own conversion raises an unnamed `OverflowError`).
fn index_arg(obj: &Bound<'_, PyAny>, name: &str, max: u64) -> PyResult<u64> {
    use pyo3::types::{PyBool, PyInt};
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, got {}",
            type_name(obj)
        )));
    }
    match obj.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(PyValueError::new_err(format!(
            "{name} must be an integer in [0, {max}], got {obj}"
        ))),
    }
}

/// `dim` as a usize (see [`index_arg`]).
pub(crate) fn dim_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    index_arg(obj, "dim", usize::MAX as u64).map(|v| v as usize)
}

/// `num_nodes` as a usize (see [`index_arg`]).
pub(crate) fn num_nodes_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    index_arg(obj, "num_nodes", usize::MAX as u64).map(|v| v as usize)
}

/// `order` as a usize (see [`index_arg`]).
pub(crate) fn order_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    index_arg(obj, "order", usize::MAX as u64).map(|v| v as usize)
}

/// `seed` as a u64 (see [`index_arg`]).
pub(crate) fn seed_arg(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    index_arg(obj, "seed", u64::MAX)
}
