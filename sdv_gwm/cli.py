"""``sdv-gwm``: make a synthetic CSV, compare it with the real one, or run a demo."""

import argparse
import html
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
from sdv.errors import InvalidDataError, InvalidDataTypeError, SynthesizerInputError
from sdv.metadata import Metadata
from sdv.metadata.errors import InvalidMetadataError
from tqdm.auto import tqdm

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
  sdv-gwm report real.csv synthetic.csv --html report.html --json report.json
      Score how well the synthetic table keeps the real moments, covariance and categories.

Errors in the input (missing file, unreadable CSV or metadata, unknown column) are
reported in one line on stderr with exit code 2.
"""

#: Exit code for bad input, as argparse uses for a bad command line.
USAGE_ERROR = 2


class _InputError(Exception):
    """A problem with the user's files or options, reported in one line."""


def _read_csv(path):
    """Read a CSV file into a DataFrame, or raise ``_InputError``."""
    path = Path(path)
    if not path.is_file():
        raise _InputError(f"File '{path}' does not exist.")

    try:
        data = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise _InputError(f"Could not read '{path}' as CSV: {error}") from None

    if data.empty:
        raise _InputError(f"'{path}' has no data rows.")

    return data


def _read_metadata(path):
    """Load and validate a one-table SDV metadata JSON file, or raise ``_InputError``."""
    if not Path(path).is_file():
        raise _InputError(f"Metadata file '{path}' does not exist.")

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


def _steps(total, verbose):
    """A progress bar over the steps of a command (on stderr, only on a terminal)."""
    return tqdm(total=total, unit='step', disable=None if verbose else True, leave=False)


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
        written = _synthesize_parquet(args)
        if not args.quiet:
            print(f'Wrote {written} synthetic rows to {args.output}')
        return

    with _steps(4, not args.quiet) as progress:
        progress.set_description('Reading')
        data = _read_csv(args.input)
        metadata = _metadata_for(data, args.input, args.metadata)
        progress.update()

        progress.set_description('Fitting')
        synthesizer = GWMSynthesizer(
            metadata,
            weights=args.weights,
            mix_within=args.mix_within,
            discrete_donors=args.discrete_donors,
            privacy=_privacy(args.privacy),
        )
        synthesizer.fit(data)
        if args.seed is not None:
            # SDV has no public seed setter; this is the one its own sampling uses.
            synthesizer._set_random_state(args.seed)

        progress.update()

        progress.set_description('Sampling')
        synthetic = synthesizer.sample(args.rows or len(data))
        progress.update()

        progress.set_description('Writing')
        synthetic.to_csv(args.output, index=False)
        progress.update()

    if not args.quiet:
        print(f'Wrote {len(synthetic)} synthetic rows to {args.output}')


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


def _records(frame):
    """A DataFrame as JSON-ready records (NaN becomes null)."""
    return json.loads(frame.to_json(orient='records'))


def _number(value):
    """A float for JSON: NaN (an undefined score) becomes null."""
    return None if pd.isna(value) else float(value)


def _report_json(report):
    properties = report.get_properties()
    return {
        'overall_score': _number(report.get_score()),
        'covariance_relative_error': _number(report.covariance_relative_error),
        'properties': _records(properties),
        'details': {name: _records(report.get_details(name)) for name in properties['Property']},
    }


def _report_html(report, real_path, synthetic_path):
    properties = report.get_properties()
    parts = [
        '<!DOCTYPE html>',
        '<html><head><meta charset="utf-8"><title>sdv-gwm structure report</title></head>',
        '<body style="font-family: sans-serif; max-width: 1100px; margin: auto">',
        '<h1>Structure report</h1>',
        f'<p>Real: {html.escape(str(real_path))} '
        f'({report.report_info["num_rows_real_data"]} rows). '
        f'Synthetic: {html.escape(str(synthetic_path))} '
        f'({report.report_info["num_rows_synthetic_data"]} rows).</p>',
        f'<p>Overall score: <b>{report.get_score():.3f}</b>. Covariance relative error: '
        f'<b>{report.covariance_relative_error:.3f}</b> (0 is perfect).</p>',
        properties.to_html(index=False, float_format='{:.3f}'.format, na_rep='N/A'),
    ]
    # The first figure carries plotly.js so that the page also works offline.
    include_plotlyjs = True
    for name in properties['Property']:
        parts.append(f'<h2>{html.escape(name)}</h2>')
        try:
            figure = report.get_visualization(name)
        except (ValueError, KeyError) as error:
            parts.append(f'<p>No figure: {html.escape(str(error))}</p>')
            continue

        parts.append(figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs))
        include_plotlyjs = False

    parts.append('</body></html>')
    return '\n'.join(parts)


def report(args):
    """Run ``sdv-gwm report``.

    Args:
        args (argparse.Namespace):
            The parsed command line.
    """
    from sdv_gwm.evaluation.report import StructureReport

    with _steps(3, not args.quiet) as progress:
        progress.set_description('Reading')
        real = _read_csv(args.real)
        synthetic = _read_csv(args.synthetic)
        metadata = _metadata_for(real, args.real, args.metadata)
        progress.update()

        progress.set_description('Scoring')
        structure_report = StructureReport()
        structure_report.generate(real, synthetic, metadata, verbose=False)
        progress.update()

        progress.set_description('Writing')
        if args.json:
            Path(args.json).write_text(json.dumps(_report_json(structure_report), indent=2))
        if args.html:
            page = _report_html(structure_report, args.real, args.synthetic)
            Path(args.html).write_text(page, encoding='utf-8')

        progress.update()

    properties = structure_report.get_properties()
    print(properties.to_string(index=False, float_format='{:.3f}'.format))
    print(f'Overall score: {structure_report.get_score():.3f}')
    print(f'Covariance relative error: {structure_report.covariance_relative_error:.3f}')
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
        synthesizer._set_random_state(args.seed)

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
            '-q', '--quiet', action='store_true', help='print nothing but errors'
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
    add_common(synth)
    synth.set_defaults(run=synthesize)

    rep = subparsers.add_parser(
        'report',
        help='compare a synthetic CSV with the real CSV',
        description=(
            'Compare a synthetic table with the real one: moments, covariance, categories '
            "and SDMetrics' column shapes and pair trends, each scored in [0, 1]."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument('real', help='the real table (CSV)')
    rep.add_argument('synthetic', help='the synthetic table (CSV, same columns)')
    rep.add_argument(
        '--metadata', metavar='JSON', help='SDV metadata JSON file (default: detected)'
    )
    rep.add_argument('--html', metavar='PATH', help='write an HTML page with tables and figures')
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
    ) as error:
        message = ' '.join(str(error).split())
        sys.stderr.write(f'sdv-gwm {args.command}: error: {message}\n')
        return USAGE_ERROR

    return 0


if __name__ == '__main__':
    sys.exit(main())
