"""A model file that loads without running code: the ``'gwm'`` format of ``save``.

A fitted GWM model *is* its training data: sampling mixes training rows. SDV's own format
(``cloudpickle``) runs arbitrary code when it is loaded, so a model file from someone else can
not be trusted. The ``'gwm'`` format is a zip file that holds only JSON and ``.npy`` arrays
read with ``allow_pickle=False``:

- ``format.json``: ``{"format": "sdv-gwm", "format_version": 1, "synthesizer":
  "GWMSynthesizer", "versions": {"sdv-gwm": ..., "sdv": ..., "rdt": ...}, "fitted": bool}``.
- ``metadata.json``: ``Metadata.to_dict()``.
- ``parameters.json``: the constructor parameters; a weight law is
  ``{"type": "EpBeta" | "Beta" | "Uniform", **law.get_parameters()}``.
- ``table.json`` and ``table/*.npy`` (fitted models only): the training table, one entry per
  column in ``table.json["columns"]`` with its pandas dtype and ``encoding``:
  ``numpy`` (bool, integer and float columns, stored as they are), ``int64`` (datetimes and
  timedeltas as their integer view; ``NaT`` is the smallest int64), ``category`` (integer
  codes and the categories, encoded recursively) or ``object`` (a ``uint8`` code per row,
  one of ``OBJECT_KINDS``, and one array per kind with the rows of that kind: fixed-width
  unicode for strings). Pandas extension dtypes (``Int64``, ``boolean``, ``string``...) are
  stored as ``object`` and cast back. ``table.json`` also says whether ``fit`` got a
  DataFrame or a ``{table_name: DataFrame}`` and holds the fitted seeds of the columns that
  are generated rather than mixed (PII and keys), whose real values are not stored.

``load`` checks the format and version, builds ``GWMSynthesizer(metadata, **parameters)``
and fits it on the stored table. The table is recovered from the fitted model by reversing
its transformers without rounding; ``save`` checks that the rebuilt model samples exactly the
same rows as the original after ``reset_sampling`` and refuses to write a file that would
not.
"""

import copy
import io
import json
import pickle
import warnings
import zipfile
from importlib.metadata import version

import numpy as np
import pandas as pd
import rdt
import sdv
from sdv.errors import SDVVersionWarning, SynthesizerInputError, VersionError
from sdv.metadata import Metadata
from sdv.utils import load_synthesizer

from sdv_gwm import weights as weight_laws

FORMAT_NAME = 'sdv-gwm'
FORMAT_VERSION = 1
ZIP_MAGIC = b'PK\x03\x04'

#: What a cell of an ``object`` column may hold, in the order of its ``uint8`` code.
OBJECT_KINDS = ('str', 'int', 'float', 'bool', 'None', 'nan', 'NA', 'NaT')
KIND_DTYPES = {'str': str, 'int': np.int64, 'float': np.float64, 'bool': np.bool_}
NULLS = {'None': None, 'nan': np.nan, 'NA': pd.NA, 'NaT': pd.NaT}

#: Fitted state of the generated (PII and key) columns that is restored on load.
GENERATOR_STATE = ('random_seed', '_faker_random_seed', '_nan_frequency', '_data_cardinality')

#: Rows sampled by ``save`` to check that the file reproduces the model.
CHECK_ROWS = 100

TRAINING_ROWS_WARNING = (
    "'{path}' holds the {num_rows} training rows of the model in clear (a GWM model is its "
    'training data). Share it only where the training data may go.'
)


class ModelFileError(SynthesizerInputError, ValueError):
    """A file that is not a readable GWMSynthesizer model (corrupt, truncated or foreign)."""


def warn_training_rows(synthesizer, filepath):
    """Warn, with a ``UserWarning``, that a fitted model's file holds its training rows.

    Args:
        synthesizer (sdv_gwm.GWMSynthesizer):
            The synthesizer being saved; nothing is said for an unfitted one.
        filepath (str or pathlib.Path):
            The file being written.
    """
    if synthesizer._fitted:
        message = TRAINING_ROWS_WARNING.format(
            path=filepath, num_rows=len(synthesizer._model.data)
        )
        warnings.warn(message, UserWarning, stacklevel=3)


def _versions():
    return {'sdv-gwm': version('sdv-gwm'), 'sdv': sdv.__version__, 'rdt': rdt.__version__}


def _object_kind(value):
    if isinstance(value, str):
        return 'str'
    if isinstance(value, (bool, np.bool_)):
        return 'bool'
    if isinstance(value, (int, np.integer)):
        return 'int'
    if value is None or value is pd.NA or value is pd.NaT:
        return {None: 'None', pd.NA: 'NA', pd.NaT: 'NaT'}[value]
    if isinstance(value, (float, np.floating)):
        return 'nan' if np.isnan(value) else 'float'

    raise TypeError(f'values of type {type(value).__name__} are not supported')


def _encode(values, key, arrays):
    """Store a column in ``arrays`` under keys starting with ``key``; return its schema."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        arrays[key] = values.cat.codes.to_numpy()
        categories = _encode(pd.Series(dtype.categories), f'{key}.categories', arrays)
        return {'encoding': 'category', 'ordered': bool(dtype.ordered), 'categories': categories}

    if isinstance(dtype, np.dtype) and dtype.kind in 'biuf':
        arrays[key] = values.to_numpy()
        return {'encoding': 'numpy', 'dtype': str(dtype)}

    if isinstance(dtype, np.dtype) and dtype.kind in 'mM':
        arrays[key] = values.to_numpy().view(np.int64)
        return {'encoding': 'int64', 'dtype': str(dtype)}

    cells = values.to_numpy(dtype=object)
    kinds = [_object_kind(value) for value in cells]
    codes = np.array([OBJECT_KINDS.index(kind) for kind in kinds], dtype=np.uint8)
    arrays[key] = codes
    for kind, kind_dtype in KIND_DTYPES.items():
        selected = cells[codes == OBJECT_KINDS.index(kind)]
        if len(selected):
            stored = selected.astype(kind_dtype)
            if stored.tolist() != selected.tolist():  # e.g. strings ending in NUL characters
                raise TypeError(f'{kind} values cannot be stored exactly')

            arrays[f'{key}.{kind}'] = stored

    return {'encoding': 'object', 'dtype': str(dtype)}


def _decode(schema, key, arrays):
    """Rebuild the column that ``_encode`` stored; the inverse of ``_encode``."""
    encoding = schema['encoding']
    if encoding == 'category':
        categories = _decode(schema['categories'], f'{key}.categories', arrays)
        dtype = pd.CategoricalDtype(categories, ordered=schema['ordered'])
        return pd.Series(pd.Categorical.from_codes(arrays[key], dtype=dtype))

    if encoding == 'numpy':
        return pd.Series(arrays[key].astype(schema['dtype'], copy=False))

    if encoding == 'int64':
        return pd.Series(arrays[key].view(schema['dtype']))

    if encoding != 'object':
        raise ValueError(f'unknown column encoding {encoding!r}')

    codes = arrays[key]
    cells = np.empty(len(codes), dtype=object)
    for code, kind in enumerate(OBJECT_KINDS):
        rows = codes == code
        if kind in NULLS:
            cells[rows] = NULLS[kind]
        elif rows.any():
            cells[rows] = arrays[f'{key}.{kind}'].tolist()

    series = pd.Series(cells, dtype=object)
    return series if schema['dtype'] == 'object' else series.astype(schema['dtype'])


def _encode_weights(weights):
    if isinstance(weights, str):
        return weights

    return {'type': type(weights).__name__, **weights.get_parameters()}


def _decode_weights(weights):
    if isinstance(weights, str):
        return weights

    law = weights['type']
    if law not in ('EpBeta', 'Beta', 'Uniform'):
        raise ValueError(f'unknown weight law {law!r}')

    return getattr(weight_laws, law)(**{name: weights[name] for name in weights if name != 'type'})


def _generators(synthesizer):
    """The fitted transformers whose columns are generated, not mixed, by column."""
    transformers = synthesizer._data_processor._hyper_transformer.field_transformers
    return {
        column: transformer
        for column, transformer in transformers.items()
        if isinstance(column, str)
        and transformer is not None
        and not transformer.get_output_columns()
    }


def _training_table(synthesizer):
    """Recover the training table by reversing the fitted transformers without rounding.

    The mixed columns come back exactly; generated columns (PII, keys) get fresh values from
    their generators. The transformers of the synthesizer are left untouched.
    """
    processor = copy.deepcopy(synthesizer._data_processor)
    transformers = processor._hyper_transformer.field_transformers.values()
    for formatter in [*processor.formatters.values(), *transformers]:
        if hasattr(formatter, '_rounding_digits'):
            formatter._rounding_digits = None

    model = synthesizer._model
    table = processor.reverse_transform(pd.DataFrame(model.data, columns=synthesizer._columns))
    return table[list(synthesizer._get_table_metadata().columns)]


def _rebuild(cls, metadata, parameters, table, as_frame, generators):
    synthesizer = cls(metadata, **parameters)
    if table is None:
        return synthesizer

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # SDV's notes on the data, seen at fit
        synthesizer.fit(table if as_frame else {synthesizer._table_name: table})

    for column, transformer in _generators(synthesizer).items():
        for name, value in generators.get(column, {}).items():
            setattr(transformer, name, value)

    synthesizer.reset_sampling()
    return synthesizer


def _check_reproduces(synthesizer, rebuilt, path):
    """Raise if ``rebuilt`` does not sample the same rows as ``synthesizer`` after a reset."""
    original = copy.deepcopy(synthesizer)
    original.reset_sampling()
    rebuilt = copy.deepcopy(rebuilt)
    expected, sampled = original.sample(CHECK_ROWS), rebuilt.sample(CHECK_ROWS)
    if isinstance(expected, dict):
        ((expected,), (sampled,)) = expected.values(), sampled.values()

    if not expected.equals(sampled):
        differ = [column for column in expected if not expected[column].equals(sampled[column])]
        raise SynthesizerInputError(
            f"Cannot save to '{path}' in the 'gwm' format: a model rebuilt from the file would "
            f'not sample the same values in columns {differ} (customized transformers or '
            "constraints?). Use save(filepath, format='pickle') for this model."
        )


def save(synthesizer, filepath):
    """Write a synthesizer to a ``'gwm'`` file (see the module docstring for the format).

    Args:
        synthesizer (sdv_gwm.GWMSynthesizer):
            The synthesizer, fitted or not.
        filepath (str or pathlib.Path):
            The file to write.

    Raises:
        SynthesizerInputError: If the synthesizer has constraints, or if a model rebuilt
            from the file would not sample the same rows.
    """
    if synthesizer.get_constraints():
        raise SynthesizerInputError(
            "Synthesizers with constraints cannot be saved in the 'gwm' format. "
            "Use save(filepath, format='pickle')."
        )

    metadata = synthesizer.get_metadata().to_dict()
    parameters = synthesizer.get_parameters()
    parameters['weights'] = _encode_weights(parameters['weights'])
    members = {'metadata.json': metadata, 'parameters.json': parameters}
    arrays = {}
    if synthesizer._fitted:
        table = _training_table(synthesizer)
        columns = []
        for index, column in enumerate(table.columns):
            try:
                schema = _encode(table[column], str(index), arrays)
            except (TypeError, OverflowError) as error:
                raise SynthesizerInputError(
                    f"Cannot save column '{column}' in the 'gwm' format: {error}. "
                    "Use save(filepath, format='pickle')."
                ) from None

            columns.append({'name': column, **schema})

        generators = {
            column: {name: getattr(transformer, name) for name in GENERATOR_STATE}
            for column, transformer in _generators(synthesizer).items()
        }
        generators = json.loads(json.dumps(generators, default=float))
        as_frame = synthesizer._returns_frame
        members['table.json'] = {
            'as_frame': as_frame,
            'columns': columns,
            'generators': generators,
        }
        rebuilt = _rebuild(
            type(synthesizer),
            Metadata.load_from_dict(metadata),
            {**parameters, 'weights': _decode_weights(parameters['weights'])},
            table,
            as_frame,
            generators,
        )
        _check_reproduces(synthesizer, rebuilt, filepath)
        warn_training_rows(synthesizer, filepath)

    members['format.json'] = {
        'format': FORMAT_NAME,
        'format_version': FORMAT_VERSION,
        'synthesizer': type(synthesizer).__name__,
        'versions': _versions(),
        'fitted': bool(synthesizer._fitted),
    }
    with zipfile.ZipFile(filepath, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, json.dumps(content, indent=1))

        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            archive.writestr(f'table/{key}.npy', buffer.getvalue())


def _read(filepath, cls):
    """Read a ``'gwm'`` file; raise ``VersionError`` or a bare error the caller wraps."""
    with zipfile.ZipFile(filepath) as archive:
        header = json.loads(archive.read('format.json'))
        if header.get('format') != FORMAT_NAME:
            raise ValueError(f'format {header.get("format")!r} is not {FORMAT_NAME!r}')

        if header['format_version'] != FORMAT_VERSION:
            raise VersionError(
                f"'{filepath}' is in {FORMAT_NAME} format version {header['format_version']}, "
                f'but this sdv-gwm {_versions()["sdv-gwm"]} reads format version '
                f'{FORMAT_VERSION} only.'
            )

        if header['synthesizer'] != cls.__name__:
            raise ValueError(f'it holds a {header["synthesizer"]}, not a {cls.__name__}')

        metadata = Metadata.load_from_dict(json.loads(archive.read('metadata.json')))
        parameters = json.loads(archive.read('parameters.json'))
        parameters['weights'] = _decode_weights(parameters['weights'])
        if not header['fitted']:
            return header, cls(metadata, **parameters)

        table_info = json.loads(archive.read('table.json'))
        arrays = {}
        for name in archive.namelist():
            if name.startswith('table/') and name.endswith('.npy'):
                with archive.open(name) as member:
                    buffer = io.BytesIO(member.read())

                arrays[name[len('table/') : -len('.npy')]] = np.lib.format.read_array(
                    buffer, allow_pickle=False
                )

    table = pd.DataFrame(
        {
            column['name']: _decode(column, str(index), arrays)
            for index, column in enumerate(table_info['columns'])
        }
    )
    synthesizer = _rebuild(
        cls, metadata, parameters, table, table_info['as_frame'], table_info['generators']
    )
    return header, synthesizer


def load(filepath, cls, allow_pickle=True):
    """Load a synthesizer saved in either format, telling them apart by the zip signature.

    Args:
        filepath (str or pathlib.Path):
            The file ``save`` wrote.
        cls (type):
            The synthesizer class the file must hold.
        allow_pickle (bool):
            Whether a file that is not in the ``'gwm'`` format may be loaded with SDV's
            ``load_synthesizer`` (``cloudpickle``, which runs code from the file). Defaults to
            ``True``; pass ``False`` for a file that is not trusted.

    Returns:
        The synthesizer; a fitted one samples as the saved one did after ``reset_sampling``.

    Raises:
        ModelFileError: If the file is corrupt, truncated, or holds another kind of object.
        sdv.errors.VersionError: If the file is in another version of the ``'gwm'`` format.
    """
    with open(filepath, 'rb') as file:
        is_zip = file.read(len(ZIP_MAGIC)) == ZIP_MAGIC

    if is_zip:
        try:
            header, synthesizer = _read(filepath, cls)
        except VersionError:
            raise
        except (zipfile.BadZipFile, KeyError, TypeError, ValueError, EOFError) as error:
            raise ModelFileError(
                f"'{filepath}' is not a valid {FORMAT_NAME} model file: {error}"
            ) from error

        saved = header['versions']
        if saved != _versions():
            warnings.warn(
                f'{filepath} was saved with {saved} and is loaded with {_versions()}: '
                'sampled values may differ from those of the saved model.',
                SDVVersionWarning,
                stacklevel=3,
            )

        return synthesizer

    if not allow_pickle:
        raise ModelFileError(
            f"'{filepath}' is not in the '{FORMAT_NAME}' format and allow_pickle is False."
        )

    try:
        synthesizer = load_synthesizer(filepath)
    except (pickle.UnpicklingError, EOFError) as error:
        raise ModelFileError(
            f"'{filepath}' is neither a {FORMAT_NAME} model file nor a readable pickle: {error}"
        ) from error

    if not isinstance(synthesizer, cls):
        raise ModelFileError(
            f"'{filepath}' holds a {type(synthesizer).__name__}, not a {cls.__name__}."
        )

    return synthesizer
