"""Mixed tables under repeated synthesis: discrete-continuous structure, generation by generation.

For each table, ``sdv_gwm.evaluation.study.repeated_synthesis`` runs ``--chains`` chains of
``--generations`` generations for GWM (default: the partner transported into the winner's
class), GWM without transport (``transport=False``: the partner mixed as it is),
GaussianCopula and a bootstrap of the rows (the sampling error of repeated synthesis itself),
and scores every generation: class-conditional means (``max_class_mean_z``),
``eta^2`` ratios, Cramér's V error, train-on-synthetic test-on-real gradient boosting
(``tstr``), variance ratios and covariance error. Tables larger than ``--rows`` training rows
are subsampled (after the 20 % holdout is split off); with ``--split-per-chain`` every chain
has its own split, so that a score that depends on the split (TSTR on a small table) is
averaged over splits. Writes, in ``benchmarks/results/``,
``mixed.csv``, ``mixed.md`` (the done-means table) and ``mixed_<metric>.html`` figures.

Examples::

    python benchmarks/mixed.py                                   # 6 tables, 5 chains x 10
    python benchmarks/mixed.py --datasets AER/CPS1985 --chains 2 --generations 3
    python benchmarks/mixed.py --split-per-chain  # TSTR against each chain's own split
    python benchmarks/mixed.py --merge benchmarks/results/mixed_*.csv  # one table of runs
"""

import argparse
import os
import warnings

# Gradient boosting on a few thousand rows: one thread is faster than contended OpenMP threads.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np
import pandas as pd
from chains import RESULTS_DIR, run_tables, to_markdown, write_markdown
from sdv.single_table import GaussianCopulaSynthesizer

from sdv_gwm.evaluation.study import plot_study
from sdv_gwm.synthesizer import GWMSynthesizer

#: Table -> the column train-on-synthetic test-on-real predicts.
TARGETS = {
    'AER/CPS1985': 'gender',
    'ISLR/Default': 'default',
    'ggplot2/diamonds': 'price',
    'student_placements': 'placed',
    'AER/CreditCard': 'card',
    'ISLR/Wage': 'jobclass',
}


class Bootstrap:
    """Reference: resample the training rows with replacement (a perfect copy of the law).

    Its spread over generations is the sampling error of repeated synthesis itself.
    """

    def __init__(self, metadata):
        self.table = None
        self.rng = np.random.default_rng()

    def fit(self, data):
        self.table = data

    def set_random_state(self, seed):
        self.rng = np.random.default_rng(seed)

    def sample(self, num_rows):
        ((name, table),) = self.table.items()
        rows = self.rng.integers(0, len(table), num_rows)
        return {name: table.iloc[rows].reset_index(drop=True)}


SYNTHESIZERS = {
    'GWM': GWMSynthesizer,
    'GWM transport=False': lambda metadata: GWMSynthesizer(metadata, transport=False),
    'GaussianCopula': GaussianCopulaSynthesizer,
    'bootstrap': Bootstrap,
}
FIGURES = ('median_eta_squared_ratio', 'tstr', 'median_variance_ratio')


def tstr_change(frame, last):
    """Mean and standard error over chains of each chain's TSTR at ``last`` over its real one."""
    keys = [key for key in ('seed', 'chain') if key in frame]
    scores = frame.pivot_table(index=keys, columns='generation', values='tstr')
    change = scores[last] / scores[0] - 1
    return change.mean(), change.std() / np.sqrt(len(change)) if len(change) > 1 else np.nan


def done_table(results):
    """One row per table and synthesizer: generation 1 and the last one, means over chains.

    TSTR is compared chain by chain with the real rows of the chain's own split
    (``--split-per-chain``) or of the one split; its change is the mean over chains and its
    standard error.
    """
    last = results['generation'].max()
    rows = []
    for (dataset, label), frame in results.groupby(['dataset', 'synthesizer'], sort=False):
        first, final = frame[frame['generation'] == 1], frame[frame['generation'] == last]
        real = frame[frame['generation'] == 0]
        copula = results[
            (results['dataset'] == dataset)
            & (results['synthesizer'] == 'GaussianCopula')
            & (results['generation'] == last)
        ]
        change, error = tstr_change(frame, last)
        rows.append(
            {
                'table': dataset,
                'synthesizer': label,
                'max class-mean z (g1)': f'{first["max_class_mean_z"].mean():.1f}',
                'eta^2 ratio median (g1)': f'{first["median_eta_squared_ratio"].mean():.3f}',
                f'eta^2 ratio median (g{last})': f'{final["median_eta_squared_ratio"].mean():.3f}',
                f'eta^2 ratio min (g{last})': f'{final["min_eta_squared_ratio"].mean():.3f}',
                f'Cramer V error (g{last})': f'{final["cramers_v_error"].mean():.3f}',
                f'TSTR real / g{last}': (
                    f'{real["tstr"].mean():.3f} / {final["tstr"].mean():.3f} '
                    f'({real["tstr_metric"].iloc[0]})'
                ),
                'TSTR rel. change (s.e.)': f'{change:+.1%} ({error:.1%})',
                f'variance ratio median [min] (g{last})': (
                    f'{final["median_variance_ratio"].mean():.3f} '
                    f'[{final["min_variance_ratio"].mean():.3f}]'
                ),
                f'cov. error (g{last}) / GaussianCopula': (
                    f'{final["covariance_relative_error"].mean():.3f} / '
                    f'{copula["covariance_relative_error"].mean():.3f}'
                ),
            }
        )

    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--datasets', nargs='+', default=list(TARGETS))
    parser.add_argument('--generations', type=int, default=10)
    parser.add_argument('--chains', type=int, default=5)
    parser.add_argument('--rows', type=int, default=2000, help='training rows at most')
    parser.add_argument('--synthesizers', nargs='+', help='labels to keep (default: all)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--split-per-chain',
        action='store_true',
        help='give every chain its own holdout split (TSTR then averages over splits)',
    )
    parser.add_argument('--output', default='mixed', help='file name stem')
    parser.add_argument('--merge', nargs='+', help='only render the tables of these CSV files')
    args = parser.parse_args()
    if args.merge:
        results = pd.concat(map(pd.read_csv, args.merge), ignore_index=True)
        print(to_markdown(done_table(results)))
        return

    warnings.simplefilter('ignore')
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    synthesizers = SYNTHESIZERS
    if args.synthesizers:
        synthesizers = {label: SYNTHESIZERS[label] for label in args.synthesizers}

    results = run_tables(
        args.datasets,
        synthesizers,
        TARGETS,
        generations=args.generations,
        chains=args.chains,
        num_rows=args.rows,
        random_state=args.seed,
        verbose=False,
        quality=False,
        split_per_chain=args.split_per_chain,
    ).assign(seed=args.seed)
    csv_path = RESULTS_DIR / f'{args.output}.csv'
    results.to_csv(csv_path, index=False)
    for metric in FIGURES:
        parts = []
        for name, frame in results.groupby('dataset', sort=False):
            figure = plot_study(frame, metric).update_layout(title=f'{name}: {metric}')
            parts.append(
                figure.to_html(full_html=False, include_plotlyjs='cdn' if not parts else False)
            )

        (RESULTS_DIR / f'{args.output}_{metric}.html').write_text('\n'.join(parts))

    splits = 'one split per chain' if args.split_per_chain else 'one split'
    heading = (
        f'{args.chains} chains x {args.generations} generations, at most {args.rows} '
        f'training rows, seed {args.seed}, {splits} (means over chains)'
    )
    write_markdown(args.output, [(heading, done_table(results))], csv_path)


if __name__ == '__main__':
    main()
