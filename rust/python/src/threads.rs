//! sciml's rayon thread pool.
//!
//! The pool has `SCIML_NUM_THREADS` threads if that is set, else `RAYON_NUM_THREADS`,
//! else one per CPU; `set_num_threads` changes it at run time. A process forked after
//! the pool started (e.g. a DataLoader worker) gets a fresh pool on first use instead of
//! waiting on threads that do not exist in the child.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOL: Mutex<Option<PoolState>> = Mutex::new(None);
static REQUESTED: Mutex<Option<usize>> = Mutex::new(None);

fn default_threads() -> usize {
    ["SCIML_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .filter_map(|v| v.trim().parse::<usize>().ok())
        .find(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn wanted_threads() -> usize {
    let requested = *REQUESTED.lock().unwrap_or_else(|e| e.into_inner());
    requested.unwrap_or_else(default_threads)
}

/// The pool to run kernels on, (re)built if the thread count changed or after a fork.
pub(crate) fn pool() -> PyResult<Arc<ThreadPool>> {
    let threads = wanted_threads();
    let pid = std::process::id();
    let mut state = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = state.as_ref() {
        if s.pid == pid && s.threads == threads {
            return Ok(s.pool.clone());
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sciml-{i}"))
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start {threads} threads: {e}")))?;
    let pool = Arc::new(pool);
    *state = Some(PoolState {
        pid,
        threads,
        pool: pool.clone(),
    });
    Ok(pool)
}

/// Sets the number of threads sciml's kernels use; `None` or 0 restores the default
/// (`SCIML_NUM_THREADS`, else `RAYON_NUM_THREADS`, else one per CPU).
#[pyfunction]
#[pyo3(signature = (n=None))]
pub fn set_num_threads(n: Option<i64>) -> PyResult<()> {
    let n = match n {
        None | Some(0) => None,
        Some(v) if v < 0 => {
            return Err(PyValueError::new_err(format!(
                "the number of threads must be >= 0, got {v}"
            )))
        }
        Some(v) => Some(v as usize),
    };
    *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) = n;
    Ok(())
}

/// The number of threads sciml's kernels use.
#[pyfunction]
pub fn get_num_threads() -> usize {
    wanted_threads()
}
