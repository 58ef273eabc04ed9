//! One propagation step `N_t = D^-1 S N_{t-1}`, fused with the row normalisation and
//! the update of the weighted sum, so that each row of N_t is touched once while it is
//! in cache.
//!
//! Rows are independent: each output row is computed by one task, reading rows of
//! `N_{t-1}` in the order of the row's edges. The arithmetic of a row does not depend on
//! how rows are split into tasks, so results are identical for any number of threads.
//! `N_{t-1}` and `N_t` may each be dense or in compressed rows ([`SparseRows`]); the
//! values are the same either way (a dense step only adds exact zeros more).

use rayon::prelude::*;

use super::graph::{CsrGraph, NodeIndex};
use super::sparse::{SparseBlock, SparseRows, BLOCK_ROWS};
use super::Normalization;

/// Where a step reads `N_{t-1}` from.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// Dense (n, d), row-major.
    Dense(&'a [f32]),
    /// Compressed rows.
    Sparse(&'a SparseRows),
}

/// Where a step stores `N_t` (normalised for [`Normalization::Propagate`], as computed
/// otherwise).
pub(super) enum Store<'a> {
    /// Not at all (the last step).
    None,
    /// Densely, in this (n, d) buffer.
    Dense(&'a mut [f32]),
    /// In compressed rows, returned by [`Step::run`].
    Sparse,
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

/// Per-thread scratch space: a dense row and a bitmap of its touched columns.
struct Scratch {
    row: Vec<f32>,
    touched: Vec<u64>,
}

/// The blocks of one task: its rows of every buffer the step writes.
struct Task<'a> {
    block: usize,
    store: Option<&'a mut [f32]>,
    out: Option<&'a mut [f32]>,
    coef: Option<&'a [f32]>,
    lazy: Option<&'a mut [f32]>,
}

/// The fixed inputs of a step.
#[derive(Clone, Copy)]
pub(super) struct Step<'a, I> {
    pub graph: CsrGraph<'a, I>,
    /// 1 / weighted degree, 0 for rows without weight.
    pub inv_degree: &'a [f32],
    pub dim: usize,
    pub alpha: f32,
    pub normalization: Normalization,
}

impl<I: NodeIndex> Step<'_, I> {
    /// Runs the step from `source`, stores `N_t` as asked and updates the sum; returns
    /// `N_t` in compressed rows for [`Store::Sparse`].
    pub fn run(&self, source: Source<'_>, store: Store<'_>, sum: SumOp<'_>) -> Option<SparseRows> {
        let d = self.dim;
        let n = self.inv_degree.len();
        let blocks = n.div_ceil(BLOCK_ROWS);
        let (mode, out, coef, lazy) = match sum {
            SumOp::Skip => (Mode::Skip, None, None, None),
            SumOp::Lazy(c) => (Mode::Lazy, None, None, Some(c)),
            SumOp::Write { out, coef } => (Mode::Write, Some(out), coef, None),
            SumOp::Add(out) => (Mode::Add, Some(out), None, None),
        };
        let sparse = matches!(store, Store::Sparse);
        let store = match store {
            Store::Dense(s) => Some(s),
            _ => None,
        };
        let coefs: Vec<Option<&[f32]>> = match coef {
            Some(c) => c.chunks(BLOCK_ROWS).map(Some).collect(),
            None => vec![None; blocks],
        };
        let tasks: Vec<Task<'_>> = blocks_of(store, BLOCK_ROWS * d, blocks)
            .into_iter()
            .zip(blocks_of(out, BLOCK_ROWS * d, blocks))
            .zip(coefs)
            .zip(blocks_of(lazy, BLOCK_ROWS, blocks))
            .enumerate()
            .map(|(block, (((store, out), coef), lazy))| Task {
                block,
                store,
                out,
                coef,
                lazy,
            })
            .collect();
        let built: Vec<Option<SparseBlock>> = tasks
            .into_par_iter()
            .map_init(
                || Scratch {
                    row: vec![0f32; d],
                    touched: vec![0u64; d.div_ceil(64)],
                },
                |scratch, task| self.block(task, source, mode, sparse, scratch),
            )
            .collect();
        sparse.then(|| SparseRows::join(built.into_iter().map(Option::unwrap_or_default).collect()))
    }

    simd_variants! {
        /// Runs the rows of one task, compiled for the widest vector extension the CPU
        /// has (the same operations in the same order, so the same results).
        fn block / block_avx2 / block_avx512 = block_rows(
            task: Task<'_>,
            source: Source<'_>,
            mode: Mode,
            sparse: bool,
            scratch: &mut Scratch,
        ) -> Option<SparseBlock>
    }

    #[inline(always)]
    fn block_rows(
        &self,
        mut task: Task<'_>,
        source: Source<'_>,
        mode: Mode,
        sparse: bool,
        scratch: &mut Scratch,
    ) -> Option<SparseBlock> {
        let d = self.dim;
        let n = self.inv_degree.len();
        let start = task.block * BLOCK_ROWS;
        let mut built = sparse.then(SparseBlock::default);
        let rows = start..(start + BLOCK_ROWS).min(n);
        if let (Some(b), Source::Sparse(src), Mode::Skip | Mode::Lazy) = (&mut built, source, mode)
        {
            // sparse to sparse: work on the nonzeros only
            for i in rows {
                let lazy = task.lazy.as_deref_mut().map(|c| &mut c[i - start]);
                self.sparse_row(i, src, scratch, b, lazy);
            }
            return built;
        }
        for i in rows {
            let r = i - start;
            let rows = r * d..(r + 1) * d;
            let acc: &mut [f32] = match task.store.as_deref_mut() {
                Some(s) => &mut s[rows.clone()],
                None => &mut scratch.row,
            };
            let row_sum = match (mode, task.out.as_deref_mut(), task.lazy.as_deref_mut()) {
                (Mode::Lazy, _, Some(c)) => RowSum::Lazy(&mut c[r]),
                (Mode::Write, Some(o), _) => RowSum::Write(&mut o[rows], task.coef.map(|c| c[r])),
                (Mode::Add, Some(o), _) => RowSum::Add(&mut o[rows]),
                _ => RowSum::Skip,
            };
            self.row(i, source, acc, row_sum);
            if let Some(b) = built.as_mut() {
                b.push_dense(acc);
            }
        }
        built
    }

    /// `acc += sum_e w_e * row(j_e)` over the edges `edges` (w_e = 1 when unweighted),
    /// `row(j)` being (a column range of) row j of a dense source; `pre(j)` prefetches
    /// it, AHEAD edges in advance.
    #[inline(always)]
    pub(super) fn gather<'s>(
        &self,
        edges: std::ops::Range<usize>,
        acc: &mut [f32],
        row: impl Fn(usize) -> &'s [f32],
        pre: impl Fn(usize),
    ) {
        let all = self.graph.indices;
        match self.graph.data {
            None => {
                for e in edges {
                    if let Some(next) = all.get(e + AHEAD) {
                        pre(next.get());
                    }
                    add(acc, row(all[e].get()));
                }
            }
            Some(w) => {
                for e in edges {
                    if let Some(next) = all.get(e + AHEAD) {
                        pre(next.get());
                    }
                    axpy(acc, w[e], row(all[e].get()));
                }
            }
        }
    }

    /// Row i of `N_t` from a source in compressed rows, appended to `out` in compressed
    /// form, with the same arithmetic as [`Step::row`] on its nonzeros (and the norm
    /// summed in the same lanes, so the values are identical). `scratch` is all zero on
    /// entry and on return.
    #[inline(always)]
    fn sparse_row(
        &self,
        i: usize,
        src: &SparseRows,
        scratch: &mut Scratch,
        out: &mut SparseBlock,
        lazy: Option<&mut f32>,
    ) {
        let all = self.graph.indices;
        let acc = &mut scratch.row;
        let touched = &mut scratch.touched;
        for e in self.graph.row_range(i) {
            if let Some(next) = all.get(e + 2 * AHEAD) {
                prefetch(&src.offsets, next.get(), 2);
            }
            if let Some(next) = all.get(e + AHEAD) {
                let j = next.get();
                prefetch(&src.entries, src.offsets[j], src.row_nnz(j));
            }
            let w = self.graph.data.map_or(1.0, |w| w[e]);
            for &(c, v) in src.row(all[e].get()) {
                acc[c as usize] += w * v;
                touched[c as usize / 64] |= 1 << (c % 64);
            }
        }
        let start = out.entries.len();
        let inv = self.inv_degree[i];
        let mut lanes = [0f32; 8];
        for (q, word) in touched.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let c = q * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let v = std::mem::take(&mut acc[c]) * inv;
                lanes[c % 8] += v * v;
                if v != 0.0 {
                    out.entries.push((c as u32, v));
                }
            }
        }
        let unit = match self.normalization {
            Normalization::None => 1.0,
            Normalization::Output | Normalization::Propagate => inverse_of(lane_norm(&lanes)),
        };
        let term = if self.normalization == Normalization::Propagate {
            let mut kept = start;
            for k in start..out.entries.len() {
                let (c, v) = out.entries[k];
                let v = v * unit;
                if v != 0.0 {
                    out.entries[kept] = (c, v);
                    kept += 1;
                }
            }
            out.entries.truncate(kept);
            self.alpha
        } else {
            self.alpha * unit
        };
        if let Some(c) = lazy {
            *c = term;
        }
        out.counts.push(out.entries.len() - start);
    }

    /// Computes row i of `N_t` into `acc` and applies the sum update.
    #[inline(always)]
    fn row(&self, i: usize, source: Source<'_>, acc: &mut [f32], sum: RowSum<'_>) {
        let d = self.dim;
        acc.fill(0.0);
        let edges = self.graph.row_range(i);
        // Rows of the source are read in random order: prefetch the rows of the edges
        // AHEAD positions further on (in the next rows of the graph near a row's end),
        // and, for compressed rows, the offsets of the rows twice as far.
        let all = self.graph.indices;
        match (source, self.graph.data) {
            (Source::Dense(prev), _) => {
                self.gather(
                    edges,
                    acc,
                    |j| &prev[j * d..(j + 1) * d],
                    |j| prefetch(prev, j * d, d),
                );
            }
            (Source::Sparse(r), w) => {
                for e in edges {
                    if let Some(next) = all.get(e + 2 * AHEAD) {
                        prefetch(&r.offsets, next.get(), 2);
                    }
                    if let Some(next) = all.get(e + AHEAD) {
                        let j = next.get();
                        prefetch(&r.entries, r.offsets[j], r.row_nnz(j));
                    }
                    let w = w.map_or(1.0, |w| w[e]);
                    for &(c, v) in r.row(all[e].get()) {
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

/// An upper bound on the nonzeros of `N_t = P N_{t-1}`: the sum over edges (i, j) of the
/// nonzeros of row j of the source, i.e. `sum_j in_degree[j] * nnz(row j)`.
pub(super) fn nnz_bound(in_degree: &[u32], source: Source<'_>, d: usize) -> u64 {
    match source {
        Source::Dense(_) => in_degree.iter().map(|&c| c as u64).sum::<u64>() * d as u64,
        Source::Sparse(r) => in_degree
            .par_iter()
            .enumerate()
            .map(|(j, &c)| c as u64 * r.row_nnz(j) as u64)
            .sum(),
    }
}

/// Defines, in an `impl` block, a method `$name` that calls `$base` compiled for
/// AVX-512F, AVX2 or the baseline, the widest this CPU runs ([`simd`]). `$base` must be
/// `#[inline(always)]`, like the helpers it calls, so that they are compiled with it.
macro_rules! simd_variants {
    (
        $(#[$meta:meta])*
        fn $name:ident / $avx2:ident / $avx512:ident = $base:ident(
            $($arg:ident: $ty:ty),* $(,)?
        ) -> $ret:ty
    ) => {
        $(#[$meta])*
        fn $name(&self, $($arg: $ty),*) -> $ret {
            match $crate::fastrp::propagate::simd() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `simd()` found AVX-512F on this CPU.
                $crate::fastrp::propagate::Simd::Avx512 => unsafe { self.$avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `simd()` found AVX2 on this CPU.
                $crate::fastrp::propagate::Simd::Avx2 => unsafe { self.$avx2($($arg),*) },
                _ => self.$base($($arg),*),
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $avx512(&self, $($arg: $ty),*) -> $ret {
            self.$base($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2(&self, $($arg: $ty),*) -> $ret {
            self.$base($($arg),*)
        }
    };
}
pub(super) use simd_variants;

/// The vector extensions the dense loops are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Simd {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Set by the unit tests to run the baseline variant and compare it with the others.
#[cfg(test)]
pub(super) static FORCE_BASELINE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The widest of [`Simd`] this CPU runs.
pub(super) fn simd() -> Simd {
    #[cfg(test)]
    if FORCE_BASELINE.load(std::sync::atomic::Ordering::Relaxed) {
        return Simd::Baseline;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Simd::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Simd::Avx2;
        }
    }
    Simd::Baseline
}

/// Splits an optional buffer into `blocks` blocks of `chunk` values (Nones if absent).
fn blocks_of(buf: Option<&mut [f32]>, chunk: usize, blocks: usize) -> Vec<Option<&mut [f32]>> {
    match buf {
        Some(b) => b.chunks_mut(chunk).map(Some).collect(),
        None => (0..blocks).map(|_| None).collect(),
    }
}

/// `out += c * source[i]`.
#[inline(always)]
pub(super) fn add_source_row(out: &mut [f32], c: f32, source: Source<'_>, i: usize, d: usize) {
    match source {
        Source::Dense(prev) => axpy(out, c, &prev[i * d..(i + 1) * d]),
        Source::Sparse(r) => {
            for &(col, v) in r.row(i) {
                out[col as usize] += c * v;
            }
        }
    }
}

/// The L2 norm of row i of the source.
pub(super) fn source_row_norm(source: Source<'_>, i: usize, d: usize) -> f32 {
    match source {
        Source::Dense(prev) => norm(&prev[i * d..(i + 1) * d]),
        Source::Sparse(r) => {
            let vals: Vec<f32> = r.row(i).iter().map(|e| e.1).collect();
            norm(&vals)
        }
    }
}

/// How many edges ahead the rows of `N_{t-1}` are prefetched.
const AHEAD: usize = 12;

/// How many 64-byte lines of a row are prefetched: the first ones; the hardware
/// prefetcher follows on with the rest of a long row (measured: as fast as prefetching
/// every line on random graphs, and it keeps the line fill buffers free).
const PREFETCH_LINES: usize = 4;

/// Asks for (the first [`PREFETCH_LINES`] lines of) `x[start..start + len]` to be
/// brought into cache: a hint, with no effect on results.
#[inline(always)]
pub(super) fn prefetch<T>(x: &[T], start: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let part = &x[start.min(x.len())..(start + len).min(x.len())];
        let Some(last) = part.last() else {
            return;
        };
        // the first lines the part touches (rows need not be aligned to lines)
        let first = part.as_ptr() as usize & !63;
        let end = (last as *const T as usize).min(first + 64 * (PREFETCH_LINES - 1));
        let mut line = first;
        while line <= end {
            // SAFETY: SSE is part of the x86_64 baseline, and a prefetch is only a hint:
            // it never faults, whatever the address (these are within or next to `x`).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) };
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, start, len);
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
pub(super) fn scale(acc: &mut [f32], c: f32) {
    for a in acc.iter_mut() {
        *a *= c;
    }
}

/// The L2 norm, summed in 8 lanes (element c in lane c % 8, in order) then combined in
/// a fixed order.
#[inline(always)]
pub(super) fn norm(x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    add_squares(&mut lanes, x);
    lane_norm(&lanes)
}

/// Adds the squares of x to the lanes, element c to lane c % 8 (x may continue a row
/// whose earlier part, a multiple of 8 long, is already in the lanes).
#[inline(always)]
pub(super) fn add_squares(lanes: &mut [f32; 8], x: &[f32]) {
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            lanes[l] += c[l] * c[l];
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        lanes[l] += v * v;
    }
}

#[inline(always)]
pub(super) fn lane_norm(lanes: &[f32; 8]) -> f32 {
    let s = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    s.sqrt()
}

/// 1 / n, or 1 for n = 0 (a zero row, which stays zero).
#[inline(always)]
pub(super) fn inverse_of(n: f32) -> f32 {
    if n > 0.0 {
        1.0 / n
    } else {
        1.0
    }
}

/// 1 / ||x||, or 1 for a zero row.
#[inline(always)]
pub(super) fn inverse_norm(x: &[f32]) -> f32 {
    inverse_of(norm(x))
}
