//! Matrices (n, d) in compressed rows.
//!
//! FastRP's first powers are very sparse when R is: with density 1/s, row i of
//! `N_t = P^t R` has at most (number of t-step walks from i) * d / s nonzeros. For the
//! paper's s = sqrt(n) on a large sparse graph, `N_1` and `N_2` are mostly zeros, and
//! propagating them in compressed rows saves most of the work and memory of those steps.
//!
//! Parallel tasks build blocks of [`BLOCK_ROWS`] rows ([`SparseBlock`]), which are then
//! joined in order into one contiguous [`SparseRows`]: a row is then found with two
//! memory accesses (its offset, then its entries), where random row reads dominate.

use rayon::prelude::*;

/// Rows per block (and per parallel task of a propagation step).
pub(super) const BLOCK_ROWS: usize = 64;

/// One nonzero: (column, value).
pub(super) type Entry = (u32, f32);

/// The nonzeros of up to [`BLOCK_ROWS`] consecutive rows, as built by one task.
#[derive(Clone, Debug, Default)]
pub(super) struct SparseBlock {
    /// The number of nonzeros of each row.
    pub counts: Vec<usize>,
    pub entries: Vec<Entry>,
}

impl SparseBlock {
    /// Appends a row given densely, keeping its nonzeros (in column order).
    pub fn push_dense(&mut self, row: &[f32]) {
        let before = self.entries.len();
        for (c, &v) in row.iter().enumerate() {
            if v != 0.0 {
                self.entries.push((c as u32, v));
            }
        }
        self.counts.push(self.entries.len() - before);
    }
}

/// A matrix (n, d) in compressed rows: row j's nonzeros are
/// `entries[offsets[j]..offsets[j + 1]]`.
#[derive(Clone, Debug, Default)]
pub(super) struct SparseRows {
    pub offsets: Vec<usize>,
    pub entries: Vec<Entry>,
}

impl SparseRows {
    /// Joins blocks of consecutive rows, in order.
    pub fn join(blocks: Vec<SparseBlock>) -> Self {
        let rows: usize = blocks.iter().map(|b| b.counts.len()).sum();
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let mut total = 0;
        for b in &blocks {
            for &c in &b.counts {
                total += c;
                offsets.push(total);
            }
        }
        let mut entries = vec![(0u32, 0f32); total];
        let mut parts = Vec::with_capacity(blocks.len());
        let mut rest = entries.as_mut_slice();
        for b in &blocks {
            let (part, tail) = rest.split_at_mut(b.entries.len());
            parts.push(part);
            rest = tail;
        }
        parts
            .into_par_iter()
            .zip(blocks.par_iter())
            .for_each(|(part, b)| part.copy_from_slice(&b.entries));
        SparseRows { offsets, entries }
    }

    /// The nonzeros of row j.
    #[inline(always)]
    pub fn row(&self, j: usize) -> &[Entry] {
        &self.entries[self.offsets[j]..self.offsets[j + 1]]
    }

    /// The number of nonzeros of row j.
    #[inline(always)]
    pub fn row_nnz(&self, j: usize) -> usize {
        self.offsets[j + 1] - self.offsets[j]
    }
}
