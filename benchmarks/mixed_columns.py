"""Variance ratio of every continuous column under repeated synthesis, with its standard error.

``benchmarks/mixed.py`` reports the median and the smallest variance ratio over a table's
continuous columns, averaged over chains. This script says which column moves and whether it
moves more than chance: for each continuous column (as ``sdv_gwm.evaluation.study`` counts
them: numerical, at least ``MIN_DISTINCT_VALUES`` distinct real values) it prints

- ``one step``: ``var(sample) / var(real)`` of ``--samples`` samples of one GWM fitted on the
  real rows, mean and standard error: the bias of a single generation; ``step from g<k>``
  (``--steps``): the same from generation ``k`` of the first chain, against that generation's
  own variance (a bias that appears once the table has drifted);
- ``g<k>``: the ratio after ``--generations`` generations of repeated synthesis, mean over
  ``--chains`` chains and its standard error (chain-to-chain spread over sqrt(chains)),

and the column's distinct values, its share of rows at its smallest value and whether GWM
mixes or inherits it. The split (20 % holdout, at most ``--rows`` training rows) is the one
``benchmarks/mixed.py`` uses for the same seed.

Example::

    python benchmarks/mixed_columns.py --datasets AER/CreditCard ggplot2/diamonds
"""

import argparse
import warnings

import numpy as np
import pandas as pd
from tabulate import tabulate

from sdv_gwm import _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import MIN_DISTINCT_VALUES
from sdv_gwm.synthesizer import GWMSynthesizer


def split(data, rows, seed):
    """The training rows, holdout and generator ``repeated_synthesis`` has for this seed."""
    rng = np.random.default_rng(seed)
    test = data.sample(frac=0.2, random_state=rng)
    real = data.drop(index=test.index)
    real = real.sample(n=min(rows, len(real)), random_state=rng).reset_index(drop=True)
    return real, test, rng


def column_table(name, args):
    data, metadata = load_dataset(name)
    ((table_name, table),) = metadata.to_dict()['tables'].items()
    real, _, rng = split(data, args.rows, args.seed)
    continuous = [
        column
        for column, meta in table['columns'].items()
        if meta['sdtype'] == 'numerical' and real[column].nunique() >= MIN_DISTINCT_VALUES
    ]
    variance = real[continuous].astype(float).var()

    def fitted(rows):
        synthesizer = GWMSynthesizer(metadata)
        synthesizer.fit({table_name: rows})
        return synthesizer

    def ratios(synthesizer, seed):
        _compat.set_random_state(synthesizer, seed)
        sample = synthesizer.sample(len(real))[table_name]
        return sample[continuous].astype(float).var() / variance

    first = fitted(real)
    mixed = dict(zip(first._columns, first._model.continuous, strict=True))
    chains, tables = [], {0: real}
    for chain in range(args.chains):
        current = real
        for generation in range(1, args.generations + 1):
            synthesizer = fitted(current)
            _compat.set_random_state(synthesizer, int(rng.integers(2**31)))
            current = synthesizer.sample(len(real))[table_name]
            if chain == 0:
                tables[generation] = current

        chains.append(current[continuous].astype(float).var() / variance)

    frame = pd.DataFrame(
        {
            'table': name,
            'column': continuous,
            'distinct': [real[column].nunique() for column in continuous],
            'share at min': [(real[column] == real[column].min()).mean() for column in continuous],
            'mixed': [mixed.get(column, False) for column in continuous],
        }
    )
    for generation in args.steps:  # one step from that generation of the first chain
        start = tables[generation]
        start_variance = start[continuous].astype(float).var()
        synthesizer = fitted(start)
        steps = pd.DataFrame(
            [ratios(synthesizer, seed) * variance / start_variance for seed in range(args.samples)]
        )
        label = 'one step' if generation == 0 else f'step from g{generation}'
        frame[label] = steps.mean().to_numpy()
        frame[f'{label} s.e.'] = (steps.std() / np.sqrt(len(steps))).to_numpy()

    chains = pd.DataFrame(chains)
    last = f'g{args.generations}'
    frame[last] = chains.mean().to_numpy()
    frame[f'{last} s.e.'] = (chains.std() / np.sqrt(len(chains))).to_numpy()
    return frame


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--datasets', nargs='+', required=True)
    parser.add_argument('--generations', type=int, default=10)
    parser.add_argument('--chains', type=int, default=5)
    parser.add_argument('--samples', type=int, default=50, help='samples of each one-step fit')
    parser.add_argument(
        '--steps',
        nargs='+',
        type=int,
        default=[0],
        help='generations of the first chain to measure one step from (0: the real rows)',
    )
    parser.add_argument('--rows', type=int, default=2000, help='training rows at most')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    frame = pd.concat([column_table(name, args) for name in args.datasets], ignore_index=True)
    print(tabulate(frame, headers='keys', tablefmt='github', showindex=False, floatfmt='.3f'))


if __name__ == '__main__':
    main()
