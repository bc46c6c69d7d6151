"""Where a table's train-on-synthetic-test-on-real score goes, generation after generation.

``benchmarks/mixed.py`` reports one TSTR change per table. This script splits it up for one
table: ``--chains`` chains, each on its own split (20 % holdout, at most ``--rows`` training
rows, the split of ``benchmarks/mixed_columns.py`` for seed ``--seed + chain``), of
``--generations`` generations of GWM (default settings), and for every generation, means
over chains (standard error in brackets where it says so):

- ``TSTR``: the score of ``benchmarks/mixed.py`` (gradient boosting, real holdout), its
  change from the chain's real rows, and the same with the discrete features only
  (``discrete``; GWM's discrete rows are a permutation of the real ones, so it does not move)
  and with the continuous ones only (``continuous``);
- ``curvature``: the coefficient of ``x**2`` in the least-squares fit of ``y`` on
  ``1, x, x**2`` (``--curve x y``, ``x`` standardized by the real rows), over the real one:
  a nonlinear relation between two mixed columns, which mixing keeps only up to the growth
  of the fourth moment (see the theory page);
- ``kurtosis`` of ``x``;
- ``log mismatch``: the standard deviation of ``y - log(x)`` for ``--log-of y x``, a
  deterministic relation of the real rows that mixing does not know.

Generation 0 also gets the real rows with the continuous features moved by 1e-4 of their
standard deviation (``ties broken``, ``--jitters`` draws): what breaking the ties of repeated
values alone costs the score.

With ``--bins K`` every fit also gets the ``K``-quantile bin of ``x`` (of the table it is fitted
on) as a categorical column, dropped from its sample: the bin is inherited, so the class means
of every mixed column given the bin (a step function of ``x``, the curve's shape) are kept,
while ``x`` itself is still mixed. It tells whether the curve is what the score lost.

Example::

    python benchmarks/tstr_decay.py --dataset ISLR/Wage --curve age logwage --log-of logwage wage
"""

import argparse
import os
import warnings

os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np
import pandas as pd
from mixed import TARGETS
from mixed_columns import split
from scipy import stats
from sdv.metadata import Metadata
from tabulate import tabulate

from sdv_gwm import _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import _Scorer
from sdv_gwm.synthesizer import GWMSynthesizer


def curvature(table, x, y, location, scale):
    """Coefficient of the squared standardized ``x`` in the fit of ``y`` on a quadratic."""
    standard = (table[x].to_numpy(float) - location) / scale
    design = np.column_stack([np.ones(len(table)), standard, standard**2])
    return np.linalg.lstsq(design, table[y].to_numpy(float), rcond=None)[0][2]


def tstr(scorer, table, features):
    """TSTR of ``table`` with only these features (the scorer's own restored after)."""
    every, holdout_x = scorer.features, scorer.holdout_x
    scorer.features = features
    scorer.holdout_x = pd.get_dummies(scorer.holdout[features], dtype=float)
    try:
        return scorer.tstr(table)[0]
    finally:
        scorer.features, scorer.holdout_x = every, holdout_x


def chain_records(data, metadata, chain, args):
    """The measures of every generation of one chain."""
    ((table_name, _),) = metadata.to_dict()['tables'].items()
    real, test, rng = split(data, args.rows, args.seed + chain)
    scorer = _Scorer(real, test, metadata, TARGETS.get(args.dataset, args.target), quality=False)
    numeric = [column for column in scorer.features if column in scorer.continuous]
    discrete = [column for column in scorer.features if column not in numeric]
    x, y = args.curve
    location, scale = real[x].astype(float).mean(), real[x].astype(float).std()
    reference = curvature(real, x, y, location, scale)
    noise = np.random.default_rng(args.seed + chain)
    ties = []
    for _ in range(args.jitters):
        moved = real.copy()
        for column in numeric:
            moved[column] = moved[column] + noise.normal(0, 1e-4 * moved[column].std(), len(real))

        ties.append(scorer.tstr(moved)[0])

    binned = f'{x} bin'
    fitted = metadata
    if args.bins:
        layout = metadata.to_dict()
        layout['tables'][table_name]['columns'][binned] = {'sdtype': 'categorical'}
        fitted = Metadata.load_from_dict(layout)

    records, current = [], real
    for generation in range(args.generations + 1):
        if generation:
            table = current
            if args.bins:
                bins = pd.qcut(current[x], args.bins, labels=False, duplicates='drop')
                table = current.assign(**{binned: bins.astype(str)})

            synthesizer = GWMSynthesizer(fitted)
            synthesizer.fit({table_name: table})
            _compat.set_random_state(synthesizer, int(rng.integers(2**31)))
            current = synthesizer.sample(len(real))[table_name].drop(
                columns=binned, errors='ignore'
            )

        record = {
            'chain': chain,
            'generation': generation,
            'TSTR': scorer.tstr(current)[0],
            'discrete': tstr(scorer, current, discrete),
            'continuous': tstr(scorer, current, numeric),
            'curvature': curvature(current, x, y, location, scale) / reference,
            'kurtosis': stats.kurtosis(current[x].astype(float), fisher=False),
        }
        if args.log_of:
            derived, column = args.log_of
            record['log mismatch'] = (current[derived] - np.log(current[column])).std()
        if generation == 0:
            record['ties broken'] = np.mean(ties)

        records.append(record)

    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', default='ISLR/Wage')
    parser.add_argument('--target', help='the column TSTR predicts (default: mixed.py)')
    parser.add_argument('--curve', nargs=2, default=['age', 'logwage'], metavar=('X', 'Y'))
    parser.add_argument('--log-of', nargs=2, metavar=('Y', 'X'), help='Y = log(X) in the data')
    parser.add_argument('--generations', type=int, default=10)
    parser.add_argument('--chains', type=int, default=5)
    parser.add_argument('--jitters', type=int, default=3)
    parser.add_argument('--bins', type=int, default=0, help='inherit K quantile bins of X')
    parser.add_argument('--rows', type=int, default=2000, help='training rows at most')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    data, metadata = load_dataset(args.dataset)
    frame = pd.DataFrame(
        [
            record
            for chain in range(args.chains)
            for record in chain_records(data, metadata, chain, args)
        ]
    )
    real = frame[frame['generation'] == 0].set_index('chain')['TSTR']
    frame['TSTR change'] = frame['TSTR'] / frame['chain'].map(real) - 1
    means = frame.drop(columns='chain').groupby('generation').mean()
    errors = frame.drop(columns='chain').groupby('generation').std() / np.sqrt(args.chains)
    table = means.map(lambda value: f'{value:.4f}')
    for column, form in (('TSTR change', '{:+.1%} ({:.1%})'), ('curvature', '{:.3f} ({:.3f})')):
        pairs = zip(means[column], errors[column], strict=True)
        table[column] = [form.format(mean, error) for mean, error in pairs]

    table = table.replace('nan', '')
    print(
        f'{args.dataset}, target {TARGETS.get(args.dataset, args.target)}, {args.chains} chains '
        f'(one split each, seeds {args.seed} to {args.seed + args.chains - 1}), curve of '
        f'{args.curve[1]} on {args.curve[0]}'
        + (f', {args.bins} bins of {args.curve[0]} inherited' if args.bins else '')
    )
    print(tabulate(table, headers='keys', tablefmt='github'))


if __name__ == '__main__':
    main()
