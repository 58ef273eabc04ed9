//! The nested-dissection Cholesky solve against a dense solve, and its determinism.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use sciml_kernels::mesh::dissection::{solve_spd, MeshSystem, MAX_RHS};

fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A jittered nx x ny grid with diagonals (a triangle mesh graph) and an SPD matrix on
/// it: random negative off-diagonals, diagonals that dominate them.
struct Problem {
    coords: Vec<f64>,
    diag: Vec<f64>,
    offsets: Vec<usize>,
    neighbours: Vec<usize>,
    values: Vec<f64>,
}

fn problem(nx: usize, ny: usize, seed: u64) -> Problem {
    let mut rand = lcg(seed);
    let n = nx * ny;
    let id = |i: usize, j: usize| i * ny + j;
    let mut coords = Vec::with_capacity(2 * n);
    for i in 0..nx {
        for j in 0..ny {
            coords.push(i as f64 + 0.3 * rand());
            coords.push(j as f64 + 0.3 * rand());
        }
    }
    let mut edges = Vec::new();
    for i in 0..nx {
        for j in 0..ny {
            if i + 1 < nx {
                edges.push((id(i, j), id(i + 1, j)));
            }
            if j + 1 < ny {
                edges.push((id(i, j), id(i, j + 1)));
            }
            if i + 1 < nx && j + 1 < ny {
                edges.push((id(i, j), id(i + 1, j + 1)));
            }
        }
    }
    let weights: Vec<f64> = edges.iter().map(|_| -0.5 - rand()).collect();
    let mut lists = vec![Vec::new(); n];
    let mut diag: Vec<f64> = (0..n).map(|_| 0.1 + rand()).collect();
    for (&(a, b), &w) in edges.iter().zip(&weights) {
        lists[a].push((b, w));
        lists[b].push((a, w));
        diag[a] -= w;
        diag[b] -= w;
    }
    let mut offsets = vec![0];
    let (mut neighbours, mut values) = (Vec::new(), Vec::new());
    for list in &lists {
        for &(w, x) in list {
            neighbours.push(w);
            values.push(x);
        }
        offsets.push(neighbours.len());
    }
    Problem {
        coords,
        diag,
        offsets,
        neighbours,
        values,
    }
}

impl Problem {
    fn system(&self) -> MeshSystem<'_> {
        MeshSystem {
            coords: &self.coords,
            diag: &self.diag,
            offsets: &self.offsets,
            neighbours: &self.neighbours,
            values: &self.values,
        }
    }

    fn dense(&self) -> Mat<f64> {
        let n = self.diag.len();
        let mut a = Mat::<f64>::zeros(n, n);
        for v in 0..n {
            a[(v, v)] = self.diag[v];
            for k in self.offsets[v]..self.offsets[v + 1] {
                a[(v, self.neighbours[k])] = self.values[k];
            }
        }
        a
    }
}

#[test]
fn matches_a_dense_solve() {
    for (nx, ny, nrhs) in [(1, 1, 1), (3, 1, 2), (7, 9, 1), (23, 31, 3), (60, 45, 2)] {
        let pb = problem(nx, ny, (nx * ny) as u64);
        let n = nx * ny;
        let mut rand = lcg(7);
        let b: Vec<f64> = (0..n * nrhs).map(|_| rand() - 0.5).collect();
        let mut x = b.clone();
        solve_spd(&pb.system(), &mut x, nrhs).unwrap();
        let dense = pb.dense().llt(Side::Lower).unwrap();
        let expected = dense.solve(Mat::from_fn(n, nrhs, |i, r| b[i * nrhs + r]));
        let scale = expected.norm_max();
        for i in 0..n {
            for r in 0..nrhs {
                let err = (x[i * nrhs + r] - expected[(i, r)]).abs();
                assert!(err <= 1e-12 * scale, "{nx}x{ny}: x[{i}, {r}] off by {err}");
            }
        }
    }
}

#[test]
fn same_bits_for_any_thread_count() {
    // Large enough for the parallel ordering and factorisation.
    let pb = problem(90, 70, 3);
    let b: Vec<f64> = (0..2 * 90 * 70).map(|i| (i as f64).sin()).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut x = b.clone();
        pool.install(|| solve_spd(&pb.system(), &mut x, 2)).unwrap();
        x
    };
    let one = run(1);
    for threads in [2, 3, 4] {
        assert!(run(threads) == one, "{threads} threads changed the result");
    }
}

#[test]
fn rejects_indefinite_matrices_and_bad_shapes() {
    let mut pb = problem(10, 10, 1);
    pb.diag[37] = -5.0;
    let mut x = vec![1.0; 100];
    let err = solve_spd(&pb.system(), &mut x, 1).unwrap_err().to_string();
    assert!(err.contains("not positive definite"), "{err}");
    let pb = problem(4, 4, 1);
    let mut x = vec![1.0; 15];
    assert!(solve_spd(&pb.system(), &mut x, 1).is_err());
    let mut x = vec![1.0; 16 * (MAX_RHS + 1)];
    assert!(solve_spd(&pb.system(), &mut x, MAX_RHS + 1).is_err());
    let empty = MeshSystem {
        coords: &[],
        diag: &[],
        offsets: &[0],
        neighbours: &[],
        values: &[],
    };
    solve_spd(&empty, &mut [], 2).unwrap();
}

#[test]
fn rejects_inconsistent_graphs() {
    let pb = problem(3, 3, 1);
    let mut neighbours = pb.neighbours.clone();
    neighbours[4] = 9;
    let mut x = vec![0.0; 9];
    let bad = MeshSystem {
        neighbours: &neighbours,
        ..pb.system()
    };
    assert!(solve_spd(&bad, &mut x, 1).is_err());
    let bad = MeshSystem {
        offsets: &pb.offsets[..9],
        ..pb.system()
    };
    assert!(solve_spd(&bad, &mut x, 1).is_err());
}
