import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sdv_gwm import Beta
from sdv_gwm.cli import USAGE_ERROR, main
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import covariance_relative_error

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


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

    scores = json.loads(json_path.read_text())
    properties = {row['Property']: row['Score'] for row in scores['properties']}
    assert set(properties) == {
        'Moments',
        'Covariance',
        'Categories',
        'Associations',
        'Column Shapes',
        'Column Pair Trends',
    }
    assert all(0 <= score <= 1 for score in properties.values())
    numeric = ['wage', 'education', 'experience', 'age']
    expected = covariance_relative_error(real, synthetic, numeric)
    assert scores['covariance_relative_error'] == pytest.approx(expected)
    assert {row['Column'] for row in scores['details']['Moments']} == set(numeric)

    page = html_path.read_text()
    assert page.startswith('<!DOCTYPE html>')
    assert page.count('class="plotly-graph-div"') == len(properties)
    assert 'Column Pair Trends' in page


def test_undefined_scores_are_null_in_json(tmp_path):
    # One numeric column: no covariance matrix to compare, so that score is undefined.
    rng = np.random.default_rng(0)
    table = pd.DataFrame({'x': rng.normal(size=200), 'c': rng.choice(['a', 'b'], size=200)})
    real, synthetic, output = (tmp_path / name for name in ('r.csv', 's.csv', 'r.json'))
    table.to_csv(real, index=False)
    assert main(['synthesize', str(real), str(synthetic), '--quiet']) == 0
    page = tmp_path / 'r.html'
    arguments = ['report', str(real), str(synthetic), '--json', str(output), '--html', str(page)]
    assert main(arguments) == 0
    assert 'N/A' in page.read_text()
    scores = json.loads(output.read_text(), parse_constant=pytest.fail)
    assert scores['covariance_relative_error'] is None
    assert 0 < scores['overall_score'] <= 1


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
    code = main(arguments)
    err = capsys.readouterr().err
    assert code == USAGE_ERROR
    assert err.count('\n') == 1, err
    assert 'Traceback' not in err
    return err


def test_missing_file(capsys, tmp_path):
    err = _error(capsys, ['synthesize', str(tmp_path / 'nope.csv'), str(tmp_path / 'o.csv')])
    assert 'nope.csv' in err
    assert 'does not exist' in err


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
