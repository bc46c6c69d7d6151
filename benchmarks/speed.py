"""Speed and memory: GWMSynthesizer vs GaussianCopulaSynthesizer, default settings.

For each synthesizer, in its own freshly spawned process (so the numbers do not leak into
each other): load the full table (ggplot2/diamonds, 53,940 rows), fit, then sample
1,000,000 rows in one ``sample`` call. Reported:

* fit time and sample time: wall clock (``time.perf_counter``), no profiler attached;
* peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process at the end, the
  high-water mark of its resident memory (Python + numpy + torch imports + data + model +
  the 1M-row sample). Unix only;
* peak RSS increase: the same minus ``ru_maxrss`` just before ``fit`` (imports and the real
  table already loaded), i.e. what fitting and sampling added on top.

Ratios are GaussianCopula / GWM, so > 1 means GWM is faster / smaller. Single run, no
repetitions: expect a few percent of noise on the times.

Example::

    python benchmarks/speed.py                       # diamonds, 1,000,000 rows
    python benchmarks/speed.py --num-rows 100000 --synthesizers GaussianCopula
"""

import argparse
import concurrent.futures
import multiprocessing
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
SYNTHESIZERS = ['GaussianCopula', 'GWM']


def _max_rss_mb():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024**2 if sys.platform == 'darwin' else rss / 1024  # bytes on macOS, else KB


def measure(name, dataset, num_rows, seed):
    warnings.simplefilter('ignore')
    from sdv.single_table import GaussianCopulaSynthesizer

    from sdv_gwm.datasets import load_dataset

    if name == 'GWM':
        from sdv_gwm import GWMSynthesizer as synthesizer_class
    else:
        synthesizer_class = GaussianCopulaSynthesizer

    data, metadata = load_dataset(dataset)
    table_name = next(iter(metadata.tables))
    synthesizer = synthesizer_class(metadata)
    if hasattr(synthesizer, 'set_random_state'):
        synthesizer.set_random_state(seed)

    rss_before = _max_rss_mb()
    start = time.perf_counter()
    synthesizer.fit({table_name: data})
    fit_time = time.perf_counter() - start

    start = time.perf_counter()
    sampled = synthesizer.sample(num_rows=num_rows)
    sample_time = time.perf_counter() - start
    if isinstance(sampled, dict):
        sampled = sampled[table_name]

    assert len(sampled) == num_rows, (len(sampled), num_rows)
    peak = _max_rss_mb()
    return {
        'real_rows': len(data),
        'fit_s': fit_time,
        'sample_s': sample_time,
        'peak_rss_mb': peak,
        'peak_rss_increase_mb': peak - rss_before,
    }


def run_isolated(name, dataset, num_rows, seed):
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure, name, dataset, num_rows, seed).result()


def _gwm_available():
    try:
        from sdv_gwm import GWMSynthesizer  # noqa: F401
    except ImportError:
        return False

    return True


def build_table(results, num_rows):
    rows = [
        ('fit time [s]', 'fit_s'),
        (f'sample {num_rows:,} rows [s]', 'sample_s'),
        ('peak RSS [MB]', 'peak_rss_mb'),
        ('peak RSS increase over pre-fit [MB]', 'peak_rss_increase_mb'),
    ]
    table = pd.DataFrame(
        {name: [result[key] for _, key in rows] for name, result in results.items()},
        index=[label for label, _ in rows],
    )
    if {'GaussianCopula', 'GWM'} <= set(results):
        table['ratio GC/GWM'] = table['GaussianCopula'] / table['GWM']

    return table


def to_markdown(table):
    lines = [
        '| | ' + ' | '.join(table.columns) + ' |',
        '|---|' + '---:|' * len(table.columns),
    ]
    for label, row in table.iterrows():
        cells = [
            f'{value:.2f}' if col.startswith('ratio') else f'{value:,.1f}'
            for col, value in row.items()
        ]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')

    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('--dataset', default='ggplot2/diamonds', help='load_dataset name')
    parser.add_argument(
        '--num-rows', type=int, default=1_000_000, help='rows to sample in one call'
    )
    parser.add_argument('--synthesizers', nargs='+', default=SYNTHESIZERS, choices=SYNTHESIZERS)
    parser.add_argument('--seed', type=int, default=0, help='random state for both')
    parser.add_argument(
        '--output',
        type=Path,
        default=RESULTS_DIR / 'speed.md',
        help='also write the table here as Markdown',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = list(dict.fromkeys(args.synthesizers))
    if 'GWM' in names and not _gwm_available():
        print('WARNING: sdv_gwm.GWMSynthesizer is not importable yet; skipping GWM.')
        names.remove('GWM')

    results = {}
    for name in names:
        print(f'{name}: fitting on {args.dataset} and sampling {args.num_rows:,} rows ...')
        results[name] = run_isolated(name, args.dataset, args.num_rows, args.seed)

    real_rows = next(iter(results.values()))['real_rows']
    table = build_table(results, args.num_rows)
    header = (
        f'{args.dataset} ({real_rows:,} rows), default settings, one run, one process per '
        f'synthesizer; {platform.processor() or platform.machine()}, Python '
        f'{platform.python_version()}'
    )
    print()
    print(header)
    print(table.to_string(float_format=lambda v: f'{v:,.2f}'))
    command = 'python benchmarks/speed.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f'# Speed: GWM vs GaussianCopula\n\nCommand: `{command.strip()}`  \n{header}\n\n'
        + to_markdown(table)
    )
    print(f'\nWrote {args.output}')


if __name__ == '__main__':
    main()
