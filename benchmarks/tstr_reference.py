"""How steady the real table's train-on-synthetic-test-on-real score is, next to GWM's.

``benchmarks/mixed.py`` compares the TSTR score of generation 10 with the score of a model
trained on the real training rows: one fit of a deterministic gradient boosting on one table.
This script measures how much that reference moves when nothing about the law changes: the
real training rows with every continuous column (as the study counts them) moved by a normal
noise of ``delta`` times its standard deviation (integer columns rounded back), for each
``--deltas`` value, mean and standard error over ``--samples`` draws. Next to it: GWM's
generation 1 (one fit on the real rows, ``--samples`` samples) and the same with only the
discrete features (GWM's first generation holds the real discrete rows, so those scores must
agree with the real ones). The split, target and scorer are those of ``benchmarks/mixed.py``
for the same seed.

Example::

    python benchmarks/tstr_reference.py --dataset ISLR/Wage
"""

import argparse
import os
import warnings

os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np
import pandas as pd
from mixed import TARGETS
from mixed_columns import split
from tabulate import tabulate

from sdv_gwm import _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import _Scorer
from sdv_gwm.synthesizer import GWMSynthesizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', default='ISLR/Wage')
    parser.add_argument('--deltas', nargs='+', type=float, default=[1e-4, 0.1, 0.3])
    parser.add_argument('--samples', type=int, default=10)
    parser.add_argument('--rows', type=int, default=2000, help='training rows at most')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    data, metadata = load_dataset(args.dataset)
    ((table_name, _),) = metadata.to_dict()['tables'].items()
    real, test, _ = split(data, args.rows, args.seed)
    scorer = _Scorer(real, test, metadata, TARGETS[args.dataset], quality=False)
    numeric = [column for column in scorer.features if column in scorer.continuous]
    synthesizer = GWMSynthesizer(metadata)
    synthesizer.fit({table_name: real})
    samples = []
    for seed in range(args.samples):
        _compat.set_random_state(synthesizer, seed)
        samples.append(synthesizer.sample(len(real))[table_name])

    def row(label, scores):
        scores = np.asarray(scores)
        reference = scorer.tstr(real)[0]  # with the features the scorer has now
        return {
            'training rows': label,
            'TSTR': f'{scores.mean():.4f}',
            's.e.': f'{scores.std() / np.sqrt(len(scores)):.4f}',
            'vs real': f'{scores.mean() / reference - 1:+.1%}',
        }

    rows = [row('real', [scorer.tstr(real)[0]])]
    noise = np.random.default_rng(args.seed + 1)
    for delta in args.deltas:
        scores = []
        for _ in range(args.samples):
            moved = real.copy()
            for column in numeric:
                values = moved[column] + noise.normal(0, delta * moved[column].std(), len(moved))
                integer = pd.api.types.is_integer_dtype(real[column])
                moved[column] = values.round().astype(real[column].dtype) if integer else values
            scores.append(scorer.tstr(moved)[0])

        rows.append(row(f'real, continuous columns moved by {delta:g} sd', scores))

    rows.append(row('GWM generation 1', [scorer.tstr(sample)[0] for sample in samples]))
    features = scorer.features
    scorer.features = [column for column in features if column not in numeric]
    scorer.holdout_x = pd.get_dummies(scorer.holdout[scorer.features], dtype=float)
    rows.append(row('real, discrete features only', [scorer.tstr(real)[0]]))
    rows.append(
        row('GWM generation 1, discrete features only', [scorer.tstr(s)[0] for s in samples])
    )
    print(f'{args.dataset}, target {TARGETS[args.dataset]}, seed {args.seed}')
    print(tabulate(pd.DataFrame(rows), headers='keys', tablefmt='github', showindex=False))


if __name__ == '__main__':
    main()
