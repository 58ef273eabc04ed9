//! Radial-basis-function (RBF) morphing: points move by a smooth displacement field that
//! takes given values at control points.
//!
//! # The maths
//!
//! With control points `c_j` (B, d), displacements `u_j` (B, d) and a radial kernel
//! `phi`, the displacement field is
//!
//! ```text
//! s(x) = sum_j w_j phi(|x - c_j|) + a_0 + A x            (thin-plate spline)
//! s(x) = sum_j w_j phi(|x - c_j|)                         (Wendland C2)
//! ```
//!
//! with `s(c_i) = u_i` for every i and, for the thin-plate spline, the side conditions
//! `sum_j w_j = 0`, `sum_j w_j c_j^T = 0`: one dense linear system of size `B + d + 1`
//! (LU with partial pivoting) or `B` (Cholesky: the Wendland kernel is positive
//! definite for d <= 3), solved once for all d components. The thin-plate spline
//! reproduces any affine displacement field exactly.
//!
//! Kernels: thin-plate spline `phi(r) = r^2 log r` in 2D and `phi(r) = r` (the
//! biharmonic kernel) in 3D; Wendland C2 `phi(r) = (1 - r/rho)^4_+ (4 r/rho + 1)` with
//! support radius `rho`. Wendland displacements vanish exactly farther than `rho` from
//! every control point, and are evaluated through a grid of cells of side `rho`, so
//! each point only visits the controls in its own and neighbouring cells.

use std::collections::HashMap;

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rayon::prelude::*;

use super::coordinate_rows;
use crate::{memory, KernelError};

/// The radial kernel of [`rbf_morph`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RbfKernel {
    /// Thin-plate spline (`r^2 log r` in 2D, `r` in 3D) with an affine part.
    ThinPlate,
    /// Wendland C2 with compact support of the given radius (> 0).
    Wendland {
        /// The support radius rho: the kernel is 0 from `r >= rho` on.
        support_radius: f64,
    },
}

/// Points handled by one parallel task.
const CHUNK: usize = 256;

/// The kernel value at squared distance `r2` in dimension `dim`.
#[inline]
pub fn kernel_value(kernel: RbfKernel, dim: usize, r2: f64) -> f64 {
    match kernel {
        RbfKernel::ThinPlate => {
            if dim == 2 {
                if r2 > 0.0 {
                    0.5 * r2 * r2.ln()
                } else {
                    0.0
                }
            } else {
                r2.sqrt()
            }
        }
        RbfKernel::Wendland { support_radius } => {
            let q = r2.sqrt() / support_radius;
            if q >= 1.0 {
                0.0
            } else {
                (1.0 - q).powi(4) * (4.0 * q + 1.0)
            }
        }
    }
}

/// `points + s(points)`, row-major (N, d): the points (N, d) moved by the RBF
/// displacement field that takes the values `control_displacements` (B, d) at
/// `control_points` (B, d). `dim` is d, 2 or 3.
///
/// Errors on bad shapes, non-finite values, a bad support radius, duplicate control
/// points, or a singular system (thin-plate spline with all controls on one line or
/// plane, or fewer than d + 1 controls).
pub fn rbf_morph(
    points: &[f64],
    control_points: &[f64],
    control_displacements: &[f64],
    dim: usize,
    kernel: RbfKernel,
) -> Result<Vec<f64>, KernelError> {
    let b = check(points, control_points, control_displacements, dim, kernel)?;
    let (weights, affine) = solve_weights(control_points, control_displacements, dim, b, kernel)?;
    let mut out = points.to_vec();
    match kernel {
        RbfKernel::ThinPlate => out.par_chunks_mut(CHUNK * dim).for_each(|rows| {
            for x in rows.chunks_exact_mut(dim) {
                let mut buf = [0.0f64; 3];
                buf[..dim].copy_from_slice(x);
                let p = &buf[..dim];
                let mut s = [0.0f64; 3];
                for (c, w) in control_points
                    .chunks_exact(dim)
                    .zip(weights.chunks_exact(dim))
                {
                    let phi = kernel_value(kernel, dim, dist2(p, c));
                    for k in 0..dim {
                        s[k] += w[k] * phi;
                    }
                }
                for k in 0..dim {
                    // affine rows: [a_0; A^T], (d + 1, d)
                    let mut a = affine[k];
                    for (m, pm) in p.iter().enumerate() {
                        a += affine[(m + 1) * dim + k] * pm;
                    }
                    x[k] += s[k] + a;
                }
            }
        }),
        RbfKernel::Wendland { support_radius } => {
            let grid = Grid::new(control_points, dim, support_radius);
            out.par_chunks_mut(CHUNK * dim).for_each(|rows| {
                let mut near = Vec::new();
                for x in rows.chunks_exact_mut(dim) {
                    grid.near(x, &mut near);
                    let mut s = [0.0f64; 3];
                    for &j in &near {
                        let c = &control_points[j * dim..(j + 1) * dim];
                        let phi = kernel_value(kernel, dim, dist2(x, c));
                        for k in 0..dim {
                            s[k] += weights[j * dim + k] * phi;
                        }
                    }
                    for k in 0..dim {
                        x[k] += s[k];
                    }
                }
            });
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(KernelError::value(
            "the RBF morph is not finite: the coordinates' scale is too extreme for the kernel \
             (|x| near 1e-150 or 1e150); rescale the points",
        ));
    }
    Ok(out)
}

#[inline]
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Checks the inputs; returns B.
fn check(
    points: &[f64],
    control_points: &[f64],
    control_displacements: &[f64],
    dim: usize,
    kernel: RbfKernel,
) -> Result<usize, KernelError> {
    if dim != 2 && dim != 3 {
        return Err(KernelError::shape(format!(
            "points must be (N, 2) or (N, 3), got dimension {dim}"
        )));
    }
    for (name, a) in [
        ("points", points),
        ("control_points", control_points),
        ("control_displacements", control_displacements),
    ] {
        coordinate_rows(name, a, dim)?;
    }
    let b = control_points.len() / dim;
    if control_displacements.len() != control_points.len() {
        return Err(KernelError::shape(format!(
            "control_displacements has {} rows but control_points has {b}",
            control_displacements.len() / dim
        )));
    }
    if b == 0 {
        return Err(KernelError::shape("control_points is empty (B = 0)"));
    }
    match kernel {
        RbfKernel::ThinPlate if b < dim + 1 => {
            return Err(KernelError::shape(format!(
                "the thin-plate spline needs at least {} control points in {dim}D, got {b}",
                dim + 1
            )));
        }
        RbfKernel::Wendland { support_radius }
            if !(support_radius.is_finite() && support_radius > 0.0) =>
        {
            return Err(KernelError::value(format!(
                "support_radius must be finite and > 0, got {support_radius}"
            )));
        }
        _ => {}
    }
    let mut order: Vec<usize> = (0..b).collect();
    let row = |j: usize| &control_points[j * dim..(j + 1) * dim];
    order.sort_unstable_by(|&i, &j| {
        row(i)
            .iter()
            .zip(row(j))
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(i.cmp(&j))
    });
    for w in order.windows(2) {
        if row(w[0]) == row(w[1]) {
            return Err(KernelError::value(format!(
                "control_points[{}] and control_points[{}] are the same point {:?} (the \
                 interpolation system would be singular)",
                w[0].min(w[1]),
                w[0].max(w[1]),
                row(w[0])
            )));
        }
    }
    Ok(b)
}

/// The RBF weights (B, d) and, for the thin-plate spline, the affine part (d + 1, d):
/// row 0 the constant, row 1 + m the coefficients of x_m.
fn solve_weights(
    control_points: &[f64],
    control_displacements: &[f64],
    dim: usize,
    b: usize,
    kernel: RbfKernel,
) -> Result<(Vec<f64>, Vec<f64>), KernelError> {
    let c = |j: usize| &control_points[j * dim..(j + 1) * dim];
    let size = match kernel {
        RbfKernel::ThinPlate => b + dim + 1,
        RbfKernel::Wendland { .. } => b,
    };
    // The dense system, its LU factors and the residual's product.
    let entries = size.saturating_mul(size);
    let bytes = memory::bytes_of("the RBF system", entries, std::mem::size_of::<f64>())?;
    memory::ensure_available(
        &format!("the RBF system of {b} control points"),
        memory::total("RBF", &[bytes; 3])?,
    )?;
    let matrix = Mat::<f64>::from_fn(size, size, |i, j| match (i < b, j < b) {
        (true, true) => kernel_value(kernel, dim, dist2(c(i), c(j))),
        (true, false) => poly(c(i), j - b),
        (false, true) => poly(c(j), i - b),
        (false, false) => 0.0,
    });
    let rhs = Mat::<f64>::from_fn(size, dim, |i, k| {
        if i < b {
            control_displacements[i * dim + k]
        } else {
            0.0
        }
    });
    let mut x = rhs.clone();
    match kernel {
        RbfKernel::ThinPlate => {
            check_unisolvent(control_points, dim, b)?;
            matrix.partial_piv_lu().solve_in_place(x.as_mut());
            let residual = &matrix * &x - &rhs;
            let scale = matrix.norm_max() * x.norm_max() + rhs.norm_max();
            let r = residual.norm_max();
            if r.is_nan() || r > 1e-8 * scale || !x.norm_max().is_finite() {
                return Err(KernelError::value(format!(
                    "the thin-plate spline system is singular: the {b} control points lie \
                     on one {}",
                    if dim == 2 { "line" } else { "plane" }
                )));
            }
        }
        RbfKernel::Wendland { support_radius } => {
            let llt = matrix.llt(Side::Lower).map_err(|_| {
                KernelError::value(format!(
                    "the Wendland system is not numerically positive definite (support \
                     radius {support_radius}: control points too close for it?)"
                ))
            })?;
            llt.solve_in_place(x.as_mut());
        }
    }
    let weights = (0..b * dim).map(|i| x[(i / dim, i % dim)]).collect();
    let affine = (0..(size - b) * dim)
        .map(|i| x[(b + i / dim, i % dim)])
        .collect();
    Ok((weights, affine))
}

/// Relative thickness below which control points count as lying on one line or plane.
pub const FLAT: f64 = 1e-8;

/// Errors unless the controls span the space: the smallest singular value of the
/// centred control coordinates (B, d) must exceed `FLAT` times the largest.
fn check_unisolvent(control_points: &[f64], dim: usize, b: usize) -> Result<(), KernelError> {
    let mut mean = [0.0f64; 3];
    for p in control_points.chunks_exact(dim) {
        for k in 0..dim {
            mean[k] += p[k] / b as f64;
        }
    }
    let centred = Mat::<f64>::from_fn(b, dim, |i, k| control_points[i * dim + k] - mean[k]);
    let sv = centred
        .singular_values()
        .map_err(|e| KernelError::value(format!("SVD of the control points failed: {e:?}")))?;
    let (hi, lo) = sv
        .iter()
        .fold((0.0f64, f64::INFINITY), |(h, l), &v| (h.max(v), l.min(v)));
    if lo <= FLAT * hi {
        return Err(KernelError::value(format!(
            "the thin-plate spline system is singular: the {b} control points lie on one {}",
            if dim == 2 { "line" } else { "plane" }
        )));
    }
    Ok(())
}

/// The m-th affine basis function at `p`: 1, then the coordinates.
#[inline]
fn poly(p: &[f64], m: usize) -> f64 {
    if m == 0 {
        1.0
    } else {
        p[m - 1]
    }
}

/// Control points binned in cubic cells of side `rho`.
struct Grid<'a> {
    points: &'a [f64],
    dim: usize,
    rho: f64,
    lo: [f64; 3],
    cells: [i64; 3],
    bins: HashMap<[i64; 3], Vec<usize>>,
}

impl<'a> Grid<'a> {
    fn new(points: &'a [f64], dim: usize, rho: f64) -> Self {
        let mut lo = [0.0f64; 3];
        let mut hi = [0.0f64; 3];
        for k in 0..dim {
            lo[k] = points
                .iter()
                .skip(k)
                .step_by(dim)
                .copied()
                .fold(f64::INFINITY, f64::min);
            hi[k] = points
                .iter()
                .skip(k)
                .step_by(dim)
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
        }
        let mut cells = [0i64; 3];
        for k in 0..dim {
            cells[k] = ((hi[k] - lo[k]) / rho).floor().min(i64::MAX as f64 / 4.0) as i64 + 1;
        }
        let mut grid = Grid {
            points,
            dim,
            rho,
            lo,
            cells,
            bins: HashMap::new(),
        };
        for (j, p) in points.chunks_exact(dim).enumerate() {
            if let Some(key) = grid.cell(p) {
                grid.bins.entry(key).or_default().push(j);
            }
        }
        grid
    }

    /// The cell of `p`, or None when `p` is more than one cell outside the grid.
    fn cell(&self, p: &[f64]) -> Option<[i64; 3]> {
        let mut key = [0i64; 3];
        for k in 0..self.dim {
            let f = ((p[k] - self.lo[k]) / self.rho).floor();
            if !(f >= -1.0 && f <= self.cells[k] as f64) {
                return None;
            }
            key[k] = f as i64;
        }
        Some(key)
    }

    /// The control points within `rho` of `p`, in increasing cell then index order.
    fn near(&self, p: &[f64], out: &mut Vec<usize>) {
        out.clear();
        let Some(key) = self.cell(p) else { return };
        let r2 = self.rho * self.rho;
        let span = |k: usize| if k < self.dim { -1..=1 } else { 0..=0 };
        for dx in span(0) {
            for dy in span(1) {
                for dz in span(2) {
                    let k = [key[0] + dx, key[1] + dy, key[2] + dz];
                    let Some(bin) = self.bins.get(&k) else {
                        continue;
                    };
                    for &j in bin {
                        let c = &self.points[j * self.dim..(j + 1) * self.dim];
                        if dist2(p, c) < r2 {
                            out.push(j);
                        }
                    }
                }
            }
        }
    }
}
