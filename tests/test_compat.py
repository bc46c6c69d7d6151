"""Every private SDV/RDT/sdmetrics name sdv-gwm uses exists in the installed versions.

An upgrade that removes or renames one fails here, naming it, instead of somewhere deep in
fitting, sampling or saving.
"""

import ast
import importlib
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from rdt.transformers import FloatFormatter
from sdv.metadata import Metadata

from sdv_gwm import GWMSynthesizer, _compat

PACKAGE = pathlib.Path(_compat.__file__).parent


def fitted_instances():
    """A fitted GWMSynthesizer and the fitted objects inside it, by class path."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            'x': rng.normal(size=30).round(2),
            'when': pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.integers(0, 99, 30), 'D'),
            'email': [f'u{k}@example.org' for k in range(30)],
        }
    )
    metadata = Metadata.detect_from_dataframes({'t': table})
    metadata.update_column('email', table_name='t', sdtype='email', pii=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer = GWMSynthesizer(metadata).fit(table)

    transformers = synthesizer.get_transformers()
    processor = synthesizer._data_processor
    with_nulls = FloatFormatter(missing_value_replacement='mean')
    with_nulls.fit(table, 'x')
    return [
        synthesizer,
        processor,
        processor._hyper_transformer,
        processor.formatters['x'],
        *transformers.values(),
        with_nulls.null_transformer,
    ]


@pytest.fixture(scope='module')
def instances():
    return fitted_instances()


@pytest.mark.parametrize('owner, name', _compat.PRIVATE, ids=[n for _, n in _compat.PRIVATE])
def test_private_name_still_exists(owner, name, instances):
    if owner.rpartition('.')[2].startswith('_'):  # a private module
        found = hasattr(importlib.import_module(owner), name)
    else:
        module, _, class_name = owner.rpartition('.')
        cls = getattr(importlib.import_module(module), class_name)
        fitted = [instance for instance in instances if isinstance(instance, cls)]
        assert fitted or hasattr(cls, name), f'no fitted {owner} to check {name} on'
        found = hasattr(cls, name) or any(name in vars(instance) for instance in fitted)

    assert found, f'{owner}.{name} is gone: update sdv_gwm/_compat.py for this version'


def private_reads_outside_compat():
    """``obj._name`` reads in the package where ``obj`` is not ``self``/``cls``/``super()``."""
    own = {'self', 'cls', 'synthesizer', 'original', 'rebuilt', 'unrounded', 'loaded'}
    found = set()
    for path in PACKAGE.rglob('*.py'):
        if path.name == '_compat.py':
            continue

        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith('_')):
                continue
            if node.attr.startswith('__'):
                continue

            base = node.value
            if isinstance(base, ast.Call) and getattr(base.func, 'id', None) == 'super':
                found.add((path.name, f'super().{node.attr}'))
            elif isinstance(base, ast.Name) and base.id in own:
                found.add((path.name, node.attr))
            else:
                found.add((path.name, ast.unparse(node)))

    return found


def test_private_names_used_are_listed_in_compat():
    """A private name of SDV/RDT/sdmetrics read anywhere in the package is in PRIVATE."""
    listed = {name for _, name in _compat.PRIVATE}
    own = set()
    for path in PACKAGE.rglob('*.py'):
        tree = ast.parse(path.read_text())
        own |= {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        }
        own |= {
            target.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for assigned in node.targets
            for target in (assigned.elts if isinstance(assigned, ast.Tuple) else [assigned])
            if isinstance(target, ast.Attribute)
        }

    unlisted = set()
    for filename, access in private_reads_outside_compat():
        name = access.rsplit('.', 1)[-1]
        if name not in listed and name not in own:
            unlisted.add(f'{filename}: {access}')

    assert not unlisted, f'private names used but not in _compat.PRIVATE: {sorted(unlisted)}'


def test_private_names_read_in_compat_are_listed():
    """Each private name ``_compat``'s accessors read or import is in ``PRIVATE``."""
    listed = {name for _, name in _compat.PRIVATE}
    private_modules = {owner for owner, _ in _compat.PRIVATE}
    used = set()
    for node in ast.walk(ast.parse(pathlib.Path(_compat.__file__).read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith('_'):
            if not node.attr.startswith('__'):
                used.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and '._' in f'.{node.module}':
            assert node.module in private_modules, f'{node.module} is not listed'
            used |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith('_') and node.value.isidentifier():
                used.add(node.value)

    assert used <= listed, f'read in _compat but not in PRIVATE: {sorted(used - listed)}'
