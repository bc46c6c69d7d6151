import os
import shutil

import numpy as np
import pandas as pd
import pytest
from scale_tables import assert_moments_match, weather
from sdv.errors import InvalidDataError

from sdv_gwm import GWMSynthesizer
from sdv_gwm.moments import Moments

pytest.importorskip('pyspark', reason="needs the 'spark' extra")
if not (shutil.which('java') or os.environ.get('JAVA_HOME')):
    pytest.skip('Spark needs a Java runtime (java on PATH or JAVA_HOME)', allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402

from sdv_gwm.scale.spark import ParquetPieces, SparkGWM, slot_keys, spark_hash  # noqa: E402

ROWS = 20_000


@pytest.fixture(scope='module')
def spark():
    session = (
        SparkSession.builder.master('local[2]')
        .appName('sdv-gwm-tests')
        .config('spark.ui.enabled', 'false')
        .config('spark.sql.shuffle.partitions', '4')
        .config('spark.default.parallelism', '2')
        .getOrCreate()
    )
    session.sparkContext.setLogLevel('ERROR')
    yield session
    session.stop()


@pytest.fixture(scope='module')
def table():
    data, metadata = weather()
    return data[:8000], metadata


@pytest.fixture(scope='module')
def fitted(spark, table):
    data, metadata = table
    frame = spark.createDataFrame(data).repartition(4).cache()
    return SparkGWM(metadata, rows_per_partition=2000).fit(frame)


@pytest.fixture(scope='module')
def parquet(table, tmp_path_factory):
    """The table as two parquet files, row groups of 2,500 rows (cut into pieces of 2,000)."""
    data, _ = table
    root = tmp_path_factory.mktemp('parquet')
    data[:5000].to_parquet(root / 'part.0.parquet', index=False, row_group_size=2500)
    data[5000:].to_parquet(root / 'part.1.parquet', index=False, row_group_size=2500)
    return root


@pytest.fixture(scope='module')
def path_fitted(spark, table, parquet):
    pieces = ParquetPieces.PIECE_ROWS
    ParquetPieces.PIECE_ROWS = 2000  # the driver cuts the pieces: tasks only read them
    try:
        return SparkGWM(table[1], rows_per_partition=2000).fit(str(parquet))
    finally:
        ParquetPieces.PIECE_ROWS = pieces


def test_parquet_pieces_read_the_table_as_pandas_reads_it(parquet, monkeypatch):
    monkeypatch.setattr(ParquetPieces, 'PIECE_ROWS', 2000)
    pieces = ParquetPieces.of(parquet)
    # Row groups of 2,500 rows, 2 pieces each; the last file's last group has 500 rows
    assert [end - first for _, _, first, end in pieces.pieces] == [1250, 1250] * 2 + [
        1250,
        1250,
        500,
    ]
    frames = [frame for index in range(len(pieces.pieces)) for frame in pieces.read(index)]
    expected = pd.read_parquet(parquet)
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), expected)
    pd.testing.assert_frame_equal(pieces.head(3000), expected[:3000])
    columns = [pd.concat(pieces.read(index, ['origin'])) for index in range(7)]
    assert sum(map(len, columns)) == len(expected) and all(list(c) == ['origin'] for c in columns)
    assert [len(next(pieces.read(index, []))) for index in range(7)] == [1250] * 6 + [500]


def test_a_parquet_path_without_rows_is_refused_by_name(tmp_path):
    # A file of no rows (no row group) and an empty directory: as the in-memory fit says.
    empty_file, empty_directory = tmp_path / 'empty.parquet', tmp_path / 'nothing'
    pd.DataFrame({'a': pd.Series([], dtype=float)}).to_parquet(empty_file)
    empty_directory.mkdir()
    for path in (empty_file, empty_directory):
        with pytest.raises(InvalidDataError, match=f"'{path}' has no rows"):
            SparkGWM().fit(path)


@pytest.mark.parametrize('source', ['frame', 'path'])
def test_fit_from_partitions_gives_the_in_memory_statistics(table, source, request):
    fitted = request.getfixturevalue('fitted' if source == 'frame' else 'path_fitted')
    data, metadata = table
    in_memory = GWMSynthesizer(metadata).fit(data)
    mixing = fitted.model.mixing
    expected = in_memory._fit_statistics(in_memory._columns, Moments.of(in_memory._model.data))
    for key in ('continuous', 'lower', 'upper'):
        np.testing.assert_array_equal(mixing[key], expected[key])

    assert mixing['weights'].alpha == pytest.approx(expected['weights'].alpha)
    exact = [column.kind not in ('rdt', 'uniform') for column in fitted.model.codec.columns]
    np.testing.assert_array_equal(
        fitted.model.codec.encode(data)[:, exact], in_memory._codec.encode(data)[:, exact]
    )


def test_sample_is_reproducible_and_keeps_the_moments(table, fitted):
    data, metadata = table
    sampled = fitted.sample(ROWS, seed=0).toPandas()
    assert len(sampled) == ROWS
    assert list(sampled.columns) == list(data.columns)
    again = fitted.sample(ROWS, seed=0).toPandas()
    order = list(data.columns)
    pd.testing.assert_frame_equal(
        sampled.sort_values(order, ignore_index=True), again.sort_values(order, ignore_index=True)
    )
    assert_moments_match(sampled, GWMSynthesizer(metadata).fit(data).sample(ROWS))
    frequencies = sampled['origin'].value_counts(normalize=True)
    expected = data['origin'].value_counts(normalize=True)
    error = np.sqrt(expected * (1 - expected) / ROWS)
    assert ((frequencies.reindex(expected.index) - expected).abs() <= 4.5 * error).all()


def test_parquet_out_one_spark_partition_per_output_partition(fitted, tmp_path):
    sample = fitted.sample(3000, seed=1)
    assert sample.rdd.getNumPartitions() == 4  # 8,000 rows in partitions of 2,000
    sizes = sample.rdd.glom().map(len).collect()
    assert len(sizes) == 4 and min(sizes) > 0  # no task mixes two partitions, none idles
    sample.write.parquet(str(tmp_path / 'synthetic'))
    written = pd.read_parquet(tmp_path / 'synthetic')
    assert len(written) == 3000
    assert written['wind_gust'].isna().any() and written['wind_gust'].notna().any()


def test_fit_on_a_path_samples_reproducibly_with_the_moments(table, path_fitted, tmp_path):
    """Tasks read the files with pyarrow: the same seed gives the same files."""
    data, metadata = table
    assert path_fitted.write_parquet(ROWS, tmp_path / 'first', seed=3) == ROWS
    assert path_fitted.write_parquet(ROWS, tmp_path / 'second', seed=3) == ROWS
    for name in sorted(path.name for path in (tmp_path / 'first').iterdir()):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / 'first' / name), pd.read_parquet(tmp_path / 'second' / name)
        )

    sampled = pd.read_parquet(tmp_path / 'first')
    assert list(sampled.columns) == list(data.columns)
    assert_moments_match(sampled, GWMSynthesizer(metadata).fit(data).sample(ROWS))
    assert sampled['wind_gust'].isna().any() and sampled['wind_gust'].notna().any()


def test_write_parquet_writes_the_rows_of_sample_one_file_per_partition(fitted, tmp_path):
    target = tmp_path / 'written'
    assert fitted.write_parquet(3000, target, seed=1) == 3000
    assert sorted(path.name for path in target.iterdir()) == [
        f'part-{index:05d}.parquet' for index in range(4)
    ]
    written = pd.read_parquet(target)
    expected = fitted.sample(3000, seed=1).toPandas()
    order = list(expected.columns)
    pd.testing.assert_frame_equal(
        written.sort_values(order, ignore_index=True),
        expected.sort_values(order, ignore_index=True),
        check_dtype=False,
    )


def test_partitions_reach_python_as_mapinpandas_gives_them(spark):
    """Arrow batches turned into pandas by pyarrow: datetimes naive in the session's zone."""
    frame = pd.DataFrame(
        {
            'time': pd.to_datetime(['2020-01-01 10:00:00.25', None, '2021-06-01 23:59:59.5']),
            'text': ['a', None, 'c'],
            'number': [1.0, np.nan, 3.0],
            'count': [1, 2, 3],
        }
    )
    data = spark.createDataFrame(frame).coalesce(1)
    (seen,) = SparkGWM._map(data, lambda batch: batch, lambda first, second: first)
    pd.testing.assert_frame_equal(seen, data.toPandas())


def test_spark_hash_is_sparks_and_slot_keys_fill_every_partition(spark):
    from pyspark.sql import functions

    values = np.r_[np.arange(-50, 50), [2**31, -(2**40), 2**62]]
    frame = spark.createDataFrame(pd.DataFrame({'v': values}))
    hashed = [row[0] for row in frame.select(functions.hash('v')).collect()]
    np.testing.assert_array_equal(spark_hash(values), hashed)
    keys = slot_keys(7)
    placed = spark.createDataFrame(pd.DataFrame({'k': keys})).repartition(7, 'k')
    assert placed.rdd.glom().map(lambda rows: [row[0] for row in rows]).collect() == [
        [key] for key in keys
    ]


@pytest.mark.parametrize('source', ['frame', 'path'])
def test_the_count_pass_sees_the_placement_of_the_mixing_pass(source, request):
    """The count pass reads no column (on a path: the driver, from the footers); its rows
    per output partition are those placed."""
    import functools

    from sdv_gwm.scale import core

    fitted = request.getfixturevalue('fitted' if source == 'frame' else 'path_fitted')

    model = fitted.model
    plan = core.Plan.of(model.groups, fitted.rows_per_partition)
    count = functools.partial(core._count_placed, plan=plan, seed=5, columns=model.mix_within)
    counts = fitted._map(fitted.data, count, np.add, columns=model.mix_within, indexed=True)
    placed = np.zeros(plan.num_partitions, dtype=np.int64)
    for partition, block, _ in fitted._blocks(plan, 5).collect():
        placed[partition] += len(core.unpack_block(block)[0])

    np.testing.assert_array_equal(np.sum(counts, axis=0), placed)
    assert placed.sum() == 8000 and (placed > 0).all()


def test_cli_synthesizes_a_parquet_directory_with_spark(spark, parquet, tmp_path):
    """``--engine spark`` fits on the path (the session's tasks read it) and writes parquet."""
    from sdv_gwm.cli import main

    command = ['synthesize', str(parquet), str(tmp_path / 'out'), '--engine', 'spark']
    assert main([*command, '--rows', '3000', '--seed', '1', '-q']) == 0
    written = pd.read_parquet(tmp_path / 'out')
    assert len(written) == 3000
    assert list(written.columns) == list(pd.read_parquet(parquet).columns)
