//! Mesh morphing: boundary extraction, Floater onto the unit disk, RBF morphing and mesh
//! quality, by their defining properties, and their input checks.

use std::f64::consts::{PI, TAU};

use sciml_kernels::mesh::boundary::{boundary_loop, signed_area, Topology};
use sciml_kernels::mesh::floater::{floater_morph, Landmarks};
use sciml_kernels::mesh::quality::{quality_report, signed_measures};
use sciml_kernels::mesh::rbf::{rbf_morph, RbfKernel};
use sciml_kernels::KernelError;

/// A structured (nx, ny) mesh of the unit square, wavy if `amp` > 0; node (i, j) is
/// `i * ny + j`; counter-clockwise triangles.
fn plate(nx: usize, ny: usize, amp: f64) -> (Vec<f64>, Vec<usize>) {
    let mut p = Vec::new();
    for i in 0..nx {
        for j in 0..ny {
            let (x, y) = (i as f64 / (nx - 1) as f64, j as f64 / (ny - 1) as f64);
            p.push(x + amp * (TAU * y).sin() * (0.5 + x));
            p.push(y + amp * (3.0 * PI * x).sin() * (0.3 + y));
        }
    }
    let mut t = Vec::new();
    for i in 0..nx - 1 {
        for j in 0..ny - 1 {
            let v = i * ny + j;
            t.extend([v, v + ny, v + ny + 1, v, v + ny + 1, v + 1]);
        }
    }
    (p, t)
}

/// Interior nodes are the mean of their neighbours; returns the largest deviation.
fn mean_residual(topo: &Topology, out: &[f64]) -> f64 {
    let n = topo.num_nodes;
    let mut sum = vec![0.0; 2 * n];
    let mut deg = vec![0.0; n];
    for &(a, b) in &topo.edges {
        for (u, w) in [(a, b), (b, a)] {
            sum[2 * u] += out[2 * w];
            sum[2 * u + 1] += out[2 * w + 1];
            deg[u] += 1.0;
        }
    }
    let mut on = vec![false; n];
    for &v in &topo.boundary {
        on[v] = true;
    }
    (0..n)
        .filter(|&v| !on[v])
        .flat_map(|v| (0..2).map(move |k| (v, k)))
        .map(|(v, k)| (out[2 * v + k] - sum[2 * v + k] / deg[v]).abs())
        .fold(0.0, f64::max)
}

#[test]
fn boundary_of_a_plate_is_its_rim_counter_clockwise() {
    let (p, t) = plate(5, 4, 0.0);
    let b = boundary_loop(&p, &t).unwrap();
    assert_eq!(b.len(), 2 * (5 + 4) - 4);
    assert_eq!(b[0], 0);
    assert!(signed_area(&p, &b) > 0.0);
    // clockwise triangles give the same counter-clockwise loop
    let flipped: Vec<usize> = t.chunks(3).flat_map(|c| [c[0], c[2], c[1]]).collect();
    assert_eq!(boundary_loop(&p, &flipped).unwrap(), b);
}

#[test]
fn floater_puts_the_boundary_on_the_circle_and_folds_nothing() {
    for amp in [0.0, 0.07] {
        let (p, t) = plate(12, 9, amp);
        let topo = Topology::new(&p, &t).unwrap();
        let out = floater_morph(&p, &t, None).unwrap();
        for &v in &topo.boundary {
            assert!((out[2 * v].hypot(out[2 * v + 1]) - 1.0).abs() < 1e-14);
        }
        if amp == 0.0 {
            // node 0 = (0, 0) is the leftmost-lowest boundary node: it goes to angle pi
            assert!((out[0] + 1.0).abs() < 1e-15 && out[1].abs() < 1e-15);
        }
        assert!(mean_residual(&topo, &out) < 1e-12);
        let q = quality_report(&signed_measures(&out, 2, &t).unwrap(), None).unwrap();
        assert_eq!((q.n_inverted, q.n_degenerate), (0, 0));
        assert!(q.min_measure > 0.0);
    }
}

#[test]
fn floater_walks_counter_clockwise_by_arc_length() {
    let (p, t) = plate(5, 5, 0.0);
    let topo = Topology::new(&p, &t).unwrap();
    let out = floater_morph(&p, &t, None).unwrap();
    let b = &topo.boundary;
    // the plate's rim has equal edges: equal angle steps, counter-clockwise from pi
    let step = TAU / b.len() as f64;
    for (k, &v) in b.iter().enumerate() {
        let a = PI + step * k as f64;
        assert!((out[2 * v] - a.cos()).abs() < 1e-14, "node {v}");
        assert!((out[2 * v + 1] - a.sin()).abs() < 1e-14, "node {v}");
    }
    // and from (0, 0) the walk goes down the circle: to node ny (x = 1/4, y = 0)
    assert_eq!(b[1], 5);
}

#[test]
fn landmarks_sit_exactly_at_their_angles() {
    let (p, t) = plate(7, 7, 0.05);
    let b = boundary_loop(&p, &t).unwrap();
    let nodes = [b[2], b[9], b[15]];
    let angles = [0.3 + TAU, 2.0 - 2.0 * TAU, 4.0];
    let out = floater_morph(
        &p,
        &t,
        Some(Landmarks {
            nodes: &nodes,
            angles: &angles,
        }),
    )
    .unwrap();
    for (&v, &a) in nodes.iter().zip(&angles) {
        assert!((out[2 * v] - a.cos()).abs() < 1e-15 && (out[2 * v + 1] - a.sin()).abs() < 1e-15);
    }
    let q = quality_report(&signed_measures(&out, 2, &t).unwrap(), None).unwrap();
    assert_eq!(q.n_inverted, 0);
}

fn message(r: Result<Vec<f64>, KernelError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn floater_rejects_bad_meshes() {
    let p3 = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let m = |p: &[f64], t: &[usize]| message(floater_morph(p, t, None));
    assert!(m(&p3, &[0, 1, 3]).contains("refers to node 3"));
    assert!(m(&p3, &[0, 1, 1]).contains("repeats a node"));
    assert!(m(&[0.0, 0.0, 1.0, 0.0, 2.0, 0.0], &[0, 1, 2]).contains("zero area"));
    assert!(m(&[0.0, f64::NAN, 1.0, 0.0, 0.0, 1.0], &[0, 1, 2]).contains("points[0, 1]"));
    assert!(m(&[0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 5.0, 5.0], &[0, 1, 2]).contains("node 3 is not used"));
    assert!(m(&p3, &[]).contains("empty"));
    assert!(m(&p3, &[0, 1]).contains("multiple of 3"));
    // a ring: two boundary loops
    let n = 8;
    let mut p = Vec::new();
    for r in [1.0, 2.0] {
        for k in 0..n {
            let a = TAU * k as f64 / n as f64;
            p.extend([r * a.cos(), r * a.sin()]);
        }
    }
    let t: Vec<usize> = (0..n)
        .flat_map(|i| {
            let j = (i + 1) % n;
            [i, j, n + i, j, n + j, n + i]
        })
        .collect();
    assert!(m(&p, &t).contains("boundary has 2 loops"));
    // a bow tie: pinched at node 0
    let p = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, -1.0, 0.0, -1.0, -1.0];
    assert!(m(&p, &[0, 1, 2, 0, 3, 4]).contains("boundary node 0 is on 4 boundary edges"));
    // three triangles on edge (0, 1)
    let p = [0.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.5, -1.0, 0.5, 0.5];
    assert!(m(&p, &[0, 1, 2, 0, 3, 1, 0, 1, 4]).contains("edge (0, 1) is shared by 3"));
}

#[test]
fn floater_rejects_bad_landmarks() {
    let (p, t) = plate(5, 5, 0.0);
    let b = boundary_loop(&p, &t).unwrap();
    let m = |nodes: &[usize], angles: &[f64]| {
        message(floater_morph(&p, &t, Some(Landmarks { nodes, angles })))
    };
    assert!(m(&[12], &[0.0]).contains("not a boundary node"));
    assert!(m(&[b[1], b[1]], &[0.0, 1.0]).contains("duplicate"));
    assert!(m(&[b[1], b[8], b[4]], &[0.0, 1.0, 2.0]).contains("counter-clockwise boundary order"));
    assert!(m(&[b[1], b[4], b[8]], &[0.0, 2.0, 1.0]).contains("do not increase"));
    assert!(m(&[b[1], b[4]], &[1.0, 1.0 + TAU]).contains("same point"));
    assert!(m(&[b[1], b[4]], &[1.0]).contains("angles has 1 values"));
    assert!(m(&[], &[]).contains("empty"));
}

fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn rbf_interpolates_and_thin_plate_reproduces_affine_fields() {
    for dim in [2, 3] {
        let mut r = lcg(dim as u64);
        let b = 25;
        let c: Vec<f64> = (0..b * dim).map(|_| 4.0 * r()).collect();
        let a: Vec<f64> = (0..dim * dim).map(|_| r() - 0.5).collect();
        let shift: Vec<f64> = (0..dim).map(|_| r()).collect();
        let affine = |x: &[f64]| -> Vec<f64> {
            (0..dim)
                .map(|k| shift[k] + (0..dim).map(|m| a[k * dim + m] * x[m]).sum::<f64>())
                .collect()
        };
        let u: Vec<f64> = c.chunks(dim).flat_map(affine).collect();
        let x: Vec<f64> = (0..300 * dim).map(|_| 6.0 * r() - 1.0).collect();
        let out = rbf_morph(&x, &c, &u, dim, RbfKernel::ThinPlate).unwrap();
        for (xi, oi) in x.chunks(dim).zip(out.chunks(dim)) {
            for (k, s) in affine(xi).iter().enumerate() {
                assert!((oi[k] - xi[k] - s).abs() < 1e-10);
            }
        }
        let kernel = RbfKernel::Wendland {
            support_radius: 1.5,
        };
        let w: Vec<f64> = (0..b * dim).map(|_| r() - 0.5).collect();
        let at = rbf_morph(&c, &c, &w, dim, kernel).unwrap();
        for i in 0..b * dim {
            assert!((at[i] - c[i] - w[i]).abs() < 1e-10);
        }
    }
}

#[test]
fn wendland_leaves_far_points_exactly_in_place() {
    let c = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let u = [0.1, 0.2, -0.3, 0.1, 0.0, 0.05];
    let x = [0.2, 0.2, 1.5, 1.5, -0.45, 0.0, 100.0, -1e9, 0.55, 0.55];
    let out = rbf_morph(
        &x,
        &c,
        &u,
        2,
        RbfKernel::Wendland {
            support_radius: 0.5,
        },
    )
    .unwrap();
    assert!(out[0] != x[0] && out[1] != x[1]);
    assert_eq!(
        &out[2..],
        &x[2..4].iter().chain(&out[4..]).copied().collect::<Vec<_>>()[..]
    );
    assert!(out[4] != x[4]); // 0.45 from control 0
    assert_eq!(&out[6..], &x[6..]);
}

#[test]
fn rbf_rejects_bad_input() {
    let c = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let u = [0.0; 8];
    let m = |x: &[f64], c: &[f64], u: &[f64], k| message(rbf_morph(x, c, u, 2, k));
    let tps = RbfKernel::ThinPlate;
    let dup = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
    assert!(m(&[0.0, 0.0], &dup, &u, tps).contains("control_points[1] and control_points[3]"));
    let line = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
    assert!(m(&[0.0, 0.0], &line, &u, tps).contains("one line"));
    assert!(m(&[0.0, f64::NAN], &c, &u, tps).contains("points[0, 1]"));
    assert!(m(&[0.0, 0.0], &c[..4], &u[..4], tps).contains("at least 3"));
    assert!(m(&[0.0, 0.0], &c, &u[..6], tps).contains("control_displacements has 3 rows"));
    for rho in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let k = RbfKernel::Wendland {
            support_radius: rho,
        };
        assert!(m(&[0.0, 0.0], &c, &u, k).contains("support_radius"));
    }
    assert!(message(rbf_morph(&[0.0; 4], &c, &u, 4, tps)).contains("dimension 4"));
}

#[test]
fn measures_and_quality_report() {
    let tri = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    assert_eq!(
        signed_measures(&tri, 2, &[0, 1, 2, 0, 2, 1]).unwrap(),
        vec![0.5, -0.5]
    );
    let tet = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let v = signed_measures(&tet, 3, &[0, 1, 2, 3, 0, 2, 1, 3]).unwrap();
    assert!((v[0] - 1.0 / 6.0).abs() < 1e-16 && (v[1] + 1.0 / 6.0).abs() < 1e-16);
    let q = quality_report(&[1.0, -1.0, 0.0, 2.0], None).unwrap();
    assert_eq!((q.n_cells, q.n_inverted, q.n_degenerate), (4, 1, 1));
    assert_eq!((q.min_measure, q.max_measure), (-1.0, 2.0));
    let q = quality_report(&[1.0, -1.0, 0.0, 2.0], Some(&[1.0, -2.0, 1.0, -1.0])).unwrap();
    assert_eq!(q.n_inverted, 1);
    assert!(signed_measures(&tri, 2, &[0, 1, 3]).is_err());
    assert!(quality_report(&[1.0], Some(&[])).is_err());
}
