//! The Gaussian embedding against a naive all-pairs reference, finite differences,
//! the layouts against each other, thread counts, and bad input.

// Index loops mirror the formulas (several arrays indexed by the same j).
#![allow(clippy::needless_range_loop)]

use sciml_kernels::gaussian::{
    gaussian_embedding_backward, gaussian_embedding_forward, Embedding, EmbeddingOptions,
    Gaussians, Layout, Upstream, DEFAULT_CUTOFF,
};
use sciml_kernels::KernelError;

mod common;
use common::Rng;

struct Case {
    d: usize,
    x: Vec<f64>,
    mu: Vec<f64>,
    sigma: Vec<f64>,
    w: Vec<f64>,
    layout: Layout,
}

impl Case {
    fn random(seed: u64, n: usize, k: usize, d: usize, layout: Layout) -> Case {
        let mut rng = Rng(seed);
        let w_len = match layout {
            Layout::Shared { channels } => k * channels,
            Layout::PerChannel { .. } => k,
        };
        Case {
            d,
            x: rng.vec(n * d, -1.0, 1.0),
            mu: rng.vec(k * d, -1.2, 1.2),
            sigma: rng.vec(k * d, 0.05, 0.4),
            w: rng.vec(w_len, -1.0, 1.0),
            layout,
        }
    }

    fn gaussians(&self) -> Gaussians<'_, f64> {
        Gaussians {
            dim: self.d,
            mu: &self.mu,
            sigma: &self.sigma,
            weights: &self.w,
            layout: self.layout,
        }
    }

    fn forward(&self, order: usize, cutoff: Option<f64>) -> Embedding<f64> {
        gaussian_embedding_forward(
            &self.x,
            &self.gaussians(),
            &EmbeddingOptions { order, cutoff },
        )
        .unwrap()
    }

    /// Every pair, straight from the formulas: (phi, d1, d2).
    fn naive(&self) -> Embedding<f64> {
        let d = self.d;
        let n = self.x.len() / d;
        let k = self.mu.len() / d;
        let f = self.layout.channels();
        let mut out = Embedding {
            phi: vec![0.0; n * f],
            d1: vec![0.0; n * d * f],
            d2: vec![0.0; n * d * f],
        };
        for i in 0..n {
            for g in 0..k {
                let r: Vec<f64> = (0..d)
                    .map(|j| (self.x[i * d + j] - self.mu[g * d + j]) / self.sigma[g * d + j])
                    .collect();
                let val = (-0.5 * r.iter().map(|v| v * v).sum::<f64>()).exp();
                let weights: Vec<(usize, f64)> = match self.layout {
                    Layout::Shared { channels } => (0..channels)
                        .map(|c| (c, self.w[g * channels + c]))
                        .collect(),
                    Layout::PerChannel { channels } => vec![(g / (k / channels), self.w[g])],
                };
                for (c, wv) in weights {
                    out.phi[i * f + c] += wv * val;
                    for j in 0..d {
                        let s = self.sigma[g * d + j];
                        out.d1[(i * d + j) * f + c] += wv * (-r[j] / s) * val;
                        out.d2[(i * d + j) * f + c] += wv * (r[j] * r[j] - 1.0) / (s * s) * val;
                    }
                }
            }
        }
        out
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn layouts() -> [Layout; 2] {
    [
        Layout::Shared { channels: 3 },
        Layout::PerChannel { channels: 3 },
    ]
}

#[test]
fn exact_mode_matches_the_naive_sum() {
    for d in 1..=3 {
        for layout in layouts() {
            let case = Case::random(7 + d as u64, 70, 24, d, layout);
            let (got, want) = (case.forward(2, None), case.naive());
            assert!(
                max_abs_diff(&got.phi, &want.phi) < 1e-12,
                "phi, d = {d}, {layout:?}"
            );
            assert!(
                max_abs_diff(&got.d1, &want.d1) < 1e-10,
                "d1, d = {d}, {layout:?}"
            );
            assert!(
                max_abs_diff(&got.d2, &want.d2) < 1e-9,
                "d2, d = {d}, {layout:?}"
            );
        }
    }
}

#[test]
fn cutoff_mode_stays_within_its_stated_bound() {
    // Each dropped term is below 5.2e-8 of its Gaussian's peak (|w|, |w| e^-1/2 / s, |w| / s^2).
    for d in 1..=3 {
        for layout in layouts() {
            let case = Case::random(30 + d as u64, 300, 60, d, layout);
            let (got, want) = (case.forward(2, Some(DEFAULT_CUTOFF)), case.naive());
            let wsum: f64 = case.w.iter().map(|v| v.abs()).sum();
            let smin = case.sigma.iter().cloned().fold(f64::INFINITY, f64::min);
            let bound = 5.2e-8 * wsum;
            assert!(max_abs_diff(&got.phi, &want.phi) <= bound);
            assert!(max_abs_diff(&got.d1, &want.d1) <= bound / smin);
            assert!(max_abs_diff(&got.d2, &want.d2) <= bound / (smin * smin));
        }
    }
}

#[test]
fn lower_orders_are_prefixes_of_order_two() {
    let case = Case::random(3, 40, 10, 2, Layout::Shared { channels: 2 });
    let full = case.forward(2, Some(4.0));
    let first = case.forward(1, Some(4.0));
    let zeroth = case.forward(0, Some(4.0));
    assert_eq!(first.phi, full.phi);
    assert_eq!(first.d1, full.d1);
    assert!(first.d2.is_empty());
    assert_eq!(zeroth.phi, full.phi);
    assert!(zeroth.d1.is_empty());
}

#[test]
fn per_channel_layout_equals_shared_layout_with_block_weights() {
    let (k, c) = (12, 3);
    let pc = Case::random(11, 50, k, 2, Layout::PerChannel { channels: c });
    let mut dense = vec![0.0; k * c];
    for g in 0..k {
        dense[g * c + g / (k / c)] = pc.w[g];
    }
    let shared = Case {
        w: dense,
        layout: Layout::Shared { channels: c },
        ..Case::random(11, 50, k, 2, Layout::PerChannel { channels: c })
    };
    for cutoff in [None, Some(DEFAULT_CUTOFF)] {
        let (a, b) = (pc.forward(2, cutoff), shared.forward(2, cutoff));
        assert!(max_abs_diff(&a.phi, &b.phi) < 1e-13);
        assert!(max_abs_diff(&a.d2, &b.d2) < 1e-10);
    }
}

/// L = sum of all outputs times fixed random weights: its gradient by the kernel
/// against central finite differences.
#[test]
fn backward_matches_finite_differences() {
    for layout in layouts() {
        for cutoff in [None, Some(DEFAULT_CUTOFF)] {
            let case = Case::random(5, 9, 6, 2, layout);
            let base = case.forward(2, cutoff);
            let mut rng = Rng(99);
            let (up_phi, up_d1, up_d2) = (
                rng.vec(base.phi.len(), -1.0, 1.0),
                rng.vec(base.d1.len(), -1.0, 1.0),
                rng.vec(base.d2.len(), -1.0, 1.0),
            );
            let loss = |c: &Case| {
                let e = c.forward(2, cutoff);
                let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                dot(&e.phi, &up_phi) + dot(&e.d1, &up_d1) + dot(&e.d2, &up_d2)
            };
            let up = Upstream {
                phi: Some(&up_phi[..]),
                d1: Some(&up_d1[..]),
                d2: Some(&up_d2[..]),
            };
            let grads =
                gaussian_embedding_backward(&case.x, &case.gaussians(), &up, cutoff).unwrap();
            let h = 1e-6;
            type Field = fn(&mut Case) -> &mut Vec<f64>;
            let fields: [(&str, Field, &Vec<f64>); 4] = [
                ("x", |c| &mut c.x, &grads.x),
                ("mu", |c| &mut c.mu, &grads.mu),
                ("sigma", |c| &mut c.sigma, &grads.sigma),
                ("w", |c| &mut c.w, &grads.weights),
            ];
            for (name, field, analytic) in fields {
                for idx in 0..analytic.len() {
                    let mut plus = Case {
                        x: case.x.clone(),
                        mu: case.mu.clone(),
                        sigma: case.sigma.clone(),
                        w: case.w.clone(),
                        ..case
                    };
                    field(&mut plus)[idx] += h;
                    let mut minus = Case {
                        x: case.x.clone(),
                        mu: case.mu.clone(),
                        sigma: case.sigma.clone(),
                        w: case.w.clone(),
                        ..case
                    };
                    field(&mut minus)[idx] -= h;
                    let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
                    let err = (numeric - analytic[idx]).abs();
                    assert!(
                        err < 1e-5 * (1.0 + numeric.abs()),
                        "{name}[{idx}] {layout:?} {cutoff:?}: {numeric} vs {}",
                        analytic[idx]
                    );
                }
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let case = Case::random(21, 3000, 500, 2, Layout::Shared { channels: 4 });
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let e = case.forward(2, Some(DEFAULT_CUTOFF));
            let up = Upstream {
                phi: Some(&e.phi[..]),
                d1: Some(&e.d1[..]),
                d2: Some(&e.d2[..]),
            };
            let g =
                gaussian_embedding_backward(&case.x, &case.gaussians(), &up, Some(DEFAULT_CUTOFF))
                    .unwrap();
            (e, g)
        })
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
}

#[test]
fn float32_agrees_with_float64() {
    let case = Case::random(8, 200, 40, 2, Layout::Shared { channels: 2 });
    let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (x, mu, sigma, w) = (
        to32(&case.x),
        to32(&case.mu),
        to32(&case.sigma),
        to32(&case.w),
    );
    let g = Gaussians {
        dim: 2,
        mu: &mu,
        sigma: &sigma,
        weights: &w,
        layout: case.layout,
    };
    let got = gaussian_embedding_forward(&x, &g, &EmbeddingOptions::default()).unwrap();
    let want = case.forward(2, Some(DEFAULT_CUTOFF));
    let scale = want.d2.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (a, b) in got.d2.iter().zip(&want.d2) {
        assert!((*a as f64 - b).abs() < 1e-5 * scale);
    }
}

#[test]
fn empty_inputs_give_empty_or_zero_outputs() {
    let none = Case::random(1, 0, 5, 2, Layout::Shared { channels: 2 });
    let e = none.forward(2, Some(DEFAULT_CUTOFF));
    assert!(e.phi.is_empty() && e.d1.is_empty() && e.d2.is_empty());
    let no_gaussians = Case::random(1, 5, 0, 2, Layout::Shared { channels: 2 });
    for cutoff in [None, Some(DEFAULT_CUTOFF)] {
        let e = no_gaussians.forward(2, cutoff);
        assert_eq!(e.phi, vec![0.0; 10]);
        let up = Upstream {
            phi: Some(&e.phi[..]),
            ..Default::default()
        };
        let g =
            gaussian_embedding_backward(&no_gaussians.x, &no_gaussians.gaussians(), &up, cutoff)
                .unwrap();
        assert_eq!(g.x, vec![0.0; 10]);
    }
}

#[test]
fn far_points_tiny_and_huge_sigmas() {
    let mut case = Case::random(4, 60, 20, 2, Layout::Shared { channels: 1 });
    case.x[0] = 1e6;
    case.x[1] = -1e6;
    case.x[2] = case.x[4];
    case.x[3] = case.x[5];
    for (i, s) in case.sigma.iter_mut().enumerate() {
        *s = if i % 3 == 0 {
            1e-4
        } else if i % 3 == 1 {
            1e4
        } else {
            *s
        };
    }
    let want = case.naive();
    for cutoff in [None, Some(DEFAULT_CUTOFF)] {
        let got = case.forward(2, cutoff);
        assert!(max_abs_diff(&got.phi, &want.phi) < 1e-7, "{cutoff:?}");
        assert!(got.d2.iter().all(|v| v.is_finite()));
        assert_eq!(got.phi[1], got.phi[2]);
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let case = Case::random(2, 10, 4, 2, Layout::Shared { channels: 2 });
    let opts = EmbeddingOptions::default();
    let run = |x: &[f64],
               mu: &[f64],
               sigma: &[f64],
               w: &[f64],
               layout: Layout,
               opts: &EmbeddingOptions| {
        let g = Gaussians {
            dim: 2,
            mu,
            sigma,
            weights: w,
            layout,
        };
        gaussian_embedding_forward(x, &g, opts).map(|_| ())
    };
    let shared = case.layout;
    assert!(matches!(
        run(&case.x[..5], &case.mu, &case.sigma, &case.w, shared, &opts),
        Err(KernelError::Shape(_))
    ));
    assert!(matches!(
        run(&case.x, &case.mu, &case.sigma[..6], &case.w, shared, &opts),
        Err(KernelError::Shape(_))
    ));
    assert!(matches!(
        run(&case.x, &case.mu, &case.sigma, &case.w[..7], shared, &opts),
        Err(KernelError::Shape(_))
    ));
    assert!(matches!(
        run(
            &case.x,
            &case.mu,
            &case.sigma,
            &case.w[..4],
            Layout::PerChannel { channels: 3 },
            &opts
        ),
        Err(KernelError::Shape(_))
    ));
    let mut bad = case.sigma.clone();
    bad[3] = 0.0;
    let err = run(&case.x, &case.mu, &bad, &case.w, shared, &opts).unwrap_err();
    assert!(err.to_string().contains("sigma[1, 1]"), "{err}");
    let mut nan = case.x.clone();
    nan[0] = f64::NAN;
    assert!(matches!(
        run(&nan, &case.mu, &case.sigma, &case.w, shared, &opts),
        Err(KernelError::Value(_))
    ));
    let mut inf = case.w.clone();
    inf[1] = f64::INFINITY;
    assert!(matches!(
        run(&case.x, &case.mu, &case.sigma, &inf, shared, &opts),
        Err(KernelError::Value(_))
    ));
    for bad_opts in [
        EmbeddingOptions {
            order: 3,
            cutoff: None,
        },
        EmbeddingOptions {
            order: 1,
            cutoff: Some(-1.0),
        },
    ] {
        assert!(matches!(
            run(&case.x, &case.mu, &case.sigma, &case.w, shared, &bad_opts),
            Err(KernelError::Value(_))
        ));
    }
    let g = case.gaussians();
    let short = [0.0; 3];
    let up = Upstream {
        phi: Some(&short[..]),
        ..Default::default()
    };
    assert!(matches!(
        gaussian_embedding_backward(&case.x, &g, &up, None),
        Err(KernelError::Shape(_))
    ));
}
