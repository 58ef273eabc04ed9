//! Kernels of the graph recommendation models over a users x items interaction matrix.
//!
//! - [`gte`]: the scores and top-k recommendations of GTE (Cai, Xia, Ren and Huang,
//!   CIKM 2023), exactly, by columns of items, without the dense users x items matrix.

pub mod gte;

pub use gte::{gte_scores, gte_topk, Bipartite};
