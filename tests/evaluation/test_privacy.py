import numpy as np
import pandas as pd
import pytest
from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection
from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

from sdv_gwm.evaluation.privacy import (
    attribute_disclosure,
    distance_to_closest_record,
    membership_inference,
    privacy_scores,
    reconstruction,
)

METADATA = {
    'columns': {
        'x': {'sdtype': 'numerical'},
        'y': {'sdtype': 'numerical'},
        'color': {'sdtype': 'categorical'},
    }
}
NUM_ROWS = 200


def draw(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            'x': x,
            'y': 0.5 * x + rng.normal(0, 1, n),
            'color': rng.choice(['red', 'green', 'blue'], n),
        }
    )


@pytest.fixture(scope='module')
def split():
    return draw(NUM_ROWS, 0), draw(NUM_ROWS, 1)


def test_copy_of_train_is_fully_exposed(split):
    train, holdout = split
    scores = privacy_scores(train, holdout, train.copy(), METADATA)

    # Every row is at distance 0 from its training twin and at a positive distance from any
    # holdout row (continuous values never tie), so none is closer to the holdout.
    assert scores == {
        'DCROverfittingProtection': 0.0,
        'DCRBaselineProtection': 0.0,
        'CopyShare': 1.0,
    }


def test_fresh_rows_are_protected(split):
    train, holdout = split
    scores = privacy_scores(train, holdout, draw(NUM_ROWS, 2), METADATA, random_state=0)

    # A fresh row is closer to the training table with probability 1/2 (both tables are
    # equally large draws of the same law); allow 3 binomial standard deviations.
    closer_to_train = 0.5 + 3 * np.sqrt(0.25 / NUM_ROWS)
    assert scores['DCROverfittingProtection'] >= 2 * (1 - closer_to_train)
    assert 0 < scores['DCRBaselineProtection'] <= 1
    assert scores['CopyShare'] == 0.0


def test_copy_share_counts_rows_equal_on_every_column(split):
    train, holdout = split
    synthetic = pd.concat([train.iloc[:50], holdout.iloc[:150]], ignore_index=True)
    synthetic.loc[0, 'color'] = 'purple'  # one column off: no longer a copy
    train = train.copy()
    train.loc[1, 'x'] = np.nan  # a null matches a null
    synthetic.loc[1, 'x'] = np.nan

    scores = privacy_scores(train, holdout, synthetic, METADATA)

    assert scores['CopyShare'] == 49 / 200


def test_subsample_is_seeded_and_copies_count_every_row(split):
    train, holdout = split
    synthetic = pd.concat([train, draw(NUM_ROWS, 3)], ignore_index=True)

    first = privacy_scores(train, holdout, synthetic, METADATA, num_rows=60, random_state=4)
    second = privacy_scores(train, holdout, synthetic, METADATA, num_rows=60, random_state=4)

    assert first == second
    assert first['CopyShare'] == 0.5


def test_rejects_missing_columns_and_bad_num_rows(split):
    train, holdout = split
    with pytest.raises(ValueError, match=r"lacks the training columns \['color'\]"):
        privacy_scores(train, holdout, train.drop(columns='color'), METADATA)

    with pytest.raises(ValueError, match="'num_rows' must be a positive integer"):
        privacy_scores(train, holdout, train, METADATA, num_rows=0)


def mixed_table(n, seed):
    """Numbers with missing and out-of-range values, a constant, categories, a datetime."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    table = pd.DataFrame(
        {
            'x': x,
            'count': rng.integers(0, 5, n),
            'y': 0.5 * x + rng.normal(0, 1, n),
            'color': rng.choice(['red', 'green', 'blue'], n),
            'flag': rng.random(n) < 0.3,
            'when': pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.integers(0, 10**6, n), 's'),
            'constant': 3.0,
            'level': rng.integers(0, 3, n),
        }
    )
    for column in ['x', 'color', 'when', 'count']:
        table.loc[rng.random(n) < 0.1, column] = pd.NaT if column == 'when' else np.nan

    table.loc[:9, 'x'] *= 5  # values outside the other table's range
    return table


MIXED_METADATA = {
    'columns': {
        'x': {'sdtype': 'numerical'},
        'count': {'sdtype': 'numerical'},
        'y': {'sdtype': 'numerical'},
        'color': {'sdtype': 'categorical'},
        'flag': {'sdtype': 'boolean'},
        'when': {'sdtype': 'datetime'},
        'constant': {'sdtype': 'numerical'},
        'level': {'sdtype': 'ordinal'},
    }
}


@pytest.mark.parametrize('seed', [0, 1])
def test_distance_kernel_equals_sdmetrics(seed):
    data, reference = mixed_table(150, seed), mixed_table(120, seed + 10)
    reference.iloc[:5] = data.iloc[:5].to_numpy()  # exact matches, missing values included

    ours = distance_to_closest_record(data, reference, MIXED_METADATA)

    np.testing.assert_array_equal(ours, calculate_dcr(data, reference, MIXED_METADATA))


def test_distance_kernel_equals_sdmetrics_on_many_columns():
    # More than 8 columns: pandas adds the column terms in order, and so must the kernel.
    rng = np.random.default_rng(3)
    columns = {f'v{k}': {'sdtype': 'numerical'} for k in range(12)}
    data, reference = (
        pd.DataFrame(rng.normal(size=(n, 3)) @ rng.normal(size=(3, 12)), columns=list(columns))
        for n in (200, 150)
    )
    metadata = {'columns': columns}

    ours = distance_to_closest_record(data, reference, metadata)

    np.testing.assert_array_equal(ours, calculate_dcr(data, reference, metadata))


def test_privacy_scores_equal_sdmetrics_metrics():
    train, holdout, synthetic = (mixed_table(120, seed) for seed in (4, 5, 6))
    synthetic.iloc[:40] = train.iloc[:40].to_numpy()  # some copies

    np.random.seed(0)  # sdmetrics draws the missing values of its random rows globally
    ours = privacy_scores(train, holdout, synthetic, MIXED_METADATA, random_state=7)
    seeded = type('Seeded', (DCRBaselineProtection,), {'_seed': 7})
    np.random.seed(0)
    baseline = seeded.compute(train, synthetic, MIXED_METADATA, None)
    overfitting = DCROverfittingProtection.compute(train, synthetic, holdout, MIXED_METADATA, None)

    assert ours['DCROverfittingProtection'] == overfitting
    assert ours['DCRBaselineProtection'] == min(baseline, 1.0)


def auc_bound(num_targets):
    """Three standard errors of the AUC of an uninformative score, ``num_targets`` per class."""
    return 3 * np.sqrt((2 * num_targets + 1) / (12 * num_targets**2))


@pytest.fixture(scope='module')
def large_split():
    return draw(600, 10), draw(600, 11)


def test_attacks_see_a_copy_as_a_full_leak(large_split):
    train, holdout = large_split
    membership = membership_inference(train, holdout, train.copy(), METADATA, random_state=0)
    rebuilt = reconstruction(train, holdout, train.copy(), METADATA)

    assert membership == {'distance': 1.0, 'density': 1.0}
    assert rebuilt['recovered'] == rebuilt['precision'] == rebuilt['risk'] == 1.0
    assert rebuilt['holdout_recovered'] < 1


def test_attacks_see_fresh_rows_as_no_leak(large_split):
    train, holdout = large_split
    fresh = draw(600, 12)
    membership = membership_inference(train, holdout, fresh, METADATA, random_state=0)
    rebuilt = reconstruction(train, holdout, fresh, METADATA)

    # 300 targets of each kind (the holdout's second half).
    for auc in membership.values():
        assert abs(auc - 0.5) <= auc_bound(300)

    # Fresh guesses recover training and holdout rows alike: two binomial shares of 600. On
    # three columns they "recover" many rows by chance, and the risk nets that out.
    assert rebuilt['recovered'] > 0.3
    share = (rebuilt['recovered'] + rebuilt['holdout_recovered']) / 2
    bound = 3 * np.sqrt(2 * share * (1 - share) / 600)
    assert abs(rebuilt['recovered'] - rebuilt['holdout_recovered']) <= bound
    assert abs(rebuilt['risk']) <= bound / (1 - rebuilt['holdout_recovered'])


def secret_table(n, seed):
    """Known columns that single out a row; a secret independent of them."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            'city': rng.integers(0, 40, n).astype(str),
            'job': rng.integers(0, 40, n).astype(str),
            'secret': rng.choice(['a', 'b', 'c', 'd'], n),
        }
    )


def test_attribute_disclosure_of_a_copy_and_of_fresh_rows():
    metadata = {'columns': {c: {'sdtype': 'categorical'} for c in ('city', 'job', 'secret')}}
    train = secret_table(300, 0)
    copied = attribute_disclosure(train, train.copy(), metadata, ['secret'])
    fresh = attribute_disclosure(train, secret_table(300, 1), metadata, ['secret'])

    assert copied < 0.1
    assert fresh > 0.9
