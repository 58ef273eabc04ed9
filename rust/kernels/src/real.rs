//! The floating-point element types kernels accept (f32 and f64).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

/// A floating-point scalar: implemented for `f32` and `f64`.
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    /// The largest `s` for which `exp(-s / 2)` is still a normal number; beyond it the
    /// kernels treat a Gaussian as exactly zero.
    const MAX_SQUARED_RADIUS: Self;
    /// The largest finite value, as f64.
    const MAX_F64: f64;
    /// The type's name, for messages.
    const NAME: &'static str;
    /// Converts from f64, rounding to the nearest representable value.
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn is_finite(self) -> bool;
    /// `exp(self)` for `-MAX_SQUARED_RADIUS / 2 <= self <= 0`, branch-free so that loops
    /// over arrays of it vectorise (std's `exp` is a library call). Relative error below
    /// 2e-7 (f32) and 3e-16 (f64).
    fn exp_nonpositive(self) -> Self;
}

// exp(x) = 2^n exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2; exp(r) by its Taylor
// polynomial (degree 7 for f32, 13 for f64: the first dropped term is below half an ulp).
// n is rounded with the add-and-subtract trick (valid for |n| < 2^22), which also leaves n
// in the low bits of the sum, from which 2^n is built directly as a float's exponent.
macro_rules! impl_real {
    ($t:ty, $mantissa:expr, $bias:expr, $max_s:expr, $degree:expr, $ln2_hi:expr, $ln2_lo:expr) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const MAX_SQUARED_RADIUS: Self = $max_s;
            const MAX_F64: f64 = <$t>::MAX as f64;
            const NAME: &'static str = stringify!($t);
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn exp_nonpositive(self) -> Self {
                // ln 2 = LN2_HI + LN2_LO, with LN2_HI's low bits zero so that n * LN2_HI is exact
                // (Cody and Waite; the constants of fdlibm).
                const LN2_HI: $t = $ln2_hi;
                const LN2_LO: $t = $ln2_lo;
                const MAGIC: $t = 1.5 * (1u64 << $mantissa) as $t;
                let x = self.max(-$max_s / 2.0).min(0.0);
                let t = x * std::f64::consts::LOG2_E as $t + MAGIC;
                let n = t - MAGIC;
                let n_int = t.to_bits().wrapping_sub(MAGIC.to_bits());
                let r = (x - n * LN2_HI) - n * LN2_LO;
                let mut p: $t = 1.0;
                let mut k = $degree;
                while k > 0 {
                    p = 1.0 + p * (r * (1.0 / k as $t));
                    k -= 1;
                }
                let scale = <$t>::from_bits(n_int.wrapping_add($bias) << $mantissa);
                p * scale
            }
        }
    };
}

impl_real!(
    f32,
    23,
    127,
    174.0,
    7,
    f32::from_bits(0x3f31_7200),
    f32::from_bits(0x35bf_be8e)
);
impl_real!(
    f64,
    52,
    1023,
    1416.0,
    13,
    f64::from_bits(0x3fe6_2e42_fee0_0000),
    f64::from_bits(0x3dea_39ef_3579_3c76)
);

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn exp_nonpositive_matches_std() {
        let mut worst32 = 0.0f64;
        let mut worst64 = 0.0f64;
        for i in 0..=200_000 {
            let x = -(i as f64) * 87.0 / 200_000.0;
            let e32 = (x as f32).exp_nonpositive() as f64;
            let r32 = (x as f32).exp() as f64;
            worst32 = worst32.max((e32 - r32).abs() / r32);
            let x = -(i as f64) * 708.0 / 200_000.0;
            worst64 = worst64.max((x.exp_nonpositive() - x.exp()).abs() / x.exp());
        }
        assert!(worst32 < 2e-7, "f32 relative error {worst32}");
        assert!(worst64 < 3e-16, "f64 relative error {worst64}");
        assert_eq!(0.0f64.exp_nonpositive(), 1.0);
        assert_eq!(0.0f32.exp_nonpositive(), 1.0);
    }
}
