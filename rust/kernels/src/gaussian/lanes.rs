//! The per-lane maths shared by the forward and backward passes: for one point and
//! LANES packed entries, the standardised offsets r, the Gaussian values G and the
//! factors of the derivatives. Loops run over lanes innermost so that they vectorise.

use super::pack::{Packed, LANES};
use crate::Real;

pub(super) type Lane<T> = [T; LANES];

#[inline(always)]
pub(super) fn lane<T: Real>(values: &[T], at: usize) -> &Lane<T> {
    values[at..at + LANES]
        .try_into()
        .expect("packed runs are whole lanes")
}

#[inline(always)]
pub(super) fn lane_mut<T: Real>(values: &mut [T], at: usize) -> &mut Lane<T> {
    (&mut values[at..at + LANES])
        .try_into()
        .expect("packed runs are whole lanes")
}

/// Offsets, inverse sigmas and Gaussian values of entries `e0 .. e0 + LANES` at one point.
pub(super) struct Chunk<T> {
    /// (d) lanes of r_j = (x_j - mu_j) / sigma_j; zero where the entry is cut off.
    pub r: Vec<Lane<T>>,
    /// (d) lanes of 1 / sigma_j.
    pub inv_s: Vec<Lane<T>>,
    /// G = exp(-|r|^2 / 2) within the cutoff, else 0.
    pub g: Lane<T>,
}

impl<T: Real> Chunk<T> {
    pub fn new(d: usize) -> Self {
        Chunk {
            r: vec![[T::ZERO; LANES]; d],
            inv_s: vec![[T::ZERO; LANES]; d],
            g: [T::ZERO; LANES],
        }
    }

    /// Evaluates entries `e0..e0 + LANES` at point `xi`; false if all are cut off
    /// (`|r|^2 > c2`), in which case the chunk contributes nothing.
    #[inline(always)]
    pub fn eval(&mut self, p: &Packed<T>, xi: &[T], e0: usize, c2: T) -> bool {
        let e = p.entries;
        let mut s = [T::ZERO; LANES];
        for (j, &xj) in xi.iter().enumerate() {
            let mu = *lane(&p.mu, j * e + e0);
            let is = *lane(&p.inv_sigma, j * e + e0);
            let mut r = [T::ZERO; LANES];
            for l in 0..LANES {
                r[l] = (xj - mu[l]) * is[l];
                s[l] += r[l] * r[l];
            }
            self.r[j] = r;
            self.inv_s[j] = is;
        }
        let mut any = false;
        for &sl in &s {
            any |= sl <= c2;
        }
        if !any {
            return false;
        }
        let half = T::from_f64(0.5);
        let mut g = [T::ZERO; LANES];
        for l in 0..LANES {
            // Computed for every lane, then selected: a branch would stop vectorisation.
            let value = (-(s[l] * half)).exp_nonpositive();
            g[l] = if s[l] <= c2 { value } else { T::ZERO };
        }
        self.g = g;
        for r in self.r.iter_mut() {
            for l in 0..LANES {
                r[l] = if s[l] <= c2 { r[l] } else { T::ZERO };
            }
        }
        true
    }

    /// dG/dx_j = -r_j / sigma_j G, written into `out`.
    #[inline(always)]
    pub fn first_derivative(&self, j: usize, out: &mut Lane<T>) {
        let (r, is, g) = (self.r[j], self.inv_s[j], self.g);
        for l in 0..LANES {
            out[l] = -(r[l] * is[l] * g[l]);
        }
    }

    /// d2G/dx_j^2 = (r_j^2 - 1) / sigma_j^2 G, written into `out`.
    #[inline(always)]
    pub fn second_derivative(&self, j: usize, out: &mut Lane<T>) {
        let (r, is, g) = (self.r[j], self.inv_s[j], self.g);
        for l in 0..LANES {
            out[l] = (r[l] * r[l] - T::ONE) * is[l] * is[l] * g[l];
        }
    }
}

// The lane helpers load whole lanes into locals before computing and store whole lanes
// after: LLVM then vectorises them without having to prove that the arrays do not alias.

/// `acc += a * b`, lane by lane.
#[inline(always)]
pub(super) fn add_product<T: Real>(acc: &mut Lane<T>, a: &Lane<T>, b: &Lane<T>) {
    let (a, b, mut out) = (*a, *b, *acc);
    for l in 0..LANES {
        out[l] += a[l] * b[l];
    }
    *acc = out;
}

/// `acc += a * s` for a scalar s, lane by lane.
#[inline(always)]
pub(super) fn add_scaled<T: Real>(acc: &mut Lane<T>, a: &Lane<T>, s: T) {
    let (a, mut out) = (*a, *acc);
    for l in 0..LANES {
        out[l] += a[l] * s;
    }
    *acc = out;
}

/// `acc += v`, lane by lane.
#[inline(always)]
pub(super) fn add<T: Real>(acc: &mut Lane<T>, v: &Lane<T>) {
    let (v, mut out) = (*v, *acc);
    for l in 0..LANES {
        out[l] += v[l];
    }
    *acc = out;
}

/// The sum of a lane, in lane order.
#[inline(always)]
pub(super) fn lane_sum<T: Real>(v: &Lane<T>) -> T {
    let mut s = T::ZERO;
    for &x in v {
        s += x;
    }
    s
}
