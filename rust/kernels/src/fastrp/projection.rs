//! The very sparse random projection R, generated on the fly from (seed, node id).
//!
//! Row j of R is a function of `(seed, j)` alone: every entry is, independently,
//! `+sqrt(s)` or `-sqrt(s)` with probability `1 / (2s)` each, and 0 otherwise
//! (Li, Hastie and Church's very sparse random projection). So R never has to be
//! stored, any row can be regenerated anywhere, and the embedding does not depend on
//! the order in which rows are visited, nor on the number of threads.
//!
//! A row is drawn without visiting its d entries one by one:
//! 1. its number of nonzeros K ~ Binomial(d, 1/s), by inverting the binomial CDF
//!    (tabulated once in f64) at one uniform draw;
//! 2. which K columns, uniformly among the d, by Floyd's sampling algorithm (K draws,
//!    exact bounded integers by Lemire's multiply-and-reject method);
//! 3. each column's sign, one bit of a draw per 64 columns.
//!
//! A binomial count followed by a uniform subset of that size makes the columns
//! independent Bernoulli(1/s), as in the definition; the only approximation is the
//! f64 rounding of the CDF. The draws come from a counter-based generator: draw `c` of
//! node j is `splitmix64(key_j + c * golden)` with `key_j` a hash of `(seed, j)`, the
//! splitmix64 sequence started at `key_j`.

use rayon::prelude::*;

use super::sparse::{Entry, SparseBlock, SparseRows, BLOCK_ROWS};
use crate::{memory, KernelError};
use std::mem::size_of;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function: a bijective 64-bit mixer.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream of one node: draw `c` is `mix(key + c * GOLDEN)`.
#[derive(Clone, Copy, Debug)]
struct Stream {
    key: u64,
}

impl Stream {
    #[inline(always)]
    fn new(seed: u64, node: usize) -> Self {
        Stream {
            key: mix(seed ^ mix((node as u64).wrapping_add(GOLDEN))),
        }
    }

    #[inline(always)]
    fn draw(&self, counter: u64) -> u64 {
        mix(self.key.wrapping_add(counter.wrapping_mul(GOLDEN)))
    }
}

/// The generator of R for a given dimension, sparsity and seed.
#[derive(Clone, Debug)]
pub struct Projection {
    dim: usize,
    seed: u64,
    /// `cdf[k] = P(K <= k)` for K ~ Binomial(dim, 1/s); `cdf[dim] = 1`.
    cdf: Vec<f64>,
    /// sqrt(s), the magnitude of the nonzero entries.
    value: f32,
    /// Draw counters: 0 is the count, `1..=sign_words` the signs, then Floyd's draws.
    sign_words: u64,
}

impl Projection {
    /// The generator for rows of `dim` entries with density `1 / sparsity`.
    pub fn new(dim: usize, sparsity: f64, seed: u64) -> Result<Self, KernelError> {
        if dim == 0 || dim > u32::MAX as usize {
            return Err(KernelError::value(format!(
                "dim must be between 1 and {}, got {dim}",
                u32::MAX
            )));
        }
        if !(sparsity.is_finite() && sparsity >= 1.0) {
            return Err(KernelError::value(format!(
                "the sparsity s must be a finite number >= 1 (density 1/s), got {sparsity}"
            )));
        }
        // binomial_cdf holds two vectors of dim + 1 values.
        memory::ensure_available(
            &format!("the projection's count distribution (dim = {dim})"),
            memory::bytes_of("the count distribution", 2 * (dim + 1), size_of::<f64>())?,
        )?;
        Ok(Projection {
            dim,
            seed,
            cdf: binomial_cdf(dim, 1.0 / sparsity),
            value: sparsity.sqrt() as f32,
            sign_words: dim.div_ceil(64) as u64,
        })
    }

    /// The number of columns of R.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The magnitude sqrt(s) of the nonzero entries.
    pub fn value(&self) -> f32 {
        self.value
    }

    /// The number of nonzeros of row `node`.
    #[inline]
    pub fn count(&self, node: usize) -> usize {
        let u = unit(Stream::new(self.seed, node).draw(0));
        self.cdf.partition_point(|&c| c <= u)
    }

    /// The nonzeros of row `node` (unscaled: `+-sqrt(s)`), written to `cols` and `vals`,
    /// whose length must be `self.count(node)`. `seen` is scratch space of
    /// `dim.div_ceil(64)` words, all zero on entry and on return. Columns come in the
    /// order Floyd's algorithm picks them.
    pub fn fill_row(&self, node: usize, seen: &mut [u64], cols: &mut [u32], vals: &mut [f32]) {
        let stream = Stream::new(self.seed, node);
        let k = cols.len();
        let d = self.dim;
        let mut counter = 1 + self.sign_words;
        for (slot, j) in (d - k..d).enumerate() {
            let t = bounded(&stream, &mut counter, j as u64 + 1) as usize;
            let pick = if seen[t / 64] >> (t % 64) & 1 == 1 {
                j
            } else {
                t
            };
            seen[pick / 64] |= 1 << (pick % 64);
            cols[slot] = pick as u32;
        }
        for (c, v) in cols.iter().zip(vals.iter_mut()) {
            let c = *c as usize;
            seen[c / 64] = 0;
            let negative = stream.draw(1 + (c / 64) as u64) >> (c % 64) & 1 == 1;
            *v = if negative { -self.value } else { self.value };
        }
    }

    /// The nonzeros of row `node` into `scratch.cols` / `scratch.vals`.
    fn row_into_scratch(&self, node: usize, scratch: &mut Scratch) {
        let k = self.count(node);
        scratch.cols.resize(k, 0);
        scratch.vals.resize(k, 0.0);
        self.fill_row(
            node,
            &mut scratch.seen,
            &mut scratch.cols,
            &mut scratch.vals,
        );
    }

    /// Writes row `node` densely into `row` (length dim), each entry multiplied by `scale`.
    pub fn dense_row(&self, node: usize, scale: f32, scratch: &mut Scratch, row: &mut [f32]) {
        row.fill(0.0);
        self.row_into_scratch(node, scratch);
        for (&c, &v) in scratch.cols.iter().zip(&scratch.vals) {
            row[c as usize] = v * scale;
        }
    }

    /// The nonzeros of row `node` as (column, value * scale), into `out`.
    pub(super) fn sparse_row(
        &self,
        node: usize,
        scale: f32,
        scratch: &mut Scratch,
        out: &mut Vec<Entry>,
    ) {
        self.row_into_scratch(node, scratch);
        out.clear();
        out.extend(
            scratch
                .cols
                .iter()
                .zip(&scratch.vals)
                .map(|(&c, &v)| (c, v * scale)),
        );
    }

    /// Scratch space for [`Projection::dense_row`].
    pub fn scratch(&self) -> Scratch {
        Scratch {
            seen: vec![0; self.dim.div_ceil(64)],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }
}

/// Reusable buffers for generating rows.
#[derive(Clone, Debug)]
pub struct Scratch {
    seen: Vec<u64>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

/// A uniform f64 in [0, 1) from the top 53 bits.
#[inline(always)]
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `0..range` (range >= 1), exact: Lemire's multiply-shift with
/// rejection of the biased low products.
#[inline]
fn bounded(stream: &Stream, counter: &mut u64, range: u64) -> u64 {
    let threshold = range.wrapping_neg() % range;
    loop {
        let x = stream.draw(*counter);
        *counter += 1;
        let m = x as u128 * range as u128;
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// `P(K <= k)` for K ~ Binomial(d, p), k = 0..=d, computed in log space (so that
/// `(1-p)^d` may underflow without harm) and normalised; the last entry is exactly 1.
fn binomial_cdf(d: usize, p: f64) -> Vec<f64> {
    let mut cdf = vec![0.0; d + 1];
    if p >= 1.0 {
        cdf[d] = 1.0;
        return cdf;
    }
    let log_odds = (p / (1.0 - p)).ln();
    let mut log_pmf = Vec::with_capacity(d + 1);
    let mut l = d as f64 * (-p).ln_1p();
    log_pmf.push(l);
    for k in 0..d {
        l += ((d - k) as f64 / (k + 1) as f64).ln() + log_odds;
        log_pmf.push(l);
    }
    let top = log_pmf.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut acc = 0.0;
    for (c, l) in cdf.iter_mut().zip(&log_pmf) {
        acc += (l - top).exp();
        *c = acc;
    }
    for c in cdf.iter_mut() {
        *c /= acc;
    }
    cdf[d] = 1.0;
    cdf
}

/// Rows per parallel task when generating R densely.
const GEN_BLOCK: usize = 1024;

/// R with row j scaled by `scale[j]`, in compressed rows.
pub(super) fn sparse_rows(proj: &Projection, scale: &[f32]) -> SparseRows {
    let n = scale.len();
    let blocks = (0..n.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .map_init(
            || (proj.scratch(), Vec::new()),
            |(scratch, row), b| {
                let mut block = SparseBlock::default();
                let rows = b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(n);
                for (j, &sj) in rows.clone().zip(&scale[rows]) {
                    proj.sparse_row(j, sj, scratch, row);
                    block.entries.extend_from_slice(row);
                    block.counts.push(row.len());
                }
                block
            },
        )
        .collect();
    SparseRows::join(blocks)
}

/// R with row j scaled by `scale[j]`, dense (n, dim), written into `out`.
pub(super) fn dense_rows(proj: &Projection, scale: &[f32], out: &mut [f32]) {
    let d = proj.dim;
    out.par_chunks_mut(d * GEN_BLOCK).enumerate().for_each_init(
        || proj.scratch(),
        |scratch, (b, block)| {
            for (r, row) in block.chunks_mut(d).enumerate() {
                let j = b * GEN_BLOCK + r;
                proj.dense_row(j, scale[j], scratch, row);
            }
        },
    );
}

/// The dense random projection R (num_nodes, dim), row-major, entries `+-sqrt(s)` or 0,
/// without degree scaling: the matrix the FastRP kernel uses for this `(sparsity,
/// seed)`. For tests and references on small graphs.
pub fn random_projection(
    num_nodes: usize,
    dim: usize,
    sparsity: f64,
    seed: u64,
) -> Result<Vec<f32>, KernelError> {
    let proj = Projection::new(dim, sparsity, seed)?;
    let len = num_nodes.checked_mul(dim).ok_or_else(|| {
        KernelError::shape(format!(
            "R of shape ({num_nodes}, {dim}) has too many entries"
        ))
    })?;
    memory::ensure_available(
        &format!("R of shape ({num_nodes}, {dim})"),
        memory::bytes_of("R", len, size_of::<f32>())?,
    )?;
    let mut out = vec![0f32; len];
    dense_rows(&proj, &vec![1.0; num_nodes], &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_a_distribution() {
        for (d, p) in [
            (1, 0.5),
            (64, 1.0 / 3.0),
            (512, 0.01),
            (4096, 1.0 / 3.0),
            (7, 1.0),
        ] {
            let cdf = binomial_cdf(d, p);
            assert_eq!(cdf.len(), d + 1);
            assert_eq!(cdf[d], 1.0);
            assert!(cdf.windows(2).all(|w| w[0] <= w[1]));
            // mean of the distribution = d p
            let mut prev = 0.0;
            let mut mean = 0.0;
            for (k, c) in cdf.iter().enumerate() {
                mean += k as f64 * (c - prev);
                prev = *c;
            }
            assert!(
                (mean - d as f64 * p).abs() < 1e-9 * d as f64,
                "{d} {p} {mean}"
            );
        }
    }

    #[test]
    fn rows_are_deterministic_and_distinct_columns() {
        let proj = Projection::new(300, 3.0, 7).unwrap();
        let mut seen = vec![0u64; 5];
        for node in 0..200 {
            let k = proj.count(node);
            let (mut c1, mut v1) = (vec![0; k], vec![0.0; k]);
            let (mut c2, mut v2) = (vec![0; k], vec![0.0; k]);
            proj.fill_row(node, &mut seen, &mut c1, &mut v1);
            assert!(seen.iter().all(|&w| w == 0));
            proj.fill_row(node, &mut seen, &mut c2, &mut v2);
            assert_eq!((&c1, &v1), (&c2, &v2));
            let mut sorted = c1.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), k);
            assert!(sorted.iter().all(|&c| c < 300));
            assert!(v1.iter().all(|v| v.abs() == 3f32.sqrt()));
        }
    }

    #[test]
    fn entries_have_the_right_frequencies() {
        // 2000 x 256 entries at density 1/4: each column and each sign near its share.
        let (n, d, s) = (2000usize, 256usize, 4.0);
        let r = random_projection(n, d, s, 11).unwrap();
        let total = (n * d) as f64;
        let pos = r.iter().filter(|&&x| x > 0.0).count() as f64;
        let neg = r.iter().filter(|&&x| x < 0.0).count() as f64;
        // binomial standard deviation of each count is about 300
        assert!((pos - total / 8.0).abs() < 2000.0, "{pos}");
        assert!((neg - total / 8.0).abs() < 2000.0, "{neg}");
        let first_col = (0..n).filter(|i| r[i * d] != 0.0).count() as f64;
        let last_col = (0..n).filter(|i| r[i * d + d - 1] != 0.0).count() as f64;
        for c in [first_col, last_col] {
            assert!((c - n as f64 / 4.0).abs() < 100.0, "{c}");
        }
        // a different seed gives a different matrix
        assert_ne!(r, random_projection(n, d, s, 12).unwrap());
    }

    #[test]
    fn dense_at_s_one() {
        let r = random_projection(10, 70, 1.0, 0).unwrap();
        assert!(r.iter().all(|x| x.abs() == 1.0));
    }

    #[test]
    fn bad_arguments() {
        assert!(Projection::new(0, 3.0, 0).is_err());
        assert!(Projection::new(8, 0.5, 0).is_err());
        assert!(Projection::new(8, f64::NAN, 0).is_err());
        assert!(random_projection(usize::MAX, 2, 3.0, 0).is_err());
    }
}
