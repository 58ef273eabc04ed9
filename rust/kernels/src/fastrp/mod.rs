//! FastRP node embeddings (Chen, Sultan, Tian, Chen and Skiena, "Fast and Accurate Network
//! Embeddings via Very Sparse Random Projection", CIKM 2019), with the variant of Neo4j
//! Graph Data Science (GDS) as an option.
//!
//! # The maths
//!
//! The graph is a square sparse matrix S (n, n) with weights `S_ij >= 0` (CSR: row i
//! lists the edges out of node i). With `deg_i` the degree used for the degree
//! scaling (see [`DegreeKind`]) and `D = diag(sum_j S_ij)` the weighted degrees:
//!
//! ```text
//! P    = D^-1 S                      transition matrix; rows of zero weight stay zero
//! R    = diag(deg^beta) R0           R0 (n, d): entries +-sqrt(s) w.p. 1/(2s) each, else 0;
//!                                    deg^beta is taken as 1 where deg = 0
//! N_0  = R,  N_t = P N_{t-1}         t = 1..k
//! E    = self_influence * N^_0 + sum_{t=1..k} alpha_t N^_t
//! out  = E with every column standardised (mean 0, variance 1), if asked
//! ```
//!
//! `N^_t` is `N_t` with each row scaled to unit L2 norm (rows of zeros stay zero), or
//! `N_t` itself without normalisation. `weights[0]` is `alpha_1`, the weight of
//! `N_1 = P R` (one hop), `weights[t-1]` the weight of `P^t R`; k = `weights.len()`.
//!
//! # The paper and Neo4j GDS side by side
//!
//! | | paper (authors' code, `fastrp.py`) | Neo4j GDS `gds.fastRP` |
//! | --- | --- | --- |
//! | density 1/s of R | s = sqrt(n) (scikit-learn's `density='auto'`) | s = 3 |
//! | entries of R | `+-sqrt(s/d)` | `+-sqrt(s/d)` |
//! | degree scaling `deg^beta` (`alpha` in the code, `normalizationStrength` in GDS) | weighted degree (row sum) | number of relationships; 1 for degree 0 |
//! | iteration weights | `weights`, BlogCatalog: (0, 0, 1, 6.67), beta = -0.64 | `iterationWeights`, default (0, 1, 1), beta = 0 |
//! | normalisation ([`Normalization`]) | `Output`: each power `P^t R` is computed unnormalised; a row-normalised copy enters the sum | `Propagate`: each step's result is row-normalised and that normalised matrix is propagated |
//! | self term | none | `nodeSelfInfluence * R / \|R\|` (row-normalised R) |
//! | final standardisation | yes (`sklearn.preprocessing.scale`) | no |
//!
//! The `1/sqrt(d)` of the entries is dropped here: a constant factor is removed by
//! either normalisation and by the standardisation, so it only shows without both.
//! GDS divides a node's neighbour sum by its relationship count where the paper divides
//! by the weighted degree; under GDS's row normalisation the two agree.
//!
//! # Graph conventions
//!
//! - **Directed graphs**: row i of S is used as given, so node i averages over the
//!   targets of its out-edges. Symmetrise S beforehand for an undirected embedding.
//! - **Isolated nodes** (rows of zero weight): their rows of P are zero, so every `N_t`
//!   (t >= 1) is zero there; their `deg^beta` is taken as 1. After standardisation
//!   they sit at minus the column means.
//! - **Self loops** are ordinary entries `S_ii`: a node with a self loop counts itself
//!   once (with weight `S_ii`) among the nodes it averages over, and in its degree.
//! - Duplicate CSR entries add up; explicit zeros are edges of weight 0 (they count in
//!   [`DegreeKind::Count`]).
//!
//! # Memory, work and determinism
//!
//! R is never stored as a matrix: its rows are generated from `(seed, node)` (see
//! [`projection`]), into compressed rows when R is sparse (s >= 4). Each step
//! `N_t = P N_{t-1}` is one pass over the edges, fused with the row normalisation and
//! the update of the sum, and keeps `N_t` in compressed rows while it is bound to be
//! sparse (at most 1/8 nonzero): with the paper's s = sqrt(n) on a large sparse graph
//! the first powers are mostly zeros and cost little (see the `sparse` module).
//! Beside the graph, the kernel holds at most three n x d f32 buffers, and for the
//! paper's and GDS's default weights at most two, or one and a half on large inputs:
//! the previous and the current `N_t` (ping-pong), and the running sum E, which is kept
//! implicit (as per-row coefficients of the stored `N_t`) until a second term arrives;
//! the last step can then write E over `N_{k-1}` (see the `last_step` module).
//! Each output row is computed by one task in a fixed order of operations, whatever
//! the storage of its inputs, and the column statistics are merged over fixed blocks,
//! so the result is bit-identical for any number of threads.

mod graph;
mod last_step;
pub mod projection;
mod propagate;
mod sparse;
mod standardize;

use rayon::prelude::*;

pub use graph::{CsrGraph, NodeIndex};
pub use projection::random_projection;

use crate::{memory, KernelError};
use projection::{dense_rows, sparse_rows, Projection};
use propagate::{add_source_row, nnz_bound, source_row_norm, Source, Step, Store, SumOp};
use sparse::{SparseRows, BLOCK_ROWS};
use std::mem::size_of;

/// Below this sparsity R is generated densely into a buffer; from it on, in compressed
/// rows (expected `d / s` nonzeros per row), which is smaller and faster to propagate.
const SPARSE_R_FROM: f64 = 4.0;

/// From this many bytes of embedding on, the last step runs in place by default.
const LOW_MEMORY_FROM: usize = 256 << 20;

/// A step's result `N_t` is kept in compressed rows when its number of nonzeros is
/// bound to be at most 1/SPARSE_FRACTION of n * d (by `propagate::nnz_bound`).
const SPARSE_FRACTION: u64 = 8;

/// How the rows of each `N_t` are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// No normalisation: `N^_t = N_t`.
    None,
    /// The paper's code: the powers `N_t = P^t R` propagate unnormalised, and each enters
    /// the sum with its rows scaled to unit L2 norm.
    Output,
    /// Neo4j GDS: each step's result is row-normalised, and the normalised matrix is
    /// what the next step propagates: `N_t = normalise(P N_{t-1})`.
    Propagate,
}

/// Which degree the scaling `deg^beta` of R uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DegreeKind {
    /// The weighted degree `sum_j S_ij` (the paper's code).
    Weighted,
    /// The number of stored entries of row i (Neo4j GDS's relationship count).
    Count,
}

/// The hyperparameters of FastRP.
#[derive(Debug, Clone, PartialEq)]
pub struct FastRpOptions {
    /// Embedding dimension d >= 1.
    pub dim: usize,
    /// Iteration weights `alpha_1..alpha_k` (k >= 1): `weights[t-1]` weighs `N_t`.
    pub weights: Vec<f64>,
    /// Degree exponent beta (normalisation strength).
    pub beta: f64,
    /// Sparsity s >= 1 of R: each entry is nonzero with probability 1/s.
    pub sparsity: f64,
    pub normalization: Normalization,
    pub degree: DegreeKind,
    /// Weight of `N^_0` (the degree-scaled R, row-normalised unless
    /// [`Normalization::None`]) in the sum: GDS's `nodeSelfInfluence`.
    pub self_influence: f64,
    /// Standardise the columns of the result (mean 0, variance 1).
    pub standardize: bool,
    /// Seed of R.
    pub seed: u64,
    /// Do the last step in place (see the `last_step` module): half a buffer less memory, one
    /// more pass over the edges, the same result. None: when the embedding takes at
    /// least 256 MiB.
    pub low_memory: Option<bool>,
}

impl FastRpOptions {
    /// The paper's BlogCatalog setting: weights (0, 0, 1, 6.67), beta = -0.64,
    /// s = sqrt(n), normalisation of each power, standardisation.
    pub fn paper(dim: usize, num_nodes: usize) -> Self {
        FastRpOptions {
            dim,
            weights: vec![0.0, 0.0, 1.0, 6.67],
            beta: -0.64,
            sparsity: (num_nodes as f64).sqrt().max(1.0),
            normalization: Normalization::Output,
            degree: DegreeKind::Weighted,
            self_influence: 0.0,
            standardize: true,
            seed: 0,
            low_memory: None,
        }
    }

    /// Neo4j GDS's defaults: iteration weights (0, 1, 1), normalisation strength 0,
    /// s = 3, no self influence, propagated normalisation, no standardisation.
    pub fn gds(dim: usize) -> Self {
        FastRpOptions {
            dim,
            weights: vec![0.0, 1.0, 1.0],
            beta: 0.0,
            sparsity: 3.0,
            normalization: Normalization::Propagate,
            degree: DegreeKind::Count,
            self_influence: 0.0,
            standardize: false,
            seed: 0,
            low_memory: None,
        }
    }

    fn validate(&self) -> Result<(), KernelError> {
        if self.weights.is_empty() {
            return Err(KernelError::value(
                "weights must have at least one entry (k >= 1 propagation steps)",
            ));
        }
        if let Some(i) = self.weights.iter().position(|w| !w.is_finite()) {
            return Err(KernelError::value(format!(
                "weights must be finite; weights[{i}] = {}",
                self.weights[i]
            )));
        }
        for (name, v) in [("beta", self.beta), ("self_influence", self.self_influence)] {
            if !v.is_finite() {
                return Err(KernelError::value(format!(
                    "{name} must be finite, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// The FastRP embedding of `graph`: (n, dim) f32, row-major. See the module docs.
pub fn fastrp_embedding<I: NodeIndex>(
    graph: &CsrGraph<'_, I>,
    opts: &FastRpOptions,
) -> Result<Vec<f32>, KernelError> {
    let n = graph.validate()?;
    opts.validate()?;
    let d = opts.dim;
    let proj = Projection::new(d, opts.sparsity, opts.seed)?;
    let nd = n.checked_mul(d).ok_or_else(|| {
        KernelError::shape(format!("the embedding ({n}, {d}) has too many entries"))
    })?;
    if n == 0 {
        return Ok(Vec::new());
    }
    // At most three dense (n, dim) buffers live at once: N_t, N_{t+1} and the sum E; then
    // standardisation's column statistics, two f64 vectors of dim per block of rows.
    let buffer_bytes = memory::bytes_of("a FastRP buffer", nd, size_of::<f32>())?;
    let stat_vectors = (n.div_ceil(standardize::STAT_ROWS) + 2).saturating_mul(2 * d);
    let stat_bytes = memory::bytes_of("column statistics", stat_vectors, size_of::<f64>())?;
    memory::ensure_available(
        &format!("the FastRP embedding ({n}, {d})"),
        memory::total(
            "FastRP",
            &[buffer_bytes, buffer_bytes, buffer_bytes, stat_bytes],
        )?,
    )?;

    let weighted = graph.weighted_degrees();
    let inv_degree: Vec<f32> = weighted
        .iter()
        .map(|&g| if g > 0.0 { (1.0 / g) as f32 } else { 0.0 })
        .collect();
    let degree = match opts.degree {
        DegreeKind::Weighted => weighted,
        DegreeKind::Count => graph.count_degrees(),
    };
    let scale = degree_scale(&degree, opts.beta)?;
    drop(degree);

    // R: dense in a buffer, or in compressed rows.
    let mut current = if opts.sparsity < SPARSE_R_FROM {
        let mut r = buffer(nd);
        dense_rows(&proj, &scale, &mut r);
        Current::Dense(r)
    } else {
        Current::Sparse(sparse_rows(&proj, &scale))
    };
    drop(scale);

    // The sum E: explicit (`sum`), implicit (`coef` times the current N), or zero.
    let mut sum: Option<Vec<f32>> = None;
    let mut coef: Option<Vec<f32>> = None;
    if opts.self_influence != 0.0 {
        let mut e = buffer(nd);
        self_term(
            &mut e,
            current.source(),
            opts.self_influence as f32,
            opts.normalization,
            d,
        );
        sum = Some(e);
    }

    let k = opts.weights.len();
    // In-degrees, for the bound on the nonzeros of each step (computed when needed).
    let mut in_degree: Option<Vec<u32>> = None;
    let low_memory = opts
        .low_memory
        .unwrap_or(nd.saturating_mul(std::mem::size_of::<f32>()) >= LOW_MEMORY_FROM);
    let split = last_step::split_point(d);
    // A free dense buffer, kept for the next step that needs one.
    let mut spare: Option<Vec<f32>> = None;
    let mut result: Option<Vec<f32>> = None;
    for (t, &alpha) in opts.weights.iter().enumerate() {
        let last = t + 1 == k;
        let step = Step {
            graph: *graph,
            inv_degree: &inv_degree,
            dim: d,
            alpha: alpha as f32,
            normalization: opts.normalization,
        };
        // The last step in place, over N_{k-1}, when E is still implicit.
        if let (true, None, Current::Dense(buf), Some(h)) =
            (last && low_memory, &sum, &mut current, split)
        {
            spare = None;
            step.run_last_in_place(buf, coef.as_deref(), h);
            if let Current::Dense(buf) = std::mem::take(&mut current) {
                result = Some(buf);
            }
            break;
        }
        let src = current.source();
        // N_t in compressed rows when it is bound to be sparse, else in a dense buffer.
        let sparse_next = !last
            && matches!(src, Source::Sparse(_))
            && nnz_bound(in_degree.get_or_insert_with(|| graph.in_degrees()), src, d)
                .saturating_mul(SPARSE_FRACTION)
                <= nd as u64;
        let mut dense_next =
            (!last && !sparse_next).then(|| spare.take().unwrap_or_else(|| buffer(nd)));
        let store = match (&mut dense_next, sparse_next) {
            (Some(b), _) => Store::Dense(b),
            (None, true) => Store::Sparse,
            (None, false) => Store::None,
        };
        let mut sparse_out = None;
        if let Some(e) = sum.as_mut() {
            spare = None;
            let op = if alpha != 0.0 {
                SumOp::Add(e)
            } else {
                SumOp::Skip
            };
            sparse_out = step.run(src, store, op);
        } else if let Some(c) = coef.take() {
            // E = c * N_{t-1} (the source) becomes explicit, in the free buffer if this
            // is the last step, else in a new buffer.
            let mut out = if last {
                spare.take().unwrap_or_else(|| buffer(nd))
            } else {
                buffer(nd)
            };
            let op = SumOp::Write {
                out: &mut out,
                coef: Some(&c),
            };
            sparse_out = step.run(src, store, op);
            if last {
                result = Some(out);
            } else {
                sum = Some(out);
            }
        } else if last {
            let mut out = spare.take().unwrap_or_else(|| buffer(nd));
            let op = SumOp::Write {
                out: &mut out,
                coef: None,
            };
            step.run(src, store, op);
            result = Some(out);
        } else if alpha != 0.0 {
            let mut c = vec![0f32; n];
            sparse_out = step.run(src, store, SumOp::Lazy(&mut c));
            coef = Some(c);
        } else {
            sparse_out = step.run(src, store, SumOp::Skip);
        }
        let next = match (dense_next, sparse_out) {
            (Some(b), _) => Some(Current::Dense(b)),
            (None, Some(r)) => Some(Current::Sparse(r)),
            (None, None) => None,
        };
        if let Some(next) = next {
            if let Current::Dense(old) = std::mem::replace(&mut current, next) {
                spare = Some(old);
            }
        }
    }
    drop((current, spare, coef));
    let mut e = match result.or(sum) {
        Some(e) => e,
        None => return Err(KernelError::value("internal error: no result")),
    };
    if e.par_iter().any(|v| !v.is_finite()) {
        return Err(KernelError::value(format!(
            "the embedding overflowed f32 (inf/NaN): the iteration weights {:?} or beta = {} \
             are too large in magnitude for this graph's degrees",
            opts.weights, opts.beta
        )));
    }
    if opts.standardize {
        standardize::standardize(&mut e, d);
    }
    Ok(e)
}

/// The latest N: dense, or in compressed rows.
enum Current {
    Dense(Vec<f32>),
    Sparse(SparseRows),
}

impl Default for Current {
    fn default() -> Self {
        Current::Sparse(SparseRows::default())
    }
}

impl Current {
    fn source(&self) -> Source<'_> {
        match self {
            Current::Dense(b) => Source::Dense(b),
            Current::Sparse(r) => Source::Sparse(r),
        }
    }
}

/// A zeroed f32 buffer of `len` values (its pages are faulted in on first write).
fn buffer(len: usize) -> Vec<f32> {
    vec![0f32; len]
}

/// `deg^beta`, and 1 where the degree is 0; refuses values that are not finite and
/// nonzero in f32.
fn degree_scale(degree: &[f64], beta: f64) -> Result<Vec<f32>, KernelError> {
    let scale: Vec<f32> = degree
        .par_iter()
        .map(|&g| if g > 0.0 { g.powf(beta) as f32 } else { 1.0 })
        .collect();
    if let Some(i) = scale.iter().position(|s| !(s.is_finite() && *s != 0.0)) {
        return Err(KernelError::value(format!(
            "degree^beta is not a finite nonzero float32 for node {i}: degree {}, beta {beta}",
            degree[i]
        )));
    }
    Ok(scale)
}

/// `E = self_influence * N^_0`, N^_0 the (row-normalised) degree-scaled R.
fn self_term(e: &mut [f32], source: Source<'_>, si: f32, normalization: Normalization, d: usize) {
    e.par_chunks_mut(BLOCK_ROWS * d)
        .enumerate()
        .for_each(|(b, block)| {
            for (r, row) in block.chunks_mut(d).enumerate() {
                let i = b * BLOCK_ROWS + r;
                let f = match normalization {
                    Normalization::None => 1.0,
                    _ => {
                        let norm = source_row_norm(source, i, d);
                        if norm > 0.0 {
                            1.0 / norm
                        } else {
                            1.0
                        }
                    }
                };
                row.fill(0.0);
                add_source_row(row, si * f, source, i, d);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small random graph (CSR), weighted if asked, with some isolated nodes.
    fn graph(n: usize, edges: usize, seed: u64) -> (Vec<i64>, Vec<u32>, Vec<f32>) {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 33
        };
        let mut pairs: Vec<(u32, u32)> = (0..edges)
            .map(|_| ((next() % n as u64) as u32, (next() % (n as u64 - 3)) as u32))
            .collect();
        pairs.sort_unstable();
        let mut indptr = vec![0i64; n + 1];
        for &(a, _) in &pairs {
            indptr[a as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let indices = pairs.iter().map(|p| p.1).collect();
        let data = (0..edges)
            .map(|_| 0.25 + (next() % 100) as f32 / 50.0)
            .collect();
        (indptr, indices, data)
    }

    #[test]
    fn vector_variants_match_the_baseline() {
        let (indptr, indices, data) = graph(700, 6000, 3);
        for weighted in [false, true] {
            let g = CsrGraph {
                indptr: &indptr,
                indices: &indices,
                data: weighted.then_some(&data[..]),
            };
            for (dim, s, norm, low) in [
                (37, 26.0, Normalization::Output, false),
                (64, 3.0, Normalization::Propagate, true),
                (100, 10.0, Normalization::None, true),
                // sparse R and N_1 (compressed rows)
                (100, 200.0, Normalization::Output, true),
                (64, 300.0, Normalization::Propagate, false),
            ] {
                let opts = FastRpOptions {
                    sparsity: s,
                    normalization: norm,
                    low_memory: Some(low),
                    weights: vec![0.5, 0.0, 1.0, 2.0],
                    ..FastRpOptions::paper(dim, 700)
                };
                propagate::FORCE_BASELINE.store(true, std::sync::atomic::Ordering::Relaxed);
                let base = fastrp_embedding(&g, &opts).unwrap();
                propagate::FORCE_BASELINE.store(false, std::sync::atomic::Ordering::Relaxed);
                let best = fastrp_embedding(&g, &opts).unwrap();
                assert_eq!(base, best, "dim {dim}, s {s}, {norm:?}");
            }
        }
    }
}
