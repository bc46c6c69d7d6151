"""Generate the figures of the documentation site as plotly HTML snippets.

The snippets are committed under ``docs/figures/`` (with the numbers behind them as CSV) and
included in the pages by ``pymdownx.snippets``, so building the site never runs this script.
Regenerate them with::

    python docs/figures.py

It takes about ten minutes on two cores.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sdv_gwm import Beta, _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import covariance_relative_error
from sdv_gwm.evaluation.study import (
    default_synthesizers,
    plot_study,
    repeated_synthesis,
    summarize,
)

FIGURES = Path(__file__).parent / 'figures'
GENERATIONS = 10
CHAINS = 3
STUDY_ROWS = 2_000
COVARIANCE_DATASETS = ('AER/CPS1985', 'ISLR/Default', 'student_placements')
COVARIANCE_SEEDS = 3
BOOTSTRAP = 'bootstrap of the real rows'


def variance_figure():
    """Repeated synthesis on ``ISLR/Default``, with the theory of classic mixup overlaid."""
    data, metadata = load_dataset('ISLR/Default')
    results = repeated_synthesis(
        data, metadata, generations=GENERATIONS, chains=CHAINS, num_rows=STUDY_ROWS, random_state=0
    )
    print(summarize(results).query('generation == @GENERATIONS').round(3).to_string())
    figure = plot_study(results)
    generations = np.arange(GENERATIONS + 1)
    factor = Beta(0.4).covariance_factor
    figure.add_trace(
        go.Scatter(
            x=generations,
            y=factor**generations,
            mode='lines',
            line={'dash': 'dot', 'color': 'gray'},
            name=f'theory {factor:.2f}^k for Beta(0.4)',
        )
    )
    figure.update_layout(
        title=f'Repeated synthesis on ISLR/Default ({STUDY_ROWS:,} rows, {CHAINS} chains)',
        xaxis_title='generation k',
        yaxis_title='median variance ratio (generation k / real)',
        template='plotly_white',
        height=450,
    )
    return results, figure


def covariance_errors():
    """Covariance relative error of the numerical columns per dataset, synthesizer and seed.

    A bootstrap resample of the real rows (as many rows, with replacement) shows how much of
    the error is the sampling noise of a table of that size.
    """
    rows = []
    for dataset in COVARIANCE_DATASETS:
        data, metadata = load_dataset(dataset)
        (table_name,) = metadata.tables
        columns = [
            name
            for name, column in metadata.tables[table_name].columns.items()
            if column['sdtype'] == 'numerical'
        ]
        for seed in range(COVARIANCE_SEEDS):
            candidates = {BOOTSTRAP: data.sample(len(data), replace=True, random_state=seed)}
            for name, factory in default_synthesizers().items():
                synthesizer = factory(metadata)
                synthesizer.fit({table_name: data})
                _compat.set_random_state(synthesizer, seed)
                candidates[name] = synthesizer.sample(len(data))[table_name]

            for name, synthetic in candidates.items():
                error = covariance_relative_error(data, synthetic, columns)
                rows.append(
                    {'dataset': dataset, 'synthesizer': name, 'seed': seed, 'error': error}
                )

    return pd.DataFrame(rows)


def covariance_figure(errors):
    """Grouped bars: mean covariance relative error per synthesizer and dataset."""
    summary = errors.groupby(['synthesizer', 'dataset'], sort=False)['error'].agg(['mean', 'std'])
    print(summary.round(3).to_string())
    figure = go.Figure()
    for name, values in summary.groupby(level='synthesizer', sort=False):
        values = values.droplevel('synthesizer')
        figure.add_trace(
            go.Bar(
                x=values.index,
                y=values['mean'],
                error_y={'type': 'data', 'array': values['std']},
                name=name,
            )
        )

    figure.update_layout(
        title=f'Covariance relative error of the numerical columns (mean of {COVARIANCE_SEEDS} '
        'seeds, as many rows as the real table)',
        yaxis_title='||C_syn - C_real||_F / ||C_real||_F',
        barmode='group',
        template='plotly_white',
        height=450,
    )
    return figure


def write(figure, name):
    """Write a figure as an HTML snippet without plotly.js (``docs/hooks.py`` serves it)."""
    html = figure.to_html(full_html=False, include_plotlyjs=False, div_id=name)
    (FIGURES / f'{name}.html').write_text(html + '\n')


def main():
    """Compute both studies and write the snippets and their numbers (CSV)."""
    FIGURES.mkdir(exist_ok=True)
    warnings.filterwarnings('ignore', module='sdv')
    errors = covariance_errors()
    errors.to_csv(FIGURES / 'covariance_error.csv', index=False)
    write(covariance_figure(errors), 'covariance_error')
    results, figure = variance_figure()
    results.to_csv(FIGURES / 'variance_ratio.csv', index=False)
    write(figure, 'variance_ratio')


if __name__ == '__main__':
    main()
