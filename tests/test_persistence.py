import json
import pickle
import warnings
import zipfile

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from sdv.errors import SynthesizerInputError, VersionError
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer
from sdv.utils import load_synthesizer

from sdv_gwm import Beta, GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.persistence import FORMAT_VERSION, ModelFileError


def mixed_table(num_rows=300):
    """Every kind of column RDT reverses: floats with NaN and full precision, rounded floats,
    integers, booleans, categories with None, datetimes, date strings, nullable Int64 and a
    PII primary key."""
    rng = np.random.default_rng(0)
    start = pd.Timestamp('2020-01-01')
    table = pd.DataFrame(
        {
            'x': rng.normal(size=num_rows),
            'rounded': np.round(rng.normal(50, 10, num_rows), 2),
            'count': rng.integers(0, 100, num_rows),
            'flag': rng.random(num_rows) < 0.3,
            'category': rng.choice(['a', 'bb', 'ccc'], num_rows).astype(object),
            'when': start + pd.to_timedelta(rng.integers(0, 10**6, num_rows), unit='s'),
            'day': (start + pd.to_timedelta(rng.integers(0, 1000, num_rows), unit='D')).strftime(
                '%Y-%m-%d'
            ),
            'email': [f'user{k}@example.org' for k in range(num_rows)],
            'level': pd.array(rng.integers(0, 5, num_rows), dtype='Int64'),
        }
    )
    table.loc[rng.random(num_rows) < 0.1, 'x'] = np.nan
    table.loc[rng.random(num_rows) < 0.1, 'category'] = None
    table.loc[rng.random(num_rows) < 0.1, 'level'] = pd.NA
    return table


@pytest.fixture(scope='module')
def fitted():
    table = mixed_table()
    metadata = Metadata.detect_from_dataframes({'mixed': table})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return GWMSynthesizer(metadata).fit(table), table


def save_quietly(synthesizer, path, **kwargs):
    with pytest.warns(UserWarning, match='training rows'):
        synthesizer.save(path, **kwargs)


def test_gwm_round_trip_samples_bit_for_bit(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    loaded = GWMSynthesizer.load(path)

    synthesizer.reset_sampling()
    pd.testing.assert_frame_equal(synthesizer.sample(200), loaded.sample(200))
    assert loaded.get_parameters() == synthesizer.get_parameters()


def test_gwm_round_trip_keeps_dict_input_weights_and_mix_within(tmp_path):
    data, metadata = load_dataset('student_placements')
    synthesizer = GWMSynthesizer(metadata, weights=Beta(0.4, 0.7), mix_within=['gender'])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer.fit({'student_placements': data})

    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    loaded = GWMSynthesizer.load(path)

    assert loaded.weights == Beta(0.4, 0.7)
    assert loaded.mix_within == ['gender']
    synthesizer.reset_sampling()
    expected, sampled = synthesizer.sample(200), loaded.sample(200)
    assert list(sampled) == ['student_placements']
    pd.testing.assert_frame_equal(expected['student_placements'], sampled['student_placements'])


def test_file_is_json_and_arrays_without_pickles(fitted, tmp_path):
    synthesizer, table = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        header = json.loads(archive.read('format.json'))
        parameters = json.loads(archive.read('parameters.json'))
        columns = json.loads(archive.read('table.json'))['columns']
        for name in names:
            if name.endswith('.npy'):
                with archive.open(name) as member:
                    np.lib.format.read_array(member, allow_pickle=False)

    assert {'format.json', 'metadata.json', 'parameters.json', 'table.json'} <= set(names)
    assert all(name.endswith(('.json', '.npy')) for name in names)
    assert header['format'] == 'sdv-gwm'
    assert header['format_version'] == FORMAT_VERSION
    assert set(header['versions']) == {'sdv-gwm', 'sdv', 'rdt'}
    assert parameters['weights'] == 'epbeta'
    assert [column['name'] for column in columns] == list(table.columns)


def test_weights_object_stored_by_type_and_parameters(tmp_path):
    table = mixed_table(50).drop(columns='email')
    metadata = Metadata.detect_from_dataframes({'mixed': table})
    synthesizer = GWMSynthesizer(metadata, weights=Beta(0.4, 0.7))
    path = tmp_path / 'unfitted.gwm'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no training-rows warning: there are none
        synthesizer.save(path, format='gwm')

    with zipfile.ZipFile(path) as archive:
        parameters = json.loads(archive.read('parameters.json'))
        assert 'table.json' not in archive.namelist()

    assert parameters['weights'] == {'type': 'Beta', 'alpha': 0.4, 'beta': 0.7}
    loaded = GWMSynthesizer.load(path)
    assert not loaded._fitted
    assert loaded.weights == Beta(0.4, 0.7)


def test_safe_load_never_unpickles(fitted, tmp_path, monkeypatch):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')

    def forbidden(*args, **kwargs):
        raise AssertionError('pickle was called')

    for module, name in [
        (pickle, 'load'),
        (pickle, 'loads'),
        (pickle, 'Unpickler'),
        (cloudpickle, 'load'),
        (cloudpickle, 'loads'),
    ]:
        monkeypatch.setattr(module, name, forbidden)

    loaded = GWMSynthesizer.load(path, allow_pickle=False)
    assert loaded._fitted


def test_pickle_format_stays_sdv_compatible(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'model.pkl'
    save_quietly(synthesizer, path)

    synthesizer.reset_sampling()
    expected = synthesizer.sample(100)
    by_sdv = load_synthesizer(str(path))
    by_sdv.reset_sampling()
    pd.testing.assert_frame_equal(by_sdv.sample(100), expected)
    assert isinstance(GWMSynthesizer.load(path), GWMSynthesizer)
    with pytest.raises(ModelFileError, match='allow_pickle'):
        GWMSynthesizer.load(path, allow_pickle=False)


def test_unknown_format_is_refused(fitted, tmp_path):
    synthesizer, _ = fitted
    with pytest.raises(SynthesizerInputError, match="'format'"):
        synthesizer.save(tmp_path / 'model', format='json')


def test_other_format_version_names_both_versions(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    future = tmp_path / 'future.gwm'
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(future, 'w') as target:
        for name in source.namelist():
            content = source.read(name)
            if name == 'format.json':
                content = json.dumps({**json.loads(content), 'format_version': 99})
            target.writestr(name, content)

    with pytest.raises(VersionError, match=rf'version 99.*version {FORMAT_VERSION}'):
        GWMSynthesizer.load(future)


@pytest.mark.parametrize('keep', [0.5, 0.99])
def test_truncated_file_is_a_model_file_error_with_the_path(fitted, tmp_path, keep):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    content = path.read_bytes()
    truncated = tmp_path / 'truncated.gwm'
    truncated.write_bytes(content[: int(len(content) * keep)])

    with pytest.raises(ModelFileError, match='truncated.gwm'):
        GWMSynthesizer.load(truncated)


def test_corrupt_member_is_a_model_file_error(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    corrupt = tmp_path / 'corrupt.gwm'
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(corrupt, 'w') as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content[:20] if name == 'table/0.npy' else content)

    with pytest.raises(ModelFileError, match='corrupt.gwm'):
        GWMSynthesizer.load(corrupt)


@pytest.mark.parametrize('content', [b'', b'not a model', pickle.dumps({'a': 1})[:5]])
def test_garbage_is_a_model_file_error(tmp_path, content):
    path = tmp_path / 'garbage.bin'
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match='garbage.bin'):
        GWMSynthesizer.load(path)


@pytest.mark.parametrize('made_with', ['0.0.1', None], ids=['other version', 'no version'])
def test_pickle_of_another_sdv_gwm_version_is_refused(fitted, tmp_path, made_with):
    synthesizer, _ = fitted
    path = tmp_path / 'model.pkl'
    original = synthesizer._sdv_gwm_version
    try:
        if made_with is None:  # made before sdv-gwm recorded its version
            del synthesizer._sdv_gwm_version
        else:
            synthesizer._sdv_gwm_version = made_with
        save_quietly(synthesizer, path)
    finally:
        synthesizer._sdv_gwm_version = original

    expected = 'sdv-gwm 0.0.1' if made_with else 'an earlier sdv-gwm'
    with pytest.raises(VersionError, match=rf"made with {expected}.*format='gwm'"):
        GWMSynthesizer.load(path)


def test_other_synthesizer_pickle_is_refused(tmp_path):
    data, metadata = load_dataset('student_placements')
    other = GaussianCopulaSynthesizer(metadata)
    path = tmp_path / 'copula.pkl'
    other.save(path)

    with pytest.raises(ModelFileError, match='GaussianCopulaSynthesizer'):
        GWMSynthesizer.load(path)


def test_save_and_load_leave_the_callers_table_alone(tmp_path):
    table = mixed_table(80)
    before = table.copy()
    metadata = Metadata.detect_from_dataframes({'mixed': table})
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer = GWMSynthesizer(metadata).fit(table)

    save_quietly(synthesizer, tmp_path / 'model.gwm', format='gwm')
    GWMSynthesizer.load(tmp_path / 'model.gwm').sample(10)
    pd.testing.assert_frame_equal(table, before)


# --- Generated columns, dtypes and SDV's loader ---------------------------------------------


def keyed_table(num_rows=60):
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            'id': [f'ID_{k:04d}' for k in range(num_rows)],
            'x': rng.normal(size=num_rows),
            'email': [f'user{k % 20}@example.org' if k % 7 else None for k in range(num_rows)],
            'label': pd.array(rng.choice(['a', 'b', None], num_rows), dtype='string[pyarrow]'),
        }
    )


@pytest.fixture(scope='module')
def keyed():
    table = keyed_table()
    metadata = Metadata.detect_from_dataframes({'keyed': table})
    metadata.update_column('id', table_name='keyed', sdtype='id', regex_format='ID_[0-9]{4}')
    metadata.set_primary_key('id', table_name='keyed')
    metadata.update_column('email', table_name='keyed', sdtype='email', pii=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return GWMSynthesizer(metadata).fit(table), table


def test_regex_id_and_pii_columns_round_trip_without_their_values(keyed, tmp_path):
    synthesizer, table = keyed
    path = tmp_path / 'keyed.gwm'
    save_quietly(synthesizer, path, format='gwm')  # crashed on '_faker_random_seed' before
    loaded = GWMSynthesizer.load(path, allow_pickle=False)

    synthesizer.reset_sampling()
    expected = synthesizer.sample(100)
    pd.testing.assert_frame_equal(expected, loaded.sample(100))
    assert expected['id'].str.fullmatch(r'ID_\d{4}').all() and expected['id'].is_unique
    content = zipfile.ZipFile(path)
    stored = b''.join(content.read(name) for name in content.namelist())
    for value in ('ID_0003', 'user3@example.org'):  # neither the keys nor the PII values
        assert value.encode('utf-32-le') not in stored and value.encode() not in stored


def test_string_pyarrow_comes_back_as_string_pyarrow(keyed, tmp_path):
    synthesizer, _ = keyed
    path = tmp_path / 'keyed.gwm'
    save_quietly(synthesizer, path, format='gwm')
    assert synthesizer.sample(5)['label'].dtype == 'string[pyarrow]'
    assert GWMSynthesizer.load(path).sample(5)['label'].dtype == 'string[pyarrow]'


def test_sdv_load_synthesizer_on_a_gwm_file_points_to_gwm_load(fitted, tmp_path):
    synthesizer, _ = fitted
    path = tmp_path / 'model.gwm'
    save_quietly(synthesizer, path, format='gwm')
    with pytest.raises(ModelFileError, match=r'not a pickle: load it with .*GWMSynthesizer.load'):
        load_synthesizer(path)

    with pytest.raises(ModelFileError, match='not a pickle'):
        pickle.loads(path.read_bytes())
