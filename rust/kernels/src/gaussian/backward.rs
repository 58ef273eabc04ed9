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
//! Each task owns its points' x-gradients and a gradient buffer per packed entry of its
//! cell, so tasks never share memory. The buffers are then added into the Gaussians'
//! gradients task by task, entry by entry: a fixed order, whatever the thread count.

use rayon::prelude::*;

use super::forward::squared_cutoff;
use super::lanes::{add, add_scaled, lane, lane_mut, lane_sum, Chunk, Lane};
use super::pack::{pack, Packed, LANES};
use super::tasks::{dispatch_avx2, has_avx2, tasks, Task};
use super::{validate_points, EmbeddingGrads, EmbeddingOptions, Gaussians, Layout, Upstream};
use crate::{memory, KernelError, Real};
use std::mem::size_of;

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
    for (name, v, len) in [
        ("phi", up.phi, n * f),
        ("d1", up.d1, n * d * f),
        ("d2", up.d2, n * d * f),
    ] {
        if let Some(v) = v {
            if v.len() != len {
                return Err(KernelError::shape(format!(
                    "upstream gradient of {name} has {} values, expected {len}",
                    v.len()
                )));
            }
        }
    }

    // The gradients, and as much again for the per-block partial sums.
    let grad_len = memory::total("gradients", &[n * d, 2 * k * d, g.weights.len()])?;
    let bytes = memory::bytes_of(
        "the Gaussian embedding's gradients",
        grad_len,
        size_of::<T>(),
    )?;
    memory::ensure_available("the Gaussian embedding's backward pass", 2 * bytes)?;
    let mut grads = EmbeddingGrads {
        x: vec![T::ZERO; n * d],
        mu: vec![T::ZERO; k * d],
        sigma: vec![T::ZERO; k * d],
        weights: vec![T::ZERO; g.weights.len()],
    };
    if f == 0 || (up.phi.is_none() && up.d1.is_none() && up.d2.is_none()) {
        return Ok(grads);
    }

    let packed = pack(x, g, cutoff);
    let c2 = squared_cutoff::<T>(cutoff);
    let per_entry = 2 * d + packed.slots;
    let avx2 = has_avx2();
    let blocks: Vec<(Task, TaskGrads<T>)> = tasks(&packed, per_entry)
        .into_par_iter()
        .map(|task| {
            let grads = backward_task_dispatch(avx2, &packed, x, up, &task, f, c2);
            (task, grads)
        })
        .collect();

    for (task, tg) in &blocks {
        for (&i, gx_i) in packed.point_order[task.points.clone()]
            .iter()
            .zip(tg.x.chunks_exact(d))
        {
            let i = i as usize;
            grads.x[i * d..(i + 1) * d].copy_from_slice(gx_i);
        }
        let entries = packed.cell_entries(task.cell);
        let seg = entries.len();
        for (q, &id) in packed.ids[entries].iter().enumerate() {
            let id = id as usize;
            if id == k {
                continue; // padding
            }
            for j in 0..d {
                grads.mu[id * d + j] += tg.entries[j * seg + q];
                grads.sigma[id * d + j] += tg.entries[(d + j) * seg + q];
            }
            for m in 0..packed.slots {
                let slot = match g.layout {
                    Layout::Shared { channels } => id * channels + m,
                    Layout::PerChannel { .. } => id,
                };
                grads.weights[slot] += tg.entries[(2 * d + m) * seg + q];
            }
        }
    }
    // Non-finite upstream gradients pass through (a diverged loss is the caller's to see);
    // non-finite gradients from finite ones are an overflow.
    let finite = |v: &[T]| v.iter().all(|x| x.is_finite());
    let upstream_finite = [up.phi, up.d1, up.d2].iter().flatten().all(|v| finite(v));
    let grads_finite =
        finite(&grads.x) && finite(&grads.mu) && finite(&grads.sigma) && finite(&grads.weights);
    if upstream_finite && !grads_finite {
        return Err(KernelError::value(format!(
            "the gradients overflow {}: the upstream gradients are too large for these \
             sigma and weights",
            T::NAME
        )));
    }
    Ok(grads)
}

/// One task's gradients: its points' x-gradients (points, d) and, per packed entry of
/// its cell, [mu (d) | sigma (d) | weights (slots)] stored as (2d + slots, entries).
struct TaskGrads<T> {
    x: Vec<T>,
    entries: Vec<T>,
}

dispatch_avx2!(backward_task_dispatch, backward_task,
    fn<T>(p: &Packed<T>, x: &[T], up: &Upstream<'_, T>, task: &Task, f: usize, c2: T) -> TaskGrads<T>);

#[inline(always)]
fn backward_task<T: Real>(
    p: &Packed<T>,
    x: &[T],
    up: &Upstream<'_, T>,
    task: &Task,
    f: usize,
    c2: T,
) -> TaskGrads<T> {
    let d = p.dim;
    let e = p.entries;
    let entries = p.cell_entries(task.cell);
    let (seg_start, seg) = (entries.start, entries.len());
    let runs = &p.runs[p.run_start[task.cell]..p.run_start[task.cell + 1]];
    let mut out = TaskGrads {
        x: vec![T::ZERO; task.points.len() * d],
        entries: vec![T::ZERO; (2 * d + p.slots) * seg],
    };
    let two = T::ONE + T::ONE;
    let mut chunk = Chunk::new(d);
    let zero_lane = [T::ZERO; LANES];
    let mut d1: Vec<Lane<T>> = vec![zero_lane; d];
    let mut d2: Vec<Lane<T>> = vec![zero_lane; d];
    let mut b: Vec<Lane<T>> = vec![zero_lane; d];
    let mut c: Vec<Lane<T>> = vec![zero_lane; d];
    let mut gx: Vec<Lane<T>> = vec![zero_lane; d];
    // This point's upstream gradients, per channel: phi (F), d1 (d, F), d2 (d, F).
    let mut u_phi = vec![T::ZERO; f];
    let mut u_d1 = vec![T::ZERO; d * f];
    let mut u_d2 = vec![T::ZERO; d * f];

    for (&i, gx_out) in p.point_order[task.points.clone()]
        .iter()
        .zip(out.x.chunks_exact_mut(d))
    {
        let i = i as usize;
        let xi = &x[i * d..(i + 1) * d];
        if let Some(v) = up.phi {
            u_phi.copy_from_slice(&v[i * f..(i + 1) * f]);
        }
        if let Some(v) = up.d1 {
            u_d1.copy_from_slice(&v[i * d * f..(i + 1) * d * f]);
        }
        if let Some(v) = up.d2 {
            u_d2.copy_from_slice(&v[i * d * f..(i + 1) * d * f]);
        }
        gx.iter_mut().for_each(|v| *v = zero_lane);

        for run in runs {
            for e0 in (run.start..run.start + run.len).step_by(LANES) {
                if !chunk.eval(p, xi, e0, c2) {
                    continue;
                }
                let q0 = e0 - seg_start;
                let g = chunk.g;
                for j in 0..d {
                    chunk.first_derivative(j, &mut d1[j]);
                    chunk.second_derivative(j, &mut d2[j]);
                    b[j] = zero_lane;
                    c[j] = zero_lane;
                }
                // a = <w, dL/dphi>, b_j = <w, dL/dd1_j>, c_j = <w, dL/dd2_j>, and dL/dw.
                let mut a = zero_lane;
                for m in 0..p.slots {
                    let ch = run.first_channel + m;
                    let w = *lane(&p.w, m * e + e0);
                    let mut gw = zero_lane;
                    add_scaled(&mut gw, &g, u_phi[ch]);
                    add_scaled(&mut a, &w, u_phi[ch]);
                    for j in 0..d {
                        let (u1, u2) = (u_d1[j * f + ch], u_d2[j * f + ch]);
                        add_scaled(&mut gw, &d1[j], u1);
                        add_scaled(&mut gw, &d2[j], u2);
                        add_scaled(&mut b[j], &w, u1);
                        add_scaled(&mut c[j], &w, u2);
                    }
                    add(lane_mut(&mut out.entries, (2 * d + m) * seg + q0), &gw);
                }

                // P = a - sum_j b_j r_j / s_j + sum_j c_j (r_j^2 - 1) / s_j^2
                let mut pp = a;
                for j in 0..d {
                    let (r, is, bj, cj) = (chunk.r[j], chunk.inv_s[j], b[j], c[j]);
                    for l in 0..LANES {
                        pp[l] +=
                            cj[l] * (r[l] * r[l] - T::ONE) * is[l] * is[l] - bj[l] * r[l] * is[l];
                    }
                }
                for j in 0..d {
                    let (r, is, bj, cj) = (chunk.r[j], chunk.inv_s[j], b[j], c[j]);
                    let mut dl_dx = zero_lane;
                    let mut dl_dsigma = zero_lane;
                    for l in 0..LANES {
                        let is2 = is[l] * is[l];
                        let dl_dr =
                            g[l] * (two * cj[l] * r[l] * is2 - r[l] * pp[l] - bj[l] * is[l]);
                        let explicit = g[l]
                            * (bj[l] * r[l] * is2
                                - two * cj[l] * (r[l] * r[l] - T::ONE) * is2 * is[l]);
                        dl_dx[l] = dl_dr * is[l];
                        dl_dsigma[l] = explicit - dl_dr * r[l] * is[l];
                    }
                    add(&mut gx[j], &dl_dx);
                    add_scaled(lane_mut(&mut out.entries, j * seg + q0), &dl_dx, -T::ONE);
                    add(lane_mut(&mut out.entries, (d + j) * seg + q0), &dl_dsigma);
                }
            }
        }
        for (o, v) in gx_out.iter_mut().zip(&gx) {
            *o = lane_sum(v);
        }
    }
    out
}
