"""The ``privacy`` knob: ``NoiseBlend`` and the synthesizer against the closed forms of the theory.

``y = g(d) + c (x - g(d)) + s r_a`` with ``s = sqrt(1 - c**2)``, ``g`` the least-squares fit of
the continuous columns on the discrete one-hots (``G = Cov(g)``, ``R`` the residual covariance,
``S = G + R``, all 1/n) and ``r_a`` the residual of a uniform row ``a``:

- applied to the training rows themselves: mean, ``S`` and the covariance with every discrete
  one-hot are kept; a column's third central moment of the residual scales by
  ``c**3 + s**3 / sqrt(K)`` with ``K`` residuals per row (``c**3`` for a normal ``rho``);
- applied to mixed rows whose discrete values are the winner's: ``Cov(y) = S - 2 c (1 - c)
  (1 - m) G`` with ``m`` the factor the winner's discrete values carry (``E[lam | i wins]``
  net of the distinct-pair term), so exact without discrete columns;
- calibrated on rows whose deviations from ``g`` are ``a r + b``: ``factor = 1 / a``,
  ``shift = b`` and the covariance is ``S`` again; read back through the law of a pilot of
  blended scores, every column keeps its variance whatever that law.

Tolerances are five standard errors of the averages over the synthetic rows.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.spatial
import scipy.stats
from rdt.transformers import UniformEncoder
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.sampling import Condition

from sdv_gwm import GWMSynthesizer
from sdv_gwm.engine import Mixer, NoiseBlend, Quantiles
from sdv_gwm.weights import EpBeta

N_TRAIN = 1000
COEFFICIENT = 0.7


def training_table(n=N_TRAIN, seed=0):
    """x depends on the discrete code a; y is skewed; a has 4 levels."""
    rng = np.random.default_rng(seed)
    a = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1]).astype(float)
    x = 2.0 * a + rng.normal(0, 1, n)
    y = rng.gamma(2.0, 3.0, n) + 0.5 * x
    return np.column_stack([x, y]), a[:, None]


def covariance(values):
    centred = values - values.mean(axis=0)
    return centred.T @ centred / len(values)


def assert_covariance(sample, expected):
    """Sample covariance within five standard errors of ``expected``, entry by entry."""
    centred = sample - sample.mean(axis=0)
    for a in range(sample.shape[1]):
        for b in range(sample.shape[1]):
            products = centred[:, a] * centred[:, b]
            error = 5 * products.std() / np.sqrt(len(sample))
            assert abs(products.mean() - expected[a, b]) <= error, (a, b)


@pytest.mark.parametrize('count', [1, None])
def test_blend_of_the_training_rows_keeps_mean_covariance_and_discrete_relation(count):
    continuous, discrete = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, discrete, count=count)
    repeats = 200
    values, codes = np.tile(continuous, (repeats, 1)), np.tile(discrete, (repeats, 1))
    unbounded = np.full(2, np.inf)

    blended = blend.apply(values, codes, np.random.default_rng(0), -unbounded, unbounded)

    residual_sd = blend.residuals.std(axis=0)
    scale = np.sqrt(1 - COEFFICIENT**2)
    np.testing.assert_array_less(
        np.abs(blended.mean(axis=0) - continuous.mean(axis=0)),
        5 * scale * residual_sd / np.sqrt(len(blended)),
    )
    assert_covariance(blended, covariance(continuous))
    onehot = (codes[:, 0][:, None] == np.arange(4)).astype(float)
    assert_covariance(
        np.column_stack([blended, onehot]),
        covariance(np.column_stack([continuous, onehot[:N_TRAIN]])),
    )


@pytest.mark.parametrize('count', [1, 4, None])
def test_blend_scales_third_moments_by_c3_plus_s3_over_root_count(count):
    # A normal rho (count None, the limit of many residuals) has no third moment: c**3 alone.
    continuous, _ = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, np.zeros((N_TRAIN, 0)), count=count)
    values = np.tile(continuous, (200, 1))
    unbounded = np.full(2, np.inf)

    blended = blend.apply(
        values, np.zeros((len(values), 0)), np.random.default_rng(1), -unbounded, unbounded
    )

    centred = continuous - continuous.mean(axis=0)
    residual = 0 if count is None else (1 - COEFFICIENT**2) ** 1.5 / np.sqrt(count)
    factor = COEFFICIENT**3 + residual
    cubes = (blended - continuous.mean(axis=0)) ** 3
    expected = factor * (centred**3).mean(axis=0)
    np.testing.assert_array_less(
        np.abs(cubes.mean(axis=0) - expected), 5 * cubes.std(axis=0) / np.sqrt(len(cubes))
    )


@pytest.mark.parametrize(('count', 'low', 'high'), [(4, 0.62, 1.0), (None, 0.0, 0.56)])
def test_normal_rho_is_no_nearer_the_training_rows_than_fresh_rows(count, low, high):
    # At c = 0 a row is a sum of K residuals over sqrt(K): its squared distance to each of
    # them is about half that to an unrelated row, and in 30 columns one of them is often
    # the nearest. A normal rho has no such row: rows are nearer the training rows than
    # rows of the population about half the time (slightly more: R is fitted on them).
    rng = np.random.default_rng(0)
    columns, rows = 30, 1500
    law = 0.5 * np.eye(columns) + 0.5
    train, fresh = (rng.multivariate_normal(np.zeros(columns), law, rows) for _ in range(2))
    blend = NoiseBlend(0.0, train, np.zeros((rows, 0)), count=count)
    unbounded = np.full(columns, np.inf)

    blended = blend.apply(
        np.tile(train, (2, 1)), np.zeros((2 * rows, 0)), rng, -unbounded, unbounded
    )

    nearer = scipy.spatial.cKDTree(train).query(blended)[0]
    share = np.mean(nearer < scipy.spatial.cKDTree(fresh).query(blended)[0])
    assert low < share < high


@pytest.mark.parametrize('with_discrete', [False, True])
def test_mixed_and_blended_rows_meet_the_closed_form(with_discrete):
    continuous, discrete = training_table()
    data = np.column_stack([continuous, discrete]) if with_discrete else continuous
    mask = np.array([True, True, False][: data.shape[1]])
    law = EpBeta.preserving()
    discrete_part = data[:, ~mask]
    engine = Mixer(data, mask, law, blend=NoiseBlend(COEFFICIENT, continuous, discrete_part))
    engine.set_random_state(0)

    sample = engine.sample(200_000)[:, mask]

    fitted = engine.blend.means.fitted
    n = N_TRAIN
    # The winner's discrete values: E[lam | i wins] for the winner, minus the distinct-pair term.
    winner_weight = 2 * law.dist.expect(lambda lam: lam * (lam >= 0.5))
    m = winner_weight - (1 - winner_weight) / (n - 1)
    c = COEFFICIENT
    expected = covariance(continuous) - 2 * c * (1 - c) * (1 - m) * covariance(fitted)
    np.testing.assert_array_less(
        np.abs(sample.mean(axis=0) - continuous.mean(axis=0)),
        5 * sample.std(axis=0) / np.sqrt(len(sample)),
    )
    assert_covariance(sample, expected)


def test_donated_categories_keep_their_relation_to_the_blended_columns():
    # With donors the blended values are moved to the donated categories' mean:
    # y = g(d_new) + c e + s rho, and e averages out over the pool (winner, loser, donors), so a
    # one-discrete-column table keeps Cov(y, onehot) = Cov(x, onehot) (1/n, distinct pairs
    # aside), where donors alone would scale it by 1 / (d + 2).
    continuous, discrete = training_table()
    data = np.column_stack([continuous, discrete])
    mask = np.array([True, True, False])
    noise = NoiseBlend(COEFFICIENT, continuous, discrete)
    engine = Mixer(data, mask, EpBeta.preserving(), donors=2, blend=noise)
    engine.set_random_state(0)

    sample = engine.sample(200_000)

    onehot = lambda codes: (codes[:, None] == np.arange(4)).astype(float)  # noqa: E731
    expected = covariance(np.column_stack([continuous, onehot(discrete[:, 0])]))[:2, 2:]
    blended = np.column_stack([sample[:, :2], onehot(sample[:, 2])])
    centred = blended - blended.mean(axis=0)
    for a in range(2):
        for b in range(2, 6):
            products = centred[:, a] * centred[:, b]
            error = (
                5 * products.std() / np.sqrt(len(products)) + 2 * abs(expected[a, b - 2]) / N_TRAIN
            )
            assert abs(products.mean() - expected[a, b - 2]) <= error, (a, b)


def test_transported_blend_with_donors_keeps_covariance_and_class_means():
    # With transport g is the same fit as the blend's, x~ - g(d_w) has covariance R and mean
    # zero given any one pool member's category, so y = g(d') + c (x~ - g(d_w)) + s rho has
    # covariance G + c**2 R + s**2 R = S and the class means of the donated categories, for
    # one discrete column (with several, only the cross terms of G shrink, see the theory).
    continuous, discrete = training_table()
    data = np.column_stack([continuous, discrete])
    mask = np.array([True, True, False])
    noise = NoiseBlend(COEFFICIENT, continuous, discrete, count=3)
    engine = Mixer(data, mask, EpBeta.preserving(), donors=1, transport=True, blend=noise)
    engine.set_random_state(0)

    sample = engine.sample(200_000)

    np.testing.assert_array_less(
        np.abs(sample[:, :2].mean(axis=0) - continuous.mean(axis=0)),
        5 * sample[:, :2].std(axis=0) / np.sqrt(len(sample)),
    )
    assert_covariance(sample[:, :2], covariance(continuous))
    for level in range(4):
        rows = sample[sample[:, 2] == level, :2]
        expected = continuous[discrete[:, 0] == level].mean(axis=0)
        error = 5 * rows.std(axis=0) / np.sqrt(len(rows))
        np.testing.assert_array_less(np.abs(rows.mean(axis=0) - expected), error)


def test_calibrating_on_the_training_rows_changes_nothing():
    # Their deviations from g are the residuals: mean 0 (the normal equations) and the
    # residuals' variance, so the standardization is the identity.
    continuous, discrete = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, discrete)

    blend.calibrate(continuous, discrete, np.random.default_rng(0))

    np.testing.assert_allclose(blend.shift, 0.0, atol=1e-12)
    np.testing.assert_allclose(blend.factor, 1.0, rtol=1e-12)
    assert blend.pilot is None  # values are blended as they are: no law to correct


def test_calibrated_blend_of_rows_with_wider_deviations_keeps_the_covariance():
    # Rows g(d) + a r + b (a row's deviation scaled and shifted, as the scores of mixed rows
    # can be): the standardization is factor 1 / a and shift b, so y = g(d) + c r + s rho
    # again, with covariance G + c**2 R + s**2 R = S (uncalibrated: G + (c a)**2 R + s**2 R).
    continuous, discrete = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, discrete)
    fitted = blend.scores.predict(discrete, np.isnan(continuous))
    wide = fitted + 1.5 * (continuous - fitted) + np.array([0.3, -0.2])

    blend.calibrate(wide, discrete, np.random.default_rng(0))
    repeats = 200
    values, codes = np.tile(wide, (repeats, 1)), np.tile(discrete, (repeats, 1))
    unbounded = np.full(2, np.inf)
    blended = blend.apply(values, codes, np.random.default_rng(1), -unbounded, unbounded)

    np.testing.assert_allclose(blend.factor, 1 / 1.5, rtol=1e-9)
    np.testing.assert_allclose(blend.shift, [0.3, -0.2], rtol=1e-9)
    residual_sd = blend.residuals.std(axis=0)
    np.testing.assert_array_less(
        np.abs(blended.mean(axis=0) - continuous.mean(axis=0)),
        5 * residual_sd / np.sqrt(len(blended)),
    )
    assert_covariance(blended, covariance(continuous))


def test_calibrated_read_back_keeps_each_columns_variance():
    # Two classes far apart, skewed within: the blended scores g(d) + rho have mean 0 and
    # variance 1 but not the normal law, and read back through Q as they are the values are
    # about 6 % wider than the column. Read back through the law of a pilot of blended scores
    # first, they have the column's variance, up to the noise of the sample and of the pilot
    # (as many blended rows): five standard errors of each.
    rng = np.random.default_rng(0)
    level = (rng.random(N_TRAIN) < 0.5).astype(float)
    x = np.where(level == 1, rng.gamma(2, 1, N_TRAIN), 8 + rng.gamma(2, 1, N_TRAIN))
    continuous, discrete = np.column_stack([x, x + rng.normal(size=N_TRAIN)]), level[:, None]
    blend = NoiseBlend(0.0, continuous, discrete, count=4, bandwidth=1.0)
    repeats = 100
    values, codes = np.tile(continuous, (repeats, 1)), np.tile(discrete, (repeats, 1))
    unbounded = np.full(2, np.inf)

    plain = blend.apply(values, codes, np.random.default_rng(1), -unbounded, unbounded)
    blend.calibrate(values[:20_000], codes[:20_000], np.random.default_rng(2))
    calibrated = blend.apply(values, codes, np.random.default_rng(1), -unbounded, unbounded)

    variance = continuous.var(axis=0)
    squares = (calibrated - calibrated.mean(axis=0)) ** 2
    error = 5 * np.sqrt(2) * squares.std(axis=0) / np.sqrt(len(squares)) / variance
    np.testing.assert_array_less(np.abs(calibrated.var(axis=0) / variance - 1), error)
    assert (np.abs(plain.var(axis=0) / variance - 1) > error).all()  # the law it corrects


def test_normal_scores_of_the_training_values_are_standard_normal():
    # The randomized probability integral transform: uniform over a run of equal values, so
    # even a column with ties gets exactly standard normal scores.
    continuous, _ = training_table()
    continuous[:, 1] = np.round(continuous[:, 1])  # ties
    quantiles = Quantiles(continuous)
    values = np.tile(continuous, (100, 1))

    scores = quantiles.scores(values, np.random.default_rng(0))

    for column in range(2):
        assert scipy.stats.kstest(scores[:, column], 'norm').pvalue > 1e-4


def test_standard_normal_scores_read_back_with_the_mean_variance_and_range():
    continuous, _ = training_table()
    quantiles = Quantiles(continuous)
    scores = np.random.default_rng(0).standard_normal((200_000, 2))

    values = quantiles.values(scores)

    centred = values - continuous.mean(axis=0)
    np.testing.assert_array_less(
        np.abs(centred.mean(axis=0)), 5 * values.std(axis=0) / np.sqrt(len(values))
    )
    squares = centred**2
    np.testing.assert_array_less(
        np.abs(squares.mean(axis=0) - continuous.var(axis=0)),
        5 * squares.std(axis=0) / np.sqrt(len(values)),
    )
    assert (values >= continuous.min(axis=0)).all()
    assert (values <= continuous.max(axis=0)).all()
    for column in range(2):  # the shape: smoothing moves the law by little
        assert scipy.stats.ks_2samp(values[:, column], continuous[:, column]).statistic < 0.03


def test_rounded_read_back_keeps_the_variance():
    # Rounding to a step h adds about h**2 / 12 to the variance of a law smooth at the step's
    # scale (Sheppard): the curves keep that much less, so the rounded values have the
    # column's variance, where without it they have h**2 / 12 (8 % here) more.
    continuous, _ = training_table()
    step = continuous.std(axis=0)
    scores = np.random.default_rng(0).standard_normal((200_000, 2))
    rounded = {
        noise: np.round(Quantiles(continuous, rounding=noise * step**2).values(scores) / step)
        * step
        for noise in (0.0, 1 / 12)
    }

    variance = continuous.var(axis=0)
    values = rounded[1 / 12]
    squares = (values - values.mean(axis=0)) ** 2
    error = 5 * squares.std(axis=0) / np.sqrt(len(values)) / variance
    np.testing.assert_array_less(np.abs(values.var(axis=0) / variance - 1), error)
    assert (np.abs(rounded[0.0].var(axis=0) / variance - 1) > error).all()


@pytest.mark.parametrize('coefficient', [0.0, COEFFICIENT])
def test_quantile_blend_keeps_each_column_in_range_with_its_law(coefficient):
    # The blended scores of the training rows are standard normal up to the residual pool's
    # own sampling error (1/sqrt(n)), so each column comes back with its mean, variance and
    # shape, and never leaves its training range: nothing is clipped.
    continuous, _ = training_table()
    blend = NoiseBlend(coefficient, continuous, np.zeros((N_TRAIN, 0)), count=4, bandwidth=1.0)
    values = np.tile(continuous, (200, 1))
    unbounded = np.full(2, np.inf)

    blended = blend.apply(
        values, np.zeros((len(values), 0)), np.random.default_rng(0), -unbounded, unbounded
    )

    spread = continuous.std(axis=0)
    np.testing.assert_array_less(
        np.abs(blended.mean(axis=0) - continuous.mean(axis=0)), 5 * spread / np.sqrt(N_TRAIN)
    )
    ratio = blended.var(axis=0) / continuous.var(axis=0)
    np.testing.assert_array_less(np.abs(ratio - 1), 5 * np.sqrt(2 / N_TRAIN))
    assert (blended >= continuous.min(axis=0)).all()
    assert (blended <= continuous.max(axis=0)).all()
    for column in range(2):
        assert scipy.stats.ks_2samp(blended[:, column], continuous[:, column]).statistic < 0.03


def placements_like(n=400, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.choice(['a', 'b', 'c'], n)
    x = rng.normal(0, 1, n) + (group == 'a')
    return pd.DataFrame({'x': x, 'y': 0.5 * x + rng.normal(0, 1, n), 'group': group})


@pytest.mark.parametrize('privacy', ['balanced', 'strict', 0.3])
def test_knob_moves_rows_off_their_parents_and_keeps_moments(privacy):
    real = placements_like()
    metadata = Metadata.detect_from_dataframes({'table': real})
    synthesizer = GWMSynthesizer(metadata, privacy=privacy, enforce_min_max_values=False)
    synthesizer.fit(real)

    synthetic = synthesizer.sample(20_000)

    assert not synthetic[['x', 'y']].round(6).isin(real[['x', 'y']].round(6)).all(axis=1).any()
    for column in ('x', 'y'):
        error = 5 * real[column].std() / np.sqrt(len(real))  # the training mean's own noise
        assert abs(synthetic[column].mean() - real[column].mean()) <= error
        ratio = synthetic[column].var() / real[column].var()
        assert abs(ratio - 1) <= 0.1


@pytest.mark.parametrize('privacy', ['loud', -0.1, 1.0, True, None])
def test_invalid_privacy_raises(privacy):
    metadata = Metadata.detect_from_dataframes({'table': placements_like()})
    with pytest.raises(SynthesizerInputError, match="parameter 'privacy'"):
        GWMSynthesizer(metadata, privacy=privacy)


def test_privacy_survives_the_gwm_format(tmp_path):
    real = placements_like()
    metadata = Metadata.detect_from_dataframes({'table': real})
    synthesizer = GWMSynthesizer(metadata, privacy='balanced').fit(real)
    path = tmp_path / 'model.gwm'
    synthesizer.save(path, format='gwm')

    loaded = GWMSynthesizer.load(path)

    assert loaded.get_parameters()['privacy'] == 'balanced'
    synthesizer.reset_sampling()
    pd.testing.assert_frame_equal(loaded.sample(50), synthesizer.sample(50))


@pytest.mark.parametrize('privacy', ['none', 'balanced'])
def test_condition_matching_one_row_never_returns_it(privacy):
    real = placements_like()
    real.loc[0, 'group'] = 'only'
    metadata = Metadata.detect_from_dataframes({'table': real})
    synthesizer = GWMSynthesizer(metadata, privacy=privacy).fit(real)

    rows = synthesizer.sample_from_conditions([Condition({'group': 'only'}, num_rows=20)])

    assert len(rows) == 20
    assert (
        not (rows[['x', 'y']].to_numpy() == real.loc[0, ['x', 'y']].to_numpy(float))
        .all(axis=1)
        .any()
    )


def test_copy_check_sees_categories_coded_with_noise():
    # RDT's UniformEncoder (SDV's choice for ordinal columns) gives each row a random code
    # inside its category's interval; a row whose category comes from a donor then differs
    # from a training row in the code, not in the category, and must still count as a copy.
    real = placements_like()
    metadata = Metadata.detect_from_dataframes({'table': real})
    synthesizer = GWMSynthesizer(metadata, discrete_donors=2)
    synthesizer.auto_assign_transformers({'table': real})
    synthesizer.update_transformers({'group': UniformEncoder()})
    synthesizer.fit(real)
    column = synthesizer._columns.get_loc('group')
    ends = synthesizer._cuts[column]
    rows = synthesizer._model.data.copy()
    category = np.searchsorted(ends, rows[:, column], side='left')
    moved = rows.copy()
    moved[:, column] = (np.r_[0.0, ends[:-1]][category] + ends[category]) / 2

    assert len(set(rows[:, column])) > 3  # the codes are noisy
    np.testing.assert_array_equal(synthesizer._row_keys(moved), synthesizer._row_keys(rows.copy()))


@pytest.mark.parametrize(
    ('privacy', 'discrete_columns', 'given', 'expected'),
    [
        ('strict', 1, None, 3),  # at least 3
        ('strict', 5, None, 5),  # one per discrete column
        ('strict', 10, None, 8),  # at most the level's
        ('balanced', 5, None, 2),
        ('strict', 5, 0, 0),  # given: kept
    ],
)
def test_levels_use_one_donor_per_discrete_column_within_bounds(
    privacy, discrete_columns, given, expected
):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({'x': rng.normal(size=200), 'y': rng.normal(size=200)})
    for column in range(discrete_columns):
        real[f'c{column}'] = rng.choice(['a', 'b', 'c'], 200)
    metadata = Metadata.detect_from_dataframes({'table': real})

    synthesizer = GWMSynthesizer(metadata, privacy=privacy, discrete_donors=given).fit(real)

    assert synthesizer._model.donors == expected
