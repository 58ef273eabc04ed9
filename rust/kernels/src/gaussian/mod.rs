//! Gaussian feature embedding of physics-informed Gaussians (PIG; Kang et al., ICLR 2025).
//!
//! For N points `x` in d dimensions and K Gaussians with diagonal covariance
//! (means `mu_k`, standard deviations `sigma_k > 0`):
//!
//! ```text
//! r_kj   = (x_j - mu_kj) / sigma_kj
//! G_k(x) = exp(-1/2 sum_j r_kj^2)
//! phi_f(x)            = sum_k w_kf G_k(x)
//! d phi_f / d x_j     = sum_k w_kf (-r_kj / sigma_kj) G_k(x)
//! d2 phi_f / d x_j^2  = sum_k w_kf (r_kj^2 - 1) / sigma_kj^2 G_k(x)
//! ```
//!
//! Two weight layouts ([`Layout`]): every Gaussian feeds all F channels through a weight
//! row `w_k` (shared), or each channel owns its own block of Gaussians with one scalar
//! weight each (per channel, the layout of the PIG paper's code).
//!
//! **Local support.** With `cutoff = Some(c)`, Gaussian k is skipped at points where
//! `sum_j r_kj^2 > c^2`. A skipped term is at most `c^2 exp(-c^2/2)` times the peak of the
//! same quantity for that Gaussian (the bound holds for phi, its first and its second
//! derivatives, since `R exp(-R^2/2)` and `R^2 exp(-R^2/2)` decrease past the cutoff);
//! [`DEFAULT_CUTOFF`] = 6.4 makes it 5.2e-8, below 1e-7 relative. A cell grid over the
//! points (module `pack`) lists the Gaussians that may reach each cell, so the cost
//! follows the point-Gaussian pairs within the cutoff instead of N*K.
//!
//! `cutoff = None` sums every pair; only terms below the smallest normal number of the
//! type (`sum_j r_kj^2` beyond [`Real::MAX_SQUARED_RADIUS`], 174 in f32 and 1416 in f64)
//! are skipped, in both modes.
//!
//! **Memory layout.** All slices are row-major: `x` (N,d), `mu` and `sigma` (K,d),
//! weights (K,F) shared or (K,) per channel; outputs phi (N,F), d1 and d2 (N,d,F).

mod backward;
mod forward;
mod lanes;
mod pack;
mod tasks;

pub use backward::gaussian_embedding_backward;
pub use forward::gaussian_embedding_forward;

use crate::{KernelError, Real};

/// The default cutoff radius, in standard deviations: a skipped term is below
/// 5.2e-8 of its Gaussian's peak, for phi and both derivatives.
pub const DEFAULT_CUTOFF: f64 = 6.4;

/// How the weights map Gaussians to output channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Every Gaussian feeds every channel: weights (K, channels).
    Shared { channels: usize },
    /// Channel c owns Gaussians `c*K/channels .. (c+1)*K/channels`, each with one scalar
    /// weight: weights (K,). K must be a multiple of `channels`.
    PerChannel { channels: usize },
}

impl Layout {
    /// The number of output channels F.
    pub fn channels(&self) -> usize {
        match *self {
            Layout::Shared { channels } | Layout::PerChannel { channels } => channels,
        }
    }
}

/// K Gaussians in d dimensions with their weights (borrowed, row-major).
#[derive(Debug, Clone, Copy)]
pub struct Gaussians<'a, T> {
    pub dim: usize,
    /// Means, (K, d).
    pub mu: &'a [T],
    /// Standard deviations, (K, d), all > 0.
    pub sigma: &'a [T],
    /// Weights, (K, F) for [`Layout::Shared`] or (K,) for [`Layout::PerChannel`].
    pub weights: &'a [T],
    pub layout: Layout,
}

impl<T: Real> Gaussians<'_, T> {
    /// The number of Gaussians K.
    pub fn len(&self) -> usize {
        self.mu.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks shapes and values; returns K.
    fn validate(&self) -> Result<usize, KernelError> {
        let d = self.dim;
        if d == 0 {
            return Err(KernelError::shape("the dimension d must be at least 1"));
        }
        if self.mu.len() % d != 0 {
            return Err(KernelError::shape(format!(
                "mu has {} values, not a multiple of d = {d}",
                self.mu.len()
            )));
        }
        let k = self.mu.len() / d;
        if k >= u32::MAX as usize {
            return Err(KernelError::shape(format!("too many Gaussians: K = {k}")));
        }
        if self.sigma.len() != k * d {
            return Err(KernelError::shape(format!(
                "sigma has {} values but mu has shape ({k}, {d})",
                self.sigma.len()
            )));
        }
        let expected = match self.layout {
            Layout::Shared { channels } => k * channels,
            Layout::PerChannel { channels } => {
                if (channels == 0 && k > 0) || (channels > 0 && k % channels != 0) {
                    return Err(KernelError::shape(format!(
                        "per-channel layout: K = {k} Gaussians do not split into {channels} channels"
                    )));
                }
                k
            }
        };
        if self.weights.len() != expected {
            return Err(KernelError::shape(format!(
                "weights have {} values, expected {expected} for K = {k} and layout {:?}",
                self.weights.len(),
                self.layout
            )));
        }
        check_finite("mu", self.mu, d)?;
        check_finite("weights", self.weights, self.weights.len() / k.max(1))?;
        if let Some(i) = self
            .sigma
            .iter()
            .position(|&s| !(s.is_finite() && s > T::ZERO))
        {
            return Err(KernelError::value(format!(
                "sigma must be finite and > 0; sigma[{}, {}] = {:?}",
                i / d,
                i % d,
                self.sigma[i]
            )));
        }
        self.check_range(k)?;
        Ok(k)
    }

    /// Refuses sigma and weights whose outputs or gradients would overflow T: the largest
    /// factor, in the backward pass of the second derivatives, is about
    /// `K |w| R^4 / sigma^3`, with `R^2` below the underflow radius `MAX_SQUARED_RADIUS`.
    fn check_range(&self, k: usize) -> Result<(), KernelError> {
        let s_min = self
            .sigma
            .iter()
            .fold(f64::INFINITY, |m, s| m.min(s.to_f64()));
        let w_max = self
            .weights
            .iter()
            .fold(0.0f64, |m, w| m.max(w.to_f64().abs()));
        if k == 0 || self.weights.is_empty() {
            return Ok(());
        }
        let r2 = T::MAX_SQUARED_RADIUS.to_f64();
        let bound = (1.0 + w_max) * k as f64 * r2 * r2 / s_min.powi(3);
        if bound.is_finite() && bound <= 1e-2 * T::MAX_F64 {
            return Ok(());
        }
        let advice = if T::NAME == "f32" {
            "use float64"
        } else {
            "rescale the coordinates"
        };
        Err(KernelError::value(format!(
            "{} cannot represent the derivatives for min(sigma) = {s_min:e}, max|w| = {w_max:e} \
             and K = {k} (they overflow); {advice}",
            T::NAME
        )))
    }
}

/// Which outputs to compute, and the cutoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingOptions {
    /// 0: phi; 1: phi and its gradient; 2: also the diagonal second derivatives.
    pub order: usize,
    /// Cutoff radius in standard deviations (see the module docs); `None` is exact.
    pub cutoff: Option<f64>,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        EmbeddingOptions {
            order: 2,
            cutoff: Some(DEFAULT_CUTOFF),
        }
    }
}

impl EmbeddingOptions {
    fn validate(&self) -> Result<(), KernelError> {
        if self.order > 2 {
            return Err(KernelError::value(format!(
                "order must be 0, 1 or 2, got {}",
                self.order
            )));
        }
        if let Some(c) = self.cutoff {
            if !(c.is_finite() && c > 0.0) {
                return Err(KernelError::value(format!(
                    "cutoff must be a finite number > 0 (or None for exact), got {c}"
                )));
            }
        }
        Ok(())
    }
}

/// The embedding and its x-derivatives. `d1` and `d2` are empty below their order.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding<T> {
    /// (N, F)
    pub phi: Vec<T>,
    /// (N, d, F): d phi / d x_j
    pub d1: Vec<T>,
    /// (N, d, F): d2 phi / d x_j^2
    pub d2: Vec<T>,
}

/// Gradients of a scalar loss with respect to the outputs of the forward pass; `None`
/// stands for zeros. Shapes as in [`Embedding`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Upstream<'a, T> {
    pub phi: Option<&'a [T]>,
    pub d1: Option<&'a [T]>,
    pub d2: Option<&'a [T]>,
}

/// Gradients of a scalar loss with respect to every input.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingGrads<T> {
    /// (N, d)
    pub x: Vec<T>,
    /// (K, d)
    pub mu: Vec<T>,
    /// (K, d)
    pub sigma: Vec<T>,
    /// Same shape as the weights.
    pub weights: Vec<T>,
}

fn check_finite<T: Real>(name: &str, values: &[T], row: usize) -> Result<(), KernelError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(KernelError::value(format!(
            "{name} must be finite; {name}[{}, {}] = {:?}",
            i / row.max(1),
            i % row.max(1),
            values[i]
        ))),
    }
}

/// Checks the points against the Gaussians' dimension; returns N.
fn validate_points<T: Real>(x: &[T], dim: usize) -> Result<usize, KernelError> {
    if x.len() % dim != 0 {
        return Err(KernelError::shape(format!(
            "x has {} values, not a multiple of d = {dim}",
            x.len()
        )));
    }
    check_finite("x", x, dim)?;
    Ok(x.len() / dim)
}
