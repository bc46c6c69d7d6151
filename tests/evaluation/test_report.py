import copy
import json
import re
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation import report as report_module
from sdv_gwm.evaluation.report import (
    StructureReport,
    covariance_relative_error,
    cramers_v,
    eta_squared,
)

PROPERTIES = ['Moments', 'Covariance', 'Associations', 'Column Shapes', 'Column Pair Trends']
NUMERIC = ['x', 'y', 'z', 'when']


def make_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 2, n)
    y = 0.8 * x + rng.normal(0, 1, n)
    z = rng.exponential(3, n)
    z[::17] = np.nan  # nulls: nan-aware moments and pairwise-complete covariance
    when = pd.Timestamp('2020-01-01') + pd.to_timedelta(rng.uniform(0, 365, n), unit='D')
    return pd.DataFrame(
        {
            'id': np.arange(n),
            'x': x,
            'y': y,
            'z': z,
            'when': when,
            'color': rng.choice(['red', 'green', 'blue', None], n, p=[0.4, 0.3, 0.2, 0.1]),
            'flag': rng.random(n) < 0.3,
        }
    )


METADATA = {
    'columns': {
        'id': {'sdtype': 'id'},
        'x': {'sdtype': 'numerical'},
        'y': {'sdtype': 'numerical'},
        'z': {'sdtype': 'numerical'},
        'when': {'sdtype': 'datetime', 'datetime_format': '%Y-%m-%d %H:%M:%S'},
        'color': {'sdtype': 'categorical'},
        'flag': {'sdtype': 'boolean'},
    },
    'primary_key': 'id',
}


def shrink(real, factor, columns=('x', 'y', 'z')):
    """Real data shrunk by `factor` around the real mean of each numeric column."""
    synthetic = real.copy()
    for column in columns:
        mean = real[column].mean()
        synthetic[column] = mean + factor * (real[column] - mean)
    return synthetic


def generated(real, synthetic, metadata=METADATA):
    report = StructureReport()
    report.generate(real, synthetic, metadata, verbose=False)
    return report


@pytest.fixture(scope='module')
def real():
    return make_table()


@pytest.fixture(scope='module')
def identical_report(real):
    return generated(real, real.copy())


@pytest.fixture(scope='module')
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_dataset('student_placements')


def test_identical_tables_are_perfect(identical_report):
    moments = identical_report.get_details('Moments').set_index('Column')
    assert list(moments.index) == NUMERIC
    np.testing.assert_allclose(moments['Mean Shift'], 0, atol=1e-12)
    np.testing.assert_allclose(moments['Std Ratio'], 1, rtol=1e-12)
    np.testing.assert_allclose(moments['Skewness Difference'], 0, atol=1e-12)
    np.testing.assert_allclose(moments['Kurtosis Difference'], 0, atol=1e-12)
    np.testing.assert_allclose(moments['Score'], 1, rtol=1e-12)

    covariance = identical_report.get_details('Covariance')
    assert len(covariance) == 6  # every pair of the four numeric columns
    np.testing.assert_allclose(covariance['Covariance Error'], 0, atol=1e-12)
    np.testing.assert_allclose(covariance['Correlation Error'], 0, atol=1e-12)
    assert identical_report.covariance_relative_error == pytest.approx(0, abs=1e-12)

    properties = identical_report.get_properties()
    assert list(properties.columns) == ['Property', 'Score']
    assert list(properties['Property']) == PROPERTIES
    np.testing.assert_allclose(properties['Score'], 1, rtol=1e-9)
    assert identical_report.get_score() == pytest.approx(1)


def test_shrunk_by_half(real):
    synthetic = shrink(real, 0.5)
    report = generated(real, synthetic)
    moments = report.get_details('Moments').set_index('Column')
    np.testing.assert_allclose(moments.loc[['x', 'y', 'z'], 'Std Ratio'], 0.5, rtol=1e-12)
    np.testing.assert_allclose(moments.loc[['x', 'y', 'z'], 'Mean Shift'], 0, atol=1e-12)
    # shape statistics are scale invariant
    np.testing.assert_allclose(moments['Skewness Difference'], 0, atol=1e-9)
    np.testing.assert_allclose(moments.loc['when', 'Std Ratio'], 1, rtol=1e-12)

    # every column shrunk: C_syn = C_real / 4 exactly
    all_shrunk = real.copy()
    all_shrunk[['x', 'y', 'z']] = synthetic[['x', 'y', 'z']]
    mean_when = real['when'].mean()
    all_shrunk['when'] = mean_when + (real['when'] - mean_when) / 2
    report = generated(real, all_shrunk)
    assert report.covariance_relative_error == pytest.approx(0.75, rel=1e-9)
    assert report.get_properties().set_index('Property').loc['Covariance', 'Score'] == (
        pytest.approx(0.25, rel=1e-9)
    )
    assert covariance_relative_error(real, all_shrunk, NUMERIC) == pytest.approx(0.75, rel=1e-9)
    np.testing.assert_allclose(report.get_details('Covariance')['Correlation Error'], 0, atol=1e-9)


def test_mean_shift_in_real_std_units(real):
    synthetic = real.copy()
    synthetic['x'] = real['x'] + 0.5 * real['x'].std()
    moments = generated(real, synthetic).get_details('Moments').set_index('Column')
    assert moments.loc['x', 'Mean Shift'] == pytest.approx(0.5, rel=1e-12)
    assert moments.loc['x', 'Std Ratio'] == pytest.approx(1, rel=1e-12)
    # shift 0.5 -> 1 / 1.5; the other three parts are perfect
    assert moments.loc['x', 'Score'] == pytest.approx((1 / 1.5 + 3) / 4)


@given(st.floats(min_value=0.05, max_value=3.0))
@settings(max_examples=25, deadline=None)
def test_covariance_relative_error_of_a_rescaling(factor):
    real = make_table(60, seed=3)
    synthetic = shrink(real, factor)
    error = covariance_relative_error(real, synthetic, ['x', 'y', 'z'])
    assert error == pytest.approx(abs(factor**2 - 1), rel=1e-9, abs=1e-12)


def test_covariance_relative_error_is_pairwise_complete():
    real = pd.DataFrame({'a': [1.0, 2, 3, 4, np.nan, 6], 'b': [2.0, np.nan, 1, 5, 3, 4]})
    z = (real - real.mean()) / real.std()
    # synthetic drops rows: its covariance is over different complete pairs
    synthetic = real.iloc[[0, 2, 3, 4, 5]]
    zs = (synthetic - real.mean()) / real.std()
    difference = zs.cov().to_numpy() - z.cov().to_numpy()
    expected = np.linalg.norm(difference) / np.linalg.norm(z.cov().to_numpy())
    assert covariance_relative_error(real, synthetic, ['a', 'b']) == pytest.approx(expected)
    assert covariance_relative_error(real, real, ['a', 'b']) == 0


def test_covariance_relative_error_bad_input(real):
    with pytest.raises(ValueError, match="'nope'"):
        covariance_relative_error(real, real, ['x', 'nope'])
    with pytest.raises(ValueError, match="'x'.*synthetic"):
        covariance_relative_error(real, real.drop(columns='x'), ['x', 'y'])
    constant = real.assign(x=1.0)
    with pytest.raises(ValueError, match="'x'.*standard deviation"):
        covariance_relative_error(constant, real, ['x', 'y'])
    with pytest.raises(ValueError, match='at least one column'):
        covariance_relative_error(real, real, [])


def test_each_categorical_column_is_scored_once(real):
    # Only the categories differ: the real color frequencies are 0.4/0.3/0.2 (+0.1 null);
    # the synthetic one is all 'red' where the real one is not null.
    synthetic = real.assign(color=real['color'].where(real['color'].isna(), 'red'))
    report = generated(real, synthetic)
    scored = [
        column
        for name in PROPERTIES
        for column in report.get_details(name).get('Column', pd.Series(dtype=object))
    ]
    assert scored.count('color') == 1
    assert scored.count('flag') == 1

    # That one score is sdmetrics' TVComplement on the non-null values: 1 - TVD(p, red only).
    shapes = report.get_details('Column Shapes').set_index('Column')
    p_red = (real['color'] == 'red').sum() / real['color'].notna().sum()
    assert shapes.loc['color', 'Metric'] == 'TVComplement'
    assert shapes.loc['color', 'Score'] == pytest.approx(p_red)

    properties = report.get_properties().set_index('Property')['Score']
    assert list(properties.index) == PROPERTIES
    assert properties['Moments'] == pytest.approx(1)
    assert properties['Covariance'] == pytest.approx(1)
    assert report.get_score() == pytest.approx(properties.mean())


def test_missing_values(real):
    synthetic = real.copy()
    synthetic.loc[:99, 'x'] = np.nan
    synthetic['z'] = synthetic['z'].fillna(0.0)
    report = generated(real, synthetic)
    missing = report.get_missing_values().set_index('Column')
    assert list(missing.index) == list(METADATA['columns'])
    assert missing.loc['x', 'Real Missing Share'] == 0
    assert missing.loc['x', 'Synthetic Missing Share'] == 100 / len(real)
    z_share = real['z'].isna().mean()
    assert z_share == pytest.approx(24 / 400)  # every 17th row
    assert missing.loc['z', 'Real Missing Share'] == z_share
    assert missing.loc['z', 'Difference'] == -z_share
    assert missing.loc['color', 'Synthetic Missing Share'] == real['color'].isna().mean()
    np.testing.assert_array_equal(missing.loc[['y', 'when', 'flag', 'id'], 'Difference'], 0)


def test_correlation_heatmap_scale_fits_the_errors(real, identical_report):
    synthetic = real.copy()
    synthetic['y'] = 0.9 * real['y'] + 0.1 * real['y'].mean()  # same correlations...
    synthetic.loc[::7, 'y'] = real['y'].mean()  # ...but a few hundredths off after this
    report = generated(real, synthetic)
    errors = report.get_details('Covariance')['Correlation Error'].abs()
    assert 0.01 < errors.max() < 0.5
    heatmap = report.get_visualization('Covariance').data[0]
    assert heatmap.zmax == pytest.approx(errors.max())
    assert heatmap.zmin == pytest.approx(-errors.max())

    assert heatmap.texttemplate == '%{z:.3f}'  # four columns: the values are printed

    # A perfect match does not blow noise up to full color: the scale stays at 0.01.
    assert identical_report.get_visualization('Covariance').data[0].zmax == 0.01


def test_wide_heatmap_has_no_cell_text():
    rng = np.random.default_rng(2)
    table = pd.DataFrame(rng.normal(size=(60, 13)), columns=[f'c{i}' for i in range(13)])
    metadata = {'columns': {name: {'sdtype': 'numerical'} for name in table}}
    heatmap = generated(table, table * 1.1, metadata).get_visualization('Covariance').data[0]
    assert np.asarray(heatmap.z).shape == (13, 13)
    assert heatmap.texttemplate is None


def test_to_json(real, tmp_path):
    report = generated(real, shrink(real, 0.6))
    path = tmp_path / 'report.json'
    text = report.to_json(path)
    assert path.read_text() == text
    content = json.loads(text, parse_constant=pytest.fail)
    assert content['table_name'] == 'table'
    assert content['overall_score'] == pytest.approx(report.get_score())
    assert content['covariance_relative_error'] == report.covariance_relative_error
    properties = report.get_properties()
    assert [row['Property'] for row in content['properties']] == PROPERTIES
    scores = [row['Score'] for row in content['properties']]
    np.testing.assert_allclose(scores, properties['Score'])
    moments = pd.DataFrame(content['details']['Moments'])
    pd.testing.assert_frame_equal(moments, report.get_details('Moments'), check_dtype=False)
    missing = pd.DataFrame(content['missing_values'])
    pd.testing.assert_frame_equal(missing, report.get_missing_values(), check_dtype=False)
    assert content['info']['num_rows_real_data'] == len(real)


def test_undefined_scores_are_null_in_json_and_na_in_html():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({'v': rng.normal(size=50), 'c': rng.choice(['a', 'b'], 50)})
    metadata = {'columns': {'v': {'sdtype': 'numerical'}, 'c': {'sdtype': 'categorical'}}}
    report = generated(table, table.copy(), metadata)
    content = json.loads(report.to_json(), parse_constant=pytest.fail)
    assert content['covariance_relative_error'] is None  # one numeric column: no matrix
    covariance = [row for row in content['properties'] if row['Property'] == 'Covariance']
    assert covariance[0]['Score'] is None
    assert 'Covariance relative error: <b>N/A</b>' in report.to_html()


def _figure_ids(page):
    return re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', page)


def test_to_html(real, tmp_path):
    synthetic = shrink(real, 0.8)
    synthetic.loc[:9, 'x'] = np.nan
    report = generated(real, synthetic)
    path = tmp_path / 'report.html'
    page = report.to_html(path, real_name='real.csv', synthetic_name='<synthetic>.csv')
    assert path.read_text(encoding='utf-8') == page
    assert page.startswith('<!DOCTYPE html>')
    assert '&lt;synthetic&gt;.csv' in page
    assert f'Overall score: <b>{report.get_score():.3f}</b>' in page

    # One figure per property and per numerical, datetime, categorical or boolean column
    # (not the id), each with its own data.
    plotted = ['x', 'y', 'z', 'when', 'color', 'flag']
    assert len(set(_figure_ids(page))) == len(PROPERTIES) + len(plotted)
    for column in plotted:
        assert f"Real vs. Synthetic Data for column '{column}'" in page
    assert "column 'id'" not in page

    # plotly.js is inlined once, and nothing is loaded from elsewhere.
    assert page.count('<script>/**\n* plotly.js v') == 1
    assert not re.search(r'<script[^>]+src=', page)
    assert not re.search(r'<link[^>]+href=', page)

    # The missing-value section lists the columns with nulls.
    section = page[page.index('<h2>Missing values</h2>') : page.index('<h2>Columns</h2>')]
    rows = re.findall(r'<tr>\s*<td>([^<]+)</td>', section)
    assert rows == ['x', 'z', 'color']
    assert '4 of 7 columns have no missing values' in section


def test_plots_use_a_bounded_sample(monkeypatch, real):
    monkeypatch.setattr(report_module, 'PLOT_ROWS', 50)
    report = generated(real, real.copy())
    real_sample, synthetic_sample = report._plot_samples
    assert len(real_sample) == len(synthetic_sample) == 50
    assert list(real_sample.columns) == ['x', 'y', 'z', 'when', 'color', 'flag']
    assert real_sample['x'].isin(real['x']).all()


def test_constant_column_gets_bars_not_a_failed_density():
    table = pd.DataFrame({'v': [1.0] * 30, 'w': np.arange(30.0), 'u': np.arange(30.0) ** 2})
    metadata = {'columns': {name: {'sdtype': 'numerical'} for name in table}}
    page = generated(table, table.copy(), metadata).to_html()
    assert 'No figure' not in page
    assert len(_figure_ids(page)) == len(PROPERTIES) + 3


def test_caller_frames_and_metadata_unchanged(real):
    real_before = real.copy()
    synthetic = shrink(real, 0.7)
    synthetic_before = synthetic.copy()
    metadata_before = copy.deepcopy(METADATA)
    generated(real, synthetic)
    pd.testing.assert_frame_equal(real, real_before)
    pd.testing.assert_frame_equal(synthetic, synthetic_before)
    assert METADATA == metadata_before


def test_datetime_strings_with_format(real):
    as_strings = real.assign(when=real['when'].dt.strftime('%Y-%m-%d %H:%M:%S'))
    report = generated(as_strings, as_strings.copy())
    moments = report.get_details('Moments').set_index('Column')
    assert moments.loc['when', 'Std Ratio'] == pytest.approx(1)
    # days since 1970-01-01
    assert 18262 < moments.loc['when', 'Real Mean'] < 18262 + 366


def test_metadata_forms_agree(real, demo):
    synthetic = shrink(real, 0.8)
    single = generated(real, synthetic, METADATA)
    multi = generated(real, synthetic, {'tables': {'things': METADATA}})
    pd.testing.assert_frame_equal(single.get_properties(), multi.get_properties())
    assert multi.table_name == 'things'

    data, metadata = demo
    from_object = generated(data, data, metadata)
    from_dict = generated(data, data, metadata.to_dict())
    pd.testing.assert_frame_equal(from_object.get_properties(), from_dict.get_properties())


def test_missing_column_is_named(real):
    with pytest.raises(ValueError, match="'color'.*synthetic_data"):
        generated(real, real.drop(columns='color'))
    with pytest.raises(ValueError, match="'x'.*real_data"):
        generated(real.drop(columns='x'), real)
    with pytest.raises(ValueError, match="'extra'.*not in the metadata"):
        generated(real, real.assign(extra=1))
    with pytest.raises(ValueError, match='DataFrame'):
        generated(real, real.to_dict())
    with pytest.raises(ValueError, match='2 tables'):
        generated(real, real, {'tables': {'a': METADATA, 'b': METADATA}})


def test_not_generated_and_bad_property():
    report = StructureReport()
    with pytest.raises(ValueError, match='generate'):
        report.get_score()
    with pytest.raises(ValueError, match='generate'):
        report.get_details('Moments')
    for render in (report.get_missing_values, report.to_json, report.to_html):
        with pytest.raises(ValueError, match='generate'):
            render()


def test_invalid_property_name(identical_report):
    with pytest.raises(ValueError, match="Invalid property name 'Nope'"):
        identical_report.get_details('Nope')


def test_visualizations_are_plotly_figures(identical_report):
    for name in PROPERTIES:
        figure = identical_report.get_visualization(name)
        assert isinstance(figure, go.Figure), name
        assert len(figure.data) >= 1, name

    moments = identical_report.get_visualization('Moments')
    assert list(moments.data[0].x) == list(moments.data[1].x) == NUMERIC
    np.testing.assert_allclose(moments.data[0].y, 1)  # std ratios
    np.testing.assert_allclose(moments.data[1].y, 1)  # column scores
    heatmap = identical_report.get_visualization('Covariance').data[0]
    assert isinstance(heatmap, go.Heatmap)
    assert np.asarray(heatmap.z).shape == (4, 4)


def test_save_load_round_trip(real, tmp_path):
    report = generated(real, shrink(real, 0.6))
    path = tmp_path / 'report.pkl'
    report.save(path)
    loaded = StructureReport.load(path)
    assert isinstance(loaded, StructureReport)
    assert loaded.get_score() == report.get_score()
    assert loaded.covariance_relative_error == report.covariance_relative_error
    pd.testing.assert_frame_equal(loaded.get_properties(), report.get_properties())
    for name in PROPERTIES:
        pd.testing.assert_frame_equal(loaded.get_details(name), report.get_details(name))
    assert isinstance(loaded.get_visualization('Column Shapes'), go.Figure)
    pd.testing.assert_frame_equal(loaded.get_missing_values(), report.get_missing_values())
    assert loaded.to_json() == report.to_json()
    assert loaded.get_info()['num_rows_real_data'] == len(real)


def test_verbose_prints_scores(real, capsys):
    StructureReport().generate(real, real, METADATA)
    out = capsys.readouterr().out
    for name in PROPERTIES:
        assert f'{name} Score' in out
    assert 'Overall Score (Average): 100.0%' in out


def test_demo_dataset(demo):
    data, metadata = demo
    synthetic = data.sample(frac=1, replace=True, random_state=0).reset_index(drop=True)
    report = generated(data, synthetic, metadata)
    properties = report.get_properties().set_index('Property')['Score']
    assert list(properties.index) == PROPERTIES
    assert report.get_score() == pytest.approx(properties.mean())
    # A bootstrap resample is not the real table: no property is perfect, none is far off.
    assert properties.between(0.8, 1).all()
    assert (properties < 1).all()

    moments = report.get_details('Moments')
    assert {'start_date', 'end_date', 'salary', 'duration'} <= set(moments['Column'])
    assert moments['Std Ratio'].notna().all()  # salary, dates have nulls: dropped
    shapes = report.get_details('Column Shapes').set_index('Column')
    assert set(shapes.loc[['gender', 'work_experience', 'placed'], 'Metric']) == {'TVComplement'}
    assert 'student_id' not in set(moments['Column']) | set(shapes.index)

    # sdmetrics' details pass through, and its real correlations match ours
    assert set(shapes.columns) == {'Metric', 'Score'}
    trends = report.get_details('Column Pair Trends').dropna(subset=['Real Correlation'])
    ours = report.get_details('Covariance').set_index(['Column 1', 'Column 2'])
    for _, row in trends.iterrows():
        key = (row['Column 1'], row['Column 2'])
        if key not in ours.index:
            key = key[::-1]
        assert ours.loc[key, 'Real Correlation'] == pytest.approx(row['Real Correlation'])


def test_eta_squared_closed_form():
    categories = pd.Series(['a', 'a', 'b', 'b', None, None])
    values = pd.Series([1.0, 3.0, 5.0, 7.0, 9.0, np.nan])
    # Means 2, 6, 9 (the null category has one value); overall mean 5, total SS 40.
    between = 2 * (2 - 5) ** 2 + 2 * (6 - 5) ** 2 + (9 - 5) ** 2
    assert eta_squared(categories, values) == pytest.approx(between / 40)
    assert np.isnan(eta_squared(categories, pd.Series([1.0] * 6)))


def test_cramers_v_known_tables():
    first = pd.Series(list('aabb') * 25)
    assert cramers_v(first, first) == pytest.approx(1.0)
    independent = pd.Series(list('xyxy') * 25)
    assert cramers_v(first, independent) == pytest.approx(0.0)
    table = np.array([[30, 10], [20, 40]])
    rows = np.repeat(['a', 'a', 'b', 'b'], table.ravel())
    columns = np.repeat(['x', 'y', 'x', 'y'], table.ravel())
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    expected = np.sqrt(chi2 / table.sum())
    assert cramers_v(pd.Series(rows), pd.Series(columns)) == pytest.approx(expected)
    assert np.isnan(cramers_v(first, pd.Series(['x'] * 100)))


def test_associations_and_class_means(real):
    synthetic = real.copy()
    synthetic.loc[synthetic['color'] == 'red', 'x'] += 1.0  # one class mean moves
    report = StructureReport()
    report.generate(real, synthetic, METADATA, verbose=False)
    details = report.get_details('Associations')
    assert set(details['Metric']) == {'eta^2', "Cramer's V"}
    pair = details[(details['Column 1'] == 'color') & (details['Column 2'] == 'y')]
    assert pair['Score'].iloc[0] == pytest.approx(1.0)
    means = report.class_means
    moved = means[(means['Category'] == 'red') & (means['Numerical Column'] == 'x')]
    assert moved['Synthetic Mean'].iloc[0] - moved['Real Mean'].iloc[0] == pytest.approx(1.0)
    kept = means[means['Numerical Column'] == 'y']
    np.testing.assert_allclose(kept['Z'], 0.0)
    assert report.get_visualization('Associations') is not None
