"""Privacy audits of a synthetic table: distances, membership inference and reconstruction.

A mixed row lies on the line through two training rows, most often close to one of them, so a
synthesizer that mixes rows can leak them in ways a single score misses. This module measures
the leak from several sides; every score here is computed on rows the caller provides and runs
on tables of 100,000 rows in minutes.

``distance_to_closest_record``
    sdmetrics' distance to the closest record, row for row equal to
    ``sdmetrics.single_table.privacy.dcr_utils.calculate_dcr``, found with a tree search
    instead of a cross join.
``privacy_scores``
    sdmetrics' ``DCROverfittingProtection`` and ``DCRBaselineProtection`` (equal to
    sdmetrics' own values) and the share of exact copies.
``membership_inference``
    Can an attacker holding the synthetic table and some real rows of the same population tell
    training rows from other rows? Reported as the ROC AUC over training vs holdout rows (0.5:
    no, 1: always), for a distance attack and a density-ratio attack.
``reconstruction``
    Can an attacker rebuild training rows from the synthetic table alone, knowing that its rows
    lie near the real rows they were mixed from? Reported as the share of training rows
    recovered within a tolerance, next to the share of holdout rows "recovered" by the same
    guesses (what any sample of the population achieves) and the precision of the guesses.
``attribute_disclosure``
    sdmetrics' ``DisclosureProtection``: how well the synthetic rows let an attacker who knows
    some columns of a real row guess a sensitive one.

The distance is sdmetrics': the mean over the numerical, datetime, categorical and boolean
columns (ordinal and other columns are ignored) of ``min(|difference| / range, 1)`` with the
range of the reference table (numerical, datetime; a constant column counts any difference as
1), or of a 0/1 mismatch (categorical, boolean); a missing value is at distance 1 from a value
and 0 from a missing value.
"""

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sdmetrics.single_table import DCRBaselineProtection, DisclosureProtection
from sklearn.metrics import roc_auc_score

from sdv_gwm import _compat
from sdv_gwm.evaluation.report import _table_metadata

NUMERIC_SDTYPES = ('numerical', 'datetime')
DISCRETE_SDTYPES = ('categorical', 'boolean')

#: Slack on the tree's distances, which add the columns in another order than sdmetrics.
TOLERANCE = 1e-9

#: Query-by-reference distances computed at a time (bounds the memory of the search).
QUERY_CELLS = 2_000_000

#: Default tolerance of ``reconstruction``: a guess recovers a row within this distance.
RECONSTRUCTION_TOLERANCE = 0.01


def _distance_columns(table_metadata, *tables):
    """Return ``{column: sdtype}`` of the columns sdmetrics' distance uses, in metadata order."""
    columns = {}
    for column, column_metadata in table_metadata['columns'].items():
        sdtype = column_metadata.get('sdtype')
        if sdtype in NUMERIC_SDTYPES + DISCRETE_SDTYPES and all(column in t for t in tables):
            columns[column] = sdtype

    if not columns:
        raise ValueError('There are no overlapping statistical columns to measure.')

    return columns


def _numbers(values, sdtype, column_metadata):
    """Return a numerical or datetime column as exact values, missing mask and floats.

    Datetimes are parsed as sdmetrics parses them and kept as int64 nanoseconds, so that their
    differences are exact; the floats (missing: ``NaN``) only serve the lower bound.
    """
    if sdtype == 'numerical':
        floats = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
        return floats, np.isnan(floats), floats

    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, format=column_metadata.get('datetime_format'))

    missing = values.isna().to_numpy()
    ns = values.to_numpy(dtype='datetime64[ns]').view('int64').copy()
    ns[missing] = 0
    return ns, missing, np.where(missing, np.nan, ns.astype(float))


def _span(exact, missing, sdtype):
    """Sdmetrics' range of a column: ``max - min`` (datetimes in seconds), ``NaN`` if empty."""
    present = exact[~missing]
    if not len(present):
        return np.nan

    span = present.max() - present.min()
    return span / 1e9 if sdtype == 'datetime' else span


class _Encoded:
    """Two tables in sdmetrics' distance: exact per-column arrays and a lower-bound embedding.

    The embedding is a matrix of numbers and one of category codes per table. Their L1 and
    mismatch distances, added and divided by the number of columns, are never above sdmetrics'
    distance: numbers are clipped to the range and scaled by it (clipping moves two values no
    further apart, and leaves them at most the range apart), a missing value sits mid-range with
    a 1/2 indicator.

    Args:
        data, reference (pandas.DataFrame):
            The two tables.
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.
        span_table (pandas.DataFrame or None):
            The table whose ranges scale the numbers; ``None``: ``reference`` (sdmetrics).
    """

    def __init__(self, data, reference, metadata, span_table=None):
        _, table_metadata = _table_metadata(metadata)
        self.sdtypes = _distance_columns(table_metadata, data, reference)
        span_table = reference if span_table is None else span_table
        self.exact = ([], [])
        self.ranges = []
        embedding = ([], [])
        codes_embedding = ([], [])
        for column, sdtype in self.sdtypes.items():
            pair = (data[column], reference[column])
            if sdtype in DISCRETE_SDTYPES:
                codes = pd.factorize(pd.concat(pair, ignore_index=True), use_na_sentinel=False)[0]
                self.ranges.append(None)
                for side, part in enumerate((codes[: len(data)], codes[len(data) :])):
                    self.exact[side].append(part)
                    codes_embedding[side].append(part)
                continue

            column_metadata = table_metadata['columns'][column]
            sides = [_numbers(values, sdtype, column_metadata) for values in pair]
            spanned = _numbers(span_table[column], sdtype, column_metadata)
            span = _span(*spanned[:2], sdtype)
            self.ranges.append(span)
            low, high = (
                np.nanmin(spanned[2], initial=np.inf),
                np.nanmax(spanned[2], initial=-np.inf),
            )
            any_missing = sides[0][1].any() or sides[1][1].any()
            for side, (exact, missing, floats) in enumerate(sides):
                self.exact[side].append((exact, missing))
                if span > 0:
                    scaled = (np.clip(floats, low, high) - low) / (high - low)
                    embedding[side].append(np.where(missing, 0.5, scaled)[:, None])
                if any_missing:
                    embedding[side].append(0.5 * missing[:, None])

        self.embedding = tuple(
            tuple(
                np.column_stack(parts) if parts else np.zeros((len(table), 0))
                for parts in (numbers, codes)
            )
            for numbers, codes, table in zip(
                embedding, codes_embedding, (data, reference), strict=True
            )
        )

    def distance(self, rows, ref_rows):
        """Return sdmetrics' distance between ``data[rows]`` and ``reference[ref_rows]``, pairwise.

        The column terms are added left to right, as pandas adds sdmetrics' columns, so the
        result is equal to sdmetrics' to the last bit.
        """
        total = np.zeros(len(rows))
        for position, span in enumerate(self.ranges):
            data, reference = self.exact[0][position], self.exact[1][position]
            if span is None:
                total += (data[rows] != reference[ref_rows]).astype(float)
                continue

            (values, missing), (ref_values, ref_missing) = data, reference
            a, b = values[rows], ref_values[ref_rows]
            if a.dtype.kind == 'i':  # datetimes: integer nanoseconds, then seconds
                diff = np.abs(b - a) / 1e9
            else:
                diff = np.abs(b - a)

            with np.errstate(invalid='ignore', divide='ignore'):
                term = np.where(span == 0, (diff > 0).astype(float), np.minimum(diff / span, 1.0))

            one, other = missing[rows], ref_missing[ref_rows]
            term[one ^ other] = 1.0
            term[one & other] = 0.0
            total += term

        return total / len(self.ranges)


def _lower_bounds(encoded, rows):
    """Embedding distances (sums over columns) of ``data[rows]`` to every reference row."""
    (numbers, codes), (ref_numbers, ref_codes) = encoded.embedding
    total = np.zeros((len(rows), len(ref_numbers)))
    if numbers.shape[1]:
        total += cdist(numbers[rows], ref_numbers, 'cityblock')
    if codes.shape[1]:
        total += codes.shape[1] * cdist(codes[rows], ref_codes, 'hamming')

    return total


def distance_to_closest_record(data, reference, metadata):
    """Return each row's distance to its closest row of ``reference`` (sdmetrics' distance).

    Equal, row for row, to sdmetrics' ``calculate_dcr(data, reference, metadata)``, without
    its cross join. For a block of rows, an embedding (numbers clipped to the reference range
    and scaled by it, category codes compared for equality) gives every pair a lower bound of
    sdmetrics' distance that is exact for values inside the range; the pair with the smallest
    bound gives an upper bound of the row's distance, and every pair whose lower bound is
    within it is measured with sdmetrics' formula. The cost is one ``scipy`` distance matrix,
    ``len(data) * len(reference)`` entries over the columns.

    Args:
        data (pandas.DataFrame):
            The rows to measure.
        reference (pandas.DataFrame):
            The rows to measure them against (the ranges of numerical and datetime columns are
            its ranges).
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.

    Returns:
        numpy.ndarray:
            One distance per row of ``data``, in [0, 1].

    Raises:
        ValueError: If the tables share no numerical, datetime, categorical or boolean column.
    """
    return _closest(data, reference, metadata)


def _closest(data, reference, metadata, span_table=None):
    """``distance_to_closest_record``, optionally with the ranges of another table."""
    reference = reference.drop_duplicates()
    encoded = _Encoded(
        data.reset_index(drop=True), reference.reset_index(drop=True), metadata, span_table
    )
    width = len(encoded.ranges)
    result = np.empty(len(data))
    block = max(1, QUERY_CELLS // max(len(reference), 1))
    for start in range(0, len(data), block):
        rows = np.arange(start, min(start + block, len(data)))
        bounds = _lower_bounds(encoded, rows)
        upper = encoded.distance(rows, np.argmin(bounds, axis=1))
        pair, ref_rows = np.nonzero(bounds <= (upper * width + TOLERANCE * width)[:, None])
        closest = upper.copy()
        np.minimum.at(closest, pair, encoded.distance(rows[pair], ref_rows))
        result[rows] = closest

    return result


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


def _check_columns(real_train, synthetic):
    missing = sorted(set(map(str, real_train.columns)) - set(map(str, synthetic.columns)))
    if missing:
        raise ValueError(f'The synthetic table lacks the training columns {missing}.')


def privacy_scores(
    real_train, real_holdout, synthetic, metadata, num_rows=None, random_state=None
):
    """Score how close a synthetic table is to the rows it was trained on, as sdmetrics does.

    ``DCROverfittingProtection``
        sdmetrics' ``DCROverfittingProtection``: the share of synthetic rows whose closest
        training row is closer than their closest holdout row, turned into
        ``min(1, 2 (1 - share))``. 1 means the synthetic rows are no closer to the training
        rows than to fresh rows of the same distribution; a copy of the training table scores 0.
    ``DCRBaselineProtection``
        sdmetrics' ``DCRBaselineProtection``: the median distance of the synthetic rows to the
        training rows over that of uniformly random rows, capped at 1.
    ``CopyShare``
        The share of synthetic rows equal, on every column, to some training row
        (:func:`copy_share`).

    The values equal sdmetrics' own (its metrics called on the same rows), computed with
    :func:`distance_to_closest_record`.

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
            Score the DCR metrics on this many synthetic rows drawn without replacement. The
            real tables are always used whole: subsampling them, as sdmetrics' own
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
    _check_columns(real_train, synthetic)
    if num_rows is not None and num_rows <= 0:
        raise ValueError(f"'num_rows' must be a positive integer or None, got {num_rows!r}.")

    scored = synthetic
    if num_rows is not None and num_rows < len(synthetic):
        scored = synthetic.sample(n=num_rows, random_state=random_state)

    scored = scored[list(real_train.columns)].reset_index(drop=True)
    to_train = distance_to_closest_record(scored, real_train, metadata)
    to_holdout = distance_to_closest_record(scored, real_holdout, metadata)
    closer_to_train = np.mean(to_train < to_holdout)
    random_rows = _compat.dcr_baseline_rows(
        DCRBaselineProtection, real_train, len(scored), random_state
    )
    random_median = np.median(distance_to_closest_record(random_rows, real_train, metadata))
    baseline = np.nan if random_median == 0 else min(np.median(to_train) / random_median, 1.0)
    return {
        'DCROverfittingProtection': float(min((1.0 - closer_to_train) * 2, 1.0)),
        'DCRBaselineProtection': float(baseline),
        'CopyShare': copy_share(real_train, synthetic),
    }


def _attack_split(real_train, real_holdout, num_targets, random_state):
    """Split the holdout into the attacker's reference rows and holdout targets.

    Returns the reference rows, the targets (training rows first) and their labels (1 for a
    training row); as many training as holdout targets.
    """
    rng = np.random.default_rng(random_state)
    holdout = real_holdout.iloc[rng.permutation(len(real_holdout))]
    reference, targets_out = holdout.iloc[: len(holdout) // 2], holdout.iloc[len(holdout) // 2 :]
    size = min(len(targets_out), len(real_train), num_targets or len(real_train))
    targets_in = real_train.iloc[rng.choice(len(real_train), size, replace=False)]
    targets = pd.concat([targets_in, targets_out.iloc[:size]], ignore_index=True)
    labels = np.r_[np.ones(size), np.zeros(size)]
    return reference, targets, labels


def membership_inference(
    real_train, real_holdout, synthetic, metadata, num_targets=None, random_state=None
):
    """Tell training rows from holdout rows with the synthetic table: ROC AUC of two attacks.

    The holdout is split in two halves: the attacker's own real rows of the population (the
    *reference*) and the holdout targets; as many training rows are drawn as targets. Each
    attack scores every target, higher meaning "a training row", and the AUC says how well the
    score separates the two kinds (0.5: not at all, 1: perfectly). All distances are
    sdmetrics' distance (see the module), scaled by the synthetic table's ranges.

    ``distance``
        The target's distance to its closest synthetic row, negated: rows the synthesizer was
        fitted to have synthetic rows nearer (the attack DCR metrics imply).
    ``density``
        A density-ratio attack in the spirit of DOMIAS (van Breugel et al., 2023): the ratio of
        the synthetic density to the population density at the target, both estimated by the
        nearest-neighbour estimator (density proportional to ``1 / distance**dimension``), i.e.
        the target's distance to its closest reference row over that to its closest synthetic
        row. It discounts targets that are near synthetic rows only because they lie where
        the population is dense.

    Args:
        real_train (pandas.DataFrame):
            The rows the synthesizer was fitted to.
        real_holdout (pandas.DataFrame):
            Rows of the same population the synthesizer never saw (ideally as many as
            ``real_train``): half are the attacker's reference, half the holdout targets.
        synthetic (pandas.DataFrame):
            The synthetic rows.
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.
        num_targets (int or None):
            At most this many targets of each kind. Defaults to ``None``: as many as the holdout
            half holds.
        random_state (int or None):
            Seed of the split and of the draw of training targets.

    Returns:
        dict:
            ``distance`` and ``density``: the AUC of each attack, in [0, 1].
    """
    _check_columns(real_train, synthetic)
    reference, targets, labels = _attack_split(real_train, real_holdout, num_targets, random_state)
    synthetic = synthetic[list(real_train.columns)]
    to_synthetic = _closest(targets, synthetic, metadata, synthetic)
    to_reference = _closest(targets, reference, metadata, synthetic)
    # Ties at distance 0 on both sides carry no evidence either way.
    tiny = np.finfo(float).tiny
    ratio = np.log(to_reference + tiny) - np.log(to_synthetic + tiny)
    return {
        'distance': float(roc_auc_score(labels, -to_synthetic)),
        'density': float(roc_auc_score(labels, ratio)),
    }


def reconstruction(
    real_train, real_holdout, synthetic, metadata, tolerance=RECONSTRUCTION_TOLERANCE
):
    """Rebuild training rows from the synthetic table: the share recovered within a tolerance.

    A mixed row lies on the line through its two parents, most often near the one whose
    discrete values it carries, so the attacker takes every synthetic row for a guess of a
    training row. A training row is *recovered* when some guess lies within ``tolerance`` of
    it in sdmetrics' distance (the mean over columns of ``|difference| / range``, with the
    synthetic table's ranges, and of category mismatches): with the default 0.01, every
    number within 1 % of its range on average and every category right, or nearly so.

    The same guesses also "recover" holdout rows, rows the synthesizer never saw, as often as
    any sample of the population would: ``holdout_recovered`` is that baseline, and only the
    excess of ``recovered`` over it is a leak. Rows of the population itself recover training
    rows, the more so the more rows crowd together (2,000 fresh rows of ggplot2/diamonds
    recover a quarter of 2,000 training rows, see the benchmarks), so ``risk`` states the
    excess as a share of what chance leaves,
    ``(recovered - holdout_recovered) / (1 - holdout_recovered)``: 1 for a copy of the training
    rows, 0 up to noise for rows that leak nothing (the residual risk of Anonymeter, Giomi et
    al. 2023, not clipped at 0 so that averages over splits stay unbiased).

    Args:
        real_train (pandas.DataFrame):
            The rows the synthesizer was fitted to.
        real_holdout (pandas.DataFrame):
            Rows of the same population the synthesizer never saw.
        synthetic (pandas.DataFrame):
            The synthetic rows (the guesses).
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.
        tolerance (float):
            The largest distance at which a guess recovers a row. Defaults to 0.01.

    Returns:
        dict:
            ``recovered``: share of training rows within ``tolerance`` of a guess;
            ``holdout_recovered``: the same share of holdout rows; ``risk``: the excess of the
            first over the second, as a share of ``1 - holdout_recovered`` (``NaN`` when every
            holdout row is recovered); ``precision``: share of the guesses within ``tolerance``
            of a training row.
    """
    _check_columns(real_train, synthetic)
    synthetic = synthetic[list(real_train.columns)]
    to_train = _closest(real_train, synthetic, metadata, synthetic)
    to_holdout = _closest(real_holdout, synthetic, metadata, synthetic)
    guesses = _closest(synthetic, real_train, metadata, synthetic)
    recovered = float(np.mean(to_train <= tolerance))
    chance = float(np.mean(to_holdout <= tolerance))
    return {
        'recovered': recovered,
        'holdout_recovered': chance,
        'risk': (recovered - chance) / (1 - chance) if chance < 1 else float('nan'),
        'precision': float(np.mean(guesses <= tolerance)),
    }


def attribute_disclosure(real_train, synthetic, metadata, sensitive, known=None):
    """Sdmetrics' ``DisclosureProtection`` (CAP) of sensitive columns given known ones.

    An attacker who knows the ``known`` columns of a real row looks up the synthetic rows with
    the same values and guesses the ``sensitive`` ones by majority; the score is the share of
    wrong guesses over that of a random guess, capped at 1 (1: no disclosure, 0: every guess
    right where a random guess would err). Numerical and datetime columns are cut into
    sdmetrics' 10 bins. sdmetrics' own cost grows with ``len(real_train) * len(synthetic)``:
    it applies to tables of a few thousand rows.

    Args:
        real_train (pandas.DataFrame):
            The rows the synthesizer was fitted to.
        synthetic (pandas.DataFrame):
            The synthetic rows.
        metadata (sdv.metadata.Metadata or dict):
            Metadata of the single table.
        sensitive (list[str]):
            The columns the attacker wants to learn.
        known (list[str] or None):
            The columns the attacker knows. Defaults to every other numerical, datetime,
            categorical and boolean column.

    Returns:
        float:
            sdmetrics' score, in [0, 1].
    """
    _, table_metadata = _table_metadata(metadata)
    columns = _distance_columns(table_metadata, real_train, synthetic)
    known = [c for c in columns if c not in sensitive] if known is None else list(known)
    used = known + list(sensitive)
    continuous = [c for c in used if columns.get(c) in NUMERIC_SDTYPES]
    return float(
        DisclosureProtection.compute(
            real_train[used],
            synthetic[used],
            known_column_names=known,
            sensitive_column_names=list(sensitive),
            continuous_column_names=continuous or None,
        )
    )
