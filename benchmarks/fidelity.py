"""Fidelity of GWM against GaussianCopula and classic Beta(0.4) mixup.

For each dataset: fit every synthesizer with default settings on the whole real table, sample
50,000 rows, and report the covariance relative error (numeric columns standardized by the real
std, Frobenius norm ratio), its ratio to GaussianCopula's and to classic mixup's, the variance
ratio of every numerical column GWM mixes, and the SDV quality score.

    python benchmarks/fidelity.py [--rows 50000] [--datasets AER/CPS1985 ...]
"""

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd
from sdv.evaluation import evaluate_quality
from sdv.single_table import GaussianCopulaSynthesizer
from tabulate import tabulate

from sdv_gwm import Beta, GWMSynthesizer, _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import covariance_relative_error

RESULTS = Path(__file__).parent / 'results'
DATASETS = ['AER/CPS1985', 'ISLR/Default', 'ggplot2/diamonds', 'student_placements']
SYNTHESIZERS = {
    'GWM': GWMSynthesizer,
    'Beta(0.4) mixup': lambda metadata: GWMSynthesizer(metadata, weights=Beta(0.4)),
    'GaussianCopula': GaussianCopulaSynthesizer,
}


def measure(name, rows, seed):
    data, metadata = load_dataset(name)
    table_name = metadata._get_single_table_name()
    columns = metadata.get_column_names(sdtype='numerical')
    results, mixed = [], None
    for label, make in SYNTHESIZERS.items():
        synthesizer = make(metadata)
        start = time.perf_counter()
        synthesizer.fit({table_name: data})
        _compat.set_random_state(synthesizer, seed)
        synthetic = synthesizer.sample(rows)[table_name]
        seconds = time.perf_counter() - start
        if label == 'GWM':
            continuous = synthesizer._model.continuous
            mixed = [c for c in columns if continuous[synthesizer._columns.get_loc(c)]]

        quality = evaluate_quality(data, synthetic, metadata, verbose=False).get_score()
        ratios = synthetic[columns].var() / data[columns].var()
        results.append(
            {
                'dataset': name,
                'synthesizer': label,
                'cov_rel_error': covariance_relative_error(data, synthetic, columns),
                'quality': quality,
                'min_var_ratio': ratios[mixed].min(),
                'max_var_ratio': ratios[mixed].max(),
                'seconds': seconds,
                'var_ratios': ', '.join(f'{c}={ratios[c]:.3f}' for c in columns),
            }
        )

    table = pd.DataFrame(results).set_index('synthesizer')
    gwm = table.loc['GWM', 'cov_rel_error']
    table['gwm_error_ratio'] = gwm / table['cov_rel_error']
    print(f'{name}: GWM mixes {mixed}; inherits {sorted(set(columns) - set(mixed))}')
    return table.reset_index()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=50_000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--datasets', nargs='+', default=DATASETS)
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    RESULTS.mkdir(exist_ok=True)
    table = pd.concat([measure(name, args.rows, args.seed) for name in args.datasets])
    table.to_csv(RESULTS / 'fidelity.csv', index=False)
    columns = ['dataset', 'synthesizer', 'cov_rel_error', 'gwm_error_ratio', 'quality']
    columns += ['min_var_ratio', 'max_var_ratio', 'seconds']
    print(
        tabulate(table[columns], headers='keys', tablefmt='pipe', showindex=False, floatfmt='.3f')
    )
    print()
    print(table[['dataset', 'synthesizer', 'var_ratios']].to_string(index=False))


if __name__ == '__main__':
    main()
