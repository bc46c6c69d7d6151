"""Privacy scores of a synthetic table: distance to closest record and exact copies.

A mixed row lies on the segment (or its extension) between two training rows, so with a weight
near 0 or 1 it is a near-copy of one of them. :func:`privacy_scores` measures how much of that
shows, with sdmetrics' DCR metrics and a plain count of exact copies:

``DCROverfittingProtection``
    sdmetrics' ``DCROverfittingProtection``: the share of synthetic rows whose closest training
    row is closer than their closest holdout row, turned into ``min(1, 2 (1 - share))``. 1
    means the synthetic rows are no closer to the training rows than to fresh rows of the same
    distribution; a copy of the training table scores 0.
``DCRBaselineProtection``
    sdmetrics' ``DCRBaselineProtection``: the median distance of the synthetic rows to the
    training rows over that of uniformly random rows, capped at 1.
``CopyShare``
    The share of synthetic rows equal, on every column, to some training row
    (:func:`copy_share`).

The distance is sdmetrics': the mean over numerical, datetime, categorical and boolean columns
of ``|difference| / range`` (numerical, datetime) or of a 0/1 mismatch (categorical, boolean).
"""

import numpy as np
import pandas as pd
from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection

from sdv_gwm import _compat
from sdv_gwm.evaluation.report import _table_metadata


def copy_share(real_train, synthetic):
    """Return the share of synthetic rows equal to a training row on every column.

    Rows are compared by their hash, so values must have the same dtypes in both tables;
    missing values match missing values.

    Args:
        real_train (pandas.DataFrame):
            The rows the synthesizer was fitted to.
        synthetic (pandas.DataFrame):
            The synthetic rows, with (at least) the columns of ``real_train``.

    Returns:
        float:
            The share, in [0, 1].
    """
    columns = list(real_train.columns)
    train_keys = set(pd.util.hash_pandas_object(real_train[columns], index=False))
    synthetic_keys = pd.util.hash_pandas_object(synthetic[columns], index=False)
    return float(synthetic_keys.isin(train_keys).mean())


def privacy_scores(
    real_train, real_holdout, synthetic, metadata, num_rows=None, random_state=None
):
    """Score how close a synthetic table is to the rows it was trained on.

    Args:
        real_train (pandas.DataFrame):
            The rows the synthesizer was fitted to.
        real_holdout (pandas.DataFrame):
            Rows of the same distribution the synthesizer never saw (ideally as many as
            ``real_train``).
        synthetic (pandas.DataFrame):
            The synthetic rows, with the columns of ``real_train``.
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.
        num_rows (int or None):
            Score the DCR metrics on this many synthetic rows drawn without replacement (the
            cost grows with ``num_rows * (len(real_train) + len(real_holdout))``). The real
            tables are always used whole: subsampling them, as sdmetrics' own
            ``num_rows_subsample`` does, would drop most synthetic rows' parents from the
            training sample and overstate the protection. Defaults to ``None``, all rows.
        random_state (int or None):
            Seed of the synthetic subsample and of sdmetrics' random baseline table.

    Returns:
        dict:
            ``DCROverfittingProtection``, ``DCRBaselineProtection`` and ``CopyShare``, floats
            in [0, 1].

    Raises:
        ValueError: If ``synthetic`` lacks a column of ``real_train`` or ``num_rows`` is not
            positive.
    """
    missing = sorted(set(map(str, real_train.columns)) - set(map(str, synthetic.columns)))
    if missing:
        raise ValueError(f'The synthetic table lacks the training columns {missing}.')

    if num_rows is not None and num_rows <= 0:
        raise ValueError(f"'num_rows' must be a positive integer or None, got {num_rows!r}.")

    _, table_metadata = _table_metadata(metadata)
    scored = synthetic
    if num_rows is not None and num_rows < len(synthetic):
        scored = synthetic.sample(n=num_rows, random_state=random_state)

    scored = scored[list(real_train.columns)].reset_index(drop=True)
    overfitting = DCROverfittingProtection.compute(
        real_training_data=real_train.reset_index(drop=True),
        synthetic_data=scored,
        real_validation_data=real_holdout.reset_index(drop=True),
        metadata=table_metadata,
        table_name=None,
    )
    # sdmetrics draws its random baseline table from a class attribute seed.
    baseline = _compat.seeded_metric(DCRBaselineProtection, random_state).compute(
        real_data=real_train.reset_index(drop=True),
        synthetic_data=scored,
        metadata=table_metadata,
        table_name=None,
    )
    return {
        'DCROverfittingProtection': float(overfitting),
        'DCRBaselineProtection': float(np.clip(baseline, 0.0, 1.0)),
        'CopyShare': copy_share(real_train, synthetic),
    }
