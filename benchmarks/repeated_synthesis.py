"""Repeated-synthesis (model collapse) benchmark on real tables, fully offline.

For each dataset, ``sdv_gwm.evaluation.study.repeated_synthesis`` runs ``--chains`` chains of
``--generations`` generations for GWM (default weights), classic mixup ``Beta(0.4)`` and
GaussianCopula (plus CTGAN and TVAE with ``--epochs``). Writes, in ``benchmarks/results/``:

- ``repeated_synthesis.csv``: every synthesizer, chain, generation and metric;
- ``repeated_synthesis.md``: the last generation (mean over chains, [min, max]) next to the
  theory (``1`` for GWM, ``((a + 1) / (2a + 1)) ** k = 0.78 ** k`` for classic mixup), and
  the median variance ratio per generation.

Examples::

    python benchmarks/repeated_synthesis.py                       # 10 generations, 5 chains
    python benchmarks/repeated_synthesis.py --generations 3 --chains 2 --datasets AER/CPS1985
    python benchmarks/repeated_synthesis.py --synthesizers GWM --chains 20 --output gwm20
    python benchmarks/repeated_synthesis.py --synthesizers GWM --privacy balanced strict
    python benchmarks/repeated_synthesis.py --synthesizers --privacy strict --no-quality
"""

import argparse
import warnings
from functools import partial

import pandas as pd
from chains import RESULTS_DIR, run_tables, write_markdown

from sdv_gwm import GWMSynthesizer
from sdv_gwm.evaluation.study import METRICS, default_synthesizers
from sdv_gwm.weights import Beta

#: Dataset -> the column the ML-efficacy model predicts.
TARGETS = {'AER/CPS1985': 'wage', 'ISLR/Default': 'default'}
MIXUP_FACTOR = Beta(0.4).covariance_factor


def theory(synthesizer, generation):
    """The median variance ratio the mixup theory predicts (NaN where it says nothing)."""
    if synthesizer == 'GWM':
        return 1.0
    if synthesizer == 'mixup-beta0.4':
        return MIXUP_FACTOR**generation
    return float('nan')


def last_generation_table(results):
    last = results['generation'].max()
    rows = []
    for (dataset, label), frame in results[results['generation'] == last].groupby(
        ['dataset', 'synthesizer'], sort=False
    ):
        row = {'dataset': dataset, 'synthesizer': label, 'generation': last}
        ratio = frame['median_variance_ratio']
        row['median variance ratio [min, max over chains]'] = (
            f'{ratio.mean():.3f} [{ratio.min():.3f}, {ratio.max():.3f}]'
        )
        row['theory'] = f'{theory(label, last):.3f}'
        for metric in METRICS[1:]:
            row[metric] = f'{frame[metric].mean():.3f}'

        real = results[(results['dataset'] == dataset) & (results['generation'] == 0)]
        row['ml_efficacy (real)'] = f'{real["ml_efficacy"].iloc[0]:.3f}'
        row['ml_metric'] = frame['ml_metric'].iloc[0]
        rows.append(row)

    return pd.DataFrame(rows)


def per_generation_table(results):
    means = results.groupby(['dataset', 'synthesizer', 'generation'], sort=False)[
        'median_variance_ratio'
    ].mean()
    return means.unstack('generation').round(3).reset_index()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--datasets', nargs='+', default=list(TARGETS))
    parser.add_argument('--generations', type=int, default=10)
    parser.add_argument('--chains', type=int, default=5)
    parser.add_argument('--epochs', type=int, default=None, help='add CTGAN and TVAE')
    parser.add_argument(
        '--synthesizers', nargs='*', help='labels to keep (default: all; none: only --privacy)'
    )
    parser.add_argument(
        '--privacy', nargs='+', default=[], help="add GWM with these 'privacy' levels"
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--no-quality', action='store_true', help="skip SDV's quality score (the slowest metric)"
    )
    parser.add_argument('--output', default='repeated_synthesis', help='file name stem')
    args = parser.parse_args()

    warnings.simplefilter('ignore')
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    synthesizers = default_synthesizers(args.epochs)
    if args.synthesizers is not None:
        synthesizers = {label: synthesizers[label] for label in args.synthesizers}

    for level in args.privacy:
        privacy = level if level in ('balanced', 'strict') else float(level)
        synthesizers[f'GWM privacy={level}'] = partial(GWMSynthesizer, privacy=privacy)

    results = run_tables(
        args.datasets,
        synthesizers,
        TARGETS,
        generations=args.generations,
        chains=args.chains,
        random_state=args.seed,
        quality=not args.no_quality,
    )
    csv_path = RESULTS_DIR / f'{args.output}.csv'
    results.to_csv(csv_path, index=False)
    sections = [
        (
            f'Generation {args.generations} ({args.chains} chains, seed {args.seed})',
            last_generation_table(results),
        ),
        ('Median variance ratio per generation (mean over chains)', per_generation_table(results)),
    ]
    write_markdown(args.output, sections, csv_path)


if __name__ == '__main__':
    main()
