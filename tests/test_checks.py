"""The shared scalar checks of sciml._checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sciml._checks import check_int, check_real


def test_check_int_takes_python_and_numpy_ints_within_the_bounds():
    assert check_int(3, "k") == 3 and type(check_int(np.int64(3), "k")) is int
    assert check_int(0, "k", 0, 0) == 0 and check_int(5, "k", minimum=5) == 5
    assert check_int(-7, "k", maximum=-7) == -7


@pytest.mark.parametrize(
    "value, bounds, error, message",
    [
        (True, (), TypeError, "k must be an int, got bool"),
        (2.0, (), TypeError, "k must be an int, got float"),
        ("3", (), TypeError, "k must be an int, got str"),
        (0, (1, 64), ValueError, r"k must be in \[1, 64\], got 0"),
        (65, (1, 64), ValueError, r"k must be in \[1, 64\], got 65"),
        (-1, (0,), ValueError, "k must be >= 0, got -1"),
        (9, (None, 8), ValueError, "k must be <= 8, got 9"),
    ],
)
def test_check_int_refuses_non_ints_and_values_out_of_bounds(value, bounds, error, message):
    with pytest.raises(error, match=message):
        check_int(value, "k", *bounds)


def test_check_real_takes_finite_reals_above_the_bound():
    assert check_real(2, "lr") == 2.0 and type(check_real(np.float32(0.5), "lr")) is float
    assert check_real(-1e300, "beta") == -1e300
    assert check_real(0.0, "decay", 0.0) == 0.0
    assert check_real(1e-12, "lr", 0.0, strict=True) == 1e-12


@pytest.mark.parametrize(
    "value, bound, error, message",
    [
        (True, {}, TypeError, "x must be a real number, got bool"),
        ("1", {}, TypeError, "x must be a real number, got str"),
        (1j, {}, TypeError, "x must be a real number, got complex"),
        (math.nan, {}, ValueError, "x must be finite, got nan"),
        (math.inf, {"minimum": 0.0}, ValueError, "x must be a finite number >= 0.0, got inf"),
        (-0.5, {"minimum": 0.0}, ValueError, "x must be a finite number >= 0.0, got -0.5"),
        (0.0, {"minimum": 0.0, "strict": True}, ValueError, "x must be a finite number > 0.0"),
    ],
)
def test_check_real_refuses_non_reals_non_finite_and_values_below_the_bound(
    value, bound, error, message
):
    with pytest.raises(error, match=message):
        check_real(value, "x", **bound)
