"""A generator of irregular, multi-resolution, ICU-like classification sets (offline, seeded).

Each patient has two latent states that evolve hour by hour as Ornstein–Uhlenbeck
processes around a patient-specific mean: a fast cardio-respiratory state c and a slow
organ-function state o. A patient's course is stable, deteriorating (the mean of c and o
ramps up from a random onset in the second half of the stay) or recovering (the patient
starts sicker and the mean ramps down); about a third of the patients also go through an
episode of instability (c's mean jumps up for 4-8 hours) that resolves before the end.

The outcome is drawn from a logistic model of the final state (c over the last three hours,
and o), of the recent trend of c (its mean's change over the last eight hours) and of the
size of the past episode. So the course matters, not only the level at the end: a sick but
recovering patient is at lower risk than one as sick and getting worse, and a patient who
was unstable earlier is at higher risk than the last values show. This is what a sequence
model can read and a summary of last values and means cannot (the benchmark's point: with
the outcome driven by level and trend alone, logistic regression on LOCF summaries came
within 0.01 AUROC of Multi-FIT). ``risk`` returns the true outcome probability (its AUROC
against y is the ceiling any model can reach, ~0.94).

Twelve signals are measured from the latent states with patient-specific offsets and noise
at three resolutions: five vitals (most hours), four labs in two panels (every ~6-12 h)
and three rare tests (a few times per stay, often never). Missingness is informative:
sicker patients are measured more often. Values are in clinical units.
"""

from __future__ import annotations

import numpy as np

from sciml._checks import check_int

FEATURE_NAMES = (
    "HR", "SysABP", "RespRate", "SpO2", "Temp",
    "Lactate", "pH", "Creatinine", "WBC",
    "TroponinT", "Bilirubin", "Albumin",
)  # fmt: skip
GROUPS = ((0, 1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11))

# loadings of each signal on (c, o), its noise in latent units, and its clinical units
_LOADINGS = np.array(
    [
        [1.0, 0.2], [-0.8, -0.2], [0.9, 0.3], [-0.7, -0.1], [0.4, 0.5],
        [0.6, 0.8], [-0.5, -0.6], [0.1, 1.0], [0.3, 0.7],
        [0.8, 0.3], [0.1, 0.9], [-0.2, -0.8],
    ]
)  # fmt: skip
_NOISE = np.array([0.6] * 5 + [0.35] * 4 + [0.35] * 3)
# the outcome's logit: intercept, recent c (last 3 h), final o, trend of c (last 8 h)
_OUTCOME = (-3.3, 0.9, 0.8, 3.0)
# P(a vital is measured in an hour) = lo + amp * sigmoid(gain * sickness - shift)
_VITAL_P = (0.55, 0.4, 2.0, 1.0)
_C_SIGMA = 0.2  # the hourly noise of the cardio-respiratory state's OU process
_TREND_HOURS = 8  # the outcome reads the change of c's mean over these last hours
_EPISODE = (0.3, 1.0)  # P(an episode of instability), its weight in the outcome's logit
_EPISODE_SIZE = (1.5, 2.5)  # its amplitude on c's mean (uniform)
_EPISODE_HOURS = (4.0, 8.0)  # its duration (uniform)
_OFFSET_SD = 0.5  # the sd of each patient's constant offset on each signal (latent units)
_VITAL_RATE = np.array([1.0, 0.95, 0.9, 0.95, 0.7])  # relative measuring rates of the vitals
_PANELS = ((5, 6), (7, 8))  # blood gas, chemistry: a panel's labs are ordered together


def _units(v: np.ndarray) -> np.ndarray:
    """Latent-scale signal values (..., 12) to clinical units."""
    out = np.empty_like(v)
    linear = {
        0: (85, 15),
        1: (120, 18),
        2: (18, 4),
        4: (37.0, 0.6),
        6: (7.38, 0.05),
        11: (3.0, 0.5),
    }
    for f, (mean, scale) in linear.items():
        out[..., f] = mean + scale * v[..., f]
    out[..., 3] = np.minimum(100.0, 96.0 + 2.0 * v[..., 3])  # SpO2 saturates at 100 %
    lognormal = {5: (0.4, 0.45), 7: (0.1, 0.4), 8: (2.3, 0.35), 9: (-3.0, 0.9), 10: (0.0, 0.6)}
    for f, (mu, s) in lognormal.items():
        out[..., f] = np.exp(mu + s * v[..., f])
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _ou(rng: np.random.Generator, mean: np.ndarray, theta: float, sigma: float) -> np.ndarray:
    """An OU path (n, T) following the moving mean (n, T), started in its stationary law."""
    n, t = mean.shape
    x = np.empty((n, t))
    x[:, 0] = mean[:, 0] + sigma / np.sqrt(2 * theta) * rng.normal(size=n)
    for step in range(1, t):
        x[:, step] = x[:, step - 1] + theta * (mean[:, step] - x[:, step - 1])
        x[:, step] += sigma * rng.normal(size=n)
    return x


def icu_timeseries(
    n: int,
    seed: int = 0,
    *,
    difficulty: float = 1.0,
    n_steps: int = 48,
) -> dict[str, object]:
    """``n`` simulated ICU stays of ``n_steps`` hours, 12 signals, binary outcome.

    Args:
        n: number of records.
        seed: the seed of everything drawn (same arguments, same set).
        difficulty: scales the measurement noise and the patient offsets (1: the
            benchmark's setting; 0.5 easier, 2 harder); the outcome model is unchanged.
        n_steps: hours per stay (>= 12).

    Returns:
        A PyPOTS-style dict: "X" (n, n_steps, 12) float64 with NaN = not measured, "y" (n,)
        int64 (1 = the adverse outcome, ~20 % of records), "timestamps" (n_steps,) hours,
        "risk" (n,) the true P(y = 1), "groups" the three resolution groups (lists of
        feature indices: vitals, labs, rare tests), "feature_names".
    """
    n = check_int(n, "n", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    t = check_int(n_steps, "n_steps", minimum=12)
    if not (difficulty > 0 and np.isfinite(difficulty)):
        raise ValueError(f"difficulty must be a finite number > 0, got {difficulty!r}")
    rng = np.random.default_rng(seed)
    hours = np.arange(t, dtype=np.float64)

    # the course: 0 stable, 1 deteriorating, 2 recovering
    severity = rng.normal(size=n)
    p_det = _sigmoid(-1.3 + 0.7 * severity)
    u = rng.uniform(size=n)
    course = np.where(u < p_det, 1, np.where(u < p_det + 0.2, 2, 0))
    onset = rng.uniform(0.35 * t, 0.85 * t, size=n)
    slope = rng.uniform(0.04, 0.16, size=n)  # latent units per hour
    ramp = np.maximum(hours[None, :] - onset[:, None], 0.0) * slope[:, None]
    ramp[course == 0] = 0.0
    ramp[course == 2] *= -1.0
    start = 0.4 * severity + np.where(course == 2, 1.0, 0.0)
    organ_base = 0.4 * severity + 0.4 * rng.normal(size=n) + np.where(course == 2, 0.5, 0.0)
    # an episode of instability that resolved before the end: a bump in c's mean
    p_episode, w_episode = _EPISODE
    episode = rng.uniform(*_EPISODE_SIZE, size=n) * (rng.uniform(size=n) < p_episode)
    ep_start = rng.uniform(0.1 * t, 0.75 * t, size=n)
    ep_hours = rng.uniform(*_EPISODE_HOURS, size=n)
    inside = (hours[None, :] >= ep_start[:, None]) & (
        hours[None, :] < (ep_start + ep_hours)[:, None]
    )
    bump = episode[:, None] * inside
    c = _ou(rng, start[:, None] + ramp + bump, theta=0.3, sigma=_C_SIGMA)
    o = _ou(rng, organ_base[:, None] + 0.4 * ramp, theta=0.08, sigma=0.1)

    # the outcome: final state, recent trend, past instability
    recent = c[:, -3:].mean(axis=1)
    trend = ramp[:, -1] - ramp[:, -1 - _TREND_HOURS]
    w0, w_recent, w_organ, w_trend = _OUTCOME
    logit = w0 + w_recent * recent + w_organ * o[:, -1] + w_trend * trend + w_episode * episode
    risk = _sigmoid(logit)
    y = (rng.uniform(size=n) < risk).astype(np.int64)

    # the signals, in latent units, then measured
    latent = np.stack([c, o], axis=-1) @ _LOADINGS.T  # (n, t, 12)
    offsets = _OFFSET_SD * difficulty * rng.normal(size=(n, 1, 12))
    noise = difficulty * _NOISE * rng.normal(size=(n, t, 12))
    values = _units(latent + offsets + noise)

    sick = c + 0.5 * o
    observed = np.zeros((n, t, 12), dtype=bool)
    lo, amp, gain, shift = _VITAL_P
    p_vital = lo + amp * _sigmoid(gain * sick - shift)
    observed[:, :, :5] = rng.uniform(size=(n, t, 5)) < p_vital[..., None] * _VITAL_RATE
    p_panel = (0.5 + 1.5 * _sigmoid(1.5 * sick - 1.0)) / 10.0
    for panel in _PANELS:
        ordered = rng.uniform(size=(n, t)) < p_panel
        for f in panel:
            observed[:, :, f] = ordered & (rng.uniform(size=(n, t)) < 0.92)
    p_rare = (0.3 + 1.7 * _sigmoid(2.0 * sick - 1.5)) / 36.0
    observed[:, :, 9:] = rng.uniform(size=(n, t, 3)) < p_rare[..., None]
    X = np.where(observed, values, np.nan)
    return {
        "X": X,
        "y": y,
        "timestamps": hours,
        "risk": risk,
        "groups": [list(g) for g in GROUPS],
        "feature_names": list(FEATURE_NAMES),
    }
