//! Column standardisation: each column to mean 0 and variance 1 (population variance,
//! as `sklearn.preprocessing.scale`).
//!
//! Statistics are accumulated in f64 over fixed blocks of rows (mean and sum of squared
//! deviations per block, two passes over the block while it is in cache) and the blocks
//! are merged in order (Chan, Golub and LeVeque), so the result does not depend on the
//! number of threads. A column whose standard deviation is 0, or below f32 rounding of
//! its mean (`std <= f32::EPSILON * |mean|`), is only centred.

use rayon::prelude::*;

/// Rows per block of statistics.
pub(super) const STAT_ROWS: usize = 256;

/// Mean and sum of squared deviations of each column of one block.
struct Stats {
    count: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

fn block_stats(block: &[f32], d: usize) -> Stats {
    let rows = block.len() / d;
    let mut mean = vec![0f64; d];
    for row in block.chunks_exact(d) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    let mut m2 = vec![0f64; d];
    for row in block.chunks_exact(d) {
        for ((s, &x), &m) in m2.iter_mut().zip(row).zip(&mean) {
            let dev = x as f64 - m;
            *s += dev * dev;
        }
    }
    Stats {
        count: rows as f64,
        mean,
        m2,
    }
}

fn merge(mut a: Stats, b: Stats) -> Stats {
    let total = a.count + b.count;
    for ((ma, m2a), (&mb, &m2b)) in a
        .mean
        .iter_mut()
        .zip(a.m2.iter_mut())
        .zip(b.mean.iter().zip(&b.m2))
    {
        let delta = mb - *ma;
        *ma += delta * b.count / total;
        *m2a += m2b + delta * delta * a.count * b.count / total;
    }
    a.count = total;
    a
}

/// Column means and standard deviations of x (n, d), row-major, in f64.
pub(super) fn column_stats(x: &[f32], d: usize) -> (Vec<f64>, Vec<f64>) {
    let blocks: Vec<Stats> = x
        .par_chunks(STAT_ROWS * d)
        .map(|b| block_stats(b, d))
        .collect();
    match blocks.into_iter().reduce(merge) {
        None => (vec![0.0; d], vec![0.0; d]),
        Some(s) => {
            let std = s.m2.iter().map(|m2| (m2 / s.count).sqrt()).collect();
            (s.mean, std)
        }
    }
}

/// Standardises the columns of x (n, d) in place.
///
/// The shift and scale are applied in f64: in f32, `1 / std` overflows for columns of
/// subnormal spread and `x - mean` for values near f32's range, while the standardised
/// values themselves (at most sqrt(n) in magnitude) always fit.
pub(super) fn standardize(x: &mut [f32], d: usize) {
    let (shift, std) = column_stats(x, d);
    let factor: Vec<f64> = shift
        .iter()
        .zip(&std)
        .map(|(&m, &s)| {
            if s > 0.0 && s > f32::EPSILON as f64 * m.abs() {
                1.0 / s
            } else {
                1.0
            }
        })
        .collect();
    x.par_chunks_mut(STAT_ROWS * d).for_each(|block| {
        for row in block.chunks_exact_mut(d) {
            for ((v, &m), &f) in row.iter_mut().zip(&shift).zip(&factor) {
                *v = ((*v as f64 - m) * f) as f32;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass_statistics() {
        let (n, d) = (1000, 3);
        let x: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.01 + (i % d) as f32 * 100.0)
            .collect();
        let (mean, std) = column_stats(&x, d);
        for c in 0..d {
            let col: Vec<f64> = (0..n).map(|i| x[i * d + c] as f64).collect();
            let m = col.iter().sum::<f64>() / n as f64;
            let v = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
            assert!((mean[c] - m).abs() < 1e-9 * m.abs().max(1.0));
            assert!((std[c] - v.sqrt()).abs() < 1e-9);
        }
        let mut y = x.clone();
        standardize(&mut y, d);
        let (mean, std) = column_stats(&y, d);
        for c in 0..d {
            assert!(mean[c].abs() < 1e-5, "{}", mean[c]);
            assert!((std[c] - 1.0).abs() < 1e-5, "{}", std[c]);
        }
    }

    #[test]
    fn constant_columns_are_only_centred() {
        let mut x = vec![2.0f32, 1.0, 2.0, 3.0, 2.0, 5.0];
        standardize(&mut x, 2);
        assert_eq!([x[0], x[2], x[4]], [0.0, 0.0, 0.0]);
        let mut empty: Vec<f32> = vec![];
        standardize(&mut empty, 4);
    }
}
