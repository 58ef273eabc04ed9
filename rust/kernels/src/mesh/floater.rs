//! Floater (Tutte) morphing of a disk-like 2D triangle mesh onto the unit disk.
//!
//! # The maths
//!
//! The boundary loop, oriented counter-clockwise, is mapped onto the unit circle by arc
//! length; every interior node is then placed at the mean of its mesh neighbours (the
//! uniform-weight graph Laplacian, Tutte's embedding). With `I` the interior nodes,
//! `B` the boundary nodes and `deg(i)` the number of neighbours of `i`:
//!
//! ```text
//! deg(i) y_i - sum_{j in I, j ~ i} y_j = sum_{j in B, j ~ i} y_j      for i in I
//! ```
//!
//! The matrix is a principal submatrix of the graph Laplacian of a connected graph, so
//! it is symmetric positive definite; both coordinates are solved together (two
//! right-hand sides) with a sparse Cholesky factorisation (nested dissection by the
//! node coordinates, multifrontal: see [`super::dissection`]). By Tutte's theorem the
//! result has no folded triangle, since the unit disk is convex.
//!
//! # Where the boundary goes
//!
//! Without landmarks (the MMGP convention), the boundary node of smallest x (ties:
//! smallest y) goes to angle pi, and the boundary is walked counter-clockwise from it,
//! angles increasing by `2 pi` times the fraction of boundary arc length travelled. The
//! walk always follows the counter-clockwise orientation of the loop (positive signed
//! area); at the leftmost node this is the direction towards its boundary neighbour of
//! smaller y, whenever the two neighbours lie on either side of it in y.
//!
//! With landmarks `l_0..l_{L-1}` (boundary nodes in counter-clockwise order) and angles
//! `t_0..t_{L-1}`, landmark `l_k` goes to angle `t_k`, and the nodes between `l_k` and
//! `l_{k+1}` (cyclically) are spread by arc length over `[t_k, t_{k+1}]`; the last
//! stretch runs from `t_{L-1}` to `t_0 + 2 pi`. The angles may carry any multiple of
//! `2 pi`: each step `t_{k+1} - t_k` is taken modulo `2 pi` in `(0, 2 pi)`, and the steps
//! must add up to less than `2 pi` (the angles go round the circle once, in the order of
//! the landmarks).

use std::f64::consts::{PI, TAU};

use super::boundary::Topology;
use super::dissection::{solve_spd, MeshSystem};
use crate::KernelError;

/// Boundary nodes pinned to angles (radians) on the unit circle.
#[derive(Debug, Clone, Copy)]
pub struct Landmarks<'a> {
    /// Boundary node indices, in counter-clockwise boundary order.
    pub nodes: &'a [usize],
    /// Their angles, increasing going round once (see the module documentation).
    pub angles: &'a [f64],
}

/// The Floater morphing of the triangle mesh `(points (N, 2), triangles (M, 3))` onto the
/// unit disk: the morphed points, row-major (N, 2).
///
/// `landmarks`: optional boundary nodes pinned to angles (see the module documentation).
/// Errors on an invalid mesh (see [`super::boundary`]) and on bad landmarks.
pub fn floater_morph(
    points: &[f64],
    triangles: &[usize],
    landmarks: Option<Landmarks<'_>>,
) -> Result<Vec<f64>, KernelError> {
    let topo = Topology::new(points, triangles)?;
    let angles = boundary_angles(points, &topo.boundary, landmarks, topo.num_nodes)?;
    let mut out = vec![0.0; points.len()];
    for (&v, &t) in topo.boundary.iter().zip(&angles) {
        out[2 * v] = t.cos();
        out[2 * v + 1] = t.sin();
    }
    solve_interior(points, &topo, &mut out)?;
    Ok(out)
}

/// The angle of each node of the counter-clockwise `boundary` loop, in loop order.
pub fn boundary_angles(
    points: &[f64],
    boundary: &[usize],
    landmarks: Option<Landmarks<'_>>,
    num_nodes: usize,
) -> Result<Vec<f64>, KernelError> {
    let nb = boundary.len();
    let mut position = vec![usize::MAX; num_nodes];
    for (i, &v) in boundary.iter().enumerate() {
        position[v] = i;
    }
    let (pos, theta) = match landmarks {
        None => {
            let x = |v: usize| (points[2 * v], points[2 * v + 1]);
            let start = (0..nb)
                .min_by(|&i, &j| {
                    let (a, b) = (x(boundary[i]), x(boundary[j]));
                    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
                })
                .unwrap_or(0);
            (vec![start], vec![PI])
        }
        Some(lm) => check_landmarks(lm, &position, nb)?,
    };
    // Cumulative arc length along the loop, closed: cum[nb] is the perimeter.
    let mut cum = vec![0.0; nb + 1];
    for i in 0..nb {
        let (a, b) = (boundary[i], boundary[(i + 1) % nb]);
        let d = (points[2 * b] - points[2 * a]).hypot(points[2 * b + 1] - points[2 * a + 1]);
        cum[i + 1] = cum[i] + d;
    }
    let arc = |i: usize| {
        if i >= nb {
            cum[nb] + cum[i - nb]
        } else {
            cum[i]
        }
    };
    let l = pos.len();
    let mut angles = vec![0.0; nb];
    for k in 0..l {
        let (p0, t0) = (pos[k], theta[k]);
        let (p1, t1) = if k + 1 < l {
            (pos[k + 1], theta[k + 1])
        } else {
            (pos[0] + nb, theta[0] + TAU)
        };
        let p1 = if p1 < p0 { p1 + nb } else { p1 };
        let (s0, span) = (arc(p0), arc(p1) - arc(p0));
        angles[p0] = t0;
        for q in p0 + 1..p1 {
            angles[q % nb] = t0 + (t1 - t0) * (arc(q) - s0) / span;
        }
    }
    Ok(angles)
}

/// Loop positions and unwrapped angles of the landmarks, checked.
fn check_landmarks(
    lm: Landmarks<'_>,
    position: &[usize],
    nb: usize,
) -> Result<(Vec<usize>, Vec<f64>), KernelError> {
    let l = lm.nodes.len();
    if l == 0 {
        return Err(KernelError::shape("landmarks is empty; give at least one"));
    }
    if lm.angles.len() != l {
        return Err(KernelError::shape(format!(
            "angles has {} values but there are {l} landmarks",
            lm.angles.len()
        )));
    }
    let mut pos = Vec::with_capacity(l);
    for (k, &v) in lm.nodes.iter().enumerate() {
        let p = position.get(v).copied().unwrap_or(usize::MAX);
        if p == usize::MAX {
            return Err(KernelError::value(format!(
                "landmarks[{k}] = {v} is not a boundary node"
            )));
        }
        if let Some(j) = lm.nodes[..k].iter().position(|&u| u == v) {
            return Err(KernelError::value(format!(
                "landmarks[{j}] and landmarks[{k}] are both node {v} (duplicate landmark)"
            )));
        }
        pos.push(p);
    }
    for k in 1..l {
        let (before, here) = ((pos[k - 1] + nb - pos[0]) % nb, (pos[k] + nb - pos[0]) % nb);
        if here <= before {
            return Err(KernelError::value(format!(
                "landmarks {:?} are not in counter-clockwise boundary order (landmarks[{k}] \
                 = {} comes before landmarks[{}] = {} going counter-clockwise from \
                 landmarks[0])",
                lm.nodes,
                lm.nodes[k],
                k - 1,
                lm.nodes[k - 1]
            )));
        }
    }
    if let Some(k) = lm.angles.iter().position(|t| !t.is_finite()) {
        return Err(KernelError::value(format!(
            "angles[{k}] = {} is not finite",
            lm.angles[k]
        )));
    }
    let mut theta = Vec::with_capacity(l);
    theta.push(lm.angles[0]);
    for k in 1..l {
        let step = (lm.angles[k] - lm.angles[k - 1]).rem_euclid(TAU);
        if step == 0.0 || step >= TAU {
            return Err(KernelError::value(format!(
                "angles[{}] = {} and angles[{k}] = {} are the same point of the circle",
                k - 1,
                lm.angles[k - 1],
                lm.angles[k]
            )));
        }
        theta.push(theta[k - 1] + step);
    }
    if theta[l - 1] - theta[0] >= TAU {
        return Err(KernelError::value(format!(
            "angles {:?} do not increase going once round the circle (counter-clockwise, \
             in landmark order they span {} >= 2 pi)",
            lm.angles,
            theta[l - 1] - theta[0]
        )));
    }
    Ok((pos, theta))
}

/// Fills the interior rows of `out` (N, 2), whose boundary rows are set, by the
/// uniform-weight Laplacian solve.
fn solve_interior(points: &[f64], topo: &Topology, out: &mut [f64]) -> Result<(), KernelError> {
    const NONE: usize = usize::MAX;
    let mut index = vec![0usize; topo.num_nodes];
    for &v in &topo.boundary {
        index[v] = NONE;
    }
    let mut interior = Vec::with_capacity(topo.num_nodes - topo.boundary.len());
    for (v, slot) in index.iter_mut().enumerate() {
        if *slot != NONE {
            *slot = interior.len();
            interior.push(v);
        }
    }
    let ni = interior.len();
    if ni == 0 {
        return Ok(());
    }
    // The interior graph in CSR (both directions), the degrees (boundary neighbours
    // included) and the right-hand sides (the sums of the boundary neighbours).
    let mut degree = vec![0.0f64; ni];
    let mut offsets = vec![0usize; ni + 1];
    let mut rhs = vec![0.0f64; 2 * ni];
    for &(a, b) in &topo.edges {
        let (ia, ib) = (index[a], index[b]);
        for (i, j, w) in [(ia, ib, b), (ib, ia, a)] {
            if i == NONE {
                continue;
            }
            degree[i] += 1.0;
            if j == NONE {
                rhs[2 * i] += out[2 * w];
                rhs[2 * i + 1] += out[2 * w + 1];
            } else {
                offsets[i + 1] += 1;
            }
        }
    }
    for i in 0..ni {
        offsets[i + 1] += offsets[i];
    }
    let mut neighbours = vec![0usize; offsets[ni]];
    let mut fill = offsets[..ni].to_vec();
    for &(a, b) in &topo.edges {
        let (ia, ib) = (index[a], index[b]);
        if ia != NONE && ib != NONE {
            neighbours[fill[ia]] = ib;
            fill[ia] += 1;
            neighbours[fill[ib]] = ia;
            fill[ib] += 1;
        }
    }
    let values = vec![-1.0f64; neighbours.len()];
    let coords: Vec<f64> = interior
        .iter()
        .flat_map(|&v| [points[2 * v], points[2 * v + 1]])
        .collect();
    let system = MeshSystem {
        coords: &coords,
        diag: &degree,
        offsets: &offsets,
        neighbours: &neighbours,
        values: &values,
    };
    solve_spd(&system, &mut rhs, 2).map_err(|e| {
        KernelError::value(format!(
            "the interior Laplacian system could not be factorised ({e}); is every \
             interior node connected to the boundary?"
        ))
    })?;
    for (i, &v) in interior.iter().enumerate() {
        let y = [rhs[2 * i], rhs[2 * i + 1]];
        if !(y[0].is_finite() && y[1].is_finite()) {
            return Err(KernelError::value(format!(
                "the interior Laplacian solve gave a non-finite position for node {v}"
            )));
        }
        out[2 * v] = y[0];
        out[2 * v + 1] = y[1];
    }
    Ok(())
}
