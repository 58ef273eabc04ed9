//! P1 finite-element field transfer between meshes of simplices (triangles in 2D,
//! tetrahedra in 3D), as MMGP uses it to move fields between a morphed sample mesh and
//! the common mesh.
//!
//! # The matrix
//!
//! [`transfer_matrix`] builds the sparse matrix T (Nd, Ns) with `f_dst = T f_src` for
//! every P1 field `f_src` given at the Ns source vertices: row i holds the barycentric
//! coordinates of destination point `x_i` in the source element that contains it,
//! at the columns of that element's D + 1 vertices. Every row stores exactly D + 1
//! entries, sorted by column, zero weights included (so `indptr[i] = (D + 1) i`); the
//! weights are >= 0 and sum to 1.
//!
//! - **Inside points**: the element is the lowest-index one among those whose
//!   barycentric coordinates at `x_i` are all >= -1e-12 (points on shared vertices,
//!   edges and faces are thus assigned deterministically); the coordinates are clamped
//!   to >= 0 and rescaled to sum to 1.
//! - **Outside points** (in no element within that tolerance) are clamped onto the
//!   mesh: the element is the nearest one (smallest Euclidean distance from `x_i` to
//!   the element, then lowest index), and the weights are the barycentric coordinates of
//!   the closest point of that element, so the row interpolates the field at the point
//!   of the mesh nearest to `x_i`.
//!
//! # The search
//!
//! A uniform grid of about one bin per element covers the source bounding box; each
//! bin lists the elements whose bounding box (widened by a relative 1e-9) overlaps it,
//! so `x_i`'s bin lists every element that contains `x_i` within the tolerance. The
//! elements are stored sorted by the bin of their centroid, for memory locality. The nearest-element search visits rings of bins around
//! `x_i`'s bin (the nearest bin for a point outside the grid), pruning elements by
//! their box distance, until the distance to the unvisited bins exceeds the best
//! distance found: it is exact, not a heuristic. Rows are computed in parallel (rayon),
//! each independently (visiting the points bin by bin, for memory locality), so the
//! result does not depend on the number of threads.

mod grid;
mod simplex;

use rayon::prelude::*;

use super::coordinate_rows;
use crate::KernelError;
use grid::Grid;
use simplex::Weights;

/// An integer type for element vertex indices (i32 or i64).
pub trait CellIndex: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The index as i64.
    fn to_i64(self) -> i64;
}

impl CellIndex for i32 {
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
}

impl CellIndex for i64 {
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self
    }
}

/// A CSR matrix of shape (nrows, ncols).
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    pub nrows: usize,
    pub ncols: usize,
    /// (nrows + 1,)
    pub indptr: Vec<i64>,
    /// (nnz,), sorted within each row
    pub indices: Vec<i64>,
    /// (nnz,)
    pub data: Vec<f64>,
}

/// The P1 transfer matrix T (Nd, Ns) from the source mesh to the destination points
/// (see the module docs).
///
/// - `src_points`: (Ns, dim) row-major vertex coordinates, finite.
/// - `src_cells`: (M, dim + 1) row-major vertex indices in `0..Ns`, elements of
///   nonzero measure (either orientation).
/// - `dst_points`: (Nd, dim) row-major, finite; Nd may be 0.
/// - `dim`: 2 (triangles) or 3 (tetrahedra).
///
/// Errors: a dimension other than 2 or 3, lengths that are not whole rows, an empty
/// source mesh, non-finite coordinates, out-of-range indices, degenerate elements.
pub fn transfer_matrix<I: CellIndex>(
    src_points: &[f64],
    src_cells: &[I],
    dst_points: &[f64],
    dim: usize,
) -> Result<CsrMatrix, KernelError> {
    if dim != 2 && dim != 3 {
        return Err(KernelError::shape(format!(
            "dim must be 2 (triangles) or 3 (tetrahedra), got {dim}"
        )));
    }
    let ns = coordinate_rows("src_points", src_points, dim)?;
    let nd = coordinate_rows("dst_points", dst_points, dim)?;
    if src_cells.len() % (dim + 1) != 0 {
        return Err(KernelError::shape(format!(
            "src_cells has {} values, not a whole number of rows of {}",
            src_cells.len(),
            dim + 1
        )));
    }
    let m = src_cells.len() / (dim + 1);
    if ns == 0 || m == 0 {
        return Err(KernelError::shape(format!(
            "the source mesh is empty: src_points ({ns}, {dim}), src_cells ({m}, {})",
            dim + 1
        )));
    }
    let mut cells = Vec::with_capacity(m);
    for (e, row) in src_cells.chunks_exact(dim + 1).enumerate() {
        let mut cell = [0usize; 4];
        for (k, &v) in row.iter().enumerate() {
            let v = v.to_i64();
            if v < 0 || v as u64 >= ns as u64 {
                return Err(KernelError::value(format!(
                    "src_cells row {e} has vertex index {v}, outside 0..{ns} (src_points rows)"
                )));
            }
            cell[k] = v as usize;
        }
        cells.push(cell);
    }
    let (indices, data) = if dim == 2 {
        rows_of::<2>(src_points, cells, dst_points)?
    } else {
        rows_of::<3>(src_points, cells, dst_points)?
    };
    Ok(CsrMatrix {
        nrows: nd,
        ncols: ns,
        indptr: (0..=nd as i64).map(|i| i * (dim as i64 + 1)).collect(),
        indices,
        data,
    })
}

/// Column indices and weights, D + 1 per destination point.
fn rows_of<const D: usize>(
    src_points: &[f64],
    cells: Vec<[usize; 4]>,
    dst_points: &[f64],
) -> Result<(Vec<i64>, Vec<f64>), KernelError> {
    let (grid, simplices) = Grid::<D>::build(src_points, &cells)?;
    let nd = dst_points.len() / D;
    // The points are located in the order of their bins, so that nearby points, which
    // read the same elements, are handled together (far fewer cache misses).
    let order = grid.counting_sort(nd, |i| std::array::from_fn(|k| dst_points[i * D + k]));
    let found: Vec<(usize, Weights)> = order
        .par_iter()
        .with_min_len(256)
        .map(|&i| {
            let p: [f64; D] = std::array::from_fn(|k| dst_points[i * D + k]);
            grid.locate_inside(&simplices, &p)
                .unwrap_or_else(|| grid.nearest(&simplices, &p))
        })
        .collect();
    let mut rank = vec![0usize; nd];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut indices = vec![0i64; nd * (D + 1)];
    let mut data = vec![0.0f64; nd * (D + 1)];
    indices
        .par_chunks_mut(D + 1)
        .zip(data.par_chunks_mut(D + 1))
        .zip(rank.par_iter())
        .with_min_len(256)
        .for_each(|((idx, w), &r)| {
            let (e, weights) = &found[r];
            write_row::<D>(&simplices.cells[*e], weights, idx, w);
        });
    Ok((indices, data))
}

/// One row: the element's vertices sorted by index, with their weights.
#[inline]
fn write_row<const D: usize>(cell: &[usize; 4], weights: &Weights, idx: &mut [i64], w: &mut [f64]) {
    let mut order: [usize; 4] = [0, 1, 2, 3];
    order[..=D].sort_unstable_by_key(|&k| cell[k]);
    for (j, &k) in order[..=D].iter().enumerate() {
        idx[j] = cell[k] as i64;
        w[j] = weights[k];
    }
}
