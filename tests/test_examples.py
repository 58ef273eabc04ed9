"""Every script in examples/ runs, at a small size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_poisson_gaussians(tmp_path):
    rel = load("poisson_gaussians").main(["--steps", "300", "--out", str(tmp_path)])
    assert rel < 2e-2
    for name in ("model.pt", "error_curve.csv", "prediction.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "error_curve.csv").read_text().startswith("step,loss,rel_l2\n")


def test_helmholtz(tmp_path):
    rel = load("helmholtz").main(["--iters", "40", "--gaussians", "200", "--out", str(tmp_path)])
    assert rel < 0.5
    for name in ("checkpoint.pt", "error_curve.csv", "prediction.vtu", "prediction.png"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("klein_gordon", []),
        ("flow_mixing", []),
        ("allen_cahn", []),
        ("nonlinear_diffusion", ["--reference-cells", "32"]),
    ],
)
def test_space_time_examples(name, extra, tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--iters", "30", "--gaussians", "50", "--points", "500", "--out", str(tmp_path)]
    rel = load(name).main(args + extra)
    assert rel < 1.5  # a short run: only that it trains, writes and measures
    for file in ("error_curve.csv", "prediction.vtu", "prediction.pvd", "prediction.png"):
        assert (tmp_path / file).stat().st_size > 0


def test_mmgp_tensile2d(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--train", "12", "--test", "3", "--mesh-size", "0.15", "--modes", "4"]
    scores = load("mmgp_tensile2d").main([*args, "--out", str(tmp_path)])
    assert scores["u2 rel RMSE"] < 0.5  # twelve samples: only that it fits and predicts
    for name in ("mmgp.pkl", "scores.json", "von_mises_test0.vtu", "von_mises_test0.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_prose_ode(tmp_path):
    result = load("prose_ode").main(["--out", str(tmp_path), "--system", "damped_oscillator"])
    assert result["rel_l2"] < 0.15  # the shipped model; the bench has the real figures
    assert result["system"] is not None and len(result["system"]) == 2
    assert (tmp_path / "prose_ode.png").stat().st_size > 0


def test_tinv_pointclouds():
    r = load("tinv_pointclouds").main(["--train", "20", "--test", "10", "--points", "64"])
    assert r["tinv_moved_acc"] == r["tinv_test_acc"]
    assert r["tinv_max_abs_diff_moved"] < 1e-6


def test_every_example_has_a_test():
    tested = {
        "poisson_gaussians",
        "helmholtz",
        "klein_gordon",
        "flow_mixing",
        "allen_cahn",
        "nonlinear_diffusion",
        "mmgp_tensile2d",
        "pfn_gp",  # in test_pfn_example.py, with a tiny model trained there
        "timeseries_clinical",  # in test_timeseries_example.py (--quick)
        "prose_ode",
        "tinv_pointclouds",
    }
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested
