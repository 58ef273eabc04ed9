"""Multi-FIT against GRU-D and LOCF on irregular, multi-resolution ICU-like series.

    python examples/timeseries_clinical.py                   # 3000 / 1500 stays, ~ minutes
    python examples/timeseries_clinical.py --quick           # a small run (seconds)

Generates a training and a test set with ``sciml.data.icu_timeseries`` (vitals hourly,
labs every ~6-12 h, rare tests a few times per stay, sicker patients measured more often),
trains LOCF + logistic regression, GRU-D, FIT and Multi-FIT, prints their test AUROC and
AUPRC, and writes OUT (ROC curves, and one patient's signals with their observations)
after OUT with the suffix .json (the scores).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# GNU OpenMP threads busy-wait between parallel regions: on a machine shared with other jobs
# two torch threads ran these small recurrent networks ~100x slower (5 s per Multi-FIT step
# instead of 50 ms). Passive waiting has to be chosen before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

from sciml.data import icu_timeseries
from sciml.timeseries import FIT, GRUD, LOCFLogistic, MultiFIT, auprc, auroc, roc_curve

MODELS = {"LOCF + LR": LOCFLogistic, "GRU-D": GRUD, "FIT": FIT, "Multi-FIT": MultiFIT}
SHOWN_SIGNALS = ("HR", "SysABP", "Lactate", "Creatinine", "TroponinT", "Albumin")


def train_all(train, test, epochs: int, seed: int, quick: bool) -> dict[str, np.ndarray]:
    """Fits the four models; returns each one's P(y = 1) on the test set."""
    n_steps, n_features = train["X"].shape[1:]
    scores = {}
    for name, cls in MODELS.items():
        kwargs = {"n_steps": n_steps, "n_features": n_features, "random_state": seed}
        if cls is not LOCFLogistic:
            kwargs |= {"epochs": epochs, "progress": not quick}
            if quick:
                kwargs |= {"hidden_size": 16}
        start = time.perf_counter()
        model = cls(**kwargs).fit(train)
        scores[name] = model.predict_proba(test)[:, 1]
        print(f"  {name:10s} fitted in {time.perf_counter() - start:6.1f} s")
    return scores


def plot(path: Path, test, scores: dict[str, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc_ax, sig_ax) = plt.subplots(1, 2, figsize=(12, 5))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(test["y"], p)
        roc_ax.plot(fpr, tpr, label=f"{name} ({auroc(test['y'], p):.3f})")
    fpr, tpr, _ = roc_curve(test["y"], test["risk"])
    roc_ax.plot(fpr, tpr, "k:", label=f"true risk ({auroc(test['y'], test['risk']):.3f})")
    roc_ax.plot([0, 1], [0, 1], color="0.8", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="test ROC")
    roc_ax.legend(loc="lower right", fontsize=8)

    # the positive test patient with the most rare-test observations
    X, names, hours = test["X"], test["feature_names"], test["timestamps"]
    rare = (~np.isnan(X[:, :, test["groups"][2]])).sum(axis=(1, 2))
    i = int(np.argmax(np.where(test["y"] == 1, rare, -1)))
    for k, name in enumerate(SHOWN_SIGNALS):
        f = names.index(name)
        v = X[i, :, f]
        seen = ~np.isnan(v)
        lo, hi = np.nanmin(X[:, :, f]), np.nanmax(X[:, :, f])
        z = (v - lo) / (hi - lo + 1e-12) * 0.8 + k  # each signal in its own band
        carried = np.maximum.accumulate(np.where(seen, np.arange(v.size), -1))
        line = np.where(carried >= 0, z[np.maximum(carried, 0)], np.nan)
        sig_ax.step(hours, line, where="post", color=f"C{k}", alpha=0.5)
        sig_ax.plot(hours[seen], z[seen], "o", color=f"C{k}", ms=4)
    sig_ax.set_yticks(np.arange(len(SHOWN_SIGNALS)) + 0.4, SHOWN_SIGNALS)
    sig_ax.set(
        xlabel="hours since admission", title=f"test patient {i} (outcome 1): dots = measured"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=3000, help="training stays")
    parser.add_argument("--test", type=int, default=1500, help="test stays")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="200 / 100 stays, 2 epochs")
    parser.add_argument("--out", default="out/timeseries_clinical.png", help="the PNG written")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs = 200, 100, 2
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    train = icu_timeseries(args.train, seed=args.seed)
    test = icu_timeseries(args.test, seed=10_000 + args.seed)
    print(f"{args.train} training / {args.test} test stays, prevalence {train['y'].mean():.3f}")
    scores = train_all(train, test, args.epochs, args.seed, args.quick)
    table = {
        name: {"auroc": auroc(test["y"], p), "auprc": auprc(test["y"], p)}
        for name, p in scores.items()
    }
    table["true risk"] = {
        "auroc": auroc(test["y"], test["risk"]),
        "auprc": auprc(test["y"], test["risk"]),
    }
    print(f"\n{'model':12s} {'AUROC':>7s} {'AUPRC':>7s}")
    for name, row in table.items():
        print(f"{name:12s} {row['auroc']:7.3f} {row['auprc']:7.3f}")
    out.with_suffix(".json").write_text(json.dumps(table, indent=2))  # the scores first
    plot(out, test, scores)
    print(f"\nwrote {out} and {out.with_suffix('.json')}")
    return table


if __name__ == "__main__":
    main()
