"""Privacy against fidelity: DCR protection, SDV quality and covariance error (issue "Trust").

For each dataset (ggplot2/diamonds subsampled to 10,000 rows) and each seed, split the rows
50/50 into a training and a holdout half, fit each synthesizer on the training half, sample as
many rows as it has (at least ``--dcr-rows``, so that the small AER/CPS1985 is not scored on
267 rows) and measure, against the training half:

* ``overfitting``: sdmetrics ``DCROverfittingProtection`` (training vs holdout), on
  ``--dcr-rows`` synthetic rows (all real rows are kept, see ``sdv_gwm.evaluation.privacy``);
  with 2,000 rows its binomial noise is about ``2 sqrt(0.25 / 2000) = 0.02``;
* ``baseline``: sdmetrics ``DCRBaselineProtection`` on the same rows;
* ``copies``: share of synthetic rows equal to a training row on every column;
* ``quality``: ``sdv.evaluation.evaluate_quality``;
* ``cov_error``: ``sdv_gwm.evaluation.report.covariance_relative_error`` on the numerical columns.

The numbers are averaged over the seeds. The target of the issue is ``overfitting >= 0.9``
(or GaussianCopula's where that is lower) with ``quality`` at least and ``cov_error`` at most
GaussianCopula's: the ``target`` column says which settings meet it. Results go to
``benchmarks/results/privacy.{csv,md}`` (``privacy_splits.csv``: every split) and the
frontier figure to ``docs/figures/privacy_frontier.html``.

Candidates are GaussianCopula, the default GWM (``discrete_donors=None``: no exact copies, but
discrete columns from the winning parent) and GWM with ``discrete_donors`` in 0..3 under the
default law and under ``EpBeta.preserving(1, 1)``, whose weight concentrates nearer 1/2 (far
from both parents). Other modules can pass their own candidates to :func:`run`.

    python benchmarks/privacy.py [--datasets AER/CPS1985 ...] [--seeds 0 1 2] [--dcr-rows 2000]
    python benchmarks/privacy.py --splits benchmarks/results/privacy_splits.csv  # tables only
"""

import argparse
import time
import warnings
from functools import partial
from pathlib import Path

import pandas as pd
import plotly.express as px
from sdv.evaluation import evaluate_quality
from sdv.single_table import GaussianCopulaSynthesizer
from tabulate import tabulate

from sdv_gwm import GWMSynthesizer, _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.privacy import privacy_scores
from sdv_gwm.evaluation.report import covariance_relative_error
from sdv_gwm.weights import EpBeta

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
FIGURE = Path(__file__).resolve().parent.parent / 'docs' / 'figures' / 'privacy_frontier.html'
DATASETS = ['AER/CPS1985', 'ISLR/Default', 'ggplot2/diamonds']
MAX_ROWS = 10_000
TARGET_PROTECTION = 0.9
REFERENCE = 'GaussianCopula'
METRICS = ['overfitting', 'baseline', 'copies', 'quality', 'cov_error', 'seconds']
LAWS = {'epbeta': 'epbeta', 'EpBeta.preserving(1, 1)': EpBeta.preserving(1, 1)}
CANDIDATES = {
    REFERENCE: GaussianCopulaSynthesizer,
    'GWM (default)': GWMSynthesizer,
    **{
        f'GWM discrete_donors={donors}, weights={law}': partial(
            GWMSynthesizer, weights=weights, discrete_donors=donors
        )
        for law, weights in LAWS.items()
        for donors in range(4)
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
    _compat.set_random_state(synthesizer, seed)
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


def run(candidates, datasets=DATASETS, seeds=(0,), dcr_rows=2000):
    """Measure every candidate on every dataset and split.

    Args:
        candidates (dict):
            Label to a callable ``make(metadata)`` returning an unfitted SDV synthesizer.
        datasets (list[str]):
            Dataset names for ``sdv_gwm.datasets.load_dataset``.
        seeds (list[int]):
            One split per seed: the seed of the subsample, the split, the synthesizers and
            the DCR subsample.
        dcr_rows (int):
            Synthetic rows the DCR metrics are computed on.

    Returns:
        pandas.DataFrame:
            One row per dataset, seed and candidate.
    """
    rows = []
    for name in datasets:
        for seed in seeds:
            train, holdout, metadata = split(name, seed)
            for label, make in candidates.items():
                row = measure(label, make, train, holdout, metadata, seed, dcr_rows)
                rows.append({'dataset': name, 'seed': seed, **row})
                print({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()})

    return pd.DataFrame(rows)


def summarize(results):
    """Average the splits and flag the settings that meet the target of the issue.

    A setting meets it when its mean ``overfitting`` is at least ``TARGET_PROTECTION`` (or
    GaussianCopula's, where that is lower), its ``quality`` at least and its ``cov_error`` at
    most GaussianCopula's on the same dataset.

    Args:
        results (pandas.DataFrame):
            The output of ``run``; its candidates must include ``REFERENCE``.

    Returns:
        pandas.DataFrame:
            One row per dataset and candidate: the mean metrics, the standard error of the
            mean ``overfitting`` over the splits (``overfitting_se``), the number of splits and
            the ``target`` flag.
    """
    grouped = results.groupby(['dataset', 'synthesizer'], sort=False)
    table = grouped[METRICS].mean()
    table.insert(1, 'overfitting_se', grouped['overfitting'].sem())
    table['splits'] = grouped.size()
    table = table.reset_index()
    reference = table[table['synthesizer'] == REFERENCE].set_index('dataset')
    bar = reference.loc[table['dataset']].reset_index(drop=True)
    table['target'] = (
        (table['overfitting'] >= bar['overfitting'].clip(upper=TARGET_PROTECTION))
        & (table['quality'] >= bar['quality'])
        & (table['cov_error'] <= bar['cov_error'])
        & (table['synthesizer'] != REFERENCE)
    )
    return table


def to_markdown(table):
    """Format a table as markdown (``tabulate`` directly: sdgym pins it below pandas' need)."""
    return tabulate(table, headers='keys', tablefmt='pipe', floatfmt='.3f', showindex=False)


def frontier_figure(table):
    """Protection against quality per dataset; marker size grows with the covariance error."""
    figure = px.scatter(
        table,
        x='quality',
        y='overfitting',
        size=table['cov_error'] + 0.01,
        color='synthesizer',
        facet_col='dataset',
        hover_data=['baseline', 'copies', 'cov_error'],
        title='DCR overfitting protection vs SDV quality, mean over splits '
        '(marker size: covariance error; dotted: target 0.9)',
        template='plotly_white',
        height=500,
    )
    figure.add_hline(y=TARGET_PROTECTION, line_dash='dot')
    figure.update_xaxes(matches=None)
    return figure


def save(results, table, stem='privacy', figure_path=FIGURE):
    """Write the splits and the summary (CSV, markdown) and the figure; return the paths."""
    RESULTS_DIR.mkdir(exist_ok=True)
    paths = [RESULTS_DIR / f'{stem}_splits.csv', RESULTS_DIR / f'{stem}.csv']
    paths.append(RESULTS_DIR / f'{stem}.md')
    results.to_csv(paths[0], index=False)
    table.to_csv(paths[1], index=False)
    paths[2].write_text(to_markdown(table) + '\n')
    html = frontier_figure(table).to_html(
        full_html=False, include_plotlyjs='cdn', div_id=figure_path.stem
    )
    figure_path.parent.mkdir(exist_ok=True)
    figure_path.write_text(html + '\n')
    return [*paths, figure_path]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=DATASETS)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--dcr-rows', type=int, default=2000)
    parser.add_argument(
        '--splits', type=Path, help='summarize this privacy_splits.csv again instead of running'
    )
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    if args.splits:
        results = pd.read_csv(args.splits)
    else:
        results = run(CANDIDATES, args.datasets, args.seeds, args.dcr_rows)

    table = summarize(results)
    print(to_markdown(table))
    print('written:', *save(results, table))


if __name__ == '__main__':
    main()
