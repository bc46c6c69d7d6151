"""GWMSynthesizer as SDV finds and drives it: the add-on entry point and SDV 2's signatures."""

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

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


def installed_from_this_checkout():
    try:
        origin = json.loads(distribution('sdv-gwm').read_text('direct_url.json') or '{}')
    except PackageNotFoundError:
        return False

    return origin.get('url') == ROOT.as_uri()


@pytest.mark.skipif(
    not installed_from_this_checkout(),
    reason='sdv-gwm is not installed from this checkout (CI installs it in a fresh venv)',
)
def test_installed_package_is_found_by_sdv(tmp_path):
    """In the environment sdv-gwm is installed in (CI's fresh venv), as a user would import."""
    result = run_python(IMPORT, env={'PATH': '/usr/bin:/bin'}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'sdv_gwm.synthesizer'
