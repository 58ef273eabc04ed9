//! Backward pass: gradients of a scalar loss with respect to x, mu, sigma and the
//! weights, given the loss's gradients with respect to phi, d1 and d2.
//!
//! Per pair (point i, Gaussian k) the loss sees `L = G * P` with
//! `P = a - sum_j b_j r_j / s_j + sum_j c_j (r_j^2 - 1) / s_j^2`, where
//! `a = <w_k, dL/dphi_i>`, `b_j = <w_k, dL/d d1_ij>`, `c_j = <w_k, dL/d d2_ij>` and
//! `s = sigma_k`. Then, with `dr_j/dx_j = 1/s_j`, `dr_j/dmu_j = -1/s_j`,
//! `dr_j/ds_j = -r_j/s_j`:
//!
//! ```text
//! dL/dr_j           = -r_j G P + G (-b_j / s_j + 2 c_j r_j / s_j^2)
//! dL/ds_j (r fixed) = G (b_j r_j / s_j^2 - 2 c_j (r_j^2 - 1) / s_j^3)
//! dL/dw_kf          = G dL/dphi_if + sum_j dG/dx_j dL/d d1_ijf + sum_j d2G/dx_j^2 dL/d d2_ijf
//! ```
//!
//! Point gradients are summed per point. Parameter gradients are summed into one buffer
//! per fixed block of points, then the blocks are added in block order: the block
//! partition depends on N and K only, so results do not depend on the thread count.

use rayon::prelude::*;

use super::grid::GaussianGrid;
use super::{
    offsets, prepare, validate_points, EmbeddingGrads, EmbeddingOptions, Gaussians, Prepared,
    Upstream,
};
use crate::{KernelError, Real};

/// Points per block: small enough to balance threads, large enough to amortise
/// the per-block parameter buffer.
const MIN_POINTS_PER_BLOCK: usize = 256;
const MAX_BLOCKS: usize = 64;
/// Upper bound on the elements of all per-block parameter buffers together.
const MAX_PARTIAL_ELEMENTS: usize = 1 << 24;

/// Gradients of a loss with respect to x (N,d), mu, sigma (K,d) and the weights, given
/// its gradients `up` with respect to the forward outputs. `cutoff` must be the one the
/// forward pass used (`None`: exact).
pub fn gaussian_embedding_backward<T: Real>(
    x: &[T],
    g: &Gaussians<'_, T>,
    up: &Upstream<'_, T>,
    cutoff: Option<f64>,
) -> Result<EmbeddingGrads<T>, KernelError> {
    EmbeddingOptions { order: 0, cutoff }.validate()?;
    let k = g.validate()?;
    let d = g.dim;
    let n = validate_points(x, d)?;
    let f = g.layout.channels();
    let check = |name: &str, v: Option<&[T]>, len: usize| match v {
        Some(v) if v.len() != len => Err(KernelError::shape(format!(
            "upstream gradient of {name} has {} values, expected {len}",
            v.len()
        ))),
        _ => Ok(()),
    };
    check("phi", up.phi, n * f)?;
    check("d1", up.d1, n * d * f)?;
    check("d2", up.d2, n * d * f)?;

    let mut grads = EmbeddingGrads {
        x: vec![T::ZERO; n * d],
        mu: vec![T::ZERO; k * d],
        sigma: vec![T::ZERO; k * d],
        weights: vec![T::ZERO; g.weights.len()],
    };
    if n == 0 || k == 0 || f == 0 || (up.phi.is_none() && up.d1.is_none() && up.d2.is_none()) {
        return Ok(grads);
    }

    let grid = match cutoff {
        Some(c) => GaussianGrid::build(x, g.mu, g.sigma, d, c),
        None => GaussianGrid::all(d, k),
    };
    let c2 = T::from_f64(cutoff.map_or(f64::INFINITY, |c| c * c));
    let prep = prepare(g, k);
    let ctx = PairContext { g, prep: &prep, up, c2 };

    // Parameter buffer of one block: [mu (K*d) | sigma (K*d) | weights].
    let params = 2 * k * d + g.weights.len();
    let blocks = block_count(n, params);
    let block_len = n.div_ceil(blocks);
    let partials: Vec<Vec<T>> = grads
        .x
        .par_chunks_mut(block_len * d)
        .enumerate()
        .map(|(b, gx_block)| {
            let mut acc = vec![T::ZERO; params];
            let mut scratch = Scratch::new(d);
            for (p, gx_i) in gx_block.chunks_exact_mut(d).enumerate() {
                let i = b * block_len + p;
                let xi = &x[i * d..(i + 1) * d];
                let (global, cell) = grid.candidates(xi);
                for &kk in global.iter().chain(cell) {
                    ctx.pair(i, xi, kk as usize, &mut scratch, gx_i, &mut acc);
                }
            }
            acc
        })
        .collect();

    // Sum the blocks in block order, in parallel over parameters.
    let mut total = vec![T::ZERO; params];
    total
        .par_chunks_mut(4096)
        .enumerate()
        .for_each(|(c, out)| {
            let range = c * 4096..c * 4096 + out.len();
            for part in &partials {
                for (o, v) in out.iter_mut().zip(&part[range.clone()]) {
                    *o += *v;
                }
            }
        });
    grads.mu.copy_from_slice(&total[..k * d]);
    grads.sigma.copy_from_slice(&total[k * d..2 * k * d]);
    grads.weights.copy_from_slice(&total[2 * k * d..]);
    Ok(grads)
}

/// The number of point blocks: a function of N and the parameter count only.
fn block_count(n: usize, params: usize) -> usize {
    let by_points = n.div_ceil(MIN_POINTS_PER_BLOCK);
    let by_memory = (MAX_PARTIAL_ELEMENTS / params.max(1)).max(1);
    by_points.min(MAX_BLOCKS).min(by_memory).max(1)
}

struct PairContext<'a, T> {
    g: &'a Gaussians<'a, T>,
    prep: &'a Prepared<T>,
    up: &'a Upstream<'a, T>,
    c2: T,
}

/// Per-thread work arrays of length d.
struct Scratch<T> {
    r: Vec<T>,
    b: Vec<T>,
    c: Vec<T>,
}

impl<T: Real> Scratch<T> {
    fn new(d: usize) -> Self {
        Scratch {
            r: vec![T::ZERO; d],
            b: vec![T::ZERO; d],
            c: vec![T::ZERO; d],
        }
    }
}

impl<T: Real> PairContext<'_, T> {
    /// Adds the pair (point i, Gaussian k) to the point's gradient `gx_i` and to the
    /// block's parameter buffer `acc` = [mu | sigma | weights].
    #[inline(always)]
    fn pair(&self, i: usize, xi: &[T], k: usize, sc: &mut Scratch<T>, gx_i: &mut [T], acc: &mut [T]) {
        let g = self.g;
        let d = g.dim;
        let f = g.layout.channels();
        let inv_s = &self.prep.inv_sigma[k * d..(k + 1) * d];
        let s = offsets(xi, &g.mu[k * d..(k + 1) * d], inv_s, &mut sc.r);
        if s > self.c2 {
            return;
        }
        let gk = (-(s * T::from_f64(0.5))).exp();
        let r = &sc.r;

        // a, b_j, c_j and the weight gradients, channel by channel.
        let mut a = T::ZERO;
        sc.b.fill(T::ZERO);
        sc.c.fill(T::ZERO);
        let slots = g.weight_slots(k, self.prep.per_block);
        let w_base = 2 * g.mu.len();
        for m in 0..slots.channels {
            let ch = slots.first_channel + m;
            let w = g.weights[slots.first_weight + m];
            let mut gw = T::ZERO;
            if let Some(up) = self.up.phi {
                let u = up[i * f + ch];
                gw += gk * u;
                a += w * u;
            }
            if let Some(up) = self.up.d1 {
                for j in 0..d {
                    let u = up[(i * d + j) * f + ch];
                    gw -= gk * r[j] * inv_s[j] * u;
                    sc.b[j] += w * u;
                }
            }
            if let Some(up) = self.up.d2 {
                for j in 0..d {
                    let u = up[(i * d + j) * f + ch];
                    gw += gk * (r[j] * r[j] - T::ONE) * inv_s[j] * inv_s[j] * u;
                    sc.c[j] += w * u;
                }
            }
            acc[w_base + slots.first_weight + m] += gw;
        }

        // P = a - sum_j b_j r_j / s_j + sum_j c_j (r_j^2 - 1) / s_j^2
        let mut p = a;
        for j in 0..d {
            p += (r[j] * r[j] - T::ONE) * inv_s[j] * inv_s[j] * sc.c[j] - sc.b[j] * r[j] * inv_s[j];
        }
        let two = T::ONE + T::ONE;
        for j in 0..d {
            let is = inv_s[j];
            let dl_dr = gk * (-(r[j] * p) - sc.b[j] * is + two * sc.c[j] * r[j] * is * is);
            let dl_ds_explicit = gk
                * (sc.b[j] * r[j] * is * is - two * sc.c[j] * (r[j] * r[j] - T::ONE) * is * is * is);
            let dl_dx = dl_dr * is;
            gx_i[j] += dl_dx;
            acc[k * d + j] -= dl_dx;
            acc[g.mu.len() + k * d + j] += dl_ds_explicit - dl_dr * r[j] * is;
        }
    }
}
