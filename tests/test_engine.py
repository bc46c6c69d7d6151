"""The mixing engine against the exact expectations of the theory.

Pairs are of distinct rows: ``j`` is uniform among the rows other than ``i``, so
``E[d_i d_j'] = -S / (n - 1)`` (``d`` centred rows, ``S`` the 1/n covariance). With that,
for lam independent of the pair (any mean):

- covariance: ``(1 - 2 E[u] n / (n - 1)) S``;
- third central moment of a column: ``(1 - 3 E[u] n / (n - 1)) m3``;
- fourth: ``(1 - 4 E[u] + 2 E[u^2]) m4 - 4 (E[u] - 2 E[u^2]) m4 / (n - 1)
  + 6 E[u^2] (n s^4 - m4) / (n - 1)``, i.e. ``m4 + delta (2 m4 + 6 s^4) n / (n - 1)`` when
  ``E[u] = 0``;
- a discrete column copied from the larger-weight parent: covariance with a mixed column
  ``(h - (1 - h) / (n - 1)) S`` with ``h = E[max(lam, 1 - lam)]``.

Estimates are averages over synthetic rows; the tolerance is five standard errors of that
average, computed from the synthetic sample itself.
"""

import tracemalloc

import numpy as np
import pytest
from scipy import stats

from sdv_gwm.engine import KeySet, Mixer
from sdv_gwm.weights import Beta, EpBeta, Uniform

N_SYNTH = 200_000
LAWS = [EpBeta.preserving(), EpBeta(4.34, 1.33, 0.3, 0.3), Beta(0.4), Uniform()]


def correlated(n, seed=0):
    rng = np.random.default_rng(seed)
    cov = np.array([[4.0, 2.4, -1.0], [2.4, 9.0, 0.5], [-1.0, 0.5, 1.0]])
    return rng.multivariate_normal([1.0, -3.0, 10.0], cov, n)


def mixer(data, continuous=None, weights=None, seed=0, **kwargs):
    continuous = np.ones(data.shape[1], bool) if continuous is None else continuous
    weights = EpBeta.preserving() if weights is None else weights
    engine = Mixer(data, continuous, weights, **kwargs)
    engine.set_random_state(seed)
    return engine


def within(estimates, expected, tolerance):
    return np.all(np.abs(np.asarray(estimates) - np.asarray(expected)) <= tolerance)


def covariance_check(synthetic, center, expected):
    d = synthetic - center
    products = d[:, :, None] * d[:, None, :]
    estimate = products.mean(axis=0)
    tolerance = 5 * products.std(axis=0) / np.sqrt(len(d))
    return estimate, tolerance, within(estimate, expected, tolerance)


@pytest.mark.parametrize('n', [8, 400])
@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_covariance_scales_by_exact_factor_for_distinct_pairs(law, n):
    data = correlated(n)
    mu, cov = data.mean(axis=0), np.cov(data.T, bias=True)
    synthetic = mixer(data, weights=law).sample(N_SYNTH)
    factor = 1 - 2 * law.expected_u * n / (n - 1)
    estimate, tolerance, ok = covariance_check(synthetic, mu, factor * cov)
    assert ok, (estimate / cov, factor)
    if n == 8 and law.expected_u > 0.1:  # the j != i term is visible with few rows
        naive = (1 - 2 * law.expected_u) * cov
        assert not within(estimate, naive, tolerance)


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_means_and_correlations_kept_for_every_law(law):
    data = correlated(300, seed=1)
    synthetic = mixer(data, weights=law, seed=1).sample(N_SYNTH)
    sd = synthetic.std(axis=0)
    assert within(synthetic.mean(axis=0), data.mean(axis=0), 5 * sd / np.sqrt(N_SYNTH))
    real, synth = np.corrcoef(data.T), np.corrcoef(synthetic.T)
    # Asymptotic standard error of a correlation of near-Gaussian data: (1 - rho^2) / sqrt(N).
    assert within(synth, real, 5 * (1 - real**2) / np.sqrt(N_SYNTH) + 1e-12)


@pytest.mark.parametrize('law', [EpBeta.preserving(), EpBeta.preserving(0.1, 0.4, mean=0.3)])
def test_preserving_law_keeps_covariance(law):
    data = correlated(50, seed=2)
    synthetic = mixer(data, weights=law, seed=2).sample(N_SYNTH)
    _, _, ok = covariance_check(synthetic, data.mean(axis=0), np.cov(data.T, bias=True))
    assert ok


def skewed_column(n, seed):
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 3.0, (n, 1))


@pytest.mark.parametrize('law', [EpBeta.preserving(), Beta(0.4)], ids=repr)
def test_third_and_fourth_moments(law):
    n = 1000
    data = skewed_column(n, seed=3)
    d = data[:, 0] - data.mean()
    s2, m3, m4 = (np.mean(d**k) for k in (2, 3, 4))
    eu, eu2 = law.expected_u, law.delta
    third = (1 - 3 * eu * n / (n - 1)) * m3
    fourth = (
        (1 - 4 * eu + 2 * eu2) * m4
        - 4 * (eu - 2 * eu2) * m4 / (n - 1)
        + 6 * eu2 * (n * s2**2 - m4) / (n - 1)
    )
    if eu == 0:
        assert fourth == pytest.approx(m4 + eu2 * (2 * m4 + 6 * s2**2) * n / (n - 1))
        assert third == m3

    synthetic = mixer(data, weights=law, seed=3).sample(2 * N_SYNTH)[:, 0] - data.mean()
    for power, expected in ((3, third), (4, fourth)):
        values = synthetic**power
        assert abs(values.mean() - expected) < 5 * values.std() / np.sqrt(len(values))

    if eu == 0:  # the kurtosis excess delta (2 m4 + 6 s^4) is resolved, not lost in the noise
        values = synthetic**4
        assert abs(values.mean() - m4) > 5 * values.std() / np.sqrt(len(values))


def test_fourth_moment_grows_by_delta_times_that_of_the_parents_difference():
    """Under any symmetric pairing with uniform parents, ``E[u] = 0`` gives
    ``E[d**4] = m4 + delta E[(d_i - d_j)**4]``: partners close together (here within thirds of
    the column, ``groups``) make it grow less than independent ones (``2 m4 + 6 s**4``).
    """
    n = 600
    data = np.random.default_rng(6).normal(0, 1, (n, 1))
    d = data[:, 0] - data.mean()
    groups = np.digitize(d, np.quantile(d, [1 / 3, 2 / 3]))
    law = EpBeta.preserving()
    differences = []  # each row's mean over its partners (the other rows of its group)
    for row in range(n):
        others = (groups == groups[row]) & (np.arange(n) != row)
        differences.append(np.mean((d[row] - d[others]) ** 4))

    m4 = np.mean(d**4)
    expected = m4 + law.delta * np.mean(differences)
    synthetic = mixer(data, weights=law, seed=6, groups=groups).sample(2 * N_SYNTH)[:, 0]
    values = (synthetic - data.mean()) ** 4
    tolerance = 5 * values.std() / np.sqrt(len(values))
    assert abs(values.mean() - expected) < tolerance
    independent = m4 + law.delta * (2 * m4 + 6 * np.mean(d**2) ** 2) * n / (n - 1)
    assert values.mean() < independent - tolerance


def test_curvature_between_mixed_columns_shrinks_by_the_fourth_moment_growth():
    """``y = x**2 + e``: the coefficient of ``x**2`` in the fit of ``y`` on ``1, x, x**2``.

    Its normal equations hold moments of order two and three, which a preserving law keeps,
    and ``E[x**4]``, which grows by ``delta (2 m4 + 6 s**4) n / (n - 1)``: the coefficient
    shrinks by that closed form, generation after generation (see the theory page).
    """
    n = 2000
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, n)
    data = np.column_stack([x, x**2 + rng.normal(0, 0.5, n)])
    law = EpBeta.preserving()

    def curvature(rows, fourth=None):
        d, e = (rows - data.mean(axis=0)).T
        moments = [np.mean(d**k) for k in range(5)]
        if fourth is not None:
            moments[4] = fourth
        normal = np.array([moments[0:3], moments[1:4], moments[2:5]])
        return np.linalg.solve(normal, [np.mean(e), np.mean(d * e), np.mean(d**2 * e)])[2]

    d = x - x.mean()
    s2, m4 = np.mean(d**2), np.mean(d**4)
    grown = m4 + law.delta * (2 * m4 + 6 * s2**2) * n / (n - 1)
    expected = curvature(data, grown)
    synthetic = mixer(data, weights=law, seed=5).sample(N_SYNTH)
    design = np.column_stack([np.ones(N_SYNTH), synthetic[:, 0], synthetic[:, 0] ** 2])
    coefficients, *_ = np.linalg.lstsq(design, synthetic[:, 1], rcond=None)
    # Heteroscedasticity-robust standard error of the coefficient, from the sample itself.
    bread = np.linalg.inv(design.T @ design)
    meat = design.T @ (design * (synthetic[:, 1] - design @ coefficients)[:, None] ** 2)
    error = np.sqrt((bread @ meat @ bread)[2, 2])
    assert abs(coefficients[2] - expected) < 5 * error
    assert abs(coefficients[2] - curvature(data)) > 5 * error  # the shrinkage is resolved
    assert expected / curvature(data) < 0.9


def mixed_table(n, seed):
    """Two continuous columns and two categorical codes related to them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = 0.6 * x + rng.normal(0, 0.8, n)
    color = np.digitize(x + rng.normal(0, 0.7, n), [-0.8, 0.3, 1.2])
    flag = (rng.random(n) < np.where(color > 1, 0.7, 0.2)).astype(float)
    return np.column_stack([x, y, color, flag]), np.array([True, True, False, False])


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_discrete_marginals_and_joints_kept(law):
    data, continuous = mixed_table(500, seed=4)
    synthetic = mixer(data, continuous, law, seed=4).sample(N_SYNTH)
    assert set(np.unique(synthetic[:, 2:])) <= set(np.unique(data[:, 2:]))
    cells = data[:, 2] * 2 + data[:, 3]
    values, counts = np.unique(cells, return_counts=True)
    synth_cells = synthetic[:, 2] * 2 + synthetic[:, 3]
    observed = np.array([(synth_cells == value).sum() for value in values])
    assert observed.sum() == N_SYNTH
    # Multinomial chi-square; balanced rounds only make the counts less variable.
    assert stats.chisquare(observed, counts / counts.sum() * N_SYNTH).pvalue > 1e-4


@pytest.mark.parametrize('law', LAWS, ids=repr)
def test_discrete_continuous_covariance_scales_by_inheritance_factor(law):
    n = 500
    data, continuous = mixed_table(n, seed=5)
    mu, cov = data.mean(axis=0), np.cov(data.T, bias=True)
    synthetic = mixer(data, continuous, law, seed=5).sample(N_SYNTH)
    h = law.inheritance_factor
    d = synthetic - mu
    for discrete in (2, 3):
        for column in (0, 1):
            products = d[:, discrete] * d[:, column]
            tolerance = 5 * products.std() / np.sqrt(N_SYNTH)
            expected = (h - (1 - h) / (n - 1)) * cov[discrete, column]
            assert abs(products.mean() - expected) < tolerance
            if (discrete, column) == (2, 0):  # the strongest relation: the factor is not 1
                assert abs(products.mean() - cov[discrete, column]) > tolerance


@pytest.mark.parametrize('chunk_size', [65_536, 50])
def test_mixing_within_groups_keeps_group_means_and_covariances(chunk_size):
    rng = np.random.default_rng(6)
    sizes = [40, 120, 240]
    group = np.repeat(np.arange(3), sizes)
    centres = np.array([[0.0, 0.0], [5.0, -2.0], [-3.0, 4.0]])
    x = rng.normal(size=(len(group), 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]]) + centres[group]
    data = np.column_stack([x, group])
    engine = mixer(
        data, np.array([True, True, False]), groups=group, seed=6, chunk_size=chunk_size
    )

    i, j = engine.draw_pairs(5000, engine.layout())
    assert np.all(group[i] == group[j]) and np.all(i != j)

    num_rows = 500 * len(group)  # whole rounds: each group exactly its share
    synthetic = engine.sample(num_rows)
    for label, size in enumerate(sizes):
        rows = synthetic[synthetic[:, 2] == label, :2]
        assert len(rows) == 500 * size
        real = x[group == label]
        sd = rows.std(axis=0)
        assert within(rows.mean(axis=0), real.mean(axis=0), 5 * sd / np.sqrt(len(rows)))
        _, _, ok = covariance_check(rows, real.mean(axis=0), np.cov(real.T, bias=True))
        assert ok

    _, _, ok = covariance_check(synthetic[:, :2], x.mean(axis=0), np.cov(x.T, bias=True))
    assert ok


def bounded_table(n, seed):
    rng = np.random.default_rng(seed)
    data = np.column_stack(
        [
            rng.normal(0, 1, n),
            rng.beta(2.0, 5.0, n),
            rng.uniform(0, 10, n),
        ]
    )
    data[:, 0] += 0.5 * data[:, 1]
    return data, data.min(axis=0), data.max(axis=0)


def test_bounds_hold_without_clipping_and_variance_is_kept():
    data, lower, upper = bounded_table(300, seed=7)
    engine = mixer(data, lower=lower, upper=upper, seed=7)
    i, j = engine.draw_pairs(N_SYNTH, engine.layout())
    out, lam, _ = engine.mix(i, j)
    unclipped = data[j] + lam[:, None] * (data[i] - data[j])
    scale = upper - lower
    assert np.all(unclipped >= lower - 1e-9 * scale) and np.all(unclipped <= upper + 1e-9 * scale)
    assert np.all((out >= lower) & (out <= upper))
    assert lam.min() < -0.1 and lam.max() > 1.1  # extrapolation still happens

    # Only pairs with too little room (support < about 0.05 outside [0, 1]) fall back to the
    # shrinking floor; on these tables that is a small bias.
    ratio = out.var(axis=0) / data.var(axis=0)
    assert within(ratio, 1.0, 0.01), ratio


def test_zero_inflated_column_keeps_zero_share_and_variance():
    rng = np.random.default_rng(8)
    n = 1000
    amount = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 50.0, n))
    other = rng.normal(0, 1, n) + amount / 100
    data = np.column_stack([amount, other])
    lower, upper = np.array([0.0, -np.inf]), np.array([amount.max(), np.inf])
    synthetic = mixer(data, lower=lower, upper=upper, seed=8).sample(N_SYNTH)
    zero_share = (amount == 0).mean()
    share = (synthetic[:, 0] == 0).mean()
    assert abs(share - zero_share) < 5 * np.sqrt(zero_share * (1 - zero_share) / N_SYNTH)
    cov = np.cov(data.T, bias=True)
    estimate, tolerance, _ = covariance_check(synthetic, data.mean(axis=0), cov)
    # Both variances are kept. The cross term runs partly through the atom, which is inherited
    # like a discrete value, so it scales by a factor between the inheritance factor and 1.
    assert np.all(np.abs(np.diag(estimate) - np.diag(cov)) <= np.diag(tolerance))
    factor = EpBeta.preserving().inheritance_factor
    assert factor * cov[0, 1] - tolerance[0, 1] <= estimate[0, 1] <= cov[0, 1] + tolerance[0, 1]


def test_nulls_follow_the_winning_parent():
    rng = np.random.default_rng(9)
    n = 400
    data, continuous = mixed_table(n, seed=9)
    data[rng.random(n) < 0.1, 0] = np.nan
    data[rng.random(n) < 0.25, 1] = np.nan
    engine = mixer(data, continuous, seed=9)
    i, j = engine.draw_pairs(N_SYNTH, engine.layout())
    out, lam, _ = engine.mix(i, j)
    winner = np.where(lam >= 0.5, i, j)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(data[winner]))
    loser = np.where(lam >= 0.5, j, i)
    one_missing = np.isnan(data[loser, 0]) & ~np.isnan(data[winner, 0])
    np.testing.assert_array_equal(out[one_missing, 0], data[winner[one_missing], 0])

    for column in (0, 1):
        rate = np.isnan(data[:, column]).mean()
        tolerance = 5 * np.sqrt(rate * (1 - rate) / N_SYNTH)
        assert abs(np.isnan(out[:, column]).mean() - rate) < tolerance


def test_pairs_are_distinct_rows_and_no_row_is_copied():
    data = correlated(200, seed=10)
    engine = mixer(data, seed=10)
    i, j = engine.draw_pairs(50_000, engine.layout())
    assert np.all(i != j)
    synthetic = engine.sample(50_000)
    real = {row.tobytes() for row in data}
    assert not any(row.tobytes() in real for row in synthetic)
    assert not np.isin(synthetic, data).any()


def test_row_alone_in_its_group_is_paired_with_itself():
    data = correlated(5, seed=11)
    engine = mixer(data, groups=np.array([0, 0, 0, 0, 1]), seed=11)
    i, j = engine.draw_pairs(50, engine.layout())
    assert np.all((i == 4) == (j == 4))
    assert np.all(i[i != 4] != j[i != 4])


@pytest.mark.parametrize('groups', [None, np.repeat([0, 1, 2], [3, 10, 24])])
def test_balanced_rounds(groups):
    n = 37
    engine = mixer(correlated(n, seed=12), groups=groups, seed=12)
    i, j = engine.draw_pairs(10 * n + 5, engine.layout())
    for start in range(0, 10 * n, n):
        np.testing.assert_array_equal(np.sort(i[start : start + n]), np.arange(n))
        np.testing.assert_array_equal(np.sort(j[start : start + n]), np.arange(n))

    assert len(i) == len(j) == 10 * n + 5


def test_rows_restriction_only_uses_those_rows():
    n = 300
    data = np.column_stack([correlated(n, seed=13), np.arange(n)])
    engine = mixer(data, np.array([True, True, True, False]), seed=13)
    rows = np.arange(0, n, 7)
    i, j = engine.draw_pairs(10_000, engine.layout(rows))
    assert set(i) == set(j) == set(rows)
    synthetic = engine.sample(10_000, rows=rows)
    assert set(synthetic[:, 3].astype(int)) <= set(rows)
    with pytest.raises(ValueError, match='no rows'):
        engine.sample(10, rows=np.array([], dtype=int))


def peak_memory(engine, num_rows):
    tracemalloc.start()
    try:
        out = engine.sample(num_rows)
        return tracemalloc.get_traced_memory()[1] - out.nbytes, out
    finally:
        tracemalloc.stop()


def test_chunking_gives_valid_output_and_bounds_memory():
    data, lower, upper = bounded_table(200, seed=14)
    num_rows = 100_000
    small = mixer(data, lower=lower, upper=upper, chunk_size=1000, seed=14)
    whole = mixer(data, lower=lower, upper=upper, chunk_size=num_rows, seed=14)
    small_extra, out = peak_memory(small, num_rows)
    whole_extra, _ = peak_memory(whole, num_rows)
    assert out.shape == (num_rows, 3) and np.isfinite(out).all()
    assert np.all((out >= lower) & (out <= upper))
    assert small_extra < out.nbytes / 5 < whole_extra

    tiny = mixer(data, lower=lower, upper=upper, chunk_size=7, seed=14).sample(100)
    assert tiny.shape == (100, 3) and np.all((tiny >= lower) & (tiny <= upper))


def test_set_random_state_reproducible():
    data, continuous = mixed_table(100, seed=15)
    engine = mixer(data, continuous, seed=15)
    first = engine.sample(1000)
    engine.set_random_state(15)
    np.testing.assert_array_equal(engine.sample(1000), first)
    engine.set_random_state(16)
    assert not np.array_equal(engine.sample(1000), first)
    engine.set_random_state(np.random.default_rng(15))
    np.testing.assert_array_equal(engine.sample(1000), first)


def test_invalid_shapes_raise():
    data = correlated(10)
    with pytest.raises(ValueError, match='continuous'):
        Mixer(data, np.ones(2, bool), EpBeta.preserving())
    with pytest.raises(ValueError, match='groups'):
        Mixer(data, np.ones(3, bool), EpBeta.preserving(), groups=np.zeros(9))


def test_key_set_membership():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**64, 5_000, dtype=np.uint64)
    others = rng.integers(0, 2**64, 100_000, dtype=np.uint64)
    # Keys sharing their top bits with a member reach the exact search and are told apart.
    neighbours = keys[:500] ^ np.uint64(1)
    queries = np.concatenate([others, keys, neighbours, keys[:1]])
    expected = np.isin(queries, keys)
    np.testing.assert_array_equal(KeySet(keys).contains(queries), expected)
    assert expected[len(others) : len(others) + len(keys)].all()
    assert not KeySet(keys).contains(neighbours).any()
    assert not KeySet(np.array([], dtype=np.uint64)).contains(others).any()
