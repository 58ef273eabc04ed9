//! Bindings of the Gaussian feature embedding (`sciml_kernels::gaussian`).
//!
//! The layout follows from the ranks: `mu` (K, d) with weights (K, F) is the shared
//! layout; `mu` (C, Nc, d) with weights (C, Nc) is the per-channel layout.

use numpy::{Element, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sciml_kernels::gaussian::{
    self, Embedding, EmbeddingGrads, EmbeddingOptions, Gaussians, Layout, Upstream,
};
use sciml_kernels::Real;

use crate::arrays::{data, float_dtype, kernel_error, order_arg, to_numpy, view, Float};
use crate::threads::pool;

type Outputs<'py> = (
    Bound<'py, PyAny>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);
type Grads<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

/// Borrowed, shape-checked inputs of one call.
struct Inputs<'py, T: Element> {
    x: PyReadonlyArrayDyn<'py, T>,
    mu: PyReadonlyArrayDyn<'py, T>,
    sigma: PyReadonlyArrayDyn<'py, T>,
    weights: PyReadonlyArrayDyn<'py, T>,
    layout: Layout,
    n: usize,
    d: usize,
}

impl<'py, T: Element + Real> Inputs<'py, T> {
    fn new(
        x: &Bound<'py, PyAny>,
        mu: &Bound<'py, PyAny>,
        sigma: &Bound<'py, PyAny>,
        weights: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        let x = view::<T>("x", x, 2)?;
        let (n, d) = (x.shape()[0], x.shape()[1]);
        let mu_rank = mu.getattr("ndim")?.extract::<usize>()?;
        let per_channel = match mu_rank {
            2 => false,
            3 => true,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "mu must have shape (K, d) or (C, Nc, d), got {} dimensions",
                    mu_rank
                )))
            }
        };
        let mu = view::<T>("mu", mu, mu_rank)?;
        let sigma = view::<T>("sigma", sigma, mu_rank)?;
        let weights = view::<T>("w", weights, 2)?;
        let gshape = mu.shape().to_vec();
        if *gshape.last().unwrap_or(&0) != d {
            return Err(PyValueError::new_err(format!(
                "mu has shape {gshape:?} but x has shape ({n}, {d}): the last dimensions must agree"
            )));
        }
        if sigma.shape() != gshape.as_slice() {
            return Err(PyValueError::new_err(format!(
                "sigma has shape {:?} but mu has shape {gshape:?}",
                sigma.shape()
            )));
        }
        let layout = if per_channel {
            if weights.shape() != &gshape[..2] {
                return Err(PyValueError::new_err(format!(
                    "w has shape {:?}; with mu of shape {gshape:?} it must be ({}, {})",
                    weights.shape(),
                    gshape[0],
                    gshape[1]
                )));
            }
            Layout::PerChannel {
                channels: gshape[0],
            }
        } else {
            if weights.shape()[0] != gshape[0] {
                return Err(PyValueError::new_err(format!(
                    "w has shape {:?}; with mu of shape {gshape:?} it must be ({}, F)",
                    weights.shape(),
                    gshape[0]
                )));
            }
            Layout::Shared {
                channels: weights.shape()[1],
            }
        };
        Ok(Inputs {
            x,
            mu,
            sigma,
            weights,
            layout,
            n,
            d,
        })
    }

    fn gaussians(&self) -> Gaussians<'_, T> {
        Gaussians {
            dim: self.d,
            mu: data(&self.mu),
            sigma: data(&self.sigma),
            weights: data(&self.weights),
            layout: self.layout,
        }
    }
}

fn check_same_dtype(args: &[(&str, &Bound<'_, PyAny>)]) -> PyResult<Float> {
    let (first_name, first) = args[0];
    let dtype = float_dtype(first_name, first)?;
    for &(name, obj) in &args[1..] {
        let other = float_dtype(name, obj)?;
        if other != dtype {
            return Err(PyTypeError::new_err(format!(
                "{name} is {other:?} but {first_name} is {dtype:?}: all arrays must share one dtype"
            )));
        }
    }
    Ok(dtype)
}

/// Evaluates the Gaussian embedding and its x-derivatives.
///
/// Returns `(phi (N, F), d1 (N, d, F) or None, d2 (N, d, F) or None)` by `order`.
/// `cutoff` is in standard deviations; `None` is exact.
#[pyfunction]
#[pyo3(signature = (x, mu, sigma, w, order=2, cutoff=Some(gaussian::DEFAULT_CUTOFF)))]
pub fn gaussian_embedding_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    mu: &Bound<'py, PyAny>,
    sigma: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    #[pyo3(from_py_with = order_arg)] order: usize,
    cutoff: Option<f64>,
) -> PyResult<Outputs<'py>> {
    match check_same_dtype(&[("x", x), ("mu", mu), ("sigma", sigma), ("w", w)])? {
        Float::F32 => forward_typed::<f32>(py, x, mu, sigma, w, order, cutoff),
        Float::F64 => forward_typed::<f64>(py, x, mu, sigma, w, order, cutoff),
    }
}

fn forward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    mu: &Bound<'py, PyAny>,
    sigma: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    order: usize,
    cutoff: Option<f64>,
) -> PyResult<Outputs<'py>> {
    let inputs = Inputs::<T>::new(x, mu, sigma, w)?;
    let opts = EmbeddingOptions { order, cutoff };
    let pool = pool()?;
    let (xs, g) = (data(&inputs.x), inputs.gaussians());
    let Embedding { phi, d1, d2 } = py
        .detach(|| pool.install(|| gaussian::gaussian_embedding_forward(xs, &g, &opts)))
        .map_err(kernel_error)?;
    let (n, d, f) = (inputs.n, inputs.d, inputs.layout.channels());
    let phi = to_numpy(py, phi, &[n, f])?;
    let d1 = if order >= 1 {
        Some(to_numpy(py, d1, &[n, d, f])?)
    } else {
        None
    };
    let d2 = if order >= 2 {
        Some(to_numpy(py, d2, &[n, d, f])?)
    } else {
        None
    };
    Ok((phi, d1, d2))
}

/// Gradients of a loss with respect to `(x, mu, sigma, w)`, given its gradients with
/// respect to the forward outputs (`None` for zeros). `cutoff` must match the forward
/// call. Returns arrays shaped like the inputs.
#[pyfunction]
#[pyo3(signature = (x, mu, sigma, w, grad_phi, grad_d1, grad_d2, cutoff=Some(gaussian::DEFAULT_CUTOFF)))]
#[allow(clippy::too_many_arguments)]
pub fn gaussian_embedding_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    mu: &Bound<'py, PyAny>,
    sigma: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    grad_phi: Option<&Bound<'py, PyAny>>,
    grad_d1: Option<&Bound<'py, PyAny>>,
    grad_d2: Option<&Bound<'py, PyAny>>,
    cutoff: Option<f64>,
) -> PyResult<Grads<'py>> {
    let mut args = vec![("x", x), ("mu", mu), ("sigma", sigma), ("w", w)];
    for (name, g) in [
        ("grad_phi", grad_phi),
        ("grad_d1", grad_d1),
        ("grad_d2", grad_d2),
    ] {
        if let Some(g) = g {
            args.push((name, g));
        }
    }
    let ups = [grad_phi, grad_d1, grad_d2];
    match check_same_dtype(&args)? {
        Float::F32 => backward_typed::<f32>(py, x, mu, sigma, w, ups, cutoff),
        Float::F64 => backward_typed::<f64>(py, x, mu, sigma, w, ups, cutoff),
    }
}

fn backward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    mu: &Bound<'py, PyAny>,
    sigma: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    ups: [Option<&Bound<'py, PyAny>>; 3],
    cutoff: Option<f64>,
) -> PyResult<Grads<'py>> {
    let inputs = Inputs::<T>::new(x, mu, sigma, w)?;
    let (n, d, f) = (inputs.n, inputs.d, inputs.layout.channels());
    let expected: [(&str, Vec<usize>); 3] = [
        ("grad_phi", vec![n, f]),
        ("grad_d1", vec![n, d, f]),
        ("grad_d2", vec![n, d, f]),
    ];
    let mut views = Vec::with_capacity(3);
    for ((name, shape), up) in expected.iter().zip(ups) {
        views.push(match up {
            None => None,
            Some(obj) => {
                let v = view::<T>(name, obj, shape.len())?;
                if v.shape() != shape.as_slice() {
                    return Err(PyValueError::new_err(format!(
                        "{name} has shape {:?}, expected {shape:?}",
                        v.shape()
                    )));
                }
                Some(v)
            }
        });
    }
    let up = Upstream {
        phi: views[0].as_ref().map(data),
        d1: views[1].as_ref().map(data),
        d2: views[2].as_ref().map(data),
    };
    let pool = pool()?;
    let (xs, g) = (data(&inputs.x), inputs.gaussians());
    let EmbeddingGrads {
        x: gx,
        mu: gmu,
        sigma: gsigma,
        weights: gw,
    } = py
        .detach(|| pool.install(|| gaussian::gaussian_embedding_backward(xs, &g, &up, cutoff)))
        .map_err(kernel_error)?;
    Ok((
        to_numpy(py, gx, inputs.x.shape())?,
        to_numpy(py, gmu, inputs.mu.shape())?,
        to_numpy(py, gsigma, inputs.sigma.shape())?,
        to_numpy(py, gw, inputs.weights.shape())?,
    ))
}
