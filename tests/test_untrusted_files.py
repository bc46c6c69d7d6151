"""``GWMSynthesizer.load`` on files made to hurt: only ModelFileError or VersionError, quickly.

The files of issue 11 load under tracemalloc (numpy reports its buffers to it) and a CPU
budget; the 1,200 fuzzed files load in a fresh process with a cap on its memory (tracemalloc
would make them 8 times slower). A file that makes the loader allocate or compute much
fails the test with the mutation named.
"""

import io
import json
import os
import pathlib
import resource
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pandas as pd
import pytest
from sdv.errors import VersionError
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer
from sdv_gwm.persistence import PREAMBLE, ModelFileError

#: A load of the tiny model below takes well under 0.5 s and 20 MB; these bounds are generous
#: next to what the attacks did before (94 s, 5.5 GB, MemoryError) but catch any of them.
MAX_SECONDS = 10.0
MAX_PEAK = 256 * 2**20
NUM_FUZZED = 1200
TESTS = pathlib.Path(__file__).resolve().parent


def tiny_table(num_rows=12):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            'x': rng.normal(size=num_rows),
            'k': rng.integers(0, 9, num_rows),
            'c': rng.choice(['a', 'b', None], num_rows),
            'id': [f'ID_{k:03d}' for k in range(num_rows)],
        }
    )


@pytest.fixture(scope='module')
def model_file(tmp_path_factory):
    table = tiny_table()
    metadata = Metadata.detect_from_dataframes({'tiny': table})
    metadata.update_column('id', table_name='tiny', sdtype='id', regex_format='ID_[0-9]{3}')
    path = tmp_path_factory.mktemp('model') / 'tiny.gwm'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        GWMSynthesizer(metadata).fit(table).save(path, format='gwm')

    return path.read_bytes()


def members(content):
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(contents, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    buffer.write(PREAMBLE)
    with zipfile.ZipFile(buffer, 'w', compression=compression) as archive:
        for name, content in contents.items():
            archive.writestr(name, content)

    return buffer.getvalue()


def replace(content, name, new):
    return rezip({**members(content), name: new})


def load_bounded(path, label, **kwargs):
    """Load under tracemalloc and a CPU-time budget; return the error or None."""
    tracemalloc.reset_peak()
    start = time.process_time()
    error = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            GWMSynthesizer.load(path, **kwargs)
    except (ModelFileError, VersionError) as caught:
        error = caught
    except BaseException as caught:  # noqa: B036 (any other error is the failure tested)
        pytest.fail(f'{label}: {type(caught).__name__}: {caught}')

    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    assert seconds < MAX_SECONDS, f'{label}: took {seconds:.1f} s'
    assert peak < MAX_PEAK, f'{label}: peaked at {peak / 2**20:.0f} MB'
    return error


@pytest.fixture
def traced():
    tracemalloc.start()
    yield
    tracemalloc.stop()


def npy_with_header(header):
    """An .npy file whose header says ``header`` but holds 8 bytes of data."""
    text = repr(header).encode('latin1')
    text += b' ' * (-(len(text) + 11) % 64) + b'\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(text)) + text + bytes(8)


def bomb_member(size):
    """A deflated member of ``size`` zero bytes, built fast from one compressed block."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    block = bytes(2**20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b''.join(parts) + compressor.flush()


#: Per zip header (local, central): signature, offsets of the name length and the name.
HEADERS = ((b'PK\x03\x04', 26, 30), (b'PK\x01\x02', 28, 46))
#: Offsets of a field in the local and central headers, and its struct format.
FIELDS = {'flags': (6, 8, '<H'), 'method': (8, 10, '<H'), 'size': (22, 24, '<I')}


def patch_headers(content, field, change, name=None):
    """Set ``field`` to ``change(old)`` in every local and central header (of ``name``)."""
    data = bytearray(content)
    *offsets, layout = FIELDS[field]
    for (signature, length_at, name_at), offset in zip(HEADERS, offsets, strict=True):
        position = data.find(signature)
        while position >= 0:
            length = struct.unpack_from('<H', data, position + length_at)[0]
            found = bytes(data[position + name_at : position + name_at + length])
            if name is None or found == name.encode():
                (old,) = struct.unpack_from(layout, data, position + offset)
                struct.pack_into(layout, data, position + offset, change(old))
            position = data.find(signature, position + 4)

    return bytes(data)


def with_declared_size(content, name, size):
    return patch_headers(content, 'size', lambda _: size, name)


def deep(depth):
    return '[' * depth + ']' * depth


def attacks(content):
    """The files of issue 11, each named."""
    files = members(content)
    metadata = json.loads(files['metadata.json'])
    regex_bomb = json.loads(json.dumps(metadata))
    regex_bomb['tables']['tiny']['columns']['id']['regex_format'] = 'a[0-9]{3000000}'
    nested_regex = json.loads(json.dumps(metadata))
    nested_regex['tables']['tiny']['columns']['id']['regex_format'] = '((a{100}){100}){100}'
    zero_member = with_declared_size(rezip(files, zipfile.ZIP_STORED), 'table/0.npy', 3 * 10**9)
    return {
        'format.json is []': replace(content, 'format.json', '[]'),
        'format.json is null': replace(content, 'format.json', 'null'),
        'deep JSON': replace(content, 'metadata.json', deep(100_000)),
        'JSON deep but parseable': replace(content, 'parameters.json', deep(500)),
        'npy header claims 1e11 values': replace(
            content,
            'table/0.npy',
            npy_with_header({'descr': '<f8', 'fortran_order': False, 'shape': (10**11,)}),
        ),
        'npy of objects': replace(
            content,
            'table/0.npy',
            npy_with_header({'descr': '|O', 'fortran_order': False, 'shape': (1,)}),
        ),
        'npy of huge strings': replace(
            content,
            'table/0.npy',
            npy_with_header({'descr': '<U1000000000', 'fortran_order': False, 'shape': (12,)}),
        ),
        'member declares 3 GB': zero_member,
        'regex a[0-9]{3000000}': replace(content, 'metadata.json', json.dumps(regex_bomb)),
        'nested regex': replace(content, 'metadata.json', json.dumps(nested_regex)),
        'encrypted flag': set_flag(content, 0x1),
        'unknown compression': set_compression(content, 99),
        'bzip2 member': rezip(files, zipfile.ZIP_BZIP2),
        'extra member': rezip({**files, '../../evil.txt': b'x'}),
        'dtype string for 1e9 characters': replace(
            content,
            'table.json',
            json.dumps(
                {
                    **json.loads(files['table.json']),
                    'columns': [
                        {**column, 'dtype': '<U1000000000'}
                        for column in json.loads(files['table.json'])['columns']
                    ],
                }
            ),
        ),
        'table of 1e12 rows': replace(
            content,
            'table.json',
            json.dumps({**json.loads(files['table.json']), 'num_rows': 10**12}),
        ),
    }


def set_flag(content, flag):
    return patch_headers(content, 'flags', lambda old: old | flag)


def set_compression(content, method):
    return patch_headers(content, 'method', lambda _: method)


def test_the_files_of_issue_11_are_refused_quickly(model_file, tmp_path, traced):
    assert load_bounded(write(tmp_path, 'valid', model_file), 'valid', allow_pickle=False) is None
    for label, content in attacks(model_file).items():
        error = load_bounded(write(tmp_path, 'attack', content), label, allow_pickle=False)
        assert error is not None, f'{label}: loaded'


def zip_bomb(content, size):
    """The model plus a member of ``size`` zero bytes, deflated (about 1000 to 1)."""
    buffer = io.BytesIO()
    buffer.write(PREAMBLE)
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members(content).items():
            archive.writestr(name, data)

        with archive.open('table/9.npy', 'w') as member:
            block = bytes(2**20)
            for _ in range(size // len(block)):
                member.write(block)

    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_inflating(model_file, tmp_path, traced):
    """64 MB of zeros in a small file: refused from the size it declares (max_bytes 16 MB);
    declaring a small size instead stops the inflating there."""
    bomb = zip_bomb(model_file, 64 * 2**20)
    assert len(bomb) < 2**20
    error = load_bounded(write(tmp_path, 'bomb', bomb), 'bomb', max_bytes=16 * 2**20)
    assert 'inflates to' in str(error)

    lying = with_declared_size(bomb, 'table/9.npy', 128)
    assert load_bounded(write(tmp_path, 'lying', lying), 'lying bomb') is not None


def write(folder, name, content):
    path = folder / f'{name}.gwm'
    path.write_bytes(content)
    return path


def mutations(content, rng):
    """Yield ``(label, bytes)``: bit flips, truncations, header fields, JSON and npy edits."""
    files = members(content)
    json_names = [name for name in files if name.endswith('.json')]
    npy_names = [name for name in files if name.endswith('.npy')]
    replacements = [[], {}, None, 'x', -1, 10**30, 1e308, True, deep(40), 'a' * 10_000]
    for index in range(NUM_FUZZED):
        kind = index % 6
        data = bytearray(content)
        if kind == 0:
            for _ in range(rng.integers(1, 9)):
                position = rng.integers(len(PREAMBLE), len(data))
                data[position] ^= 1 << rng.integers(8)
            yield f'{index}: bit flips', bytes(data)
        elif kind == 1:
            yield f'{index}: truncated', bytes(data[: rng.integers(0, len(data))])
        elif kind == 2:
            position = rng.integers(len(PREAMBLE), len(data) - 4)
            data[position : position + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
            yield f'{index}: 4 random bytes', bytes(data)
        elif kind == 3:
            name = json_names[rng.integers(len(json_names))]
            value = json.loads(files[name])
            value = mutate_json(value, rng, replacements)
            yield f'{index}: {name} edited', replace(content, name, json.dumps(value))
        elif kind == 4:
            name = npy_names[rng.integers(len(npy_names))]
            header = {
                'descr': str(rng.choice(['<f8', '|u1', '<i8', '<U7', '|b1', '<M8[ns]', '|O'])),
                'fortran_order': bool(rng.random() < 0.1),
                'shape': (int(rng.choice([0, 1, 12, 13, 10**6, 10**12, 2**62])),),
            }
            yield (
                f'{index}: {name} header {header}',
                replace(content, name, npy_with_header(header)),
            )
        else:
            name = [*json_names, *npy_names][rng.integers(len(files))]
            yield f'{index}: {name} removed', rezip({k: v for k, v in files.items() if k != name})


def mutate_json(value, rng, replacements):
    """Replace one random node of a parsed JSON value (the root included)."""
    nodes = [(None, None)]
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, (dict, list)):
            for key, child in node.items() if isinstance(node, dict) else enumerate(node):
                nodes.append((node, key))
                pending.append(child)

    parent, key = nodes[rng.integers(len(nodes))]
    new = replacements[rng.integers(len(replacements))]
    if isinstance(new, str) and new.startswith('['):
        new = json.loads(new)
    if parent is None:
        return new

    parent[key] = new
    return value


def fuzz(model_path, folder, extra_bytes):
    """Load every mutation of the model, each under a CPU budget, with at most
    ``extra_bytes`` more memory than now (``RLIMIT_DATA``: a larger allocation fails with
    ``MemoryError``); return how many loaded, or raise naming the first failure."""
    limit = vm_data() + extra_bytes
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    content = pathlib.Path(model_path).read_bytes()
    loaded = 0
    for label, mutated in mutations(content, np.random.default_rng(11)):
        path = write(pathlib.Path(folder), 'fuzzed', mutated)
        start = time.process_time()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                GWMSynthesizer.load(path, allow_pickle=False)
            loaded += 1
        except (ModelFileError, VersionError) as error:
            if isinstance(error.__cause__, MemoryError):
                raise AssertionError(f'{label}: needed more than {extra_bytes} bytes') from error

        seconds = time.process_time() - start
        assert seconds < MAX_SECONDS, f'{label}: took {seconds:.1f} s'

    return loaded


def vm_data():
    """The data segment of this process, in bytes (Linux)."""
    with open('/proc/self/status') as status:
        line = next(line for line in status if line.startswith('VmData:'))

    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not os.path.exists('/proc/self/status'), reason='needs Linux /proc')
def test_fuzzed_files_give_only_model_file_or_version_errors(model_file, tmp_path):
    """1,200 corrupted files in a fresh process whose memory is capped at 512 MB more."""
    model_path = write(tmp_path, 'model', model_file)
    code = (
        'import sys, test_untrusted_files as t; '
        f'print(t.fuzz({str(model_path)!r}, {str(tmp_path)!r}, {MAX_PEAK * 2}))'
    )
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(TESTS), *sys.path])}
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = int(result.stdout.strip().splitlines()[-1])
    assert loaded < NUM_FUZZED / 4  # most mutations are caught, not ignored
