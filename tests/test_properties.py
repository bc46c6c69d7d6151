"""Property tests: whatever small mixed table with nulls it is fitted on, GWMSynthesizer samples
valid rows. Profiles (tests/conftest.py): 'ci' by default, 'long' with
``HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py``."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer

NUM_ROWS = 2000
NULL_RATES = st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.6])
METADATA = {
    'columns': {
        'real': {'sdtype': 'numerical'},
        'whole': {'sdtype': 'numerical'},
        'label': {'sdtype': 'categorical'},
        'yes': {'sdtype': 'boolean'},
        'when': {'sdtype': 'datetime'},
    }
}


@st.composite
def tables(draw):
    """A 5-60 row table with a float, an int, a categorical, a boolean and a datetime column.

    Each column has its own null rate, but keeps at least one value (an all-null column is
    rejected by design, see test_bad_input.py).
    """
    n = draw(st.integers(5, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e6]))
    num_labels = draw(st.integers(1, 6))
    columns = {
        'real': pd.Series(rng.standard_t(3, n) * scale).round(draw(st.integers(0, 6))),
        'whole': pd.Series(rng.integers(-5, draw(st.integers(-4, 1000)), n)),
        'label': pd.Series(rng.choice([f'L{i}' for i in range(num_labels)], n), dtype=object),
        'yes': pd.Series(rng.random(n) < draw(st.floats(0, 1))),
        'when': pd.Series(
            pd.Timestamp('2000-01-01') + pd.to_timedelta(rng.integers(0, 10**6, n), unit='min')
        ),
    }
    for name, column in columns.items():
        missing = rng.random(n) < draw(NULL_RATES)
        missing[rng.integers(n)] = False
        if missing.any():
            if column.dtype == bool:
                column = column.astype(object)
            columns[name] = column.mask(missing)

    return pd.DataFrame(columns)


def bounds_of(column):
    values = column.dropna()
    return values.min(), values.max()


@given(tables())
def test_sampled_rows_are_always_valid(real):
    before = real.copy(deep=True)
    metadata = Metadata.load_from_dict({'tables': {'table': METADATA}})

    synthetic = GWMSynthesizer(metadata).fit(real).sample(NUM_ROWS)

    pd.testing.assert_frame_equal(real, before, check_exact=True)
    assert list(synthetic.columns) == list(real.columns)
    assert synthetic.dtypes.equals(real.dtypes)
    assert len(synthetic) == NUM_ROWS
    for column in ('label', 'yes'):
        assert set(synthetic[column].dropna()) <= set(real[column].dropna()), column

    for column in ('real', 'whole', 'when'):
        low, high = bounds_of(real[column])
        assert synthetic[column].dropna().between(low, high).all(), column

    for column in real:
        rate = real[column].isna().mean()
        # a row's null comes from the parent with the larger weight: a uniform training row
        tolerance = 4 * (rate * (1 - rate) / NUM_ROWS) ** 0.5 + 1 / NUM_ROWS
        assert abs(synthetic[column].isna().mean() - rate) <= tolerance, column
