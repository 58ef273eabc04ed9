//! Meshes of simplices: morphing and finite-element field transfer (MMGP).

pub mod transfer;
