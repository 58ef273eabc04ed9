//! The edges and the boundary loop of a 2D triangle mesh.
//!
//! A boundary edge is an edge used by exactly one triangle. [`boundary_loop`] checks
//! that the mesh is a valid disk-like mesh (finite coordinates, indices in range, no
//! repeated vertex in a triangle, no zero-area triangle, every node used, every edge in
//! at most two triangles, every boundary node on exactly two boundary edges, one closed
//! boundary loop) and returns that loop counter-clockwise.

use rayon::prelude::*;

use super::coordinate_rows;
use crate::KernelError;

/// The relative area below which a triangle counts as zero-area: `|2 A| <= ZERO_AREA *
/// l_max^2`, with `l_max` its longest edge (a shape measure, independent of scale).
pub const ZERO_AREA: f64 = 1e-12;

/// A checked 2D triangle mesh: its unique edges and its counter-clockwise boundary loop.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Number of nodes.
    pub num_nodes: usize,
    /// The unique undirected edges `(a, b)`, `a < b`, sorted.
    pub edges: Vec<(usize, usize)>,
    /// The boundary nodes in counter-clockwise order (positive signed area), starting at
    /// the smallest node index on the boundary.
    pub boundary: Vec<usize>,
}

/// The boundary nodes of the triangle mesh `(points (N, 2), triangles (M, 3))` in
/// counter-clockwise order, starting at the boundary node of smallest index.
///
/// Errors if the mesh is not a valid disk-like mesh (see the module documentation).
pub fn boundary_loop(points: &[f64], triangles: &[usize]) -> Result<Vec<usize>, KernelError> {
    Ok(Topology::new(points, triangles)?.boundary)
}

impl Topology {
    /// Checks the mesh `(points (N, 2), triangles (M, 3))` and finds its edges and boundary.
    pub fn new(points: &[f64], triangles: &[usize]) -> Result<Self, KernelError> {
        let n = check_points(points)?;
        check_triangles(points, triangles, n)?;
        let edges = edges_once(triangles, n)?;
        let boundary = boundary_of(points, &edges, n)?;
        Ok(Topology {
            num_nodes: n,
            edges: edges.into_iter().map(|(a, b, _)| (a, b)).collect(),
            boundary,
        })
    }
}

fn check_points(points: &[f64]) -> Result<usize, KernelError> {
    let n = coordinate_rows("points", points, 2)?;
    if n >= u32::MAX as usize {
        return Err(KernelError::shape(format!("{n} nodes are too many")));
    }
    Ok(n)
}

fn check_triangles(points: &[f64], triangles: &[usize], n: usize) -> Result<(), KernelError> {
    if triangles.len() % 3 != 0 {
        return Err(KernelError::shape(format!(
            "triangles must be (M, 3); got {} values, not a multiple of 3",
            triangles.len()
        )));
    }
    if triangles.is_empty() {
        return Err(KernelError::shape("triangles is empty (M = 0)"));
    }
    // The first offending triangle, found in parallel but reported deterministically.
    let bad = triangles
        .par_chunks_exact(3)
        .enumerate()
        .find_first(|(_, t)| triangle_error(points, t, n).is_some());
    if let Some((i, t)) = bad {
        let why = triangle_error(points, t, n).unwrap_or_default();
        return Err(KernelError::value(format!("triangles[{i}] = {t:?} {why}")));
    }
    let mut used = vec![false; n];
    for &v in triangles {
        used[v] = true;
    }
    if let Some(v) = used.iter().position(|&u| !u) {
        return Err(KernelError::value(format!(
            "node {v} is not used by any triangle (it would make the morphing system \
             singular); remove unused nodes first"
        )));
    }
    Ok(())
}

/// Why triangle `t` is invalid, if it is.
fn triangle_error(points: &[f64], t: &[usize], n: usize) -> Option<String> {
    if let Some(&v) = t.iter().find(|&&v| v >= n) {
        return Some(format!("refers to node {v}, but there are only {n} nodes"));
    }
    let (a, b, c) = (t[0], t[1], t[2]);
    if a == b || b == c || a == c {
        return Some("repeats a node".into());
    }
    let p = |v: usize| [points[2 * v], points[2 * v + 1]];
    let (pa, pb, pc) = (p(a), p(b), p(c));
    let e = |u: [f64; 2], w: [f64; 2]| (w[0] - u[0]).powi(2) + (w[1] - u[1]).powi(2);
    let l2 = e(pa, pb).max(e(pb, pc)).max(e(pc, pa));
    let twice_area = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0]);
    if twice_area.abs() <= ZERO_AREA * l2 {
        return Some(format!("has zero area (signed area {})", 0.5 * twice_area));
    }
    None
}

/// The unique edges `(a, b, count)`, `a < b`, sorted, with the number of triangles using
/// each; errors on an edge used by more than two triangles.
fn edges_once(triangles: &[usize], n: usize) -> Result<Vec<(usize, usize, u8)>, KernelError> {
    debug_assert!(n < u32::MAX as usize);
    let sides = |t: &[usize]| [(t[0], t[1]), (t[1], t[2]), (t[2], t[0])];
    // Counting sort of the triangle sides by their smaller node, then each (small)
    // bucket sorted by the larger node.
    let mut start = vec![0usize; n + 1];
    for t in triangles.chunks_exact(3) {
        for (a, b) in sides(t) {
            start[a.min(b) + 1] += 1;
        }
    }
    for a in 0..n {
        start[a + 1] += start[a];
    }
    let mut next = start.clone();
    let mut other = vec![0u32; triangles.len()];
    for t in triangles.chunks_exact(3) {
        for (a, b) in sides(t) {
            let a_min = a.min(b);
            other[next[a_min]] = a.max(b) as u32;
            next[a_min] += 1;
        }
    }
    let mut edges = Vec::with_capacity(triangles.len() / 2 + n);
    for a in 0..n {
        let bucket = &mut other[start[a]..start[a + 1]];
        bucket.sort_unstable();
        for run in bucket.chunk_by(|x, y| x == y) {
            let b = run[0] as usize;
            if run.len() > 2 {
                return Err(KernelError::value(format!(
                    "edge ({a}, {b}) is shared by {} triangles (non-manifold mesh; at most 2 \
                     allowed)",
                    run.len()
                )));
            }
            edges.push((a, b, run.len() as u8));
        }
    }
    Ok(edges)
}

/// The single boundary loop, counter-clockwise, from its smallest node.
fn boundary_of(
    points: &[f64],
    edges: &[(usize, usize, u8)],
    n: usize,
) -> Result<Vec<usize>, KernelError> {
    const NONE: usize = usize::MAX;
    let mut nb = vec![[NONE; 2]; n];
    let mut degree = vec![0usize; n];
    for &(a, b, count) in edges {
        if count != 1 {
            continue;
        }
        for (u, w) in [(a, b), (b, a)] {
            if degree[u] < 2 {
                nb[u][degree[u]] = w;
            }
            degree[u] += 1;
        }
    }
    if let Some(v) = degree.iter().position(|&d| d != 0 && d != 2) {
        return Err(KernelError::value(format!(
            "boundary node {v} is on {} boundary edges, not 2 (the boundary is pinched \
             there)",
            degree[v]
        )));
    }
    let Some(start) = degree.iter().position(|&d| d == 2) else {
        return Err(KernelError::value(
            "the mesh has no boundary edge (every edge is in two triangles)",
        ));
    };
    // Walk every loop; the first one (from the smallest boundary node) is kept.
    let mut visited = vec![false; n];
    let mut first = Vec::new();
    let mut loops = 0usize;
    for s in start..n {
        if degree[s] != 2 || visited[s] {
            continue;
        }
        loops += 1;
        let (mut prev, mut cur) = (NONE, s);
        loop {
            visited[cur] = true;
            if loops == 1 {
                first.push(cur);
            }
            let next = if nb[cur][0] != prev {
                nb[cur][0]
            } else {
                nb[cur][1]
            };
            prev = cur;
            cur = next;
            if cur == s {
                break;
            }
        }
    }
    if loops != 1 {
        return Err(KernelError::value(format!(
            "the boundary has {loops} loops; a disk-like mesh has exactly 1 (the mesh has \
             holes or several parts)"
        )));
    }
    if signed_area(points, &first) < 0.0 {
        first[1..].reverse();
    }
    Ok(first)
}

/// The signed area of the polygon `points[loop_nodes]` (positive when counter-clockwise).
pub fn signed_area(points: &[f64], loop_nodes: &[usize]) -> f64 {
    let k = loop_nodes.len();
    let mut s = 0.0;
    for i in 0..k {
        let (a, b) = (loop_nodes[i], loop_nodes[(i + 1) % k]);
        s += points[2 * a] * points[2 * b + 1] - points[2 * b] * points[2 * a + 1];
    }
    0.5 * s
}
