"""GWMSynthesizer as SDV finds and drives it: the add-on entry point and SDV 2's signatures."""

import inspect
import json
import subprocess
import sys
import warnings
from importlib.metadata import distributions
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sdv.errors import SamplingError, SynthesizerInputError
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer
from sdv.single_table.base import BaseSingleTableSynthesizer

from sdv_gwm import GWMSynthesizer

ROOT = Path(__file__).resolve().parents[1]
IMPORT = (
    'from sdv.single_table import GWMSynthesizer; import sdv_gwm; '
    'assert GWMSynthesizer is sdv_gwm.GWMSynthesizer; print(GWMSynthesizer.__module__)'
)


def run_python(code, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_built_metadata_declares_the_sdv_add_on(tmp_path):
    """The wheel's metadata (as setuptools builds it from pyproject.toml) plugs into SDV."""
    build = run_python(
        'import sys; from setuptools import build_meta; '
        f'print(build_meta.prepare_metadata_for_build_wheel({str(tmp_path)!r}))',
        cwd=ROOT,
    )
    assert build.returncode == 0, build.stderr
    dist_info = tmp_path / build.stdout.strip().splitlines()[-1]
    entry_points = (dist_info / 'entry_points.txt').read_text()
    assert '[sdv_modules]' in entry_points

    # The built dist-info first on the path: SDV's _find_addons reads it, not an older install.
    env = {'PYTHONPATH': f'{tmp_path}:{ROOT}', 'PATH': '/usr/bin:/bin'}
    result = run_python(IMPORT, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'sdv_gwm.synthesizer'
    assert 'Failed to' not in result.stderr  # SDV warns instead of failing on a bad add-on

    # Importing the package first (as the README does) loads the add-on as cleanly.
    package_first = (
        'import sdv_gwm; import sdv.single_table; '
        'assert sdv.single_table.GWMSynthesizer is sdv_gwm.GWMSynthesizer'
    )
    result = run_python(package_first, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'Failed to' not in result.stderr


def installed_from_this_checkout():
    # An editable install leaves sdv_gwm.egg-info in the checkout, which shadows the installed
    # metadata when the checkout is on sys.path: look at every distribution of that name.
    for installed in distributions(name='sdv-gwm'):
        url = json.loads(installed.read_text('direct_url.json') or '{}').get('url', '')
        if url.startswith('file://') and Path(url[len('file://') :]).resolve() == ROOT:
            return True

    return False


@pytest.mark.skipif(
    not installed_from_this_checkout(),
    reason='sdv-gwm is not installed from this checkout (CI installs it in a fresh venv)',
)
def test_installed_package_is_found_by_sdv(tmp_path):
    """In the environment sdv-gwm is installed in (CI's fresh venv), as a user would import."""
    result = run_python(IMPORT, env={'PATH': '/usr/bin:/bin'}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'sdv_gwm.synthesizer'


# --- SDV 2's sampling signatures -------------------------------------------------------------


def small_table(num_rows=60):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            'x': rng.normal(size=num_rows),
            'k': rng.integers(0, 50, num_rows),
            'c': rng.choice(['a', 'b', 'c'], num_rows),
        }
    )


def fit_quietly(synthesizer, data):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer.fit(data)

    return synthesizer


@pytest.fixture(scope='module')
def fitted_pair():
    table = small_table()
    metadata = Metadata.detect_from_dataframes({'t': table})
    gwm = fit_quietly(GWMSynthesizer(metadata), {'t': table})
    copula = fit_quietly(GaussianCopulaSynthesizer(metadata), {'t': table})
    return gwm, copula


@pytest.mark.parametrize(
    'method', ['sample', 'sample_from_conditions', 'sample_remaining_columns']
)
def test_sampling_methods_have_sdv_2_signatures(method):
    ours = inspect.signature(getattr(GWMSynthesizer, method)).parameters
    sdvs = inspect.signature(getattr(BaseSingleTableSynthesizer, method)).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in sdvs.values()
    ]


def test_sample_arguments_in_sdv_2_positional_order(fitted_pair, tmp_path):
    gwm, _ = fitted_pair
    gwm.reset_sampling()
    by_keyword = gwm.sample(num_rows=6, main_table_name='t', max_tries_per_batch=5, batch_size=3)
    gwm.reset_sampling()
    by_position = gwm.sample(6, 't', 5, 3, str(tmp_path))
    pd.testing.assert_frame_equal(by_keyword['t'], by_position['t'])
    assert len(pd.read_csv(tmp_path / 't.csv')) == 6
    with pytest.raises(ValueError, match="Table 'other' is not present"):
        gwm.sample(3, 'other')


def test_sample_zero_rows_answers_as_sdv(fitted_pair):
    gwm, copula = fitted_pair
    ours, sdvs = gwm.sample(0), copula.sample(0)
    assert list(ours) == list(sdvs) == ['t']
    pd.testing.assert_frame_equal(ours['t'], sdvs['t'])


def test_public_seed(fitted_pair):
    gwm, _ = fitted_pair
    gwm.set_random_state(7)
    first = gwm.sample(50)['t']
    gwm.set_random_state(7)
    pd.testing.assert_frame_equal(gwm.sample(50)['t'], first)
    gwm.set_random_state(8)
    assert not gwm.sample(50)['t'].equals(first)
    gwm.reset_sampling()
    after_reset = gwm.sample(50)['t']
    gwm.reset_sampling()
    pd.testing.assert_frame_equal(gwm.sample(50)['t'], after_reset)

    with pytest.raises(SamplingError, match='not been fitted'):
        GWMSynthesizer(gwm.get_metadata()).set_random_state(7)


def escaping_synthesizer():
    table = small_table()
    metadata = Metadata.detect_from_dataframes({'../escaped': table})
    return fit_quietly(GWMSynthesizer(metadata), table)


def test_table_name_cannot_write_outside_the_output_folder(tmp_path):
    synthesizer = escaping_synthesizer()
    folder = tmp_path / 'out'
    path = tmp_path / 'model.gwm'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        synthesizer.save(path, format='gwm')

    loaded = GWMSynthesizer.load(path, allow_pickle=False)
    known = pd.DataFrame({'c': ['a']})
    for model in (synthesizer, loaded):
        for sample in (
            lambda model=model: model.sample(5, output_folder_path=str(folder)),
            lambda model=model: model.sample_remaining_columns(
                known, output_folder_path=str(folder)
            ),
        ):
            with pytest.raises(SynthesizerInputError, match='would be outside that folder'):
                sample()

    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.gwm']
