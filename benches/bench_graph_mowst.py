"""Mowst benchmark: MLP, GCN, Mowst and Mowst* test accuracy on a generated graph where half
the nodes are predictable from their own features and half need their neighbours.

    python benches/bench_graph_mowst.py --json      # 3 seeds (about 2 minutes on 2 cores)
    python benches/bench_graph_mowst.py --quick     # smaller graph, one seed

Graph (:func:`sciml.graph.mowst.mixed_informativeness_sbm`): 3000 nodes, 4 classes, mean
degree 10, edge homophily 0.5 (homophilous: twice the 0.25 of a random graph), 16 Gaussian
feature dimensions whose class means have norm 4; a random half of the nodes then get
pure N(0, I) features instead (the "noisy" nodes). 10 % of each class train, 10 %
validate, 80 % test. On the informative half an MLP is near the Bayes accuracy while the
GCN, averaging a node with its neighbours (half of them of other classes), loses a few
points; on the noisy half the MLP is at chance and only the GCN helps. The seed draws the
graph, the features, the split and the initialisations.

Models (same expert settings everywhere: 2 layers, 64 hidden, dropout 0.5, lr 0.01,
weight decay 5e-4, at most 200 epochs, early stopping on validation accuracy with
patience 50, best weights restored):

- MLP, GCN: each alone (:func:`sciml.graph.gnn.train_node_classifier`).
- Mowst: ``Mowst("mlp", strong)`` with the defaults (learned gate on the dispersions,
  both experts pretrained, rounds of a weak turn and a strong turn); test accuracy is the
  expected accuracy of the paper's random rule; the thresholded rule (weak where C >= 0.5)
  and one seeded draw are reported beside it.
- Mowst*: ``Mowst(..., star=True)`` (joint training on the probability mixture).

Reported per seed and as mean/std over the seeds: test accuracy overall and on the
informative and noisy test nodes, the mean confidence C on both halves, seconds of each
fit. Target: mean Mowst accuracy >= the better of MLP's and GCN's means.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from _threads import pin_threads  # before numpy and torch load

THREADS = pin_threads("1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sciml.graph.gnn import node_accuracy, train_node_classifier  # noqa: E402
from sciml.graph.mowst import Mowst, build_expert, mixed_informativeness_sbm  # noqa: E402

EXPERT = {"hidden": 64, "layers": 2, "dropout": 0.5}
TRAIN = {"epochs": 200, "lr": 0.01, "weight_decay": 5e-4, "patience": 50}


def alone(name: str, data, informative: np.ndarray, seed: int) -> dict:
    """One expert trained alone: test accuracy overall / informative / noisy, seconds."""
    torch.manual_seed(seed)
    model = build_expert(
        name, data.x.shape[1], EXPERT["hidden"], 4, EXPERT["layers"], EXPERT["dropout"]
    )
    start = time.perf_counter()
    train_node_classifier(
        model, data.x, data.edge_index, data.y, data.train_mask, data.val_mask, seed=seed, **TRAIN
    )
    seconds = time.perf_counter() - start
    acc = {
        key: node_accuracy(model, data.x, data.edge_index, data.y, data.test_mask & mask)
        for key, mask in (("test", True), ("informative", informative), ("noisy", ~informative))
    }
    return {**acc, "seconds": seconds}


def mixture(data, informative: np.ndarray, seed: int, strong: str, star: bool) -> dict:
    """Mowst or Mowst*: accuracies as :func:`alone`, plus the gate's mean confidence."""
    model = Mowst("mlp", strong, star=star, seed=seed, **EXPERT, **TRAIN)
    start = time.perf_counter()
    model.fit(data)
    seconds = time.perf_counter() - start
    test = data.test_mask
    out = {
        key: model.score(data, test & mask)
        for key, mask in (("test", True), ("informative", informative), ("noisy", ~informative))
    }
    if not star:
        out["test_threshold_rule"] = model.score(data, test, rule="threshold")
        out["test_one_draw"] = float((model.predict(data, seed=seed)[test] == data.y[test]).mean())
        out["rounds_run"] = len(model.history_["rounds"])
    c = model.confidence_of(data)
    out["mean_confidence_informative"] = float(c[informative].mean())
    out["mean_confidence_noisy"] = float(c[~informative].mean())
    out["seconds"] = seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="1000 nodes, one seed")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (3)")
    parser.add_argument("--nodes", type=int, default=None, help="nodes (3000)")
    parser.add_argument("--strong", default="gcn", help="strong expert: gcn, sage, gin, gat")
    parser.add_argument("--threads", default=THREADS, help="torch/BLAS threads (1)")
    args = parser.parse_args()
    torch.set_num_threads(int(args.threads))
    seeds = args.seeds or (1 if args.quick else 3)
    nodes = args.nodes or (1000 if args.quick else 3000)
    graph = {
        "n_nodes": nodes,
        "n_classes": 4,
        "mean_degree": 10.0,
        "homophily": 0.5,
        "n_features": 16,
        "feature_signal": 4.0,
        "informative_frac": 0.5,
        "train_frac": 0.1,
        "val_frac": 0.1,
    }
    names = ("mlp", args.strong, "mowst", "mowst_star")
    per_seed = []
    for seed in range(seeds):
        data, informative = mixed_informativeness_sbm(seed=seed, **graph)
        row = {
            "seed": seed,
            "mlp": alone("mlp", data, informative, seed),
            args.strong: alone(args.strong, data, informative, seed),
            "mowst": mixture(data, informative, seed, args.strong, star=False),
            "mowst_star": mixture(data, informative, seed, args.strong, star=True),
        }
        per_seed.append(row)
        if not args.json:
            print(
                f"seed {seed}: "
                + "  ".join(f"{k} {row[k]['test']:.4f} ({row[k]['seconds']:.1f} s)" for k in names),
                flush=True,
            )
    summary = {}
    for k in names:
        summary[k] = {}
        for field in ("test", "informative", "noisy", "seconds"):
            v = np.array([r[k][field] for r in per_seed])
            summary[k][field] = {"mean": float(v.mean()), "std": float(v.std())}
    for k in ("mowst", "mowst_star"):
        for field in ("mean_confidence_informative", "mean_confidence_noisy"):
            summary[k][field] = float(np.mean([r[k][field] for r in per_seed]))
    for field in ("test_threshold_rule", "test_one_draw"):
        summary["mowst"][field] = float(np.mean([r["mowst"][field] for r in per_seed]))
    best_expert = max(summary["mlp"]["test"]["mean"], summary[args.strong]["test"]["mean"])
    targets = {
        "mowst_ge_best_expert": summary["mowst"]["test"]["mean"] >= best_expert,
        "mowst_minus_best_expert": summary["mowst"]["test"]["mean"] - best_expert,
        "mowst_star_minus_best_expert": summary["mowst_star"]["test"]["mean"] - best_expert,
        "mowst_ge_best_expert_per_seed": [
            r["mowst"]["test"] >= max(r["mlp"]["test"], r[args.strong]["test"]) for r in per_seed
        ],
    }
    result = {
        "benchmark": "graph_mowst",
        "graph": graph,
        "expert_settings": {**EXPERT, **TRAIN},
        "mowst_settings": "Mowst defaults (sciml.graph.mowst) with the expert settings",
        "strong": args.strong,
        "seeds": seeds,
        "summary": summary,
        "targets": targets,
        "per_seed": per_seed,
        "threads": int(args.threads),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(json.dumps({k: summary[k]["test"] for k in names}, indent=2))
        print(json.dumps(targets, indent=2))


if __name__ == "__main__":
    main()
