"""``sdv-gwm``: make a synthetic CSV, compare it with the real one, or run a demo."""

import argparse
import csv
import os
import re
import sys
import warnings
from pathlib import Path

import pandas as pd
from sdv.errors import InvalidDataError, InvalidDataTypeError, SynthesizerInputError
from sdv.metadata import Metadata
from sdv.metadata.errors import InvalidMetadataError
from tqdm import tqdm

from sdv_gwm.weights import NAMED_WEIGHTS

EPILOG = """\
examples:
  sdv-gwm demo
      Synthesize a small built-in table and compare it with the real one (offline).
  sdv-gwm synthesize real.csv synthetic.csv
      Detect the column types, fit, and write as many synthetic rows as real ones.
  sdv-gwm synthesize real.csv synthetic.csv --rows 5000 --seed 1 --mix-within region
      5000 rows, reproducible, each row mixed only with rows of the same region.
  sdv-gwm synthesize real.csv synthetic.csv --metadata metadata.json
      Use SDV metadata (a JSON file saved with Metadata.save_to_json) instead of detection.
  sdv-gwm synthesize real.csv synthetic.csv --save-metadata meta.json --save-model m.gwm
      Also keep the detected metadata (to review and pass back with --metadata) and the model.
  sdv-gwm report real.csv synthetic.csv --html report.html --json report.json
      Score how well the synthetic table keeps the real moments, covariance and columns.

CSV files may be separated by commas, semicolons, tabs or |; the delimiter is detected.
Progress goes to stderr (a bar on a terminal, one line per step otherwise; -q for none).
Errors in the input (missing file, unreadable CSV or metadata, unknown column, an output
path that cannot be written) are reported in one line on stderr with exit code 2, and
output paths are checked before any work starts.
"""

#: Exit code for bad input, as argparse uses for a bad command line.
USAGE_ERROR = 2


class _InputError(Exception):
    """A problem with the user's files or options, reported in one line."""


#: The delimiters a CSV file may use; the first line and a sample of the file decide.
DELIMITERS = ',;\t|'
_SNIFF_BYTES = 64 * 1024
_COMMA_DECIMAL = re.compile(r'(^|;)\s*-?\d+,\d+\s*(;|$)', re.MULTILINE)
_POINT_DECIMAL = re.compile(r'(^|;)\s*-?\d*\.\d+\s*(;|$)', re.MULTILINE)


def _check_input(path, what='File'):
    """Raise ``_InputError`` unless ``path`` is an existing file."""
    path = Path(path)
    if path.is_dir():
        raise _InputError(f"{what} '{path}' is a directory; give the path of a file in it.")

    if not path.is_file():
        raise _InputError(f"{what} '{path}' does not exist.")


def _check_outputs(inputs, outputs):
    """Check, before any work, that every output file can be written.

    Args:
        inputs (list[str]):
            The files the command reads.
        outputs (dict[str, str or None]):
            Option name -> output path (None when the option is not given).

    Raises:
        _InputError: If an output is a directory, is in a missing or read-only directory, is
            a read-only file, is also an input, or is given twice.
    """
    seen = {Path(path).resolve(): 'the input' for path in inputs if path}
    for option, path in outputs.items():
        if not path:
            continue

        path = Path(path)
        parent = path.parent
        if path.is_dir():
            problem = 'is a directory'
        elif not parent.is_dir():
            problem = f"is in '{parent}', which is not an existing directory"
        elif not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            problem = 'is not writable'
        elif path.resolve() in seen:
            problem = f'is also {seen[path.resolve()]}'
        else:
            seen[path.resolve()] = f'the {option} file'
            continue

        raise _InputError(f"Cannot write {option} '{path}': it {problem}.")


def _delimiter(path):
    """Guess the delimiter of a CSV file from its beginning.

    Args:
        path (pathlib.Path):
            The file.

    Returns:
        tuple[str, str]:
            The delimiter (one of ``DELIMITERS``; a comma when the file has a single column)
            and the decimal mark (a comma only for semicolon-separated files whose numbers
            are written with decimal commas).
    """
    with open(path, encoding='utf-8', newline='') as file:
        sample = file.read(_SNIFF_BYTES)

    if len(sample) == _SNIFF_BYTES:  # do not judge from a cut last line
        sample = sample[: sample.rfind('\n') + 1] or sample

    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ','

    comma_decimals = (
        delimiter == ';' and _COMMA_DECIMAL.search(sample) and not _POINT_DECIMAL.search(sample)
    )
    return delimiter, ',' if comma_decimals else '.'


def _read_csv(path):
    """Read a CSV file (comma, semicolon, tab or bar separated) or raise ``_InputError``."""
    _check_input(path)
    path = Path(path)
    try:
        delimiter, decimal = _delimiter(path)
        data = pd.read_csv(path, sep=delimiter, decimal=decimal)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise _InputError(f"Could not read '{path}' as CSV: {error}") from None

    if data.empty:
        raise _InputError(f"'{path}' has no data rows.")

    header = str(data.columns[0])
    if len(data.columns) == 1 and any(mark in header for mark in DELIMITERS[1:]):
        raise _InputError(
            f"Could not tell the delimiter of '{path}': its header {header!r} has one column. "
            'Use commas, or semicolons, tabs or | throughout the file.'
        )

    return data


def _read_metadata(path):
    """Load and validate a one-table SDV metadata JSON file, or raise ``_InputError``."""
    _check_input(path, 'Metadata file')

    try:
        metadata = Metadata.load_from_json(path)
        metadata.validate()
    except (ValueError, TypeError, KeyError, AttributeError, InvalidMetadataError) as error:
        raise _InputError(f"Invalid metadata file '{path}': {error}") from None

    if len(metadata.tables) != 1:
        raise _InputError(
            f"Metadata file '{path}' describes {len(metadata.tables)} tables; "
            'sdv-gwm needs exactly one.'
        )

    return metadata


def _metadata_for(data, path, metadata_path):
    """The metadata from ``--metadata``, else detected from the data."""
    if metadata_path:
        return _read_metadata(metadata_path)

    table_name = Path(path).stem or 'table'
    return Metadata.detect_from_dataframes({table_name: data})


def _positive_int(text):
    """Parse a positive integer command-line value."""
    try:
        value = int(text)
    except ValueError:
        value = 0

    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got {text!r}')

    return value


class _Progress:
    """The steps of a command on stderr: a bar on a terminal, else one line per step.

    Standard output carries only the results, so ``sdv-gwm ... > log`` still shows the steps,
    and a log file or CI job gets readable lines instead of a redrawn bar.

    Args:
        command (str):
            The subcommand, to prefix the lines.
        steps (int):
            The number of steps.
        enabled (bool):
            Whether to show anything (False under ``--quiet``).
    """

    def __init__(self, command, steps, enabled):
        self._command = command
        self._enabled = enabled
        self._bar = None
        self._started = 0
        if enabled and sys.stderr.isatty():
            self._bar = tqdm(total=steps, unit='step', leave=False, file=sys.stderr)

    def step(self, description):
        """Start the next step.

        Args:
            description (str):
                What the step does, e.g. ``'Fitting'``.
        """
        if self._bar is not None:
            self._bar.update(self._started > 0)
            self._bar.set_description(description)
        elif self._enabled:
            sys.stderr.write(f'sdv-gwm {self._command}: {description} ...\n')
            sys.stderr.flush()

        self._started += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._bar is not None:
            self._bar.close()


def _privacy(level):
    """A ``--privacy`` value as ``GWMSynthesizer`` takes it: a level name or a number."""
    try:
        return float(level)
    except ValueError:
        return level


def synthesize(args):
    """Run ``sdv-gwm synthesize``.

    Args:
        args (argparse.Namespace):
            The parsed command line.
    """
    from sdv_gwm.synthesizer import GWMSynthesizer

    if args.engine:
        if args.save_metadata or args.save_model:
            raise _InputError('--save-metadata and --save-model work only without --engine.')

        written = _synthesize_parquet(args)
        if not args.quiet:
            print(f'Wrote {written} synthetic rows to {args.output}')
        return

    _check_outputs(
        [args.input, args.metadata],
        {
            'output': args.output,
            '--save-metadata': args.save_metadata,
            '--save-model': args.save_model,
        },
    )
    _check_input(args.input)
    with _Progress('synthesize', 4, not args.quiet) as progress:
        progress.step('Reading')
        data = _read_csv(args.input)
        metadata = _metadata_for(data, args.input, args.metadata)
        if args.save_metadata:
            metadata.save_to_json(args.save_metadata, mode='overwrite')

        progress.step('Fitting')
        synthesizer = GWMSynthesizer(
            metadata,
            weights=args.weights,
            mix_within=args.mix_within,
            discrete_donors=args.discrete_donors,
            privacy=_privacy(args.privacy),
        )
        synthesizer.fit(data)
        if args.save_model:
            synthesizer.save(args.save_model, format='gwm')

        if args.seed is not None:
            synthesizer.set_random_state(args.seed)

        progress.step('Sampling')
        synthetic = synthesizer.sample(args.rows or len(data))
        progress.step('Writing')
        synthetic.to_csv(args.output, index=False)

    if not args.quiet:
        print(f'Wrote {len(synthetic)} synthetic rows to {args.output}')
        if args.save_metadata:
            print(f'Wrote the metadata to {args.save_metadata}')
        if args.save_model:
            print(
                f'Wrote the model to {args.save_model} (it contains the real rows; '
                'load it with GWMSynthesizer.load)'
            )


def _synthesize_parquet(args):
    """``synthesize --engine``: parquet in, a parquet directory out (``sdv_gwm.scale``)."""
    from sdv_gwm.scale.files import synthesize_parquet

    if not Path(args.input).exists():
        raise _InputError(f"File '{args.input}' does not exist.")

    return synthesize_parquet(
        args.input,
        args.output,
        engine=args.engine,
        num_rows=args.rows,
        seed=0 if args.seed is None else args.seed,
        metadata=_read_metadata(args.metadata) if args.metadata else None,
        weights=args.weights,
        mix_within=args.mix_within,
        discrete_donors=args.discrete_donors,
    )


def report(args):
    """Run ``sdv-gwm report``.

    Args:
        args (argparse.Namespace):
            The parsed command line.
    """
    from sdv_gwm.evaluation.report import StructureReport

    _check_outputs(
        [args.real, args.synthetic, args.metadata], {'--html': args.html, '--json': args.json}
    )
    _check_input(args.real)
    _check_input(args.synthetic)
    with _Progress('report', 3, not args.quiet) as progress:
        progress.step('Reading')
        real = _read_csv(args.real)
        synthetic = _read_csv(args.synthetic)
        metadata = _metadata_for(real, args.real, args.metadata)
        progress.step('Scoring')
        structure_report = StructureReport()
        structure_report.generate(real, synthetic, metadata, verbose=False)
        progress.step('Writing')
        if args.json:
            structure_report.to_json(args.json)
        if args.html:
            structure_report.to_html(args.html, real_name=args.real, synthetic_name=args.synthetic)

    if args.quiet:
        return

    properties = structure_report.get_properties()
    print(properties.to_string(index=False, float_format='{:.3f}'.format, na_rep='N/A'))
    print(f'Overall score: {structure_report.get_score():.3f}')
    error = structure_report.covariance_relative_error
    print(f'Covariance relative error: {"N/A" if pd.isna(error) else f"{error:.3f}"}')
    for path in (args.json, args.html):
        if path:
            print(f'Wrote {path}')


def demo(args):
    """Run ``sdv-gwm demo``.

    Args:
        args (argparse.Namespace):
            The parsed command line.
    """
    from sdv.evaluation import evaluate_quality

    from sdv_gwm.datasets import DEMO, load_dataset
    from sdv_gwm.evaluation.report import covariance_relative_error
    from sdv_gwm.synthesizer import GWMSynthesizer

    real, metadata = load_dataset(DEMO)
    synthesizer = GWMSynthesizer(metadata).fit(real)
    if args.seed is not None:
        synthesizer.set_random_state(args.seed)

    synthetic = synthesizer.sample(args.rows or len(real))
    columns = metadata.tables[DEMO].columns
    numeric = [column for column, meta in columns.items() if meta['sdtype'] == 'numerical']
    summary = pd.DataFrame(
        {
            'real mean': real[numeric].mean(),
            'synthetic mean': synthetic[numeric].mean(),
            'real std': real[numeric].std(),
            'synthetic std': synthetic[numeric].std(),
        }
    )
    summary['std ratio'] = summary['synthetic std'] / summary['real std']
    quality = evaluate_quality(real, synthetic, metadata, verbose=False)
    print(
        f"GWM on '{DEMO}': {len(real)} real rows, {len(synthetic)} synthetic rows, "
        f'{len(columns)} columns.\n'
    )
    print(summary.to_string(float_format='{:.2f}'.format))
    error = covariance_relative_error(real, synthetic, numeric)
    print(f'\nCovariance relative error (0 is perfect): {error:.3f}')
    print(f'SDV quality score: {quality.get_score():.3f}')


def build_parser():
    """Build the ``sdv-gwm`` argument parser.

    Returns:
        argparse.ArgumentParser:
            The parser, with the ``synthesize``, ``report`` and ``demo`` subcommands.
    """
    parser = argparse.ArgumentParser(
        prog='sdv-gwm',
        description=(
            'Synthetic tables that keep the means, variances and correlations of the real '
            'one, by structure-preserving mixup of pairs of real rows (an SDV synthesizer).'
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def add_common(subparser):
        subparser.add_argument(
            '-q', '--quiet', action='store_true', help='print nothing but errors (no progress)'
        )

    weights_help = {
        'epbeta': 'variance-preserving extrapolating weights (default)',
        'beta': 'classic mixup, Beta(0.4): shrinks variances by 0.78',
        'uniform': 'Uniform(0, 1) weights: shrinks variances by 2/3',
    }
    synth = subparsers.add_parser(
        'synthesize',
        help='fit on a real CSV and write a synthetic CSV',
        description='Fit GWM on a real CSV table and write a synthetic CSV table.',
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synth.add_argument('input', help='the real table (CSV with a header row)')
    synth.add_argument('output', help='where to write the synthetic table (CSV)')
    synth.add_argument(
        '--metadata',
        metavar='JSON',
        help='SDV metadata JSON file for the table (default: detected from the data)',
    )
    synth.add_argument(
        '--rows',
        type=_positive_int,
        metavar='N',
        help='number of synthetic rows (default: as many as real)',
    )
    synth.add_argument(
        '--seed',
        type=int,
        help="random seed; the same seed gives the same output (default: SDV's fixed seed)",
    )
    synth.add_argument(
        '--weights',
        choices=sorted(NAMED_WEIGHTS),
        default='epbeta',
        help='law of the mixing weight: '
        + '; '.join(f'{name}: {text}' for name, text in weights_help.items()),
    )
    synth.add_argument(
        '--mix-within',
        nargs='+',
        metavar='COLUMN',
        help='categorical columns a row and its mixing partner must share',
    )
    synth.add_argument(
        '--discrete-donors',
        type=int,
        metavar='D',
        help='privacy: take each categorical value from one of the two parents or D random '
        'rows, so that rows stop matching one real row on every categorical column '
        '(keeps the numerical structure; weakens categorical associations; default: off)',
    )
    synth.add_argument(
        '--privacy',
        default='none',
        metavar='LEVEL',
        help="privacy: 'none' (default), 'balanced', 'strict', or the share of the numerical "
        'variance replaced by residuals of other rows, in [0, 1)',
    )
    synth.add_argument(
        '--engine',
        choices=['dask', 'spark', 'pandas'],
        help='read a parquet table and write a parquet directory, partition by partition: '
        'dask or spark never hold the table in memory; pandas holds only the training table',
    )
    synth.add_argument(
        '--save-metadata',
        metavar='PATH',
        help='also write the metadata used (detected or given) as SDV metadata JSON',
    )
    synth.add_argument(
        '--save-model',
        metavar='PATH',
        help="also write the fitted model in the pickle-free 'gwm' format (it contains the "
        'real rows; load it with GWMSynthesizer.load)',
    )
    add_common(synth)
    synth.set_defaults(run=synthesize)

    rep = subparsers.add_parser(
        'report',
        help='compare a synthetic CSV with the real CSV',
        description=(
            'Compare a synthetic table with the real one: moments, covariance, and '
            "SDMetrics' column shapes and pair trends, each scored in [0, 1]."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument('real', help='the real table (CSV)')
    rep.add_argument('synthetic', help='the synthetic table (CSV, same columns)')
    rep.add_argument(
        '--metadata', metavar='JSON', help='SDV metadata JSON file (default: detected)'
    )
    rep.add_argument(
        '--html',
        metavar='PATH',
        help='write a self-contained HTML page: scores, figures, missing values, and the '
        'distribution of every column',
    )
    rep.add_argument('--json', metavar='PATH', help='write the scores and details as JSON')
    add_common(rep)
    rep.set_defaults(run=report)

    dem = subparsers.add_parser(
        'demo',
        help='synthesize a built-in table and summarize real vs synthetic (offline)',
        description=(
            "Fit GWM on the built-in 'student_placements' table and print, per numerical "
            'column, the real and synthetic mean and standard deviation, then the '
            'covariance relative error and the SDV quality score.'
        ),
    )
    dem.add_argument(
        '--rows', type=_positive_int, metavar='N', help='synthetic rows (default: as real)'
    )
    dem.add_argument('--seed', type=int, help="random seed (default: SDV's fixed seed)")
    dem.set_defaults(run=demo)
    return parser


def main(argv=None):
    """Run the ``sdv-gwm`` command line.

    Args:
        argv (list[str] or None):
            The arguments without the program name. Defaults to ``sys.argv[1:]``.

    Returns:
        int:
            0 on success, 2 on bad input (after a one-line message on stderr). A bad command
            line exits with code 2 through argparse.
    """
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            args.run(args)
    except (
        _InputError,
        InvalidDataError,
        InvalidDataTypeError,
        InvalidMetadataError,
        SynthesizerInputError,
        ValueError,
        OSError,
    ) as error:
        message = ' '.join(str(error).split())
        sys.stderr.write(f'sdv-gwm {args.command}: error: {message}\n')
        return USAGE_ERROR

    return 0


if __name__ == '__main__':
    sys.exit(main())
