//! Times the Gaussian embedding on the benchmark case of issue 2 (N = 16384 points in
//! [-1, 1]^2, K = 4096 Gaussians, F = 4, float32, order 2): `cargo run --release --example embed_timing`.

use sciml_kernels::gaussian::{
    gaussian_embedding_backward, gaussian_embedding_forward, EmbeddingOptions, Gaussians, Layout,
    Upstream,
};
use std::time::Instant;

fn lcg(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 40) as f32) / (1u64 << 24) as f32
}

fn main() {
    let (n, k, f) = (16384usize, 4096usize, 4usize);
    let mut s = 1u64;
    let x: Vec<f32> = (0..2 * n).map(|_| 2.0 * lcg(&mut s) - 1.0).collect();
    let mu: Vec<f32> = (0..2 * k).map(|_| 2.0 * lcg(&mut s) - 1.0).collect();
    let w: Vec<f32> = (0..k * f).map(|_| lcg(&mut s) - 0.5).collect();
    for sigma0 in [0.1f32, 0.03] {
        let sigma = vec![sigma0; 2 * k];
        let g = Gaussians {
            dim: 2,
            mu: &mu,
            sigma: &sigma,
            weights: &w,
            layout: Layout::Shared { channels: f },
        };
        for _ in 0..3 {
            let t = Instant::now();
            let emb = gaussian_embedding_forward(&x, &g, &EmbeddingOptions::default()).unwrap();
            let t1 = t.elapsed();
            let up = Upstream {
                phi: Some(&emb.phi[..]),
                d1: Some(&emb.d1[..]),
                d2: Some(&emb.d2[..]),
            };
            let t = Instant::now();
            let _ = gaussian_embedding_backward(&x, &g, &up, Some(6.4)).unwrap();
            println!(
                "sigma {sigma0}: forward {:?} backward {:?}",
                t1,
                t.elapsed()
            );
        }
    }
}
