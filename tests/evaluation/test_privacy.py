import numpy as np
import pandas as pd
import pytest

from sdv_gwm.evaluation.privacy import privacy_scores

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
