//! A uniform grid of bins over the source mesh: each bin lists the elements whose
//! (slightly widened) bounding box overlaps it. The elements are stored sorted by the
//! bin of their centroid, so that the elements a search reads are close in memory;
//! ties are broken by their input index.

// Index loops mirror the formulas (several arrays indexed by the same axis i).
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::simplex::{box_margin, clamp_normalise, Simplices, Weights, TOL};
use crate::{memory, KernelError};

/// Bin-list entries allowed per source element (plus a constant) before a mesh is taken
/// for overlapping: a valid mesh, even of stretched elements, stays far below.
const MAX_BINS_PER_ELEMENT: usize = 256;

/// Aim for about this many bins per element.
const BINS_PER_ELEMENT: f64 = 1.0;

pub(super) struct Grid<const D: usize> {
    lo: [f64; D],
    hi: [f64; D],
    width: [f64; D],
    inv_width: [f64; D],
    n: [usize; D],
    /// CSR over bins (row-major, last axis fastest): `items[offsets[b]..offsets[b + 1]]`,
    /// the (stored) indices of the elements overlapping bin b.
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl<const D: usize> Grid<D> {
    /// The grid over the mesh `(points, cells)` (checked indices) and its elements,
    /// stored in the order of the bins of their centroids.
    pub fn build<'a>(
        points: &'a [f64],
        cells: &[[usize; 4]],
    ) -> Result<(Self, Simplices<'a, D>), KernelError> {
        let m = cells.len();
        if u32::try_from(m).is_err() {
            return Err(KernelError::shape(format!(
                "src_cells has {m} rows, more than the 2^32 - 1 supported"
            )));
        }
        let vertex = |v: usize, i: usize| points[v * D + i];
        let (mut lo, mut hi) = cells
            .par_iter()
            .with_min_len(1024)
            .fold(
                || ([f64::INFINITY; D], [f64::NEG_INFINITY; D]),
                |(mut lo, mut hi), cell| {
                    for &v in &cell[..=D] {
                        for i in 0..D {
                            lo[i] = lo[i].min(vertex(v, i));
                            hi[i] = hi[i].max(vertex(v, i));
                        }
                    }
                    (lo, hi)
                },
            )
            .reduce(
                || ([f64::INFINITY; D], [f64::NEG_INFINITY; D]),
                |a, b| {
                    (
                        std::array::from_fn(|i| a.0[i].min(b.0[i])),
                        std::array::from_fn(|i| a.1[i].max(b.1[i])),
                    )
                },
            );
        // Wide enough for every element's widened box.
        let margin = 2.0 * box_margin(&lo, &hi);
        for i in 0..D {
            lo[i] -= margin;
            hi[i] += margin;
        }
        let extent: [f64; D] = std::array::from_fn(|i| hi[i] - lo[i]);
        // Cubic bins of side h with about m * BINS_PER_ELEMENT of them; widen h while
        // a very flat box would make far more.
        let target = (m as f64 * BINS_PER_ELEMENT).max(1.0);
        // In logs: the product of tiny (or huge) extents under- or overflows.
        let log_volume: f64 = extent.iter().map(|e| e.ln()).sum();
        let mut h = ((log_volume - target.ln()) / D as f64).exp();
        if !(h > 0.0 && h.is_finite()) {
            // A flat or degenerate box (an extent of 0): size the bins by the longest side.
            let longest = extent.iter().cloned().fold(0.0f64, f64::max);
            h = if longest > 0.0 && longest.is_finite() {
                longest / target.powf(1.0 / D as f64)
            } else {
                1.0
            };
        }
        let count = |h: f64| -> [usize; D] {
            std::array::from_fn(|i| ((extent[i] / h).ceil() as usize).clamp(1, 1 << 20))
        };
        let mut n = count(h);
        while n.iter().map(|&k| k as f64).product::<f64>() > 4.0 * target + 64.0 {
            h *= 1.5;
            n = count(h);
        }
        let mut grid = Grid {
            lo,
            hi,
            width: std::array::from_fn(|i| extent[i] / n[i] as f64),
            inv_width: std::array::from_fn(|i| n[i] as f64 / extent[i]),
            n,
            offsets: Vec::new(),
            items: Vec::new(),
        };
        // Elements sorted by the bin of their centroid.
        let order = grid.counting_sort(m, |e| {
            let cell = &cells[e];
            std::array::from_fn(|i| {
                cell[..=D].iter().map(|&v| vertex(v, i)).sum::<f64>() / (D + 1) as f64
            })
        });
        let s = Simplices::new(points, cells, order)?;
        grid.fill(&s)?;
        Ok((grid, s))
    }

    /// The items `0..count` sorted by the bin of their point `at(item)`, stably
    /// (a counting sort; points outside the grid count in the nearest bin).
    pub fn counting_sort(&self, count: usize, at: impl Fn(usize) -> [f64; D] + Sync) -> Vec<usize> {
        let keys: Vec<usize> = (0..count)
            .into_par_iter()
            .with_min_len(1024)
            .map(|k| self.flat(&self.bin_of(&at(k))))
            .collect();
        let nbins: usize = self.n.iter().product();
        let mut start = vec![0usize; nbins + 1];
        for &b in &keys {
            start[b + 1] += 1;
        }
        for b in 0..nbins {
            start[b + 1] += start[b];
        }
        let mut order = vec![0usize; count];
        for (k, &b) in keys.iter().enumerate() {
            order[start[b]] = k;
            start[b] += 1;
        }
        order
    }

    /// Lists every element in the bins its box overlaps (in stored order).
    fn fill(&mut self, s: &Simplices<D>) -> Result<(), KernelError> {
        let ranges: Vec<([usize; D], [usize; D])> = s
            .boxes
            .par_iter()
            .with_min_len(1024)
            .map(|(blo, bhi)| (self.bin_of(blo), self.bin_of(bhi)))
            .collect();
        // The bin lists hold one entry per (element, bin its box meets): O(m) for a mesh,
        // O(m^2) in time and memory for heavily overlapping or degenerate elements, which
        // are refused before any work.
        let entries = ranges
            .iter()
            .map(|(blo, bhi)| (0..D).fold(1usize, |a, i| a.saturating_mul(bhi[i] - blo[i] + 1)))
            .fold(0usize, usize::saturating_add);
        let m = s.boxes.len();
        if entries
            > MAX_BINS_PER_ELEMENT
                .saturating_mul(m)
                .saturating_add(1 << 20)
        {
            return Err(KernelError::value(format!(
                "the {m} source elements' bounding boxes meet {entries} grid bins ({:.0} per \
                 element): the mesh has overlapping or extremely stretched elements",
                entries as f64 / m as f64
            )));
        }
        memory::ensure_available(
            &format!("the bin lists of {m} elements"),
            memory::bytes_of("bin lists", entries, std::mem::size_of::<u32>())?,
        )?;
        let nbins: usize = self.n.iter().product();
        let mut offsets = vec![0usize; nbins + 1];
        for (blo, bhi) in &ranges {
            self.for_each_bin(*blo, *bhi, |b| offsets[b + 1] += 1);
        }
        for b in 0..nbins {
            offsets[b + 1] += offsets[b];
        }
        let mut next = offsets.clone();
        let mut items = vec![0u32; offsets[nbins]];
        for (k, (blo, bhi)) in ranges.iter().enumerate() {
            self.for_each_bin(*blo, *bhi, |b| {
                items[next[b]] = k as u32;
                next[b] += 1;
            });
        }
        self.offsets = offsets;
        self.items = items;
        Ok(())
    }

    /// Bin index along axis i of coordinate x, clamped to the grid (monotone in x).
    #[inline]
    fn axis_bin(&self, i: usize, x: f64) -> usize {
        // `as` truncates, which is floor for t >= 0 (and saturates; NaN gives 0).
        let t = (x - self.lo[i]) * self.inv_width[i];
        if t >= 0.0 {
            (t as usize).min(self.n[i] - 1)
        } else {
            0
        }
    }

    #[inline]
    fn bin_of(&self, x: &[f64; D]) -> [usize; D] {
        std::array::from_fn(|i| self.axis_bin(i, x[i]))
    }

    #[inline]
    fn flat(&self, b: &[usize; D]) -> usize {
        let mut f = 0;
        for i in 0..D {
            f = f * self.n[i] + b[i];
        }
        f
    }

    /// Calls `f` on the flat index of every bin in the box `lo..=hi` (per axis).
    fn for_each_bin(&self, lo: [usize; D], hi: [usize; D], mut f: impl FnMut(usize)) {
        let mut b = lo;
        loop {
            f(self.flat(&b));
            let mut i = D;
            loop {
                if i == 0 {
                    return;
                }
                i -= 1;
                if b[i] < hi[i] {
                    b[i] += 1;
                    break;
                }
                b[i] = lo[i];
            }
        }
    }

    #[inline]
    fn bin_items(&self, flat: usize) -> &[u32] {
        &self.items[self.offsets[flat]..self.offsets[flat + 1]]
    }

    /// The element of lowest input index that contains `p` within the barycentric tolerance
    /// (its stored index),
    /// with the clamped, normalised barycentric coordinates of `p` there.
    pub fn locate_inside(&self, s: &Simplices<D>, p: &[f64; D]) -> Option<(usize, Weights)> {
        if (0..D).any(|i| !(p[i] >= self.lo[i] && p[i] <= self.hi[i])) {
            return None;
        }
        let b = self.flat(&self.bin_of(p));
        // (input index, stored index, barycentric coordinates)
        let mut best: Option<(usize, usize, Weights)> = None;
        for &e in self.bin_items(b) {
            let e = e as usize;
            let l = s.barycentric(e, p);
            if l[..=D].iter().all(|&x| x >= -TOL) && best.is_none_or(|b| s.original[e] < b.0) {
                best = Some((s.original[e], e, l));
            }
        }
        best.map(|(_, e, l)| (e, clamp_normalise::<D>(&l)))
    }

    /// The nearest element to `p` (smallest distance, then lowest input index) and the
    /// barycentric coordinates of its closest point, for a point inside no element (its
    /// stored index).
    /// Searches rings of bins around `p`'s bin until no unseen element can be nearer.
    pub fn nearest(&self, s: &Simplices<D>, p: &[f64; D]) -> (usize, Weights) {
        let c = self.bin_of(p);
        // (squared distance, input index, stored index, weights)
        let mut best = (f64::INFINITY, usize::MAX, 0, [0.0; 4]);
        for r in 0usize.. {
            self.for_each_ring_bin(&c, r, |b| {
                for &e in self.bin_items(b) {
                    let e = e as usize;
                    let id = s.original[e];
                    let (blo, bhi) = &s.boxes[e];
                    let lb: f64 = (0..D)
                        .map(|i| {
                            let g = (blo[i] - p[i]).max(p[i] - bhi[i]).max(0.0);
                            g * g
                        })
                        .sum();
                    if lb > best.0 || (lb == best.0 && id >= best.1) {
                        continue;
                    }
                    let (d2, w) = s.closest(e, p);
                    if d2 < best.0 || (d2 == best.0 && id < best.1) {
                        best = (d2, id, e, w);
                    }
                }
            });
            match self.unseen_distance(p, &c, r) {
                None => break,
                Some(lb) if best.0 < lb * lb => break,
                _ => {}
            }
        }
        (best.2, best.3)
    }

    /// Calls `f` on every bin at Chebyshev distance exactly `r` from bin `c`.
    fn for_each_ring_bin(&self, c: &[usize; D], r: usize, mut f: impl FnMut(usize)) {
        let range = |i: usize, reach: usize| -> (usize, usize) {
            (
                c[i].saturating_sub(reach),
                (c[i] + reach).min(self.n[i] - 1),
            )
        };
        if r == 0 {
            f(self.flat(c));
            return;
        }
        // Split the ring by the first axis a at distance r: axes before a are at
        // distance < r, axes after a anywhere within r.
        for a in 0..D {
            let mut lo = [0; D];
            let mut hi = [0; D];
            for i in 0..D {
                (lo[i], hi[i]) = range(i, if i < a { r - 1 } else { r });
            }
            for side in [c[a].checked_sub(r), Some(c[a] + r)] {
                if let Some(x) = side.filter(|&x| x < self.n[a]) {
                    lo[a] = x;
                    hi[a] = x;
                    self.for_each_bin(lo, hi, &mut f);
                }
            }
        }
    }

    /// A lower bound on the distance from `p` to any point in the grid outside the
    /// bins within Chebyshev distance `r` of `c`; None when those cover the grid.
    fn unseen_distance(&self, p: &[f64; D], c: &[usize; D], r: usize) -> Option<f64> {
        let mut lb = f64::INFINITY;
        for i in 0..D {
            // Slack for the rounding of the bin faces.
            let slack = 1e-12 * (self.hi[i] - self.lo[i]) + 1e-15 * self.lo[i].abs();
            if c[i] > r {
                let face = self.lo[i] + (c[i] - r) as f64 * self.width[i];
                lb = lb.min(p[i] - face - slack);
            }
            if c[i] + r + 1 < self.n[i] {
                let face = self.lo[i] + (c[i] + r + 1) as f64 * self.width[i];
                lb = lb.min(face - p[i] - slack);
            }
        }
        lb.is_finite().then(|| lb.max(0.0))
    }
}
