"""A model file that loads without running code: the ``'gwm'`` format of ``save``.

A fitted GWM model *is* its training data: sampling mixes training rows. SDV's own format
(``cloudpickle``) runs arbitrary code when it is loaded, so a model file from someone else can
not be trusted. The ``'gwm'`` format is a zip file that holds only JSON and ``.npy`` arrays
read with ``allow_pickle=False``:

- ``format.json``: ``{"format": "sdv-gwm", "format_version": 2, "synthesizer":
  "GWMSynthesizer", "versions": {"sdv-gwm": ..., "sdv": ..., "rdt": ...}, "fitted": bool}``.
- ``metadata.json``: ``Metadata.to_dict()``.
- ``parameters.json``: the constructor parameters; a weight law is
  ``{"type": "EpBeta" | "Beta" | "Uniform", **law.get_parameters()}``.
- ``table.json`` and ``table/*.npy`` (fitted models only): the training table,
  ``table.json["num_rows"]`` rows and one entry per column in ``table.json["columns"]`` with
  its pandas dtype and ``encoding``: ``numpy`` (bool, integer and float columns, stored as
  they are), ``int64`` (datetimes and timedeltas as their integer view; ``NaT`` is the
  smallest int64), ``category`` (integer codes and the categories, encoded recursively) or
  ``object`` (a ``uint8`` code per row, one of ``OBJECT_KINDS``, and one array per kind with
  the rows of that kind: fixed-width unicode for strings). Pandas extension dtypes
  (``Int64``, ``boolean``, ``string[pyarrow]``...) are stored as ``object`` and cast back.
  The columns that are generated rather than mixed (PII and keys) hold stand-ins with the
  real values' missing and repeated entries (what their generators learn at ``fit``), not
  the values; ``table.json["generated"]`` holds the seed each generator derived from them.
  ``table.json`` also says whether ``fit`` got a DataFrame or a ``{table_name: DataFrame}``.

The zip is preceded by a 44-byte pickle that only calls ``refuse_unpickling``, so that
``sdv.utils.load_synthesizer`` (or any unpickler) given the file says to use
``GWMSynthesizer.load`` instead of failing with an ``UnpicklingError``; ``load`` never
unpickles it.

``load`` checks the format and version, builds ``GWMSynthesizer(metadata, **parameters)``
and fits it on the stored table. The table is recovered from the fitted model by reversing
its transformers without rounding; ``save`` checks that the rebuilt model samples exactly the
same rows as the original after ``reset_sampling`` and refuses to write a file that would
not.

Loading a file from someone else is bounded in time and memory: before anything is inflated
the members' names, flags, compression and sizes are checked (in all at most ``max_bytes``,
JSON members at most ``MAX_JSON_BYTES``, nested at most ``MAX_JSON_DEPTH`` deep), each
array's header must agree with its size and with ``num_rows``, and a regex in the metadata
may generate at most ``MAX_REGEX_SIZE`` elements. Any failure is a ``ModelFileError``.
"""

import copy
import io
import json
import os
import re
import warnings
import zipfile
from importlib.metadata import version
from re import _parser as regex_parser

import numpy as np
import pandas as pd
import rdt
import sdv
from sdv.errors import SDVVersionWarning, SynthesizerInputError, VersionError
from sdv.metadata import Metadata
from sdv.utils import load_synthesizer

from sdv_gwm import _compat
from sdv_gwm import weights as weight_laws

FORMAT_NAME = 'sdv-gwm'
FORMAT_VERSION = 2
ZIP_MAGIC = b'PK\x03\x04'
#: The pickle before the zip: ``sdv_gwm.persistence.refuse_unpickling()``, protocol 2.
PREAMBLE = b'\x80\x02csdv_gwm.persistence\nrefuse_unpickling\n)R.'

#: What a cell of an ``object`` column may hold, in the order of its ``uint8`` code.
OBJECT_KINDS = ('str', 'int', 'float', 'bool', 'None', 'nan', 'NA', 'NaT')
KIND_DTYPES = {'str': str, 'int': np.int64, 'float': np.float64, 'bool': np.bool_}
NULLS = {'None': None, 'nan': np.nan, 'NA': pd.NA, 'NaT': pd.NaT}

#: Rows sampled by ``save`` to check that the file reproduces the model.
CHECK_ROWS = 100

#: Default bound on what a file may inflate to, and on 8 bytes per cell of its table.
MAX_BYTES = 2**30
#: Bounds on a JSON member: size and nesting.
MAX_JSON_BYTES = 2**22
MAX_JSON_DEPTH = 32
#: Bounds on the regexes in the metadata: length, and elements generated for one string.
MAX_REGEX_LENGTH = 1000
MAX_REGEX_SIZE = 10_000
#: Zip flags a file may have: the compression level (bits 1-2), a trailing data descriptor
#: (bit 3) and UTF-8 names (bit 11); encryption and patched data are refused.
ALLOWED_FLAGS = 0x080E
#: Deflate inflates at most about 1032 bytes per compressed byte.
MAX_DEFLATE_RATIO = 1100
JSON_MEMBERS = ('format.json', 'metadata.json', 'parameters.json', 'table.json')
ARRAY_MEMBER = re.compile(r'table/(\d{1,6}(\.[a-zA-Z]{1,10}){0,8})\.npy')
ARRAY_KINDS = 'biufUMm'

TRAINING_ROWS_WARNING = (
    "'{path}' holds the {num_rows} training rows of the model in clear (a GWM model is its "
    'training data). Share it only where the training data may go.'
)


class ModelFileError(SynthesizerInputError, ValueError):
    """A file that is not a readable GWMSynthesizer model (corrupt, truncated or foreign)."""


def refuse_unpickling():
    """Raise: what unpickling a ``'gwm'`` file runs (its preamble), e.g. in ``load_synthesizer``.

    Raises:
        ModelFileError: Always, saying to use ``GWMSynthesizer.load``.
    """
    raise ModelFileError(
        f"This is a '{FORMAT_NAME}' model file (format='gwm'), not a pickle: load it with "
        'sdv_gwm.GWMSynthesizer.load(filepath) (or sdv.single_table.GWMSynthesizer.load).'
    )


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
    return {'sdv-gwm': package_version(), 'sdv': sdv.__version__, 'rdt': rdt.__version__}


def package_version():
    """Return the installed sdv-gwm's version (which a synthesizer records when it is made)."""
    return version('sdv-gwm')


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


def _dtype_name(dtype):
    """The name ``astype`` takes back to ``dtype`` (``string[pyarrow]``, not ``string``)."""
    if isinstance(dtype, pd.StringDtype):
        return f'string[{dtype.storage}]'

    return str(dtype)


def _extension_dtype(name):
    """Parse a stored extension dtype; refuse numpy dtypes, whose size a file could set."""
    dtype = pd.api.types.pandas_dtype(name)
    if dtype != np.dtype('O') and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        raise ValueError(f'dtype {name!r} is not an extension dtype')

    if isinstance(dtype, pd.CategoricalDtype):
        raise ValueError('categorical dtypes are stored with the category encoding')

    return dtype


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

    return {'encoding': 'object', 'dtype': _dtype_name(dtype)}


def _decode(schema, key, arrays, num_rows):
    """Rebuild the column that ``_encode`` stored; the inverse of ``_encode``.

    ``num_rows`` is the length the column must have (``None``: any, for categories).
    """
    encoding = schema['encoding']
    codes = arrays[key]
    if num_rows is not None and len(codes) != num_rows:
        raise ValueError(f'column {key} has {len(codes)} values, not {num_rows}')

    if encoding == 'category':
        categories = _decode(schema['categories'], f'{key}.categories', arrays, None)
        dtype = pd.CategoricalDtype(categories, ordered=bool(schema['ordered']))
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))

    if encoding == 'numpy':
        if np.dtype(schema['dtype']) != codes.dtype:
            raise ValueError(f'column {key} is not of dtype {schema["dtype"]!r}')

        return pd.Series(codes)

    if encoding == 'int64':
        dtype = np.dtype(schema['dtype'])
        if dtype.kind not in 'mM' or dtype.itemsize != 8 or codes.dtype != np.int64:
            raise ValueError(f'column {key} is not a datetime or timedelta')

        return pd.Series(codes.view(dtype))

    if encoding != 'object' or codes.dtype != np.uint8:
        raise ValueError(f'unknown column encoding {encoding!r}')

    dtype = _extension_dtype(schema['dtype'])
    cells = np.empty(len(codes), dtype=object)
    for code, kind in enumerate(OBJECT_KINDS):
        rows = codes == code
        if kind in NULLS:
            cells[rows] = NULLS[kind]
        elif rows.any():
            values = arrays[f'{key}.{kind}']
            if len(values) != rows.sum() or values.dtype.kind != np.dtype(KIND_DTYPES[kind]).kind:
                raise ValueError(f'column {key} has a wrong number or type of {kind} values')

            cells[rows] = values.tolist()

    series = pd.Series(cells, dtype=object)
    return series if dtype == np.dtype('O') else series.astype(dtype)


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
    return {
        column: transformer
        for column, transformer in synthesizer.get_transformers().items()
        if isinstance(column, str)
        and transformer is not None
        and not transformer.get_output_columns()
    }


def _stand_in(codes, dtype):
    """A column with the missing and repeated entries of ``codes`` (``-1``: missing)."""
    missing = codes < 0
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = pd.Series(codes, dtype=float).mask(missing)
    else:
        values = pd.Series([f'v{code}' for code in codes], dtype=object).mask(missing, None)

    try:
        return values.astype(dtype)
    except (TypeError, ValueError):  # e.g. an integer column SDV learned as such, with NaN
        return values


def _training_table(synthesizer):
    """Recover the training table by reversing the fitted transformers without rounding.

    The mixed columns come back exactly; generated columns (PII, keys) get stand-ins with the
    missing and repeated entries of their training values (``_stand_in``). The transformers
    of the synthesizer are left untouched.
    """
    # One deepcopy: the copied transformers are the copied processor's.
    processor, transformers = copy.deepcopy(
        (synthesizer._data_processor, synthesizer.get_transformers())
    )
    _compat.without_rounding([*processor.formatters.values(), *transformers.values()])
    model = synthesizer._model
    table = processor.reverse_transform(pd.DataFrame(model.data, columns=synthesizer._columns))
    table = table[list(synthesizer._get_table_metadata().columns)]
    for column, codes in synthesizer._generated_codes.items():
        table[column] = _stand_in(codes, table[column].dtype)

    return table


def _rebuild(cls, metadata, parameters, table, as_frame, generated):
    synthesizer = cls(metadata, **parameters)
    if table is None:
        return synthesizer

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # SDV's notes on the data, seen at fit
        synthesizer.fit(table if as_frame else {synthesizer._table_name: table})

    for column, transformer in _generators(synthesizer).items():
        seed = int(generated[column]['random_seed'])
        transformer.random_seed = seed
        # RDT seeds Faker with the same hash of the first values as the transformer.
        _compat.set_faker_seed(transformer, seed)

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
        SynthesizerInputError: If the synthesizer has constraints, if a model rebuilt from
            the file would not sample the same rows, or if the file would be larger than
            ``load`` reads by default (``MAX_BYTES``).
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

        generated = {
            column: {'random_seed': int(transformer.random_seed)}
            for column, transformer in _generators(synthesizer).items()
        }
        as_frame = synthesizer._returns_frame
        members['table.json'] = {
            'as_frame': as_frame,
            'num_rows': len(table),
            'columns': columns,
            'generated': generated,
        }
        rebuilt = _rebuild(
            type(synthesizer),
            Metadata.load_from_dict(metadata),
            {**parameters, 'weights': _decode_weights(parameters['weights'])},
            table,
            as_frame,
            generated,
        )
        _check_reproduces(synthesizer, rebuilt, filepath)
        inflated = sum(array.nbytes for array in arrays.values())
        if max(inflated, 8 * table.size) > MAX_BYTES:
            raise SynthesizerInputError(
                f"Cannot save to '{filepath}' in the 'gwm' format: the table takes "
                f'{max(inflated, 8 * table.size)} bytes, more than load reads by default '
                f"({MAX_BYTES}). Use save(filepath, format='pickle')."
            )

        warn_training_rows(synthesizer, filepath)

    members['format.json'] = {
        'format': FORMAT_NAME,
        'format_version': FORMAT_VERSION,
        'synthesizer': type(synthesizer).__name__,
        'versions': _versions(),
        'fitted': bool(synthesizer._fitted),
    }
    with open(filepath, 'wb') as file:
        file.write(PREAMBLE)
        with zipfile.ZipFile(file, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in members.items():
                archive.writestr(name, json.dumps(content, indent=1))

            for key, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                archive.writestr(f'table/{key}.npy', buffer.getvalue())


def _check_members(archive, max_bytes, file_size):
    """Check names, flags, compression and sizes of the members before inflating any.

    The sizes a member declares must be possible: its compressed bytes inside the file, and
    at most ``MAX_DEFLATE_RATIO`` times as many inflated (deflate's own limit) or as many
    stored; reading then allocates no more than the file can really inflate to.
    """
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ValueError('it has duplicate members')

    for info in infos:
        if info.filename not in JSON_MEMBERS and not ARRAY_MEMBER.fullmatch(info.filename):
            raise ValueError(f'unexpected member {info.filename[:100]!r}')

        if info.flag_bits & ~ALLOWED_FLAGS:
            raise ValueError(f'member {info.filename!r} has unsupported zip flags')

        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f'member {info.filename!r} has an unsupported compression')

        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
        if info.compress_size > file_size or info.file_size > ratio * info.compress_size + 64:
            raise ValueError(f'member {info.filename!r} declares impossible sizes')

        if info.filename in JSON_MEMBERS and info.file_size > MAX_JSON_BYTES:
            raise ValueError(f'member {info.filename!r} is larger than {MAX_JSON_BYTES} bytes')

    inflated = sum(info.file_size for info in infos)
    if inflated > max_bytes:
        raise ValueError(f'it inflates to {inflated} bytes, more than max_bytes={max_bytes}')


def _check_depth(value):
    """Raise if a parsed JSON value nests deeper than ``MAX_JSON_DEPTH``."""
    pending = [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f'JSON nested deeper than {MAX_JSON_DEPTH}')

        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            pending.extend((child, depth + 1) for child in children)


def _read_json(archive, name, kind=dict):
    """Read a JSON member (already size-checked) that must be a ``kind``."""
    value = json.loads(archive.read(name))
    _check_depth(value)
    if not isinstance(value, kind):
        raise ValueError(f'{name} holds a {type(value).__name__}, not a {kind.__name__}')

    return value


def _regex_size(parsed, max_repeat=16):
    """Elements RDT's ``strings_from_regex`` builds for one string of a parsed regex."""
    size = 0
    for opcode, argument in parsed:
        name = str(opcode)
        if name in ('MAX_REPEAT', 'MIN_REPEAT', 'POSSESSIVE_REPEAT'):
            low, high, inner = argument
            count = max_repeat if high == regex_parser.MAXREPEAT else high
            size += max(count, low, 1) * _regex_size(inner, max_repeat)
        elif name == 'SUBPATTERN':
            size += _regex_size(argument[-1], max_repeat)
        elif name == 'BRANCH':
            size += sum(_regex_size(branch, max_repeat) for branch in argument[1])
        else:
            size += 1

        if size > MAX_REGEX_SIZE:
            break

    return size


def _check_regexes(metadata):
    """Refuse regexes that would take RDT long or much memory to set up (checked first)."""
    pending = [metadata]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            regex = value.get('regex_format')
            if regex is not None:
                if not isinstance(regex, str) or len(regex) > MAX_REGEX_LENGTH:
                    raise ValueError(f'regex_format longer than {MAX_REGEX_LENGTH} characters')

                if _regex_size(regex_parser.parse(regex)) > MAX_REGEX_SIZE:
                    raise ValueError(
                        f'regex_format {regex[:50]!r} generates strings of more than '
                        f'{MAX_REGEX_SIZE} elements'
                    )

            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _read_array(archive, info, num_rows):
    """Read an ``.npy`` member whose header must agree with its size and with the table."""
    with archive.open(info) as member:
        major, _ = np.lib.format.read_magic(member)
        read_header = {
            1: np.lib.format.read_array_header_1_0,
            2: np.lib.format.read_array_header_2_0,
        }.get(major)
        if read_header is None:
            raise ValueError(f'{info.filename} has npy format version {major}')

        shape, fortran_order, dtype = read_header(member)
        if (
            dtype.kind not in ARRAY_KINDS
            or dtype.hasobject
            or dtype.fields is not None
            or dtype.subdtype is not None
            or fortran_order
            or len(shape) != 1
            or not 0 <= shape[0] <= num_rows
        ):
            raise ValueError(f'{info.filename} is not a column of at most {num_rows} values')

        nbytes = shape[0] * dtype.itemsize
        if member.tell() + nbytes != info.file_size:
            raise ValueError(f'the header of {info.filename} disagrees with its size')

        return np.frombuffer(member.read(nbytes), dtype=dtype).copy()


def _read(filepath, cls, max_bytes):
    """Read a ``'gwm'`` file; raise ``VersionError`` or a bare error the caller wraps."""
    with zipfile.ZipFile(filepath) as archive:
        _check_members(archive, max_bytes, os.path.getsize(filepath))
        header = _read_json(archive, 'format.json')
        if header.get('format') != FORMAT_NAME:
            raise ValueError(f'format {str(header.get("format"))[:50]!r} is not {FORMAT_NAME!r}')

        if header.get('format_version') != FORMAT_VERSION:
            raise VersionError(
                f"'{filepath}' is in {FORMAT_NAME} format version "
                f'{str(header.get("format_version"))[:20]}, but this sdv-gwm '
                f'{_versions()["sdv-gwm"]} reads format version {FORMAT_VERSION} only.'
            )

        if header['synthesizer'] != cls.__name__:
            raise ValueError(f'it holds a {str(header["synthesizer"])[:50]}, not a {cls.__name__}')

        if not isinstance(header['versions'], dict) or not isinstance(header['fitted'], bool):
            raise ValueError('format.json is malformed')

        metadata_dict = _read_json(archive, 'metadata.json')
        _check_regexes(metadata_dict)
        metadata = Metadata.load_from_dict(metadata_dict)
        parameters = _read_json(archive, 'parameters.json')
        parameters['weights'] = _decode_weights(parameters['weights'])
        if not header['fitted']:
            return header, cls(metadata, **parameters)

        table_info = _read_json(archive, 'table.json')
        num_rows, columns = table_info['num_rows'], table_info['columns']
        if not isinstance(num_rows, int) or not isinstance(columns, list) or num_rows < 0:
            raise ValueError('table.json is malformed')

        if 8 * num_rows * len(columns) > max_bytes:
            raise ValueError(
                f'its table of {num_rows} rows and {len(columns)} columns takes more than '
                f'max_bytes={max_bytes}'
            )

        arrays = {
            ARRAY_MEMBER.fullmatch(info.filename).group(1): _read_array(archive, info, num_rows)
            for info in archive.infolist()
            if info.filename not in JSON_MEMBERS
        }

    table = pd.DataFrame(
        {
            str(column['name']): _decode(column, str(index), arrays, num_rows)
            for index, column in enumerate(columns)
        }
    )
    synthesizer = _rebuild(
        cls, metadata, parameters, table, table_info['as_frame'], table_info['generated']
    )
    return header, synthesizer


def load(filepath, cls, allow_pickle=True, max_bytes=MAX_BYTES):
    """Load a synthesizer saved in either format, telling them apart by their first bytes.

    Args:
        filepath (str or pathlib.Path):
            The file ``save`` wrote.
        cls (type):
            The synthesizer class the file must hold.
        allow_pickle (bool):
            Whether a file that is not in the ``'gwm'`` format may be loaded with SDV's
            ``load_synthesizer`` (``cloudpickle``, which runs code from the file). Defaults to
            ``True``; pass ``False`` for a file that is not trusted.
        max_bytes (int):
            The most a ``'gwm'`` file may inflate to, and 8 times its table's cells. Loading
            takes a few times this in memory at most. Defaults to ``MAX_BYTES`` (1 GiB).

    Returns:
        The synthesizer; a fitted one samples as the saved one did after ``reset_sampling``.

    Raises:
        ModelFileError: If the file is corrupt, truncated, too large, or holds another kind of
            object.
        sdv.errors.VersionError: If the file is in another version of the ``'gwm'`` format, or
            is a pickle of a synthesizer made by another version of sdv-gwm.
    """
    try:
        with open(filepath, 'rb') as file:
            start = file.read(len(PREAMBLE) + len(ZIP_MAGIC))
    except OSError as error:
        raise ModelFileError(f"Cannot read '{filepath}': {error}") from error

    if start.startswith((PREAMBLE + ZIP_MAGIC, ZIP_MAGIC)):
        try:
            header, synthesizer = _read(filepath, cls, max_bytes)
        except (VersionError, ModelFileError):
            raise
        except Exception as error:  # a file from anywhere: whatever fails, it is the file
            raise ModelFileError(
                f"'{filepath}' is not a valid {FORMAT_NAME} model file: "
                f'{type(error).__name__}: {str(error)[:500]}'
            ) from error

        saved = header['versions']
        if saved != _versions():
            warnings.warn(
                f'{filepath} was saved with {str(saved)[:300]} and is loaded with {_versions()}: '
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
    except Exception as error:  # a damaged pickle can fail in any way
        raise ModelFileError(
            f"'{filepath}' is neither a {FORMAT_NAME} model file nor a readable pickle: "
            f'{type(error).__name__}: {str(error)[:500]}'
        ) from error

    if not isinstance(synthesizer, cls):
        raise ModelFileError(
            f"'{filepath}' holds a {type(synthesizer).__name__}, not a {cls.__name__}."
        )

    # A pickle holds the synthesizer's internals, which change from one version to the next:
    # refused now rather than failing, or sampling otherwise, later.
    saved = getattr(synthesizer, '_sdv_gwm_version', None)
    if saved != package_version():
        made = 'an earlier sdv-gwm' if saved is None else f'sdv-gwm {str(saved)[:40]}'
        raise VersionError(
            f"'{filepath}' is a pickle of a synthesizer made with {made}, but this is sdv-gwm "
            f'{package_version()}: a pickle holds internals that differ between versions. Load '
            f"it with that version and save it with format='gwm', which this one reads."
        )

    return synthesizer
