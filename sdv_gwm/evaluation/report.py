"""Structure report: how well a synthetic table keeps the moments and covariance of a real one.

The :class:`StructureReport` follows the sdmetrics report conventions (``generate``,
``get_score``, ``get_properties``, ``get_details``, ``get_visualization``, ``save`` /
``load``) and subclasses :class:`sdmetrics.reports.base_report.BaseReport`, from which the
accessors and the pickling come. It works on the output of any synthesizer.

Column roles, read from the metadata:

- numeric columns: sdtype ``numerical``, plus ``datetime`` converted to days since
  1970-01-01 (the statistics below are scale and shift invariant, so the unit does not matter);
- categorical columns: sdtype ``categorical``, ``boolean`` and ``ordinal``;
- every other sdtype (``id``, ``email``, ...) is only checked for presence.

Properties, each with a score in [0, 1] (higher is better):

``Moments``
    Per numeric column, on its non-null values: the mean shift in real-std units
    ``(mean_syn - mean_real) / std_real``, the std ratio ``std_syn / std_real`` (``ddof=1``),
    and the differences (synthetic minus real) of ``scipy.stats.skew`` and of the excess
    ``scipy.stats.kurtosis`` (both with scipy's default ``bias=True``). Column score: the mean
    of ``1 / (1 + |mean shift|)``, ``min(ratio, 1 / ratio)``, ``1 / (1 + |skew diff|)`` and
    ``1 / (1 + |kurtosis diff|)``. Property score: mean over columns.
``Covariance``
    Both tables are standardized with the REAL mean and std of each numeric column, and
    their covariance matrices are computed **pairwise-complete** (each entry uses the rows
    where both columns are non-null, as :meth:`pandas.DataFrame.cov` does). The relative
    error is ``||C_syn - C_real||_F / ||C_real||_F`` (:func:`covariance_relative_error`);
    synthetic = real shrunk by ``c`` around the real mean gives exactly ``|c**2 - 1|``.
    Property score: ``1 - min(1, relative error)``. Details list every pair's covariance and
    correlation error. Columns whose real std is zero or undefined are left out.
``Associations``
    How the discrete columns relate to the others. For every categorical-numeric pair,
    ``eta^2``, the share of the numeric column's variance that the categories explain
    (:func:`eta_squared`), real and synthetic; for every categorical-categorical pair,
    Cramér's V (:func:`cramers_v`). Pair score ``1 - |synthetic - real|``; property score: mean
    over pairs. ``class_means`` (an attribute of the property, also
    ``StructureReport.class_means``) compares every class-conditional mean
    (:func:`class_means`), with its standard error.
``Column Shapes`` and ``Column Pair Trends``
    Taken unchanged from the sdmetrics ``QualityReport`` run inside :meth:`generate`
    (scores, details and visualizations pass through). ``Column Shapes`` scores every
    categorical column by ``TVComplement`` (one minus the total variation distance of the
    category frequencies), so categories have no property of their own: no column's category
    frequencies count twice in the overall score.

The overall score is the mean of the property scores, ignoring those that are undefined
(NaN), e.g. ``Covariance`` when there are fewer than two numeric columns, or sdmetrics'
``Column Pair Trends`` when no real pair passes sdmetrics' correlation threshold.

Not scored, but kept for reading: the share of missing values of every column in both tables
(:meth:`StructureReport.get_missing_values`), and a sample of both tables (at most
``PLOT_ROWS`` rows each) for the per-column figures of :meth:`StructureReport.to_html`.
"""

import copy
import html
import json
import sys
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats
from sdmetrics.reports.base_report import BaseReport

NUMERIC_SDTYPES = ('numerical', 'datetime')
CATEGORICAL_SDTYPES = ('categorical', 'boolean', 'ordinal')
DEFAULT_TABLE_NAME = 'table'
_NULL_CATEGORY = '<null>'
_EPOCH = pd.Timestamp('1970-01-01')
_SDMETRICS_PROPERTIES = ('Column Shapes', 'Column Pair Trends')
#: Rows of each table kept for the per-column figures of the HTML page.
PLOT_ROWS = 5_000
#: The smallest half-width of the correlation-error color scale.
MIN_COLOR_SCALE = 0.01
#: The correlation-error heatmap prints its values up to this many columns.
MAX_ANNOTATED_COLUMNS = 12


def _numeric_column(data, column, column_metadata=None):
    """Return one column as floats (datetimes as days since 1970-01-01, nulls as NaN).

    Args:
        data (pandas.DataFrame):
            The table.
        column (str):
            The column name.
        column_metadata (dict or None):
            The column's metadata; ``{'sdtype': 'datetime', 'datetime_format': ...}`` parses
            strings as datetimes. Defaults to None (numbers, or datetimes if the dtype is).

    Returns:
        pandas.Series:
            A new float Series; the input is not modified.

    Raises:
        ValueError: If the column cannot be read as numbers (or as datetimes).
    """
    column_metadata = column_metadata or {}
    series = data[column]
    is_datetime = column_metadata.get('sdtype') == 'datetime'
    try:
        if is_datetime or pd.api.types.is_datetime64_any_dtype(series):
            return (_datetime_column(series, column_metadata) - _EPOCH) / pd.Timedelta(days=1)

        return pd.to_numeric(series).astype(float)
    except (TypeError, ValueError) as error:
        kind = 'datetimes' if is_datetime else 'numbers'
        raise ValueError(f"Column '{column}' cannot be read as {kind}: {error}") from error


def _datetime_column(series, column_metadata):
    """Return a column as timezone-naive datetimes, parsing strings with the metadata format.

    Args:
        series (pandas.Series):
            The column.
        column_metadata (dict):
            The column's metadata (its ``datetime_format`` is used, if any).

    Returns:
        pandas.Series:
            A ``datetime64`` Series.
    """
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series, format=column_metadata.get('datetime_format') or 'mixed')

    if series.dt.tz is not None:
        series = series.dt.tz_convert(None)

    return series


def _standardized(real, synthetic, columns, columns_metadata=None):
    """Standardize the numeric columns of both tables by the real mean and std.

    Args:
        real (pandas.DataFrame):
            The real table.
        synthetic (pandas.DataFrame):
            The synthetic table.
        columns (list[str]):
            The numeric columns.
        columns_metadata (dict or None):
            Optional column -> column metadata (to parse ``datetime`` strings).
            Defaults to None.

    Returns:
        tuple[pandas.DataFrame, pandas.DataFrame]:
            The standardized real and synthetic columns (new frames).

    Raises:
        ValueError: If a column is missing, not numeric, or has a zero or undefined real std.
    """
    columns_metadata = columns_metadata or {}
    real_z, synthetic_z = {}, {}
    for column in columns:
        for name, frame in (('real', real), ('synthetic', synthetic)):
            if column not in frame.columns:
                raise ValueError(f"Column '{column}' is missing from the {name} data.")

        column_metadata = columns_metadata.get(column)
        real_values = _numeric_column(real, column, column_metadata)
        mean, std = real_values.mean(), real_values.std()
        if not np.isfinite(std) or std == 0:
            raise ValueError(
                f"Column '{column}' has a zero or undefined standard deviation in the real "
                'data, so it cannot be standardized.'
            )

        real_z[column] = (real_values - mean) / std
        synthetic_z[column] = (_numeric_column(synthetic, column, column_metadata) - mean) / std

    return pd.DataFrame(real_z, columns=list(columns)), pd.DataFrame(
        synthetic_z, columns=list(columns)
    )


def covariance_relative_error(real, synthetic, columns):
    """Relative Frobenius error of the synthetic covariance matrix.

    Both tables are standardized with the REAL mean and std (``ddof=1``) of each column, then
    ``||C_syn - C_real||_F / ||C_real||_F`` is computed from their covariance matrices. The
    matrices are **pairwise-complete**: entry ``(a, b)`` uses the rows where both ``a`` and
    ``b`` are non-null (:meth:`pandas.DataFrame.cov`), so nulls never drop a whole row.
    Synthetic data equal to the real data shrunk by a factor ``c`` around the real mean gives
    ``|c**2 - 1|`` (e.g. 0.75 for ``c = 0.5``).

    Args:
        real (pandas.DataFrame):
            The real table.
        synthetic (pandas.DataFrame):
            The synthetic table.
        columns (list[str]):
            Numeric columns (numbers, booleans or datetimes) to compare.

    Returns:
        float:
            The relative error (0 is perfect); NaN if a pair has no complete synthetic rows.

    Raises:
        ValueError: If ``columns`` is empty, or a column is missing from either table, is not
            numeric, or has a zero or undefined real std.
    """
    columns = list(columns)
    if not columns:
        raise ValueError('covariance_relative_error needs at least one column.')

    real_cov, synthetic_cov = _standardized_covariances(real, synthetic, columns)
    return _relative_error(real_cov, synthetic_cov)


def _standardized_covariances(real, synthetic, columns):
    """Pairwise-complete covariance matrices of both tables in real-standardized units.

    Args:
        real (pandas.DataFrame):
            The real table.
        synthetic (pandas.DataFrame):
            The synthetic table.
        columns (list[str]):
            The numeric columns.

    Returns:
        tuple[pandas.DataFrame, pandas.DataFrame]:
            The real and synthetic covariance matrices.
    """
    real_z, synthetic_z = _standardized(real, synthetic, columns)
    return real_z.cov(), synthetic_z.cov()


def _relative_error(real_cov, synthetic_cov):
    """Return ``||synthetic_cov - real_cov||_F / ||real_cov||_F``.

    Args:
        real_cov (pandas.DataFrame):
            The real covariance matrix.
        synthetic_cov (pandas.DataFrame):
            The synthetic covariance matrix.

    Returns:
        float:
            The relative error.
    """
    real_matrix = real_cov.to_numpy(dtype=float)
    difference = synthetic_cov.to_numpy(dtype=float) - real_matrix
    return float(np.sqrt(np.sum(difference**2)) / np.sqrt(np.sum(real_matrix**2)))


def _categories(series):
    """A column's values as strings, nulls as one category of their own."""
    series = series.astype(object)
    return series.where(series.notna(), _NULL_CATEGORY).astype(str)


def eta_squared(categories, values):
    """Share of a numeric column's variance explained by a categorical one (``eta^2``).

    ``sum_k n_k (mean_k - mean)^2 / sum_i (x_i - mean)^2`` over the rows where the numeric
    value is not null; null categories count as one category.

    Args:
        categories (pandas.Series):
            The categorical column.
        values (pandas.Series):
            The numeric column (floats), aligned with ``categories``.

    Returns:
        float:
            ``eta^2`` in [0, 1]; NaN if the numeric column is constant or empty.
    """
    keep = values.notna().to_numpy()
    values = values[keep].astype(float)
    groups = _categories(categories[keep])
    centred = values - values.mean()
    total = float((centred**2).sum())
    if not total > 0:
        return float('nan')

    class_means_ = centred.groupby(groups.to_numpy()).transform('mean')
    return float((class_means_**2).sum() / total)


def cramers_v(first, second):
    """Cramér's V between two categorical columns (nulls as one category).

    Args:
        first (pandas.Series):
            A categorical column.
        second (pandas.Series):
            Another, aligned with it.

    Returns:
        float:
            V in [0, 1] (scipy's ``association``, without correction); NaN if a column has
            a single category.
    """
    from scipy.stats.contingency import association

    codes = [pd.factorize(_categories(column))[0] for column in (first, second)]
    shape = tuple(int(code.max()) + 1 for code in codes)
    if min(shape) < 2:
        return float('nan')

    table = np.bincount(codes[0] * shape[1] + codes[1], minlength=shape[0] * shape[1])
    return float(association(table.reshape(shape), method='cramer'))


def class_means(real, synthetic, categorical, numeric):
    """Compare every class-conditional mean of the numeric columns.

    Args:
        real (pandas.DataFrame):
            The real table.
        synthetic (pandas.DataFrame):
            The synthetic table.
        categorical (list[str]):
            The categorical columns.
        numeric (dict):
            The numeric columns mapped to their metadata (may be None).

    Returns:
        pandas.DataFrame:
            One row per categorical column, category and numeric column: ``Real Mean``,
            ``Synthetic Mean``, ``Real Rows``, ``Synthetic Rows``, ``Shift`` (difference in
            real-std units of the numeric column), ``Synthetic Standard Error``
            ``s_syn / sqrt(n_syn)`` and ``Z``, the difference over its standard error
            ``sqrt(s_real^2 / n_real + s_syn^2 / n_syn)`` (NaN with fewer than two rows on a
            side).
    """
    rows = []
    groups = {
        (name, column): _categories(frame[column]).to_numpy()
        for name, frame in (('real', real), ('synthetic', synthetic))
        for column in categorical
    }
    for column, column_metadata in numeric.items():
        real_values = _numeric_column(real, column, column_metadata)
        synthetic_values = _numeric_column(synthetic, column, column_metadata)
        std = real_values.std()
        for category_column in categorical:
            stats_ = {
                name: values.groupby(groups[name, category_column]).agg(['mean', 'var', 'count'])
                for name, values in (('real', real_values), ('synthetic', synthetic_values))
            }

            both = stats_['real'].join(stats_['synthetic'], how='left', rsuffix='_syn')
            for category, row in both.iterrows():
                synthetic_error = np.sqrt(row['var_syn'] / row['count_syn'])
                error = np.sqrt(row['var'] / row['count'] + synthetic_error**2)
                difference = row['mean_syn'] - row['mean']
                rows.append(
                    {
                        'Categorical Column': category_column,
                        'Category': category,
                        'Numerical Column': column,
                        'Real Mean': row['mean'],
                        'Synthetic Mean': row['mean_syn'],
                        'Real Rows': int(row['count']),
                        'Synthetic Rows': int(np.nan_to_num(row['count_syn'])),
                        'Shift': difference / std if std > 0 else float('nan'),
                        'Synthetic Standard Error': synthetic_error,
                        'Z': difference / error if error > 0 else float('nan'),
                    }
                )

    columns = [
        'Categorical Column', 'Category', 'Numerical Column', 'Real Mean', 'Synthetic Mean',
        'Real Rows', 'Synthetic Rows', 'Shift', 'Synthetic Standard Error', 'Z',
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _table_metadata(metadata):
    """Normalize the accepted metadata forms to ``(table_name, single-table dict)``.

    Args:
        metadata (sdv.metadata.Metadata or dict):
            An SDV ``Metadata`` (anything with ``to_dict``), a multi-table dict
            ``{'tables': {name: {...}}}`` holding exactly one table, or a single-table dict
            ``{'columns': {...}}``.

    Returns:
        tuple[str, dict]:
            The table name and a deep copy of the table's metadata.

    Raises:
        ValueError: If the metadata has several or no tables, or no ``columns``.
    """
    if hasattr(metadata, 'to_dict') and not isinstance(metadata, dict):
        metadata = metadata.to_dict()

    if not isinstance(metadata, dict):
        raise ValueError(
            f'metadata must be an sdv.metadata.Metadata or a dict, not {type(metadata).__name__}.'
        )

    if 'tables' in metadata:
        tables = metadata['tables']
        if len(tables) != 1:
            raise ValueError(
                f'StructureReport compares a single table, but the metadata has {len(tables)} '
                f"tables ({', '.join(map(str, tables))}). Pass metadata['tables'][name] instead."
            )
        table_name, table_metadata = next(iter(tables.items()))
    else:
        table_name, table_metadata = DEFAULT_TABLE_NAME, metadata

    if not isinstance(table_metadata.get('columns'), dict):
        raise ValueError("The table metadata must have a 'columns' dict.")

    return str(table_name), copy.deepcopy(table_metadata)


def _color_scale_limit(errors):
    """The half-width of the heatmap's symmetric color scale: the largest error shown.

    A fixed -1..1 scale would leave the errors of a good synthesizer (a few hundredths)
    blank, so the scale follows the data, but never below 0.01, where the differences are
    noise.

    Args:
        errors (numpy.ndarray):
            The correlation errors (NaN where undefined).

    Returns:
        float:
            ``max(0.01, max |error|)``.
    """
    finite = np.abs(errors[np.isfinite(errors)])
    return max(MIN_COLOR_SCALE, float(finite.max())) if finite.size else MIN_COLOR_SCALE


class _Property:
    """A report property: its details table, score and visualization (sdmetrics' interface)."""

    def __init__(self):
        self.details = pd.DataFrame(columns=['Column', 'Score'])
        self.score = float('nan')
        self.is_computed = False

    def _compute_average(self):
        """Return the property score (called by ``BaseReport.get_properties``)."""
        return self.score

    def get_visualization(self):
        """Return a plotly Figure for the property."""
        raise NotImplementedError()


class _Moments(_Property):
    """Mean shift, std ratio, skewness and kurtosis differences per numeric column."""

    def compute(self, real, synthetic, numeric):
        """Fill the details and the score.

        Args:
            real (pandas.DataFrame):
                The real table.
            synthetic (pandas.DataFrame):
                The synthetic table.
            numeric (dict):
                The numeric columns mapped to their metadata.
        """
        rows = []
        for column, column_metadata in numeric.items():
            real_values = _numeric_column(real, column, column_metadata).dropna().to_numpy()
            synthetic_values = _numeric_column(synthetic, column, column_metadata)
            synthetic_values = synthetic_values.dropna().to_numpy()
            rows.append({'Column': column, **self._column_moments(real_values, synthetic_values)})

        columns = [
            'Column', 'Real Mean', 'Synthetic Mean', 'Mean Shift', 'Real Std', 'Synthetic Std',
            'Std Ratio', 'Skewness Difference', 'Kurtosis Difference', 'Score',
        ]  # fmt: skip
        self.details = pd.DataFrame(rows, columns=columns)
        self.score = float(self.details['Score'].mean()) if rows else float('nan')
        self.is_computed = True

    @staticmethod
    def _column_moments(real, synthetic):
        """Moment comparison of two 1-d float arrays without nulls.

        Args:
            real (numpy.ndarray):
                The real values.
            synthetic (numpy.ndarray):
                The synthetic values.

        Returns:
            dict:
                The detail columns of one row (NaN where undefined).
        """
        nan = float('nan')
        result = dict.fromkeys(
            ['Real Mean', 'Synthetic Mean', 'Mean Shift', 'Real Std', 'Synthetic Std',
             'Std Ratio', 'Skewness Difference', 'Kurtosis Difference', 'Score'],
            nan,
        )  # fmt: skip
        if len(real) < 2 or len(synthetic) < 2:
            return result

        real_mean, synthetic_mean = real.mean(), synthetic.mean()
        real_std, synthetic_std = real.std(ddof=1), synthetic.std(ddof=1)
        if real_std > 0:
            shift = (synthetic_mean - real_mean) / real_std
            ratio = synthetic_std / real_std
        else:  # a constant real column: any change is an infinite distortion
            shift = np.sign(synthetic_mean - real_mean) * np.inf
            shift = 0.0 if synthetic_mean == real_mean else shift
            ratio = 1.0 if synthetic_std == 0 else np.inf

        with np.errstate(all='ignore'):
            skew_diff = stats.skew(synthetic) - stats.skew(real)
            kurt_diff = stats.kurtosis(synthetic) - stats.kurtosis(real)

        ratio_score = min(ratio, 1 / ratio) if ratio > 0 else 0.0
        parts = [1 / (1 + abs(shift)), ratio_score, 1 / (1 + abs(skew_diff)),
                 1 / (1 + abs(kurt_diff))]  # fmt: skip
        result.update(
            {
                'Real Mean': real_mean,
                'Synthetic Mean': synthetic_mean,
                'Mean Shift': shift,
                'Real Std': real_std,
                'Synthetic Std': synthetic_std,
                'Std Ratio': ratio,
                'Skewness Difference': skew_diff,
                'Kurtosis Difference': kurt_diff,
                'Score': float(np.nanmean(parts)),
            }
        )
        return result

    def get_visualization(self):
        """Bars of the std ratio per numeric column (1 is perfect), with the column's score.

        Returns:
            plotly.graph_objects.Figure:
                The figure: the std ratio bars first, then the column scores as markers.
        """
        figure = go.Figure(
            go.Bar(
                name='Std ratio',
                x=self.details['Column'],
                y=self.details['Std Ratio'],
                customdata=self.details[
                    ['Mean Shift', 'Skewness Difference', 'Kurtosis Difference']
                ],  # fmt: skip
                hovertemplate=(
                    '%{x}<br>std ratio %{y:.3f}<br>mean shift %{customdata[0]:.3f}'
                    '<br>skew diff %{customdata[1]:.3f}<br>kurtosis diff %{customdata[2]:.3f}'
                    '<extra></extra>'
                ),
            )
        )
        # The score also counts the mean shift, skewness and kurtosis: a column can have a
        # perfect std ratio and a low score (e.g. heavy tails), which the markers show.
        figure.add_trace(
            go.Scatter(
                name='Column score',
                x=self.details['Column'],
                y=self.details['Score'],
                mode='markers',
                marker={'symbol': 'diamond', 'size': 11, 'color': '#d62728'},
                hovertemplate='%{x}<br>score %{y:.3f}<extra></extra>',
            )
        )
        figure.add_hline(y=1.0, line_dash='dash')
        figure.update_layout(
            title=f'Moments: synthetic / real std and score per column (score {self.score:.3f})',
            xaxis_title='Column',
            yaxis_title='Std ratio / score',
        )
        return figure


class _Covariance(_Property):
    """Covariance and correlation errors of the numeric columns, real-standardized."""

    def __init__(self):
        super().__init__()
        self.details = pd.DataFrame(columns=['Column 1', 'Column 2'])
        self.relative_error = float('nan')
        self.correlation_error = pd.DataFrame()

    def compute(self, real, synthetic, numeric):
        """Fill the details, the relative error and the score.

        Args:
            real (pandas.DataFrame):
                The real table.
            synthetic (pandas.DataFrame):
                The synthetic table.
            numeric (dict):
                The numeric columns mapped to their metadata.
        """
        usable = {}
        for column, column_metadata in numeric.items():
            std = _numeric_column(real, column, column_metadata).std()
            if np.isfinite(std) and std > 0:
                usable[column] = column_metadata

        columns = list(usable)
        detail_columns = [
            'Column 1', 'Column 2', 'Real Covariance', 'Synthetic Covariance',
            'Covariance Error', 'Real Correlation', 'Synthetic Correlation', 'Correlation Error',
        ]  # fmt: skip
        self.is_computed = True
        if len(columns) < 2:
            self.details = pd.DataFrame(columns=detail_columns)
            self.correlation_error = pd.DataFrame(index=columns, columns=columns, dtype=float)
            self.relative_error = float('nan')
            self.score = float('nan')
            return

        real_z, synthetic_z = _standardized(real, synthetic, columns, usable)
        real_cov, synthetic_cov = real_z.cov(), synthetic_z.cov()
        real_corr, synthetic_corr = real_z.corr(), synthetic_z.corr()
        self.correlation_error = synthetic_corr - real_corr
        self.relative_error = _relative_error(real_cov, synthetic_cov)
        self.score = float(1 - min(1.0, self.relative_error))

        rows = []
        for i, first in enumerate(columns):
            for second in columns[i + 1 :]:
                rows.append(
                    [
                        first,
                        second,
                        real_cov.loc[first, second],
                        synthetic_cov.loc[first, second],
                        synthetic_cov.loc[first, second] - real_cov.loc[first, second],
                        real_corr.loc[first, second],
                        synthetic_corr.loc[first, second],
                        self.correlation_error.loc[first, second],
                    ]
                )

        self.details = pd.DataFrame(rows, columns=detail_columns)

    def get_visualization(self):
        """Heatmap of the correlation error (synthetic minus real) of every numeric pair.

        Returns:
            plotly.graph_objects.Figure:
                The figure.
        """
        matrix = self.correlation_error
        values = matrix.to_numpy(dtype=float)
        scale = _color_scale_limit(values)
        figure = go.Figure(
            go.Heatmap(
                z=values,
                x=list(matrix.columns),
                y=list(matrix.index),
                zmin=-scale,
                zmax=scale,
                colorscale='RdBu_r',
                colorbar={'title': 'Corr. error'},
                # Numbers in the cells while they stay readable.
                texttemplate='%{z:.3f}' if len(matrix) <= MAX_ANNOTATED_COLUMNS else None,
                hovertemplate='%{y} / %{x}<br>correlation error %{z:.4f}<extra></extra>',
            )
        )
        figure.update_layout(
            title=(
                'Covariance: correlation error (synthetic - real), colors span '
                f'±{scale:.3g}; covariance relative error {self.relative_error:.3f}'
            ),
            yaxis_autorange='reversed',
        )
        return figure


class _Associations(_Property):
    """Categorical-numeric ``eta^2``, categorical-categorical Cramér's V, class means."""

    def __init__(self):
        super().__init__()
        self.class_means = pd.DataFrame()

    def compute(self, real, synthetic, categorical, numeric):
        """Fill the details, the class means and the score.

        Args:
            real (pandas.DataFrame):
                The real table.
            synthetic (pandas.DataFrame):
                The synthetic table.
            categorical (list[str]):
                The categorical columns.
            numeric (dict):
                The numeric columns mapped to their metadata.
        """
        rows = []
        for category_column in categorical:
            for column, column_metadata in numeric.items():
                values = [
                    eta_squared(frame[category_column], _numeric_column(frame, column, meta))
                    for frame, meta in ((real, column_metadata), (synthetic, column_metadata))
                ]
                rows.append([category_column, column, 'eta^2', *values])

        for index, first in enumerate(categorical):
            for second in categorical[index + 1 :]:
                values = [cramers_v(frame[first], frame[second]) for frame in (real, synthetic)]
                rows.append([first, second, "Cramer's V", *values])

        details = pd.DataFrame(
            rows, columns=['Column 1', 'Column 2', 'Metric', 'Real', 'Synthetic']
        )
        details['Score'] = 1 - (details['Synthetic'] - details['Real']).abs()
        self.details = details
        self.class_means = class_means(real, synthetic, categorical, numeric)
        self.score = float(details['Score'].mean()) if len(details) else float('nan')
        self.is_computed = True

    def get_visualization(self):
        """Real against synthetic ``eta^2`` and Cramér's V of every pair (diagonal: perfect).

        Returns:
            plotly.graph_objects.Figure:
                The figure.
        """
        figure = go.Figure()
        for metric, rows in self.details.groupby('Metric', sort=False):
            figure.add_trace(
                go.Scatter(
                    x=rows['Real'],
                    y=rows['Synthetic'],
                    mode='markers',
                    name=metric,
                    text=rows['Column 1'] + ' / ' + rows['Column 2'],
                    hovertemplate='%{text}<br>real %{x:.3f}<br>synthetic %{y:.3f}<extra></extra>',
                )
            )

        figure.add_shape(type='line', x0=0, y0=0, x1=1, y1=1, line={'dash': 'dash'})
        figure.update_layout(
            title=f'Associations: synthetic against real (score {self.score:.3f})',
            xaxis_title='Real',
            yaxis_title='Synthetic',
        )
        return figure


class _SDMetricsProperty(_Property):
    """A property of a nested sdmetrics ``QualityReport``, passed through unchanged."""

    def __init__(self, name):
        super().__init__()
        self.name = name
        self._quality_report = None
        self._table_name = None

    def compute(self, quality_report, table_name):
        """Read the score and details from a generated sdmetrics ``QualityReport``.

        Args:
            quality_report (sdmetrics.reports.QualityReport):
                The generated unified (multi-table) quality report.
            table_name (str):
                The name of the table in it.
        """
        self._quality_report = quality_report
        self._table_name = table_name
        properties = quality_report.get_properties().set_index('Property')['Score']
        self.score = float(properties[self.name])
        details = quality_report.get_details(self.name, table_name=table_name)
        self.details = details.drop(columns='Table', errors='ignore').reset_index(drop=True)
        self.is_computed = True

    def get_visualization(self):
        """Return sdmetrics' own figure for the property.

        Returns:
            plotly.graph_objects.Figure:
                The figure.
        """
        return self._quality_report.get_visualization(self.name, table_name=self._table_name)


_MISSING_VALUE_COLUMNS = ['Column', 'Real Missing Share', 'Synthetic Missing Share', 'Difference']
_STYLE = (
    'body {font-family: sans-serif; max-width: 1100px; margin: auto; padding: 0 1em 3em}'
    ' table {border-collapse: collapse; margin: 0.5em 0 1em}'
    ' th, td {border: 1px solid #ccc; padding: 3px 8px; text-align: right}'
    ' th {background: #f2f2f2} td:first-child, th:first-child {text-align: left}'
    ' .score {font-size: 1.15em} summary {cursor: pointer; color: #555}'
)


def _missing_values(real, synthetic, columns):
    """Return the share of nulls of every column in both tables.

    Args:
        real (pandas.DataFrame):
            The real table.
        synthetic (pandas.DataFrame):
            The synthetic table.
        columns (dict):
            The metadata columns.

    Returns:
        pandas.DataFrame:
            One row per column, with the columns of ``StructureReport.get_missing_values``.
    """
    rows = []
    for column in columns:
        real_share = float(real[column].isna().mean()) if len(real) else float('nan')
        synthetic_share = float(synthetic[column].isna().mean()) if len(synthetic) else np.nan
        rows.append([column, real_share, synthetic_share, synthetic_share - real_share])

    return pd.DataFrame(rows, columns=_MISSING_VALUE_COLUMNS)


def _plot_sample(data, columns):
    """Return at most ``PLOT_ROWS`` rows of the given columns, datetimes parsed.

    Args:
        data (pandas.DataFrame):
            The table (not modified).
        columns (dict):
            The columns to keep, mapped to their metadata.

    Returns:
        pandas.DataFrame:
            A new frame.
    """
    sample = data[list(columns)]
    if len(sample) > PLOT_ROWS:
        sample = sample.sample(PLOT_ROWS, random_state=0)

    sample = sample.reset_index(drop=True)
    for column, column_metadata in columns.items():
        if column_metadata.get('sdtype') == 'datetime':
            sample[column] = _datetime_column(sample[column], column_metadata)

    return sample


def _json_number(value):
    """A float for JSON: NaN (an undefined score) becomes None."""
    return None if value is None or pd.isna(value) else float(value)


def _json_records(frame):
    """A DataFrame as JSON-ready records (NaN becomes None)."""
    return json.loads(frame.to_json(orient='records', date_format='iso'))


def _shown(value):
    """A score as text with three decimals, or ``N/A`` when undefined."""
    return 'N/A' if _json_number(value) is None else f'{value:.3f}'


def _html_table(frame, collapsed=False):
    """Render a DataFrame as an HTML table (numbers with three decimals, NaN as N/A).

    Args:
        frame (pandas.DataFrame):
            The table.
        collapsed (bool):
            Whether to fold it in a ``<details>`` element. Defaults to False.

    Returns:
        str:
            The HTML.
    """
    table = frame.to_html(index=False, float_format='{:.3f}'.format, na_rep='N/A', border=0)
    if collapsed:
        return f'<details><summary>Details ({len(frame)} rows)</summary>{table}</details>'

    return table


class _FigureWriter:
    """Render plotly figures as HTML fragments; the first one carries plotly.js inline."""

    def __init__(self):
        self._include_plotlyjs = True

    def render(self, make_figure):
        """Render one figure, or say why there is none.

        Args:
            make_figure (callable):
                Returns the ``plotly.graph_objects.Figure``.

        Returns:
            str:
                The HTML fragment.
        """
        try:
            figure = make_figure()
        except (ValueError, KeyError, TypeError, np.linalg.LinAlgError) as error:
            return f'<p>No figure: {html.escape(str(error))}</p>'

        fragment = figure.to_html(
            full_html=False,
            include_plotlyjs=self._include_plotlyjs,
            config={'displaylogo': False},
        )
        self._include_plotlyjs = False
        return fragment


def _write(filepath, text):
    """Write text as UTF-8 to a file, unless ``filepath`` is None."""
    if filepath is not None:
        Path(filepath).write_text(text, encoding='utf-8')


class StructureReport(BaseReport):
    """Compare the structure (moments, covariance, associations) of a real and a synthetic table.

    Properties: ``'Moments'``, ``'Covariance'``, ``'Associations'``, and sdmetrics'
    ``'Column Shapes'`` and ``'Column Pair Trends'``; see the module docstring for the exact
    definitions and scores. After :meth:`generate`, ``covariance_relative_error`` holds the
    relative Frobenius error of the real-standardized covariance matrix and ``class_means`` the
    class-conditional means (:func:`class_means`). :meth:`to_html` and :meth:`to_json` write
    the whole report.

    Example:
        >>> report = StructureReport()
        >>> report.generate(real, synthetic, metadata, verbose=False)
        >>> report.get_score(), report.covariance_relative_error
        >>> report.to_html('report.html')
    """

    def __init__(self):
        super().__init__()
        self.covariance_relative_error = None
        self.class_means = None
        self.table_name = None
        self._columns = {}
        self._missing_values = pd.DataFrame(columns=_MISSING_VALUE_COLUMNS)
        self._plot_samples = None
        self._properties = {
            'Moments': _Moments(),
            'Covariance': _Covariance(),
            'Associations': _Associations(),
            'Column Shapes': _SDMetricsProperty('Column Shapes'),
            'Column Pair Trends': _SDMetricsProperty('Column Pair Trends'),
        }

    @staticmethod
    def _validate_inputs(real_data, synthetic_data, columns):
        """Check the frames and that they have exactly the metadata columns.

        Args:
            real_data (pandas.DataFrame):
                The real table.
            synthetic_data (pandas.DataFrame):
                The synthetic table.
            columns (dict):
                The metadata columns.

        Raises:
            ValueError: If a frame is not a DataFrame, or a metadata column is missing from a
                frame, or a frame has a column the metadata does not describe.
        """
        for name, frame in (('real_data', real_data), ('synthetic_data', synthetic_data)):
            if not isinstance(frame, pd.DataFrame):
                raise ValueError(
                    f'StructureReport expects {name} to be a pandas.DataFrame, '
                    f'not {type(frame).__name__}.'
                )

            missing = [column for column in columns if column not in frame.columns]
            if missing:
                listed = ', '.join(f"'{column}'" for column in missing)
                raise ValueError(
                    f'Metadata column(s) {listed} missing from {name} '
                    f'(columns: {list(frame.columns)}).'
                )

            extra = [column for column in frame.columns if column not in columns]
            if extra:
                listed = ', '.join(f"'{column}'" for column in extra)
                raise ValueError(f'Column(s) {listed} of {name} are not in the metadata.')

    def generate(self, real_data, synthetic_data, metadata, verbose=True):
        """Compute every property. The caller's frames and metadata are not modified.

        Args:
            real_data (pandas.DataFrame):
                The real table.
            synthetic_data (pandas.DataFrame):
                The synthetic table (from any synthesizer), with the same columns.
            metadata (sdv.metadata.Metadata or dict):
                An SDV ``Metadata`` with one table, or a dict in SDV 2 multi-table form
                ``{'tables': {name: {...}}}`` (one table) or single-table form
                ``{'columns': {...}}``.
            verbose (bool):
                Whether to print the property scores and the overall score. Defaults to True.

        Raises:
            ValueError: If the inputs are not DataFrames, a metadata column is missing from
                either frame (the message names it), or the metadata has several tables.
        """
        from sdmetrics.reports import QualityReport

        table_name, table_metadata = _table_metadata(metadata)
        columns = table_metadata['columns']
        self._validate_inputs(real_data, synthetic_data, columns)

        numeric = {
            column: meta for column, meta in columns.items()
            if meta.get('sdtype') in NUMERIC_SDTYPES
        }  # fmt: skip
        categorical = [
            column for column, meta in columns.items()
            if meta.get('sdtype') in CATEGORICAL_SDTYPES
        ]  # fmt: skip

        self.table_name = table_name
        self.report_info['generated_date'] = datetime.today().strftime('%Y-%m-%d')
        self.report_info['num_rows_real_data'] = len(real_data)
        self.report_info['num_rows_synthetic_data'] = len(synthetic_data)
        if verbose:
            sys.stdout.write('Generating report ...\n\n')

        start = time.time()
        self._properties['Moments'].compute(real_data, synthetic_data, numeric)
        self._properties['Covariance'].compute(real_data, synthetic_data, numeric)
        self._properties['Associations'].compute(real_data, synthetic_data, categorical, numeric)
        self.class_means = self._properties['Associations'].class_means
        self.covariance_relative_error = self._properties['Covariance'].relative_error

        # sdmetrics' unified QualityReport (the single-table one is deprecated in 0.32); it
        # deep-copies its inputs itself.
        quality_report = QualityReport()
        quality_report.generate(
            {table_name: real_data},
            {table_name: synthetic_data},
            {'tables': {table_name: table_metadata}},
            verbose=False,
        )
        for name in _SDMETRICS_PROPERTIES:
            self._properties[name].compute(quality_report, table_name)

        self._columns = columns
        self._missing_values = _missing_values(real_data, synthetic_data, columns)
        plotted = {
            column: meta for column, meta in columns.items()
            if meta.get('sdtype') in NUMERIC_SDTYPES + CATEGORICAL_SDTYPES
        }  # fmt: skip
        self._plot_samples = tuple(
            _plot_sample(frame, plotted) for frame in (real_data, synthetic_data)
        )

        scores = []
        for index, (name, prop) in enumerate(self._properties.items()):
            scores.append(prop.score)
            if verbose:
                shown = 'N/A' if np.isnan(prop.score) else f'{round(prop.score * 100, 2)}%'
                sys.stdout.write(f'({index + 1}/{len(self._properties)}) {name} Score: {shown}\n')

        if verbose:
            sys.stdout.write('\n')

        finite = [score for score in scores if not np.isnan(score)]
        self._overall_score = float(np.mean(finite)) if finite else float('nan')
        self.report_info['generation_time'] = time.time() - start
        self.report_info['sdmetrics_version'] = version('sdmetrics')
        self.is_generated = True
        self._print_results(verbose)

    def _require_generated(self):
        """Raise ``ValueError`` (as sdmetrics' accessors do) before :meth:`generate`."""
        if not self.is_generated:
            raise ValueError('The report has not been generated. Please call `generate` first.')

    def get_missing_values(self):
        """Return the share of missing values of every column in both tables (not scored).

        Returns:
            pandas.DataFrame:
                One row per column: ``Real Missing Share``, ``Synthetic Missing Share`` and
                their ``Difference`` (synthetic minus real), each share in [0, 1].
        """
        self._require_generated()
        return self._missing_values.copy()

    def to_json(self, filepath=None):
        """Render the scores, details and missing values as JSON (undefined scores are null).

        Args:
            filepath (str, pathlib.Path or None):
                Where to write the JSON. Defaults to None (only return it).

        Returns:
            str:
                The JSON text.
        """
        self._require_generated()
        properties = self.get_properties()
        content = {
            'table_name': self.table_name,
            'overall_score': _json_number(self.get_score()),
            'covariance_relative_error': _json_number(self.covariance_relative_error),
            'info': self.get_info(),
            'properties': _json_records(properties),
            'details': {
                name: _json_records(self.get_details(name)) for name in properties['Property']
            },
            'missing_values': _json_records(self._missing_values),
        }
        text = json.dumps(content, indent=2, default=str)
        _write(filepath, text)
        return text

    def to_html(self, filepath=None, real_name='real', synthetic_name='synthetic'):
        """Render the report as a self-contained HTML page (plotly.js inlined: works offline).

        The page holds the scores, each property's details and figure, the missing values of
        every column, and one figure per numerical, datetime, categorical and boolean column
        comparing its real and synthetic distribution (sdmetrics' ``get_column_plot``, drawn
        from at most ``PLOT_ROWS`` rows of each table).

        Args:
            filepath (str, pathlib.Path or None):
                Where to write the page. Defaults to None (only return it).
            real_name (str):
                How the page names the real table (e.g. its file). Defaults to ``'real'``.
            synthetic_name (str):
                How the page names the synthetic table. Defaults to ``'synthetic'``.

        Returns:
            str:
                The HTML text.
        """
        self._require_generated()
        info = self.report_info
        properties = self.get_properties()
        parts = [
            '<!DOCTYPE html>',
            '<html><head><meta charset="utf-8"><title>Structure report</title>',
            f'<style>{_STYLE}</style></head><body>',
            f'<h1>Structure report: {html.escape(str(self.table_name))}</h1>',
            f'<p>Real: {html.escape(str(real_name))} ({info["num_rows_real_data"]} rows). '
            f'Synthetic: {html.escape(str(synthetic_name))} '
            f'({info["num_rows_synthetic_data"]} rows). '
            f'Generated {html.escape(str(info["generated_date"]))}.</p>',
            f'<p class="score">Overall score: <b>{_shown(self.get_score())}</b> '
            '(mean of the property scores, 1 is perfect). Covariance relative error: '
            f'<b>{_shown(self.covariance_relative_error)}</b> (0 is perfect).</p>',
            _html_table(properties),
        ]
        figures = _FigureWriter()
        for name in properties['Property']:
            parts.append(f'<h2>{html.escape(name)}</h2>')
            parts.append(figures.render(lambda name=name: self.get_visualization(name)))
            parts.append(_html_table(self.get_details(name), collapsed=True))

        parts.append('<h2>Missing values</h2>')
        missing = self._missing_values
        shares = missing[['Real Missing Share', 'Synthetic Missing Share']]
        with_nulls = missing[(shares.fillna(0) > 0).any(axis=1)]
        if len(with_nulls):
            parts.append('<p>Share of missing values per column (not scored).</p>')
            parts.append(_html_table(with_nulls))

        others = len(missing) - len(with_nulls)
        if others:
            parts.append(f'<p>{others} of {len(missing)} columns have no missing values.</p>')

        parts.append('<h2>Columns</h2>')
        parts.append(
            f'<p>Real and synthetic distribution of each column (at most {PLOT_ROWS:,} rows '
            'of each table).</p>'
        )
        for column in self._plot_samples[0].columns:
            parts.append(figures.render(lambda column=column: self._column_figure(column)))

        parts.append('</body></html>')
        text = '\n'.join(parts)
        _write(filepath, text)
        return text

    def _column_figure(self, column):
        """Return sdmetrics' real-versus-synthetic figure of one column.

        Args:
            column (str):
                The column name.

        Returns:
            plotly.graph_objects.Figure:
                A density curve for numerical and datetime columns, bars otherwise.
        """
        from sdmetrics.visualization import get_column_plot

        real, synthetic = self._plot_samples
        constant = min(real[column].nunique(), synthetic[column].nunique()) <= 1
        numeric = self._columns[column].get('sdtype') in NUMERIC_SDTYPES
        plot_type = 'distplot' if numeric and not constant else 'bar'
        figure = get_column_plot(real, synthetic, column, plot_type=plot_type)
        figure.update_layout(height=360)
        return figure
