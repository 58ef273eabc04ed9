//! How the packed cells are split into parallel tasks, and the CPU-feature dispatch.

use super::pack::Packed;

/// Tasks aimed at over all cells together.
const TARGET_TASKS: usize = 256;
const MIN_POINTS_PER_TASK: usize = 64;
/// Upper bound on one cell's per-task gradient buffers together, in elements.
const MAX_CELL_BUFFER: usize = 1 << 22;

/// A block of points of one cell: positions `points` in `Packed::point_order`.
#[derive(Clone, Debug)]
pub(super) struct Task {
    pub cell: usize,
    pub points: std::ops::Range<usize>,
}

/// Splits every cell that has points and entries into blocks of points. The split
/// depends on the inputs only, never on the thread count, so results are reproducible.
/// `per_entry` is the size of the backward's gradient buffer per packed entry.
pub(super) fn tasks<T>(p: &Packed<T>, per_entry: usize) -> Vec<Task> {
    let n = p.point_order.len().max(1);
    let mut out = Vec::new();
    for cell in 0..p.cells() {
        let (a, b) = (p.point_start[cell], p.point_start[cell + 1]);
        let seg = p.cell_entries(cell).len();
        if a == b || seg == 0 {
            continue;
        }
        let count = b - a;
        let by_share = (count * TARGET_TASKS).div_ceil(n);
        let by_size = count.div_ceil(MIN_POINTS_PER_TASK);
        let by_memory = (MAX_CELL_BUFFER / (seg * per_entry).max(1)).max(1);
        let blocks = by_share.min(by_size).min(by_memory).max(1);
        let size = count.div_ceil(blocks);
        let mut start = a;
        while start < b {
            let end = (start + size).min(b);
            out.push(Task {
                cell,
                points: start..end,
            });
            start = end;
        }
    }
    out
}

/// True where the AVX2 versions of the inner loops may run.
pub(super) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `$name` that runs the `#[inline(always)]` function `$body` compiled for AVX2
/// when `avx2` is true (checked with [`has_avx2`]), else for the baseline target. Both
/// compile the same operations in the same order, so results are identical.
macro_rules! dispatch_avx2 {
    ($name:ident, $body:ident, fn<$t:ident>($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name<$t: Real>(avx2: bool, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn with_avx2<$t: Real>($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                if avx2 {
                    // SAFETY: `avx2` comes from `has_avx2()`: the CPU supports AVX2.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            let _ = avx2;
            $body($($arg),*)
        }
    };
}
pub(super) use dispatch_avx2;
