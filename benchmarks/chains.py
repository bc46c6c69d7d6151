"""What the repeated-synthesis benchmarks share: the chains of every table, and their files."""

import time
from pathlib import Path

import pandas as pd

from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import repeated_synthesis

RESULTS_DIR = Path(__file__).resolve().parent / 'results'


def run_tables(datasets, synthesizers, targets, **options):
    """Run ``repeated_synthesis`` on every table, printing the time each takes.

    Args:
        datasets (list[str]):
            ``load_dataset`` names.
        synthesizers (dict):
            Label to synthesizer class (or factory).
        targets (dict):
            Table name to the column train-on-synthetic test-on-real predicts.
        **options:
            The other arguments of ``repeated_synthesis``.

    Returns:
        pandas.DataFrame:
            The results of all tables, with a ``dataset`` column.
    """
    frames = []
    for name in datasets:
        data, metadata = load_dataset(name)
        start = time.time()
        results = repeated_synthesis(
            data, metadata, synthesizers, target=targets.get(name), **options
        )
        print(f'{name}: {time.time() - start:.0f} s', flush=True)
        frames.append(results.assign(dataset=name))

    return pd.concat(frames, ignore_index=True)


def to_markdown(frame):
    """A GitHub table of the frame's cells as they are (no tabulate: sdgym pins an old one)."""
    lines = [list(map(str, frame.columns)), ['---'] * frame.shape[1]]
    lines += [list(map(str, row)) for row in frame.itertuples(index=False)]
    return '\n'.join('| ' + ' | '.join(line) + ' |' for line in lines)


def write_markdown(stem, sections, csv_path):
    """Write ``results/<stem>.md`` from (heading, table) pairs, print it and say what was written.

    Args:
        stem (str):
            File name stem.
        sections (list[tuple[str, pandas.DataFrame]]):
            Each heading (without ``##``) and its table.
        csv_path (pathlib.Path):
            The results' CSV, named in the closing line.
    """
    markdown = '\n\n'.join(f'## {heading}\n\n{to_markdown(table)}' for heading, table in sections)
    md_path = RESULTS_DIR / f'{stem}.md'
    md_path.write_text(markdown + '\n')
    print(markdown)
    print(f'\nWrote {csv_path} and {md_path}')
