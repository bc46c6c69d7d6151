"""The column codec gives SDV's results: fit, transform, reverse transform and validation.

Every table of the battery is fitted twice, once through the codec (the default) and once
through SDV's own data path, and the fitted SDV objects, the sampled tables and the
validation errors are compared exactly. The documented exceptions (datetime64 columns in
seconds, milliseconds or microseconds, float16 columns) are asserted separately: there the
codec is right and SDV's path is not.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from rdt.transformers import OrderedUniformEncoder, UniformEncoder
from sdv.cag import FixedCombinations
from sdv.errors import InvalidDataError
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer, codec

N = 240


def _dates(rng, start='2021-03-01', hours=24 * 400):
    offsets = pd.to_timedelta(rng.integers(0, hours * 60, N), unit='min')
    return pd.Timestamp(start) + offsets


def _with_nulls(values, rng, share=0.15):
    values = pd.Series(values).astype(object)
    values[rng.random(N) < share] = None
    return values


def _numerical(rng):
    data = pd.DataFrame(
        {
            'int': rng.integers(-50, 50, N),
            'float_nulls': _with_nulls(np.round(rng.normal(10, 3, N), 2), rng),
            'Int64': pd.array(rng.integers(0, 9, N), dtype='Int64'),
            'Float64': pd.array(np.round(rng.normal(size=N), 3), dtype='Float64'),
            'float32': rng.normal(size=N).astype(np.float32),
            'int8': rng.integers(-100, 100, N).astype(np.int8),
            'uint16': rng.integers(0, 60000, N).astype(np.uint16),
            'int_nulls': _with_nulls(rng.integers(0, 1000, N).astype(float), rng),
            'many_decimals': rng.normal(size=N),
            'large': rng.integers(10**12, 10**13, N),
        }
    )
    data.loc[3, 'Int64'] = pd.NA
    data['float_nulls'] = data['float_nulls'].astype(float)
    data['int_nulls'] = data['int_nulls'].astype(float)
    return data, {name: {'sdtype': 'numerical'} for name in data}


def _discrete(rng):
    letters = np.array(['a', 'b', 'c', 'd'], dtype=object)
    data = pd.DataFrame(
        {
            'object': _with_nulls(letters[rng.integers(0, 4, N)], rng),
            'category': pd.Categorical(letters[rng.integers(0, 3, N)]),
            'string': pd.array(letters[rng.integers(0, 4, N)], dtype='string'),
            'int_codes': rng.integers(0, 5, N),
            'bool': rng.random(N) < 0.3,
            'bool_nulls': _with_nulls(rng.random(N) < 0.5, rng),
            'boolean': pd.array(rng.random(N) < 0.5, dtype='boolean'),
            'ordinal': letters[rng.integers(0, 3, N)],
            'constant_ordinal': np.full(N, 'a', dtype=object),
            'paired_ordinal': letters[np.repeat(rng.integers(0, 3, N // 2), 2)],
            'x': rng.normal(size=N),
            # Strings only: factorized once by partial, for encode too.
            'strings': letters[rng.integers(0, 4, N)],
        }
    )
    data.loc[5, 'boolean'] = pd.NA
    columns = {
        'object': {'sdtype': 'categorical'},
        'category': {'sdtype': 'categorical'},
        'string': {'sdtype': 'categorical'},
        'int_codes': {'sdtype': 'categorical'},
        'strings': {'sdtype': 'categorical'},
        'bool': {'sdtype': 'boolean'},
        'bool_nulls': {'sdtype': 'boolean'},
        'boolean': {'sdtype': 'boolean'},
        'ordinal': {'sdtype': 'ordinal', 'range_values': ['c', 'a', 'b']},
        # Counts with a common divisor: fitted on the counts divided by it.
        'constant_ordinal': {'sdtype': 'ordinal', 'range_values': ['a']},
        'paired_ordinal': {'sdtype': 'ordinal', 'range_values': ['c', 'a', 'b']},
    }
    return data, columns


def _datetimes(rng):
    dates = _dates(rng)
    utc = dates.tz_localize('UTC')
    data = pd.DataFrame(
        {
            'day': _with_nulls(dates.strftime('%Y-%m-%d'), rng),
            'seconds': dates.strftime('%Y-%m-%d %H:%M:%S'),
            'zulu': _with_nulls(utc.strftime('%Y-%m-%dT%H:%M:%SZ'), rng),
            'offset': dates.strftime('%Y-%m-%dT%H:%M:%S+0200'),
            'minutes': dates.strftime('%d/%m/%Y %H:%M'),
            'ns': _with_nulls(dates, rng),
            'ns_utc': utc,
            'ns_new_york': utc.tz_convert('America/New_York'),
            'x': rng.normal(size=N),
        }
    )
    columns = {
        'day': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d'},
        'seconds': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d %H:%M:%S'},
        'zulu': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%dT%H:%M:%S%z'},
        'offset': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%dT%H:%M:%S%z'},
        'minutes': {'sdtype': 'datetime', 'datetime_format': '%d/%m/%Y %H:%M'},
        'ns': {'sdtype': 'datetime'},
        'ns_utc': {'sdtype': 'datetime'},
        'ns_new_york': {'sdtype': 'datetime'},
    }
    return data, columns


def _keys_and_pii(rng):
    data = pd.DataFrame(
        {
            'key': np.arange(N) + 1000,
            'code': [f'ID-{value:05d}' for value in rng.permutation(N)],
            'other_id': rng.integers(0, 20, N),
            'email': [f'user{value}@example.com' for value in range(N)],
            'name': _with_nulls([f'name {value}' for value in range(N)], rng),
            'unknown': rng.integers(100, 900, N),
            'x': rng.normal(size=N),
        }
    )
    columns = {
        'key': {'sdtype': 'id'},
        'code': {'sdtype': 'id', 'regex_format': 'ID-[0-9]{5}'},
        'other_id': {'sdtype': 'id'},
        'email': {'sdtype': 'email', 'pii': True},
        'name': {'sdtype': 'name', 'pii': True},
        'unknown': {'sdtype': 'unknown'},
    }
    return data, columns


BATTERY = {
    'numerical': _numerical,
    'discrete': _discrete,
    'datetimes': _datetimes,
    'keys_and_pii': _keys_and_pii,
}


def _metadata(data, columns, primary_key=None):
    metadata = Metadata.detect_from_dataframes({'table': data})
    if metadata.tables['table'].primary_key:
        metadata.remove_primary_key(table_name='table')

    for name, column in columns.items():
        metadata.update_column(name, table_name='table', **column)

    if primary_key:
        metadata.set_primary_key(primary_key, table_name='table')

    return metadata


def _table(name, seed=0):
    data, columns = BATTERY[name](np.random.default_rng(seed))
    key = 'key' if name == 'keys_and_pii' else None
    return data, _metadata(data, columns, key)


def _fit(data, metadata, fast, **kwargs):
    synthesizer = GWMSynthesizer(metadata, **kwargs)
    if not fast:
        synthesizer._fast_path_reason = lambda table: 'test: SDV path'

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer.fit(data)

    return synthesizer


def _state(transformer):
    skip = {'random_states', 'random_seed', 'faker', '_faker_random_seed', 'generator'}
    skip.add('output_properties')
    return {
        key: _state(value) if type(value).__module__.startswith('rdt') else repr(value)
        for key, value in vars(transformer).items()
        if key not in skip
    }


def _outcome(function):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return function(), None
    except Exception as error:  # noqa: BLE001 (the outcome compared is the error)
        return None, (type(error), str(error).split('\n')[0])


def _assert_same_outcome(function, expected_function):
    """Both give equal frames, or both raise the same error (SDV's path fails there too)."""
    (result, error), (expected, expected_error) = _outcome(function), _outcome(expected_function)
    assert error == expected_error
    if error is None:
        pd.testing.assert_frame_equal(result, expected, check_exact=True)


SETTINGS = [
    {},
    {'enforce_min_max_values': False},
    {'enforce_rounding': False},
    {'enforce_min_max_values': False, 'enforce_rounding': False},
]


@pytest.mark.parametrize('settings', SETTINGS, ids=lambda settings: str(sorted(settings)))
@pytest.mark.parametrize('name', sorted(BATTERY))
def test_fit_and_sample_equal_sdv(name, settings):
    """Fitted SDV objects, transformed rows and samples equal those of SDV's path."""
    data, metadata = _table(name)
    original = data.copy()
    fast, slow = _fit(data, metadata, True, **settings), _fit(data, metadata, False, **settings)
    pd.testing.assert_frame_equal(data, original)
    assert fast.get_info()['data_path'] == 'vectorized'
    assert slow.get_info()['data_path'].startswith('sdv')

    fast_processor, slow_processor = fast._data_processor, slow._data_processor
    pd.testing.assert_series_equal(fast_processor._dtypes, slow_processor._dtypes)
    assert fast_processor.formatters.keys() == slow_processor.formatters.keys()
    for column, formatter in fast_processor.formatters.items():
        assert _state(formatter) == _state(slow_processor.formatters[column]), column

    fast_fields = fast_processor._hyper_transformer.field_transformers
    slow_fields = slow_processor._hyper_transformer.field_transformers
    assert fast_fields.keys() == slow_fields.keys()
    for column, transformer in fast_fields.items():
        assert type(transformer) is type(slow_fields[column]), column
        assert _state(transformer) == _state(slow_fields[column]), column

    # Same transformed rows (RDT's noisy codes aside), hence the same samples.
    processed = slow_processor.transform(data)
    noisy = [column.output for column in fast._codec.columns if column.kind == 'uniform']
    exact = [column for column in processed if column not in noisy]
    reused = {}  # what the fit reuses from its statistics: parsed datetimes, factorized strings
    codec.partial(data, metadata.tables['table'], reused)
    for known in ({}, reused):
        encoded = fast._codec.encode(data, known)
        encoded = pd.DataFrame(encoded, columns=fast._codec.output_columns)
        np.testing.assert_array_equal(encoded[exact], processed[exact].to_numpy(dtype=float))
    # Generated columns (keys, PII) differ between two fits (Faker seeds them at random);
    # test_decode_equals_reverse_transform compares them within one fit.
    generated = [name for name, field in fast_fields.items() if not field.get_output_columns()]
    if not noisy:
        _assert_same_outcome(
            lambda: fast.sample(500).drop(columns=generated),
            lambda: slow.sample(500).drop(columns=generated),
        )


@pytest.mark.parametrize('settings', SETTINGS, ids=lambda settings: str(sorted(settings)))
@pytest.mark.parametrize('name', sorted(BATTERY))
def test_decode_equals_reverse_transform(name, settings):
    """For the same transformed rows the codec gives DataProcessor.reverse_transform's table."""
    data, metadata = _table(name)
    synthesizer = _fit(data, metadata, True, **settings)
    raw = synthesizer._sample(700)
    raw.iloc[:5] = raw.iloc[:5] * 1.5 - 3  # out of range values: clipped alike

    def decode():
        synthesizer.reset_sampling()
        return synthesizer._codec.decode(raw)

    def reverse_transform():
        synthesizer.reset_sampling()
        return synthesizer._data_processor.reverse_transform(raw)

    _assert_same_outcome(decode, reverse_transform)


def test_exceptions_datetime_units_and_float16():
    """datetime64[s]/[ms]/[us] stay in their years and float16 stays numbers (SDV: not)."""
    rng = np.random.default_rng(1)
    dates = pd.Series(_dates(rng, start='1995-06-01'))
    data = pd.DataFrame(
        {
            'seconds': dates.astype('datetime64[s]'),
            'milliseconds': dates.astype('datetime64[ms]'),
            'microseconds': dates.astype('datetime64[us]'),
            'half': rng.normal(5, 2, N).astype(np.float16),
            'x': rng.normal(size=N),
        }
    )
    metadata = Metadata.detect_from_dataframes({'table': data})
    fast, slow = _fit(data, metadata, True), _fit(data, metadata, False)
    sampled, sdv_sampled = fast.sample(1000), slow.sample(1000)
    for column in ('seconds', 'milliseconds', 'microseconds'):
        assert sampled[column].dtype == data[column].dtype
        assert sampled[column].between(data[column].min(), data[column].max()).all()
        assert (sdv_sampled[column].dt.year == 1970).all()  # SDV's path

    # The fitted transformers hold the range in nanoseconds too, so that SDV's own reverse
    # transform of the model's rows (conditions, persistence) keeps the years as well.
    fast.reset_sampling()
    reversed_rows = fast._data_processor.reverse_transform(fast._sample(200))
    for column in ('seconds', 'milliseconds', 'microseconds'):
        assert reversed_rows[column].between(data[column].min(), data[column].max()).all()

    assert sampled['half'].dtype == np.float16
    assert sampled['half'].notna().all()
    assert sampled['half'].between(data['half'].min(), data['half'].max()).all()
    assert sdv_sampled['half'].isna().all()  # SDV's path
    pd.testing.assert_series_equal(sampled['x'], sdv_sampled['x'])


def _invalid_tables():
    rng = np.random.default_rng(2)
    base, columns = _datetimes(rng)
    base = base[['day', 'seconds', 'zulu', 'x']].copy()
    columns = {name: columns[name] for name in ('day', 'seconds', 'zulu')}
    numbers, _ = _numerical(rng)
    discrete, discrete_columns = _discrete(rng)

    def change(table, column, rows, value):
        table = table.copy()
        table[column] = table[column].astype(object)
        table.loc[rows, column] = value
        return table

    number_columns = {name: {'sdtype': 'numerical'} for name in numbers}
    cases = {
        'numerical strings': (
            numbers,
            change(numbers, 'int', [3, 9], 'seven'),
            number_columns,
            {},
        ),
        'numerical out of range': (
            numbers,
            change(numbers, 'large', [1, 2, 4], 10**14),
            number_columns,
            {'large': {'sdtype': 'numerical', 'range_min': 10**12, 'range_max': 10**13}},
        ),
        'decimal places': (
            numbers,
            numbers,
            number_columns,
            {'float_nulls': {'sdtype': 'numerical', 'decimal_places': 1}},
        ),
        'bad datetime format': (
            base,
            change(base, 'seconds', [4, 7], '2021/03/01'),
            columns,
            {},
        ),
        'datetime out of range': (
            base,
            base,
            columns,
            {
                'day': {
                    'sdtype': 'datetime',
                    'datetime_format': '%Y-%m-%d',
                    'range_min': '2021-05-01',
                }
            },
        ),
        'boolean ints': (discrete, change(discrete, 'bool', [1], 3), discrete_columns, {}),
        'category out of range': (
            discrete,
            discrete,
            discrete_columns,
            {'object': {'sdtype': 'categorical', 'range_values': ['a', 'b']}},
        ),
        'nulls not allowed': (
            discrete,
            discrete,
            discrete_columns,
            {'object': {'sdtype': 'categorical', 'range_is_nullable': False}},
        ),
    }
    keys, key_columns = _keys_and_pii(rng)
    cases['repeated key'] = (keys, change(keys, 'key', [5, 6], 1000), key_columns, {})
    cases['missing key'] = (keys, change(keys, 'key', [8], None), key_columns, {})
    return cases


INVALID = _invalid_tables()


@pytest.mark.parametrize('case', sorted(INVALID))
def test_validation_equals_sdv(case):
    """Invalid tables raise SDV's error, with SDV's message naming the column, on both paths."""
    valid, data, columns, changes = INVALID[case]
    key = 'key' if 'key' in data else None
    metadata = _metadata(valid, {**columns, **changes}, key)
    messages = []
    for fast in (True, False):
        with pytest.raises(InvalidDataError) as error:
            _fit(data, metadata, fast)

        messages.append(str(error.value))

    assert messages[0] == messages[1]
    assert any(f"'{name}'" in messages[0] for name in data.columns)


def test_fall_back_to_sdv_path():
    """Constraints and user transformers use SDV's path, and get_info says so."""
    data, metadata = _table('discrete')
    synthesizer = GWMSynthesizer(metadata)
    synthesizer.add_constraints([FixedCombinations(column_names=['object', 'category'])])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer.fit(data)

    assert synthesizer.get_info()['data_path'] == 'sdv (the synthesizer has constraints)'
    assert len(synthesizer.sample(50)) == 50

    from rdt.transformers import FloatFormatter

    synthesizer = GWMSynthesizer(metadata)
    synthesizer.auto_assign_transformers({'table': data})
    synthesizer.update_transformers({'x': FloatFormatter()})
    synthesizer.fit(data)
    assert synthesizer.get_info()['data_path'].startswith('sdv (transformers were set')
    assert synthesizer.sample(20).columns.tolist() == data.columns.tolist()


@pytest.mark.parametrize('name', sorted(BATTERY))
def test_merged_partials_equal_whole_table(name):
    """Statistics merged over chunks fit the same codec as those of the whole table."""
    data, metadata = _table(name)
    table_metadata = metadata.tables['table']
    whole = codec.partial(data, table_metadata)
    chunks = [data.iloc[start : start + 70] for start in range(0, N, 70)]
    partials = [codec.partial(chunk, table_metadata) for chunk in chunks]
    merged = codec.merge(partials, table_metadata)
    assert merged.num_rows == whole.num_rows == N
    pd.testing.assert_series_equal(merged.null_counts, whole.null_counts)
    assert merged.counts.keys() == whole.counts.keys()
    for column, counts in whole.counts.items():
        pd.testing.assert_series_equal(merged.counts[column], counts, check_names=False)

    fitted = []
    for statistics in (whole, merged):
        synthesizer = GWMSynthesizer(metadata)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            fitted.append(codec.Codec.fit(synthesizer._data_processor, statistics))

    exact = [index for index, column in enumerate(fitted[0].columns) if column.kind != 'uniform']
    np.testing.assert_array_equal(
        fitted[0].encode(data)[:, exact], fitted[1].encode(data)[:, exact]
    )
    assert [_state(column.transformer) for column in fitted[0].columns] == [
        _state(column.transformer) for column in fitted[1].columns
    ]


def _uniform_columns():
    rng = np.random.default_rng(4)
    letters = np.array(['a', 'b', 'c'], dtype=object)
    floats = pd.Series(rng.integers(0, 4, N).astype(float))
    floats[::7] = np.nan
    floats[3], floats[4] = -0.0, 0.0
    dates = pd.Series(pd.to_datetime(rng.integers(0, 3, N) * 10**9))
    dates[::5] = pd.NaT
    return {
        'int': pd.Series(rng.integers(0, 5, N)),
        'float_nulls': floats,
        'object_nulls': _with_nulls(letters[rng.integers(0, 3, N)], rng),
        'mixed_objects': pd.Series(
            np.array([1, 1.0, True, 'x', 2], dtype=object)[rng.integers(0, 5, N)]
        ),
        'Int64': pd.Series(pd.array(rng.integers(0, 3, N), dtype='Int64')).where(
            rng.random(N) < 0.8
        ),
        'boolean': pd.Series(pd.array(rng.random(N) < 0.5, dtype='boolean')),
        'string': pd.Series(pd.array(letters[rng.integers(0, 3, N)], dtype='string')),
        'category': pd.Series(pd.Categorical(letters[rng.integers(0, 3, N)])),
        'datetime': dates,
    }


@pytest.mark.parametrize('ordered', [False, True])
@pytest.mark.parametrize('name', sorted(_uniform_columns()))
def test_uniform_codes_equal_rdt(name, ordered):
    """The vectorized uniform codes are RDT's transform, draw for draw, or left to RDT."""
    values = _uniform_columns()[name]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if ordered:
            transformer = OrderedUniformEncoder(order=list(pd.unique(values)))
        else:
            transformer = UniformEncoder()

        try:
            transformer.fit(values.to_frame('column'), 'column')
        except Exception:  # noqa: BLE001 (RDT refuses this column: nothing to compare)
            pytest.skip(f'RDT does not fit {name}')

        transformer.reset_randomization()
        encoded = codec._encode_uniform(transformer, values)
        transformer.reset_randomization()
        expected = transformer.transform(values.to_frame('column'))['column'].to_numpy()

    assert encoded is not None or name == 'category'  # RDT draws per category there
    if encoded is not None:
        np.testing.assert_array_equal(encoded, expected)
    unseen = pd.Series(values.dropna().iloc[:1].tolist() + ['unseen'], dtype=object)
    assert codec._encode_uniform(transformer, unseen) is None


FIXED_FORMATS = [
    '%Y-%m-%d',
    '%Y-%m-%d %H:%M:%S',
    '%d/%m/%Y %H:%M',
    '%Y%m%dT%H%M%S%z',
    '%Y年%m月%d日 %H時',  # text that is not ASCII: read as characters, not bytes
]


@pytest.mark.parametrize('datetime_format', FIXED_FORMATS)
def test_fixed_format_reads_and_writes_as_pandas(datetime_format):
    """FixedFormat writes what strftime writes and reads it back as pandas does."""
    fixed = codec.FixedFormat(datetime_format)
    rng = np.random.default_rng(3)
    seconds = rng.integers(-(10**9) * 2, 10**9 * 4, N)
    datetimes = pd.Series(pd.to_datetime(seconds, unit='s'))
    datetimes[::17] = pd.NaT
    if fixed.zone:
        datetimes = datetimes.dt.tz_localize('UTC').dt.tz_convert('America/New_York')

    written = fixed.write(datetimes)
    expected = datetimes.dt.strftime(datetime_format)
    pd.testing.assert_series_equal(pd.Series(written, dtype=object), expected.astype(object))

    wall, utc = fixed.parse(pd.Series(written))
    parsed = pd.to_datetime(pd.Series(written), format=datetime_format, utc=fixed.zone)
    reference = parsed.dt.tz_localize(None) if fixed.zone else parsed
    expected_ns = reference.dt.as_unit('ns').to_numpy().view(np.int64)
    np.testing.assert_array_equal(utc if fixed.zone else wall, expected_ns)


@pytest.mark.parametrize(
    'value',
    [
        '2021-3-01',
        ' 2021-03-01',
        '2021-03-01 ',
        '2021-02-30',
        '2021-02-29',
        '1900-02-29',
        '2021-13-01',
        '20a1-03-01',
        '2021-03-0\uff11',  # a digit, but not an ASCII one
        '2021-03-01\u00e9',
        b'2021-03-01',
        7,
    ],
)
def test_fixed_format_leaves_other_strings_to_pandas(value):
    """Anything not written exactly in the format is not read (pandas decides)."""
    values = pd.Series(['2021-03-01', value, None], dtype=object)
    assert codec.FixedFormat('%Y-%m-%d').parse(values) is None


def test_fixed_format_reads_leap_days_as_pandas():
    """Leap days of leap years (2000 and 2024, not 1900) read as pandas reads them."""
    values = pd.Series(['2000-02-29', '2024-02-29', '1999-12-31', '2100-02-28', None])
    wall, utc = codec.FixedFormat('%Y-%m-%d').parse(values)
    expected = pd.to_datetime(values, format='%Y-%m-%d').to_numpy().view(np.int64)
    assert utc is None
    np.testing.assert_array_equal(wall, expected)


def test_fixed_format_offsets():
    """Offsets Z, +HHMM and +HH:MM read as pandas reads them; others are left to pandas."""
    fixed = codec.FixedFormat('%Y-%m-%dT%H:%M:%S%z')
    values = pd.Series(['2021-03-01T10:00:00Z', '2021-03-01T10:00:00+0200', None])
    values[2] = '2021-03-01T10:00:00-05:30'
    _, utc = fixed.parse(values)
    expected = pd.to_datetime(values, format='%Y-%m-%dT%H:%M:%S%z', utc=True)
    np.testing.assert_array_equal(utc, expected.dt.tz_localize(None).to_numpy().view(np.int64))
    for other in ('2021-03-01T10:00:00', '2021-03-01T10:00:00+02', '2021-03-01T10:00:00 UTC'):
        assert fixed.parse(pd.Series([other])) is None

    assert codec.FixedFormat.of('%Y-%m-%d %I:%M %p') is None
    assert codec.FixedFormat.of('%H:%M') is None


def test_progress_is_quiet_when_not_a_terminal(capsys):
    """The fit and decode bars (tqdm) print nothing when stderr is not a terminal."""
    data, metadata = _table('numerical')
    synthesizer = _fit(data, metadata, True)
    sampled = synthesizer.sample(120_000)
    assert len(sampled) == 120_000
    captured = capsys.readouterr()
    assert 'Fitting' not in captured.err
    assert 'Decoding' not in captured.err


def test_codec_failure_falls_back(monkeypatch):
    """An error inside the codec hands the table to SDV's path instead of failing the fit."""
    data, metadata = _table('numerical')

    def fail(self, frame, reused=None):
        raise RuntimeError('codec broke')

    monkeypatch.setattr(codec.Codec, 'encode', fail)
    synthesizer = _fit(data, metadata, True)
    assert synthesizer.get_info()['data_path'].startswith('sdv (the column codec failed')
    sampled = synthesizer.sample(30)
    assert sampled.columns.tolist() == data.columns.tolist()


@pytest.mark.parametrize('name', ['numerical', 'datetimes'])
def test_codec_gives_the_engine_its_rounding_steps_and_datetime_units(name):
    """The copy check rounds as the codec decodes: same steps and units for mixed columns."""
    data, metadata = _table(name)
    synthesizer = _fit(data, metadata, True)
    fitted = synthesizer._codec
    assert list(fitted.output_columns) == list(synthesizer._columns)
    mixed = synthesizer._step > 0
    np.testing.assert_array_equal(fitted.rounding_steps()[mixed], synthesizer._step[mixed])
    mixed = synthesizer._unit > 0
    np.testing.assert_array_equal(fitted.datetime_units()[mixed], synthesizer._unit[mixed])
    found = fitted.rounding_steps() if name == 'numerical' else fitted.datetime_units()
    assert (found > 0).any()


@pytest.mark.parametrize('decimals', [0, 1, 3, 6, None])
def test_rounding_rows_decide_rdt_rounding_digits(decimals):
    """RDT learns the same rounding digits from the kept rows as from the whole column."""
    from rdt.transformers.utils import learn_rounding_digits

    rng = np.random.default_rng(decimals or 7)
    for scale in (1e-3, 1.0, 1e6):
        values = rng.normal(0, scale, 5_000)
        if decimals is not None:
            values = values.round(decimals)
            # Past the first values that codec._first_change looks at first.
            rows = rng.integers(codec.PREFIX_ROWS, len(values), 3)
            values[rows] = rng.normal(size=3).round(decimals + 2)

        kept = codec._rounding_rows(values) + [int(np.argmin(values)), int(np.argmax(values))]
        expected = learn_rounding_digits(pd.Series(values))
        assert learn_rounding_digits(pd.Series(values[kept])) == expected
