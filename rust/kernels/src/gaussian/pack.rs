//! Neighbour search for the embedding: a uniform cell grid over the points' bounding box,
//! the points grouped by cell, and for each cell a packed copy of the Gaussians whose
//! cutoff box `mu_k ± c sigma_k` overlaps it.
//!
//! Built anew on every call (means and sigmas move every training step), in time linear
//! in N, K and the number of packed entries. The cell width is a quarter of the median
//! cutoff-box width, so a typical Gaussian is packed into about 5^d cells and a point
//! tests about (5/4)^d times the Gaussians that truly reach it; a grid that would pack
//! more than a budget of entries (a few very wide Gaussians) is coarsened until it fits.
//!
//! Packed entries are structure-of-arrays (`mu[j * E + e]`), grouped into runs that feed
//! one block of channels and are padded to a multiple of [`LANES`] with inert entries
//! (weight 0, inverse sigma 0, id K), so that the inner loops run over whole lanes and
//! vectorise. Within a cell (and channel block), entries are sorted by their standardised
//! distance to the cell's centre, ties by Gaussian index: sums come out in an order fixed
//! by the inputs, whatever the thread count.

use super::{Gaussians, Layout};
use crate::Real;

/// Entries processed together by the inner loops.
pub(super) const LANES: usize = 8;

/// Packed entries never exceed this many per point and Gaussian (plus a floor).
const ENTRIES_PER_ITEM: usize = 32;
const MIN_ENTRY_BUDGET: usize = 1 << 16;
/// Cells never exceed this many per point and Gaussian (plus a floor).
const CELLS_PER_ITEM: usize = 2;
const MIN_CELL_CAP: usize = 1024;
/// The cell width, as a fraction of the median cutoff-box width.
const CELLS_PER_BOX: f64 = 4.0;

/// A run of packed entries `start .. start + len` (len a multiple of LANES) that feed the
/// channels `first_channel .. first_channel + slots`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run {
    pub start: usize,
    pub len: usize,
    pub first_channel: usize,
}

pub(super) struct Packed<T> {
    pub dim: usize,
    /// Weights per entry: F (shared layout) or 1 (per channel).
    pub slots: usize,
    /// Total packed entries E (padding included).
    pub entries: usize,
    /// Gaussian of each entry; K for padding.
    pub ids: Vec<u32>,
    /// (d, E)
    pub mu: Vec<T>,
    /// (d, E): 1 / sigma
    pub inv_sigma: Vec<T>,
    /// (slots, E)
    pub w: Vec<T>,
    pub runs: Vec<Run>,
    /// The runs of cell c are `runs[run_start[c]..run_start[c + 1]]`.
    pub run_start: Vec<usize>,
    /// The points of cell c are `point_order[point_start[c]..point_start[c + 1]]`.
    pub point_start: Vec<usize>,
    pub point_order: Vec<u32>,
}

impl<T> Packed<T> {
    pub fn cells(&self) -> usize {
        self.point_start.len() - 1
    }

    /// The entry range `start..end` of cell c (its runs are contiguous).
    pub fn cell_entries(&self, c: usize) -> std::ops::Range<usize> {
        let runs = &self.runs[self.run_start[c]..self.run_start[c + 1]];
        match (runs.first(), runs.last()) {
            (Some(a), Some(b)) => a.start..b.start + b.len,
            _ => 0..0,
        }
    }
}

/// The cell geometry: a box split uniformly into `cells[j]` cells per dimension.
struct Grid {
    lo: Vec<f64>,
    inv_h: Vec<f64>,
    cells: Vec<usize>,
}

impl Grid {
    fn single(dim: usize) -> Self {
        Grid {
            lo: vec![0.0; dim],
            inv_h: vec![0.0; dim],
            cells: vec![1; dim],
        }
    }

    fn new(lo: Vec<f64>, hi: &[f64], cells: Vec<usize>) -> Self {
        let inv_h = (0..lo.len())
            .map(|j| {
                let extent = hi[j] - lo[j];
                if extent > 0.0 {
                    cells[j] as f64 / extent
                } else {
                    0.0
                }
            })
            .collect();
        Grid { lo, inv_h, cells }
    }

    /// The centre of cell `c` (flat index, first dimension fastest).
    fn cell_center(&self, mut c: usize) -> Vec<f64> {
        (0..self.cells.len())
            .map(|j| {
                let idx = c % self.cells[j];
                c /= self.cells[j];
                if self.inv_h[j] > 0.0 {
                    self.lo[j] + (idx as f64 + 0.5) / self.inv_h[j]
                } else {
                    self.lo[j]
                }
            })
            .collect()
    }

    fn total(&self) -> usize {
        self.cells.iter().product()
    }

    #[inline]
    fn coord_cell(&self, j: usize, v: f64) -> usize {
        let t = (v - self.lo[j]) * self.inv_h[j];
        if t > 0.0 {
            (t as usize).min(self.cells[j] - 1)
        } else {
            0
        }
    }

    fn point_cell<T: Real>(&self, p: &[T]) -> usize {
        let mut cell = 0;
        for j in (0..p.len()).rev() {
            cell = cell * self.cells[j] + self.coord_cell(j, p[j].to_f64());
        }
        cell
    }

    /// The cell box `(first, last)` per dimension that Gaussian k's cutoff box covers.
    fn gaussian_cells<T: Real>(
        &self,
        g: &Gaussians<'_, T>,
        k: usize,
        c: f64,
    ) -> Vec<(usize, usize)> {
        let d = g.dim;
        (0..d)
            .map(|j| {
                let m = g.mu[k * d + j].to_f64();
                let e = c * g.sigma[k * d + j].to_f64();
                (self.coord_cell(j, m - e), self.coord_cell(j, m + e))
            })
            .collect()
    }

    /// Calls `f` with the flat index (first dimension fastest) of every cell in `range`.
    fn for_each_cell(&self, range: &[(usize, usize)], mut f: impl FnMut(usize)) {
        let d = self.cells.len();
        let mut idx: Vec<usize> = range.iter().map(|r| r.0).collect();
        loop {
            let mut cell = 0;
            for j in (0..d).rev() {
                cell = cell * self.cells[j] + idx[j];
            }
            f(cell);
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
}

/// Packs the Gaussians for the points `x` (N, d); `cutoff = None` puts every Gaussian in
/// one cell with every point.
pub(super) fn pack<T: Real>(x: &[T], g: &Gaussians<'_, T>, cutoff: Option<f64>) -> Packed<T> {
    let d = g.dim;
    let n = x.len() / d;
    let k = g.len();
    let (grid, mut members) = match cutoff {
        Some(c) if n > 0 && k > 0 => cutoff_grid(x, g, c),
        _ => (Grid::single(d), vec![(0..k as u32).collect::<Vec<u32>>()]),
    };

    // Points grouped by cell (counting sort, stable).
    let ncells = grid.total();
    let point_cells: Vec<usize> = x.chunks_exact(d).map(|p| grid.point_cell(p)).collect();
    let mut point_start = vec![0usize; ncells + 1];
    for &c in &point_cells {
        point_start[c + 1] += 1;
    }
    for c in 0..ncells {
        point_start[c + 1] += point_start[c];
    }
    let mut cursor = point_start.clone();
    let mut point_order = vec![0u32; n];
    for (i, &c) in point_cells.iter().enumerate() {
        point_order[cursor[c]] = i as u32;
        cursor[c] += 1;
    }

    // Runs: per cell with points, one run (shared) or one per channel block (per channel).
    let per_block = match g.layout {
        Layout::Shared { .. } => usize::MAX,
        Layout::PerChannel { channels } => (k / channels.max(1)).max(1),
    };
    if cutoff.is_some() {
        // Nearest Gaussians first, so that lanes of entries tend to be all inside or all
        // outside the cutoff for the cell's points, and whole lanes are skipped.
        for (c, list) in members.iter_mut().enumerate() {
            if point_start[c + 1] > point_start[c] && list.len() > LANES {
                let center = grid.cell_center(c);
                let mut keyed: Vec<(usize, f64, u32)> = list
                    .iter()
                    .map(|&kk| {
                        let kq = kk as usize;
                        let dist: f64 = (0..d)
                            .map(|j| {
                                let t = (center[j] - g.mu[kq * d + j].to_f64())
                                    / g.sigma[kq * d + j].to_f64();
                                t * t
                            })
                            .sum();
                        (kq / per_block, dist, kk)
                    })
                    .collect();
                keyed.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2))
                });
                list.clear();
                list.extend(keyed.iter().map(|t| t.2));
            }
        }
    }
    let mut runs = Vec::new();
    let mut run_start = vec![0usize; ncells + 1];
    let mut run_members: Vec<&[u32]> = Vec::new();
    let mut entries = 0usize;
    for c in 0..ncells {
        if point_start[c + 1] > point_start[c] {
            let list = &members[c.min(members.len() - 1)];
            for block in list.chunk_by(|a, b| *a as usize / per_block == *b as usize / per_block) {
                let first_channel = match g.layout {
                    Layout::Shared { .. } => 0,
                    Layout::PerChannel { .. } => block[0] as usize / per_block,
                };
                let len = block.len().div_ceil(LANES) * LANES;
                runs.push(Run {
                    start: entries,
                    len,
                    first_channel,
                });
                run_members.push(block);
                entries += len;
            }
        }
        run_start[c + 1] = runs.len();
    }

    // Structure-of-arrays copies of the Gaussians, padded with inert entries.
    let slots = match g.layout {
        Layout::Shared { channels } => channels,
        Layout::PerChannel { .. } => 1,
    };
    let mut packed = Packed {
        dim: d,
        slots,
        entries,
        ids: vec![k as u32; entries],
        mu: vec![T::ZERO; d * entries],
        inv_sigma: vec![T::ZERO; d * entries],
        w: vec![T::ZERO; slots * entries],
        runs,
        run_start,
        point_start,
        point_order,
    };
    for (run, block) in packed.runs.iter().zip(&run_members) {
        for (e, &kk) in (run.start..).zip(block.iter()) {
            let kk = kk as usize;
            packed.ids[e] = kk as u32;
            for j in 0..d {
                packed.mu[j * entries + e] = g.mu[kk * d + j];
                packed.inv_sigma[j * entries + e] = T::ONE / g.sigma[kk * d + j];
            }
            match g.layout {
                Layout::Shared { channels } => {
                    for m in 0..channels {
                        packed.w[m * entries + e] = g.weights[kk * channels + m];
                    }
                }
                Layout::PerChannel { .. } => packed.w[e] = g.weights[kk],
            }
        }
    }
    packed
}

/// The grid for cutoff `c` and, per cell, the Gaussians whose cutoff box overlaps it.
fn cutoff_grid<T: Real>(x: &[T], g: &Gaussians<'_, T>, c: f64) -> (Grid, Vec<Vec<u32>>) {
    let d = g.dim;
    let n = x.len() / d;
    let (lo, hi) = bounding_box(x, d);
    let reaches = |k: usize| {
        (0..d).all(|j| {
            let m = g.mu[k * d + j].to_f64();
            let e = c * g.sigma[k * d + j].to_f64();
            m + e >= lo[j] && m - e <= hi[j]
        })
    };
    let kept: Vec<usize> = (0..g.len()).filter(|&k| reaches(k)).collect();
    if kept.is_empty() {
        return (Grid::single(d), vec![Vec::new()]);
    }

    let mut cells = initial_cells(&kept, g, c, &lo, &hi, n);
    let budget = (ENTRIES_PER_ITEM * (n + kept.len())).max(MIN_ENTRY_BUDGET);
    let grid = loop {
        let grid = Grid::new(lo.clone(), &hi, cells.clone());
        let entries: usize = kept
            .iter()
            .map(|&k| {
                grid.gaussian_cells(g, k, c)
                    .iter()
                    .map(|r| r.1 - r.0 + 1)
                    .product::<usize>()
            })
            .sum();
        if entries <= budget || grid.total() == 1 {
            break grid;
        }
        // Too many entries (some Gaussians are far wider than the median): coarsen.
        cells = cells.iter().map(|&v| (v * 2 / 3).max(1)).collect();
    };

    let mut members = vec![Vec::new(); grid.total()];
    for &k in &kept {
        let range = grid.gaussian_cells(g, k, c);
        grid.for_each_cell(&range, |cell| members[cell].push(k as u32));
    }
    (grid, members)
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

/// Cells per dimension: CELLS_PER_BOX per median cutoff-box width, capped in total.
fn initial_cells<T: Real>(
    kept: &[usize],
    g: &Gaussians<'_, T>,
    c: f64,
    lo: &[f64],
    hi: &[f64],
    n: usize,
) -> Vec<usize> {
    let d = g.dim;
    let mut cells: Vec<f64> = (0..d)
        .map(|j| {
            let extent = hi[j] - lo[j];
            if extent <= 0.0 {
                return 1.0;
            }
            let mut widths: Vec<f64> = kept
                .iter()
                .map(|&k| 2.0 * c * g.sigma[k * d + j].to_f64())
                .collect();
            let mid = widths.len() / 2;
            let (_, median, _) = widths.select_nth_unstable_by(mid, f64::total_cmp);
            (CELLS_PER_BOX * extent / *median).clamp(1.0, 1e9)
        })
        .collect();
    let cap = (CELLS_PER_ITEM * (n + kept.len())).max(MIN_CELL_CAP) as f64;
    let total: f64 = cells.iter().product();
    if total > cap {
        let active = cells.iter().filter(|&&v| v > 1.0).count().max(1) as f64;
        let shrink = (total / cap).powf(1.0 / active);
        for v in cells.iter_mut() {
            *v = (*v / shrink).max(1.0);
        }
    }
    cells.iter().map(|&v| v.floor() as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussians<'a>(
        mu: &'a [f64],
        sigma: &'a [f64],
        w: &'a [f64],
        dim: usize,
    ) -> Gaussians<'a, f64> {
        Gaussians {
            dim,
            mu,
            sigma,
            weights: w,
            layout: Layout::Shared { channels: 1 },
        }
    }

    #[test]
    fn every_pair_within_the_cutoff_box_is_packed_once() {
        let dim = 2;
        let x: Vec<f64> = (0..200)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect();
        let mu: Vec<f64> = (0..60)
            .map(|i| ((i * 13 % 61) as f64) / 30.0 - 1.0)
            .collect();
        let sigma: Vec<f64> = (0..60).map(|i| 0.02 + 0.01 * (i % 7) as f64).collect();
        let w = vec![1.0; 30];
        let c = 3.0;
        let p = pack(&x, &gaussians(&mu, &sigma, &w, dim), Some(c));
        for cell in 0..p.cells() {
            let ids = &p.ids[p.cell_entries(cell)];
            for &i in &p.point_order[p.point_start[cell]..p.point_start[cell + 1]] {
                let pt = &x[i as usize * dim..(i as usize + 1) * dim];
                for k in 0..30 {
                    let inside =
                        (0..dim).all(|j| (pt[j] - mu[k * dim + j]).abs() <= c * sigma[k * dim + j]);
                    let listed = ids.iter().filter(|&&g| g as usize == k).count();
                    assert!(listed <= 1);
                    if inside {
                        assert_eq!(listed, 1, "pair missed: point {pt:?}, Gaussian {k}");
                    }
                }
            }
        }
        assert_eq!(p.point_order.len(), 100);
        assert!(p.runs.iter().all(|r| r.len % LANES == 0));
    }

    #[test]
    fn a_few_wide_gaussians_stay_within_the_entry_budget() {
        let x: Vec<f64> = (0..4000).map(|i| i as f64 / 4000.0).collect();
        let mut mu: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let mut sigma = vec![1e-4; 1000];
        mu.push(0.5);
        sigma.push(100.0);
        let w = vec![1.0; 1001];
        let p = pack(&x, &gaussians(&mu, &sigma, &w, 1), Some(6.0));
        assert!(p.entries <= ENTRIES_PER_ITEM * 5001 + LANES * p.runs.len());
        // The wide Gaussian reaches every cell that has points.
        let cells_with_points = (0..p.cells())
            .filter(|&c| p.point_start[c + 1] > p.point_start[c])
            .count();
        assert_eq!(
            p.ids.iter().filter(|&&g| g == 1000).count(),
            cells_with_points
        );
    }
}
