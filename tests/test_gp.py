"""sciml.gp: exact GP regression against its numpy/scipy twin, batching, calibration, errors."""

from __future__ import annotations

import io
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sciml.gp import (
    GPRegressor,
    JitterWarning,
    NotFittedError,
    coverage,
    gp_posterior_reference,
    kernel_reference,
    log_marginal_likelihood_reference,
    nlpd,
    q2,
    rel_rmse,
)
from sciml.gp import exact as exact_module
from sciml.gp._gpytorch import gpytorch
from sciml.gp.optim import batched_bfgs


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # The matrices here are tiny (n <= 60): one thread is fastest, and several thrash on
    # shared CPUs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _noisy(n: int, seed: int, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 2) in [-1, 2]^2; Y (n, 2): two smooth functions plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 2, (n, 2))
    f = np.stack([np.sin(2 * x[:, 0]) + 0.5 * x[:, 1], np.cos(x[:, 0] * x[:, 1])], axis=1)
    return x, f + noise * rng.normal(size=f.shape)


@pytest.fixture(scope="module")
def noisy_fit() -> tuple[GPRegressor, np.ndarray, np.ndarray]:
    x, y = _noisy(60, seed=0)
    return GPRegressor(n_restarts=1).fit(x, y), x, y


def _diagonal(gp: GPRegressor) -> np.ndarray:
    """The full diagonal term (m,) of the training covariance, original units."""
    return gp.noise_ + gp.jitter_ * gp.y_scale_**2


# -- accuracy --------------------------------------------------------------------------


def test_recovers_sin_1d_and_std_grows_away_from_data():
    x = np.linspace(0, 2 * np.pi, 15)[:, None]
    gp = GPRegressor(n_restarts=0).fit(x, np.sin(x[:, 0]))
    grid = np.linspace(0, 2 * np.pi, 200)[:, None]
    mean, std = gp.predict(grid, return_std=True)
    assert mean.shape == std.shape == (200,)
    np.testing.assert_allclose(mean, np.sin(grid[:, 0]), atol=2e-3)
    _, std_train = gp.predict(x, return_std=True, include_noise=False)
    assert std_train.max() < 1e-3
    _, std_far = gp.predict(np.array([[1e4]]), return_std=True, include_noise=False)
    assert std_far[0] > 100 * std_train.max()
    np.testing.assert_allclose(std_far[0] ** 2, gp.outputscale_[0], rtol=1e-6)


def test_recovers_smooth_2d_function():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (60, 2))

    def f(z: np.ndarray) -> np.ndarray:
        return np.sin(3 * z[:, 0]) * np.exp(z[:, 1])

    gp = GPRegressor(n_restarts=0).fit(x, f(x))
    test = rng.uniform(0.1, 0.9, (300, 2))
    assert rel_rmse(f(test), gp.predict(test)) < 5e-3


def test_coverage_near_nominal_on_noisy_problem(noisy_fit):
    gp, _, _ = noisy_fit
    x_test, y_test = _noisy(3000, seed=1)
    mean, std = gp.predict(x_test, return_std=True)
    assert mean.shape == std.shape == (3000, 2)
    for level in (0.9, 0.95):
        assert abs(coverage(y_test, mean, std, level) - level) < 0.05
    # the learned noise is near the true one (0.1^2), in original units
    np.testing.assert_allclose(gp.noise_, 0.01, rtol=0.6)


# -- the numpy/scipy twin --------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["matern52", "matern32", "rbf"])
def test_matches_closed_form_posterior(kernel):
    x, y = _noisy(25, seed=2)
    gp = GPRegressor(kernel, n_restarts=0, max_iter=30).fit(x, y)
    x_new = np.vstack([x[:5], np.random.default_rng(4).uniform(-2, 3, (30, 2))])
    mean, std_f = gp.predict(x_new, return_std=True, include_noise=False)
    _, std_y = gp.predict(x_new, return_std=True)
    diagonal = _diagonal(gp)
    for j in range(2):
        hyper = {
            "lengthscales": gp.lengthscales_[j],
            "outputscale": gp.outputscale_[j],
            "noise": diagonal[j],
            "mean": gp.mean_[j],
            "kernel": kernel,
        }
        ref_mean, ref_var = gp_posterior_reference(x, y[:, j], x_new, **hyper)
        np.testing.assert_allclose(mean[:, j], ref_mean, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(std_f[:, j], np.sqrt(ref_var), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(std_y[:, j], np.sqrt(ref_var + diagonal[j]), rtol=1e-8)
        ref_log_ml = log_marginal_likelihood_reference(x, y[:, j], **hyper)
        np.testing.assert_allclose(gp.log_marginal_likelihood_[j], ref_log_ml, rtol=1e-8)


@pytest.mark.parametrize("kernel", ["matern52", "matern32", "rbf"])
def test_kernel_twin_matches_gpytorch(kernel):
    rng = np.random.default_rng(5)
    x1, x2, ls = rng.normal(size=(7, 3)), rng.normal(size=(4, 3)), rng.uniform(0.3, 2, 3)
    if kernel == "rbf":
        base = gpytorch.kernels.RBFKernel(ard_num_dims=3)
    else:
        nu = {"matern52": 2.5, "matern32": 1.5}[kernel]
        base = gpytorch.kernels.MaternKernel(nu=nu, ard_num_dims=3)
    base = base.double()
    base.lengthscale = torch.tensor(ls)
    with torch.no_grad():
        got = 2.5 * base(torch.tensor(x1), torch.tensor(x2)).to_dense().numpy()
    np.testing.assert_allclose(got, kernel_reference(x1, x2, ls, 2.5, kernel), rtol=1e-12)


def test_maximises_the_marginal_likelihood(noisy_fit):
    gp, x, y = noisy_fit
    hyper = {"outputscale": gp.outputscale_[0], "noise": _diagonal(gp)[0], "mean": gp.mean_[0]}
    best = log_marginal_likelihood_reference(x, y[:, 0], lengthscales=gp.lengthscales_[0], **hyper)
    for factor in (0.9, 1.1):
        moved = gp.lengthscales_[0] * factor
        assert log_marginal_likelihood_reference(x, y[:, 0], lengthscales=moved, **hyper) < best


# -- batching, restarts, state ---------------------------------------------------------


def test_batched_outputs_equal_separate_fits(noisy_fit):
    gp, x, y = noisy_fit
    x_new = _noisy(50, seed=6)[0]
    mean, std = gp.predict(x_new, return_std=True)
    for j in range(2):
        one = GPRegressor(n_restarts=1).fit(x, y[:, j])
        mean_j, std_j = one.predict(x_new, return_std=True)
        np.testing.assert_allclose(mean_j, mean[:, j], atol=1e-6)
        np.testing.assert_allclose(std_j, std[:, j], atol=1e-6)
        np.testing.assert_allclose(one.lengthscales_[0], gp.lengthscales_[j], rtol=1e-6)
        np.testing.assert_allclose(one.noise_, gp.noise_[j : j + 1], rtol=1e-6)
        np.testing.assert_allclose(
            one.log_marginal_likelihood_, gp.log_marginal_likelihood_[j : j + 1], atol=1e-7
        )


def test_each_output_keeps_its_best_start(monkeypatch):
    x, y = _noisy(20, seed=7)
    logs: list[np.ndarray] = []
    original = GPRegressor._log_ml

    def spy(self, model, strict=True, rows=None):
        out = original(self, model, strict, rows)
        if not torch.is_grad_enabled():  # the evaluation after each start
            logs.append(out.numpy().copy())
        return out

    monkeypatch.setattr(GPRegressor, "_log_ml", spy)
    gp = GPRegressor(n_restarts=3, max_iter=5, seed=1).fit(x, y)
    per_start = np.stack(logs[:4])  # (starts, m)
    standardised = gp.log_marginal_likelihood_ + len(y) * np.log(gp.y_scale_)
    np.testing.assert_allclose(standardised, per_start.max(axis=0), rtol=1e-10)


def test_deterministic_and_pickle_round_trip(noisy_fit):
    gp, x, y = noisy_fit
    x_new = _noisy(30, seed=8)[0]
    mean, std = gp.predict(x_new, return_std=True)
    again = GPRegressor(n_restarts=1).fit(x, y)
    np.testing.assert_array_equal(again.predict(x_new), mean)
    restored = pickle.loads(pickle.dumps(gp))
    buffer = io.BytesIO()
    torch.save(gp, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for other in (restored, loaded):
        m2, s2 = other.predict(x_new, return_std=True)
        np.testing.assert_array_equal(m2, mean)
        np.testing.assert_array_equal(s2, std)
        np.testing.assert_array_equal(other.lengthscales_, gp.lengthscales_)


def test_readable_hyperparameters_in_original_units():
    x, y = _noisy(30, seed=9)
    gp = GPRegressor(n_restarts=0).fit(x, y)
    scaled = GPRegressor(n_restarts=0).fit(10 * x + 3, 5 * y - 1)
    np.testing.assert_allclose(scaled.lengthscales_, 10 * gp.lengthscales_, rtol=1e-6)
    np.testing.assert_allclose(scaled.outputscale_, 25 * gp.outputscale_, rtol=1e-6)
    np.testing.assert_allclose(scaled.noise_, 25 * gp.noise_, rtol=1e-6)
    np.testing.assert_allclose(scaled.mean_, 5 * gp.mean_ - 1, rtol=1e-6)
    assert gp.lengthscales_.shape == (2, 2) and gp.noise_.shape == gp.outputscale_.shape == (2,)


def test_fixed_noise_constant_columns_tensors_and_float32():
    rng = np.random.default_rng(10)
    x = np.c_[rng.uniform(0, 1, 20), np.full(20, 7.0)]  # second input column constant
    y = np.c_[np.sin(4 * x[:, 0]), np.full(20, 0.1)]  # second output constant
    gp = GPRegressor(noise=0.01, n_restarts=0).fit(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(gp.noise_, 0.01 * gp.y_scale_**2)
    assert gp.y_scale_[1] == 1.0 and gp.x_scale_[1] == 1.0
    mean = gp.predict(torch.tensor(x[:5]))
    assert mean.dtype == np.float64 and mean.shape == (5, 2)
    np.testing.assert_allclose(mean[:, 1], 0.1, atol=1e-9)
    gp32 = GPRegressor(n_restarts=0, dtype=torch.float32, noise_floor=1e-4).fit(x[:, :1], y[:, 0])
    assert gp32.predict(x[:5, :1]).dtype == np.float64
    np.testing.assert_allclose(gp32.predict(x[:5, :1]), y[:5, 0], atol=1e-2)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 8), p=st.integers(1, 3), m=st.integers(0, 3), n_new=st.integers(0, 4))
def test_shapes(n, p, m, n_new):
    rng = np.random.default_rng(n * 100 + p * 10 + m)
    x = rng.normal(size=(n, p))
    y = rng.normal(size=(n, m)) if m else rng.normal(size=n)
    gp = GPRegressor(n_restarts=0, max_iter=5).fit(x, y)
    mean, std = gp.predict(rng.normal(size=(n_new, p)), return_std=True)
    shape = (n_new, m) if m else (n_new,)
    assert mean.shape == std.shape == shape
    assert np.isfinite(mean).all() and (std > 0).all()


def _rosenbrock(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of x (m, 2) -> (f (m,), gradient (m, 2)), Rosenbrock's function of each row."""
    x = x.detach().requires_grad_(True)
    f = (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2
    f.sum().backward()
    assert x.grad is not None
    return f.detach(), x.grad


def _rosenbrock_of_rows(x: torch.Tensor, rows: torch.Tensor):
    """As _rosenbrock, but NaN in the rows the optimiser did not ask for."""
    f, g = _rosenbrock(x, rows)
    return torch.where(rows, f, torch.nan), torch.where(rows[:, None], g, torch.nan)


def test_batched_bfgs_reads_only_the_rows_it_asks_for():
    x0 = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0]], dtype=torch.float64)
    everything = batched_bfgs(_rosenbrock, x0, max_iter=500)
    asked = batched_bfgs(_rosenbrock_of_rows, x0, max_iter=500)
    torch.testing.assert_close(asked.x, everything.x, rtol=0, atol=0)


def test_batched_bfgs_solves_each_problem_as_alone():
    x0 = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0], [np.nan, 0.0]], dtype=torch.float64)
    result = batched_bfgs(_rosenbrock, x0, max_iter=500)
    np.testing.assert_allclose(result.x[:3].numpy(), 1.0, atol=1e-6)
    assert torch.isnan(result.x[3, 0]) and result.n_iter[3] == 0  # never moved
    for j in range(3):
        alone = batched_bfgs(_rosenbrock, x0[j : j + 1], max_iter=500)
        assert alone.n_iter[0] == result.n_iter[j] > 0
        np.testing.assert_allclose(alone.x[0].numpy(), result.x[j].numpy(), rtol=1e-12)


# -- jitter retries ----------------------------------------------------------------------


def test_singular_covariance_retries_with_more_jitter():
    # RBF on 30 close points without noise or jitter: K is numerically of low rank
    x = np.linspace(0, 1, 30)[:, None]
    with pytest.warns(JitterWarning, match=r"Cholesky failed \(jitter 0\.0e\+00") as record:
        gp = GPRegressor("rbf", noise=0.0, jitter=0.0, n_restarts=0).fit(x, np.sin(3 * x[:, 0]))
    assert len(record) == 1
    assert gp.jitter_ > 0
    assert f"fitted with jitter {gp.jitter_:.1e}" in str(record[0].message)
    np.testing.assert_allclose(gp.predict(x), np.sin(3 * x[:, 0]), atol=1e-3)


def test_jitter_schedule_and_final_failure(monkeypatch):
    x, y = _noisy(10, seed=11)
    original = GPRegressor._fit_once
    tried: list[float] = []

    def fail_below(threshold):
        def fit_once(self, xt, yt, jitter):
            tried.append(jitter)
            if jitter < threshold:
                raise exact_module._CholeskyError("forced failure")
            return original(self, xt, yt, jitter)

        return fit_once

    monkeypatch.setattr(GPRegressor, "_fit_once", fail_below(1e-6))
    with pytest.warns(
        JitterWarning, match=r"jitter 1\.0e-08.*jitter 1\.0e-07.*with jitter 1\.0e-06"
    ):
        gp = GPRegressor(n_restarts=0, max_iter=3, jitter=1e-8).fit(x, y)
    assert gp.jitter_ == pytest.approx(1e-6)
    np.testing.assert_allclose(tried, [1e-8, 1e-7, 1e-6])
    monkeypatch.setattr(GPRegressor, "_fit_once", fail_below(np.inf))
    with pytest.raises(RuntimeError, match=r"Cholesky failed.*jitter 1\.0e-05: forced failure"):
        GPRegressor(n_restarts=0, max_iter=3, jitter=1e-8).fit(x, y)


# -- bad input ---------------------------------------------------------------------------


def test_bad_input_errors(noisy_fit):
    gp, x, y = noisy_fit
    fresh = GPRegressor(n_restarts=0, max_iter=2)
    with pytest.raises(NotFittedError, match="not fitted"):
        fresh.predict(x)
    bad_x = x.copy()
    bad_x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X \(60, 2\) has 1 NaN.*\(3, 1\)"):
        fresh.fit(bad_x, y)
    bad_y = y.copy()
    bad_y[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"Y \(60, 2\) has 1 NaN or infinite"):
        fresh.fit(x, bad_y)
    with pytest.raises(ValueError, match=r"X \(60, 2\) and Y \(59, 2\)"):
        fresh.fit(x, y[:-1])
    with pytest.raises(ValueError, match=r"n >= 2.*\(1, 2\)"):
        fresh.fit(x[:1], y[:1])
    with pytest.raises(ValueError, match=r"X must have shape \(n, p\), got \(60,\)"):
        fresh.fit(x[:, 0], y)
    with pytest.raises(ValueError, match=r"Y must have shape \(n,\) or \(n, m\), got \(60, 2, 1\)"):
        fresh.fit(x, y[:, :, None])
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fresh.fit(np.full((3, 2), "a"), np.zeros(3))
    with pytest.raises(ValueError, match=r"X must have shape \(n\*, 2\) as in fit, got \(5, 3\)"):
        gp.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"shape \(n\*, 2\) as in fit, got \(2,\)"):
        gp.predict(np.zeros(2))
    with pytest.raises(ValueError, match=r"X \(1, 2\) has 1 NaN"):
        gp.predict(np.array([[0.0, np.inf]]))
    for kwargs, error in [
        ({"kernel": "matern12"}, ValueError),
        ({"noise": "fixed"}, ValueError),
        ({"noise": -1.0}, ValueError),
        ({"jitter": -1e-8}, ValueError),
        ({"n_restarts": -1}, ValueError),
        ({"max_iter": 0}, ValueError),
        ({"n_restarts": 1.5}, TypeError),
        ({"dtype": torch.int64}, TypeError),
    ]:
        with pytest.raises(error):
            GPRegressor(**kwargs).fit(x, y)
    assert not hasattr(fresh, "model_")


# -- metrics -----------------------------------------------------------------------------


def test_metrics():
    rng = np.random.default_rng(12)
    y = rng.normal(size=(20000, 2))
    zeros, ones = np.zeros_like(y), np.ones_like(y)
    assert abs(coverage(y, zeros, ones, 0.95) - 0.95) < 0.005
    assert abs(coverage(y[:, 0], zeros[:, 0], ones[:, 0], 0.5) - 0.5) < 0.01
    assert coverage([0.0, 1.0, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]) == pytest.approx(2 / 3)
    mean, std = rng.normal(size=5), rng.uniform(0.5, 2, 5)
    assert nlpd(y[:5, 0], mean, std) == pytest.approx(-norm.logpdf(y[:5, 0], mean, std).mean())
    pred = y + 0.1
    np.testing.assert_allclose(q2(y, pred), 1 - 0.01 / y.var(axis=0), rtol=1e-12)
    np.testing.assert_allclose(rel_rmse(y, pred), 0.1 / np.sqrt((y**2).mean(axis=0)))
    assert isinstance(q2(y[:, 0], pred[:, 0]), float)
    with pytest.raises(ValueError, match="one shape"):
        coverage(y, zeros[:, 0], ones)
    with pytest.raises(ValueError, match="level"):
        coverage(y, zeros, ones, level=1.0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        coverage(y, zeros, -ones)


def test_log_likelihood_gradient_matches_autograd_through_cholesky():
    from sciml.gp.likelihood import gaussian_log_likelihood

    rng = np.random.default_rng(0)
    a = torch.tensor(rng.normal(size=(3, 6, 6)))
    k = (a @ a.mT / 6 + 0.5 * torch.eye(6)).requires_grad_(True)
    resid = torch.tensor(rng.normal(size=(3, 6)), requires_grad=True)
    # Perturbations kept symmetric: K's gradient is the symmetric one.
    symmetric = lambda half, r: gaussian_log_likelihood(half + half.mT, r)  # noqa: E731
    assert torch.autograd.gradcheck(symmetric, (k / 2, resid))
    direct = torch.distributions.MultivariateNormal(torch.zeros(6, dtype=k.dtype), k)
    torch.testing.assert_close(gaussian_log_likelihood(k, resid), direct.log_prob(resid))


def test_log_likelihood_of_a_singular_member_is_minus_infinity_without_gradient():
    from sciml.gp.likelihood import gaussian_log_likelihood

    k = torch.stack([torch.eye(3), torch.zeros(3, 3)]).double().requires_grad_(True)
    resid = torch.ones(2, 3, dtype=torch.float64)
    out = gaussian_log_likelihood(k, resid)
    assert torch.isfinite(out[0]) and out[1] == -math.inf
    torch.where(torch.isfinite(out), out, 0.0).sum().backward()
    assert torch.isfinite(k.grad).all() and (k.grad[1] == 0).all()


@pytest.mark.parametrize("kernel", ["matern52", "matern32", "rbf"])
def test_lean_training_covariance_equals_gpytorchs(kernel):
    rng = np.random.default_rng(1)
    x, y = rng.random((30, 3)), rng.normal(size=(30, 2))
    gp = GPRegressor(kernel, n_restarts=0, max_iter=5).fit(x, y)
    model = gp.model_
    lean = gp._train_covariance(model)
    diag = (model.likelihood.noise + model.jitter).expand(lean.shape[:-1])
    reference = model.covar_module(model.train_inputs[0]).to_dense() + torch.diag_embed(diag)
    torch.testing.assert_close(lean, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel", ["matern52", "matern32", "rbf"])
def test_ard_correlation_gradient_in_the_lengthscales(kernel):
    from sciml.gp.kernels import ard_correlation

    rng = np.random.default_rng(2)
    x = torch.tensor(rng.random((7, 3)))
    x[3] = x[1]  # a repeated input: distance zero off the diagonal too
    lengthscale = torch.tensor(rng.uniform(0.3, 2.0, (2, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda ls: ard_correlation(x, ls, kernel), (lengthscale,))
