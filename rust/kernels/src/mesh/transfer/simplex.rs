//! The source elements: affine maps to barycentric coordinates, bounding boxes, and the
//! closest point of an element to a point outside it.

// Index loops mirror the formulas (several arrays indexed by the same k).
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use crate::KernelError;

/// Barycentric tolerance: a point is inside an element when all its barycentric
/// coordinates there are >= -TOL.
pub(super) const TOL: f64 = 1e-12;

/// An element is degenerate when |det J| <= DEGENERATE * prod_j |e_j|, with e_j = v_j - v_0
/// the columns of J (the volume against the largest one its edges from v_0 allow).
pub(super) const DEGENERATE: f64 = 1e-12;

/// Relative margin of the element bounding boxes: much wider than what TOL lets a
/// point stray outside an element, so every element that contains a point within TOL
/// has a box that contains the point.
const BOX_MARGIN: f64 = 1e-9;

/// Up to 4 vertices (D + 1 used) and their weights.
pub(super) type Weights = [f64; 4];

/// The affine map of one element to its barycentric coordinates, on one cache line
/// in 2D (two in 3D): point location reads nothing else.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Affine<const D: usize> {
    /// Vertex 0.
    origin: [f64; D],
    /// J^-1, J = [v_1 - v_0, ..., v_D - v_0]: row k is the gradient of lambda_{k+1}.
    inverse: [[f64; D]; D],
}

/// An axis-aligned box (lo, hi).
pub(super) type Aabb<const D: usize> = ([f64; D], [f64; D]);

/// The elements of a mesh in dimension D, ready for point location, stored in the
/// order a [`super::grid::Grid`] chose (`original` maps back to the input order).
pub(super) struct Simplices<'a, const D: usize> {
    /// Vertex coordinates (N, D).
    points: &'a [f64],
    /// Global vertex indices, D + 1 used.
    pub cells: Vec<[usize; 4]>,
    /// The input index of each stored element.
    pub original: Vec<usize>,
    affine: Vec<Affine<D>>,
    /// Bounding boxes, widened by a margin (see [`BOX_MARGIN`]).
    pub boxes: Vec<Aabb<D>>,
}

fn norm<const D: usize>(v: &[f64; D]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The vertices of a cell (D + 1 used).
#[inline]
fn vertices<const D: usize>(points: &[f64], cell: &[usize; 4]) -> [[f64; D]; 4] {
    let mut v = [[0.0; D]; 4];
    for k in 0..=D {
        v[k].copy_from_slice(&points[cell[k] * D..cell[k] * D + D]);
    }
    v
}

/// One element: its affine map and widened box, and whether it has a nonzero measure.
fn element<const D: usize>(points: &[f64], cell: &[usize; 4]) -> (bool, (Affine<D>, Aabb<D>)) {
    let v = vertices::<D>(points, cell);
    let mut cols = [[0.0; D]; D];
    for j in 0..D {
        for i in 0..D {
            cols[j][i] = v[j + 1][i] - v[0][i];
        }
    }
    let (det, inverse) = invert(&cols);
    let scale: f64 = cols.iter().map(norm).product();
    let ok = det.is_finite() && det.abs() > DEGENERATE * scale;
    let (mut lo, mut hi) = (v[0], v[0]);
    for k in 1..=D {
        for i in 0..D {
            lo[i] = lo[i].min(v[k][i]);
            hi[i] = hi[i].max(v[k][i]);
        }
    }
    let margin = box_margin(&lo, &hi);
    for i in 0..D {
        lo[i] -= margin;
        hi[i] += margin;
    }
    let affine = Affine {
        origin: v[0],
        inverse,
    };
    (ok, (affine, (lo, hi)))
}

/// How much the box (lo, hi) of an element is widened on every side.
pub(super) fn box_margin<const D: usize>(lo: &[f64; D], hi: &[f64; D]) -> f64 {
    let extent = (0..D).map(|i| hi[i] - lo[i]).fold(0.0, f64::max);
    let size = (0..D)
        .map(|i| lo[i].abs().max(hi[i].abs()))
        .fold(0.0, f64::max);
    BOX_MARGIN * extent + 1e-15 * size
}

impl<'a, const D: usize> Simplices<'a, D> {
    /// Precomputes the elements `cells[order[k]]` (checked indices into `points`
    /// (N, D)); errors on the degenerate element of lowest input index.
    pub fn new(
        points: &'a [f64],
        cells: &[[usize; 4]],
        order: Vec<usize>,
    ) -> Result<Self, KernelError> {
        let (ok, (affine, boxes)): (Vec<bool>, (Vec<_>, Vec<_>)) = order
            .par_iter()
            .with_min_len(1024)
            .map(|&e| element::<D>(points, &cells[e]))
            .unzip();
        let bad = (0..ok.len()).filter(|&k| !ok[k]).map(|k| order[k]).min();
        if let Some(e) = bad {
            return Err(KernelError::value(format!(
                "src_cells row {e} ({:?}) is a degenerate element (zero measure)",
                &cells[e][..=D]
            )));
        }
        Ok(Simplices {
            points,
            cells: order.iter().map(|&e| cells[e]).collect(),
            original: order,
            affine,
            boxes,
        })
    }

    /// Barycentric coordinates of `p` in element `e` (D + 1 used):
    /// `lambda_{k+1} = (J^-1 (p - v_0))_k`, `lambda_0 = 1 - lambda_1 - ... - lambda_D`.
    #[inline]
    pub fn barycentric(&self, e: usize, p: &[f64; D]) -> Weights {
        let Affine {
            origin: o,
            inverse: t,
        } = &self.affine[e];
        let mut dx = [0.0; D];
        for i in 0..D {
            dx[i] = p[i] - o[i];
        }
        let mut l = [0.0; 4];
        let mut l0 = 1.0;
        for k in 0..D {
            let mut acc = t[k][0] * dx[0];
            for j in 1..D {
                acc += t[k][j] * dx[j];
            }
            l[k + 1] = acc;
            l0 -= acc;
        }
        l[0] = l0;
        l
    }

    /// Squared distance from `p` to element `e` and the barycentric coordinates of the
    /// closest point, for a point outside the element: the closest point lies in the
    /// relative interior of a proper face, where it is the orthogonal projection of `p`
    /// onto that face's affine hull, so the answer is the nearest of the projections that
    /// fall inside their faces (vertices always do).
    pub fn closest(&self, e: usize, p: &[f64; D]) -> (f64, Weights) {
        let v = &vertices::<D>(self.points, &self.cells[e]);
        let mut best = (f64::INFINITY, [0.0; 4]);
        for mask in 1u32..(1 << (D + 1)) {
            let m = mask.count_ones() as usize;
            if m > D {
                continue;
            }
            let mut idx = [0usize; 3];
            let mut c = 0;
            for k in 0..=D {
                if mask & (1 << k) != 0 {
                    idx[c] = k;
                    c += 1;
                }
            }
            let a = &v[idx[0]];
            let Some(t) = project(a, &v[idx[1]], &v[idx[2]], m - 1, p) else {
                continue;
            };
            let mut q = *a;
            for j in 0..m - 1 {
                for i in 0..D {
                    q[i] += t[j] * (v[idx[j + 1]][i] - a[i]);
                }
            }
            let d2: f64 = (0..D).map(|i| (p[i] - q[i]) * (p[i] - q[i])).sum();
            if d2 < best.0 {
                let mut w = [0.0; 4];
                w[idx[0]] = 1.0 - t[..m - 1].iter().sum::<f64>();
                for j in 0..m - 1 {
                    w[idx[j + 1]] = t[j];
                }
                best = (d2, w);
            }
        }
        best
    }
}

/// The determinant and inverse of the matrix whose columns are `cols` (D = 2 or 3).
fn invert<const D: usize>(cols: &[[f64; D]; D]) -> (f64, [[f64; D]; D]) {
    let mut inv = [[0.0; D]; D];
    if D == 2 {
        let (a, c) = (cols[0][0], cols[0][1]);
        let (b, d) = (cols[1][0], cols[1][1]);
        let det = a * d - b * c;
        inv[0][0] = d / det;
        inv[0][1] = -b / det;
        inv[1][0] = -c / det;
        inv[1][1] = a / det;
        (det, inv)
    } else {
        // Row k of the inverse is (e_{k+1} x e_{k+2}) / det, indices mod 3.
        let cross = |a: &[f64; D], b: &[f64; D]| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let rows = [
            cross(&cols[1], &cols[2]),
            cross(&cols[2], &cols[0]),
            cross(&cols[0], &cols[1]),
        ];
        let e = &cols[0];
        let det = e[0] * rows[0][0] + e[1] * rows[0][1] + e[2] * rows[0][2];
        for k in 0..3 {
            for i in 0..3 {
                inv[k][i] = rows[k][i] / det;
            }
        }
        (det, inv)
    }
}

/// Coordinates t of the projection of `p` onto the affine hull of `a`, `a + e_1`, ...
/// (`m` <= 2 edge vectors `b - a`, `c - a`), when it lies in that face (t >= 0,
/// sum t <= 1); None otherwise.
#[inline]
fn project<const D: usize>(
    a: &[f64; D],
    b: &[f64; D],
    c: &[f64; D],
    m: usize,
    p: &[f64; D],
) -> Option<[f64; 2]> {
    let dot = |x: &dyn Fn(usize) -> f64, y: &dyn Fn(usize) -> f64| -> f64 {
        (0..D).map(|i| x(i) * y(i)).sum()
    };
    let e1 = |i: usize| b[i] - a[i];
    let e2 = |i: usize| c[i] - a[i];
    let r = |i: usize| p[i] - a[i];
    let t = match m {
        0 => return Some([0.0; 2]),
        1 => [dot(&r, &e1) / dot(&e1, &e1), 0.0],
        _ => {
            let (g00, g01, g11) = (dot(&e1, &e1), dot(&e1, &e2), dot(&e2, &e2));
            let (r0, r1) = (dot(&r, &e1), dot(&r, &e2));
            let det = g00 * g11 - g01 * g01;
            [(r0 * g11 - r1 * g01) / det, (g00 * r1 - g01 * r0) / det]
        }
    };
    let inside = t[..m].iter().all(|&x| x >= 0.0) && t[..m].iter().sum::<f64>() <= 1.0;
    inside.then_some(t)
}

/// Weights clamped to >= 0 and scaled to sum to 1 (D + 1 used).
#[inline]
pub(super) fn clamp_normalise<const D: usize>(l: &Weights) -> Weights {
    let mut w = [0.0; 4];
    let mut s = 0.0;
    for k in 0..=D {
        w[k] = l[k].max(0.0);
        s += w[k];
    }
    for k in 0..=D {
        w[k] /= s;
    }
    w
}
