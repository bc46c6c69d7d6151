"""Transport: the partner moved into the winner's class, against the closed forms.

``g(d)`` is the least-squares fit of the mixed columns on indicators of every inherited value
(``ClassMeans``) and ``r = x - g(d)``. With the winner ``w`` (always the first parent, a
uniform row), its partner ``l != w`` uniform, and the winner's weight ``m`` from
``winner_law`` (mean ``h = E[max(lam, 1 - lam)]``, ``E[m (1 - m)] = E[u]``), a synthetic row is
``g(d_w) + m r_w + (1 - m) (s_w / s_l) r_l``, ``s`` the residual spread of the row's level of one
discrete column (``ClassMeans.scales``). With ``S_g`` and ``S_r`` the 1/n covariances of ``g`` and
``r`` (``S = S_g + S_r``, the residual being orthogonal to every indicator):

- every discrete marginal and joint is exact (the discrete values are the winner's);
- the class mean of every level ``a`` of every discrete column ``k`` is exact:
  ``E[x~ | d_k = a] = E[x | d_k = a]`` (``E[r | d_k = a] = 0``, and a distinct partner's
  residual has mean ``-r_w / (n - 1)``, which also averages to zero);
- hence every discrete-continuous covariance and every ``eta^2`` are exact;
- each variance of the mixed columns is ``S_g + (1 - 2 E[u] n / (n - 1)) S_r``: ``S`` for
  ``E[u] = 0`` (``z = r / s`` has mean 0 and ``E[z^2] = 1``, ``E[s^2] = E[r^2]``); a covariance
  too where the spreads do not differ between levels, and up to the partner's share
  ``E[(1 - m)^2]`` of its residual part otherwise;
- ``g`` also has an indicator per cell of two discrete columns that interact (with
  ``MIN_CELL_ROWS`` rows), so those cell means are exact too; what it cannot hold, the
  interaction ``E[r | cell]`` of a cell of three discrete columns, is kept with the factor
  ``h``: ``E[x~ | cell] = g(cell) + h E[r | cell]``.

Tolerances are five standard errors of the averages over the synthetic rows.
"""

import numpy as np
import pandas as pd
import pytest
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.engine import (
    MIN_CELL_ROWS,
    ClassMeans,
    Mixer,
    NormalEquations,
    Patterns,
    interacting_pairs,
)
from sdv_gwm.weights import Beta, EpBeta

N_SYNTH = 200_000
CONTINUOUS = np.array([True, True, False, False])


def interacting_table(n=800, seed=0):
    """x, y mixed; a (3 levels) and b (2 levels) discrete, with an a-b interaction on x."""
    rng = np.random.default_rng(seed)
    a = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    b = (rng.random(n) < np.where(a == 2, 0.7, 0.3)).astype(float)
    x = 3.0 * a - 2.0 * b + 4.0 * a * b + rng.normal(0, 1 + a, n)
    y = 0.5 * x + rng.gamma(2.0, 1.0, n)
    return np.column_stack([x, y, a, b])


def mixer(data, continuous=CONTINUOUS, weights=None, seed=0, **kwargs):
    law = EpBeta.preserving() if weights is None else weights
    engine = Mixer(data, continuous, law, transport=True, **kwargs)
    engine.set_random_state(seed)
    return engine


def mean_check(values, expected):
    tolerance = 5 * values.std() / np.sqrt(len(values))
    return abs(values.mean() - expected) <= tolerance


def test_residuals_are_orthogonal_to_every_level_and_cell():
    data = interacting_table()
    values = data[:, :2]
    residual = values - ClassMeans(data[:, 2:], values).fitted
    np.testing.assert_allclose(residual.mean(axis=0), 0, atol=1e-9)
    for column in (2, 3):
        for level in np.unique(data[:, column]):
            np.testing.assert_allclose(
                residual[data[:, column] == level].mean(axis=0), 0, atol=1e-9
            )

    # Every a-b cell has at least MIN_CELL_ROWS rows: the interaction is in g, not in r.
    cells = data[:, 2] * 2 + data[:, 3]
    assert np.bincount(cells.astype(int)).min() >= MIN_CELL_ROWS
    for cell in np.unique(cells):
        np.testing.assert_allclose(residual[cells == cell].mean(axis=0), 0, atol=1e-9)

    # Without cells the interaction stays in the residual.
    additive = values - ClassMeans(data[:, 2:], values, min_cell=None).fitted
    assert abs(additive[cells == 5, 0].mean()) > 0.5


def test_rare_cells_share_the_largest_one():
    data = interacting_table()
    cells = (data[:, 2] * 2 + data[:, 3]).astype(int)
    counts = np.bincount(cells)
    rare = int(np.argmin(counts))
    full = ClassMeans(data[:, 2:], data[:, :2])
    fewer = ClassMeans(data[:, 2:], data[:, :2], min_cell=counts[rare] + 1)
    assert fewer.width == full.width - 1  # only the rare cell lost its own
    # The levels and the other cells of two columns span the missing cell: the fit is the same
    # (the collinear design is solved by least squares, not inverted).
    np.testing.assert_allclose(fewer.fitted, full.fitted, atol=1e-9)


@pytest.mark.parametrize('seed', range(5))
def test_interacting_pairs_finds_the_interaction_and_nothing_else(seed):
    # Six discrete columns, additive effects on three mixed columns and one interaction: of
    # the 15 pairs only that one is kept (each other pair passes its 4-sigma threshold about
    # once in 10,000 tables).
    rng = np.random.default_rng(seed)
    n = 3000
    codes = rng.integers(0, 4, (n, 6)).astype(float)
    noise = rng.normal(0, 1, (n, 3))
    values = codes[:, :3] + noise + 0.6 * (codes[:, 4] == codes[:, 5])[:, None]
    levels = ClassMeans(codes, values, min_cell=None)
    assert interacting_pairs(levels.codes, values - levels.fitted) == [(4, 5)]
    additive = codes[:, :3] + noise
    plain = ClassMeans(codes, additive, min_cell=None)
    assert interacting_pairs(plain.codes, additive - plain.fitted) == []


def with_missing(data, seed=0):
    """``interacting_table`` with missing x in a tenth of the rows, and y missing in 3 of 4."""
    rng = np.random.default_rng(seed)
    data = data.copy()
    data[rng.random(len(data)) < 0.1, 0] = np.nan
    data[rng.random(len(data)) < 0.75, 1] = np.nan
    return data


def chunks(data, sizes=(300, 20, 480)):
    return np.split(data, np.cumsum(sizes)[:-1])


def test_normal_equations_of_chunks_add_up_to_the_fit_of_all_rows():
    data = with_missing(interacting_table())
    data[:300, 1] = np.nan  # the first chunk has no y at all, the second maybe no missing x
    classes = ClassMeans(data[:, 2:], data[:, :2])
    missing = np.isnan(data[:, :2])
    # The reference: least squares row by row on each column's present rows (no patterns).
    design = classes.design(data[:, 2:], missing).toarray()
    whole = np.column_stack(
        [
            np.linalg.lstsq(design[~absent], data[~absent, column], rcond=None)[0]
            for column, absent in enumerate(missing.T)
        ]
    )
    parts = [classes.normal(part[:, 2:], part[:, :2]) for part in chunks(data)]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert isinstance(merged, NormalEquations)
    np.testing.assert_allclose(merged.solve(), whole, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(classes.coefficients, whole, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(classes.fitted, design @ whole, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('levels', [[3, 2, 4], [2**21] * 4], ids=['counted', 'renumbered'])
def test_patterns_sum_the_rows_of_each_distinct_combination_of_codes(levels):
    """Few combinations are counted; keys past 2**62 are renumbered and then sorted."""
    rng = np.random.default_rng(0)
    n = 150_000  # blocks of rows
    codes = [rng.integers(-1, count - 1, n) for count in levels]
    values = rng.normal(size=(n, 3))
    missing = rng.random((n, 3)) < 0.2
    patterns = Patterns(codes, n)
    key = np.column_stack(codes)
    distinct, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    assert len(patterns.counts) == len(distinct)
    # The same grouping, whatever the numbering: each pattern's rows have one combination.
    np.testing.assert_array_equal(key[patterns.rows][patterns.inverse], key)
    np.testing.assert_array_equal(np.sort(patterns.counts), np.sort(counts))
    order = np.argsort(np.unique(key[patterns.rows], axis=0, return_inverse=True)[1])
    centres = rng.normal(size=(len(distinct), 3))  # a value per pattern, as numbered there
    for given, summed in ((None, values), (centres, (values - centres[patterns.inverse]) ** 2)):
        expected = np.zeros((len(distinct), 3))
        np.add.at(expected, inverse, np.where(missing, 0.0, summed))
        present = np.zeros((len(distinct), 3))
        np.add.at(present, inverse, ~missing)
        sums, counted = patterns.totals(values, missing, given)
        np.testing.assert_allclose(sums[order], expected, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(counted[order], present)


def test_class_model_fitted_from_chunks_is_the_fit_of_all_rows():
    data = with_missing(interacting_table())
    classes = ClassMeans(data[:, 2:], data[:, :2])
    scales = classes.scales()[classes.patterns.inverse]
    model = classes.model()
    model.coefficients = None  # the splits only: fitted again from the chunks
    parts = chunks(data)
    normal = [model.normal(part[:, 2:], part[:, :2]) for part in parts]
    model.fit_normal(normal[0].merge(normal[1]).merge(normal[2]))
    sums = [model.scale_sums(part[:, 2:], part[:, :2]) for part in parts]
    model.fit_scales(sum(part[0] for part in sums), sum(part[1] for part in sums))
    missing = np.isnan(data[:, :2])
    row_class, centres, row_scales = model.classes_of(data[:, 2:], missing)
    np.testing.assert_allclose(model.predict(data[:, 2:], missing), classes.fitted, atol=1e-9)
    np.testing.assert_array_equal(centres[row_class], model.predict(data[:, 2:], missing))
    np.testing.assert_allclose(row_scales[row_class], scales, rtol=1e-9)
    # New rows get the centre and spread of their class.
    new = data[:5, 2:]
    present = np.zeros((5, 2), dtype=bool)
    np.testing.assert_allclose(model.predict(new, present), classes.predict(new, present))


def test_mixer_given_the_classes_of_its_rows_samples_as_one_that_fits_them():
    data = interacting_table()
    data[data[:, 1] > 4, 1] = np.nan
    lower = np.array([-np.inf, 0.0, -np.inf, -np.inf])
    fitting = mixer(data, lower=lower)
    classes = ClassMeans(data[:, 2:], fitting.data[:, CONTINUOUS]).model()
    values = data[:, :2]
    classes.fit_scales(*classes.scale_sums(data[:, 2:], values))
    given = mixer(data, lower=lower, classes=classes, spread=fitting.spread)
    np.testing.assert_array_equal(given.sample(5000), fitting.sample(5000))


def test_scaled_residuals_have_mean_zero_and_unit_variance():
    data = interacting_table()
    values = data[:, :2]
    classes = ClassMeans(data[:, 2:], values)
    centres = classes.fitted
    scales = classes.scales()[classes.patterns.inverse]
    residual = values - centres
    z = residual / scales
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose((z**2).mean(axis=0), 1)
    np.testing.assert_allclose((scales**2).mean(axis=0), (residual**2).mean(axis=0))
    # x has spread 1 + a: its scale follows the levels of a (cells are not candidates).
    assert np.ptp(scales[data[:, 2] == 0, 0]) == 0
    assert scales[data[:, 2] == 2, 0][0] > 2 * scales[data[:, 2] == 0, 0][0]


def test_rare_levels_share_the_baseline():
    rng = np.random.default_rng(1)
    n = 200
    code = np.where(np.arange(n) < 5, 9.0, rng.integers(0, 2, n))  # level 9: 5 rows
    x = np.where(code == 9, 100.0, code) + rng.normal(0, 1, n)
    data = np.column_stack([x, code])
    centres = ClassMeans(data[:, 1:], data[:, :1], min_rows=10).fitted
    assert np.ptp(centres[code == 9]) == 0
    baseline = 0.0 if (code == 0).sum() >= (code == 1).sum() else 1.0  # the most frequent
    assert np.allclose(centres[code == 9], centres[code == baseline][0])


def test_missing_values_and_unique_codes():
    """Each column is fitted on its mixable rows; a missing code is a level; unique codes none."""
    rng = np.random.default_rng(2)
    n = 3_000
    code = rng.choice([0.0, 1.0, np.nan], n, p=[0.5, 0.3, 0.2])
    noisy = rng.random(n)  # every value its own level (a noise-coded column): no coefficient
    x = np.where(np.isnan(code), 5.0, 2.0 * np.nan_to_num(code)) + rng.normal(0, 1, n)
    y = x + rng.normal(0, 1, n)
    y[rng.random(n) < 0.4] = np.nan  # missing at random, not in the fit of y
    data = np.column_stack([x, y, code, noisy])
    values = data[:, :2]
    classes = ClassMeans(data[:, 2:], values)
    centres, scales = classes.fitted, classes.scales()[classes.patterns.inverse]
    assert classes.width == 1 + 2 + 1  # intercept, 2 codes, y's missing indicator
    mixable = ~np.isnan(y)
    for rows in (np.isnan(code), code == 0, code == 1, mixable):
        np.testing.assert_allclose((x - centres[:, 0])[rows].mean(), 0, atol=1e-9)
        np.testing.assert_allclose((y - centres[:, 1])[rows & mixable].mean(), 0, atol=1e-9)

    # y is fitted on its own rows only: the same as least squares on them.
    design = np.column_stack([np.ones(n), code == 0, np.isnan(code)])[mixable]
    expected = design @ np.linalg.lstsq(design, y[mixable], rcond=None)[0]
    np.testing.assert_allclose(centres[mixable, 1], expected)
    np.testing.assert_allclose(
        np.mean(scales[mixable, 1] ** 2), np.mean((y - centres[:, 1])[mixable] ** 2)
    )
    # New rows get the same fit; a value unseen in training gets the baseline's.
    np.testing.assert_allclose(classes.predict(data[:, 2:], np.isnan(values)), centres)
    unseen = classes.predict(np.array([[7.0, 0.5], [0.0, 0.5]]), np.zeros((2, 2), dtype=bool))
    np.testing.assert_allclose(unseen[0], unseen[1])


def test_class_means_eta_squared_and_covariance_are_exact():
    n = 800
    data = interacting_table(n)
    engine = mixer(data)
    law = engine.winner_law
    assert law.mean == pytest.approx(EpBeta.preserving().inheritance_factor)
    assert law.expected_u == pytest.approx(0, abs=1e-12)
    synthetic = engine.sample(N_SYNTH)

    # Discrete values are the winner's: joint cells exact.
    cells = data[:, 2] * 2 + data[:, 3]
    synthetic_cells = synthetic[:, 2] * 2 + synthetic[:, 3]
    for cell in np.unique(cells):
        share = (synthetic_cells == cell).mean()
        expected = (cells == cell).mean()
        assert abs(share - expected) < 5 * np.sqrt(expected * (1 - expected) / N_SYNTH)

    # Class means of every level of every discrete column, and eta^2, exact.
    for column in (2, 3):
        for value in (0, 1):
            for level in np.unique(data[:, column]):
                rows = synthetic[synthetic[:, column] == level, value]
                assert mean_check(rows, data[data[:, column] == level, value].mean())

        real_levels = pd.Series(data[:, 0]).groupby(data[:, column]).transform('mean')
        synthetic_levels = pd.Series(synthetic[:, 0]).groupby(synthetic[:, column])
        between = ((synthetic_levels.transform('mean') - synthetic[:, 0].mean()) ** 2).mean()
        expected_between = ((real_levels - data[:, 0].mean()) ** 2).mean()
        eta = between / synthetic[:, 0].var()
        assert eta == pytest.approx(expected_between / data[:, 0].var(), rel=0.02)

    # Covariance of the mixed columns exact (E[u] = 0), and of discrete with mixed.
    mu = data.mean(axis=0)
    d = synthetic - mu
    cov = np.cov(data.T, bias=True)
    for first, second in [(0, 0), (1, 1), (0, 1), (2, 0), (3, 0), (3, 1)]:
        products = d[:, first] * d[:, second]
        assert mean_check(products, cov[first, second]), (first, second)

    # Without transport the a-x covariance visibly scales by h.
    plain = Mixer(data, CONTINUOUS, EpBeta.preserving())
    plain.set_random_state(0)
    plain_d = plain.sample(N_SYNTH) - mu
    products = plain_d[:, 2] * plain_d[:, 0]
    assert not mean_check(products, cov[2, 0])


def test_cell_means_of_two_discrete_columns_are_exact():
    # With a cell indicator, E[r | cell] = 0, so E[x~ | cell] = g(cell) = E[x | cell].
    data = interacting_table()
    synthetic = mixer(data, seed=2).sample(N_SYNTH)
    for a in range(3):
        for b in (0, 1):
            for column in (0, 1):
                cell = (data[:, 2] == a) & (data[:, 3] == b)
                rows = synthetic[(synthetic[:, 2] == a) & (synthetic[:, 3] == b), column]
                assert mean_check(rows, data[cell, column].mean()), (a, b, column)


def test_three_way_interaction_kept_by_the_winner_factor():
    # Pairwise cells cannot hold an a-b-c interaction: it stays in the residual and is kept
    # with the factor h, E[x~ | cell] = g(cell) + h E[r | cell].
    rng = np.random.default_rng(7)
    n = 1600
    a, b, c = (rng.random((3, n)) < 0.5).astype(float)
    x = a + b + c + 6.0 * a * b * c + rng.normal(0, 1, n)
    y = 0.5 * x + rng.gamma(2.0, 1.0, n)
    data = np.column_stack([x, y, a, b, c])
    engine = mixer(data, np.array([True, True, False, False, False]), seed=7)
    synthetic = engine.sample(N_SYNTH)
    centres = engine._centres(slice(None))[:, 0]
    residual = data[:, 0] - centres
    h = engine.winner_law.mean
    codes = data[:, 2:] @ [4, 2, 1]
    synthetic_codes = synthetic[:, 2:] @ [4, 2, 1]
    assert abs(residual[codes == 7].mean()) > 0.5  # the interaction left in r
    for code in range(8):
        cell = codes == code
        expected = centres[cell][0] + h * residual[cell].mean()
        # The partner's residual averages to -r_w / (n - 1): negligible next to the tolerance.
        assert mean_check(synthetic[synthetic_codes == code, 0], expected), code


def test_sample_covariance_of_a_small_table():
    # Without a discrete column g is the mean, and E[m (1 - m)] = -1/(2n) keeps the 1/(n-1)
    # sample covariance, as for the symmetric law.
    n = 20
    data = interacting_table(n, seed=6)[:, :2]
    law = EpBeta.preserving().with_variance(0.25 + 1 / (2 * n))
    assert law.winner_law().expected_u == pytest.approx(-1 / (2 * n))
    synthetic = mixer(data, np.array([True, True]), law, seed=6).sample(N_SYNTH)
    d = synthetic - data.mean(axis=0)
    cov = np.cov(data.T)
    for first, second in [(0, 0), (1, 1), (0, 1)]:
        assert mean_check(d[:, first] * d[:, second], cov[first, second])


def test_bounds_hold_without_clipping_and_variance_is_kept():
    data = interacting_table(seed=3)
    data[:, 1] = np.abs(data[:, 1])
    lower, upper = data.min(axis=0), data.max(axis=0)
    lower[2:], upper[2:] = -np.inf, np.inf
    engine = mixer(data, lower=lower, upper=upper, seed=3)
    i, j = engine.draw_pairs(N_SYNTH, engine.layout())
    out, lam, wins = engine.mix(i, j)
    assert wins.all()
    classes = ClassMeans(data[:, 2:], data[:, :2])
    centres = classes.fitted
    scales = classes.scales()[classes.patterns.inverse]
    moved = centres[i] + scales[i] / scales[j] * (data[j, :2] - centres[j])
    outside = (moved < lower[:2]) | (moved > upper[:2])
    assert outside.any()  # some transported partners leave the range ...
    unclipped = moved + lam[:, None] * (data[i, :2] - moved)
    scale = upper[:2] - lower[:2]
    assert np.all(unclipped >= lower[:2] - 1e-9 * scale)  # ... the weights keep rows inside
    assert np.all(unclipped <= upper[:2] + 1e-9 * scale)
    ratio = out[:, :2].var(axis=0) / data[:, :2].var(axis=0)
    assert np.all(np.abs(ratio - 1) < 0.02), ratio


def test_atoms_keep_their_share_and_their_relation():
    rng = np.random.default_rng(8)
    n = 1000
    zero = rng.random(n) < 0.3
    amount = np.where(zero, 0.0, 5 + rng.gamma(2.0, 50.0, n))
    other = rng.normal(0, 1, n) + 3 * zero
    data = np.column_stack([amount, other])
    lower, upper = np.array([0.0, -np.inf]), np.array([amount.max(), np.inf])
    engine = mixer(data, np.array([True, True]), lower=lower, upper=upper, seed=8)
    synthetic = engine.sample(N_SYNTH)
    share = (synthetic[:, 0] == 0).mean()
    assert abs(share - zero.mean()) < 5 * np.sqrt(zero.mean() * (1 - zero.mean()) / N_SYNTH)
    # Mixed values stay off the atom: never below the smallest non-zero amount.
    assert synthetic[synthetic[:, 0] > 0, 0].min() >= amount[~zero].min()
    # The relation through the atom is exact (the atom indicator is a class).
    d = synthetic - data.mean(axis=0)
    cov = np.cov(data.T, bias=True)
    for first, second in [(0, 0), (1, 1), (0, 1)]:
        assert mean_check(d[:, first] * d[:, second], cov[first, second]), (first, second)


def test_groups_keep_group_means():
    data = interacting_table(seed=4)
    engine = mixer(data, groups=data[:, 3].astype(int), seed=4)
    synthetic = engine.sample(N_SYNTH)
    for level in (0, 1):
        for column in (0, 1):
            rows = synthetic[synthetic[:, 3] == level, column]
            assert mean_check(rows, data[data[:, 3] == level, column].mean())

    d = synthetic[:, :2] - data[:, :2].mean(axis=0)
    cov = np.cov(data[:, :2].T, bias=True)
    for first, second in [(0, 0), (1, 1), (0, 1)]:
        assert mean_check(d[:, first] * d[:, second], cov[first, second])


def test_donors_keep_mixed_covariance_and_scale_discrete_continuous_by_s():
    n, donors = 800, 2
    data = interacting_table(n, seed=5)
    synthetic = mixer(data, donors=donors, seed=5).sample(N_SYNTH)
    d = synthetic - data.mean(axis=0)
    cov = np.cov(data.T, bias=True)
    for first, second in [(0, 0), (1, 1), (0, 1)]:
        assert mean_check(d[:, first] * d[:, second], cov[first, second])

    s = 1 / (donors + 2)
    products = d[:, 2] * d[:, 0]
    tolerance = 5 * products.std() / np.sqrt(N_SYNTH) + 2 * abs(cov[2, 0]) / n
    assert abs(products.mean() - s * cov[2, 0]) <= tolerance


def test_transport_needs_an_extrapolating_law():
    with pytest.raises(ValueError, match='extrapolates'):
        mixer(interacting_table(), weights=Beta(0.4))


@pytest.fixture(scope='module')
def demo_table():
    return load_dataset()


def test_synthesizer_keeps_class_means_of_a_real_table(demo_table):
    data, metadata = demo_table
    synthesizer = GWMSynthesizer(metadata)
    synthesizer.fit(data)
    synthesizer.set_random_state(0)
    synthetic = synthesizer.sample(20_000)
    assert synthesizer.get_parameters()['transport'] is True
    for category in ('gender', 'work_experience', 'placed'):
        for column in ('degree_perc', 'mba_perc', 'employability_perc'):
            real = data.groupby(category)[column].mean()
            groups = synthetic.groupby(category)[column]
            error = groups.std() / np.sqrt(groups.count())
            assert ((groups.mean() - real).abs() <= 5 * error).all(), (category, column)


def test_class_means_see_the_categories_of_columns_coded_with_noise():
    # RDT's uniform encoders code a category as a random value inside its interval: with the
    # intervals' ends the fit is that on the categories; without, every code is its own value
    # and no level gets an indicator.
    rng = np.random.default_rng(3)
    n = 3000
    category = rng.integers(0, 4, n)
    ends = np.array([0.1, 0.5, 0.7, 1.0])
    starts = np.r_[0.0, ends[:-1]]
    noisy = starts[category] + (ends - starts)[category] * (1 - rng.random(n))  # (start, end]
    other = rng.integers(0, 3, n)
    values = category[:, None] * np.array([1.0, -2.0]) + other[:, None] + rng.normal(size=(n, 2))
    coded = ClassMeans(np.column_stack([other, noisy]), values, cuts={1: ends})
    plain = ClassMeans(np.column_stack([other, category]).astype(float), values)
    np.testing.assert_allclose(coded.fitted, plain.fitted, atol=1e-9)
    predicted = coded.model().predict(np.column_stack([other, noisy]), np.isnan(values))
    np.testing.assert_allclose(predicted, plain.fitted, atol=1e-9)
    blind = ClassMeans(np.column_stack([other, noisy]), values)
    assert [index for index, _, _ in blind.splits] == [0]


@pytest.mark.parametrize('privacy', ['none', 'balanced', 'strict'])
def test_synthesizer_keeps_class_means_of_an_ordinal_column(privacy):
    # An ordinal column is coded with noise (RDT's OrderedUniformEncoder). If transport did
    # not see its categories, its class means would shrink by about 5 % per generation (the
    # winner rule): 0.15 here, about 7 standard errors; if the privacy blend's fits did not,
    # each would be pulled towards the column mean by the share of the residual it replaces.
    rng = np.random.default_rng(4)
    n = 20_000
    level = rng.integers(0, 4, n)
    data = pd.DataFrame(
        {'grade': np.array(list('abcd'))[level], 'x': 2.0 * level + rng.normal(size=n)}
    )
    columns = {
        'grade': {'sdtype': 'ordinal', 'range_values': list('abcd')},
        'x': {'sdtype': 'numerical'},
    }
    metadata = Metadata.load_from_dict({'tables': {'table': {'columns': columns}}})
    synthesizer = GWMSynthesizer(metadata, privacy=privacy)
    synthesizer.fit(data)
    synthesizer.set_random_state(0)
    synthetic = synthesizer.sample(n)
    real = data.groupby('grade')['x']
    groups = synthetic.groupby('grade')['x']
    offsets = (groups.mean() - real.mean()).abs()
    if privacy == 'none':
        error = np.sqrt(real.var() / real.count() + groups.var() / groups.count())
        assert (offsets <= 5 * error).all()
    else:
        assert (offsets <= 0.1 * (real.mean() - data['x'].mean()).abs().max()).all()


def test_no_transport_keeps_the_old_inheritance(demo_table):
    data, metadata = demo_table
    synthesizer = GWMSynthesizer(metadata, transport=False)
    synthesizer.fit(data)
    assert not synthesizer._model.transport
    classic = GWMSynthesizer(metadata, weights='beta')
    classic.fit(data)
    assert not classic._model.transport  # classic laws are mixed as the paper has them


def test_spread_gives_back_what_the_rooms_take_without_piling_up_at_the_bounds():
    # Six columns with most values next to a bound: many winners sit on a bound with a partner
    # moved past the other one, where no cut law keeps E[u] = 0 and the variance falls short.
    rng = np.random.default_rng(10)
    n, q = 1000, 6
    a = (rng.random(n) < 0.5).astype(float)
    columns = [
        np.where(a == 0, rng.beta(0.02, 0.02, n), 3 * rng.beta(0.02, 3, n)) for _ in range(q)
    ]
    data = np.column_stack([*columns, a])
    continuous = np.arange(q + 1) < q
    lower = np.where(continuous, data.min(axis=0), -np.inf)
    upper = np.where(continuous, data.max(axis=0), np.inf)
    engine = mixer(data, continuous, lower=lower, upper=upper, seed=10)
    assert np.all(engine.spread > 1)
    variance = data[:, :q].var(axis=0)
    spread = engine.spread.copy()
    ratios, at_bound = [], []
    for factor in (spread, np.ones(q)):  # the same draws with and without the spread
        engine.spread = factor
        engine.set_random_state(10)
        synthetic = engine.sample(N_SYNTH)[:, :q]
        assert np.all((synthetic >= lower[:q]) & (synthetic <= upper[:q]))
        ratios.append(((synthetic - data[:, :q].mean(axis=0)) ** 2).mean(axis=0) / variance)
        at_bound.append(((synthetic == lower[:q]) | (synthetic == upper[:q])).mean())

    # Without the spread every column falls short; the spread gives most of it back (values it
    # would move past a bound stay where they were, so not all of it) ...
    assert np.all(ratios[1] < 1) and np.all(ratios[0] > ratios[1])
    assert np.mean(1 - ratios[0]) < 0.5 * np.mean(1 - ratios[1])
    # ... and puts no value on a bound that the mixing did not put there.
    assert at_bound[0] == at_bound[1]


def test_calibrated_spread_gives_back_what_copy_redraws_and_rounding_take():
    # Integer columns and a reject of rows equal to a training row once rounded: winners on a
    # bound get weights next to 1 there, are copies, and their redraws pull them inwards.
    rng = np.random.default_rng(11)
    n = 400
    a = (rng.random(n) < 0.4).astype(float)
    x = np.minimum(rng.poisson(np.where(a == 1, 6.0, 2.0)), 9).astype(float)
    y = np.round(18 + 2 * x + rng.gamma(2, 8, n), 1)
    data = np.column_stack([x, y, a])
    continuous = np.array([True, True, False])
    lower = np.where(continuous, data.min(axis=0), -np.inf)
    upper = np.where(continuous, data.max(axis=0), np.inf)
    step = np.array([1.0, 0.1, 0.0])
    training = np.unique(np.rint(data[:, 0]) * 10**5 + np.rint(data[:, 1] * 10))

    def reject(block):
        return np.isin(np.rint(block[:, 0]) * 10**5 + np.rint(block[:, 1] * 10), training)

    def sample(engine, seed):
        engine.set_random_state(seed)
        synthetic = engine.sample(N_SYNTH, reject=reject)
        synthetic[:, :2] = np.rint(synthetic[:, :2] / step[:2]) * step[:2]
        return synthetic

    engine = mixer(data, continuous, lower=lower, upper=upper)
    variance = data[:, :2].var(axis=0)
    uncalibrated = sample(engine, 1)
    before = uncalibrated[:, :2].var(axis=0) / variance
    engine.calibrate_spread(reject, step)
    synthetic = sample(engine, 1)  # not the pilots' seed
    after = synthetic[:, :2].var(axis=0) / variance
    assert reject(synthetic).mean() < 1e-3  # what 100 redraws could not move
    assert np.all((synthetic[:, :2] >= lower[:2]) & (synthetic[:, :2] <= upper[:2]))
    # The variance of a rounded column of about 10**5 rows of 400 parents: a few tenths of a
    # percent of noise.
    assert np.max(np.abs(before - 1)) > 0.015, before
    assert np.all(np.abs(after - 1) < 0.01), after
    # Scaling around the class centres keeps the class means. Redrawing the copies of so small
    # and coarse a table moves them a little (2 % of the class mean of 'a = 0', about 10
    # standard errors, without the calibration): the calibrated sample is no further off.
    for level in (0.0, 1.0):
        real = x[a == level].mean()
        values = synthetic[synthetic[:, 2] == level, 0]
        tolerance = 5 * values.std() / np.sqrt(len(values))
        off = abs(uncalibrated[uncalibrated[:, 2] == level, 0].mean() - real)
        assert abs(values.mean() - real) <= off + tolerance
