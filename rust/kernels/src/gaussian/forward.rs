//! Forward pass: phi and its x-derivatives, parallel over blocks of points.

use rayon::prelude::*;

use super::lanes::{add_product, lane, lane_sum, Chunk, Lane};
use super::pack::{pack, Packed, LANES};
use super::tasks::{dispatch_avx2, has_avx2, tasks, Task};
use super::{validate_points, Embedding, EmbeddingOptions, Gaussians};
use crate::{memory, KernelError, Real};
use std::mem::size_of;

/// Evaluates the embedding at the points `x` (N, d): phi (N, F) and, by
/// `opts.order`, d1 and d2 (N, d, F). See the module docs for the maths.
pub fn gaussian_embedding_forward<T: Real>(
    x: &[T],
    g: &Gaussians<'_, T>,
    opts: &EmbeddingOptions,
) -> Result<Embedding<T>, KernelError> {
    opts.validate()?;
    g.validate()?;
    let d = g.dim;
    let n = validate_points(x, d)?;
    let f = g.layout.channels();
    let order = opts.order;
    // The outputs, and as much again for the per-block rows gathered before the scatter.
    let row_len = d
        .checked_mul(order)
        .and_then(|v| v.checked_add(1))
        .and_then(|v| v.checked_mul(f))
        .and_then(|v| v.checked_mul(n))
        .unwrap_or(usize::MAX);
    let out = memory::bytes_of("the Gaussian embedding's outputs", row_len, size_of::<T>())?;
    memory::ensure_available(
        "the Gaussian embedding",
        memory::total("embedding", &[out, out])?,
    )?;
    let mut emb = Embedding {
        phi: vec![T::ZERO; n * f],
        d1: vec![T::ZERO; if order >= 1 { n * d * f } else { 0 }],
        d2: vec![T::ZERO; if order >= 2 { n * d * f } else { 0 }],
    };
    if f == 0 {
        return Ok(emb);
    }

    let packed = pack(x, g, opts.cutoff);
    let c2 = squared_cutoff::<T>(opts.cutoff);
    let row = f * (1 + d * order);
    let avx2 = has_avx2();
    let blocks: Vec<(Task, Vec<T>)> = tasks(&packed, 0)
        .into_par_iter()
        .map(|task| {
            let rows = forward_task_dispatch(avx2, &packed, x, &task, f, order, c2);
            (task, rows)
        })
        .collect();

    // Scatter each point's row [phi | d1 | d2] to the outputs.
    for (task, rows) in &blocks {
        for (&i, row_i) in packed.point_order[task.points.clone()]
            .iter()
            .zip(rows.chunks_exact(row))
        {
            let i = i as usize;
            emb.phi[i * f..(i + 1) * f].copy_from_slice(&row_i[..f]);
            if order >= 1 {
                emb.d1[i * d * f..(i + 1) * d * f].copy_from_slice(&row_i[f..f + d * f]);
            }
            if order >= 2 {
                emb.d2[i * d * f..(i + 1) * d * f].copy_from_slice(&row_i[f + d * f..]);
            }
        }
    }
    Ok(emb)
}

/// `c^2`, or (no cutoff) the radius beyond which a Gaussian underflows to zero.
pub(super) fn squared_cutoff<T: Real>(cutoff: Option<f64>) -> T {
    let limit = T::MAX_SQUARED_RADIUS.to_f64();
    T::from_f64(cutoff.map_or(limit, |c| (c * c).min(limit)))
}

dispatch_avx2!(forward_task_dispatch, forward_task,
    fn<T>(p: &Packed<T>, x: &[T], task: &Task, f: usize, order: usize, c2: T) -> Vec<T>);

/// The rows [phi (F) | d1 (d*F) | d2 (d*F)] of one task's points.
#[inline(always)]
fn forward_task<T: Real>(
    p: &Packed<T>,
    x: &[T],
    task: &Task,
    f: usize,
    order: usize,
    c2: T,
) -> Vec<T> {
    let d = p.dim;
    let e = p.entries;
    let row = f * (1 + d * order);
    let runs = &p.runs[p.run_start[task.cell]..p.run_start[task.cell + 1]];
    let mut out = vec![T::ZERO; task.points.len() * row];
    let mut chunk = Chunk::new(d);
    let mut acc: Vec<Lane<T>> = vec![[T::ZERO; LANES]; row];
    let mut d1: Vec<Lane<T>> = vec![[T::ZERO; LANES]; d];
    let mut d2: Vec<Lane<T>> = vec![[T::ZERO; LANES]; d];

    for (&i, out_i) in p.point_order[task.points.clone()]
        .iter()
        .zip(out.chunks_exact_mut(row))
    {
        let xi = &x[i as usize * d..(i as usize + 1) * d];
        acc.iter_mut().for_each(|a| *a = [T::ZERO; LANES]);
        for run in runs {
            for e0 in (run.start..run.start + run.len).step_by(LANES) {
                if !chunk.eval(p, xi, e0, c2) {
                    continue;
                }
                for j in 0..d {
                    if order >= 1 {
                        chunk.first_derivative(j, &mut d1[j]);
                    }
                    if order >= 2 {
                        chunk.second_derivative(j, &mut d2[j]);
                    }
                }
                for m in 0..p.slots {
                    let ch = run.first_channel + m;
                    let w = *lane(&p.w, m * e + e0);
                    add_product(&mut acc[ch], &w, &chunk.g);
                    for j in 0..d * order.min(1) {
                        add_product(&mut acc[f + j * f + ch], &w, &d1[j]);
                    }
                    for j in 0..d * (order / 2) {
                        add_product(&mut acc[f + (d + j) * f + ch], &w, &d2[j]);
                    }
                }
            }
        }
        for (o, a) in out_i.iter_mut().zip(&acc) {
            *o = lane_sum(a);
        }
    }
    out
}
