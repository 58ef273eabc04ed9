//! Forward pass: phi and its x-derivatives, parallel over points.

use rayon::prelude::*;

use super::grid::GaussianGrid;
use super::{
    offsets, prepare, validate_points, Embedding, EmbeddingOptions, Gaussians, Prepared,
};
use crate::{KernelError, Real};

/// Points per parallel task.
const POINTS_PER_TASK: usize = 64;

/// Evaluates the embedding at the points `x` (N, d): phi (N, F) and, by
/// `opts.order`, d1 and d2 (N, d, F). See the module docs for the maths.
pub fn gaussian_embedding_forward<T: Real>(
    x: &[T],
    g: &Gaussians<'_, T>,
    opts: &EmbeddingOptions,
) -> Result<Embedding<T>, KernelError> {
    opts.validate()?;
    let k = g.validate()?;
    let d = g.dim;
    let n = validate_points(x, d)?;
    let f = g.layout.channels();
    let order = opts.order;

    let grid = match opts.cutoff {
        Some(c) => GaussianGrid::build(x, g.mu, g.sigma, d, c),
        None => GaussianGrid::all(d, k),
    };
    let c2 = T::from_f64(opts.cutoff.map_or(f64::INFINITY, |c| c * c));
    let prep = prepare(g, k);

    // One row per point: [phi (F) | d1 (d*F) | d2 (d*F)], split afterwards.
    let row = f * (1 + d * order);
    let mut rows = vec![T::ZERO; n * row];
    if row > 0 {
        rows.par_chunks_mut(POINTS_PER_TASK * row)
            .enumerate()
            .for_each(|(task, out)| {
                let first = task * POINTS_PER_TASK;
                let mut r = vec![T::ZERO; d];
                for (p, out_p) in out.chunks_exact_mut(row).enumerate() {
                    let i = first + p;
                    let xi = &x[i * d..(i + 1) * d];
                    let (global, cell) = grid.candidates(xi);
                    for &kk in global.iter().chain(cell) {
                        accumulate_pair(xi, kk as usize, g, &prep, c2, order, &mut r, out_p);
                    }
                }
            });
    }

    let mut emb = Embedding {
        phi: Vec::with_capacity(n * f),
        d1: Vec::with_capacity(if order >= 1 { n * d * f } else { 0 }),
        d2: Vec::with_capacity(if order >= 2 { n * d * f } else { 0 }),
    };
    // With F = 0 every output is empty.
    for out_p in rows.chunks_exact(row.max(1)) {
        emb.phi.extend_from_slice(&out_p[..f]);
        if order >= 1 {
            emb.d1.extend_from_slice(&out_p[f..f + d * f]);
        }
        if order >= 2 {
            emb.d2.extend_from_slice(&out_p[f + d * f..]);
        }
    }
    Ok(emb)
}

/// Adds Gaussian k's contribution at point `xi` to the row `out` = [phi | d1 | d2].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn accumulate_pair<T: Real>(
    xi: &[T],
    k: usize,
    g: &Gaussians<'_, T>,
    prep: &Prepared<T>,
    c2: T,
    order: usize,
    r: &mut [T],
    out: &mut [T],
) {
    let d = g.dim;
    let f = g.layout.channels();
    let inv_s = &prep.inv_sigma[k * d..(k + 1) * d];
    let s = offsets(xi, &g.mu[k * d..(k + 1) * d], inv_s, r);
    if s > c2 {
        return;
    }
    let gk = (-(s * T::from_f64(0.5))).exp();
    let slots = g.weight_slots(k, prep.per_block);
    for m in 0..slots.channels {
        let ch = slots.first_channel + m;
        let wg = g.weights[slots.first_weight + m] * gk;
        out[ch] += wg;
        if order >= 1 {
            for j in 0..d {
                out[f + j * f + ch] -= wg * r[j] * inv_s[j];
            }
        }
        if order >= 2 {
            let base = f + d * f;
            for j in 0..d {
                out[base + j * f + ch] += wg * (r[j] * r[j] - T::ONE) * inv_s[j] * inv_s[j];
            }
        }
    }
}
