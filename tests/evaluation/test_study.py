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


def test_metric_ranges(results):
    synthetic = results[results['generation'] > 0]
    assert (synthetic['min_variance_ratio'] <= synthetic['median_variance_ratio']).all()
    assert synthetic['quality_score'].between(0, 1).all()
    assert synthetic['ml_efficacy'].between(0, 1).all()
    assert (synthetic['covariance_relative_error'] >= 0).all()


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
    assert results['ml_efficacy'].notna().all()
    assert (results['ml_efficacy'] <= 1).all()


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
