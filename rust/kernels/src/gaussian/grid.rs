//! A uniform cell grid over the points' bounding box that lists, for each cell, the
//! Gaussians whose cutoff box `mu_k ± c sigma_k` overlaps it.
//!
//! Built anew on every call (means and sigmas move every training step) in
//! O(K 3^d + cells) time: the cell width is half the median cutoff-box width, so a
//! typical box covers about three cells per dimension. Gaussians whose box misses all
//! points are dropped; a Gaussian whose box would cover more cells than there are points
//! (a very wide one) goes to a `global` list that every point checks instead.
//!
//! Each Gaussian is listed either globally or in every cell it overlaps, and each point
//! lies in exactly one cell, so each point-Gaussian pair is visited at most once, in
//! ascending Gaussian order within each list: sums come out in a fixed order.

use crate::Real;

pub(super) struct GaussianGrid {
    dim: usize,
    lo: Vec<f64>,
    inv_h: Vec<f64>,
    cells_per_dim: Vec<usize>,
    /// CSR: the Gaussians of cell c are `items[start[c]..start[c + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
    global: Vec<u32>,
}

/// The grid never has more cells than this many per point or Gaussian (plus a floor).
const CELLS_PER_ITEM: usize = 2;
const MIN_CELL_CAP: usize = 1024;

impl GaussianGrid {
    /// Every Gaussian in the global list: the exact (no cutoff) mode.
    pub(super) fn all(dim: usize, k: usize) -> Self {
        GaussianGrid {
            dim,
            lo: vec![0.0; dim],
            inv_h: vec![0.0; dim],
            cells_per_dim: vec![1; dim],
            start: vec![0, 0],
            items: Vec::new(),
            global: (0..k as u32).collect(),
        }
    }

    /// Builds the grid for points `x` (N,d) and Gaussians (K,d) with cutoff `c`.
    pub(super) fn build<T: Real>(x: &[T], mu: &[T], sigma: &[T], dim: usize, c: f64) -> Self {
        let n = x.len() / dim;
        let k = mu.len() / dim;
        if n == 0 || k == 0 {
            return GaussianGrid::all(dim, 0);
        }
        let (lo, hi) = bounding_box(x, dim);

        // Gaussians whose cutoff box meets the points' bounding box.
        let reaches = |g: usize| {
            (0..dim).all(|j| {
                let m = mu[g * dim + j].to_f64();
                let e = c * sigma[g * dim + j].to_f64();
                m + e >= lo[j] && m - e <= hi[j]
            })
        };
        let kept: Vec<u32> = (0..k).filter(|&g| reaches(g)).map(|g| g as u32).collect();
        if kept.is_empty() {
            return GaussianGrid::all(dim, 0);
        }

        let cells_per_dim = choose_cells(&kept, sigma, dim, c, &lo, &hi, n);
        let inv_h: Vec<f64> = (0..dim)
            .map(|j| {
                let extent = hi[j] - lo[j];
                if extent > 0.0 {
                    cells_per_dim[j] as f64 / extent
                } else {
                    0.0
                }
            })
            .collect();
        let total_cells: usize = cells_per_dim.iter().product();
        let mut grid = GaussianGrid {
            dim,
            lo,
            inv_h,
            cells_per_dim,
            start: vec![0; total_cells + 1],
            items: Vec::new(),
            global: Vec::new(),
        };

        // Cell ranges of each kept Gaussian; too-wide ones go global.
        let mut ranges: Vec<(u32, Vec<(usize, usize)>)> = Vec::with_capacity(kept.len());
        for &g in &kept {
            let gi = g as usize;
            let range: Vec<(usize, usize)> = (0..dim)
                .map(|j| {
                    let m = mu[gi * dim + j].to_f64();
                    let e = c * sigma[gi * dim + j].to_f64();
                    (grid.coord_cell(j, m - e), grid.coord_cell(j, m + e))
                })
                .collect();
            let covered: usize = range.iter().map(|&(a, b)| b - a + 1).product();
            if covered > n {
                grid.global.push(g);
            } else {
                ranges.push((g, range));
            }
        }

        // Counting sort into CSR: count, prefix-sum, fill (ascending Gaussian order).
        let mut counts = vec![0u32; total_cells];
        for (_, range) in &ranges {
            grid.for_each_cell(range, |cell| counts[cell] += 1);
        }
        let mut acc = 0u32;
        for (cell, &count) in counts.iter().enumerate() {
            grid.start[cell] = acc;
            acc += count;
        }
        grid.start[total_cells] = acc;
        grid.items = vec![0; acc as usize];
        let mut cursor: Vec<u32> = grid.start[..total_cells].to_vec();
        for (g, range) in &ranges {
            let items = &mut grid.items;
            let dims = &grid.cells_per_dim;
            for_each_cell_in(dims, range, |cell| {
                items[cursor[cell] as usize] = *g;
                cursor[cell] += 1;
            });
        }
        grid
    }

    /// The Gaussians that may reach point `xi`: the global list and the point's cell list.
    #[inline]
    pub(super) fn candidates<T: Real>(&self, xi: &[T]) -> (&[u32], &[u32]) {
        let mut cell = 0usize;
        for j in (0..self.dim).rev() {
            cell = cell * self.cells_per_dim[j] + self.coord_cell(j, xi[j].to_f64());
        }
        let (a, b) = (self.start[cell] as usize, self.start[cell + 1] as usize);
        (&self.global, &self.items[a..b])
    }

    #[inline]
    fn coord_cell(&self, j: usize, v: f64) -> usize {
        let t = (v - self.lo[j]) * self.inv_h[j];
        if t <= 0.0 || t.is_nan() {
            0
        } else {
            (t as usize).min(self.cells_per_dim[j] - 1)
        }
    }

    fn for_each_cell(&self, range: &[(usize, usize)], f: impl FnMut(usize)) {
        for_each_cell_in(&self.cells_per_dim, range, f)
    }
}

/// Calls `f` with the flat index (first dimension fastest) of every cell in the box
/// `range[j].0 ..= range[j].1`.
fn for_each_cell_in(dims: &[usize], range: &[(usize, usize)], mut f: impl FnMut(usize)) {
    let d = dims.len();
    let mut idx: Vec<usize> = range.iter().map(|&(a, _)| a).collect();
    loop {
        let mut cell = 0usize;
        for j in (0..d).rev() {
            cell = cell * dims[j] + idx[j];
        }
        f(cell);
        // Odometer increment.
        let mut j = 0;
        loop {
            if j == d {
                return;
            }
            if idx[j] < range[j].1 {
                idx[j] += 1;
                break;
            }
            idx[j] = range[j].0;
            j += 1;
        }
    }
}

fn bounding_box<T: Real>(x: &[T], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![f64::INFINITY; dim];
    let mut hi = vec![f64::NEG_INFINITY; dim];
    for p in x.chunks_exact(dim) {
        for j in 0..dim {
            let v = p[j].to_f64();
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    }
    (lo, hi)
}

/// Cells per dimension: half the median cutoff-box width, capped in total.
fn choose_cells<T: Real>(
    kept: &[u32],
    sigma: &[T],
    dim: usize,
    c: f64,
    lo: &[f64],
    hi: &[f64],
    n: usize,
) -> Vec<usize> {
    let mut cells: Vec<f64> = (0..dim)
        .map(|j| {
            let extent = hi[j] - lo[j];
            if extent <= 0.0 {
                return 1.0;
            }
            let mut widths: Vec<f64> = kept
                .iter()
                .map(|&g| 2.0 * c * sigma[g as usize * dim + j].to_f64())
                .collect();
            let mid = widths.len() / 2;
            let (_, median, _) = widths.select_nth_unstable_by(mid, f64::total_cmp);
            (2.0 * extent / *median).clamp(1.0, 1e9)
        })
        .collect();
    let cap = (CELLS_PER_ITEM * (n + kept.len())).max(MIN_CELL_CAP) as f64;
    let total: f64 = cells.iter().product();
    if total > cap {
        // Shrink every dimension by the same factor (dimensions at 1 stay at 1).
        let active = cells.iter().filter(|&&v| v > 1.0).count().max(1) as f64;
        let shrink = (total / cap).powf(1.0 / active);
        for v in cells.iter_mut() {
            *v = (*v / shrink).max(1.0);
        }
    }
    cells.iter().map(|&v| v.floor().max(1.0) as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pair_within_the_cutoff_box_is_listed_once() {
        let dim = 2;
        let x: Vec<f64> = (0..200).map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0).collect();
        let mu: Vec<f64> = (0..60).map(|i| ((i * 13 % 61) as f64) / 30.0 - 1.0).collect();
        let sigma: Vec<f64> = (0..60).map(|i| 0.02 + 0.01 * (i % 7) as f64).collect();
        let c = 3.0;
        let grid = GaussianGrid::build(&x, &mu, &sigma, dim, c);
        for p in x.chunks_exact(dim) {
            let (global, cell) = grid.candidates(p);
            for k in 0..mu.len() / dim {
                let inside = (0..dim).all(|j| (p[j] - mu[k * dim + j]).abs() <= c * sigma[k * dim + j]);
                let listed = global.iter().chain(cell).filter(|&&g| g as usize == k).count();
                assert!(listed <= 1);
                if inside {
                    assert_eq!(listed, 1, "pair missed: point {p:?}, Gaussian {k}");
                }
            }
        }
    }

    #[test]
    fn wide_gaussians_go_global() {
        let x = vec![0.0f64, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
        let mu = vec![0.5f64, 0.1, 0.9];
        let sigma = vec![100.0f64, 0.001, 0.001];
        let grid = GaussianGrid::build(&x, &mu, &sigma, 1, 6.0);
        assert_eq!(grid.global, vec![0]);
    }
}
