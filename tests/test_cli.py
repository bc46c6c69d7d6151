import argparse
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sdv.metadata import Metadata

from sdv_gwm import Beta, GWMSynthesizer
from sdv_gwm.cli import USAGE_ERROR, build_parser, main
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import StructureReport, covariance_relative_error

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

DOCS = Path(__file__).resolve().parents[1] / 'docs' / 'cli.md'


@pytest.fixture(scope='module')
def cps(tmp_path_factory):
    """AER/CPS1985 written as CSV, with its SDV metadata as JSON."""
    folder = tmp_path_factory.mktemp('cps')
    data, metadata = load_dataset('AER/CPS1985')
    data.to_csv(folder / 'real.csv', index=False)
    metadata.save_to_json(folder / 'metadata.json')
    return folder


def test_help_runs_as_a_console_script():
    executable = shutil.which('sdv-gwm')
    command = [executable] if executable else [sys.executable, '-m', 'sdv_gwm.cli']
    result = subprocess.run(
        [*command, '--help'], capture_output=True, text=True, timeout=60, check=True
    )
    for text in ('synthesize', 'report', 'demo', 'examples:', 'sdv-gwm report real.csv'):
        assert text in result.stdout


def test_synthesize_then_report(cps, tmp_path, capsys):
    synthetic_path = tmp_path / 'synthetic.csv'
    assert main(['synthesize', str(cps / 'real.csv'), str(synthetic_path), '--seed', '1']) == 0
    real, synthetic = pd.read_csv(cps / 'real.csv'), pd.read_csv(synthetic_path)
    assert list(synthetic.columns) == list(real.columns)
    assert len(synthetic) == len(real)
    for column in ('wage', 'education', 'experience', 'age'):
        assert synthetic[column].between(real[column].min(), real[column].max()).all()
    for column in ('gender', 'occupation', 'union'):
        assert set(synthetic[column]) <= set(real[column])

    html_path, json_path = tmp_path / 'report.html', tmp_path / 'report.json'
    arguments = ['report', str(cps / 'real.csv'), str(synthetic_path)]
    assert main([*arguments, '--html', str(html_path), '--json', str(json_path)]) == 0
    printed = capsys.readouterr().out
    assert 'Overall score' in printed

    # The files hold what the report computes on the same tables and detected metadata.
    metadata = Metadata.detect_from_dataframes({'real': real})
    expected_report = StructureReport()
    expected_report.generate(real, synthetic, metadata, verbose=False)
    expected_properties = expected_report.get_properties()
    scores = json.loads(json_path.read_text())
    properties = {row['Property']: row['Score'] for row in scores['properties']}
    assert list(properties) == list(expected_properties['Property'])
    np.testing.assert_allclose(list(properties.values()), expected_properties['Score'])
    assert scores['overall_score'] == pytest.approx(expected_report.get_score())
    assert f'Overall score: {expected_report.get_score():.3f}' in printed
    numeric = ['wage', 'education', 'experience', 'age']
    expected = covariance_relative_error(real, synthetic, numeric)
    assert scores['covariance_relative_error'] == pytest.approx(expected)
    assert {row['Column'] for row in scores['details']['Moments']} == set(numeric)

    page = html_path.read_text()
    assert page.startswith('<!DOCTYPE html>')
    # One figure per property and one per column (CPS1985 has no id or PII column).
    assert page.count('class="plotly-graph-div"') == len(properties) + len(real.columns)
    assert 'Column Pair Trends' in page
    assert f'Real: {cps / "real.csv"}' in page


def test_undefined_scores_are_null_in_json(tmp_path, capsys):
    # One numeric column: no covariance matrix to compare, so that score is undefined.
    rng = np.random.default_rng(0)
    table = pd.DataFrame({'x': rng.normal(size=200), 'c': rng.choice(['a', 'b'], size=200)})
    real, synthetic, output = (tmp_path / name for name in ('r.csv', 's.csv', 'r.json'))
    table.to_csv(real, index=False)
    assert main(['synthesize', str(real), str(synthetic), '--quiet']) == 0
    page = tmp_path / 'r.html'
    arguments = ['report', str(real), str(synthetic), '--json', str(output), '--html', str(page)]
    assert main(arguments) == 0
    assert 'Covariance relative error: N/A' in capsys.readouterr().out
    assert 'Covariance relative error: <b>N/A</b>' in page.read_text()
    scores = json.loads(output.read_text(), parse_constant=pytest.fail)
    assert scores['covariance_relative_error'] is None
    undefined = {row['Property'] for row in scores['properties'] if row['Score'] is None}
    assert undefined == {'Covariance', 'Column Pair Trends'}  # one numeric column, one pair
    defined = [row['Score'] for row in scores['properties'] if row['Score'] is not None]
    assert scores['overall_score'] == pytest.approx(np.mean(defined))


def test_seed_makes_output_reproducible(cps, tmp_path):
    paths = [tmp_path / f'{name}.csv' for name in ('a', 'b', 'c')]
    for path, seed in zip(paths, ('5', '5', '6'), strict=True):
        arguments = ['synthesize', str(cps / 'real.csv'), str(path), '--rows', '50']
        assert main([*arguments, '--seed', seed, '--quiet']) == 0

    first, second, other = (pd.read_csv(path) for path in paths)
    assert len(first) == 50
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(other)


def test_metadata_mix_within_and_weights(cps, tmp_path):
    output = tmp_path / 'synthetic.csv'
    arguments = [
        'synthesize',
        str(cps / 'real.csv'),
        str(output),
        '--metadata',
        str(cps / 'metadata.json'),
        '--mix-within',
        'gender',
        '--weights',
        'beta',
        '--rows',
        '4000',
        '--quiet',
    ]
    assert main(arguments) == 0
    real, synthetic = pd.read_csv(cps / 'real.csv'), pd.read_csv(output)
    # Classic mixup within gender keeps each gender's mean wage; with 4000 rows the
    # synthetic group mean is within 4 standard errors of the real one.
    for gender, rows in real.groupby('gender'):
        synthetic_wages = synthetic.loc[synthetic['gender'] == gender, 'wage']
        error = 4 * rows['wage'].std() / np.sqrt(len(synthetic_wages))
        assert synthetic_wages.mean() == pytest.approx(rows['wage'].mean(), abs=error)

    # ... and shrinks the within-gender variance by the Beta(0.4) factor 0.78. The sample
    # variance of n rows has relative sd sqrt((kurtosis + 2) / n); mixing averages rows, so
    # the real within-gender kurtosis bounds the synthetic one.
    within = real.groupby('gender')['wage'].transform(lambda wage: wage - wage.mean())
    synthetic_within = synthetic.groupby('gender')['wage'].transform(lambda w: w - w.mean())
    relative_sd = np.sqrt((stats.kurtosis(within) + 2) / len(synthetic))
    expected = Beta(0.4).covariance_factor
    assert synthetic_within.var() / within.var() == pytest.approx(expected, rel=4 * relative_sd)


def test_demo_prints_a_summary(capsys):
    assert main(['demo', '--rows', '100', '--seed', '0']) == 0
    printed = capsys.readouterr().out
    assert "'student_placements'" in printed
    assert '100 synthetic rows' in printed
    for text in ('std ratio', 'salary', 'Covariance relative error', 'SDV quality score'):
        assert text in printed

    score = float(printed.rsplit('SDV quality score:', 1)[1])
    assert 0.5 < score <= 1


def _error(capsys, arguments):
    """Run a failing command; return its one-line error message (progress lines aside)."""
    code = main(arguments)
    err = capsys.readouterr().err
    assert code == USAGE_ERROR
    assert 'Traceback' not in err
    errors = [line for line in err.splitlines() if ': error: ' in line]
    assert len(errors) == 1, err
    assert err.endswith(errors[0] + '\n')
    return errors[0]


def test_missing_file(capsys, tmp_path):
    err = _error(capsys, ['synthesize', str(tmp_path / 'nope.csv'), str(tmp_path / 'o.csv')])
    assert 'nope.csv' in err
    assert 'does not exist' in err
    assert not (tmp_path / 'o.csv').exists()


@pytest.mark.parametrize(
    'content, message',
    [
        (b'\x89PNG\r\n\x1a\n\x00\xff\xfe\x00binary', 'Could not read'),
        (b'a,b\n1,2\n3,4,5,6\n', 'Could not read'),
        (b'', 'Could not read'),
        (b'a,b\n', 'no data rows'),
    ],
)
def test_bad_csv(capsys, tmp_path, content, message):
    path = tmp_path / 'bad.csv'
    path.write_bytes(content)
    err = _error(capsys, ['synthesize', str(path), str(tmp_path / 'o.csv')])
    assert message in err


def test_unknown_mix_within_column(capsys, cps, tmp_path):
    arguments = ['synthesize', str(cps / 'real.csv'), str(tmp_path / 'o.csv')]
    err = _error(capsys, [*arguments, '--mix-within', 'gender', 'shoe_size'])
    assert "'shoe_size'" in err
    assert not (tmp_path / 'o.csv').exists()


@pytest.mark.parametrize(
    'content, message',
    [
        ('{not json', 'Invalid metadata file'),
        ('{"tables": {"t": {"columns": {"wage": {"sdtype": "nonsense"}}}}}', 'nonsense'),
        ('{"tables": {"t": 5}}', 'Invalid metadata file'),
        (
            json.dumps(
                {'tables': {name: {'columns': {'x': {'sdtype': 'numerical'}}} for name in 'ab'}}
            ),
            '2 tables',
        ),
    ],
)
def test_bad_metadata(capsys, cps, tmp_path, content, message):
    path = tmp_path / 'metadata.json'
    path.write_text(content)
    arguments = ['synthesize', str(cps / 'real.csv'), str(tmp_path / 'o.csv')]
    err = _error(capsys, [*arguments, '--metadata', str(path)])
    assert message in err


def test_metadata_of_another_table(capsys, cps, tmp_path):
    data, metadata = load_dataset('ISLR/Default')
    path = tmp_path / 'default.json'
    metadata.save_to_json(path)
    arguments = ['synthesize', str(cps / 'real.csv'), str(tmp_path / 'o.csv')]
    _error(capsys, [*arguments, '--metadata', str(path)])


def test_report_on_mismatched_tables(capsys, cps, tmp_path):
    other = tmp_path / 'other.csv'
    pd.DataFrame({'x': [1.0, 2.0, 3.0]}).to_csv(other, index=False)
    err = _error(capsys, ['report', str(cps / 'real.csv'), str(other)])
    assert 'missing' in err


def test_bad_command_line_exits_with_2(capsys):
    with pytest.raises(SystemExit) as raised:
        main(['synthesize', 'in.csv', 'out.csv', '--rows', '0'])
    assert raised.value.code == USAGE_ERROR
    assert 'positive integer' in capsys.readouterr().err


def test_discrete_donors_reach_the_synthesizer(capsys, cps, tmp_path):
    real = pd.read_csv(cps / 'real.csv')
    output = tmp_path / 'o.csv'
    arguments = ['synthesize', str(cps / 'real.csv'), str(output), '--rows', '2000', '--quiet']
    assert main([*arguments, '--seed', '3', '--discrete-donors', '2']) == 0

    synthetic = pd.read_csv(output)
    categorical = ['ethnicity', 'region', 'gender', 'occupation', 'sector', 'union', 'married']
    # With donors, a row's categorical values come from several real rows: far fewer rows
    # repeat a real row's whole categorical combination than the (all-from-one-parent) default.
    combinations = set(map(tuple, real[categorical].to_numpy()))
    matching = synthetic[categorical].apply(tuple, axis=1).isin(combinations).mean()
    assert matching < 0.8

    err = _error(capsys, [*arguments, '--discrete-donors', '-1'])
    assert 'discrete_donors' in err


def test_privacy_reaches_the_synthesizer(capsys, cps, tmp_path):
    output = tmp_path / 'o.csv'
    arguments = ['synthesize', str(cps / 'real.csv'), str(output), '--rows', '200', '--quiet']
    assert main([*arguments, '--seed', '3', '--privacy', 'balanced']) == 0
    assert len(pd.read_csv(output)) == 200

    err = _error(capsys, [*arguments, '--privacy', '1.5'])
    assert "'privacy'" in err


def test_directory_as_input(capsys, tmp_path):
    err = _error(capsys, ['synthesize', str(tmp_path), str(tmp_path / 'o.csv')])
    assert 'is a directory' in err
    assert 'does not exist' not in err
    err = _error(capsys, ['report', str(tmp_path), str(tmp_path)])
    assert 'is a directory' in err


@pytest.fixture
def no_work(monkeypatch):
    """Make fitting and scoring fail the test: a bad path must stop the command before."""

    def forbidden(*args, **kwargs):
        raise AssertionError('the command fitted or scored before checking its paths')

    monkeypatch.setattr(GWMSynthesizer, 'fit', forbidden)
    monkeypatch.setattr(StructureReport, 'generate', forbidden)


@pytest.mark.parametrize(
    'options, message',
    [
        (['{tmp}/missing/o.csv'], "'{tmp}/missing', which is not an existing directory"),
        (['{tmp}'], 'is a directory'),
        (['{real}'], 'is also the input'),
        (['{tmp}/o.csv', '--save-model', '{tmp}/missing/m.gwm'], '--save-model'),
        (['{tmp}/o.csv', '--save-metadata', '{tmp}'], '--save-metadata'),
        (['{tmp}/o.csv', '--save-model', '{tmp}/o.csv'], 'is also the output file'),
    ],
)
def test_bad_output_path_fails_before_fitting(capsys, cps, tmp_path, no_work, options, message):
    def fill(text):
        return text.format(tmp=tmp_path, real=cps / 'real.csv')

    err = _error(capsys, ['synthesize', str(cps / 'real.csv'), *map(fill, options)])
    assert fill(message) in err
    assert not (tmp_path / 'o.csv').exists()


@pytest.mark.parametrize('option', ['--html', '--json'])
def test_bad_report_path_fails_before_scoring(capsys, cps, tmp_path, no_work, option):
    real = str(cps / 'real.csv')
    err = _error(capsys, ['report', real, real, option, str(tmp_path / 'no' / 'r.html')])
    assert f'Cannot write {option}' in err


def test_write_error_is_one_line(capsys, cps, tmp_path, monkeypatch):
    def full_disk(self, *args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(pd.DataFrame, 'to_csv', full_disk)
    err = _error(capsys, ['synthesize', str(cps / 'real.csv'), str(tmp_path / 'o.csv')])
    assert 'No space left on device' in err


def _write_european(data, path):
    """Write a table as a spreadsheet in a decimal-comma locale does: ';' and '1,5'."""
    data.to_csv(path, sep=';', decimal=',', index=False)


@pytest.mark.parametrize('separator', [';', '\t', '|', 'european'])
def test_delimiter_is_detected(cps, tmp_path, separator):
    real = pd.read_csv(cps / 'real.csv')
    path = tmp_path / 'real.txt'
    if separator == 'european':
        _write_european(real, path)
        assert '7,78' in path.read_text()  # a wage with a decimal comma
    else:
        real.to_csv(path, sep=separator, index=False)

    output = tmp_path / 'o.csv'
    arguments = ['synthesize', str(path), str(output), '--seed', '2', '--quiet']
    assert main([*arguments, '--save-metadata', str(tmp_path / 'm.json')]) == 0
    synthetic = pd.read_csv(output)
    assert list(synthetic.columns) == list(real.columns)
    assert synthetic['wage'].dtype == float
    assert synthetic['wage'].between(real['wage'].min(), real['wage'].max()).all()
    assert set(synthetic['occupation']) <= set(real['occupation'])
    detected = Metadata.load_from_json(tmp_path / 'm.json').tables['real'].columns
    assert detected['wage']['sdtype'] == 'numerical'

    # The same table from a comma-separated file gives the same rows.
    comma = tmp_path / 'comma.csv'
    assert main(['synthesize', str(cps / 'real.csv'), str(comma), '--seed', '2', '-q']) == 0
    pd.testing.assert_frame_equal(synthetic, pd.read_csv(comma))


def test_undetectable_delimiter_is_refused(capsys, tmp_path):
    path = tmp_path / 'odd.csv'
    path.write_text('x;y\n1\n2\n')  # a semicolon header but one value per row
    err = _error(capsys, ['synthesize', str(path), str(tmp_path / 'o.csv')])
    assert 'Could not tell the delimiter' in err


def test_comma_csv_with_semicolons_in_quoted_text(tmp_path):
    path = tmp_path / 'notes.csv'
    rows = [f'{i},{i * 1.5},"a; b; {i % 3}"' for i in range(30)]
    path.write_text('id,value,note\n' + '\n'.join(rows) + '\n')
    output = tmp_path / 'o.csv'
    assert main(['synthesize', str(path), str(output), '-q']) == 0
    assert list(pd.read_csv(output).columns) == ['id', 'value', 'note']


def test_report_quiet_prints_nothing(capsys, cps, tmp_path):
    real = str(cps / 'real.csv')
    json_path = tmp_path / 'r.json'
    assert main(['report', real, real, '--json', str(json_path), '-q']) == 0
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err == ''
    assert json.loads(json_path.read_text())['overall_score'] == pytest.approx(1)


def test_save_metadata_and_model(capsys, cps, tmp_path):
    output, metadata_path, model_path = (tmp_path / name for name in ('o.csv', 'm.json', 'm.gwm'))
    metadata_path.write_text('{"old": "file"}')  # replaced
    arguments = ['synthesize', str(cps / 'real.csv'), str(output), '--seed', '4']
    options = ['--save-metadata', str(metadata_path), '--save-model', str(model_path)]
    assert main([*arguments, '--rows', '300', *options]) == 0
    printed = capsys.readouterr().out
    assert f'Wrote the model to {model_path}' in printed
    assert 'contains the real rows' in printed

    real = pd.read_csv(cps / 'real.csv')
    detected = Metadata.detect_from_dataframes({'real': real})
    assert Metadata.load_from_json(metadata_path).to_dict() == detected.to_dict()

    # The saved model, loaded without pickle and seeded the same, samples the written rows.
    model = GWMSynthesizer.load(model_path, allow_pickle=False)
    model.set_random_state(4)
    resampled = tmp_path / 'resampled.csv'
    model.sample(300).to_csv(resampled, index=False)
    pd.testing.assert_frame_equal(pd.read_csv(resampled), pd.read_csv(output))

    # The saved metadata, passed back, gives the same output.
    again = tmp_path / 'again.csv'
    arguments = ['synthesize', str(cps / 'real.csv'), str(again), '--seed', '4', '--rows', '300']
    assert main([*arguments, '--metadata', str(metadata_path), '-q']) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again), pd.read_csv(output))


def test_progress_lines_when_stderr_is_not_a_terminal(capsys, cps, tmp_path):
    arguments = ['synthesize', str(cps / 'real.csv'), str(tmp_path / 'o.csv'), '--rows', '10']
    assert main(arguments) == 0
    captured = capsys.readouterr()
    steps = ['Reading', 'Fitting', 'Sampling', 'Writing']
    assert captured.err.splitlines() == [f'sdv-gwm synthesize: {step} ...' for step in steps]
    assert captured.out.startswith('Wrote 10 synthetic rows')

    assert main([*arguments, '--quiet']) == 0
    assert capsys.readouterr() == ('', '')


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal(cps, tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, 'stderr', terminal)
    real = str(cps / 'real.csv')
    assert main(['report', real, real]) == 0
    shown = terminal.getvalue()
    assert 'Scoring' in shown
    assert '/3 [' in shown  # tqdm's "n/3 [elapsed<remaining" counter
    assert 'sdv-gwm report: Scoring ...' not in shown


def _subcommands():
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def _documented(name):
    """The usage block and the table's first cells of one command's section of docs/cli.md."""
    text = DOCS.read_text()
    section = text.split(f'## `sdv-gwm {name}`', 1)[1].split('\n## ', 1)[0]
    usage = re.search(r'```text\n(.*?)```', section, flags=re.S).group(1)
    cells = re.findall(r'^\| (`[^|]*`) \|', section, flags=re.M)
    return ' '.join(usage.split()), ' '.join(cells)


@pytest.mark.parametrize('name', ['synthesize', 'report', 'demo'])
def test_docs_list_every_option(name, monkeypatch):
    monkeypatch.setenv('COLUMNS', '100')
    subparser = _subcommands()[name]
    usage, cells = _documented(name)
    assert usage == ' '.join(subparser.format_usage().removeprefix('usage: ').split())

    documented = set(re.findall(r'`(-[-\w]+)', cells))
    documented |= set(re.findall(r'`([a-z]\w*)`', cells))
    expected = {'-h', '--help'}
    for action in subparser._actions:
        expected.update(action.option_strings or [action.dest])
    assert documented == expected - {'-h', '--help'}
