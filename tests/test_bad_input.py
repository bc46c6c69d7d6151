"""Catalogue of bad inputs: each gets an SDV-style error naming the culprit, and the caller's
objects come back unchanged. A few hard-looking inputs are legitimate data and must work."""

import copy

import numpy as np
import pandas as pd
import pytest
from rdt.transformers import LabelEncoder
from sdv.cag import FixedCombinations
from sdv.errors import (
    InvalidDataError,
    InvalidDataTypeError,
    SamplingError,
    SynthesizerInputError,
)
from sdv.metadata import Metadata
from sdv.sampling import Condition

from sdv_gwm import GWMSynthesizer
from sdv_gwm.weights import EpBeta

N = 40
TABLE = 'table'


def make_table():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            'num': rng.normal(size=N),
            'count': rng.integers(0, 100, N),
            'cat': rng.choice(['a', 'b', 'c'], N),
            'flag': np.arange(N) % 2 == 0,
            'when': pd.date_range('2020-01-01', periods=N, freq='D').strftime('%Y-%m-%d'),
        }
    )


def make_metadata(**changes):
    columns = {
        'num': {'sdtype': 'numerical'},
        'count': {'sdtype': 'numerical'},
        'cat': {'sdtype': 'categorical'},
        'flag': {'sdtype': 'boolean'},
        'when': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
    }
    columns.update(changes)
    return Metadata.load_from_dict({'tables': {TABLE: {'columns': columns}}})


def assert_unchanged(value, before):
    """Compare with a deep copy, including dtypes, column names and index."""
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(value, before, check_exact=True)
        pd.testing.assert_index_equal(value.index, before.index, exact=True)
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(value, before, check_exact=True)
    elif isinstance(value, np.ndarray):
        np.testing.assert_array_equal(value, before)
        assert value.dtype == before.dtype
    elif isinstance(value, dict):
        assert list(value) == list(before)
        for key in value:
            assert_unchanged(value[key], before[key])
    else:
        assert value == before


def with_column(column, values, dtype=None):
    def make():
        table = make_table()
        table[column] = pd.Series(values, dtype=dtype)
        return table

    return make


def with_cells(column, cells, dtype=None):
    def make():
        table = make_table()
        if dtype is not None:
            table[column] = table[column].astype(dtype)
        for row, value in cells.items():
            table.loc[row, column] = value
        return table

    return make


FIT_CASES = {
    'list': (lambda: [[1, 2], [3, 4]], InvalidDataTypeError, r'pandas\.DataFrame.*got list'),
    'numpy array': (
        lambda: make_table().to_numpy(),
        InvalidDataTypeError,
        r'pandas\.DataFrame.*got ndarray',
    ),
    'series': (lambda: make_table()['num'], InvalidDataTypeError, r'got Series'),
    'dict of two tables': (
        lambda: {TABLE: make_table(), 'other': make_table()},
        InvalidDataTypeError,
        r'exactly one table.*2 tables',
    ),
    'dict with wrong table name': (
        lambda: {'other': make_table()},
        ValueError,
        r"Table 'other' is not present in the metadata",
    ),
    'dict holding a list': (
        lambda: {TABLE: [1, 2]},
        InvalidDataTypeError,
        rf"table '{TABLE}' must be a pandas\.DataFrame, got list",
    ),
    'empty frame': (lambda: make_table().iloc[:0], InvalidDataError, r'0 row\(s\)'),
    'one row': (lambda: make_table().iloc[:1], InvalidDataError, r'1 row\(s\).*at least 2'),
    'all-null numerical column': (
        with_column('num', [np.nan] * N),
        InvalidDataError,
        r"Column 'num' contains only missing values",
    ),
    'all-null categorical column': (
        with_column('cat', [None] * N, dtype=object),
        InvalidDataError,
        r"Column 'cat' contains only missing values",
    ),
    'duplicated column names': (
        lambda: make_table().set_axis(['num', 'count', 'cat', 'num', 'when'], axis=1),
        InvalidDataError,
        r"Duplicated column names: \['num'\]",
    ),
    'inf': (
        with_cells('num', {3: np.inf}),
        InvalidDataError,
        r"Column 'num' contains infinite values",
    ),
    '-inf': (
        with_cells('num', {3: -np.inf}),
        InvalidDataError,
        r"Column 'num' contains infinite values",
    ),
    'nan mixed with inf': (
        with_cells('count', {1: np.nan, 2: np.inf, 3: -np.inf}, dtype=float),
        InvalidDataError,
        r"Column 'count' contains infinite values",
    ),
    'strings in a numerical column': (
        with_column('num', [f'x{i}' for i in range(N)]),
        InvalidDataError,
        r"Column 'num' has sdtype 'numerical' but contains non-numerical values: 'x0'",
    ),
    'mixed-type object numerical column': (
        with_cells('num', {5: 'five'}, dtype=object),
        InvalidDataError,
        r"Column 'num' .* non-numerical values: 'five'",
    ),
    'non-boolean value in a boolean column': (
        with_cells('flag', {2: 'maybe'}, dtype=object),
        InvalidDataError,
        r"boolean column 'flag': \['maybe'\]",
    ),
    'datetime strings not matching the format': (
        with_column('when', pd.date_range('2020-01-01', periods=N).strftime('%d/%m/%Y')),
        InvalidDataError,
        r"datetime column 'when'",
    ),
    'missing column': (
        lambda: make_table().drop(columns='cat'),
        InvalidDataError,
        r"metadata columns \['cat'\] are not present in the data",
    ),
    'extra column': (
        lambda: make_table().assign(extra=1),
        InvalidDataError,
        r"columns \['extra'\] are not present in the metadata",
    ),
}


@pytest.mark.parametrize('case', FIT_CASES, ids=list(FIT_CASES))
def test_fit_rejects_bad_data(case):
    make, error, message = FIT_CASES[case]
    data = make()
    before = copy.deepcopy(data)
    synthesizer = GWMSynthesizer(make_metadata())

    with pytest.raises(error, match=message):
        synthesizer.fit(data)

    assert_unchanged(data, before)
    assert not synthesizer._fitted


CONSTRUCTOR_CASES = {
    "enforce_min_max_values='yes'": (
        {'enforce_min_max_values': 'yes'},
        r"Invalid value 'yes' for parameter 'enforce_min_max_values'",
    ),
    "enforce_rounding='yes'": (
        {'enforce_rounding': 'yes'},
        r"Invalid value 'yes' for parameter 'enforce_rounding'",
    ),
    "weights='nope'": ({'weights': 'nope'}, r"parameter 'weights'.*'nope'"),
    'weights=3': ({'weights': 3}, r"parameter 'weights'.*Unknown weights 3"),
    "mix_within='cat'": ({'mix_within': 'cat'}, r"parameter 'mix_within': 'cat'.*list"),
    "mix_within=['missing']": (
        {'mix_within': ['missing']},
        r"'mix_within': column 'missing' is not in the metadata",
    ),
    "mix_within=['num']": (
        {'mix_within': ['num']},
        r"'mix_within': column 'num' has sdtype 'numerical'",
    ),
}


@pytest.mark.parametrize('case', CONSTRUCTOR_CASES, ids=list(CONSTRUCTOR_CASES))
def test_constructor_rejects_bad_parameters(case):
    parameters, message = CONSTRUCTOR_CASES[case]
    metadata = make_metadata()
    before = metadata.to_dict()

    with pytest.raises(SynthesizerInputError, match=message):
        GWMSynthesizer(metadata, **parameters)

    assert metadata.to_dict() == before


@pytest.mark.parametrize('parameter', ['eps0', 'eps1'])
def test_negative_extrapolation_is_rejected_by_the_law(parameter):
    with pytest.raises(ValueError, match=rf"'{parameter}' must be a non-negative"):
        EpBeta(1.0, 1.0, **{parameter: -0.1})


@pytest.fixture(scope='module')
def fitted():
    return GWMSynthesizer(make_metadata()).fit(make_table())


def test_sampling_before_fit():
    synthesizer = GWMSynthesizer(make_metadata())
    known = pd.DataFrame({'cat': ['a']})

    with pytest.raises(SamplingError, match='not been fitted'):
        synthesizer.sample(5)
    with pytest.raises(SamplingError, match='not been fitted'):
        synthesizer.sample_from_conditions([Condition({'cat': 'a'}, num_rows=2)])
    with pytest.raises(SamplingError, match='not been fitted'):
        synthesizer.sample_remaining_columns(known)

    assert_unchanged(known, pd.DataFrame({'cat': ['a']}))


@pytest.mark.parametrize('num_rows', [-3, 2.5, None, True, '10'], ids=repr)
def test_bad_num_rows(fitted, num_rows):
    with pytest.raises(SynthesizerInputError, match=rf"parameter 'num_rows': {num_rows!r}"):
        fitted.sample(num_rows)


@pytest.mark.parametrize('batch_size', [0, -1, 1.5], ids=repr)
def test_bad_batch_size(fitted, batch_size):
    with pytest.raises(SynthesizerInputError, match=rf"parameter 'batch_size': {batch_size!r}"):
        fitted.sample(10, batch_size=batch_size)


@pytest.mark.parametrize('tries', [0, -1, 2.5, None], ids=repr)
def test_bad_max_tries_per_batch_is_refused_not_zero_rows(fitted, tries):
    """SDV's own sample returns 0 rows for ``max_tries_per_batch=0``; GWM refuses it."""
    known = pd.DataFrame({'cat': ['a', 'b']})
    condition = [Condition({'cat': 'a'}, num_rows=2)]
    for sample in (
        lambda: fitted.sample(10, max_tries_per_batch=tries),
        lambda: fitted.sample_from_conditions(condition, max_tries_per_batch=tries),
        lambda: fitted.sample_remaining_columns(known, max_tries_per_batch=tries),
    ):
        with pytest.raises(SynthesizerInputError, match="parameter 'max_tries_per_batch'"):
            sample()


CONDITION_CASES = {
    'unknown column': ({'nope': 1}, r"Unexpected column name 'nope'"),
    'unseen category': (
        {'cat': 'purple'},
        r"value 'purple' for column 'cat': it does not occur in the training data. "
        r"Use one of 'a', 'b', 'c'",
    ),
    'unseen boolean value': ({'flag': 'maybe'}, r"value 'maybe' for column 'flag'"),
    'missing value never seen': ({'cat': np.nan}, r"value nan for column 'cat'"),
    'numerical value outside the range': (
        {'count': 1000},
        r"value 1000 for column 'count': it is outside the training range",
    ),
    'text for a numerical column': (
        {'num': '5'},
        r"value '5' for column 'num': it is a str, but the column has sdtype 'numerical'",
    ),
    'boolean for a numerical column': ({'count': True}, r"value True for column 'count'"),
}


@pytest.mark.parametrize('case', CONDITION_CASES, ids=list(CONDITION_CASES))
def test_conditions_that_cannot_be_met(fitted, case):
    values, message = CONDITION_CASES[case]
    condition = Condition(values, num_rows=5)
    before = pd.Series(condition.get_column_values())

    with pytest.raises(ValueError, match=message):
        fitted.sample_from_conditions([condition])

    assert_unchanged(pd.Series(condition.get_column_values()), before)


def test_known_columns_of_the_wrong_type_or_duplicated(fitted):
    text = pd.DataFrame({'num': ['5', '6']})
    with pytest.raises(ValueError, match=r"value '5' for column 'num': it is a str"):
        fitted.sample_remaining_columns(text)

    duplicated = pd.DataFrame([[1.0, 2.0]], columns=['num', 'num'])
    with pytest.raises(ValueError, match=r"Duplicate column names in known_columns: \['num'\]"):
        fitted.sample_remaining_columns(duplicated)

    assert_unchanged(text, pd.DataFrame({'num': ['5', '6']}))


@pytest.mark.parametrize('missing', [np.nan, None, pd.NaT], ids=repr)
def test_missing_value_conditions_on_numerical_and_datetime_columns(missing):
    """As GaussianCopula: the rows come back with the value missing; the rest is mixed."""
    table = make_table().assign(when=pd.date_range('2020-01-01', periods=N, freq='D'))
    table.loc[::4, 'num'] = np.nan
    table.loc[1::4, 'when'] = pd.NaT
    metadata = make_metadata(when={'sdtype': 'datetime'})
    synthesizer = GWMSynthesizer(metadata).fit(table)

    for column, other in (('num', 'when'), ('when', 'num')):
        if missing is pd.NaT and column == 'num':
            continue

        synthetic = synthesizer.sample_from_conditions([Condition({column: missing}, 30)])
        assert len(synthetic) == 30 and synthetic[column].isna().all()
        assert synthetic[other].notna().any()

    known = pd.DataFrame({'num': [missing, np.nan], 'cat': ['a', 'b']})
    if missing is not pd.NaT:
        synthetic = synthesizer.sample_remaining_columns(known)
        assert synthetic['num'].isna().all() and list(synthetic['cat']) == ['a', 'b']


def test_failed_refit_leaves_the_synthesizer_not_fitted():
    """As SDV: a fit that fails leaves no model, and does not flip the output type."""
    synthesizer = GWMSynthesizer(make_metadata())
    synthesizer.fit({TABLE: make_table()})
    with pytest.raises(InvalidDataError, match='at least 2 rows'):
        synthesizer.fit(make_table().head(1))

    with pytest.raises(SamplingError, match='not been fitted'):
        synthesizer.sample(5)

    synthesizer.fit({TABLE: make_table()})
    assert isinstance(synthesizer.sample(5), dict)


def test_condition_combination_no_training_row_has():
    table = make_table()
    table = table[~((table['cat'] == 'a') & table['flag'])]
    synthesizer = GWMSynthesizer(make_metadata()).fit(table)

    with pytest.raises(ValueError, match=r"no training row .* columns \['cat', 'flag'\]"):
        synthesizer.sample_from_conditions([Condition({'cat': 'a', 'flag': True}, num_rows=5)])


def test_sample_remaining_columns_with_an_unseen_category(fitted):
    known = pd.DataFrame({'cat': ['a', 'purple']}, index=[10, 11])
    before = known.copy(deep=True)

    with pytest.raises(ValueError, match=r"value 'purple' for column 'cat'"):
        fitted.sample_remaining_columns(known)

    assert_unchanged(known, before)


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'empty'])
def test_loading_a_damaged_file(fitted, tmp_path, damage):
    path = tmp_path / 'model.pkl'
    with pytest.warns(UserWarning):
        fitted.save(path)
    content = path.read_bytes()
    path.write_bytes(
        {'garbage': b'not a model at all', 'truncated': content[: len(content) // 2]}.get(
            damage, b''
        )
    )

    with pytest.raises(SynthesizerInputError, match=str(path)):
        GWMSynthesizer.load(path)


# Inputs that look odd but are legitimate data: they must work.


def test_constant_columns_work_and_stay_constant():
    table = make_table().assign(num=2.5, cat='only')
    before = table.copy(deep=True)

    synthetic = GWMSynthesizer(make_metadata()).fit(table).sample(200)

    assert_unchanged(table, before)
    assert (synthetic['num'] == 2.5).all()
    assert (synthetic['cat'] == 'only').all()
    assert synthetic['count'].nunique() > 1


def test_huge_cardinality_categorical_works():
    rng = np.random.default_rng(1)
    table = make_table().loc[np.repeat(np.arange(N), 50)].reset_index(drop=True)
    table['cat'] = [f'id-{i}' for i in range(len(table))]  # every value distinct
    table['num'] = rng.normal(size=len(table))

    synthetic = GWMSynthesizer(make_metadata()).fit(table).sample(len(table))

    assert set(synthetic['cat']) <= set(table['cat'])
    assert synthetic['cat'].nunique() > 0.5 * len(table)


def test_mixed_type_categorical_column_works():
    table = make_table()
    # (not True next to 1: they are one dict key, so RDT's LabelEncoder merges them)
    table['cat'] = pd.Series(['a', 1, 2.5, None] * (N // 4), dtype=object)
    before = table.copy(deep=True)

    synthetic = GWMSynthesizer(make_metadata()).fit(table).sample(400)

    assert_unchanged(table, before)
    observed = {(type(v), v) for v in table['cat'].dropna()}
    assert {(type(v), v) for v in synthetic['cat'].dropna()} == observed
    assert 0.1 < synthetic['cat'].isna().mean() < 0.4


@pytest.mark.parametrize(
    'dtype, extreme',
    [('int64', 2**63 - 1), ('uint64', 2**64 - 1), ('Int64', 2**63 - 1)],
    ids=['int64', 'uint64', 'Int64'],
)
def test_integers_float64_cannot_hold_are_refused(dtype, extreme):
    """Near the top of int64/uint64 float64 rounds past the range: refused, not wrapped."""
    table = make_table()
    table['count'] = pd.array([extreme, 0] * (N // 2), dtype=dtype)
    with pytest.raises(InvalidDataError, match=rf"Column 'count' has the integer {extreme}"):
        GWMSynthesizer(make_metadata()).fit(table)


def test_integers_down_to_the_int64_minimum_come_back_in_range():
    table = make_table()
    table['count'] = np.array([-(2**63), 2**62] * (N // 2), dtype='int64')
    synthetic = GWMSynthesizer(make_metadata()).fit(table).sample(500)
    assert synthetic['count'].dtype == 'int64'
    assert synthetic['count'].between(-(2**63), 2**62).all()
    assert (synthetic['count'] == -(2**63)).mean() < 0.5 + 4 * 0.5 / 500**0.5


def test_add_constraints_keeps_gwm_transformers_for_untouched_columns():
    table = make_table().assign(other=lambda frame: frame['cat'].map({'a': 'x'}).fillna('y'))
    metadata = make_metadata(other={'sdtype': 'categorical'})
    plain = GWMSynthesizer(metadata).fit(table).get_transformers()
    constrained = GWMSynthesizer(metadata)
    constrained.add_constraints([FixedCombinations(column_names=['cat', 'other'])])
    constrained.fit(table)
    transformers = constrained.get_transformers()

    for column in ('num', 'count', 'flag', 'when'):
        assert repr(transformers[column]) == repr(plain[column])
    assert isinstance(transformers['cat#other'], LabelEncoder)
    synthetic = constrained.sample_from_conditions([Condition({'flag': True}, num_rows=20)])
    assert synthetic['flag'].all() and len(synthetic) == 20


def test_mix_within_a_column_a_constraint_merges():
    table = make_table().assign(other=lambda frame: frame['cat'].map({'a': 'x'}).fillna('y'))
    metadata = make_metadata(other={'sdtype': 'categorical'})
    constraint = FixedCombinations(column_names=['cat', 'other'])
    synthesizer = GWMSynthesizer(metadata, mix_within=['cat'])
    with pytest.raises(SynthesizerInputError, match=r"Column 'cat' of mix_within .* \['cat',"):
        synthesizer.add_constraints([constraint])

    # With all merged columns in mix_within, partners share the category: group means hold.
    table['num'] += 5 * (table['cat'] == 'a')
    synthesizer = GWMSynthesizer(metadata, mix_within=['cat', 'other'])
    synthesizer.add_constraints([FixedCombinations(column_names=['cat', 'other'])])
    synthesizer.fit(table)
    synthetic = synthesizer.sample(4000)
    for category, group in synthetic.groupby('cat'):
        parents = table.loc[table['cat'] == category, 'num']
        tolerance = 4 * parents.std() / len(group) ** 0.5
        assert abs(group['num'].mean() - parents.mean()) < tolerance
