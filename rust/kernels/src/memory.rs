//! Memory checks before large allocations whose size comes from user input.
//!
//! Rust aborts the process when an allocation fails, so a kernel asked for more memory
//! than the machine has would take Python down with it. Each kernel estimates its peak
//! working memory with overflow-checked arithmetic and calls [`ensure_available`] first:
//! the request is refused with [`KernelError::Memory`] when it exceeds the memory the
//! system reports available (`MemAvailable + SwapFree` on Linux), or when the allocator
//! cannot reserve that much address space (e.g. under `ulimit -v`).

use crate::KernelError;

/// Bytes of `count` elements of `elem_bytes` each, or an error naming `what` on overflow.
pub(crate) fn bytes_of(what: &str, count: usize, elem_bytes: usize) -> Result<usize, KernelError> {
    count
        .checked_mul(elem_bytes)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            KernelError::Memory(format!("{what}: {count} x {elem_bytes} bytes overflows"))
        })
}

/// Sums byte counts, or an error naming `what` on overflow.
pub(crate) fn total(what: &str, parts: &[usize]) -> Result<usize, KernelError> {
    parts
        .iter()
        .try_fold(0usize, |acc, &p| acc.checked_add(p))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| KernelError::Memory(format!("{what}: the size overflows")))
}

/// Refuses `bytes` of working memory for `what` if the system cannot provide them.
pub(crate) fn ensure_available(what: &str, bytes: usize) -> Result<(), KernelError> {
    if let Some(limit) = available_bytes() {
        if bytes as u64 > limit {
            return Err(KernelError::Memory(format!(
                "{what} needs {} but {} is available",
                human(bytes as u64),
                human(limit)
            )));
        }
    }
    // Reserving address space touches no page, so this probe is cheap; it fails where the
    // real allocations would (address-space limits, overcommit refusal).
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| {
        KernelError::Memory(format!(
            "{what} needs {}, which cannot be allocated",
            human(bytes as u64)
        ))
    })
}

/// `MemAvailable + SwapFree` from /proc/meminfo, in bytes (None where unknown).
fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = info.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        kib.checked_mul(1024)
    };
    Some(field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0)))
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {} ({bytes} bytes)", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_requests_are_refused() {
        let err = ensure_available("test", 1usize << 60).unwrap_err();
        assert!(matches!(err, KernelError::Memory(_)));
        assert!(err.to_string().contains("test needs"), "{err}");
    }

    #[test]
    fn small_requests_pass() {
        ensure_available("test", 1 << 20).unwrap();
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(bytes_of("x", usize::MAX / 2, 8).is_err());
        assert!(total("x", &[usize::MAX, 1]).is_err());
        assert_eq!(bytes_of("x", 3, 8).unwrap(), 24);
        assert_eq!(total("x", &[3, 4]).unwrap(), 7);
    }
}
