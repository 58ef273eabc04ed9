//! GTE (Graph-less collaborative filtering by Training-free Embedding propagation; Cai,
//! Xia, Ren and Huang, CIKM 2023): exact scores and top-k lists, by chunks of item columns.
//!
//! # The maths
//!
//! R (n_users, n_items) holds the training interactions (weights >= 0). GTE's propagation
//! (the authors' `main.py`) starts from item representations `I_0 = Id` (n_items, n_items)
//! and user representations `U_0 = 0` (n_users, n_items), and per layer computes
//!
//! ```text
//! U_{l+1} = R I_l + U_l,        I_{l+1} = R^T U_l + I_l
//! ```
//!
//! and scores with `S = U_L`. By induction, with `G = R^T R` (n_items, n_items),
//! `U_l = R q_l(G)` and `I_l = p_l(G)` for the polynomials
//!
//! ```text
//! p_0 = 1, q_0 = 0,    q_{l+1} = p_l + q_l,    p_{l+1} = x q_l + p_l
//! ```
//!
//! (L = 1: q = 1; 2: q = 2; 3: q = x + 3; 4: q = 4x + 4; 5: q = x^2 + 10x + 5). So
//! `S = R q(G)` with `q = sum_j c_j x^j`, and for a chunk C of item columns
//!
//! ```text
//! S[:, C] = R M,    M = q(G)[:, C]  (n_items, |C|),   by Horner from the right:
//! M = c_d E_C;  M <- R^T (R M) + c_j E_C  for j = d-1 .. 0
//! ```
//!
//! where `E_C` (n_items, |C|) holds the columns C of the identity. The first step is
//! sparse (`R E_C = R[:, C]`): column j of M is `c_d sum_{v rated j} r_vj R[v, :]`, work
//! `sum_v deg(v) |R[v, C]|`, so that over all chunks it costs `sum_v deg(v)^2`. Later steps
//! (d >= 2, i.e. L >= 5) are two dense products of `nnz |C|` each. The rows of S for the
//! requested users then cost `deg(u) |C|` each: `nnz(R[users]) n_items` in all, against
//! `2 d nnz n_users` for the user-by-user Horner form `R_b q(G) = ((R_b R^T) R ...)`.
//!
//! # Memory, order, determinism
//!
//! Working memory: two (n_items, |C|) buffers, one (n_users, |C|) buffer when d >= 2, one
//! row of |C| values per thread, plus the caller's output. Every sum is accumulated in the
//! element type in a fixed order (a user's items in CSR order), so results do not depend
//! on the number of threads. Top-k lists are ordered by score, descending, ties broken by
//! the lower item id; a score that overflows to infinity is an error.

use std::ops::Range;

use rayon::prelude::*;

use crate::fastrp::NodeIndex;
use crate::memory::{bytes_of, ensure_available, total};
use crate::{KernelError, Real};

/// R (n_users, n_items) in CSR form together with its transpose R^T (n_items, n_users),
/// borrowed. Rows of R must have strictly increasing column indices (canonical CSR); the
/// caller keeps the two consistent (a transpose that is not R's gives other numbers, never
/// undefined behaviour).
#[derive(Clone, Copy, Debug)]
pub struct Bipartite<'a, I, T> {
    /// Row pointers of R: n_users + 1 values from 0 to nnz, non-decreasing.
    pub indptr: &'a [i64],
    /// Item ids of R's entries, in `0..n_items`, strictly increasing within a row.
    pub indices: &'a [I],
    /// R's weights: finite, >= 0.
    pub data: &'a [T],
    /// Row pointers of R^T: n_items + 1 values.
    pub t_indptr: &'a [i64],
    /// User ids of R^T's entries, in `0..n_users`.
    pub t_indices: &'a [I],
    /// R^T's weights: finite, >= 0.
    pub t_data: &'a [T],
    /// The number of items (columns of R).
    pub n_items: usize,
}

/// The position of the first element of `x` that satisfies `bad`, searched in parallel.
fn first_position<X: Sync>(x: &[X], bad: impl Fn(&X) -> bool + Sync) -> Option<usize> {
    x.par_chunks(1 << 16)
        .any(|c| c.iter().any(&bad))
        .then(|| x.iter().position(&bad))
        .flatten()
}

/// Checks one CSR matrix with `n_cols` columns; returns its number of rows.
fn check_csr<I: NodeIndex, T: Real>(
    name: &str,
    indptr: &[i64],
    indices: &[I],
    data: &[T],
    n_cols: usize,
    sorted_rows: bool,
) -> Result<usize, KernelError> {
    let Some(&last) = indptr.last() else {
        return Err(KernelError::shape(format!(
            "{name}: indptr must have n_rows + 1 values, got an empty array"
        )));
    };
    let n_rows = indptr.len() - 1;
    let nnz = indices.len();
    if indptr[0] != 0 {
        return Err(KernelError::value(format!(
            "{name}: indptr[0] must be 0, got {}",
            indptr[0]
        )));
    }
    if let Some(i) = indptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(KernelError::value(format!(
            "{name}: indptr must be non-decreasing; indptr[{i}] = {} > indptr[{}] = {}",
            indptr[i],
            i + 1,
            indptr[i + 1]
        )));
    }
    if last != nnz as i64 {
        return Err(KernelError::shape(format!(
            "{name}: indptr[-1] = {last} but indices has {nnz} values"
        )));
    }
    if data.len() != nnz {
        return Err(KernelError::shape(format!(
            "{name}: data has {} values but indices has {nnz}",
            data.len()
        )));
    }
    if let Some(e) = first_position(indices, |j| j.checked().is_none_or(|j| j >= n_cols)) {
        return Err(KernelError::value(format!(
            "{name}: indices must be in 0..{n_cols}; indices[{e}] = {:?}",
            indices[e]
        )));
    }
    if let Some(e) = first_position(data, |w| !(w.is_finite() && *w >= T::ZERO)) {
        return Err(KernelError::value(format!(
            "{name}: weights must be finite and >= 0; data[{e}] = {:?}",
            data[e]
        )));
    }
    if sorted_rows {
        let unsorted = (0..n_rows).into_par_iter().find_first(|&r| {
            let row = &indices[indptr[r] as usize..indptr[r + 1] as usize];
            row.windows(2).any(|w| w[1].get() <= w[0].get())
        });
        if let Some(r) = unsorted {
            return Err(KernelError::value(format!(
                "{name}: the column indices of each row must be strictly increasing \
                 (canonical CSR: sorted, no duplicates); row {r} is not"
            )));
        }
    }
    Ok(n_rows)
}

impl<I: NodeIndex, T: Real> Bipartite<'_, I, T> {
    /// Checks both matrices; returns n_users.
    pub fn validate(&self) -> Result<usize, KernelError> {
        let n_users = check_csr(
            "R",
            self.indptr,
            self.indices,
            self.data,
            self.n_items,
            true,
        )?;
        let n_items = check_csr(
            "R^T",
            self.t_indptr,
            self.t_indices,
            self.t_data,
            n_users,
            false,
        )?;
        if n_items != self.n_items {
            return Err(KernelError::shape(format!(
                "R^T must have n_items = {} rows, got t_indptr of {} values",
                self.n_items,
                self.t_indptr.len()
            )));
        }
        if self.t_indices.len() != self.indices.len() {
            return Err(KernelError::shape(format!(
                "R^T must have as many entries as R ({}), got {}",
                self.indices.len(),
                self.t_indices.len()
            )));
        }
        Ok(n_users)
    }

    #[inline(always)]
    fn row(&self, u: usize) -> Range<usize> {
        self.indptr[u] as usize..self.indptr[u + 1] as usize
    }

    #[inline(always)]
    fn t_row(&self, i: usize) -> Range<usize> {
        self.t_indptr[i] as usize..self.t_indptr[i + 1] as usize
    }
}

/// `y += a * x` elementwise (vectorised by the compiler; no fused multiply-add, so the
/// result is the same on every machine).
#[inline(always)]
fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The checked inputs shared by both entry points.
struct Plan<'a, I, T> {
    r: &'a Bipartite<'a, I, T>,
    n_users: usize,
    coeffs: Vec<T>,
    items: Range<usize>,
    chunk: usize,
}

/// Buffers of one chunk: M (n_items, w), its transpose, and R M (n_users, w) for d >= 2.
struct Buffers<T> {
    m: Vec<T>,
    mt: Vec<T>,
    t: Vec<T>,
}

impl<'a, I: NodeIndex, T: Real> Plan<'a, I, T> {
    fn new(
        r: &'a Bipartite<'a, I, T>,
        coeffs: &[f64],
        users: &[i64],
        items: Range<usize>,
        chunk: usize,
    ) -> Result<Self, KernelError> {
        let n_users = r.validate()?;
        if coeffs.is_empty() {
            return Err(KernelError::shape(
                "coeffs must hold the polynomial's coefficients c_0..c_d, got none",
            ));
        }
        if let Some(c) = coeffs
            .iter()
            .find(|c| !(c.is_finite() && c.abs() <= T::MAX_F64))
        {
            return Err(KernelError::value(format!(
                "coeffs must be finite {} values, got {c}",
                T::NAME
            )));
        }
        if items.start > items.end || items.end > r.n_items {
            return Err(KernelError::value(format!(
                "the item range {}..{} must lie in 0..{}",
                items.start, items.end, r.n_items
            )));
        }
        if chunk == 0 {
            return Err(KernelError::value("chunk must be >= 1, got 0"));
        }
        if let Some(e) = users
            .iter()
            .position(|&u| u < 0 || u as u64 >= n_users as u64)
        {
            return Err(KernelError::value(format!(
                "users must be in 0..{n_users}; users[{e}] = {}",
                users[e]
            )));
        }
        Ok(Plan {
            r,
            n_users,
            coeffs: coeffs.iter().map(|&c| T::from_f64(c)).collect(),
            items,
            chunk,
        })
    }

    /// The chunk width and the bytes of the per-chunk buffers.
    fn buffer_bytes(&self) -> Result<usize, KernelError> {
        let w = self.chunk.min(self.items.len().max(1));
        let e = std::mem::size_of::<T>();
        let nm = self.r.n_items.saturating_mul(w);
        let nt = if self.coeffs.len() >= 3 {
            self.n_users.saturating_mul(w)
        } else {
            0
        };
        let rows = rayon::current_num_threads().saturating_mul(w);
        total(
            "GTE's chunk buffers",
            &[
                bytes_of("M", nm, e)?,
                bytes_of("M^T", nm, e)?,
                bytes_of("R M", nt, e)?,
                bytes_of("score rows", rows, e)?,
            ],
        )
    }

    fn buffers(&self) -> Buffers<T> {
        let w = self.chunk.min(self.items.len().max(1));
        let nt = if self.coeffs.len() >= 3 {
            self.n_users * w
        } else {
            0
        };
        Buffers {
            m: vec![T::ZERO; self.r.n_items * w],
            mt: vec![T::ZERO; self.r.n_items * w],
            t: vec![T::ZERO; nt],
        }
    }

    /// The chunks of item columns, in increasing order.
    fn chunks(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        (self.items.start..self.items.end)
            .step_by(self.chunk)
            .map(|c0| c0..(c0 + self.chunk).min(self.items.end))
    }

    /// M = q(G)[:, cols] into `b.m` (n_items, w) row-major, w = cols.len().
    fn chunk_matrix(&self, cols: &Range<usize>, b: &mut Buffers<T>) {
        let r = self.r;
        let n = r.n_items;
        let w = cols.len();
        let c0 = cols.start;
        let d = self.coeffs.len() - 1;
        let m = &mut b.m[..n * w];
        if d == 0 {
            m.fill(T::ZERO);
            for j in cols.clone() {
                m[j * w + (j - c0)] = self.coeffs[0];
            }
            return;
        }
        // first step, sparse: column j of M is c_d G e_j + c_{d-1} e_j
        let (cd, cd1) = (self.coeffs[d], self.coeffs[d - 1]);
        let mt = &mut b.mt[..n * w];
        mt.par_chunks_mut(n).enumerate().for_each(|(jj, col)| {
            col.fill(T::ZERO);
            let j = c0 + jj;
            for e in r.t_row(j) {
                let v = r.t_indices[e].get();
                let a = cd * r.t_data[e];
                for f in r.row(v) {
                    col[r.indices[f].get()] += a * r.data[f];
                }
            }
            col[j] += cd1;
        });
        let mt = &*mt;
        m.par_chunks_mut(w).enumerate().for_each(|(i, row)| {
            for (jj, x) in row.iter_mut().enumerate() {
                *x = mt[jj * n + i];
            }
        });
        // later steps, dense: M <- R^T (R M) + c_j E_C
        for j in (0..d - 1).rev() {
            let cj = self.coeffs[j];
            let t = &mut b.t[..self.n_users * w];
            let mm = &*m;
            t.par_chunks_mut(w).enumerate().for_each(|(v, row)| {
                row.fill(T::ZERO);
                for f in r.row(v) {
                    let i = r.indices[f].get();
                    axpy(row, r.data[f], &mm[i * w..(i + 1) * w]);
                }
            });
            let t = &*t;
            m.par_chunks_mut(w).enumerate().for_each(|(i, row)| {
                row.fill(T::ZERO);
                for e in r.t_row(i) {
                    let v = r.t_indices[e].get();
                    axpy(row, r.t_data[e], &t[v * w..(v + 1) * w]);
                }
                if cols.contains(&i) {
                    row[i - c0] += cj;
                }
            });
        }
    }

    /// Row u of S[:, cols] into `s` (w values); an error if a score is not finite.
    fn score_row(&self, u: usize, m: &[T], w: usize, s: &mut [T]) -> Result<(), KernelError> {
        s.fill(T::ZERO);
        let range = self.r.row(u);
        let (items, weights) = (&self.r.indices[range.clone()], &self.r.data[range]);
        let row = |f: usize| {
            let i = items[f].get();
            &m[i * w..(i + 1) * w]
        };
        // four rows per pass over s (fewer loads and stores of s), in a fixed order
        let quads = items.len() / 4 * 4;
        for f in (0..quads).step_by(4) {
            let (m0, m1, m2, m3) = (row(f), row(f + 1), row(f + 2), row(f + 3));
            let (a0, a1, a2, a3) = (weights[f], weights[f + 1], weights[f + 2], weights[f + 3]);
            let rows = m0.iter().zip(m1).zip(m2).zip(m3);
            for (x, (((&b0, &b1), &b2), &b3)) in s.iter_mut().zip(rows) {
                *x += (a0 * b0 + a1 * b1) + (a2 * b2 + a3 * b3);
            }
        }
        for (f, &a) in weights.iter().enumerate().skip(quads) {
            axpy(s, a, row(f));
        }
        if s.iter().any(|x| !x.is_finite()) {
            return Err(KernelError::value(format!(
                "GTE's scores overflow {} for user {u}: use smaller weights or fewer layers",
                T::NAME
            )));
        }
        Ok(())
    }
}

/// `(s, j)` ranks before `(t, i)`: a higher score, or the same score and a lower item id;
/// every candidate ranks before an empty slot (`i < 0`).
#[inline(always)]
fn ranks_before<T: Real>(s: T, j: i64, t: T, i: i64) -> bool {
    i < 0 || s > t || (s == t && j < i)
}

/// Inserts `(s, j)` into the sorted top-k list `(ids, vals)` if it belongs there.
#[inline(always)]
fn insert<T: Real>(ids: &mut [i64], vals: &mut [T], s: T, j: i64) {
    let k = ids.len();
    if k == 0 || !ranks_before(s, j, vals[k - 1], ids[k - 1]) {
        return;
    }
    let mut p = k - 1;
    while p > 0 && ranks_before(s, j, vals[p - 1], ids[p - 1]) {
        ids[p] = ids[p - 1];
        vals[p] = vals[p - 1];
        p -= 1;
    }
    ids[p] = j;
    vals[p] = s;
}

/// Raw GTE scores `S[users, items]`: `(len(users), items.len())` row-major.
///
/// `coeffs` are the coefficients c_0..c_d of the polynomial q with `S = R q(R^T R)` (see the
/// module docs); `chunk` is the number of item columns computed together (>= 1).
///
/// Errors: inconsistent or invalid CSR arrays, users or items out of range, non-finite
/// coefficients, scores that overflow T, or an output larger than the memory available.
pub fn gte_scores<I: NodeIndex, T: Real>(
    r: &Bipartite<'_, I, T>,
    coeffs: &[f64],
    users: &[i64],
    items: Range<usize>,
    chunk: usize,
) -> Result<Vec<T>, KernelError> {
    let plan = Plan::new(r, coeffs, users, items.clone(), chunk)?;
    let width = items.len();
    let out_len = users.len().saturating_mul(width);
    let out_bytes = bytes_of("GTE's scores", out_len, std::mem::size_of::<T>())?;
    ensure_available(
        "GTE's scores",
        total("GTE's scores", &[out_bytes, plan.buffer_bytes()?])?,
    )?;
    let mut out = vec![T::ZERO; out_len];
    if out_len == 0 {
        return Ok(out);
    }
    let mut b = plan.buffers();
    for cols in plan.chunks() {
        plan.chunk_matrix(&cols, &mut b);
        let w = cols.len();
        let off = cols.start - items.start;
        let m = &b.m[..r.n_items * w];
        out.par_chunks_mut(width)
            .zip(users.par_iter())
            .with_min_len(16)
            .try_for_each(|(row, &u)| plan.score_row(u as usize, m, w, &mut row[off..off + w]))?;
    }
    Ok(out)
}

/// Merges the items `items` into the running top-k lists of `users`.
///
/// `top_ids` (len(users), k) and `top_scores` (len(users), k), row-major, hold each user's
/// best items so far, sorted by score descending, ties by lower item id, empty slots
/// (id -1) last; start from all -1. Calling this over disjoint item ranges that cover
/// `0..n_items` (in any order) leaves the top-k lists of the whole catalogue. With
/// `exclude_seen`, the items of a user's row of R are never candidates.
///
/// Errors: as [`gte_scores`], and state arrays whose lengths do not match.
#[allow(clippy::too_many_arguments)]
pub fn gte_topk<I: NodeIndex, T: Real>(
    r: &Bipartite<'_, I, T>,
    coeffs: &[f64],
    users: &[i64],
    items: Range<usize>,
    chunk: usize,
    exclude_seen: bool,
    top_ids: &mut [i64],
    top_scores: &mut [T],
) -> Result<(), KernelError> {
    let plan = Plan::new(r, coeffs, users, items, chunk)?;
    let n_req = users.len();
    if top_ids.len() != top_scores.len() {
        return Err(KernelError::shape(format!(
            "top_ids ({}) and top_scores ({}) must have the same size",
            top_ids.len(),
            top_scores.len()
        )));
    }
    if n_req == 0 {
        return if top_ids.is_empty() {
            Ok(())
        } else {
            Err(KernelError::shape(format!(
                "top_ids must be (0, k) for no users, got {} values",
                top_ids.len()
            )))
        };
    }
    if top_ids.len() % n_req != 0 {
        return Err(KernelError::shape(format!(
            "top_ids must be (len(users) = {n_req}, k), got {} values",
            top_ids.len()
        )));
    }
    let k = top_ids.len() / n_req;
    ensure_available("GTE's top-k", plan.buffer_bytes()?)?;
    if k == 0 || plan.items.is_empty() {
        return Ok(());
    }
    let mut b = plan.buffers();
    for cols in plan.chunks() {
        plan.chunk_matrix(&cols, &mut b);
        let w = cols.len();
        let (c0, c1) = (cols.start, cols.end);
        let m = &b.m[..r.n_items * w];
        top_ids
            .par_chunks_mut(k)
            .zip(top_scores.par_chunks_mut(k))
            .zip(users.par_iter())
            .with_min_len(16)
            .try_for_each_init(
                || vec![T::ZERO; w],
                |s, ((ids, vals), &u)| {
                    let u = u as usize;
                    plan.score_row(u, m, w, s)?;
                    let seen = &r.indices[r.row(u)];
                    let (mut p, end) = if exclude_seen {
                        (
                            seen.partition_point(|j| j.get() < c0),
                            seen.partition_point(|j| j.get() < c1),
                        )
                    } else {
                        (0, 0)
                    };
                    for (jj, &x) in s.iter().enumerate() {
                        let j = c0 + jj;
                        if p < end && seen[p].get() == j {
                            p += 1;
                            continue;
                        }
                        insert(ids, vals, x, j as i64);
                    }
                    Ok::<(), KernelError>(())
                },
            )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic R (n_users, n_items) as a dense matrix.
    fn dense_r(n_users: usize, n_items: usize, seed: u64, weighted: bool) -> Vec<f64> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut r = vec![0.0; n_users * n_items];
        for v in r.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let z = (x >> 33) as f64 / (1u64 << 31) as f64;
            if z < 0.3 {
                *v = if weighted { 0.5 + z } else { 1.0 };
            }
        }
        r
    }

    struct Owned {
        indptr: Vec<i64>,
        indices: Vec<i64>,
        data: Vec<f64>,
        t_indptr: Vec<i64>,
        t_indices: Vec<i64>,
        t_data: Vec<f64>,
    }

    fn csr(dense: &[f64], rows: usize, cols: usize) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
        let (mut indptr, mut indices, mut data) = (vec![0i64], vec![], vec![]);
        for i in 0..rows {
            for j in 0..cols {
                let x = dense[i * cols + j];
                if x != 0.0 {
                    indices.push(j as i64);
                    data.push(x);
                }
            }
            indptr.push(indices.len() as i64);
        }
        (indptr, indices, data)
    }

    fn owned(dense: &[f64], nu: usize, ni: usize) -> Owned {
        let (indptr, indices, data) = csr(dense, nu, ni);
        let mut t = vec![0.0; nu * ni];
        for u in 0..nu {
            for i in 0..ni {
                t[i * nu + u] = dense[u * ni + i];
            }
        }
        let (t_indptr, t_indices, t_data) = csr(&t, ni, nu);
        Owned {
            indptr,
            indices,
            data,
            t_indptr,
            t_indices,
            t_data,
        }
    }

    fn view(o: &Owned, ni: usize) -> Bipartite<'_, i64, f64> {
        Bipartite {
            indptr: &o.indptr,
            indices: &o.indices,
            data: &o.data,
            t_indptr: &o.t_indptr,
            t_indices: &o.t_indices,
            t_data: &o.t_data,
            n_items: ni,
        }
    }

    /// The authors' layer-by-layer propagation, densely.
    fn literal(r: &[f64], nu: usize, ni: usize, layers: usize) -> Vec<f64> {
        let mut item = vec![0.0; ni * ni];
        for i in 0..ni {
            item[i * ni + i] = 1.0;
        }
        let mut user = vec![0.0; nu * ni];
        for _ in 0..layers {
            let mut nu_rep = user.clone();
            for u in 0..nu {
                for i in 0..ni {
                    let a = r[u * ni + i];
                    for j in 0..ni {
                        nu_rep[u * ni + j] += a * item[i * ni + j];
                    }
                }
            }
            let mut ni_rep = item.clone();
            for i in 0..ni {
                for u in 0..nu {
                    let a = r[u * ni + i];
                    for j in 0..ni {
                        ni_rep[i * ni + j] += a * user[u * ni + j];
                    }
                }
            }
            user = nu_rep;
            item = ni_rep;
        }
        user
    }

    /// Coefficients of q_L (lowest degree first).
    fn coeffs(layers: usize) -> Vec<f64> {
        let (mut p, mut q) = (vec![1.0], vec![0.0]);
        for _ in 0..layers {
            let mut nq = vec![0.0; p.len().max(q.len())];
            for (i, c) in p.iter().enumerate() {
                nq[i] += c;
            }
            for (i, c) in q.iter().enumerate() {
                nq[i] += c;
            }
            let mut np = vec![0.0; p.len().max(q.len() + 1)];
            for (i, c) in p.iter().enumerate() {
                np[i] += c;
            }
            for (i, c) in q.iter().enumerate() {
                np[i + 1] += c;
            }
            p = np;
            q = nq;
        }
        while q.len() > 1 && *q.last().unwrap() == 0.0 {
            q.pop();
        }
        q
    }

    #[test]
    fn polynomials_of_the_first_layers() {
        assert_eq!(coeffs(1), vec![1.0]);
        assert_eq!(coeffs(2), vec![2.0]);
        assert_eq!(coeffs(3), vec![3.0, 1.0]);
        assert_eq!(coeffs(4), vec![4.0, 4.0]);
        assert_eq!(coeffs(5), vec![5.0, 10.0, 1.0]);
    }

    #[test]
    fn scores_equal_the_literal_propagation() {
        let (nu, ni) = (7, 9);
        for weighted in [false, true] {
            let dense = dense_r(nu, ni, 3, weighted);
            let o = owned(&dense, nu, ni);
            let r = view(&o, ni);
            let users: Vec<i64> = (0..nu as i64).rev().collect();
            for layers in 1..=6 {
                let want = literal(&dense, nu, ni, layers);
                for chunk in [1, 2, 4, 9, 20] {
                    let got = gte_scores(&r, &coeffs(layers), &users, 0..ni, chunk).unwrap();
                    for (a, &u) in users.iter().enumerate() {
                        for i in 0..ni {
                            let (g, w) = (got[a * ni + i], want[u as usize * ni + i]);
                            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn topk_is_sorted_with_ties_to_the_lower_id_and_skips_seen() {
        let (nu, ni) = (6, 8);
        let dense = dense_r(nu, ni, 11, false);
        let o = owned(&dense, nu, ni);
        let r = view(&o, ni);
        let users: Vec<i64> = (0..nu as i64).collect();
        let c = coeffs(3);
        let scores = gte_scores(&r, &c, &users, 0..ni, 3).unwrap();
        for exclude in [false, true] {
            let k = 5;
            let mut ids = vec![-1i64; nu * k];
            let mut vals = vec![0.0f64; nu * k];
            // two calls over disjoint ranges, the later one first
            gte_topk(&r, &c, &users, 5..ni, 2, exclude, &mut ids, &mut vals).unwrap();
            gte_topk(&r, &c, &users, 0..5, 2, exclude, &mut ids, &mut vals).unwrap();
            for u in 0..nu {
                let mut order: Vec<usize> = (0..ni)
                    .filter(|&i| !(exclude && dense[u * ni + i] != 0.0))
                    .collect();
                order.sort_by(|&a, &b| {
                    scores[u * ni + b]
                        .partial_cmp(&scores[u * ni + a])
                        .unwrap()
                        .then(a.cmp(&b))
                });
                order.truncate(k);
                let got: Vec<usize> = ids[u * k..(u + 1) * k]
                    .iter()
                    .take_while(|&&i| i >= 0)
                    .map(|&i| i as usize)
                    .collect();
                assert_eq!(got, order, "user {u}, exclude_seen {exclude}");
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dense = dense_r(3, 4, 1, false);
        let o = owned(&dense, 3, 4);
        let r = view(&o, 4);
        assert!(gte_scores(&r, &[], &[0], 0..4, 2).is_err());
        assert!(gte_scores(&r, &[f64::NAN], &[0], 0..4, 2).is_err());
        assert!(gte_scores(&r, &[1.0], &[3], 0..4, 2).is_err());
        assert!(gte_scores(&r, &[1.0], &[-1], 0..4, 2).is_err());
        assert!(gte_scores(&r, &[1.0], &[0], 0..5, 2).is_err());
        assert!(gte_scores(&r, &[1.0], &[0], 0..4, 0).is_err());
        let mut bad = view(&o, 3);
        assert!(gte_scores(&bad, &[1.0], &[0], 0..3, 2).is_err());
        bad = view(&o, 4);
        let data = vec![f64::NAN; o.data.len()];
        bad.data = &data;
        assert!(gte_scores(&bad, &[1.0], &[0], 0..4, 2).is_err());
        let (mut ids, mut vals) = (vec![-1i64; 5], vec![0.0; 4]);
        assert!(gte_topk(&r, &[1.0], &[0], 0..4, 2, true, &mut ids, &mut vals).is_err());
        let (mut ids, mut vals) = (vec![-1i64; 5], vec![0.0; 5]);
        assert!(gte_topk(&r, &[1.0], &[0, 1], 0..4, 2, true, &mut ids, &mut vals).is_err());
        let big = [1e308, 1e308, 1e308];
        let err = gte_scores(&r, &big, &[0, 1, 2], 0..4, 2).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }
}
