"""Smoke-run every example with tiny settings, in-process (runpy), checking what they print."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / 'examples'

pytestmark = pytest.mark.filterwarnings('ignore')


def run_example(monkeypatch, capsys, name, *arguments):
    path = EXAMPLES / name
    monkeypatch.setattr(sys, 'argv', [str(path), *arguments])
    runpy.run_path(str(path), run_name='__main__')
    return capsys.readouterr().out


def test_every_example_is_tested():
    tested = {
        'quickstart.py',
        'conditional_sampling.py',
        'repeated_synthesis.py',
        'compare_peers.py',
    }
    assert {path.name for path in EXAMPLES.glob('*.py')} == tested


def test_quickstart(monkeypatch, capsys):
    printed = run_example(monkeypatch, capsys, 'quickstart.py', '--rows', '100')
    assert 'Overall score' in printed
    assert 'Covariance relative error' in printed
    assert 'mba_perc' in printed


def test_conditional_sampling(monkeypatch, capsys):
    printed = run_example(monkeypatch, capsys, 'conditional_sampling.py', '--rows', '20')
    lines = printed.splitlines()
    assert lines[1].split() == ['F', 'True', '20']
    assert lines[2].split() == ['M', 'False', '20']
    assert 'Group means, real vs synthetic' in printed


def test_repeated_synthesis(monkeypatch, capsys, tmp_path):
    html = tmp_path / 'study.html'
    arguments = ['--generations', '1', '--chains', '1', '--html', str(html)]
    printed = run_example(monkeypatch, capsys, 'repeated_synthesis.py', *arguments)
    assert 'theory: 0.78^k' in printed
    assert 'mixup-beta0.4' in printed
    assert 'ML efficacy (f1_macro' in printed
    assert html.stat().st_size > 0


def test_compare_peers(monkeypatch, capsys):
    printed = run_example(monkeypatch, capsys, 'compare_peers.py', '--epochs', '1')
    for name in ('GWM', 'GaussianCopula', 'CTGAN (1 epochs)', 'SDV quality score'):
        assert name in printed
