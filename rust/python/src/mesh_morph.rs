//! Bindings of mesh morphing and mesh quality (`sciml_kernels::mesh`).

use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sciml_kernels::mesh::floater::{self, Landmarks};
use sciml_kernels::mesh::quality;
use sciml_kernels::mesh::rbf::{self, RbfKernel};

use crate::arrays::{data, kernel_error, to_numpy, view};
use crate::threads::pool;

/// A float64 array of shape (N, cols) (any N; cols in `cols`): its data and shape.
fn points_of(
    name: &str,
    obj: &Bound<'_, PyAny>,
    cols: &[usize],
) -> PyResult<(Vec<f64>, usize, usize)> {
    let arr = view::<f64>(name, obj, 2)?;
    let shape = arr.shape().to_vec();
    if !cols.contains(&shape[1]) {
        let want: Vec<String> = cols.iter().map(|c| format!("(N, {c})")).collect();
        return Err(PyValueError::new_err(format!(
            "{name} must have shape {}, got {shape:?}",
            want.join(" or ")
        )));
    }
    Ok((data(&arr).to_vec(), shape[0], shape[1]))
}

/// An int32 or int64 array of rank `ndim` (and `cols` columns if given) as node indices.
fn indices_of(
    name: &str,
    obj: &Bound<'_, PyAny>,
    ndim: usize,
    cols: Option<usize>,
) -> PyResult<Vec<usize>> {
    let py = obj.py();
    let dtype = obj
        .cast::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a numpy array of int64")))?
        .dtype();
    let values: Vec<i64> = if dtype.is_equiv_to(&numpy::dtype::<i64>(py)) {
        let arr = view::<i64>(name, obj, ndim)?;
        check_cols(name, arr.shape(), cols)?;
        data(&arr).to_vec()
    } else if dtype.is_equiv_to(&numpy::dtype::<i32>(py)) {
        let arr = view::<i32>(name, obj, ndim)?;
        check_cols(name, arr.shape(), cols)?;
        data(&arr).iter().map(|&v| v as i64).collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be int64 or int32, got {dtype}"
        )));
    };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).map_err(|_| {
                let at = match cols {
                    Some(c) => format!("[{}, {}]", i / c, i % c),
                    None => format!("[{i}]"),
                };
                PyValueError::new_err(format!("{name}{at} = {v} is negative"))
            })
        })
        .collect()
}

fn check_cols(name: &str, shape: &[usize], cols: Option<usize>) -> PyResult<()> {
    match cols {
        Some(c) if shape[1] != c => Err(PyValueError::new_err(format!(
            "{name} must have shape (M, {c}), got {shape:?}"
        ))),
        _ => Ok(()),
    }
}

/// The Floater morphing of the triangle mesh onto the unit disk.
///
/// `points` float64 (N, 2), `triangles` int64/int32 (M, 3), `landmarks` int64/int32 (L,)
/// boundary nodes in counter-clockwise order with `angles` float64 (L,) radians, or both
/// None. Returns float64 (N, 2).
#[pyfunction]
#[pyo3(signature = (points, triangles, landmarks=None, angles=None))]
pub fn floater_morph<'py>(
    py: Python<'py>,
    points: &Bound<'py, PyAny>,
    triangles: &Bound<'py, PyAny>,
    landmarks: Option<&Bound<'py, PyAny>>,
    angles: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (points, n, _) = points_of("points", points, &[2])?;
    let triangles = indices_of("triangles", triangles, 2, Some(3))?;
    let landmarks = landmarks
        .map(|l| indices_of("landmarks", l, 1, None))
        .transpose()?;
    let angles = match angles {
        Some(a) => Some(data(&view::<f64>("angles", a, 1)?).to_vec()),
        None => None,
    };
    let pinned = match (&landmarks, &angles) {
        (Some(nodes), Some(angles)) => Some(Landmarks { nodes, angles }),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "landmarks and angles must be given together (or neither)",
            ))
        }
    };
    let pool = pool()?;
    let out = py
        .detach(|| pool.install(|| floater::floater_morph(&points, &triangles, pinned)))
        .map_err(kernel_error)?;
    to_numpy(py, out, &[n, 2])
}

/// `points` moved by the RBF displacement field interpolating `control_displacements`
/// at `control_points`.
///
/// `points` float64 (N, d), `control_points` and `control_displacements` float64 (B, d),
/// d = 2 or 3; `kernel` "thin_plate" or "wendland" (which needs `support_radius`).
/// Returns float64 (N, d).
#[pyfunction]
#[pyo3(signature = (points, control_points, control_displacements, kernel="thin_plate", support_radius=None))]
pub fn rbf_morph<'py>(
    py: Python<'py>,
    points: &Bound<'py, PyAny>,
    control_points: &Bound<'py, PyAny>,
    control_displacements: &Bound<'py, PyAny>,
    kernel: &str,
    support_radius: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let kernel = match (kernel, support_radius) {
        ("thin_plate", None) => RbfKernel::ThinPlate,
        ("thin_plate", Some(_)) => {
            return Err(PyValueError::new_err(
                "support_radius is only for kernel='wendland'; the thin-plate spline has \
                 global support",
            ))
        }
        ("wendland", Some(r)) => RbfKernel::Wendland { support_radius: r },
        ("wendland", None) => {
            return Err(PyValueError::new_err(
                "kernel='wendland' needs a support_radius",
            ))
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "kernel must be 'thin_plate' or 'wendland', got {kernel:?}"
            )))
        }
    };
    let (points, n, d) = points_of("points", points, &[2, 3])?;
    let (controls, b, dc) = points_of("control_points", control_points, &[2, 3])?;
    let (disp, bd, dd) = points_of("control_displacements", control_displacements, &[2, 3])?;
    if dc != d || dd != d || bd != b {
        return Err(PyValueError::new_err(format!(
            "points (N, {d}), control_points ({b}, {dc}) and control_displacements ({bd}, \
             {dd}) must share the dimension, and the two control arrays their rows"
        )));
    }
    let pool = pool()?;
    let out = py
        .detach(|| pool.install(|| rbf::rbf_morph(&points, &controls, &disp, d, kernel)))
        .map_err(kernel_error)?;
    to_numpy(py, out, &[n, d])
}

/// The signed measure of each cell: triangle areas for `points` (N, 2) and `cells`
/// (M, 3), tetrahedron volumes for (N, 3) and (M, 4). Returns float64 (M,).
#[pyfunction]
pub fn signed_measures<'py>(
    py: Python<'py>,
    points: &Bound<'py, PyAny>,
    cells: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (points, _, d) = points_of("points", points, &[2, 3])?;
    let cells = indices_of("cells", cells, 2, Some(d + 1))?;
    let m = cells.len() / (d + 1);
    let pool = pool()?;
    let out = py
        .detach(|| pool.install(|| quality::signed_measures(&points, d, &cells)))
        .map_err(kernel_error)?;
    to_numpy(py, out, &[m])
}
