//! The error type every kernel returns for bad input.

use thiserror::Error;

/// An input a kernel refuses, with a message naming the argument and its shape or value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KernelError {
    /// A slice length or dimension does not match the others.
    #[error("{0}")]
    Shape(String),
    /// A value is outside its domain (NaN, infinite, non-positive where positive is needed, ...).
    #[error("{0}")]
    Value(String),
    /// The input asks for more memory than the system can provide (see `memory`).
    #[error("{0}")]
    Memory(String),
}

impl KernelError {
    pub(crate) fn shape(msg: impl Into<String>) -> Self {
        KernelError::Shape(msg.into())
    }
    pub(crate) fn value(msg: impl Into<String>) -> Self {
        KernelError::Value(msg.into())
    }
}
