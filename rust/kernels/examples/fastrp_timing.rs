//! Times FastRP on a seeded random graph (default: 1M nodes, ~10M nonzeros, d = 256,
//! the paper's weights): `cargo run --release --example fastrp_timing [n] [edges] [dim] [repeats]`.

use sciml_kernels::fastrp::{fastrp_embedding, CsrGraph, FastRpOptions};
use std::time::Instant;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An undirected random graph with `m` edge draws (both directions stored), in CSR.
fn random_graph(n: usize, m: usize, seed: u64) -> (Vec<i64>, Vec<i32>) {
    let mut s = seed;
    let mut edges = Vec::with_capacity(2 * m);
    for _ in 0..m {
        let a = (splitmix(&mut s) % n as u64) as u32;
        let b = (splitmix(&mut s) % n as u64) as u32;
        if a != b {
            edges.push((a, b));
            edges.push((b, a));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let mut indptr = vec![0i64; n + 1];
    for &(a, _) in &edges {
        indptr[a as usize + 1] += 1;
    }
    for i in 0..n {
        indptr[i + 1] += indptr[i];
    }
    let indices = edges.iter().map(|&(_, b)| b as i32).collect();
    (indptr, indices)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("integer argument"))
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let m = args.get(1).copied().unwrap_or(5_000_000);
    let dim = args.get(2).copied().unwrap_or(256);
    let repeats = args.get(3).copied().unwrap_or(3);
    let (indptr, indices) = random_graph(n, m, 1);
    let graph = CsrGraph {
        indptr: &indptr,
        indices: &indices,
        data: None,
    };
    println!("n = {n}, nnz = {}, d = {dim}", indices.len());
    let opts = FastRpOptions::paper(dim, n);
    for _ in 0..repeats {
        let t = Instant::now();
        let e = fastrp_embedding(&graph, &opts).expect("valid graph");
        println!("{:.3} s ({} values)", t.elapsed().as_secs_f64(), e.len());
    }
}
