//! Mesh quality after morphing: signed cell measures and counts of inverted (folded)
//! and degenerate cells.

use rayon::prelude::*;

use super::coordinate_rows;
use crate::KernelError;

/// A cell counts as degenerate when `|measure| <= DEGENERATE * mean |measure|`.
pub const DEGENERATE: f64 = 1e-12;

/// The signed measure of every cell: triangle areas in 2D (positive when the vertices
/// run counter-clockwise), tetrahedron volumes in 3D (positive when `(b - a, c - a,
/// d - a)` is right-handed).
///
/// `points` (N, dim) row-major, `dim` 2 or 3; `cells` (M, dim + 1) node indices.
/// Returns (M,). Errors on bad shapes, non-finite points or an index out of range.
pub fn signed_measures(
    points: &[f64],
    dim: usize,
    cells: &[usize],
) -> Result<Vec<f64>, KernelError> {
    if dim != 2 && dim != 3 {
        return Err(KernelError::shape(format!(
            "points must be (N, 2) or (N, 3), got dimension {dim}"
        )));
    }
    let n = coordinate_rows("points", points, dim)?;
    let k = dim + 1;
    if cells.len() % k != 0 {
        return Err(KernelError::shape(format!(
            "cells must be (M, {k}) for {dim}D points; got {} values, not a multiple of {k}",
            cells.len()
        )));
    }
    if let Some(i) = cells.iter().position(|&v| v >= n) {
        return Err(KernelError::value(format!(
            "cells[{}] refers to node {}, but there are only {n} nodes",
            i / k,
            cells[i]
        )));
    }
    let p = |v: usize| &points[v * dim..(v + 1) * dim];
    let measures: Vec<f64> = cells
        .par_chunks_exact(k)
        .map(|c| {
            if dim == 2 {
                let (a, b, c) = (p(c[0]), p(c[1]), p(c[2]));
                0.5 * ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
            } else {
                let a = p(c[0]);
                let e = |v: usize| {
                    let q = p(v);
                    [q[0] - a[0], q[1] - a[1], q[2] - a[2]]
                };
                let (u, v, w) = (e(c[1]), e(c[2]), e(c[3]));
                (u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0])
                    + u[2] * (v[0] * w[1] - v[1] * w[0]))
                    / 6.0
            }
        })
        .collect();
    if let Some(i) = measures.iter().position(|m| !m.is_finite()) {
        return Err(KernelError::value(format!(
            "the measure of cell {i} overflows f64: coordinates of magnitude up to {:e} are \
             too large; rescale the mesh",
            points.iter().fold(0.0f64, |m, x| m.max(x.abs()))
        )));
    }
    Ok(measures)
}

/// Counts of a mesh's cells by quality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityReport {
    /// Number of cells.
    pub n_cells: usize,
    /// Cells whose measure has the opposite sign to the reference (`m * m_ref < 0`), or
    /// without a reference, a negative measure.
    pub n_inverted: usize,
    /// Cells with `|m| <= DEGENERATE * mean |m|` (counted whatever their sign).
    pub n_degenerate: usize,
    /// The smallest signed measure (NaN without cells).
    pub min_measure: f64,
    /// The largest signed measure (NaN without cells).
    pub max_measure: f64,
}

/// The quality report of the signed `measures` (M,), against the signed measures of a
/// reference configuration (M,) if given.
pub fn quality_report(
    measures: &[f64],
    reference: Option<&[f64]>,
) -> Result<QualityReport, KernelError> {
    if let Some(r) = reference {
        if r.len() != measures.len() {
            return Err(KernelError::shape(format!(
                "the reference has {} cells but the mesh has {}",
                r.len(),
                measures.len()
            )));
        }
    }
    let m = measures.len();
    let n_inverted = match reference {
        Some(r) => measures
            .iter()
            .zip(r)
            .filter(|(a, b)| *a * *b < 0.0)
            .count(),
        None => measures.iter().filter(|&&a| a < 0.0).count(),
    };
    let mean = measures.iter().map(|a| a.abs()).sum::<f64>() / m.max(1) as f64;
    let n_degenerate = measures
        .iter()
        .filter(|a| a.abs() <= DEGENERATE * mean)
        .count();
    let (min_measure, max_measure) = if m == 0 {
        (f64::NAN, f64::NAN)
    } else {
        measures
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &a| {
                (lo.min(a), hi.max(a))
            })
    };
    Ok(QualityReport {
        n_cells: m,
        n_inverted,
        n_degenerate,
        min_measure,
        max_measure,
    })
}
