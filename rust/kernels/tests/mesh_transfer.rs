//! The P1 transfer matrix on structured meshes of the unit square and cube: exact
//! interpolation of affine fields, rows, vertices, clamping of outside points onto the
//! nearest point, tie-breaking, thread-count invariance and input checks.

use sciml_kernels::mesh::transfer::{transfer_matrix, CsrMatrix};
use sciml_kernels::KernelError;

mod common;
use common::Rng;

/// The unit square (d = 2) or cube (d = 3) on an n^d grid of cells, split into
/// triangles (2 per square) or Kuhn tetrahedra (6 per cube): a conforming mesh.
fn unit_mesh(d: usize, n: usize) -> (Vec<f64>, Vec<i64>) {
    let m = n + 1;
    let id = |ijk: &[usize]| ijk.iter().fold(0, |acc, &x| acc * m + x) as i64;
    let mut points = Vec::new();
    let mut cells = Vec::new();
    if d == 2 {
        for i in 0..m {
            for j in 0..m {
                points.extend([i as f64 / n as f64, j as f64 / n as f64]);
            }
        }
        for i in 0..n {
            for j in 0..n {
                let (a, b, c, e) = (
                    id(&[i, j]),
                    id(&[i + 1, j]),
                    id(&[i, j + 1]),
                    id(&[i + 1, j + 1]),
                );
                cells.extend([a, b, e, a, e, c]);
            }
        }
    } else {
        for i in 0..m {
            for j in 0..m {
                for k in 0..m {
                    points.extend([i, j, k].map(|x| x as f64 / n as f64));
                }
            }
        }
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for i in 0..n {
            for j in 0..n {
                for k in 0..n {
                    for perm in perms {
                        let mut v = [i, j, k];
                        cells.push(id(&v));
                        for axis in perm {
                            v[axis] += 1;
                            cells.push(id(&v));
                        }
                    }
                }
            }
        }
    }
    (points, cells)
}

fn apply(t: &CsrMatrix, f: &[f64]) -> Vec<f64> {
    (0..t.nrows)
        .map(|i| {
            (t.indptr[i]..t.indptr[i + 1])
                .map(|k| t.data[k as usize] * f[t.indices[k as usize] as usize])
                .sum()
        })
        .collect()
}

fn affine(x: &[f64]) -> f64 {
    0.25 + x
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.5) * v)
        .sum::<f64>()
}

fn check_rows(t: &CsrMatrix, d: usize) {
    assert_eq!(t.indptr.len(), t.nrows + 1);
    for i in 0..t.nrows {
        let (a, b) = (t.indptr[i] as usize, t.indptr[i + 1] as usize);
        assert_eq!(b - a, d + 1);
        assert!(t.indices[a..b].windows(2).all(|w| w[0] < w[1]));
        assert!(t.data[a..b].iter().all(|&w| w >= 0.0));
        let s: f64 = t.data[a..b].iter().sum();
        assert!((s - 1.0).abs() < 1e-14, "row {i} sums to {s}");
    }
}

#[test]
fn affine_fields_are_exact_inside() {
    for d in [2, 3] {
        let (points, cells) = unit_mesh(d, 5);
        let dst = Rng(7).vec(500 * d, 0.0, 1.0);
        let t = transfer_matrix(&points, &cells, &dst, d).unwrap();
        assert_eq!((t.nrows, t.ncols), (500, points.len() / d));
        check_rows(&t, d);
        let f: Vec<f64> = points.chunks(d).map(affine).collect();
        for (x, y) in dst.chunks(d).zip(apply(&t, &f)) {
            assert!((affine(x) - y).abs() < 1e-12);
        }
    }
}

#[test]
fn vertices_give_the_identity() {
    for d in [2, 3] {
        let (points, cells) = unit_mesh(d, 4);
        let t = transfer_matrix(&points, &cells, &points, d).unwrap();
        for i in 0..t.nrows {
            for k in t.indptr[i] as usize..t.indptr[i + 1] as usize {
                let expected = if t.indices[k] == i as i64 { 1.0 } else { 0.0 };
                assert!((t.data[k] - expected).abs() < 1e-14);
            }
        }
    }
}

#[test]
fn outside_points_take_the_nearest_point_of_the_mesh() {
    // The mesh is the unit box: its nearest point is the clamped point.
    for d in [2, 3] {
        let (points, cells) = unit_mesh(d, 4);
        let dst = Rng(11).vec(400 * d, -2.0, 3.0);
        let t = transfer_matrix(&points, &cells, &dst, d).unwrap();
        check_rows(&t, d);
        for i in 0..d {
            let f: Vec<f64> = points.chunks(d).map(|x| x[i]).collect();
            for (x, y) in dst.chunks(d).zip(apply(&t, &f)) {
                assert!((x[i].clamp(0.0, 1.0) - y).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn shared_edges_go_to_the_lowest_element() {
    // Two triangles sharing the edge (1,0)-(0,1); its midpoint lies in both.
    let points = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let mid = [0.5, 0.5];
    for (cells, first) in [
        ([0i64, 1, 2, 1, 3, 2], [0, 1, 2]),
        ([1, 3, 2, 0, 1, 2], [1, 2, 3]),
    ] {
        let t = transfer_matrix(&points, &cells, &mid, 2).unwrap();
        assert_eq!(t.indices, first);
        let w = if first[0] == 0 {
            [0.0, 0.5, 0.5]
        } else {
            [0.5, 0.5, 0.0]
        };
        for (a, b) in t.data.iter().zip(w) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}

#[test]
fn nearest_search_crosses_many_bins() {
    // A fine mesh of a thin strip, and points far away in every direction.
    let (mut points, cells) = unit_mesh(2, 40);
    for p in points.chunks_mut(2) {
        p[1] *= 0.01;
    }
    let dst = [-50.0, 0.5, 0.3, 100.0, 0.7, -3.0, 2.0, 0.004, 0.5, 0.005];
    let t = transfer_matrix(&points, &cells, &dst, 2).unwrap();
    let fx: Vec<f64> = points.chunks(2).map(|x| x[0]).collect();
    let fy: Vec<f64> = points.chunks(2).map(|x| x[1]).collect();
    let (x, y) = (apply(&t, &fx), apply(&t, &fy));
    for (i, p) in dst.chunks(2).enumerate() {
        assert!((x[i] - p[0].clamp(0.0, 1.0)).abs() < 1e-12);
        assert!((y[i] - p[1].clamp(0.0, 0.01)).abs() < 1e-12);
    }
}

#[test]
fn same_result_whatever_the_threads_and_index_type() {
    let (points, cells) = unit_mesh(3, 4);
    let dst = Rng(3).vec(2000 * 3, -0.2, 1.2);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| transfer_matrix(&points, &cells, &dst, 3).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    let cells32: Vec<i32> = cells.iter().map(|&c| c as i32).collect();
    assert_eq!(one, transfer_matrix(&points, &cells32, &dst, 3).unwrap());
}

#[test]
fn empty_destination() {
    let (points, cells) = unit_mesh(2, 2);
    let t = transfer_matrix(&points, &cells, &[], 2).unwrap();
    assert_eq!((t.nrows, t.indptr, t.indices.len()), (0, vec![0], 0));
}

#[test]
fn bad_input() {
    let (points, cells) = unit_mesh(2, 2);
    let dst = [0.5, 0.5];
    let shape = |r: Result<CsrMatrix, KernelError>| matches!(r, Err(KernelError::Shape(_)));
    let value = |r: Result<CsrMatrix, KernelError>| matches!(r, Err(KernelError::Value(_)));
    assert!(shape(transfer_matrix(&points, &cells, &dst, 4)));
    assert!(shape(transfer_matrix(&points[..3], &cells, &dst, 2)));
    assert!(shape(transfer_matrix(&points, &cells[..4], &dst, 2)));
    assert!(shape(transfer_matrix(&points, &cells, &dst[..1], 2)));
    assert!(shape(transfer_matrix(&[], &[] as &[i64], &dst, 2)));
    assert!(shape(transfer_matrix(&points, &[] as &[i64], &dst, 2)));
    let mut nan = points.clone();
    nan[3] = f64::NAN;
    assert!(value(transfer_matrix(&nan, &cells, &dst, 2)));
    assert!(value(transfer_matrix(
        &points,
        &cells,
        &[0.5, f64::INFINITY],
        2
    )));
    for bad in [-1, 9] {
        let mut c = cells.clone();
        c[4] = bad;
        assert!(value(transfer_matrix(&points, &c, &dst, 2)));
    }
    // Collinear and repeated vertices.
    let mut c = cells.clone();
    c.extend([0, 1, 2, 0, 0, 4]);
    let err = transfer_matrix(&points, &c, &dst, 2).unwrap_err();
    assert!(err.to_string().contains("row 8"), "{err}");
}
