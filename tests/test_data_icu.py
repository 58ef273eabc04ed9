"""sciml.data: the ICU-like series generator and the PhysioNet 2012 loader on written files."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.data import icu_timeseries, load_physionet2012
from sciml.timeseries import auroc


def test_generator_shapes_resolutions_and_seeding():
    d = icu_timeseries(400, seed=0)
    X, y = d["X"], d["y"]
    assert X.shape == (400, 48, 12) and X.dtype == np.float64
    assert y.shape == (400,) and y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert d["timestamps"].shape == (48,) and d["risk"].shape == (400,)
    assert len(d["feature_names"]) == 12 and not np.isinf(X).any()
    assert 0.12 < y.mean() < 0.32
    assert 0.8 < auroc(y, d["risk"]) < 0.98  # the ceiling: informative, not trivial
    rates = (~np.isnan(X)).mean(axis=(0, 1))
    vitals, labs, rare = (rates[g] for g in d["groups"])
    assert vitals.min() > 0.4 and 0.05 < labs.min() and labs.max() < 0.2 and rare.max() < 0.05
    again = icu_timeseries(400, seed=0)
    np.testing.assert_array_equal(again["X"], X)
    assert not np.array_equal(icu_timeseries(400, seed=1)["X"], X, equal_nan=True)
    assert icu_timeseries(20, seed=0, n_steps=24)["X"].shape == (20, 24, 12)


def test_missingness_is_informative():
    d = icu_timeseries(2000, seed=2)
    counts = (~np.isnan(d["X"])).sum(axis=(1, 2))
    assert counts[d["y"] == 1].mean() > 1.05 * counts[d["y"] == 0].mean()


def test_difficulty_adds_noise():
    easy = icu_timeseries(300, seed=0, difficulty=0.5)["X"][:, :, 0]
    hard = icu_timeseries(300, seed=0, difficulty=2.0)["X"][:, :, 0]
    assert np.nanstd(np.diff(hard, axis=1)) > np.nanstd(np.diff(easy, axis=1))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="difficulty"):
            icu_timeseries(10, difficulty=bad)
    with pytest.raises(ValueError, match="n_steps"):
        icu_timeseries(10, n_steps=4)


RECORD_1 = """Time,Parameter,Value
00:00,RecordID,132539
00:00,Age,54
00:00,Gender,0
00:00,Height,-1
00:00,ICUType,4
00:00,Weight,-1
00:07,GCS,15
00:07,HR,73
00:37,HR,77
00:37,NIDiasABP,-1
01:15,HR,80
01:15,Weight,70.5
13:50,Lactate,1.2
47:59,HR,90
48:00,Temp,37.5
49:10,HR,100
"""
RECORD_2 = """Time,Parameter,Value
00:00,RecordID,132540
00:00,Age,76
00:00,Gender,1
00:00,Height,175.3
00:00,ICUType,2
00:00,Weight,76
00:00,HR,88
02:30,Unknown,3
"""
OUTCOMES = """RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death
132540,16,8,19,-1,1
132539,6,1,5,-1,0
"""


def write_set(root):
    folder = root / "set-a"
    folder.mkdir()
    (folder / "132539.txt").write_text(RECORD_1)
    (folder / "132540.txt").write_text(RECORD_2)
    (root / "Outcomes-a.txt").write_text(OUTCOMES)
    return folder


def test_physionet_loader_bins_hours_and_reads_outcomes(tmp_path):
    folder = write_set(tmp_path)
    d = load_physionet2012(folder)
    names = d["feature_names"]
    X = d["X"]
    assert X.shape == (2, 48, 37) and len(names) == 37
    np.testing.assert_array_equal(d["record_ids"], [132539, 132540])
    np.testing.assert_array_equal(d["y"], [0, 1])
    hr, weight, temp, lactate = (names.index(k) for k in ("HR", "Weight", "Temp", "Lactate"))
    assert X[0, 0, hr] == 75.0  # the mean of the hour
    assert X[0, 1, hr] == 80.0 and X[0, 47, hr] == 90.0
    assert X[0, 1, weight] == 70.5  # a later Weight is a measurement
    assert X[0, 47, temp] == 37.5  # 48:00 joins the last hour; 49:10 is dropped
    assert X[0, 13, lactate] == 1.2
    assert np.isnan(X[0, 0, names.index("NIDiasABP")])  # -1: missing
    assert np.isnan(X[0, 0, weight])  # the descriptor is static, not a measurement
    assert int((~np.isnan(X[0])).sum()) == 7
    assert X[1, 0, hr] == 88.0 and int((~np.isnan(X[1])).sum()) == 1
    np.testing.assert_array_equal(
        d["static_names"], ["Age", "Gender", "Height", "ICUType", "Weight"]
    )
    np.testing.assert_array_equal(d["static"][0, [0, 1, 3]], [54, 0, 4])
    assert np.isnan(d["static"][0, 2]) and np.isnan(d["static"][0, 4])
    np.testing.assert_array_equal(d["static"][1], [76, 1, 175.3, 2, 76])
    short = load_physionet2012(folder, tmp_path / "Outcomes-a.txt", n_steps=24, parameters=("HR",))
    assert short["X"].shape == (2, 24, 1) and short["X"][0, 1, 0] == 80.0
    assert np.isnan(short["X"][0, 23, 0])  # 47:59 lies beyond 24 hours


def test_physionet_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        load_physionet2012(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no RecordID\.txt"):
        load_physionet2012(empty)
    folder = write_set(tmp_path)
    with pytest.raises(FileNotFoundError, match="no outcomes file"):
        load_physionet2012(folder, tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="no column 'Death'"):
        load_physionet2012(folder, label="Death")
    (tmp_path / "Outcomes-a.txt").write_text(OUTCOMES.replace("132540,", "999,"))
    with pytest.raises(ValueError, match="no outcome"):
        load_physionet2012(folder)
    (tmp_path / "Outcomes-a.txt").write_text(OUTCOMES + "132541,1,1,1,-1,0\n")
    (folder / "132541.txt").write_text("Time,Parameter,Value\n0:x,HR,3\n")
    with pytest.raises(ValueError, match="HH:MM"):
        load_physionet2012(folder)
    (folder / "132541.txt").write_text("Time,Value\n")
    with pytest.raises(ValueError, match="header"):
        load_physionet2012(folder)
