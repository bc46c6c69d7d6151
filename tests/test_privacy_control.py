"""The ``privacy`` knob: ``NoiseBlend`` and the synthesizer against the closed forms of the theory.

``y = g(d) + c (x - g(d)) + s r_a`` with ``s = sqrt(1 - c**2)``, ``g`` the least-squares fit of
the continuous columns on the discrete one-hots (``G = Cov(g)``, ``R`` the residual covariance,
``S = G + R``, all 1/n) and ``r_a`` the residual of a uniform row ``a``:

- applied to the training rows themselves: mean, ``S`` and the covariance with every discrete
  one-hot are kept; a column's third central moment of the residual scales by ``c**3 + s**3``;
- applied to mixed rows whose discrete values are the winner's: ``Cov(y) = S - 2 c (1 - c)
  (1 - m) G`` with ``m`` the factor the winner's discrete values carry (``E[lam | i wins]``
  net of the distinct-pair term), so exact without discrete columns.

Tolerances are five standard errors of the averages over the synthetic rows.
"""

import numpy as np
import pandas as pd
import pytest
from rdt.transformers import UniformEncoder
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.sampling import Condition

from sdv_gwm import GWMSynthesizer
from sdv_gwm.engine import Mixer, NoiseBlend
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


def test_blend_of_the_training_rows_keeps_mean_covariance_and_discrete_relation():
    continuous, discrete = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, discrete)
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


def test_blend_scales_third_moments_by_c3_plus_s3():
    continuous, _ = training_table()
    blend = NoiseBlend(COEFFICIENT, continuous, np.zeros((N_TRAIN, 0)))
    values = np.tile(continuous, (200, 1))
    unbounded = np.full(2, np.inf)

    blended = blend.apply(
        values, np.zeros((len(values), 0)), np.random.default_rng(1), -unbounded, unbounded
    )

    centred = continuous - continuous.mean(axis=0)
    factor = COEFFICIENT**3 + (1 - COEFFICIENT**2) ** 1.5
    cubes = (blended - continuous.mean(axis=0)) ** 3
    expected = factor * (centred**3).mean(axis=0)
    np.testing.assert_array_less(
        np.abs(cubes.mean(axis=0) - expected), 5 * cubes.std(axis=0) / np.sqrt(len(cubes))
    )


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


def test_blended_rows_with_donors_stay_in_range():
    # The row is centred on the donated categories' mean before it is clipped: no value leaves
    # the training range (the decoder would clip it, and take variance generation after
    # generation).
    continuous, discrete = training_table()
    data = np.column_stack([continuous, discrete])
    mask = np.array([True, True, False])
    lower = np.r_[continuous.min(axis=0), -np.inf]
    upper = np.r_[continuous.max(axis=0), np.inf]
    noise = NoiseBlend(0.3, continuous, discrete, count=3)
    noise.inflation = np.full(2, 1.5)
    engine = Mixer(data, mask, EpBeta.preserving(), lower, upper, donors=2, blend=noise)
    engine.set_random_state(0)

    sample = engine.sample(50_000)[:, :2]

    assert (sample >= lower[:2]).all()
    assert (sample <= upper[:2]).all()
    # Clipped values exist, so the check is not vacuous.
    assert ((sample == lower[:2]) | (sample == upper[:2])).any(axis=0).all()


def test_calibration_restores_class_means_and_variance_under_clipping():
    # Class 0 hugs the lower bound of x: clipping its blended values raises its mean and takes
    # variance. Three rounds of calibration on pilot samples bring the class means and the
    # variance back to the training ones, within the noise of the pilot and of the sample.
    rng = np.random.default_rng(0)
    n, pilot_rows, num_rows = 2000, 20_000, 100_000
    a = rng.choice(2, n, p=[0.7, 0.3]).astype(float)
    x = rng.gamma(1.0 + 3.0 * a, 1.0)
    continuous = np.column_stack([x, 0.5 * x + rng.normal(0, 1, n)])
    data = np.column_stack([continuous, a])
    mask = np.array([True, True, False])
    lower, upper = np.r_[x.min(), -np.inf, -np.inf], np.full(3, np.inf)
    blend = NoiseBlend(0.3, continuous, a[:, None], count=3)
    engine = Mixer(data, mask, EpBeta.preserving(), lower, upper, transport=True, blend=blend)
    engine.set_random_state(0)
    target = continuous.var(axis=0)

    def gaps(sample, pilot):
        """Class means of x minus the training ones, and their tolerance."""
        result = []
        for level in (0, 1):
            rows = sample[sample[:, 2] == level, 0]
            spread = rows.std() * np.sqrt(1 / len(rows) + 1 / (pilot * np.mean(a == level)))
            result.append((rows.mean() - x[a == level].mean(), 5 * spread))
        return result

    before = engine.sample(num_rows)
    gap, tolerance = gaps(before, np.inf)[0]
    assert gap > tolerance  # clipping moved class 0
    for _ in range(3):
        pilot = engine.sample(pilot_rows)
        bounded = engine.bounded[mask]
        blend.calibrate(pilot[:, :2], pilot[:, 2:], engine.inherited(pilot), target, bounded)

    after = engine.sample(num_rows)

    for gap, tolerance in gaps(after, pilot_rows):
        assert abs(gap) <= tolerance
    for sample, calibrated in ((before, False), (after, True)):
        squares = (sample[:, 0] - sample[:, 0].mean()) ** 2
        spread = 5 * squares.std() * np.sqrt(1 / num_rows + 1 / pilot_rows)
        assert (abs(squares.mean() - target[0]) <= spread) == calibrated


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
