"""``discrete_donors``: the privacy control against the closed forms of the theory.

With ``d`` donors each discrete column is copied from a slot drawn uniformly, independently per
column, from the two parents and ``d`` donor rows. The parents ``i != j`` are uniform; a donor
is uniform among the candidate rows, independently of the parents; the slot is independent of
the weight. With ``S`` the 1/n covariance of the training rows and ``s = 1 / (d + 2)``:

- a discrete marginal is exact: every slot holds a uniform row;
- two discrete columns share their slot with probability ``s`` (joint ``P(a, b)``); from the
  two distinct parents, probability ``2 s**2``, they are ``(n P(a) P(b) - P(a, b)) / (n - 1)``;
  otherwise ``P(a) P(b)``;
- a discrete-continuous covariance is ``s (1 - 1 / (n - 1)) S`` whatever the weight law:
  the slot is a parent with probability ``2 s``, and ``E[lam] + E[1 - lam] = 1``;
- the mixed columns do not depend on the donors at all.

Tolerances are five standard errors of the averages over the synthetic rows.
"""

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError
from sdv.metadata import Metadata
from sdv.sampling import Condition

from sdv_gwm import GWMSynthesizer
from sdv_gwm.engine import Mixer
from sdv_gwm.weights import Beta, EpBeta, Uniform

N_TRAIN = 1000
N_SYNTH = 200_000
LAWS = [EpBeta.preserving(), Beta(0.4), Uniform()]


def engine_table(n=N_TRAIN, seed=0):
    """Columns x, y (mixed) and a, b (discrete codes); b copies a 70% of the time."""
    rng = np.random.default_rng(seed)
    a = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 4, n))
    x = 2.0 * a + rng.normal(0, 1, n)
    y = rng.gamma(2.0, 3.0, n)
    return np.column_stack([x, y, a, b]).astype(float)


CONTINUOUS = np.array([True, True, False, False])


def mixer(data, donors, weights=None, seed=0):
    law = EpBeta.preserving() if weights is None else weights
    engine = Mixer(data, CONTINUOUS, law, donors=donors)
    engine.set_random_state(seed)
    return engine


def frequencies(codes, levels=4):
    return np.bincount(codes.astype(int), minlength=levels) / len(codes)


def joint(a, b, levels=4):
    return np.histogram2d(a, b, bins=levels, range=[[0, levels], [0, levels]])[0] / len(a)


def binomial_tolerance(p, size):
    return 5 * np.sqrt(p * (1 - p) / size) + 1e-12


@pytest.mark.parametrize('donors', [0, 1, 3])
def test_discrete_marginals_exact_and_joint_shrinks_towards_independence(donors):
    data = engine_table()
    synthetic = mixer(data, donors).sample(N_SYNTH)

    for column in (2, 3):
        real = frequencies(data[:, column])
        observed = frequencies(synthetic[:, column])
        assert np.all(np.abs(observed - real) <= binomial_tolerance(real, N_SYNTH))

    n, s = N_TRAIN, 1 / (donors + 2)
    together = joint(data[:, 2], data[:, 3])
    independent = np.outer(frequencies(data[:, 2]), frequencies(data[:, 3]))
    parents = (n * independent - together) / (n - 1)
    expected = s * together + 2 * s**2 * parents + (1 - s - 2 * s**2) * independent
    observed = joint(synthetic[:, 2], synthetic[:, 3])
    tolerance = binomial_tolerance(expected, N_SYNTH)
    assert np.all(np.abs(observed - expected) <= tolerance)
    # The joint is resolved: neither the real one nor the independent one.
    assert np.any(np.abs(observed - together) > tolerance)
    assert np.any(np.abs(observed - independent) > tolerance)


@pytest.mark.parametrize('law', LAWS, ids=repr)
@pytest.mark.parametrize('donors', [0, 1, 2])
def test_discrete_continuous_covariance_scales_by_one_over_d_plus_two(donors, law):
    data = engine_table(seed=1)
    synthetic = mixer(data, donors, law, seed=1).sample(N_SYNTH)

    n = N_TRAIN
    centred_real = data - data.mean(axis=0)
    covariance = np.mean(centred_real[:, 0] * centred_real[:, 2])  # x with a
    expected = covariance * (1 - 1 / (n - 1)) / (donors + 2)
    centred = synthetic - data.mean(axis=0)  # the means are kept exactly
    products = centred[:, 0] * centred[:, 2]
    tolerance = 5 * products.std() / np.sqrt(N_SYNTH)
    assert abs(products.mean() - expected) <= tolerance
    # One donor more moves the covariance by far more than the noise.
    assert abs(expected - covariance * (1 - 1 / (n - 1)) / (donors + 3)) > 2 * tolerance


def test_mixed_columns_do_not_depend_on_the_donors():
    data = engine_table(seed=2)
    rng = np.random.default_rng(2)
    parent_i = rng.integers(0, N_TRAIN, 5000)
    parent_j = (parent_i + rng.integers(1, N_TRAIN, 5000)) % N_TRAIN
    first_wins = rng.random(5000) < 0.5
    donors = rng.integers(0, N_TRAIN, (5000, 3))
    # Discrete columns holding the row index show which slot each value came from.
    data[:, 2] = data[:, 3] = np.arange(N_TRAIN)

    without, lam, _ = mixer(data, None, seed=3).mix(parent_i, parent_j, None, first_wins)
    out, lam_donors, wins = mixer(data, 3, seed=3).mix(parent_i, parent_j, donors, first_wins)

    np.testing.assert_array_equal(lam_donors, lam)
    np.testing.assert_array_equal(wins, first_wins)
    np.testing.assert_array_equal(out[:, CONTINUOUS], without[:, CONTINUOUS])
    pool = np.column_stack([parent_i, parent_j, donors])
    for column in (2, 3):
        slot = (pool == out[:, [column]]).argmax(axis=1)
        assert np.all(pool[np.arange(5000), slot] == out[:, column])
        # The slot is uniform among the 5 (a parent may also be drawn as a donor).
        share = np.mean(out[:, column] == parent_i)
        assert abs(share - 1 / 5) <= binomial_tolerance(1 / 5, 5000) + 3 / N_TRAIN


@pytest.mark.parametrize('donors', [0, 2])
def test_continuous_moments_unchanged_by_donors(donors):
    data = engine_table(seed=4)
    synthetic = mixer(data, donors, seed=4).sample(N_SYNTH)

    centred = synthetic[:, :2] - data[:, :2].mean(axis=0)
    assert np.all(np.abs(centred.mean(axis=0)) <= 5 * centred.std(axis=0) / np.sqrt(N_SYNTH))
    squares = centred**2
    ratio = squares.mean(axis=0) / data[:, :2].var(axis=0)
    tolerance = 5 * squares.std(axis=0) / np.sqrt(N_SYNTH) / data[:, :2].var(axis=0)
    assert np.all(np.abs(ratio - 1) <= tolerance), ratio


def grouped_table(n=2000, seed=0):
    """Group A has colors red/green, group B only blue; x's mean depends on the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(['A', 'B'], n, p=[0.6, 0.4])
    color = np.where(group == 'A', rng.choice(['red', 'green'], n, p=[0.7, 0.3]), 'blue')
    shape = np.where(color == 'red', 'round', rng.choice(['round', 'square'], n))
    x = np.where(group == 'A', 10.0, 0.0) + rng.normal(0, 1, n)
    return pd.DataFrame(
        {'group': group, 'color': color, 'shape': shape, 'x': x, 'y': x + rng.normal(0, 1, n)}
    )


@pytest.fixture(scope='module')
def grouped():
    data = grouped_table()
    return data, Metadata.detect_from_dataframes({'table': data})


def conditional_frequencies(frame, given, column):
    return frame.groupby(given)[column].value_counts(normalize=True)


def test_mix_within_draws_donors_from_the_first_parents_group(grouped):
    real, metadata = grouped
    synthesizer = GWMSynthesizer(metadata, mix_within=['group'], discrete_donors=2).fit(real)
    synthetic = synthesizer.sample(20_000)

    pairs = synthetic[['group', 'color']].drop_duplicates().merge(real, how='left')
    assert pairs['x'].notna().all()  # every synthetic (group, color) pair occurs in real
    # Within a group, every slot is a uniform row of the group: its marginals are exact.
    expected = conditional_frequencies(real, 'group', 'color')
    observed = conditional_frequencies(synthetic, 'group', 'color').reindex(expected.index)
    sizes = synthetic['group'].value_counts().reindex(expected.index.get_level_values(0))
    assert np.all(np.abs(observed - expected) <= binomial_tolerance(expected, sizes.to_numpy()))
    real_x, synthetic_x = real.groupby('group')['x'], synthetic.groupby('group')['x']
    tolerance = 5 * synthetic_x.std() / np.sqrt(synthetic_x.size())
    assert np.all(np.abs(synthetic_x.mean() - real_x.mean()) <= tolerance)


def test_conditions_are_met_and_donors_come_from_the_matching_rows(grouped):
    real, metadata = grouped
    synthesizer = GWMSynthesizer(metadata, discrete_donors=2).fit(real)

    synthetic = synthesizer.sample_from_conditions([Condition({'color': 'red'}, num_rows=4000)])

    assert len(synthetic) == 4000
    assert (synthetic['color'] == 'red').all()
    # A donor drawn from all rows would bring group B and square shapes into the red rows.
    assert (synthetic['group'] == 'A').all()
    assert (synthetic['shape'] == 'round').all()

    both = Condition({'group': 'A', 'color': 'green'}, num_rows=3000)
    synthetic = synthesizer.sample_from_conditions([both])
    assert ((synthetic['group'] == 'A') & (synthetic['color'] == 'green')).all()
    green = real[real['color'] == 'green']
    expected = (green['shape'] == 'square').mean()
    observed = (synthetic['shape'] == 'square').mean()
    assert abs(observed - expected) <= binomial_tolerance(expected, len(synthetic))


@pytest.mark.parametrize('value', [-1, 1.5, True, '2', 2.0, 101, 10**9])
def test_invalid_discrete_donors_raise(grouped, value):
    _, metadata = grouped
    with pytest.raises(SynthesizerInputError, match=r"parameter 'discrete_donors': "):
        GWMSynthesizer(metadata, discrete_donors=value)


def test_discrete_donors_survive_the_gwm_format(grouped, tmp_path):
    real, metadata = grouped
    synthesizer = GWMSynthesizer(metadata, discrete_donors=np.int64(3)).fit(real)
    path = tmp_path / 'model.gwm'
    with pytest.warns(UserWarning, match='training rows'):
        synthesizer.save(path, format='gwm')

    loaded = GWMSynthesizer.load(path, allow_pickle=False)

    assert type(loaded.get_parameters()['discrete_donors']) is int  # numpy ints are stored
    assert loaded.get_parameters()['discrete_donors'] == 3
    assert loaded._model.donors == 3
    synthesizer.reset_sampling()
    loaded.reset_sampling()
    pd.testing.assert_frame_equal(loaded.sample(500), synthesizer.sample(500))
