//! Direct solve of a symmetric positive definite system on the nodes of a 2D mesh:
//! geometric nested dissection and a multifrontal Cholesky factorisation.
//!
//! # Ordering
//!
//! The nodes are split at the median of their longer bounding-box axis; the nodes of
//! one half that have a neighbour in the other half form the separator (the side with
//! fewer such nodes gives it). The two halves, now disconnected, are ordered first
//! (recursively), the separator last. Sets of at most [`LEAF`] nodes are not split.
//! On a planar mesh of n nodes the separators have about sqrt(n) nodes, which keeps
//! the Cholesky factor sparse (O(n log n) entries).
//!
//! # Factorisation
//!
//! Each set of the dissection tree (a separator or a leaf, of k nodes) has a dense
//! frontal matrix over its own nodes and the u later nodes its factor columns reach.
//! It is assembled from the matrix entries of its own columns and the update matrices
//! of its two children, then partially factorised: `L11 = chol(F11)`,
//! `L21 = F21 L11^-T`, and the update passed to the parent is `F22 - L21 L21^T`.
//! Sibling subtrees are factorised in parallel (rayon); every front is computed with
//! sequential dense kernels, so the result has the same bits for any number of threads.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, Par};

use crate::KernelError;

/// Sets of at most this many nodes are not split further.
pub const LEAF: usize = 32;

/// At most this many right-hand sides.
pub const MAX_RHS: usize = 4;

/// Subtrees with at least this many nodes are worked on in parallel.
const PARALLEL_MIN: usize = 2048;

/// A symmetric matrix on the nodes of a 2D mesh graph.
#[derive(Debug, Clone, Copy)]
pub struct MeshSystem<'a> {
    /// Node coordinates (n, 2), row-major: they only guide the ordering.
    pub coords: &'a [f64],
    /// The diagonal (n,).
    pub diag: &'a [f64],
    /// CSR offsets (n + 1,) into `neighbours` and `values`.
    pub offsets: &'a [usize],
    /// The off-diagonal nonzero columns of each row (both triangles stored, each `j != i`
    /// at most once per row).
    pub neighbours: &'a [usize],
    /// Their values, symmetric.
    pub values: &'a [f64],
}

impl MeshSystem<'_> {
    fn len(&self) -> usize {
        self.diag.len()
    }

    fn check(&self) -> Result<(), KernelError> {
        let n = self.len();
        let nnz = self.neighbours.len();
        if self.coords.len() != 2 * n || self.offsets.len() != n + 1 || self.values.len() != nnz {
            return Err(KernelError::shape(format!(
                "coords ({}), offsets ({}) and values ({}) do not fit {n} nodes and {nnz} \
                 neighbours",
                self.coords.len(),
                self.offsets.len(),
                self.values.len()
            )));
        }
        if self.offsets[0] != 0
            || self.offsets[n] != nnz
            || self.offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(KernelError::value(
                "offsets must increase from 0 to the number of neighbours",
            ));
        }
        for v in 0..n {
            if let Some(&w) = self.row(v).0.iter().find(|&&w| w >= n || w == v) {
                return Err(KernelError::value(format!(
                    "node {v} has neighbour {w} (not another node of 0..{n})"
                )));
            }
        }
        Ok(())
    }

    fn row(&self, v: usize) -> (&[usize], &[f64]) {
        let r = self.offsets[v]..self.offsets[v + 1];
        (&self.neighbours[r.clone()], &self.values[r])
    }
}

/// Solves `A X = B` in place for the symmetric positive definite `A` of `system`;
/// `rhs` holds B, (n, nrhs) row-major, and receives X.
///
/// Errors if a pivot is not positive (A is not positive definite).
pub fn solve_spd(system: &MeshSystem<'_>, rhs: &mut [f64], nrhs: usize) -> Result<(), KernelError> {
    let n = system.len();
    if nrhs > MAX_RHS || rhs.len() != n * nrhs {
        return Err(KernelError::shape(format!(
            "rhs has {} values for {n} nodes and {nrhs} right-hand sides (at most {MAX_RHS})",
            rhs.len()
        )));
    }
    system.check()?;
    if n == 0 {
        return Ok(());
    }
    let (order, tree) = dissect(system);
    let mut position = vec![0usize; n];
    for (p, &v) in order.iter().enumerate() {
        position[v] = p;
    }
    let ctx = Context {
        system,
        order: &order,
        position: &position,
        rhs,
        nrhs,
    };
    let front = ctx.factorise(&tree)?.front;
    let mut x = vec![0.0; n * nrhs];
    match nrhs {
        0 => {}
        1 => front.backward::<1>(&mut x),
        2 => front.backward::<2>(&mut x),
        3 => front.backward::<3>(&mut x),
        _ => front.backward::<4>(&mut x),
    }
    for (p, &v) in order.iter().enumerate() {
        rhs[v * nrhs..(v + 1) * nrhs].copy_from_slice(&x[p * nrhs..(p + 1) * nrhs]);
    }
    Ok(())
}

/// A set of the dissection: its own positions in the elimination order, and the two
/// subtrees ordered just before it (none for a leaf).
struct Dissection {
    own: Range<usize>,
    children: Option<Box<[Dissection; 2]>>,
}

/// The elimination order (node of each position) and its dissection tree.
fn dissect(system: &MeshSystem<'_>) -> (Vec<usize>, Dissection) {
    let n = system.len();
    let mut order: Vec<usize> = (0..n).collect();
    let side: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let stamp = AtomicU32::new(1);
    let tree = split(system, &mut order, 0, &side, &stamp);
    (order, tree)
}

/// Orders the nodes of `set` (positions `start..start + set.len()`) in place.
///
/// `side` labels nodes with stamps, unique to each split, that say which half a node
/// is in; a split only compares labels with its own stamps, so concurrent splits of
/// disjoint sets do not interfere and the order does not depend on the scheduling.
fn split(
    system: &MeshSystem<'_>,
    set: &mut [usize],
    start: usize,
    side: &[AtomicU32],
    stamp: &AtomicU32,
) -> Dissection {
    let n = set.len();
    if n <= LEAF {
        return Dissection {
            own: start..start + n,
            children: None,
        };
    }
    let xy = |v: usize, i: usize| system.coords[2 * v + i];
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for &v in set.iter() {
        for i in 0..2 {
            lo[i] = lo[i].min(xy(v, i));
            hi[i] = hi[i].max(xy(v, i));
        }
    }
    let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
    let mid = n / 2;
    set.select_nth_unstable_by(mid, |&a, &b| {
        xy(a, axis).total_cmp(&xy(b, axis)).then(a.cmp(&b))
    });
    // Stamps: `right` marks the right half, `cut_left` / `cut_right` its nodes on the
    // cut (those with a neighbour on the other side).
    let right = stamp.fetch_add(3, Relaxed);
    let (cut_left, cut_right) = (right + 1, right + 2);
    for &v in &set[mid..] {
        side[v].store(right, Relaxed);
    }
    let (mut on_left, mut on_right) = (0, 0);
    for &v in &set[..mid] {
        let mut cut = false;
        for &w in system.row(v).0 {
            let label = side[w].load(Relaxed);
            if label == right || label == cut_right {
                cut = true;
                if label == right {
                    side[w].store(cut_right, Relaxed);
                    on_right += 1;
                }
            }
        }
        if cut {
            side[v].store(cut_left, Relaxed);
            on_left += 1;
        }
    }
    // The smaller cut is the separator: moved to the end of its half (stable), then
    // of the set.
    let left_gives = on_left <= on_right;
    let (half, label, sep) = if left_gives {
        (&mut set[..mid], cut_left, on_left)
    } else {
        (&mut set[mid..], cut_right, on_right)
    };
    let mut separator = Vec::with_capacity(sep);
    let mut kept = 0;
    for i in 0..half.len() {
        let v = half[i];
        if side[v].load(Relaxed) == label {
            separator.push(v);
        } else {
            half[kept] = v;
            kept += 1;
        }
    }
    half[kept..].copy_from_slice(&separator);
    if left_gives {
        set[mid - sep..].rotate_left(sep);
    }
    let (halves, _) = set.split_at_mut(n - sep);
    let (a, b) = halves.split_at_mut(if left_gives { mid - sep } else { mid });
    let (sa, sb) = (start, start + a.len());
    let children = if n >= PARALLEL_MIN {
        rayon::join(
            || split(system, a, sa, side, stamp),
            || split(system, b, sb, side, stamp),
        )
    } else {
        (
            split(system, a, sa, side, stamp),
            split(system, b, sb, side, stamp),
        )
    };
    Dissection {
        own: start + n - sep..start + n,
        children: Some(Box::new([children.0, children.1])),
    }
}

/// The factor columns of one set of the dissection, and those of its subtrees.
struct Front {
    own: Range<usize>,
    /// The later positions the columns reach, increasing.
    rows: Vec<usize>,
    /// (k + u + nrhs, k): L11 (lower triangle) over L21 over `Y^T`, where Y (k, nrhs)
    /// holds the own rows of `L^-1 B`.
    l: Mat<f64>,
    children: Option<Box<[Front; 2]>>,
}

struct Context<'a> {
    system: &'a MeshSystem<'a>,
    order: &'a [usize],
    position: &'a [usize],
    /// B (n, nrhs) by node.
    rhs: &'a [f64],
    nrhs: usize,
}

/// What a subtree passes to its parent.
struct Factorised {
    front: Front,
    /// The update (u + nrhs, u + nrhs) (lower triangle) of the later rows' matrix
    /// over that of their right-hand sides (transposed); the last nrhs columns are
    /// not used.
    update: Mat<f64>,
}

impl Context<'_> {
    /// The factor of the subtree `d` and the forward solve `L^-1 B` over it.
    fn factorise(&self, d: &Dissection) -> Result<Factorised, KernelError> {
        let children = match &d.children {
            None => None,
            Some(c) => {
                let (a, b) = if d.own.end - subtree_start(d) >= PARALLEL_MIN {
                    rayon::join(|| self.factorise(&c[0]), || self.factorise(&c[1]))
                } else {
                    (self.factorise(&c[0]), self.factorise(&c[1]))
                };
                Some([a?, b?])
            }
        };
        let own = d.own.clone();
        let k = own.len();
        // The rows: the later neighbours of the own nodes and the children's rows.
        let mut rows = Vec::new();
        for p in own.clone() {
            let (nbrs, _) = self.system.row(self.order[p]);
            rows.extend(
                nbrs.iter()
                    .map(|&w| self.position[w])
                    .filter(|&q| q >= own.end),
            );
        }
        if let Some(c) = &children {
            for Factorised { front, .. } in c {
                rows.extend(front.rows.iter().filter(|&&q| q >= own.end));
            }
        }
        rows.sort_unstable();
        rows.dedup();
        let f = k + rows.len();
        let local = |q: usize| {
            if q < own.end {
                q - own.start
            } else {
                k + rows.binary_search(&q).unwrap_or_default()
            }
        };
        // The right-hand sides ride along as nrhs extra rows (local f..f + nrhs) below
        // the front, transposed: eliminating the own columns of the augmented matrix
        // [[F, B], [B^T, *]] turns them into `Y^T = (L11^-1 B1)^T` and their update into
        // `(B2 - L21 Y)^T`, the forward solve, done by the same dense kernels.
        // The factor columns (f + nrhs, k) and the update (u + nrhs, u + nrhs) are
        // assembled apart.
        let nrhs = self.nrhs;
        let mut l = Mat::<f64>::zeros(f + nrhs, k);
        let mut update = Mat::<f64>::zeros(f - k + nrhs, f - k + nrhs);
        for (i, p) in own.clone().enumerate() {
            let v = self.order[p];
            let col = l.col_as_slice_mut(i);
            col[i] += self.system.diag[v];
            col[f..].copy_from_slice(&self.rhs[v * nrhs..(v + 1) * nrhs]);
            let (nbrs, vals) = self.system.row(v);
            for (&w, &a) in nbrs.iter().zip(vals) {
                let q = self.position[w];
                if q > p {
                    col[local(q)] += a;
                }
            }
        }
        let mut fronts = None;
        if let Some([fa, fb]) = children {
            for child in [&fa, &fb] {
                // Both row lists increase: merge rather than search. The
                // right-hand-side rows go to the same rows here.
                let mut next = 0;
                let map: Vec<usize> = child
                    .front
                    .rows
                    .iter()
                    .map(|&q| {
                        if q < own.end {
                            q - own.start
                        } else {
                            while rows[next] < q {
                                next += 1;
                            }
                            k + next
                        }
                    })
                    .chain(f..f + nrhs)
                    .collect();
                for (j, &lj) in map.iter().enumerate() {
                    let dst = if lj < k {
                        l.col_as_slice_mut(lj)
                    } else {
                        &mut update.col_as_slice_mut(lj - k)[..]
                    };
                    let offset = if lj < k { 0 } else { k };
                    let src = &child.update.col_as_slice(j)[j..];
                    for (&li, &x) in map[j..].iter().zip(src) {
                        dst[li - offset] += x;
                    }
                }
            }
            fronts = Some(Box::new([fa.front, fb.front]));
        }
        let (mut l11, mut l21) = l.as_mut().split_at_row_mut(k);
        let mut mem = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            k,
            Par::Seq,
            Default::default(),
        ));
        cholesky_in_place(
            l11.rb_mut(),
            Default::default(),
            Par::Seq,
            MemStack::new(&mut mem),
            Default::default(),
        )
        .map_err(|_| {
            KernelError::value(
                "the matrix is not positive definite (a Cholesky pivot is not positive)",
            )
        })?;
        solve_lower_triangular_in_place(l11.rb(), l21.rb_mut().transpose_mut(), Par::Seq);
        triangular::matmul(
            update.as_mut(),
            triangular::BlockStructure::TriangularLower,
            Accum::Add,
            l21.rb(),
            triangular::BlockStructure::Rectangular,
            l21.rb().transpose(),
            triangular::BlockStructure::Rectangular,
            -1.0,
            Par::Seq,
        );
        clear_upper_vector_state();
        // The forward solve of the own rows, and the carry to the later rows.
        Ok(Factorised {
            front: Front {
                own,
                rows,
                l,
                children: fronts,
            },
            update,
        })
    }
}

/// Clears the upper halves of the calling thread's vector registers (x86 `vzeroupper`).
///
/// faer's dense kernels use AVX and can return with those halves dirty; the SSE code
/// that runs next on the same thread (this module's loops, and later kernels on the
/// same pool, such as the transfer matrix) then pays a state-transition penalty on
/// vector instructions: the transfer matrix ran about 30% slower after a morph.
#[inline]
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX (checked just above).
        unsafe { zero_upper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

/// `sum_i a[i] x[i]` for the R columns of `x` (a.len(), R) row-major, with two
/// partial sums per column so that the additions overlap.
#[inline]
fn dot_rows<const R: usize>(a: &[f64], x: &[f64]) -> [f64; R] {
    let mut acc = [[0.0f64; R]; 2];
    let (pa, px) = (a.chunks_exact(2), x.chunks_exact(2 * R));
    let tail = pa.remainder().first().map(|&ai| (ai, px.remainder()));
    for (ai, xi) in pa.zip(px) {
        for h in 0..2 {
            for r in 0..R {
                acc[h][r] += ai[h] * xi[h * R + r];
            }
        }
    }
    if let Some((ai, xi)) = tail {
        for r in 0..R {
            acc[0][r] += ai * xi[r];
        }
    }
    std::array::from_fn(|r| acc[0][r] + acc[1][r])
}

fn subtree_start(d: &Dissection) -> usize {
    match &d.children {
        None => d.own.start,
        Some(c) => subtree_start(&c[0]),
    }
}

impl Front {
    /// `x <- L^-T y` over this subtree, given x at the later rows (by position,
    /// (n, R) row-major).
    fn backward<const R: usize>(&self, x: &mut [f64]) {
        let (s, k, f) = (
            self.own.start,
            self.own.len(),
            self.own.len() + self.rows.len(),
        );
        let later: Vec<f64> = self
            .rows
            .iter()
            .flat_map(|&q| x[q * R..(q + 1) * R].iter().copied())
            .collect();
        let xo = &mut x[s * R..(s + k) * R];
        for j in (0..k).rev() {
            let col = self.l.col_as_slice(j);
            xo[j * R..(j + 1) * R].copy_from_slice(&col[f..]);
            let far = dot_rows::<R>(&col[k..f], &later);
            let near = dot_rows::<R>(&col[j + 1..k], &xo[(j + 1) * R..]);
            for r in 0..R {
                xo[j * R + r] = (xo[j * R + r] - far[r] - near[r]) / col[j];
            }
        }
        if let Some(c) = &self.children {
            c[0].backward::<R>(x);
            c[1].backward::<R>(x);
        }
    }
}
