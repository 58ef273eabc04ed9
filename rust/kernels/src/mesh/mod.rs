//! Meshes: the kernels of mesh-morphing Gaussian processes (MMGP).
//!
//! - [`boundary`]: the edges and the single boundary loop of a 2D triangle mesh.
//! - [`dissection`]: a direct SPD solve on mesh graphs (nested dissection, multifrontal).
//! - [`floater`]: Floater (Tutte) morphing of a disk-like triangle mesh onto the unit disk.
//! - [`rbf`]: radial-basis-function morphing of points by control displacements.
//! - [`quality`]: signed cell measures and a count of inverted and degenerate cells.
//! - [`transfer`]: P1 interpolation matrices between simplex meshes (2D and 3D).
//!
//! Cells are row-major `usize` node indices: `(M, 3)` triangles, `(M, 4)` tetrahedra.

pub mod boundary;
pub mod dissection;
pub mod floater;
pub mod quality;
pub mod rbf;
pub mod transfer;

use crate::KernelError;

/// The row count of `values` read as a row-major `(N, dim)` array of finite coordinates,
/// or an error naming `name` and the first bad entry.
pub(crate) fn coordinate_rows(
    name: &str,
    values: &[f64],
    dim: usize,
) -> Result<usize, KernelError> {
    if values.len() % dim != 0 {
        return Err(KernelError::shape(format!(
            "{name} must be (N, {dim}); got {} values, not a multiple of {dim}",
            values.len()
        )));
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        let (i, j) = (k / dim, k % dim);
        return Err(KernelError::value(format!(
            "{name} row {i} has a non-finite coordinate: {name}[{i}, {j}] = {} is not finite",
            values[k]
        )));
    }
    Ok(values.len() / dim)
}
