"""Irregular, multi-resolution time-series classification: FIT, FIT-V, Multi-FIT and the
GRU-D, LOCF and prevalence baselines, on PyPOTS-style NaN-masked sets.

    from sciml.data import icu_timeseries
    from sciml.timeseries import MultiFIT, auroc

    train, test = icu_timeseries(3000, seed=0), icu_timeseries(1500, seed=1)
    clf = MultiFIT(n_steps=48, n_features=12).fit(train)
    auroc(test["y"], clf.predict_proba(test))
"""

from sciml._checks import NotFittedError
from sciml.timeseries.base import NeuralTimeSeriesClassifier, TimeSeriesClassifier
from sciml.timeseries.baselines import LOCFLogistic, PriorClassifier, summary_features
from sciml.timeseries.dataset import SeriesSet, as_series_set
from sciml.timeseries.fit import FIT, FITV, MultiFIT, resolution_bin_width
from sciml.timeseries.groups import infer_groups
from sciml.timeseries.grud import GRUD
from sciml.timeseries.metrics import auprc, auroc, roc_curve

__all__ = [
    "FIT",
    "FITV",
    "GRUD",
    "LOCFLogistic",
    "MultiFIT",
    "NeuralTimeSeriesClassifier",
    "NotFittedError",
    "PriorClassifier",
    "SeriesSet",
    "TimeSeriesClassifier",
    "as_series_set",
    "auprc",
    "auroc",
    "infer_groups",
    "resolution_bin_width",
    "roc_curve",
    "summary_features",
]
