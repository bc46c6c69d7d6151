"""Privacy against fidelity: DCR protection, SDV quality and covariance error (issue "Trust").

For each dataset (ggplot2/diamonds subsampled to 10,000 rows), split the rows 50/50 into a
training and a holdout half, fit each synthesizer on the training half, sample as many rows as
it has (at least ``--dcr-rows``, so that the small AER/CPS1985 is not scored on 267 rows) and
measure, against the training half:

* ``overfitting``: sdmetrics ``DCROverfittingProtection`` (training vs holdout), on
  ``--dcr-rows`` synthetic rows (all real rows are kept, see ``sdv_gwm.privacy``);
* ``baseline``: sdmetrics ``DCRBaselineProtection`` on the same rows;
* ``copies``: share of synthetic rows equal to a training row on every column;
* ``quality``: ``sdv.evaluation.single_table.evaluate_quality``;
* ``cov_error``: ``sdv_gwm.report.covariance_relative_error`` on the numerical columns.

The targets of the issue are ``overfitting >= 0.9`` (or GaussianCopula's where that is lower)
with ``quality`` at least and ``cov_error`` at most GaussianCopula's. Results go to
``benchmarks/results/privacy.{csv,md,html}`` (the figure: one panel per dataset, protection
against quality, marker size growing with the covariance error).

Candidates are the default GWM and the variance-preserving mean-1/2 laws
``EpBeta.preserving(eps, eps)`` for growing ``eps``: their weight concentrates at 1/2 (far from
both parents) as ``eps`` grows. Other modules can pass their own candidates to :func:`run`.

    python benchmarks/privacy.py [--datasets AER/CPS1985 ...] [--dcr-rows 1000] [--seed 0]
"""

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd
import plotly.express as px
from sdv.evaluation import evaluate_quality
from sdv.single_table import GaussianCopulaSynthesizer
from tabulate import tabulate

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.privacy import privacy_scores
from sdv_gwm.report import covariance_relative_error
from sdv_gwm.weights import EpBeta

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
DATASETS = ['AER/CPS1985', 'ISLR/Default', 'ggplot2/diamonds']
MAX_ROWS = 10_000
CANDIDATES = {
    'GaussianCopula': GaussianCopulaSynthesizer,
    'GWM (default)': GWMSynthesizer,
    **{
        f'GWM weights=EpBeta.preserving({eps:g}, {eps:g})': (
            lambda metadata, eps=eps: GWMSynthesizer(metadata, weights=EpBeta.preserving(eps, eps))
        )
        for eps in (0.5, 1.0, 2.0)
    },
}


def split(name, seed):
    """Load a dataset, subsample it to ``MAX_ROWS`` rows and split it 50/50."""
    data, metadata = load_dataset(name)
    if len(data) > MAX_ROWS:
        data = data.sample(n=MAX_ROWS, random_state=seed)

    train = data.sample(frac=0.5, random_state=seed)
    return train, data.drop(train.index), metadata


def measure(label, make, train, holdout, metadata, seed, dcr_rows):
    """Fit one synthesizer on ``train`` and score its sample; returns a dict of numbers."""
    synthesizer = make(metadata)
    table_name = metadata._get_single_table_name()
    start = time.perf_counter()
    synthesizer.fit({table_name: train})
    synthesizer._set_random_state(seed)
    synthetic = synthesizer.sample(max(len(train), dcr_rows))
    if isinstance(synthetic, dict):
        synthetic = synthetic[table_name]

    seconds = time.perf_counter() - start
    numerical = metadata.get_column_names(sdtype='numerical')
    scores = privacy_scores(train, holdout, synthetic, metadata, dcr_rows, random_state=seed)
    return {
        'synthesizer': label,
        'overfitting': scores['DCROverfittingProtection'],
        'baseline': scores['DCRBaselineProtection'],
        'copies': scores['CopyShare'],
        'quality': evaluate_quality(train, synthetic, metadata, verbose=False).get_score(),
        'cov_error': covariance_relative_error(train, synthetic, numerical),
        'seconds': seconds,
    }


def run(candidates, datasets=DATASETS, seed=0, dcr_rows=1000):
    """Measure every candidate on every dataset.

    Args:
        candidates (dict):
            Label to a callable ``make(metadata)`` returning an unfitted SDV synthesizer.
        datasets (list[str]):
            Dataset names for ``sdv_gwm.datasets.load_dataset``.
        seed (int):
            Seed of the subsample, the split, the synthesizers and the DCR subsample.
        dcr_rows (int):
            Synthetic rows the DCR metrics are computed on.

    Returns:
        pandas.DataFrame:
            One row per dataset and candidate.
    """
    rows = []
    for name in datasets:
        train, holdout, metadata = split(name, seed)
        for label, make in candidates.items():
            row = measure(label, make, train, holdout, metadata, seed, dcr_rows)
            rows.append({'dataset': name, **row})
            print({key: round(v, 3) if isinstance(v, float) else v for key, v in rows[-1].items()})

    return pd.DataFrame(rows)


def to_markdown(table):
    """Format a table as markdown (``tabulate`` directly: sdgym pins it below pandas' need)."""
    return tabulate(table, headers='keys', tablefmt='pipe', floatfmt='.3f', showindex=False)


def save(table, stem='privacy'):
    """Write the table as CSV and markdown and the frontier figure as HTML; return the paths."""
    RESULTS_DIR.mkdir(exist_ok=True)
    paths = [RESULTS_DIR / f'{stem}.{suffix}' for suffix in ('csv', 'md', 'html')]
    table.to_csv(paths[0], index=False)
    paths[1].write_text(to_markdown(table) + '\n')
    figure = px.scatter(
        table,
        x='quality',
        y='overfitting',
        size=table['cov_error'] + 0.01,
        color='synthesizer',
        facet_col='dataset',
        hover_data=['baseline', 'copies', 'cov_error'],
        title='DCR overfitting protection vs SDV quality (marker size: covariance error)',
    )
    figure.add_hline(y=0.9, line_dash='dot')
    figure.write_html(paths[2], include_plotlyjs='cdn')
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=DATASETS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dcr-rows', type=int, default=1000)
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    table = run(CANDIDATES, args.datasets, args.seed, args.dcr_rows)
    print(to_markdown(table))
    print('written:', *save(table))


if __name__ == '__main__':
    main()
