"""GNN benchmark: GCN, GraphSAGE, GIN and GAT layers against PyTorch Geometric and dense
formulas, full-batch GCN on a million nodes, and node-classification accuracy (JSON output).

    python benches/bench_graph_gnn.py --json           # everything (a few minutes on 2 cores)
    python benches/bench_graph_gnn.py --quick --json   # 100,000 nodes instead of 1M, 1 seed
    python benches/bench_graph_gnn.py --part layers    # one section: layers, large, accuracy

Threads: the million-node run pins torch, BLAS and OpenMP to ``--threads`` (default: the
cores this process may run on); the small sections run on one torch thread (their products
are too small to split, and on a shared machine two threads of small products were measured
75 times slower than one).

Sections:

- ``layers``: every layer (``sciml.graph.gnn``'s GCNConv, SAGEConv with in > out and in < out,
  GINConv with a trained eps, GATConv with 4 concatenated and 2 averaged heads) on a random
  directed multigraph of 1,000 nodes and 10,000 edges (repeats and self-loops kept; none
  for GCN, whose self-loop rule differs from PyG's on purpose), 16 input features: max abs
  difference of the outputs and of the input gradients of ``(out * r).sum()`` against
  PyTorch Geometric's layer with the same weights (``torch_geometric`` where it imports;
  else reported as skipped) and against the dense n x n formula, in float64 and float32.
- ``large``: full-batch GCN (2 layers, 64 hidden, dropout 0.5, Adam) on a planted partition of
  1,000,000 nodes in 8 blocks, mean degree 10 (about 5M undirected edges: 10M directed),
  64 float32 features (class indicator on 8 of them plus N(0, 1) noise), 10 % of the nodes
  labelled. Run alone in a child process: the time of the generator, of the graph
  container and Â, and of each of 3 training epochs (forward, loss, backward, step; the
  first also builds the CSR copies of Â); RSS before anything, its peak over the whole run
  (growth = peak - start) and its peak over the epochs alone. Target: peak growth <= 24 GiB.
- ``accuracy``: contextual SBM (``sciml.data.contextual_sbm``: 3,000 nodes, 4 classes, mean
  degree 10, edge homophily 0.8, 16 informative dimensions with class-mean norm 1 plus 16
  noise dimensions, 10 % / 10 % / 80 % split), seeds 0, 1, 2; GCN, GraphSAGE, GIN (16
  hidden, dropout 0.5) and GAT (8 heads x 8, dropout 0.6) full batch, Adam lr 0.01, weight
  decay 5e-4, at most 200 epochs, early stopping on validation accuracy (patience 50); and
  GraphSAGE on mini-batches of 256 training nodes with fan-outs (10, 10), evaluated both
  full batch and on sampled mini-batches. Test accuracy, mean and std over the seeds, and
  the training seconds.
"""

from __future__ import annotations

import os
import sys

from _threads import pin_threads  # before numpy and torch load

THREADS = pin_threads(
    str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
)

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sciml.data.graphs import contextual_sbm, planted_partition  # noqa: E402
from sciml.graph.backbone import Graph  # noqa: E402
from sciml.graph.gnn import (  # noqa: E402
    GAT,
    GCN,
    GIN,
    GATConv,
    GCNConv,
    GINConv,
    GraphSAGE,
    SAGEConv,
    node_accuracy,
    train_node_classifier,
)

GIB = 2.0**30

# --- layers against PyG and dense formulas ------------------------------------------------


def _counts(ei: np.ndarray, n: int) -> np.ndarray:
    """C[j, i]: how many times the edge j -> i occurs."""
    c = np.zeros((n, n))
    np.add.at(c, (ei[0], ei[1]), 1.0)
    return c


def _dense(name: str, layer: Any, x: torch.Tensor, c: np.ndarray) -> torch.Tensor:
    """The layer's output by its dense n x n formula (float64 algebra on x's dtype)."""
    ct = torch.from_numpy(c.T).to(x.dtype)
    n = x.shape[0]
    if name == "gcn":
        a = ct + torch.eye(n, dtype=x.dtype)
        d = a.sum(1) ** -0.5
        return (d[:, None] * a * d[None, :]) @ x @ layer.linear.weight.T + layer.bias
    if name.startswith("sage"):
        deg = ct.sum(1, keepdim=True)
        mean = torch.where(deg > 0, ct @ x / deg.clamp(min=1), 0.0)
        lin = layer.lin_neighbors
        return mean @ lin.weight.T + lin.bias + x @ layer.lin_root.weight.T
    if name == "gin":
        return layer.mlp((1 + layer.eps) * x + ct @ x)
    k = ct.clone()  # GAT: self-loops replaced by one
    k.fill_diagonal_(1.0)
    heads, d = layer.heads, layer.out_dim
    h = (x @ layer.linear.weight.T).view(n, heads, d)
    s_src = (h * layer.att_src).sum(-1)
    s_dst = (h * layer.att_dst).sum(-1)
    out = []
    for a in range(heads):
        e = torch.nn.functional.leaky_relu(s_dst[:, a, None] + s_src[None, :, a], 0.2)
        w = k * torch.exp(e - e.max(dim=1, keepdim=True).values)
        out.append((w / w.sum(1, keepdim=True)) @ h[:, a])
    o = torch.stack(out, 1)
    o = o.reshape(n, heads * d) if layer.concat else o.mean(1)
    return o + layer.bias


def _make_layer(name: str, f: int) -> Any:
    return {
        "gcn": lambda: GCNConv(f, 8),
        "sage": lambda: SAGEConv(f, 8),
        "sage_wide": lambda: SAGEConv(f, 24),
        "gin": lambda: GINConv(f, 8, hidden=16, eps=0.25, train_eps=True),
        "gat_concat": lambda: GATConv(f, 4, heads=4, concat=True),
        "gat_mean": lambda: GATConv(f, 4, heads=2, concat=False),
    }[name]()


def _pyg_layer(name: str, layer: Any, f: int, dtype: torch.dtype) -> Any:
    """PyG's layer in ``dtype`` holding ``layer``'s weights."""
    import torch_geometric.nn as pyg

    with torch.no_grad():
        if name == "gcn":
            ref = pyg.GCNConv(f, 8).to(dtype)
            ref.lin.weight.copy_(layer.linear.weight)
            ref.bias.copy_(layer.bias)
        elif name.startswith("sage"):
            ref = pyg.SAGEConv(f, layer.lin_root.out_features).to(dtype)
            ref.lin_l.weight.copy_(layer.lin_neighbors.weight)
            ref.lin_l.bias.copy_(layer.lin_neighbors.bias)
            ref.lin_r.weight.copy_(layer.lin_root.weight)
        elif name == "gin":  # PyG re-initialises the network it is given: load it after
            ref = pyg.GINConv(copy.deepcopy(layer.mlp), eps=0.25, train_eps=True).to(dtype)
            ref.nn.load_state_dict(layer.mlp.state_dict())
        else:
            ref = pyg.GATConv(f, 4, heads=layer.heads, concat=layer.concat).to(dtype)
            ref.lin.weight.copy_(layer.linear.weight)
            ref.att_src.copy_(layer.att_src)
            ref.att_dst.copy_(layer.att_dst)
            ref.bias.copy_(layer.bias)
    return ref


def _out_and_grad(fn: Any, x: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xg = x.clone().requires_grad_()
    out = fn(xg)
    (grad,) = torch.autograd.grad((out * r).sum(), xg)
    return out.detach(), grad


def layers_section(n: int = 1000, e: int = 10_000, f: int = 16) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch_geometric

        pyg_version: str | None = torch_geometric.__version__
    except ImportError:
        pyg_version = None
    rng = np.random.default_rng(0)
    ei_all = rng.integers(0, n, size=(2, e))
    ei_noloop = ei_all[:, ei_all[0] != ei_all[1]]
    rows: dict[str, Any] = {}
    for name in ("gcn", "sage", "sage_wide", "gin", "gat_concat", "gat_mean"):
        ei = ei_noloop if name == "gcn" else ei_all
        c = _counts(ei, n)
        rows[name] = {}
        for dtype in (torch.float64, torch.float32):
            torch.manual_seed(1)
            layer = _make_layer(name, f).to(dtype).eval()
            with torch.no_grad():
                for p in layer.parameters():
                    if p.ndim == 1:
                        p.normal_()
            x = torch.randn(n, f, dtype=dtype, generator=torch.Generator().manual_seed(2))
            with torch.no_grad():
                shape = layer(x, ei).shape
            r = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(3))
            ours, g_ours = _out_and_grad(lambda z, layer=layer, ei=ei: layer(z, ei), x, r)
            dense, g_dense = _out_and_grad(
                lambda z, layer=layer, name=name, c=c: _dense(name, layer, z, c), x, r
            )
            entry: dict[str, Any] = {
                "vs_dense_out": float((ours - dense).abs().max()),
                "vs_dense_grad": float((g_ours - g_dense).abs().max()),
                "out_scale": float(dense.abs().max()),
            }
            if pyg_version is not None:
                ref = _pyg_layer(name, layer, f, dtype).eval()
                eit = torch.from_numpy(ei)
                p_out, p_grad = _out_and_grad(lambda z, ref=ref, eit=eit: ref(z, eit), x, r)
                entry["vs_pyg_out"] = float((ours - p_out).abs().max())
                entry["vs_pyg_grad"] = float((g_ours - p_grad).abs().max())
            rows[name][str(dtype).removeprefix("torch.")] = entry
    worst64 = max(
        max(v for k, v in r["float64"].items() if k.startswith("vs_")) for r in rows.values()
    )
    return {
        "nodes": n,
        "edges": e,
        "features": f,
        "torch_geometric": pyg_version or "not installed (PyG columns skipped)",
        "layers": rows,
        "worst_float64": worst64,
        "target_float64_below_1e-10": worst64 < 1e-10,
    }


# --- one million nodes ----------------------------------------------------------------------


def _memory() -> dict[str, float]:
    """VmRSS and VmHWM (peak) of this process, GiB."""
    with open("/proc/self/status") as fh:
        text = fh.read()
    return {
        k: int(re.search(rf"{k}:\s+(\d+)", text).group(1)) * 1024 / GIB for k in ("VmRSS", "VmHWM")
    }


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def large_child(n: int, threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    start = _memory()
    res: dict[str, Any] = {"nodes": n, "threads": threads, "rss_start_gib": start["VmRSS"]}
    t = time.perf_counter()
    edges, y = planted_partition(n, 8, 10.0, 0.8, seed=0)
    edge_index = np.hstack([edges, edges[::-1]])
    del edges
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 64), dtype=np.float32)
    x[np.arange(n), y] += 1.0
    res["generate_seconds"] = time.perf_counter() - t
    res["directed_edges"] = int(edge_index.shape[1])
    t = time.perf_counter()
    graph = Graph.from_edge_index(edge_index, num_nodes=n)
    del edge_index
    torch.manual_seed(0)
    model = GCN(64, 64, 8, layers=2, dropout=0.5)
    prepared = model.prepare_graph(graph, n)
    res["graph_and_adjacency_seconds"] = time.perf_counter() - t
    res["adjacency_nnz"] = int(prepared.matrix._nnz())
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    train = torch.from_numpy(np.random.default_rng(2).random(n) < 0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    before = _memory()  # its VmHWM: the peak of generation and preparation
    res["peak_rss_preparation_gib"] = before["VmHWM"]
    res["peak_reset"] = _reset_peak()
    res["rss_before_epochs_gib"] = before["VmRSS"]
    epochs, losses = [], []
    model.train()
    for _ in range(3):
        t = time.perf_counter()
        optimizer.zero_grad()
        out = model(xt, prepared)
        loss = torch.nn.functional.cross_entropy(out[train], yt[train])
        loss.backward()
        optimizer.step()
        epochs.append(time.perf_counter() - t)
        losses.append(float(loss.detach()))
        del out, loss
    end = _memory()
    res["epoch_seconds"] = epochs
    res["train_loss"] = losses
    res["peak_rss_epochs_gib"] = end["VmHWM"] if res["peak_reset"] else None
    res["peak_rss_gib"] = max(before["VmHWM"], end["VmHWM"])
    res["peak_growth_gib"] = res["peak_rss_gib"] - start["VmRSS"]
    res["epoch_peak_growth_gib"] = end["VmHWM"] - before["VmRSS"] if res["peak_reset"] else None
    res["target_24gib"] = res["peak_growth_gib"] <= 24.0
    return res


def large_section(n: int, threads: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--part", "large-child", "--nodes", str(n)]
    cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:], "returncode": out.returncode}
    return json.loads(out.stdout)


# --- accuracy -------------------------------------------------------------------------------


def _models(f: int, c: int) -> dict[str, Any]:
    return {
        "gcn": lambda: GCN(f, 16, c),
        "sage": lambda: GraphSAGE(f, 16, c),
        "gin": lambda: GIN(f, 16, c),
        "gat": lambda: GAT(f, 8, c, heads=8),
    }


def accuracy_section(seeds: list[int], n: int = 3000) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        d = contextual_sbm(n, 4, 10.0, 0.8, 16, 1.0, 16, 0.1, 0.1, seed=seed)
        g = Graph.from_edge_index(d.edge_index, num_nodes=n)
        f = d.x.shape[1]
        settings = [(name, make, {}) for name, make in _models(f, 4).items()]
        settings.append(
            ("sage_minibatch", _models(f, 4)["sage"], {"batch_size": 256, "fanouts": [10, 10]})
        )
        for name, make, kw in settings:
            torch.manual_seed(seed)
            model = make()
            res = train_node_classifier(
                model,
                d.x,
                g,
                d.y,
                d.train_mask,
                d.val_mask,
                epochs=200,
                patience=50,
                seed=seed,
                **kw,
            )
            row = {
                "test_accuracy": node_accuracy(model, d.x, g, d.y, d.test_mask),
                "seconds": res.seconds,
                "epochs": res.epochs_run,
            }
            if kw:
                row["test_accuracy_sampled_eval"] = node_accuracy(
                    model,
                    d.x,
                    g,
                    d.y,
                    d.test_mask,
                    batch_size=1024,
                    fanouts=kw["fanouts"],
                    seed=seed,
                )
            runs.setdefault(name, []).append(row)
    summary = {
        name: {
            "test_accuracy_mean": float(np.mean([r["test_accuracy"] for r in rows])),
            "test_accuracy_std": float(np.std([r["test_accuracy"] for r in rows])),
            "seconds_mean": float(np.mean([r["seconds"] for r in rows])),
        }
        for name, rows in runs.items()
    }
    return {
        "nodes": n,
        "generator": "contextual_sbm(n, 4, 10.0, 0.8, 16, 1.0, 16, 0.1, 0.1, seed)",
        "seeds": seeds,
        "summary": summary,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="100,000 nodes, one seed")
    parser.add_argument(
        "--part", default="all", choices=["all", "layers", "large", "accuracy", "large-child"]
    )
    parser.add_argument("--nodes", type=int, default=None, help="nodes of the large run (1M)")
    parser.add_argument("--threads", default=THREADS, help="torch/BLAS threads (the cores)")
    args = parser.parse_args()
    threads = int(args.threads)
    torch.set_num_threads(threads)
    n_large = args.nodes or (100_000 if args.quick else 1_000_000)
    if args.part == "large-child":
        print(json.dumps(large_child(n_large, threads)))
        return
    seeds = [0] if args.quick else [0, 1, 2]
    t0 = time.perf_counter()
    torch.set_num_threads(1)  # the small sections; the large run pins its own
    result: dict[str, Any] = {"bench": "graph_gnn", "threads_large": threads, "threads_small": 1}
    if args.part in ("all", "layers"):
        result["layers"] = layers_section()
    if args.part in ("all", "accuracy"):
        result["accuracy"] = accuracy_section(seeds)
    if args.part in ("all", "large"):  # last, alone
        result["large"] = large_section(n_large, threads)
    result["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    result["seconds"] = time.perf_counter() - t0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key in ("layers", "accuracy", "large"):
            if key in result:
                part = result[key]
                brief = part.get("summary", part) if key == "accuracy" else part
                print(key, json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
