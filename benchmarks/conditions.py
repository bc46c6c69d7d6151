"""Conditional sampling on numerical values: GWM (native, nearest rows) against GaussianCopula.

For a table of ``--rows`` rows with ``y = x / 2 + N(0, 1)``, ``x ~ N(5, 2)``: the time and the
rows returned by ``sample_remaining_columns`` for ``--known`` distinct values of ``x``, and the
mean and variance of ``y`` given ``x = 6`` from ``sample_from_conditions`` (the truth: 3 and 1).

    python benchmarks/conditions.py [--rows 2000] [--known 20] [--seed 0]
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sdv.metadata import Metadata
from sdv.sampling import Condition
from sdv.single_table import GaussianCopulaSynthesizer
from tabulate import tabulate

from sdv_gwm import GWMSynthesizer, _compat

CONDITIONED_ROWS = 2000


def make_table(num_rows, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(5, 2, num_rows)
    return pd.DataFrame(
        {'x': x, 'y': x / 2 + rng.normal(size=num_rows), 'c': rng.choice(['a', 'b'], num_rows)}
    )


def measure(label, make, table, metadata, known, seed):
    synthesizer = make(metadata)
    synthesizer.fit({'table': table})
    _compat.set_random_state(synthesizer, seed)
    start = time.perf_counter()
    completed = synthesizer.sample_remaining_columns(known)
    seconds = time.perf_counter() - start
    if isinstance(completed, dict):
        completed = completed['table']

    given = synthesizer.sample_from_conditions([Condition({'x': 6.0}, CONDITIONED_ROWS)])
    if isinstance(given, dict):
        given = given['table']

    return {
        'synthesizer': label,
        'known rows': len(known),
        'rows returned': len(completed),
        'seconds': round(seconds, 2),
        'E[y | x=6] (3)': round(given['y'].mean(), 3),
        'Var(y | x=6) (1)': round(given['y'].var(), 3),
        'rows x=6': len(given),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=2000)
    parser.add_argument('--known', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    table = make_table(args.rows, args.seed)
    metadata = Metadata.detect_from_dataframes({'table': table})
    known = pd.DataFrame({'x': np.linspace(2, 8, args.known)})
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for label, make in (
            ('GWM', GWMSynthesizer),
            ('GaussianCopula', GaussianCopulaSynthesizer),
        ):
            rows.append(measure(label, make, table, metadata, known, args.seed))

    print(tabulate(rows, headers='keys', tablefmt='github'))


if __name__ == '__main__':
    main()
