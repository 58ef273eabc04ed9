"""Graph recommendation benchmark: GTE's exactness, its speed and memory at scale against a
blocked scipy implementation, and the top-k metrics of the recommenders (JSON output).

    python benches/bench_graph_rec.py --json                  # everything (minutes, 2 cores)
    python benches/bench_graph_rec.py --skip-scale            # small set only (seconds)
    python benches/bench_graph_rec.py --users 20000 --items 10000 --interactions 400000

Sections:

- ``gte_exactness``: on the "small" generated set (3,000 users x 2,000 items, 80/20 split
  per user), GTE's top-20 lists (training items excluded) against the authors' literal
  layer-by-layer propagation in scipy (dense representations), ranked by the same rule.
- ``recommenders``: Recall@20, NDCG@20 and hit rate@20 on the small set's test split, of
  GTE, LightGCN, SheafRec and a popularity baseline, with each model's time (training for
  the learned ones: BPR with early stopping on 10% of each user's training interactions;
  ``--skip-learned`` leaves them out).
- ``gte_scale``: on the "large" set (200,000 x 50,000, 4M interactions; or the sizes given),
  top-20 for every user: sciml's GTE against the same closed form S_b = R_b R^T R + 3 R_b
  evaluated per block of users with scipy (the faster of sparse x sparse products and
  sparse x dense products on a densified block, chosen on a first block; float64 as scipy
  computes it), then masked and ranked the same way. The baseline runs on a sample of
  evenly spread blocks (``--baseline-blocks``) and its time is extrapolated linearly to all
  users (its cost per user is uniform up to the users' degrees; both sampled and
  extrapolated times are reported); the lists of the sampled users are compared with
  GTE's. Peak memory growth of each is sampled every 5 ms from /proc/self/statm (RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measured(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak RSS growth in bytes) of fn()."""
    base = _rss()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    done.set()
    t.join()
    peak[0] = max(peak[0], _rss())
    return out, dt, peak[0] - base


def rank_rows(scores: np.ndarray, seen: sp.csr_array, k: int) -> np.ndarray:
    """Top-k per row of a dense score block: seen items excluded (-inf), score descending,
    ties by lower item id (argpartition, then an exact sort of the candidates with ties at
    the cut-off kept)."""
    s = np.array(scores, dtype=np.float64)
    rows = np.repeat(np.arange(s.shape[0]), np.diff(seen.indptr))
    s[rows, seen.indices] = -np.inf
    kth = -np.partition(-s, k - 1, axis=1)[:, k - 1 : k]
    out = np.empty((s.shape[0], k), dtype=np.int64)
    for i in range(s.shape[0]):
        cand = np.flatnonzero(s[i] >= kth[i])
        order = np.lexsort((cand, -s[i, cand]))
        out[i] = cand[order[:k]]
    return out


def popularity_top_k(train: sp.csr_array, k: int) -> np.ndarray:
    """The k most popular unseen items of each user (ties by lower id)."""
    pop = np.asarray(train.sum(axis=0)).ravel()
    return rank_rows(np.broadcast_to(pop, train.shape), train, k)


# --- sections ---------------------------------------------------------------------------------


LEARNED: dict[str, tuple[str, dict[str, Any]]] = {
    # the papers' settings (LightGCN: 64 dims, 3 layers, batch 2048, lr 1e-3, L2 1e-4)
    "LightGCN": ("LightGCN", {"epochs": 400}),
    # Sheaf4Rec's code: 64 dims, 10 layers, batch 1024, lr 5e-3, L2 1e-4
    "SheafRec": ("SheafRec", {"epochs": 100}),
}
"""The learned recommenders of the table: class name in sciml.graph, settings."""


def learned_rows(train: sp.csr_array, k: int, seed: int) -> dict[str, Any]:
    """Each learned model of :data:`LEARNED` trained on ``train``: its top-k lists, the
    settings, the training seconds and epochs, and the best validation Recall@k."""
    import torch

    import sciml.graph

    torch.set_num_threads(1)
    rows = {}
    for name, (cls_name, settings) in LEARNED.items():
        model = getattr(sciml.graph, cls_name)(progress=False, random_state=seed, **settings)
        _, seconds, _ = measured(lambda model=model: model.fit(train))
        r = model.result_
        steps_per_epoch = model.steps_per_epoch_
        rows[name] = {
            "lists": model.recommend(k=k),
            "settings": {
                "embedding_dim": model.embedding_dim,
                "layers": model.layers,
                **{k: v for k, v in vars(model.settings).items() if k != "progress"},
            },
            "train_seconds": round(seconds, 1),
            "epochs_trained": r.step // steps_per_epoch,
            "best_epoch": (r.best_step or 0) // steps_per_epoch,
            "best_validation_recall": round(float(r.best_score or 0.0), 4),
        }
    return rows


def small_sections(k: int = 20, learned: bool = True, seed: int = 0) -> dict[str, Any]:
    from sciml.data import implicit_feedback_preset, split_per_user
    from sciml.graph import (
        GTE,
        gte_reference,
        hit_rate_at_k,
        ndcg_at_k,
        recall_at_k,
        top_k_reference,
    )

    train, test = split_per_user(implicit_feedback_preset("small", seed=0), 0.2, seed=0)
    ours, t_ours, _ = measured(lambda: GTE(layers=3).fit(train).recommend(k=k))
    ref_scores, t_ref, _ = measured(lambda: gte_reference(train, 3))
    ref = top_k_reference(ref_scores, k, train)
    equal = int((ours == ref).all(axis=1).sum())
    exactness = {
        "users": train.shape[0],
        "items": train.shape[1],
        "train_interactions": int(train.nnz),
        "layers": 3,
        "k": k,
        "equal_lists": equal,
        "all_equal": equal == train.shape[0],
        "seconds_sciml": round(t_ours, 4),
        "seconds_literal_scipy": round(t_ref, 4),
    }

    def metrics(rec: np.ndarray) -> dict[str, float]:
        return {
            f"recall@{k}": round(recall_at_k(rec, test), 4),
            f"ndcg@{k}": round(ndcg_at_k(rec, test), 4),
            f"hit_rate@{k}": round(hit_rate_at_k(rec, test), 4),
        }

    models: dict[str, Any] = {
        "GTE(layers=3)": {**metrics(ours), "seconds": round(t_ours, 2)},
        "popularity": metrics(popularity_top_k(train, k)),
    }
    if learned:
        for name, row in learned_rows(train, k, seed).items():
            models[name] = {**metrics(row.pop("lists")), **row}
    recommenders = {
        "data": "implicit_feedback_preset('small', seed=0), split_per_user(0.2, seed=0)",
        "test_users": int((np.diff(test.indptr) > 0).sum()),
        "models": models,
    }
    return {"gte_exactness": exactness, "recommenders": recommenders}


def scipy_block(r: sp.csr_array, rt: sp.csr_array, users: np.ndarray, how: str) -> np.ndarray:
    """S[users] = R_b R^T R + 3 R_b with scipy, dense float64 (len(users), n_items)."""
    rb = r[users]
    if how == "sparse":
        return ((rb @ rt) @ r).toarray() + 3.0 * rb.toarray()
    y = rb.toarray()  # dense block Y = R_b: Y G = (G Y^T)^T = (R^T (R Y^T))^T
    return (rt @ (r @ y.T)).T + 3.0 * y


def scale_section(
    n_users: int, n_items: int, n_interactions: int, k: int, blocks: int, block: int
) -> dict[str, Any]:
    from sciml.data import implicit_feedback
    from sciml.graph import GTE

    communities = 20 if n_users >= 20_000 else 10
    r, t_gen, _ = measured(
        lambda: implicit_feedback(n_users, n_items, n_interactions, n_communities=communities)
    )
    r = sp.csr_array(r, dtype=np.float32)
    model = GTE(layers=3, progress=False)
    ours, t_ours, mem_ours = measured(lambda: model.fit(r).recommend(k=k))

    rt = sp.csr_array(r.T)
    r64, rt64 = sp.csr_array(r, dtype=np.float64), sp.csr_array(rt, dtype=np.float64)
    probe = np.arange(min(block, n_users))
    timing = {}
    for how in ("sparse", "dense"):
        _, timing[how], _ = measured(lambda how=how: scipy_block(r64, rt64, probe, how))
    how = min(timing, key=timing.get)
    starts = np.linspace(0, max(n_users - block, 0), blocks).astype(np.int64)
    sampled = [np.arange(s, min(s + block, n_users)) for s in np.unique(starts)]

    def baseline() -> list[np.ndarray]:
        out = []
        for users in sampled:
            out.append(rank_rows(scipy_block(r64, rt64, users, how), r[users], k))
        return out

    base_lists, t_base, mem_base = measured(baseline)
    n_sampled = int(sum(u.size for u in sampled))
    equal = int(
        sum((ours[u] == b).all(axis=1).sum() for u, b in zip(sampled, base_lists, strict=True))
    )
    t_base_all = t_base * n_users / n_sampled
    return {
        "users": n_users,
        "items": n_items,
        "interactions": int(r.nnz),
        "k": k,
        "seconds_generate": round(t_gen, 2),
        "sciml_seconds": round(t_ours, 2),
        "sciml_peak_rss_growth_mib": round(mem_ours / 2**20, 1),
        "dense_scores_would_need_gib": round(n_users * n_items * 4 / 2**30, 1),
        "scipy_variant": how,
        "scipy_probe_block_seconds": {h: round(v, 3) for h, v in timing.items()},
        "scipy_block_users": block,
        "scipy_sampled_users": n_sampled,
        "scipy_sampled_seconds": round(t_base, 2),
        "scipy_seconds_extrapolated_all_users": round(t_base_all, 1),
        "scipy_peak_rss_growth_mib": round(mem_base / 2**20, 1),
        "speedup": round(t_base_all / t_ours, 2),
        "sampled_lists_equal": equal,
        "sampled_lists_all_equal": equal == n_sampled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-learned", action="store_true", help="no LightGCN / SheafRec")
    parser.add_argument("--seed", type=int, default=0, help="seed of the learned models")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=4_000_000)
    parser.add_argument("--baseline-blocks", type=int, default=8)
    parser.add_argument("--block", type=int, default=512, help="users per scipy block")
    args = parser.parse_args()

    from sciml import _core

    result: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sciml_threads": _core.get_num_threads(),
        }
    }
    result |= small_sections(learned=not args.skip_learned, seed=args.seed)
    if not args.skip_scale:
        result["gte_scale"] = scale_section(
            args.users, args.items, args.interactions, 20, args.baseline_blocks, args.block
        )
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
