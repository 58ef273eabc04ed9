"""IRWE benchmark (sciml.graph.irwe): node roles from identity embeddings, communities from
position embeddings, both against FastRP, transductive and inductive, over 3 seeds (JSON).

    python benches/bench_graph_irwe.py --json            # the acceptance run (2 cores)
    python benches/bench_graph_irwe.py --seeds 0 --steps 100

Data (generated here, seeded):

- ``roles``: a BA-shapes-like graph (GNNExplainer's benchmark): a Barabasi-Albert base of
  300 nodes (m = 5), 80 five-node houses each tied by one bottom node to a random base
  node, and 10% random extra edges; labels base / house top / house middle / house bottom.
- ``communities``: a planted partition (``sciml.data.planted_partition``) of 1000 nodes in
  4 blocks, mean degree 10, edge homophily 0.7; labels the blocks.

Protocol per graph and seed: a random 20% of the nodes is the test set H; the classifier
is a logistic regression (standardised inputs) trained on the other nodes' embeddings and
scored on H.

- transductive: IRWE trained on the whole graph (``fit_transform``); FastRP (same dim,
  the paper's defaults) on the whole graph.
- inductive: IRWE trained on the graph without H (the induced subgraph: H's nodes and
  edges removed), then ``transform`` of the whole graph (H added back): the classifier is
  trained on the other nodes' embeddings from that call and scored on H. ``ratio`` =
  inductive / transductive accuracy on H.

Acceptance (issue "Graph models II"): roles: IRWE identity > FastRP; communities: IRWE
position >= FastRP - 0.03; inductive ratio >= 0.9 (for the embedding each task uses).
Torch runs on one thread.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import networkx as nx
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sciml.data.graphs import planted_partition
from sciml.graph import FastRP
from sciml.graph.irwe import IRWE


def house_graph(
    seed: int, n_base: int = 300, m: int = 5, houses: int = 80, noise: float = 0.1
) -> tuple[nx.Graph, np.ndarray]:
    """BA base + house motifs + random edges; role labels 0 base, 1 top, 2 middle, 3 bottom."""
    rng = np.random.default_rng(seed)
    g = nx.barabasi_albert_graph(n_base, m, seed=seed)
    y = [0] * n_base
    for h in range(houses):
        top, m1, m2, b1, b2 = range(n_base + 5 * h, n_base + 5 * h + 5)
        g.add_edges_from([(top, m1), (top, m2), (m1, m2), (m1, b1), (m2, b2), (b1, b2)])
        g.add_edge(b1, int(rng.integers(n_base)))
        y += [1, 2, 2, 3, 3]
    n = g.number_of_nodes()
    pairs = rng.integers(n, size=(int(noise * n), 2))
    g.add_edges_from((int(u), int(v)) for u, v in pairs if u != v)
    return g, np.array(y)


def sbm_graph(seed: int, n: int = 1000) -> tuple[nx.Graph, np.ndarray]:
    edges, blocks = planted_partition(n, 4, 10.0, 0.7, seed=seed)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges.T.tolist())
    return g, blocks


def accuracy(emb: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    clf.fit(emb[train], y[train])
    return float(clf.score(emb[test], y[test]))


def run_graph(
    name: str, g: nx.Graph, y: np.ndarray, seed: int, dim: int, steps: int, use: str
) -> dict[str, Any]:
    n = g.number_of_nodes()
    rng = np.random.default_rng(seed + 1000)
    perm = rng.permutation(n)
    test, train = np.sort(perm[: n // 5]), np.sort(perm[n // 5 :])
    out: dict[str, Any] = {"graph": name, "seed": seed, "nodes": n, "edges": g.number_of_edges()}

    t0 = time.perf_counter()
    emb = IRWE(dim=dim, steps=steps, seed=seed).fit_transform(g)
    out["irwe_fit_s"] = time.perf_counter() - t0
    out["irwe_identity"] = accuracy(emb.identity, y, train, test)
    out["irwe_position"] = accuracy(emb.position, y, train, test)
    out["irwe_both"] = accuracy(np.hstack([emb.identity, emb.position]), y, train, test)
    t0 = time.perf_counter()
    fastrp = FastRP(dim=dim, seed=seed).fit_transform(g)
    out["fastrp_s"] = time.perf_counter() - t0
    out["fastrp"] = accuracy(fastrp, y, train, test)

    held_out = set(perm[: n // 5].tolist())
    sub = g.subgraph([v for v in g.nodes if v not in held_out]).copy()
    t0 = time.perf_counter()
    model = IRWE(dim=dim, steps=steps, seed=seed).fit(sub)
    new = model.transform(g)
    out["inductive_s"] = time.perf_counter() - t0
    out["inductive_identity"] = accuracy(new.identity, y, train, test)
    out["inductive_position"] = accuracy(new.position, y, train, test)
    out["used"] = use
    out["ratio"] = out[f"inductive_{use}"] / out[f"irwe_{use}"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    runs = []
    for seed in args.seeds:
        g, y = house_graph(seed)
        runs.append(run_graph("roles", g, y, seed, args.dim, args.steps, "identity"))
        g, y = sbm_graph(seed)
        runs.append(run_graph("communities", g, y, seed, args.dim, args.steps, "position"))
        if not args.json:
            for r in runs[-2:]:
                print(
                    json.dumps(
                        {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                    )
                )

    def mean(graph: str, key: str) -> float:
        return float(np.mean([r[key] for r in runs if r["graph"] == graph]))

    summary = {
        "roles": {
            k: mean("roles", k)
            for k in ("irwe_identity", "irwe_position", "fastrp", "inductive_identity", "ratio")
        },
        "communities": {
            k: mean("communities", k)
            for k in ("irwe_position", "irwe_identity", "fastrp", "inductive_position", "ratio")
        },
    }
    summary["acceptance"] = {
        "roles_identity_beats_fastrp": summary["roles"]["irwe_identity"]
        > summary["roles"]["fastrp"],
        "communities_position_within_3_points": summary["communities"]["irwe_position"]
        >= summary["communities"]["fastrp"] - 0.03,
        "inductive_ratio_roles_ge_0.9": summary["roles"]["ratio"] >= 0.9,
        "inductive_ratio_communities_ge_0.9": summary["communities"]["ratio"] >= 0.9,
    }
    result = {
        "benchmark": "graph_irwe",
        "settings": {"seeds": args.seeds, "dim": args.dim, "steps": args.steps, "torch_threads": 1},
        "machine": platform.platform(),
        "runs": runs,
        "summary": summary,
        "total_s": time.perf_counter() - t_start,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
