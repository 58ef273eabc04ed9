//! The input graph: a square sparse matrix S in compressed sparse row (CSR) form.

use rayon::prelude::*;

use crate::KernelError;

/// The position of the first element of `x` that satisfies `bad`: checked in parallel
/// over chunks (the common case is that none does), then located in order.
fn first_position<T: Sync>(x: &[T], bad: impl Fn(&T) -> bool + Sync) -> Option<usize> {
    x.par_chunks(1 << 16)
        .any(|c| c.iter().any(&bad))
        .then(|| x.iter().position(&bad))
        .flatten()
}

/// An integer type CSR column indices may have (i32, i64, u32, u64, usize).
pub trait NodeIndex: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The index as usize, or None where it is negative or too large.
    fn checked(self) -> Option<usize>;
    /// The index as usize, for indices already checked with [`NodeIndex::checked`].
    fn get(self) -> usize;
}

macro_rules! impl_node_index {
    ($($t:ty),*) => {$(
        impl NodeIndex for $t {
            #[inline(always)]
            fn checked(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
            #[inline(always)]
            fn get(self) -> usize {
                self as usize
            }
        }
    )*};
}
impl_node_index!(i32, i64, u32, u64, usize);

/// A square sparse matrix S (n, n) in CSR form, borrowed: row i holds the edges out of
/// node i, `indices[indptr[i]..indptr[i+1]]` with weights `data[..]` (all 1 when
/// `data` is None). Duplicate entries add up; explicit zeros are edges of weight 0.
#[derive(Clone, Copy, Debug)]
pub struct CsrGraph<'a, I> {
    /// Row pointers, n + 1 values, starting at 0, non-decreasing, ending at nnz.
    pub indptr: &'a [i64],
    /// Column indices, nnz values in `0..n`.
    pub indices: &'a [I],
    /// Edge weights, nnz finite values >= 0, or None for an unweighted graph.
    pub data: Option<&'a [f32]>,
}

impl<I: NodeIndex> CsrGraph<'_, I> {
    /// The number of nodes n (0 for an empty `indptr`, which is refused by `validate`).
    pub fn num_nodes(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Checks the structure and the weights; returns n.
    pub fn validate(&self) -> Result<usize, KernelError> {
        if self.indptr.is_empty() {
            return Err(KernelError::shape(
                "indptr must have n + 1 values, got an empty array",
            ));
        }
        let n = self.num_nodes();
        let nnz = self.indices.len();
        if self.indptr[0] != 0 {
            return Err(KernelError::value(format!(
                "indptr[0] must be 0, got {}",
                self.indptr[0]
            )));
        }
        if let Some(i) = self.indptr.windows(2).position(|w| w[1] < w[0]) {
            return Err(KernelError::value(format!(
                "indptr must be non-decreasing; indptr[{}] = {} > indptr[{}] = {}",
                i,
                self.indptr[i],
                i + 1,
                self.indptr[i + 1]
            )));
        }
        if self.indptr[n] != nnz as i64 {
            return Err(KernelError::shape(format!(
                "indptr[-1] = {} but indices has {nnz} values",
                self.indptr[n]
            )));
        }
        let bad_index = |j: &I| j.checked().is_none_or(|j| j >= n);
        if let Some(e) = first_position(self.indices, bad_index) {
            return Err(KernelError::value(format!(
                "indices must be in 0..{n} (the matrix must be square (n, n) with n = {n}); \
                 indices[{e}] = {:?}",
                self.indices[e]
            )));
        }
        if let Some(data) = self.data {
            if data.len() != nnz {
                return Err(KernelError::shape(format!(
                    "data has {} values but indices has {nnz}",
                    data.len()
                )));
            }
            if let Some(e) = first_position(data, |w| !(w.is_finite() && *w >= 0.0)) {
                return Err(KernelError::value(format!(
                    "edge weights must be finite and >= 0; data[{e}] = {}",
                    data[e]
                )));
            }
        }
        Ok(n)
    }

    /// The edges of row i: `(column, weight)`.
    #[inline(always)]
    pub(super) fn row_range(&self, i: usize) -> std::ops::Range<usize> {
        self.indptr[i] as usize..self.indptr[i + 1] as usize
    }

    /// Weighted degrees (row sums of S), accumulated in f64 in row order.
    pub(super) fn weighted_degrees(&self) -> Vec<f64> {
        (0..self.num_nodes())
            .into_par_iter()
            .map(|i| {
                let r = self.row_range(i);
                match self.data {
                    Some(w) => w[r].iter().map(|&x| x as f64).sum(),
                    None => r.len() as f64,
                }
            })
            .collect()
    }

    /// In-degrees: the number of stored entries of each column (saturating at u32::MAX).
    pub(super) fn in_degrees(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.num_nodes()];
        for j in self.indices {
            let c = &mut counts[j.get()];
            *c = c.saturating_add(1);
        }
        counts
    }

    /// Unweighted degrees: the number of stored entries of each row.
    pub(super) fn count_degrees(&self) -> Vec<f64> {
        (0..self.num_nodes())
            .map(|i| self.row_range(i).len() as f64)
            .collect()
    }
}
