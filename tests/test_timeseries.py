"""sciml.timeseries: features, GRU-D's decay, groups, metrics, the estimators' API and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sciml.data import icu_timeseries
from sciml.nn import AttentionPooling
from sciml.timeseries import (
    FIT,
    FITV,
    GRUD,
    LOCFLogistic,
    MultiFIT,
    NotFittedError,
    PriorClassifier,
    TimeSeriesClassifier,
    as_series_set,
    auprc,
    auroc,
    infer_groups,
    resolution_bin_width,
    roc_curve,
)
from sciml.timeseries.features import (
    fit_step_inputs,
    locf,
    observation_mask,
    record_means,
    time_since_last_observation,
    time_since_observed,
)
from sciml.timeseries.fit import support_table
from sciml.timeseries.networks import GRUDNetwork

torch.set_num_threads(1)

T, F = 48, 12
TINY = {"epochs": 2, "batch_size": 32, "progress": False}
SMALL_NETS = {
    FIT: {"feature_dim": 4, "hidden_size": 8},
    FITV: {"feature_dim": 4, "hidden_size": 8},
    MultiFIT: {"feature_dim": 4, "hidden_size": 8},
    GRUD: {"hidden_size": 8},
}


@pytest.fixture(scope="module")
def data():
    return icu_timeseries(160, seed=3), icu_timeseries(60, seed=4)


def make(cls, **kwargs):
    if cls in (PriorClassifier, LOCFLogistic):
        return cls(n_steps=T, n_features=F, **kwargs)
    return cls(n_steps=T, n_features=F, **{**TINY, **SMALL_NETS[cls], **kwargs})


# -- features against a hand-computed example ------------------------------------------------

NAN = np.nan
HAND_X = np.array([[[1.0, NAN], [NAN, 2.0], [NAN, NAN], [4.0, NAN], [NAN, NAN]]])  # (1, 5, 2)
HAND_TS = np.array([[0.0, 1.0, 3.0, 4.0, 7.0]])


def test_mask_delta_and_locf_by_hand():
    mask = observation_mask(HAND_X)
    np.testing.assert_array_equal(mask[0].T, [[1, 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    # Che et al.: delta_t = gap + delta_{t-1} if m_{t-1} = 0 else gap; delta_0 = 0
    delta = time_since_last_observation(mask, HAND_TS)
    np.testing.assert_array_equal(delta[0].T, [[0, 1, 3, 4, 3], [0, 1, 2, 3, 6]])
    # FIT's: 0 where observed, else the time since the last observation
    np.testing.assert_array_equal(
        time_since_observed(mask, HAND_TS)[0].T, [[0, 1, 3, 0, 3], [0, 0, 2, 3, 6]]
    )
    np.testing.assert_array_equal(
        locf(HAND_X, np.array([10.0, 20.0]))[0].T, [[1, 1, 1, 4, 4], [20, 2, 2, 2, 2]]
    )
    np.testing.assert_array_equal(record_means(HAND_X, np.zeros(2)), [[2.5, 2.0]])


def test_fit_inputs_by_hand_with_bins():
    steps = fit_step_inputs(HAND_X, HAND_TS, time_unit=1.0)
    assert steps.shape == (1, 5, 2, 4) and steps.dtype == np.float32
    # before its first observation a signal reads the record's own mean (the authors' code)
    np.testing.assert_allclose(steps[0, :, 1, 0], [2, 2, 2, 2, 2])
    np.testing.assert_allclose(steps[0, :, 0, 1], 2.5)
    np.testing.assert_allclose(steps[0, :, 0, 3], np.log1p([0, 1, 3, 0, 3]), rtol=1e-6)
    binned = fit_step_inputs(HAND_X, HAND_TS, time_unit=1.0, bin_width=2)  # bins {0,1} {2,3} {4}
    assert binned.shape == (1, 3, 2, 4)
    np.testing.assert_allclose(binned[0, :, 0, 0], [1, 4, 4])
    np.testing.assert_allclose(binned[0, :, 0, 2], [1, 1, 0])
    np.testing.assert_allclose(binned[0, :, 1, 2], [1, 0, 0])
    np.testing.assert_allclose(binned[0, :, 0, 3], np.log1p([1, 0, 3]), rtol=1e-6)


# -- GRU-D's decay against its formula -----------------------------------------------------------


def test_grud_decay_and_imputation_follow_che_et_al():
    torch.manual_seed(0)
    x_mean = torch.tensor([0.5, -1.0, 2.0])
    net = GRUDNetwork(x_mean, hidden_size=4, n_classes=2, dropout=0.0)
    with torch.no_grad():
        net.w_gamma_x.copy_(torch.tensor([0.3, -0.2, 1.0]))
        net.b_gamma_x.copy_(torch.tensor([0.1, 0.5, -2.0]))
    delta = torch.tensor([[0.0, 1.0, 4.0], [2.0, 10.0, 0.5]])
    gamma_x, gamma_h = net.decays(delta)
    w, b = net.w_gamma_x.detach(), net.b_gamma_x.detach()
    expected_x = torch.exp(-torch.clamp(w * delta + b, min=0))
    torch.testing.assert_close(gamma_x, expected_x)
    W, bh = net.gamma_h.weight.detach(), net.gamma_h.bias.detach()
    torch.testing.assert_close(gamma_h, torch.exp(-torch.clamp(delta @ W.T + bh, min=0)))
    assert (gamma_x <= 1).all() and (gamma_x > 0).all()

    x = torch.tensor([[9.0, 9.0, 9.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    x_last = torch.tensor([[7.0, 3.0, -1.0], [0.0, 5.0, 4.0]])
    x_hat = net.impute(x, mask, delta, x_last)
    expected = mask * x + (1 - mask) * (expected_x * x_last + (1 - expected_x) * x_mean)
    torch.testing.assert_close(x_hat, expected)
    assert x_hat[0, 0] == 9.0 and x_hat[1, 1] == 2.0  # observed values pass unchanged


def test_grud_forward_decays_the_hidden_state_before_each_update():
    torch.manual_seed(1)
    net = GRUDNetwork(torch.zeros(2), hidden_size=3, n_classes=2, dropout=0.0).eval()
    x, mask = torch.randn(2, 4, 2), (torch.rand(2, 4, 2) > 0.5).float()
    delta, x_last = torch.rand(2, 4, 2) * 3, torch.randn(2, 4, 2)
    h = torch.zeros(2, 3)
    for t in range(4):
        _, gamma_h = net.decays(delta[:, t])
        x_hat = net.impute(x[:, t], mask[:, t], delta[:, t], x_last[:, t])
        h = net.cell(torch.cat([x_hat, mask[:, t]], dim=-1), gamma_h * h)
    torch.testing.assert_close(net(x, mask, delta, x_last), net.head(h))


# -- groups -------------------------------------------------------------------------------------


def test_inferred_groups_are_the_generators_resolutions(data):
    train, _ = data
    assert infer_groups(train["X"]) == train["groups"]
    assert infer_groups(train["X"], n_groups=2) in (
        [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11]],
        [[0, 1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11]],
    )
    assert resolution_bin_width(0.9, 48) == 1
    assert resolution_bin_width(0.1, 48) == 10
    assert resolution_bin_width(0.02, 48) == 12  # at least four bins


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_permuting_signals_inside_a_group_keeps_the_groups(data, seed):
    train, _ = data
    rng = np.random.default_rng(seed)
    perm = np.arange(F)
    for g in train["groups"]:
        perm[g] = rng.permutation(g)
    assert infer_groups(train["X"][:, :, perm]) == infer_groups(train["X"])


def test_multifit_records_inferred_groups_invariant_to_permutation(data):
    train, _ = data
    perm = np.array([3, 0, 4, 1, 2, 8, 5, 7, 6, 11, 9, 10])
    permuted = {**train, "X": train["X"][:, :, perm]}
    a = make(MultiFIT, epochs=1).fit(train)
    b = make(MultiFIT, epochs=1).fit(permuted)
    assert a.groups_ == b.groups_ == train["groups"]
    assert a.bin_widths_[0] == 1 and a.bin_widths_[1] > 1 and a.bin_widths_[2] >= a.bin_widths_[1]


def test_support_signals_are_the_most_correlated():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 1, 1))
    X = np.concatenate(
        [base, rng.normal(size=(200, 1, 1)), base + 0.1 * rng.normal(size=(200, 1, 1))], axis=2
    ).repeat(3, axis=1)
    table = support_table(X, 1)
    np.testing.assert_array_equal(table[:, 0], [0, 1, 2])
    assert table[0, 1] == 2 and table[2, 1] == 0
    assert support_table(X, 5).shape == (3, 3) and support_table(X, 0).shape == (3, 1)


# -- metrics ------------------------------------------------------------------------------------


def test_auroc_and_auprc_with_ties_by_hand():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    assert auroc(y, s) == pytest.approx(6 / 9)  # a tied pair counts one half
    assert auprc(y, s) == pytest.approx((1 + 0.5 + 0.6) / 3)
    fpr, tpr, thr = roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 0, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 1, 1])
    assert thr[0] == np.inf
    assert auroc(y, np.stack([1 - s, s], axis=1)) == pytest.approx(6 / 9)
    assert auroc(y, np.zeros(6)) == 0.5
    with pytest.raises(ValueError, match="single class"):
        auroc(np.zeros(4, dtype=int), np.arange(4.0))


def test_multiclass_metrics_are_the_one_vs_rest_mean():
    y = np.array([0, 1, 2, 2, 1, 0])
    p = np.eye(3)[y] * 0.6 + 0.1
    assert auroc(y, p) == 1.0 and auprc(y, p) == 1.0
    with pytest.raises(ValueError, match="class indices"):
        auroc(np.array([0, 3, 1]), np.ones((3, 3)) / 3)


def test_attention_pooling_weights_and_masks():
    torch.manual_seed(0)
    pool = AttentionPooling(5)
    x = torch.randn(3, 4, 5)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    w = pool.weights(x, mask)
    torch.testing.assert_close(w.sum(dim=1), torch.tensor([1.0, 1.0, 0.0]))
    assert (w[0, 2:] == 0).all()
    out = pool(x, mask)
    torch.testing.assert_close(out[2], torch.zeros(5))
    torch.testing.assert_close(out[0], (w[0, :, None] * x[0]).sum(0))
    with pytest.raises(ValueError, match="mask"):
        pool(x, mask[:, :2])


# -- estimators -----------------------------------------------------------------------------------

ALL = [PriorClassifier, LOCFLogistic, GRUD, FIT, FITV, MultiFIT]


@pytest.mark.parametrize("cls", ALL)
def test_fit_predict_save_load_round_trip(cls, data, tmp_path):
    train, test = data
    model = make(cls, random_state=1)
    assert model.fit(train) is model
    proba = model.predict_proba(test)
    assert proba.shape == (60, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert set(np.unique(model.predict(test))) <= {0, 1}
    model.save(tmp_path / "m.pt")
    for loader in (TimeSeriesClassifier, cls):
        again = loader.load(tmp_path / "m.pt")
        assert type(again) is cls and again.get_params() == model.get_params()
        np.testing.assert_array_equal(again.predict_proba(test), proba)
    # torch tensors in, as PyPOTS sets come
    as_torch = {"X": torch.from_numpy(test["X"]), "y": torch.from_numpy(test["y"])}
    np.testing.assert_array_equal(model.predict_proba(as_torch), proba)


def test_loading_the_wrong_class_or_file_is_an_error(data, tmp_path):
    train, _ = data
    make(PriorClassifier).fit(train).save(tmp_path / "p.pt")
    with pytest.raises(ValueError, match="not a GRUD"):
        GRUD.load(tmp_path / "p.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a saved"):
        TimeSeriesClassifier.load(tmp_path / "other.pt")


def test_same_random_state_same_model(data):
    train, test = data
    a = make(FITV, random_state=5).fit(train).predict_proba(test)
    b = make(FITV, random_state=5).fit(train).predict_proba(test)
    np.testing.assert_array_equal(a, b)


def test_training_lowers_the_loss_and_early_stopping_restores_the_best(data):
    train, test = data
    model = make(MultiFIT, epochs=12, lr=3e-3, patience=3).fit(train, val_set=test)
    losses = [h["loss"] for h in model.history_]
    assert losses[-1] < losses[0]
    assert model.best_epoch_ is not None and model.best_epoch_ <= model.n_epochs_ <= 12
    assert model.best_val_score_ == pytest.approx(auroc(test["y"], model.predict_proba(test)))


def test_empty_records_get_the_prior(data):
    train, test = data
    X = test["X"].copy()
    X[[0, 5]] = np.nan
    for cls in (LOCFLogistic, GRUD, MultiFIT):
        model = make(cls).fit(train)
        proba = model.predict_proba({"X": X})
        assert np.isfinite(proba).all()
        np.testing.assert_array_equal(proba[[0, 5]], np.repeat(model.prior_[None], 2, axis=0))
    assert model.prior_[1] == pytest.approx(train["y"].mean())
    # empty records in training are allowed too (they carry no signal to learn from)
    Xt = train["X"].copy()
    Xt[:10] = np.nan
    assert np.isfinite(make(MultiFIT, epochs=1).fit({**train, "X": Xt}).predict_proba(test)).all()


def test_multiclass_labels(data):
    train, test = data
    labels = np.array([10, 20, 30])

    def three(d):
        return {**d, "y": labels[np.digitize(d["risk"], np.quantile(train["risk"], [0.4, 0.75]))]}

    for cls in (LOCFLogistic, MultiFIT, GRUD):
        model = make(cls).fit(three(train))
        proba = model.predict_proba(three(test))
        assert proba.shape == (60, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(model.classes_, labels)
        assert set(model.predict(test)) <= set(labels)
        assert 0 <= auroc(np.searchsorted(labels, three(test)["y"]), proba) <= 1


def test_explicit_groups_and_timestamps_per_record(data):
    train, test = data
    rng = np.random.default_rng(0)
    ts = np.cumsum(rng.uniform(0.5, 1.5, size=(160, T)), axis=1)
    model = make(MultiFIT, groups=[[0, 1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11]]).fit(
        {**train, "timestamps": ts}
    )
    assert model.groups_ == [[0, 1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11]]
    assert np.isfinite(model.predict_proba(test)).all()


# -- bad input ------------------------------------------------------------------------------------


def bad_sets(train):
    X = train["X"]
    y = train["y"]
    no_signal = X.copy()
    no_signal[:, :, 7] = np.nan
    with_inf = X.copy()
    with_inf[3, 4, 0] = np.inf
    return {
        "never observed": ({"X": no_signal, "y": y}, "feature index 7"),
        "all records empty": ({"X": np.full_like(X, np.nan), "y": y}, "never observed"),
        "inf": ({"X": with_inf, "y": y}, "infinite"),
        "label length": ({"X": X, "y": y[:-1]}, r"shape \(160,\)"),
        "label values": ({"X": X, "y": y + 0.5}, "integer"),
        "T": ({"X": X[:, :40], "y": y}, "n_steps = 48"),
        "F": ({"X": X[:, :, :11], "y": y}, "n_features = 12"),
        "2-D X": ({"X": X[:, :, 0], "y": y}, r"\(N, T, F\)"),
        "no labels": ({"X": X}, "needs labels"),
        "one class": ({"X": X, "y": np.zeros_like(y)}, "single class"),
        "timestamps": ({"X": X, "y": y, "timestamps": np.zeros(T)}, "strictly increasing"),
        "timestamps shape": ({"X": X, "y": y, "timestamps": np.arange(T + 1.0)}, "timestamps"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "never observed",
        "all records empty",
        "inf",
        "label length",
        "label values",
        "T",
        "F",
        "2-D X",
        "no labels",
        "one class",
        "timestamps",
        "timestamps shape",
    ],
)
@pytest.mark.parametrize("cls", [LOCFLogistic, MultiFIT])
def test_bad_training_input_is_a_clear_value_error(cls, case, data):
    train, _ = data
    bad, match = bad_sets(train)[case]
    with pytest.raises(ValueError, match=match):
        make(cls).fit(bad)


def test_bad_prediction_input_and_predicting_before_fit(data):
    train, test = data
    model = make(GRUD, epochs=1)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict_proba(test)
    assert issubclass(NotFittedError, ValueError)
    model.fit(train)
    with pytest.raises(ValueError, match="n_steps = 48"):
        model.predict_proba({"X": test["X"][:, :47]})
    X = test["X"].copy()
    X[0, 0, 0] = -np.inf
    with pytest.raises(ValueError, match="infinite"):
        model.predict({"X": X})
    with pytest.raises(TypeError, match="'X'"):
        model.predict_proba(test["X"])
    with pytest.raises(ValueError, match="not in train_set"):
        make(GRUD).fit(train, val_set={**test, "y": test["y"] + 2})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"epochs": 0}, ValueError),
        ({"batch_size": 1.5}, TypeError),
        ({"val_fraction": 1.0}, ValueError),
        ({"dropout": -0.1}, ValueError),
        ({"groups": [[0, 1], [2]]}, ValueError),
        ({"support_features": -1}, ValueError),
    ],
)
def test_bad_hyperparameters(kwargs, error, data):
    train, _ = data
    with pytest.raises(error):
        make(MultiFIT, **kwargs).fit(train)


def test_as_series_set_defaults_and_params():
    s = as_series_set({"X": HAND_X}, 5, 2)
    assert s.y is None and s.timestamps.shape == (1, 5)
    np.testing.assert_array_equal(s.timestamps[0], np.arange(5.0))
    model = MultiFIT(n_steps=5, n_features=2)
    assert model.get_params()["groups"] is None
    assert model.set_params(epochs=3).epochs == 3
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(nope=1)
    assert "MultiFIT(" in repr(model) and math.isfinite(model.lr)
