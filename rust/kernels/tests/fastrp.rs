//! FastRP against a dense f64 reference of the same maths (same R), and its invariances
//! (thread count, storage and in-place paths) and input checks.

use sciml_kernels::fastrp::{
    fastrp_embedding, random_projection, CsrGraph, DegreeKind, FastRpOptions, Normalization,
};
use sciml_kernels::KernelError;

/// A graph as a list of weighted edges (i -> j, w) on n nodes, stored in CSR.
struct Graph {
    n: usize,
    indptr: Vec<i64>,
    indices: Vec<i64>,
    data: Vec<f32>,
}

impl Graph {
    fn new(n: usize, mut edges: Vec<(usize, usize, f32)>) -> Self {
        edges.sort_by_key(|e| (e.0, e.1));
        let mut indptr = vec![0i64; n + 1];
        for e in &edges {
            indptr[e.0 + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        Graph {
            n,
            indptr,
            indices: edges.iter().map(|e| e.1 as i64).collect(),
            data: edges.iter().map(|e| e.2).collect(),
        }
    }

    /// A seeded random graph: `m` random edges, made symmetric if asked; nodes
    /// `n - isolated..n` have no edges.
    fn random(n: usize, m: usize, isolated: usize, symmetric: bool, seed: u64) -> Self {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        let live = n - isolated;
        let mut edges = Vec::new();
        for _ in 0..m {
            let (a, b) = (next() % live, next() % live);
            let w = 0.5 + (next() % 8) as f32 * 0.25;
            edges.push((a, b, w));
            if symmetric {
                edges.push((b, a, w));
            }
        }
        Graph::new(n, edges)
    }

    fn csr(&self, weighted: bool) -> CsrGraph<'_, i64> {
        CsrGraph {
            indptr: &self.indptr,
            indices: &self.indices,
            data: weighted.then_some(&self.data[..]),
        }
    }

    /// Dense S (n, n) in f64 (duplicates add up).
    fn dense(&self, weighted: bool) -> Vec<f64> {
        let n = self.n;
        let mut s = vec![0.0; n * n];
        for i in 0..n {
            for e in self.indptr[i] as usize..self.indptr[i + 1] as usize {
                let w = if weighted { self.data[e] as f64 } else { 1.0 };
                s[i * n + self.indices[e] as usize] += w;
            }
        }
        s
    }
}

fn unit_rows(x: &mut [f64], d: usize) {
    for row in x.chunks_mut(d) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// FastRP from its definition, densely, in f64.
fn reference(g: &Graph, weighted: bool, opts: &FastRpOptions) -> Vec<f64> {
    let (n, d) = (g.n, opts.dim);
    let s = g.dense(weighted);
    let r0 = random_projection(n, d, opts.sparsity, opts.seed).unwrap();
    let wdeg: Vec<f64> = (0..n).map(|i| s[i * n..(i + 1) * n].iter().sum()).collect();
    let deg: Vec<f64> = match opts.degree {
        DegreeKind::Weighted => wdeg.clone(),
        DegreeKind::Count => (0..n)
            .map(|i| (g.indptr[i + 1] - g.indptr[i]) as f64)
            .collect(),
    };
    let mut r: Vec<f64> = r0.iter().map(|&v| v as f64).collect();
    for i in 0..n {
        let scale = if deg[i] > 0.0 {
            deg[i].powf(opts.beta)
        } else {
            1.0
        };
        r[i * d..(i + 1) * d].iter_mut().for_each(|v| *v *= scale);
    }
    let normalized = opts.normalization != Normalization::None;
    let mut e = vec![0.0; n * d];
    let mut n0 = r.clone();
    if normalized {
        unit_rows(&mut n0, d);
    }
    for (x, y) in e.iter_mut().zip(&n0) {
        *x += opts.self_influence * y;
    }
    let mut cur = r;
    for &alpha in &opts.weights {
        let mut next = vec![0.0; n * d];
        for i in 0..n {
            if wdeg[i] == 0.0 {
                continue;
            }
            for j in 0..n {
                let p = s[i * n + j] / wdeg[i];
                if p != 0.0 {
                    for c in 0..d {
                        next[i * d + c] += p * cur[j * d + c];
                    }
                }
            }
        }
        let mut term = next.clone();
        if normalized {
            unit_rows(&mut term, d);
        }
        if opts.normalization == Normalization::Propagate {
            next = term.clone();
        }
        for (x, y) in e.iter_mut().zip(&term) {
            *x += alpha * y;
        }
        cur = next;
    }
    if opts.standardize {
        for c in 0..d {
            let mean = (0..n).map(|i| e[i * d + c]).sum::<f64>() / n as f64;
            let var = (0..n).map(|i| (e[i * d + c] - mean).powi(2)).sum::<f64>() / n as f64;
            let std = var.sqrt();
            let f = if std > 0.0 && std > f32::EPSILON as f64 * mean.abs() {
                1.0 / std
            } else {
                1.0
            };
            for i in 0..n {
                e[i * d + c] = (e[i * d + c] - mean) * f;
            }
        }
    }
    e
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * scale,
            "{what}: entry {k}: {g} vs {w} (scale {scale})"
        );
    }
}

fn variants(n: usize) -> Vec<(&'static str, FastRpOptions)> {
    let paper = FastRpOptions::paper(24, n);
    let gds = FastRpOptions::gds(24);
    vec![
        ("paper", paper.clone()),
        (
            "paper, no normalisation",
            FastRpOptions {
                normalization: Normalization::None,
                weights: vec![1.0, 0.5, 2.0],
                ..paper.clone()
            },
        ),
        (
            "paper, self influence, dense R, no standardisation",
            FastRpOptions {
                sparsity: 2.0,
                self_influence: 0.7,
                standardize: false,
                ..paper.clone()
            },
        ),
        ("gds", gds.clone()),
        (
            "gds with strength and self influence",
            FastRpOptions {
                beta: -0.5,
                self_influence: 1.5,
                weights: vec![1.0, 0.0, 0.5, 2.0],
                seed: 9,
                ..gds.clone()
            },
        ),
        (
            "one step",
            FastRpOptions {
                weights: vec![3.0],
                ..paper.clone()
            },
        ),
        (
            "sparse powers",
            FastRpOptions {
                sparsity: 400.0,
                dim: 40,
                ..paper
            },
        ),
    ]
}

#[test]
fn matches_the_dense_reference() {
    let graphs = [
        ("symmetric", Graph::random(60, 150, 5, true, 1)),
        ("directed", Graph::random(50, 200, 3, false, 2)),
        ("self loops", {
            let mut g = Graph::random(30, 60, 0, true, 3);
            g = Graph::new(
                30,
                (0..30)
                    .flat_map(|i| {
                        let mut v: Vec<(usize, usize, f32)> = (g.indptr[i] as usize
                            ..g.indptr[i + 1] as usize)
                            .map(|e| (i, g.indices[e] as usize, g.data[e]))
                            .collect();
                        if i % 3 == 0 {
                            v.push((i, i, 2.0));
                        }
                        v
                    })
                    .collect(),
            );
            g
        }),
    ];
    for (gname, g) in &graphs {
        for weighted in [false, true] {
            for (vname, opts) in variants(g.n) {
                for low_memory in [Some(false), Some(true)] {
                    let opts = FastRpOptions {
                        low_memory,
                        ..opts.clone()
                    };
                    let got = fastrp_embedding(&g.csr(weighted), &opts).unwrap();
                    let want = reference(g, weighted, &opts);
                    let what = format!("{gname}, weighted {weighted}, {vname}, {low_memory:?}");
                    assert_close(&got, &want, 2e-5, &what);
                }
            }
        }
    }
}

#[test]
fn identical_for_any_thread_count_and_path() {
    let g = Graph::random(3000, 20000, 40, true, 7);
    for (name, opts) in variants(g.n) {
        let mut first: Option<Vec<f32>> = None;
        for threads in [1, 2, 3] {
            for low_memory in [false, true] {
                let opts = FastRpOptions {
                    low_memory: Some(low_memory),
                    ..opts.clone()
                };
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let e = pool.install(|| fastrp_embedding(&g.csr(true), &opts).unwrap());
                match &first {
                    None => first = Some(e),
                    Some(f) => assert!(
                        f == &e,
                        "{name}: {threads} threads, low_memory {low_memory}"
                    ),
                }
            }
        }
    }
}

#[test]
fn isolated_nodes_and_empty_graphs() {
    // no edges at all: every N_t is zero, so the embedding is zero
    let g = Graph::new(5, vec![]);
    let opts = FastRpOptions::paper(8, 5);
    let e = fastrp_embedding(&g.csr(false), &opts).unwrap();
    assert_eq!(e, vec![0.0; 40]);
    // ... except for the self term, which is R's normalised rows
    let e = fastrp_embedding(
        &g.csr(false),
        &FastRpOptions {
            self_influence: 1.0,
            standardize: false,
            ..FastRpOptions::gds(8)
        },
    )
    .unwrap();
    let r = random_projection(5, 8, 3.0, 0).unwrap();
    for (row, r) in e.chunks(8).zip(r.chunks(8)) {
        let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
        for (x, y) in row.iter().zip(r) {
            assert!((x - if norm > 0.0 { y / norm } else { 0.0 }).abs() < 1e-6);
        }
    }
    // no nodes
    let g = Graph::new(0, vec![]);
    assert!(fastrp_embedding(&g.csr(false), &opts).unwrap().is_empty());
    // isolated nodes among others: their rows of E are zero before standardisation
    let g = Graph::random(40, 100, 4, true, 5);
    let e = fastrp_embedding(
        &g.csr(true),
        &FastRpOptions {
            standardize: false,
            ..FastRpOptions::paper(16, 40)
        },
    )
    .unwrap();
    assert!(e[36 * 16..].iter().all(|&v| v == 0.0));
    assert!(e[..36 * 16].iter().any(|&v| v != 0.0));
}

fn err(g: CsrGraph<'_, i64>, opts: &FastRpOptions) -> String {
    match fastrp_embedding(&g, opts) {
        Err(KernelError::Shape(m) | KernelError::Value(m) | KernelError::Memory(m)) => m,
        Ok(_) => panic!("accepted a bad input"),
    }
}

#[test]
fn refuses_bad_input() {
    let opts = FastRpOptions::paper(8, 3);
    let csr =
        |indptr: &'static [i64], indices: &'static [i64], data: Option<&'static [f32]>| CsrGraph {
            indptr,
            indices,
            data,
        };
    let ok = csr(&[0, 1, 2, 2], &[1, 0], None);
    assert!(fastrp_embedding(&ok, &opts).is_ok());
    assert!(err(csr(&[], &[], None), &opts).contains("indptr"));
    assert!(err(csr(&[1, 1, 2, 2], &[1, 0], None), &opts).contains("indptr[0]"));
    assert!(err(csr(&[0, 2, 1, 2], &[1, 0], None), &opts).contains("non-decreasing"));
    assert!(err(csr(&[0, 1, 2, 3], &[1, 0], None), &opts).contains("indices has 2"));
    assert!(err(csr(&[0, 1, 2, 2], &[1, 3], None), &opts).contains("square"));
    assert!(err(csr(&[0, 1, 2, 2], &[-1, 0], None), &opts).contains("indices[0]"));
    assert!(err(csr(&[0, 1, 2, 2], &[1, 0], Some(&[1.0])), &opts).contains("data has 1"));
    assert!(err(csr(&[0, 1, 2, 2], &[1, 0], Some(&[1.0, -2.0])), &opts).contains("data[1]"));
    assert!(err(csr(&[0, 1, 2, 2], &[1, 0], Some(&[f32::NAN, 1.0])), &opts).contains("data[0]"));
    let bad = |f: &dyn Fn(&mut FastRpOptions)| {
        let mut o = opts.clone();
        f(&mut o);
        err(ok, &o)
    };
    assert!(bad(&|o| o.dim = 0).contains("dim"));
    assert!(bad(&|o| o.weights.clear()).contains("weights"));
    assert!(bad(&|o| o.weights[1] = f64::INFINITY).contains("weights[1]"));
    assert!(bad(&|o| o.sparsity = 0.5).contains("sparsity"));
    assert!(bad(&|o| o.beta = f64::NAN).contains("beta"));
    assert!(bad(&|o| o.self_influence = f64::NAN).contains("self_influence"));
    // a degree^beta that overflows float32
    let tiny = csr(&[0, 1, 2, 2], &[1, 0], Some(&[1e-30, 1.0]));
    let mut o = opts.clone();
    o.beta = -2.0;
    assert!(err(tiny, &o).contains("degree^beta"));
}

#[test]
fn random_projection_is_a_function_of_seed_and_node() {
    let a = random_projection(50, 64, 5.0, 3).unwrap();
    let b = random_projection(80, 64, 5.0, 3).unwrap();
    assert_eq!(a[..], b[..50 * 64]);
    let v = 5f32.sqrt();
    assert!(a.iter().all(|&x| x == 0.0 || x == v || x == -v));
    assert_ne!(a, random_projection(50, 64, 5.0, 4).unwrap());
}

#[test]
fn a_request_too_large_for_memory_is_an_error_not_an_abort() {
    // 34 nodes with dim 2^32 - 1: the count distribution alone would need 64 GiB, the
    // embedding's buffers 1.6 TiB.
    let g = Graph::random(34, 78, 4, false, 1);
    let opts = FastRpOptions::paper(u32::MAX as usize, 34);
    match fastrp_embedding(&g.csr(false), &opts) {
        Err(KernelError::Memory(m)) => assert!(m.contains("needs"), "{m}"),
        other => panic!("expected a memory error, got {:?}", other.map(|v| v.len())),
    }
}
