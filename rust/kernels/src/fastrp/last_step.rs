//! The last step done in place, with half a buffer of scratch instead of a new output
//! buffer.
//!
//! In the last step, `N_k` is not stored: only `E = coef * N_{k-1} + term * N_k` is
//! (`coef` the implicit sum of the previous steps, `term` the weight of N_k times its
//! row normalisation). Written to a new buffer, E makes two n x d buffers live at once
//! (`N_{k-1}` and E). Here E overwrites `N_{k-1}`, in two passes over column halves
//! H0 = `0..h` and H1 = `h..d` (h a multiple of 8, h >= d - h):
//!
//! 1. for every row i, `T[i] = N_k[i, H0]` (gathering `N_{k-1}[j, H0]`), and the
//!    squares of those values summed into the row's 8 norm lanes;
//! 2. for every row i, `N_k[i, H1]` (gathering `N_{k-1}[j, H1]`), which completes the
//!    norm; then `E[i, H0]` is written over `N_{k-1}[i, H0]` (no row reads H0 any
//!    more) and `E[i, H1]` into `T[i]` (`N_{k-1}[i, H1]` is still read by others);
//! 3. `E[i, H1]` is copied from `T[i]` into place.
//!
//! The arithmetic of every value is that of [`Step::run`] with [`SumOp::Write`] (the
//! norm lanes are filled in the same order), so the result is identical; the cost is
//! a second pass over the edges, and the gain half a buffer of memory (and of fresh
//! pages to fault in).
//!
//! [`SumOp::Write`]: super::propagate::SumOp::Write

use rayon::prelude::*;

use super::graph::NodeIndex;
use super::propagate::{add_squares, inverse_of, lane_norm, prefetch, scale, simd_variants, Step};
use super::sparse::BLOCK_ROWS;
use super::Normalization;

/// A buffer that several threads read and write at the same time, in disjoint parts.
struct Shared {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: `Shared` is only a pointer; the users below guarantee that no part of the
// buffer is written while another thread reads or writes it.
unsafe impl Sync for Shared {}

impl Shared {
    /// `buf[start..start + len]`.
    ///
    /// # Safety
    /// No thread may write this range while the returned slice lives.
    #[inline(always)]
    unsafe fn get(&self, start: usize, len: usize) -> &[f32] {
        assert!(start + len <= self.len);
        // SAFETY: in bounds (checked); no concurrent writes (the caller's promise).
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), len) }
    }

    /// `buf[start..start + len]`, mutably.
    ///
    /// # Safety
    /// No other thread may read or write this range while the returned slice lives.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn get_mut(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.len);
        // SAFETY: in bounds (checked); exclusive (the caller's promise).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

/// The fixed inputs of pass 2.
#[derive(Clone, Copy)]
struct Pass2<'a> {
    shared: &'a Shared,
    coef: Option<&'a [f32]>,
    h: usize,
}

/// The split point h of rows of length d: a multiple of 8 with h >= d - h, or None
/// when d is too small to split.
pub(super) fn split_point(d: usize) -> Option<usize> {
    let h = d.div_ceil(2).next_multiple_of(8);
    (d >= 16 && h < d).then_some(h)
}

impl<I: NodeIndex> Step<'_, I> {
    /// The last step, E written over `prev` (= `N_{k-1}`, dense (n, d)); `coef` the
    /// implicit sum of the previous steps (per row), if any. `h` from [`split_point`].
    pub fn run_last_in_place(&self, prev: &mut [f32], coef: Option<&[f32]>, h: usize) {
        let d = self.dim;
        let n = self.inv_degree.len();
        let mut t = vec![0f32; n * h];
        let mut lanes = vec![[0f32; 8]; n];

        // Pass 1: T[i] = N_k[i, H0] and its squares in the lanes.
        {
            let prev: &[f32] = prev;
            t.par_chunks_mut(BLOCK_ROWS * h)
                .zip(lanes.par_chunks_mut(BLOCK_ROWS))
                .enumerate()
                .for_each(|(b, (tb, lb))| self.first_half(b * BLOCK_ROWS, tb, lb, prev, h));
        }

        // Pass 2: N_k[i, H1]; E[i, H0] over N_{k-1}[i, H0], E[i, H1] into T[i].
        let shared = Shared {
            ptr: prev.as_mut_ptr(),
            len: prev.len(),
        };
        t.par_chunks_mut(BLOCK_ROWS * h)
            .zip(lanes.par_chunks(BLOCK_ROWS))
            .enumerate()
            .for_each_init(
                || vec![0f32; d - h],
                |acc, (b, (tb, lb))| {
                    let ctx = Pass2 {
                        shared: &shared,
                        coef,
                        h,
                    };
                    self.second_half(b * BLOCK_ROWS, tb, lb, acc, ctx)
                },
            );

        // Pass 3: E[i, H1] into place.
        prev.par_chunks_mut(BLOCK_ROWS * d)
            .zip(t.par_chunks(BLOCK_ROWS * h))
            .for_each(|(pb, tb)| {
                for (row, ti) in pb.chunks_mut(d).zip(tb.chunks(h)) {
                    row[h..].copy_from_slice(&ti[..d - h]);
                }
            });
    }

    simd_variants! {
        /// Pass 1 over the rows from `start`: T rows `tb`, lanes `lb`.
        fn first_half / first_half_avx2 / first_half_avx512 = first_half_rows(
            start: usize,
            tb: &mut [f32],
            lb: &mut [[f32; 8]],
            prev: &[f32],
            h: usize,
        ) -> ()
    }

    #[inline(always)]
    fn first_half_rows(
        &self,
        start: usize,
        tb: &mut [f32],
        lb: &mut [[f32; 8]],
        prev: &[f32],
        h: usize,
    ) {
        let d = self.dim;
        for (r, (acc, lane)) in tb.chunks_mut(h).zip(lb.iter_mut()).enumerate() {
            let i = start + r;
            self.gather(
                self.graph.row_range(i),
                acc,
                |j| &prev[j * d..j * d + h],
                |j| prefetch(prev, j * d, h),
            );
            scale(acc, self.inv_degree[i]);
            add_squares(lane, acc);
        }
    }

    simd_variants! {
        /// Pass 2 over the rows from `start`.
        fn second_half / second_half_avx2 / second_half_avx512 = second_half_rows(
            start: usize,
            tb: &mut [f32],
            lb: &[[f32; 8]],
            acc: &mut [f32],
            ctx: Pass2<'_>,
        ) -> ()
    }

    #[inline(always)]
    fn second_half_rows(
        &self,
        start: usize,
        tb: &mut [f32],
        lb: &[[f32; 8]],
        acc: &mut [f32],
        ctx: Pass2<'_>,
    ) {
        let Pass2 { shared, coef, h } = ctx;
        let d = self.dim;
        let w1 = d - h;
        for (r, (ti, lane)) in tb.chunks_mut(h).zip(lb).enumerate() {
            let i = start + r;
            acc.fill(0.0);
            // SAFETY (both closures): during this pass, columns H1 of every row are only
            // read, and columns H0 of row i only by the task that owns row i.
            self.gather(
                self.graph.row_range(i),
                acc,
                |j| unsafe { shared.get(j * d + h, w1) },
                |j| prefetch(unsafe { shared.get(j * d + h, w1) }, 0, w1),
            );
            scale(acc, self.inv_degree[i]);
            let mut lane = *lane;
            add_squares(&mut lane, acc);
            let unit = match self.normalization {
                Normalization::None => 1.0,
                _ => inverse_of(lane_norm(&lane)),
            };
            let term = if self.normalization == Normalization::Propagate {
                scale(ti, unit);
                scale(acc, unit);
                self.alpha
            } else {
                self.alpha * unit
            };
            let c = coef.map(|c| c[i]);
            // SAFETY: columns H0 of row i belong to this task (see above).
            finish(unsafe { shared.get_mut(i * d, h) }, ti, term, c);
            // E[i, H1] = term * N_k[i, H1] + c * N_{k-1}[i, H1], into T[i].
            // SAFETY: H1 columns are only read during this pass.
            let old1 = unsafe { shared.get(i * d + h, w1) };
            for ((o, &a), &p) in ti.iter_mut().zip(acc.iter()).zip(old1) {
                *o = term * a;
                if let Some(c) = c {
                    *o += c * p;
                }
            }
        }
    }
}

/// `e = term * n + c * e` elementwise (E over `N_{k-1}`, from `N_k`), in the order of
/// operations of [`Step::run`]: `term * n` first, then `+ c * old`.
#[inline(always)]
fn finish(e: &mut [f32], n: &[f32], term: f32, c: Option<f32>) {
    match c {
        Some(c) => {
            for (o, &a) in e.iter_mut().zip(n) {
                *o = term * a + c * *o;
            }
        }
        None => {
            for (o, &a) in e.iter_mut().zip(n) {
                *o = term * a;
            }
        }
    }
}
