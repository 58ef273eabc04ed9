//! One propagation step `N_t = D^-1 S N_{t-1}`, fused with the row normalisation and
//! the update of the weighted sum, so that each row of N_t is touched once while it is
//! in cache.
//!
//! Rows are independent: each output row is computed by one task, reading rows of
//! `N_{t-1}` in the order of the row's edges. The arithmetic of a row does not depend on
//! how rows are split into tasks, so results are identical for any number of threads.

use rayon::prelude::*;

use super::graph::{CsrGraph, NodeIndex};
use super::projection::SparseRows;
use super::Normalization;

/// Rows per parallel task.
pub(super) const BLOCK_ROWS: usize = 64;

/// Where a step reads `N_{t-1}` from.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// Dense (n, d), row-major.
    Dense(&'a [f32]),
    /// R in compressed rows (step 1, when R is very sparse).
    Sparse(&'a SparseRows),
}

/// What a step does with the weighted sum E.
pub(super) enum SumOp<'a> {
    /// Leave it (it is zero and the step's weight is zero).
    Skip,
    /// E is `coef * N_t` row by row (the first nonzero term): record `coef` (n,) and
    /// keep E implicit, since `N_t` is stored anyway.
    Lazy(&'a mut [f32]),
    /// Write E into `out`: `coef * N_{t-1} + alpha * N^_t` (the implicit E of the previous
    /// step, made explicit) or `alpha * N^_t`.
    Write {
        out: &'a mut [f32],
        coef: Option<&'a [f32]>,
    },
    /// `out += alpha * N^_t`.
    Add(&'a mut [f32]),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Skip,
    Lazy,
    Write,
    Add,
}

/// The per-row part of a [`SumOp`].
enum RowSum<'a> {
    Skip,
    Lazy(&'a mut f32),
    Write(&'a mut [f32], Option<f32>),
    Add(&'a mut [f32]),
}

/// The fixed inputs of a step.
pub(super) struct Step<'a, I> {
    pub graph: CsrGraph<'a, I>,
    /// 1 / weighted degree, 0 for rows without weight.
    pub inv_degree: &'a [f32],
    pub dim: usize,
    pub alpha: f32,
    pub normalization: Normalization,
}

impl<I: NodeIndex> Step<'_, I> {
    /// Runs the step from `source`; stores `N_t` in `store` when given (normalised for
    /// [`Normalization::Propagate`], as computed otherwise) and updates the sum.
    pub fn run(&self, source: Source<'_>, store: Option<&mut [f32]>, sum: SumOp<'_>) {
        let d = self.dim;
        let n = self.inv_degree.len();
        let blocks = n.div_ceil(BLOCK_ROWS);
        let (mode, out, coef, lazy) = match sum {
            SumOp::Skip => (Mode::Skip, None, None, None),
            SumOp::Lazy(c) => (Mode::Lazy, None, None, Some(c)),
            SumOp::Write { out, coef } => (Mode::Write, Some(out), coef, None),
            SumOp::Add(out) => (Mode::Add, Some(out), None, None),
        };
        let coefs: Vec<Option<&[f32]>> = match coef {
            Some(c) => c.chunks(BLOCK_ROWS).map(Some).collect(),
            None => vec![None; blocks],
        };
        let tasks: Vec<_> = blocks_of(store, BLOCK_ROWS * d, blocks)
            .into_iter()
            .zip(blocks_of(out, BLOCK_ROWS * d, blocks))
            .zip(coefs)
            .zip(blocks_of(lazy, BLOCK_ROWS, blocks))
            .enumerate()
            .collect();
        tasks.into_par_iter().for_each_init(
            || vec![0f32; d],
            |scratch, (b, (((mut store, mut out), coef), mut lazy))| {
                let start = b * BLOCK_ROWS;
                for i in start..(start + BLOCK_ROWS).min(n) {
                    let r = i - start;
                    let rows = r * d..(r + 1) * d;
                    let acc: &mut [f32] = match store.as_deref_mut() {
                        Some(s) => &mut s[rows.clone()],
                        None => &mut scratch[..],
                    };
                    let row_sum = match (mode, out.as_deref_mut(), lazy.as_deref_mut()) {
                        (Mode::Lazy, _, Some(c)) => RowSum::Lazy(&mut c[r]),
                        (Mode::Write, Some(o), _) => {
                            RowSum::Write(&mut o[rows], coef.map(|c| c[r]))
                        }
                        (Mode::Add, Some(o), _) => RowSum::Add(&mut o[rows]),
                        _ => RowSum::Skip,
                    };
                    self.row(i, source, acc, row_sum);
                }
            },
        );
    }

    /// Computes row i of `N_t` into `acc` and applies the sum update.
    #[inline]
    fn row(&self, i: usize, source: Source<'_>, acc: &mut [f32], sum: RowSum<'_>) {
        let d = self.dim;
        acc.fill(0.0);
        let edges = self.graph.row_range(i);
        let cols = &self.graph.indices[edges.clone()];
        match (source, self.graph.data) {
            (Source::Dense(prev), None) => {
                for j in cols {
                    let j = j.get();
                    add(acc, &prev[j * d..(j + 1) * d]);
                }
            }
            (Source::Dense(prev), Some(w)) => {
                for (j, &w) in cols.iter().zip(&w[edges]) {
                    let j = j.get();
                    axpy(acc, w, &prev[j * d..(j + 1) * d]);
                }
            }
            (Source::Sparse(r), w) => {
                for (e, j) in edges.zip(cols) {
                    let w = w.map_or(1.0, |w| w[e]);
                    let (c, v) = r.row(j.get());
                    for (&c, &v) in c.iter().zip(v) {
                        acc[c as usize] += w * v;
                    }
                }
            }
        }
        scale(acc, self.inv_degree[i]);
        // `unit` turns the row into N^_t, the term of the sum
        let unit = match self.normalization {
            Normalization::None => 1.0,
            Normalization::Output | Normalization::Propagate => inverse_norm(acc),
        };
        let term = if self.normalization == Normalization::Propagate {
            scale(acc, unit);
            self.alpha
        } else {
            self.alpha * unit
        };
        match sum {
            RowSum::Skip => {}
            RowSum::Lazy(c) => *c = term,
            RowSum::Write(out, coef) => {
                for (o, &a) in out.iter_mut().zip(acc.iter()) {
                    *o = term * a;
                }
                if let Some(c) = coef {
                    add_source_row(out, c, source, i, d);
                }
            }
            RowSum::Add(out) => axpy(out, term, acc),
        }
    }
}

/// Splits an optional buffer into `blocks` blocks of `chunk` values (Nones if absent).
fn blocks_of(buf: Option<&mut [f32]>, chunk: usize, blocks: usize) -> Vec<Option<&mut [f32]>> {
    match buf {
        Some(b) => b.chunks_mut(chunk).map(Some).collect(),
        None => (0..blocks).map(|_| None).collect(),
    }
}

/// `out += c * source[i]`.
pub(super) fn add_source_row(out: &mut [f32], c: f32, source: Source<'_>, i: usize, d: usize) {
    match source {
        Source::Dense(prev) => axpy(out, c, &prev[i * d..(i + 1) * d]),
        Source::Sparse(r) => {
            let (cols, vals) = r.row(i);
            for (&col, &v) in cols.iter().zip(vals) {
                out[col as usize] += c * v;
            }
        }
    }
}

/// The L2 norm of row i of the source.
pub(super) fn source_row_norm(source: Source<'_>, i: usize, d: usize) -> f32 {
    match source {
        Source::Dense(prev) => norm(&prev[i * d..(i + 1) * d]),
        Source::Sparse(r) => norm(r.row(i).1),
    }
}

#[inline(always)]
fn add(acc: &mut [f32], x: &[f32]) {
    for (a, &x) in acc.iter_mut().zip(x) {
        *a += x;
    }
}

#[inline(always)]
pub(super) fn axpy(acc: &mut [f32], w: f32, x: &[f32]) {
    for (a, &x) in acc.iter_mut().zip(x) {
        *a += w * x;
    }
}

#[inline(always)]
fn scale(acc: &mut [f32], c: f32) {
    for a in acc.iter_mut() {
        *a *= c;
    }
}

/// The L2 norm, summed in 8 lanes in a fixed order.
#[inline]
pub(super) fn norm(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            lanes[l] += c[l] * c[l];
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        lanes[l] += v * v;
    }
    let s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    s.sqrt()
}

/// 1 / ||x||, or 1 for a zero row (which stays zero).
#[inline]
pub(super) fn inverse_norm(x: &[f32]) -> f32 {
    let n = norm(x);
    if n > 0.0 {
        1.0 / n
    } else {
        1.0
    }
}
