"""The spread over seeds: numpy's sample standard deviation and scipy's Student t
interval of the mean, not a normal approximation."""

import numpy as np
import pytest
from scipy import stats

from bench.intervals import mean_interval


@pytest.mark.parametrize("values", [[0.98, 0.99], [0.9891, 0.9877, 0.9902, 0.9885, 0.9899]])
def test_mean_std_and_interval_are_students(values):
    spread = mean_interval(values)
    mean, sem = np.mean(values), stats.sem(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    assert spread["mean"] == pytest.approx(mean)
    assert spread["std"] == pytest.approx(np.std(values, ddof=1))
    assert (spread["ci95_low"], spread["ci95_high"]) == pytest.approx((low, high))
    # Few seeds: wider than mean +- 1.96 standard errors.
    assert spread["ci95_high"] - mean > 1.96 * sem


def test_one_value_has_no_spread():
    with pytest.raises(ValueError, match="at least two"):
        mean_interval([0.99])
