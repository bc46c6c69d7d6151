import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from sdv_gwm import Beta, GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import METRICS, plot_study, repeated_synthesis, summarize

ROWS = 1200
GENERATIONS = 2
CHAINS = 2

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


@pytest.fixture(scope='module')
def default_data():
    return load_dataset('ISLR/Default')


@pytest.fixture(scope='module')
def results(default_data):
    data, metadata = default_data
    return repeated_synthesis(
        data,
        metadata,
        generations=GENERATIONS,
        chains=CHAINS,
        num_rows=ROWS,
        random_state=0,
        verbose=False,
    )


def test_one_row_per_synthesizer_chain_and_generation(results):
    assert list(results.columns[:3]) == ['synthesizer', 'chain', 'generation']
    assert set(METRICS) <= set(results.columns)
    expected = pd.MultiIndex.from_product(
        [['GWM', 'mixup-beta0.4', 'GaussianCopula'], range(CHAINS), range(GENERATIONS + 1)]
    )
    found = pd.MultiIndex.from_frame(results[['synthesizer', 'chain', 'generation']])
    assert found.equals(expected)
    # The default target is the first categorical column, a classification.
    assert set(results['target']) == {'default'}
    assert set(results['ml_metric']) == {'f1_macro'}


def test_generation_zero_is_the_real_table(results):
    real = results[results['generation'] == 0]
    assert np.allclose(real['median_variance_ratio'], 1.0)
    assert np.allclose(real['covariance_relative_error'], 0.0)
    assert real['ml_efficacy'].nunique() == 1
    assert 0.5 < real['ml_efficacy'].iloc[0] <= 1.0


class _Shrink:
    """A stand-in synthesizer with a known output: the training table, its numerical columns
    shrunk by FACTOR around their means."""

    FACTOR = 0.5

    def __init__(self, metadata):
        (self.table_name,) = metadata.tables
        columns = metadata.tables[self.table_name].columns
        self.numerical = [name for name, meta in columns.items() if meta['sdtype'] == 'numerical']

    def fit(self, data):
        self.data = data[self.table_name]

    def set_random_state(self, seed):
        pass

    _set_random_state = set_random_state

    def sample(self, num_rows):
        assert num_rows == len(self.data)
        data = self.data.copy()
        means = data[self.numerical].mean()
        data[self.numerical] = means + self.FACTOR * (data[self.numerical] - means)
        return {self.table_name: data}


class _Copy(_Shrink):
    """The training table itself."""

    def sample(self, num_rows):
        return {self.table_name: self.data.copy()}


def test_metrics_of_known_generations(default_data):
    data, metadata = default_data
    results = repeated_synthesis(
        data,
        metadata,
        {'shrink': _Shrink, 'copy': _Copy},
        generations=2,
        chains=1,
        num_rows=400,
        random_state=0,
        verbose=False,
    ).set_index(['synthesizer', 'generation'])
    # Shrinking by c multiplies every variance by c**2 and the covariance matrix too, so its
    # relative error is 1 - c**2; two generations compound it.
    for generation, factor in ((1, 0.25), (2, 0.0625)):
        row = results.loc[('shrink', generation)]
        assert row['median_variance_ratio'] == pytest.approx(factor)
        assert row['min_variance_ratio'] == pytest.approx(factor)
        assert row['covariance_relative_error'] == pytest.approx(1 - factor)

    # A copy of the training table scores as the real table does on every metric, and the
    # shrunk tables score lower quality than it.
    real, copy = results.loc[('copy', 0)], results.loc[('copy', 2)]
    for metric in METRICS:
        assert copy[metric] == pytest.approx(real[metric]), metric
    assert real['quality_score'] == pytest.approx(1)
    assert (
        results.loc[('shrink', 2), 'quality_score'] < results.loc[('shrink', 1), 'quality_score']
    )
    assert results.loc[('shrink', 1), 'quality_score'] < 1


def _relative_tolerance(generation):
    # A sample variance of n rows has relative sd sqrt((kurtosis + 2) / n); mixed data has an
    # excess kurtosis below 1 here, and the generations' errors add up along a chain.
    return 4 * np.sqrt(3 * generation / (ROWS * CHAINS))


@pytest.mark.parametrize('generation', range(1, GENERATIONS + 1))
def test_classic_mixup_variance_decays_as_the_theory_says(results, generation):
    factor = Beta(0.4).covariance_factor
    assert factor == pytest.approx(0.78, abs=0.005)
    rows = results[(results['synthesizer'] == 'mixup-beta0.4')]
    ratio = rows.loc[rows['generation'] == generation, 'median_variance_ratio'].mean()
    assert ratio / factor**generation == pytest.approx(1, abs=_relative_tolerance(generation))


@pytest.mark.parametrize('generation', range(1, GENERATIONS + 1))
def test_gwm_keeps_the_variance(results, generation):
    rows = results[(results['synthesizer'] == 'GWM')]
    ratio = rows.loc[rows['generation'] == generation, 'median_variance_ratio'].mean()
    assert ratio == pytest.approx(1, abs=_relative_tolerance(generation))


def test_chains_are_independent(results):
    rows = results[(results['synthesizer'] == 'GWM') & (results['generation'] == 1)]
    assert rows['median_variance_ratio'].nunique() == CHAINS


def test_same_seed_same_results(default_data):
    data, metadata = default_data
    runs = [
        repeated_synthesis(
            data,
            metadata,
            {'GWM': GWMSynthesizer},
            generations=1,
            chains=1,
            num_rows=300,
            random_state=7,
            verbose=False,
        )
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(*runs)


def test_split_per_chain(default_data):
    """Every chain has its own real rows, shared by the synthesizers (one split by default:
    ``test_generation_zero_is_the_real_table``)."""
    data, metadata = default_data
    results = repeated_synthesis(
        data,
        metadata,
        {'GWM': GWMSynthesizer, 'again': GWMSynthesizer},
        generations=1,
        chains=2,
        num_rows=300,
        random_state=0,
        verbose=False,
        quality=False,
        split_per_chain=True,
    )
    real = results[results['generation'] == 0]
    baselines = real.pivot(index='chain', columns='synthesizer', values='ml_efficacy')
    assert (baselines['GWM'] == baselines['again']).all()
    assert baselines['GWM'].nunique() == 2


def test_numerical_target_is_scored_with_r2():
    data, metadata = load_dataset('AER/CPS1985')
    results = repeated_synthesis(
        data,
        metadata,
        {'GWM': GWMSynthesizer},
        generations=1,
        chains=1,
        target='wage',
        random_state=0,
        verbose=False,
    )
    assert set(results['ml_metric']) == {'r2'}
    # R^2 <= 1 always; a model trained on the real or the GWM rows must also beat the
    # holdout's own mean (R^2 > 0), which a misaligned target or feature table would not.
    assert (results['ml_efficacy'] > 0).all()


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'generations': 0}, 'positive'),
        ({'chains': 0}, 'positive'),
        ({'holdout': 1.0}, 'holdout'),
        ({'target': 'nope'}, "'nope'"),
    ],
)
def test_invalid_arguments(default_data, kwargs, message):
    data, metadata = default_data
    with pytest.raises(ValueError, match=message):
        repeated_synthesis(data, metadata, **kwargs)


def test_summarize_and_plot(results):
    summary = summarize(results)
    assert len(summary) == 3 * (GENERATIONS + 1)
    assert (summary['min'] <= summary['mean']).all()
    assert (summary['mean'] <= summary['max']).all()

    figure = plot_study(results, metric='quality_score')
    assert isinstance(figure, go.Figure)
    lines = [trace for trace in figure.data if trace.mode == 'lines+markers']
    assert [trace.name for trace in lines] == ['GWM', 'mixup-beta0.4', 'GaussianCopula']
    mean = results[results['synthesizer'] == 'GWM'].groupby('generation')['quality_score'].mean()
    assert np.allclose(lines[0].y, mean.to_numpy())
