"""Mowst: the confidence functions against hand-computed values, the gate, Mowst's and
Mowst*'s losses, the inference rule, the alternating turns, training on a tiny generated
graph, the generator, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sciml._checks import NotFittedError
from sciml.data.graphs import contextual_sbm
from sciml.graph import gnn
from sciml.graph.mowst import (
    EXPERT_CLASSES,
    MLP,
    ConfidenceGate,
    Mowst,
    dispersion,
    entropy_confidence,
    mixed_informativeness_sbm,
    mowst_loss,
    mowst_predict,
    mowst_star_loss,
    variance_confidence,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST = {"hidden": 16, "epochs": 60, "patience": 15, "rounds": 3, "round_patience": 1}


@pytest.fixture(scope="module")
def tiny():
    """400 nodes, 3 classes: half the nodes with informative features, half with noise."""
    return mixed_informativeness_sbm(
        n_nodes=400, n_classes=3, mean_degree=8.0, homophily=0.7, n_features=8,
        feature_signal=4.0, train_frac=0.2, val_frac=0.2, seed=3,
    )  # fmt: skip


@pytest.fixture(scope="module")
def fitted(tiny):
    data, _ = tiny
    return Mowst(seed=0, **FAST).fit(data)


# ----------------------------------------------------------------------------- confidence


def test_confidence_functions_by_hand():
    p = torch.tensor(
        [
            [0.5, 0.5, 0.0, 0.0],
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 0.0, 1.0, 0.0],
        ],
        dtype=torch.float64,
    )
    # variance: (K sum p^2 - 1) / (K - 1) = (4 * 0.5 - 1) / 3
    np.testing.assert_allclose(variance_confidence(p).numpy(), [1 / 3, 0.0, 1.0], atol=1e-15)
    # entropy: 1 - log 2 / log 4 = 0.5
    np.testing.assert_allclose(entropy_confidence(p).numpy(), [0.5, 0.0, 1.0], atol=1e-15)
    q = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
    # (3 * 0.54 - 1) / 2 = 0.31
    assert variance_confidence(q).item() == pytest.approx(0.31, abs=1e-14)
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert entropy_confidence(q).item() == pytest.approx(1 - h / math.log(3), abs=1e-14)
    # the variance form is the population variance over its one-hot maximum
    var = torch.var(q, dim=1, unbiased=False) / torch.var(
        torch.eye(3, dtype=torch.float64)[0], unbiased=False
    )
    assert variance_confidence(q).item() == pytest.approx(var.item(), abs=1e-14)
    assert dispersion(q).shape == (1, 2)


def test_fixed_gate_is_the_dispersion_to_alpha():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]], dtype=torch.float64)
    p = torch.softmax(z, 1)
    for kind, fn in (("variance", variance_confidence), ("entropy", entropy_confidence)):
        gate = ConfidenceGate(kind, alpha=2.0)
        torch.testing.assert_close(gate(z), fn(p) ** 2, rtol=0, atol=1e-14)
        assert not list(gate.parameters())


def test_gate_detaches_the_dispersion_by_default():
    z = torch.randn(5, 3, requires_grad=True)
    assert not ConfidenceGate("variance")(z).requires_grad
    c = ConfidenceGate("variance", detach=False)(z)
    c.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    # the learned gate: gradient reaches its parameters, not the logits
    torch.manual_seed(0)
    gate = ConfidenceGate("learned", in_dim=4, hidden=8, self_features=True)
    x = torch.randn(5, 4)
    z2 = torch.randn(5, 3, requires_grad=True)
    c = gate(z2, x)
    assert c.shape == (5,) and bool(((c > 0) & (c < 1)).all())
    c.sum().backward()
    assert z2.grad is None
    assert all(p.grad is not None for p in gate.parameters())
    assert gate.mlp.lins[0].in_features == 2 + 4
    with pytest.raises(ValueError, match="self-features"):
        gate(z2)


# ----------------------------------------------------------------------------- losses


def _ce(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    return -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1)))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_mowst_loss_by_hand():
    rng = np.random.default_rng(0)
    zw, zs = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    y = rng.integers(0, 3, 6)
    c = rng.random(6)
    expected = np.mean(c * _ce(zw, y) + (1 - c) * _ce(zs, y))
    t = [torch.from_numpy(a) for a in (zw, zs, y, c)]
    assert mowst_loss(t[0], t[1], t[2], t[3]).item() == pytest.approx(expected, rel=1e-12)
    # C = 1: the weak expert's cross-entropy; C = 0: the strong one's
    one, zero = torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    assert mowst_loss(t[0], t[1], t[2], one).item() == pytest.approx(_ce(zw, y).mean())
    assert mowst_loss(t[0], t[1], t[2], zero).item() == pytest.approx(_ce(zs, y).mean())


def test_mowst_star_loss_by_hand():
    rng = np.random.default_rng(1)
    zw, zs = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    y = rng.integers(0, 4, 5)
    c = rng.random(5)
    t = [torch.from_numpy(a) for a in (zw, zs, y, c)]
    mix = c[:, None] * _softmax(zw) + (1 - c[:, None]) * _softmax(zs)
    expected = -np.mean(np.log(mix[np.arange(5), y]))
    assert mowst_star_loss(*t).item() == pytest.approx(expected, rel=1e-12)
    logit_mix = c[:, None] * zw + (1 - c[:, None]) * zs
    got = mowst_star_loss(*t, mix="logits").item()
    assert got == pytest.approx(_ce(logit_mix, y).mean(), rel=1e-12)
    # C = 1 or 0 exactly: one expert's cross-entropy, no log(0) trouble
    one = torch.ones(5, dtype=torch.float64)
    assert mowst_star_loss(t[0], t[1], t[2], one).item() == pytest.approx(_ce(zw, y).mean())
    with pytest.raises(ValueError, match="star_mix"):
        mowst_star_loss(*t, mix="sum")


# ----------------------------------------------------------------------------- inference


def test_inference_rule():
    pw = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    ps = np.array([[0.1, 0.9], [0.7, 0.3], [0.3, 0.7]])
    c = np.array([0.5, 0.49, 1.0])
    np.testing.assert_array_equal(mowst_predict(pw, ps, c, "threshold"), [0, 0, 0])
    np.testing.assert_array_equal(mowst_predict(pw, ps, np.ones(3)), pw.argmax(1))
    np.testing.assert_array_equal(mowst_predict(pw, ps, np.zeros(3)), ps.argmax(1))
    # sampled: the weak expert with probability C per node, seeded
    n = 20000
    wk = np.tile([[1.0, 0.0]], (n, 1))
    st = np.tile([[0.0, 1.0]], (n, 1))
    labels = mowst_predict(wk, st, np.full(n, 0.3), seed=5)
    share = (labels == 0).mean()
    assert abs(share - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
    np.testing.assert_array_equal(labels, mowst_predict(wk, st, np.full(n, 0.3), seed=5))
    with pytest.raises(ValueError, match="inference"):
        mowst_predict(pw, ps, c, "vote")
    with pytest.raises(ValueError, match="confidence"):
        mowst_predict(pw, ps, c[:2])


# ----------------------------------------------------------------------------- training


def test_strong_turn_leaves_weak_and_gate_alone(tiny, fitted):
    data, _ = tiny
    model = fitted
    x = torch.as_tensor(data.x, dtype=torch.float32)
    y = torch.as_tensor(data.y)
    tr, va = torch.as_tensor(data.train_mask), torch.as_tensor(data.val_mask)
    graphs = (None, model.strong_.prepare_graph(data.edge_index, data.num_nodes))
    before = model._state()
    opt = torch.optim.AdamW(model.strong_.parameters(), lr=0.05)

    def loss_fn(zw, zs, c, yy):
        return mowst_loss(zw[tr], zs[tr], yy[tr], c[tr])

    model._run_epochs(opt, (model.strong_,), loss_fn, x, graphs, y, va)
    after = model._state()
    for i in (0, 2):  # weak expert, gate: untouched
        for k in before[i]:
            torch.testing.assert_close(before[i][k], after[i][k], rtol=0, atol=0)
    assert any(not torch.equal(before[1][k], after[1][k]) for k in before[1])
    model._load(before)


def test_mowst_beats_chance_and_specialises(tiny, fitted):
    data, informative = tiny
    model = fitted
    assert model.score(data) > 0.6  # 3 classes: chance 1/3
    c = model.confidence_of(data)
    assert c.shape == (data.num_nodes,) and ((c >= 0) & (c <= 1)).all()
    # the gate trusts the weak expert more where the features are informative
    assert c[informative].mean() > c[~informative].mean() + 0.1
    proba = model.predict_proba(data)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    pw, ps = model.expert_proba(data)
    np.testing.assert_allclose(proba, c[:, None] * pw + (1 - c[:, None]) * ps, atol=1e-12)
    # the expected accuracy of the random rule, by hand
    t = data.test_mask
    right_w = pw.argmax(1)[t] == data.y[t]
    right_s = ps.argmax(1)[t] == data.y[t]
    expected = np.mean(c[t] * right_w + (1 - c[t]) * right_s)
    assert model.score(data) == pytest.approx(expected, abs=1e-12)
    thr = model.predict(data, rule="threshold")
    assert model.score(data, rule="threshold") == pytest.approx((thr[t] == data.y[t]).mean())
    labels = model.predict(data)
    assert labels.dtype == np.int64 and labels.shape == (data.num_nodes,)
    np.testing.assert_array_equal(labels, model.predict(data))  # seeded draws
    assert len(model.history_["rounds"]) >= 1 and set(model.history_["pretrain"]) == {
        "weak",
        "strong",
    }


def test_inputs_dict_object_torch_agree(tiny, fitted):
    data, _ = tiny
    as_dict = {k: getattr(data, k) for k in ("x", "edge_index", "y", "test_mask")}
    as_torch = {k: torch.as_tensor(v) for k, v in as_dict.items()}
    ref = fitted.predict_proba(data)
    np.testing.assert_allclose(fitted.predict_proba(as_dict), ref, rtol=0, atol=0)
    np.testing.assert_allclose(fitted.predict_proba(as_torch), ref, rtol=0, atol=1e-7)
    assert fitted.score(as_torch) == pytest.approx(fitted.score(data), abs=1e-6)


def test_mowst_star_and_seeding(tiny):
    data, _ = tiny
    a = Mowst(star=True, seed=1, **FAST).fit(data)
    b = Mowst(star=True, seed=1, **FAST).fit(data)
    np.testing.assert_array_equal(a.predict_proba(data), b.predict_proba(data))
    assert a.score(data) > 0.6
    np.testing.assert_array_equal(a.predict(data), a.predict_proba(data).argmax(1))
    logits = Mowst(star=True, star_mix="logits", seed=1, **FAST).fit(data)
    np.testing.assert_allclose(logits.predict_proba(data).sum(1), 1.0, atol=1e-12)


@pytest.mark.parametrize("confidence", ["variance", "entropy"])
def test_fixed_confidence_trains(tiny, confidence):
    data, _ = tiny
    model = Mowst(confidence=confidence, alpha=0.5, seed=0, **FAST).fit(data)
    assert not list(model.gate_.parameters())
    assert model.score(data) > 0.6


@pytest.mark.parametrize("name", sorted(EXPERT_CLASSES))
def test_strong_expert_by_name(tiny, name):
    data, _ = tiny
    model = Mowst(strong=name, seed=0, pretrain="none", **{**FAST, "rounds": 1, "epochs": 20})
    if getattr(gnn, EXPERT_CLASSES[name], None) is None:
        with pytest.raises(ValueError, match=EXPERT_CLASSES[name]):
            model.fit(data)
        return
    model.fit(data)
    assert isinstance(model.strong_, getattr(gnn, EXPERT_CLASSES[name]))
    assert model.predict_proba(data).shape == (data.num_nodes, 3)


def test_expert_as_class():
    torch.manual_seed(0)
    data, _ = mixed_informativeness_sbm(n_nodes=90, n_classes=3, n_features=4, seed=0)
    model = Mowst(weak=MLP, strong=gnn.GCN, seed=0, **{**FAST, "rounds": 1, "epochs": 5})
    model.fit(data)
    assert isinstance(model.weak_, MLP) and isinstance(model.strong_, gnn.GCN)


def test_generator_replaces_half_the_features():
    data, informative = mixed_informativeness_sbm(n_nodes=200, n_classes=4, seed=7)
    ref = contextual_sbm(200, 4, mean_degree=4.0, homophily=0.7, feature_signal=3.0, seed=7)
    assert informative.sum() == 100
    np.testing.assert_array_equal(data.x[informative], ref.x[informative])
    assert not np.isclose(data.x[~informative], ref.x[~informative]).any()
    np.testing.assert_array_equal(data.edge_index, ref.edge_index)
    np.testing.assert_array_equal(data.y, ref.y)


# ----------------------------------------------------------------------------- bad input


def _dict(data) -> dict:
    keys = ("x", "edge_index", "y", "train_mask", "val_mask", "test_mask")
    return {k: np.array(getattr(data, k)) for k in keys}


def test_bad_input(tiny, fitted):
    data, _ = tiny
    n = data.num_nodes
    good = _dict(data)
    model = Mowst(seed=0, **FAST)
    cases = [
        ({"x": None}, "no 'x'"),
        ({"train_mask": good["train_mask"][:-1]}, r"train_mask must have shape"),
        ({"val_mask": good["val_mask"].astype(int)}, "boolean"),
        ({"val_mask": np.zeros(n, bool)}, "selects no node"),
        ({"y": good["y"].astype(float)}, "integer labels"),
        ({"y": good["y"][:-1]}, "integer labels"),
    ]
    for change, match in cases:
        bad = {**good, **change}
        if change.get("x", 0) is None:
            del bad["x"]
        with pytest.raises(ValueError, match=match):
            model.fit(bad)
    x = good["x"].copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit({**good, "x": x})
    ei = good["edge_index"].copy()
    ei[1, 0] = n
    with pytest.raises(ValueError, match="edge_index ids"):
        model.fit({**good, "edge_index": ei})
    with pytest.raises(ValueError, match="edge_index must have shape"):
        model.fit({**good, "edge_index": ei[0]})
    with pytest.raises(ValueError, match="labels must be in"):
        Mowst(n_classes=2, **FAST).fit(good)

    class Obj:
        x = good["x"]

    with pytest.raises(ValueError, match="no attribute 'edge_index'"):
        model.fit(Obj())
    with pytest.raises(NotFittedError):
        Mowst().predict(good)
    with pytest.raises(ValueError, match="features"):
        fitted.predict({**good, "x": good["x"][:, :3]})
    with pytest.raises(ValueError, match="rule"):
        fitted.predict(good, rule="vote")
    with pytest.raises(ValueError, match="edge_index ids"):
        fitted.predict_proba({**good, "edge_index": ei})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strong": "transformer"}, "unknown strong expert"),
        ({"weak": 3}, "weak must be"),
        ({"confidence": "margin"}, "confidence"),
        ({"pretrain": "gate"}, "pretrain"),
        ({"inference": "vote"}, "inference"),
        ({"confidence": "variance", "gate_features": True}, "gate_features"),
        ({"dropout": 1.0}, "dropout"),
        ({"lr": 0.0}, "lr"),
        ({"alpha": -1.0}, "alpha"),
        ({"star_mix": "max"}, "star_mix"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Mowst(**kwargs)
