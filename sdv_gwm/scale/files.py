"""Parquet in, parquet out: the ``sdv-gwm synthesize --engine`` command on one machine.

With ``dask`` or ``spark`` neither the training table nor the sample is ever whole in memory:
both are read and written partition by partition. ``pandas`` reads the training table into
memory and writes the sample batch by batch, so only the sample is out of core.
"""

from pathlib import Path

import pandas as pd

ENGINES = ('dask', 'spark', 'pandas')

#: Rows per file that the ``pandas`` engine writes.
BATCH_ROWS = 1_000_000


def synthesize_parquet(
    source, target, engine='dask', num_rows=None, seed=0, metadata=None, **parameters
):
    """Fit GWM on a parquet table and write a synthetic parquet directory.

    Args:
        source (str or pathlib.Path):
            A parquet file or a directory of parquet files.
        target (str or pathlib.Path):
            The directory to write, one file per partition (or batch).
        engine (str):
            ``'dask'`` (local threads), ``'spark'`` (local mode) or ``'pandas'``.
        num_rows (int or None):
            Synthetic rows; ``None``: as many as training rows.
        seed (int):
            The seed: the same seed and input give the same rows.
        metadata (sdv.metadata.Metadata or None):
            The table's metadata; ``None``: detected from its first rows.
        **parameters:
            ``GWMSynthesizer`` parameters.

    Returns:
        int:
            The number of rows written.
    """
    if engine not in ENGINES:
        raise ValueError(f'Unknown engine {engine!r}: use one of {", ".join(ENGINES)}.')

    if engine == 'pandas':
        return _pandas(source, target, num_rows, seed, metadata, parameters)

    if engine == 'dask':
        import dask.dataframe as dd

        from sdv_gwm.scale.dask import DaskGWM

        synthesizer = DaskGWM(metadata, **parameters).fit(dd.read_parquet(source))
        num_rows = num_rows or synthesizer.model.num_rows
        synthesizer.sample(num_rows, seed=seed).to_parquet(target, write_index=False)
        return num_rows

    from pyspark.sql import SparkSession

    from sdv_gwm.scale.spark import SparkGWM

    SparkSession.builder.master('local[*]').getOrCreate()  # the tasks read the files
    synthesizer = SparkGWM(metadata, **parameters).fit(source)
    num_rows = num_rows or synthesizer.model.num_rows
    return synthesizer.write_parquet(num_rows, target, seed=seed)


def _pandas(source, target, num_rows, seed, metadata, parameters):
    from sdv.metadata import Metadata

    from sdv_gwm.synthesizer import GWMSynthesizer

    data = pd.read_parquet(source)
    if metadata is None:
        metadata = Metadata.detect_from_dataframes({Path(source).stem or 'table': data})

    synthesizer = GWMSynthesizer(metadata, **parameters).fit(data)
    synthesizer._set_random_state(seed)
    num_rows = num_rows or len(data)
    del data
    Path(target).mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, num_rows, BATCH_ROWS)):
        batch = synthesizer.sample(min(BATCH_ROWS, num_rows - start))
        batch.to_parquet(Path(target) / f'part.{index}.parquet', index=False)

    return num_rows
