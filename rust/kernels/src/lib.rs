//! sciml-kernels: the numerical kernels of sciml, in pure Rust.
//!
//! Every kernel takes plain slices (row-major, C order) and returns
//! `Result<_, KernelError>`; it never panics on bad input, and it checks its peak
//! working memory before allocating (`KernelError::Memory`), so a request too large for
//! the machine is an error, never an allocation abort. Parallel work runs on
//! the current rayon thread pool, and every result is deterministic for a given
//! input, whatever the number of threads.
//!
//! Kernels:
//! - [`gaussian`]: the Gaussian feature embedding of physics-informed Gaussians
//!   (PIG), with its x-derivatives and the gradients of all its inputs.
//! - [`fastrp`]: FastRP node embeddings of a CSR graph by very sparse random projection.
//! - [`graph`]: GTE's exact scores and top-k recommendations over a users x items CSR
//!   matrix, by chunks of item columns.
//! - [`mesh`]: meshes of simplices for MMGP: Floater and RBF morphing, mesh quality, and
//!   P1 field transfer between meshes.

mod error;
pub mod fastrp;
pub mod gaussian;
pub mod graph;
mod memory;
pub mod mesh;
mod real;

pub use error::KernelError;
pub use real::Real;
