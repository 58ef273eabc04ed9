"""Regression tests of the reliability pass: requests too large for memory, float overflow,
graph weight types, bad checkpoints and interrupted solves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from sciml.graph import FastRP, random_projection
from sciml.ops import gaussian_embedding

torch.set_num_threads(1)


# ---- requests too large for memory are MemoryError, never an abort -------------------------


def test_fastrp_with_a_huge_dimension_is_a_memory_error():
    with pytest.raises(MemoryError, match="needs"):
        FastRP(dim=10**8).fit(nx.karate_club_graph())


def test_a_huge_random_projection_is_a_memory_error():
    with pytest.raises(MemoryError, match="needs"):
        random_projection(10**7, 10**7, 3.0)


def test_a_huge_gaussian_embedding_is_a_memory_error():
    x = torch.zeros(100_000, 1)
    mu, sigma = torch.zeros(1, 1), torch.ones(1, 1)
    w = torch.ones(1, 1_000_000)  # phi alone would be 400 GB
    with pytest.raises(MemoryError, match="needs"):
        gaussian_embedding(x, mu, sigma, w, order=0)


# ---- no silent inf/NaN -------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [1e-6, 1e-8, 1e-10, 1e-12, 1e-14, 1e-18])
def test_float32_at_tiny_sigma_is_finite_or_refused(sigma):
    """Values and gradients are finite, or the call is refused naming float64."""
    x = torch.full((4, 2), 2 * sigma, requires_grad=True)
    mu = torch.zeros(3, 2, requires_grad=True)
    sig = torch.full((3, 2), sigma, requires_grad=True)
    w = torch.ones(3, 1, requires_grad=True)
    try:
        outs = gaussian_embedding(x, mu, sig, w)
    except ValueError as e:
        assert "float64" in str(e) and sigma < 1e-10
    else:
        assert sigma > 1e-12
        sum(o.sum() for o in outs).backward()
        for t in (*outs, x.grad, mu.grad, sig.grad, w.grad):
            assert torch.isfinite(t).all()
    # float64 handles every one of these requests
    outs = gaussian_embedding(x.double(), mu.double(), sig.double(), w.double())
    assert all(torch.isfinite(o).all() for o in outs)


def test_float32_at_ordinary_sigma_is_accepted():
    x = torch.rand(5, 2)
    outs = gaussian_embedding(x, torch.rand(3, 2), torch.full((3, 2), 1e-3), torch.ones(3, 2))
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("options", [{"beta": 1e6}, {"beta": -1e6}, {"weights": (0.0, 1e38, 1e38)}])
def test_fastrp_overflow_is_a_value_error(options):
    g = nx.karate_club_graph()
    with pytest.raises(ValueError, match=r"overflowed|not a finite"):
        FastRP(dim=16, **options).fit(g)


# ---- every weight type in every graph form -------------------------------------------------


@pytest.mark.parametrize("value", [True, 2, 2.5])
def test_networkx_weights_of_any_real_type(value):
    g = nx.karate_club_graph()
    for u, v in g.edges:
        g[u][v]["weight"] = value
    emb = FastRP(dim=16, seed=1).fit_transform(g)
    assert emb.shape == (34, 16) and np.isfinite(emb).all()


def test_boolean_weights_are_the_unweighted_graph():
    import scipy.sparse as sp

    g = nx.karate_club_graph()
    a = nx.to_scipy_sparse_array(g, weight=None, format="csr")
    as_bool = sp.csr_array(a.astype(bool))
    edge_index = np.array(a.nonzero())
    ref = FastRP(dim=16, seed=3).fit_transform(sp.csr_array(a.astype(np.float64)))
    for graph in (as_bool, (edge_index, 34, np.ones(edge_index.shape[1], dtype=bool))):
        np.testing.assert_array_equal(FastRP(dim=16, seed=3).fit_transform(graph), ref)


# ---- checkpoints and interruptions of `sciml solve` ----------------------------------------


def test_resuming_from_a_corrupt_checkpoint_is_one_clear_error(tmp_path):
    from sciml.pde.solve import SolveError, solve

    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SolveError, match=r"cannot resume.*checkpoint\.pt"):
        solve("poisson", iterations=3, out=tmp_path, resume=True, progress=False)


def test_resuming_another_models_checkpoint_is_one_clear_error(tmp_path):
    from sciml.pde.solve import SolveError, solve

    solve("poisson", model="pinn", iterations=3, out=tmp_path, progress=False, picture=False)
    with pytest.raises(SolveError, match="another model"):
        solve("poisson", iterations=3, out=tmp_path, resume=True, progress=False)


def test_a_foreign_torch_file_is_not_a_checkpoint(tmp_path):
    from sciml.pde import CheckpointError, load_trainer_checkpoint

    torch.save({"weights": torch.ones(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint of the PDE trainer"):
        load_trainer_checkpoint(tmp_path / "other.pt")


def _default_sigint() -> None:
    # A job started in the background of a non-interactive shell ignores SIGINT, and
    # Python then never raises KeyboardInterrupt: restore the default for the child.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_leaves_a_checkpoint_that_resume_continues(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sciml.cli", "solve", "poisson", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SCIML_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [*command, "--iters", "100000", "--time-budget", "120", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 100
        while not (out / "checkpoint.pt").exists():  # written every 500 iterations
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 100 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err

    from sciml.pde import load_trainer_checkpoint

    saved = load_trainer_checkpoint(out / "checkpoint.pt")
    done = saved["state"]["iteration"]
    assert done >= 500
    resumed = subprocess.run(
        [*command, "--iters", str(done + 50), "--resume", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    rows = (out / "error_curve.csv").read_text().splitlines()[1:]
    assert int(rows[-1].split(",")[0]) == done + 50
    assert Path(out / "prediction.vtu").exists()


# ---- found by the fuzz suite (tests/fuzz_kernels.py) -------------------------------------


@pytest.mark.parametrize("scale", [1e-170, 1e-110, 1.0, 1e150])
def test_transfer_on_meshes_of_extreme_scale_ends(scale):
    """Bins were sized from the product of the extents, which underflowed to 0: a hang."""
    from sciml import _core

    tri = np.array([[0.0, 0], [1, 0], [0, 1]]) * scale
    try:  # at 1e-170 the area itself underflows: a degenerate element, a clean error
        assert _core.transfer_matrix(tri, np.array([[0, 1, 2]]), tri[:1] * 0.5) is not None
    except ValueError as e:
        assert "degenerate" in str(e) and scale < 1e-150


@pytest.mark.parametrize(
    ("dtype", "sigma", "w"),
    [(np.float64, 1e-160, 1.0), (np.float64, 1e-320, 1.0), (np.float64, 1.0, 1e308),
     (np.float32, 1e-20, 1.0)],
)  # fmt: skip
def test_raw_gaussian_kernel_refuses_what_would_overflow(dtype, sigma, w):
    from sciml import _core

    def a(v):
        return np.array([[v]], dtype=dtype)

    weights = np.full((2, 1), w, dtype=dtype)
    with pytest.raises(ValueError, match="overflow"):
        _core.gaussian_embedding_forward(a(0.0).repeat(2, 0), a(0.0).repeat(2, 0),
                                         a(sigma).repeat(2, 0), weights)  # fmt: skip


def test_raw_fastrp_refuses_an_overflowed_embedding():
    from sciml import _core

    indptr, indices = np.array([0, 1, 2]), np.array([1, 0])
    with pytest.raises(ValueError, match="overflowed"):
        _core.fastrp_embedding(indptr, indices, None, dim=8, weights=[1e39], beta=0.0,
                               sparsity=3.0)  # fmt: skip


def test_measures_and_rbf_morph_of_extreme_coordinates_are_errors_not_inf():
    from sciml import _core

    tri = np.array([[0.0, 0], [1, 0], [0, 1]])
    with pytest.raises(ValueError, match="rescale"):
        _core.signed_measures(tri * 1e155, np.array([[0, 1, 2]]))
    square = np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    for s in (1e-160, 1e160):
        with pytest.raises(ValueError, match="rescale"):
            _core.rbf_morph(square * s, square * s, np.ones((4, 2)))


@pytest.mark.parametrize(
    "call",
    [
        lambda: random_projection(-1, 3, 1.0),
        lambda: random_projection(3, 3, 1.0, seed=2**64),
        lambda: FastRP(dim=2**64).fit(nx.path_graph(3)),
        lambda: FastRP(dim=4).fit((np.zeros((2, 0), dtype=int), 2**64)),
    ],
)
def test_out_of_range_integers_are_value_errors(call):
    with pytest.raises(ValueError, match="must be in"):
        call()


def test_a_float_order_is_a_type_or_value_error():
    x = torch.zeros(2, 1)
    with pytest.raises(ValueError, match="order"):
        gaussian_embedding(x, x, torch.ones(2, 1), torch.ones(2, 1), order=1.0)


@pytest.mark.parametrize("weight", [2.79e-39, 1e30])
def test_standardising_columns_of_extreme_spread_stays_finite(weight):
    """1/std overflowed f32 for subnormal columns, and x - mean for values near f32's range."""
    from sciml import _core

    indptr, indices = np.array([0, 1, 2, 2]), np.array([1, 0])
    emb = _core.fastrp_embedding(indptr, indices, None, dim=8, weights=[weight], beta=-3.0,
                                 sparsity=3.0, normalization="none", standardize=True)  # fmt: skip
    assert np.isfinite(emb).all()
