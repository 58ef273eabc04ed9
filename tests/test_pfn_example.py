"""The PFN example and benchmark run end to end with a tiny model trained here (seconds)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from sciml.pfn import GPPrior, PFNConfig, train_pfn
    from sciml.train import TrainConfig

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("pfn") / "model"
    train_pfn(
        GPPrior(dim=1, lengthscale=0.1, outputscale=1.0, noise=0.01),
        out,
        model_config=PFNConfig(
            max_features=1, emsize=16, nlayers=1, nhead=2, nhid=32, n_buckets=50
        ),
        train_config=TrainConfig(steps=5, progress=False),
        max_context=20,
        batch_size=8,
    )
    return out


def test_pfn_example(tiny_model, tmp_path):
    torch.set_num_threads(1)
    scores = load(ROOT / "examples" / "pfn_gp.py").main(
        ["--model", str(tiny_model), "--out", str(tmp_path)]
    )
    assert scores["n_context"] == 12
    assert all(math.isfinite(v) for v in scores.values())
    for name in ("pfn_gp.png", "pfn_gp.csv"):
        assert (tmp_path / name).stat().st_size > 0
    lines = (tmp_path / "pfn_gp.csv").read_text().splitlines()
    assert lines[0] == "x,pfn_mean,pfn_lo,pfn_hi,gp_mean,gp_lo,gp_hi"
    assert len(lines) == 301


def test_pfn_bench_smoke(tiny_model, capsys):
    """The benchmark's sections and JSON layout, on a handful of data sets."""
    import json

    bench = load(ROOT / "benches" / "bench_pfn.py")
    args = ["--rbf", str(tiny_model), "--hyper", str(tiny_model), "--threads", "1"]
    args += ["--datasets", "4", "--hyper-datasets", "2", "--sets", "16"]
    result = bench.main(args)
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(result))
    assert {"machine", "models", "gp_rbf_1d", "gp_hyper", "throughput", "pass"} <= set(result)
    for section in ("gp_rbf_1d", "gp_hyper", "throughput"):
        assert "error" not in result[section], result[section]
        assert isinstance(result[section]["pass"], bool)
    rbf, hyper = result["gp_rbf_1d"], result["gp_hyper"]
    assert [r["n_context"] for r in rbf["rows"]] == [0, 5, 10, 20]  # max_context 20
    assert not rbf["checks"]["all_sizes"]
    assert set(rbf["rows"][0]) == {"n_context", "pfn_nll", "gp_nll", "gap", "coverage90"}
    assert [r["n_context"] for r in hyper["rows"]] == [5, 10, 20]
    assert math.isfinite(hyper["pfn_nll"]) and math.isfinite(hyper["exact_gp_nll"])
    assert hyper["seconds_per_dataset"]["pfn"] > 0 and hyper["speed_ratio"] > 0
    assert result["throughput"]["datasets_per_s"] > 0
    assert result["throughput"]["settings"]["n_context"] == 20
    assert not result["throughput"]["pass"]
