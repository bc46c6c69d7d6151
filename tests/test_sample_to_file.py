"""SDV's ``sample(..., output_folder_path=...)`` with GWMSynthesizer: incremental CSV writes."""

import warnings
from io import StringIO

import pandas as pd
import pytest

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset

BATCH = 40


@pytest.fixture(scope='module')
def synthesizer():
    data, metadata = load_dataset('student_placements')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return GWMSynthesizer(metadata).fit(data)


def count_rows(path):
    with open(path) as file:
        return sum(1 for _ in file) - 1 if path.stat().st_size else 0


def watch_batches(monkeypatch, path, fail_on=None, error=None):
    """Make ``_sample`` record the rows already in ``path`` and raise on its ``fail_on``-th run."""
    original = GWMSynthesizer._sample
    written = []

    def sample(self, num_rows, conditions=None):
        written.append(count_rows(path))
        if len(written) == fail_on:
            raise error

        return original(self, num_rows, conditions)

    monkeypatch.setattr(GWMSynthesizer, '_sample', sample)
    return written


def as_read_back(frame):
    """The frame as a CSV reader sees it (dtypes as parsed, floats as printed)."""
    return pd.read_csv(StringIO(frame.to_csv(index=False)))


def test_rows_are_written_batch_by_batch(synthesizer, tmp_path, monkeypatch):
    written = watch_batches(monkeypatch, tmp_path / 'out' / 'student_placements.csv')
    synthesizer.reset_sampling()
    sampled = synthesizer.sample(5 * BATCH, batch_size=BATCH, output_folder_path=tmp_path / 'out')

    # When batch k starts, the k - 1 batches before it are already in the file.
    assert written == [BATCH * k for k in range(5)]
    on_disk = pd.read_csv(tmp_path / 'out' / 'student_placements.csv')
    pd.testing.assert_frame_equal(on_disk, as_read_back(sampled))


@pytest.mark.parametrize('error', [KeyboardInterrupt(), RuntimeError('disk on fire')])
def test_interruption_leaves_whole_batches_and_names_the_file(
    synthesizer, tmp_path, monkeypatch, error
):
    synthesizer.reset_sampling()
    complete = synthesizer.sample(2 * BATCH, batch_size=BATCH)

    path = tmp_path / 'out' / 'student_placements.csv'
    written = watch_batches(monkeypatch, path, fail_on=3, error=error)
    synthesizer.reset_sampling()
    with pytest.raises(type(error), match=rf'Partial results are stored in .*{path.name}'):
        synthesizer.sample(5 * BATCH, batch_size=BATCH, output_folder_path=tmp_path / 'out')

    partial = pd.read_csv(path)
    assert list(partial.columns) == list(complete.columns)
    assert len(partial) == 2 * BATCH  # two whole batches, the header once
    assert not (partial.astype(str) == partial.columns.to_numpy()).all(axis=1).any()
    assert written == [0, BATCH, 2 * BATCH]
    pd.testing.assert_frame_equal(partial, as_read_back(complete))
