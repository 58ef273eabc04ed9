"""The time-series example and benchmark run end to end in their --quick form (seconds)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_timeseries_clinical_example(tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "clinical.png"
    table = load(ROOT / "examples" / "timeseries_clinical.py").main(
        ["--quick", "--threads", "1", "--out", str(out)]
    )
    assert set(table) == {"LOCF + LR", "GRU-D", "FIT", "Multi-FIT", "true risk"}
    assert all(0 <= row["auroc"] <= 1 and 0 <= row["auprc"] <= 1 for row in table.values())
    assert out.stat().st_size > 0
    assert json.loads(out.with_suffix(".json").read_text()) == json.loads(json.dumps(table))


def test_timeseries_bench_smoke(capsys):
    bench = load(ROOT / "benches" / "bench_timeseries.py")
    result = bench.main(["--quick", "--seeds", "0", "--threads", "1"])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(result))
    models = {"Prior", "LOCFLogistic", "GRUD", "FIT", "FITV", "MultiFIT"}
    assert set(result["mean"]) == models | {"true_risk"}
    row = result["per_seed"]["0"]["MultiFIT"]
    assert row["epochs_run"] <= 2 and row["fit_seconds"] > 0
    assert result["mean"]["Prior"]["auroc"] == 0.5
    assert math.isfinite(result["multifit_minus_grud"]) and math.isfinite(
        result["multifit_minus_locf"]
    )
    assert set(result["checks"]) == {"fit_seconds", "multifit_minus_grud", "multifit_minus_locf"}
    assert isinstance(result["pass"], bool)
