"""GWM on Spark: a ``pyspark.sql.DataFrame`` or a parquet path in, a lazy Spark frame out.

The partitions run as Python UDFs: ``mapInArrow`` for the reductions of ``fit`` and for the
placement, which encodes the training rows and packs those of each output partition into a few
binary blocks (pyarrow turns the input batches into pandas frames, more cheaply than
``mapInPandas``); ``repartition`` of the blocks, which sends output partition ``p`` to Spark
partition ``p``; ``mapInPandas`` for the mixing of each output partition. Given a parquet path
instead of a frame, every task reads its piece of a row group with pyarrow
(``ParquetPieces``): the rows never pass through the JVM before the shuffle of the blocks.
Runs in local mode, on a cluster and on Databricks. Install with
``pip install 'sdv-gwm[spark]'`` (Spark needs Java 17 or later).

Example::

    from sdv_gwm.scale.spark import SparkGWM

    synthesizer = SparkGWM().fit('big.parquet')  # or spark.read.parquet('big.parquet')
    synthesizer.write_parquet(20_000_000, 'synthetic/', seed=0)
"""

import functools
import gc
import os
import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.dataset
import pyarrow.parquet
from pyspark import TaskContext
from pyspark.sql import SparkSession, functions, types
from sdv.errors import InvalidDataError

from sdv_gwm.scale.core import (
    BLOCK,
    BLOCK_ROWS,
    PARTITION,
    ROW,
    DistributedGWM,
    place_blocks,
    synthesize_placed,
)

#: Column of the key on which the blocks are shuffled (see ``slot_keys``).
SLOT = '_gwm_slot'


class SparkGWM(DistributedGWM):
    """GWM on a ``pyspark.sql.DataFrame`` or a parquet table (see ``DistributedGWM``).

    ``fit`` takes a frame, or the path of a parquet file or directory, which every task then
    reads with pyarrow, a piece each (``ParquetPieces``; cheaper: the JVM neither reads
    the rows nor hands them to Python). A frame must give the same partitions each time it is
    computed (a file scan, or a cached frame): ``sample`` reads it twice, to count and to
    place the rows. The same seed then gives the same rows (for a path, with the same files;
    for a frame, with the same files and ``spark.sql.files.maxPartitionBytes``).

    Args:
        metadata (sdv.metadata.Metadata or None):
            Metadata of the table; ``None``: detected by SDV from its first rows.
        rows_per_partition (int):
            Training rows per output partition.
        **parameters:
            ``GWMSynthesizer`` parameters.
    """

    def fit(self, data):
        """Fit to a Spark frame or a parquet table.

        Args:
            data (pyspark.sql.DataFrame, str or os.PathLike):
                The training table: a frame, or the path of a parquet file or of a directory
                of parquet files (a local path in local mode, or a shared file system or
                object store that pyarrow opens), read by the tasks with pyarrow.

        Returns:
            SparkGWM:
                ``self``.
        """
        if isinstance(data, (str, os.PathLike)):
            data = ParquetPieces.of(data)

        return super().fit(data)

    @staticmethod
    def _head(data, num_rows):
        if isinstance(data, ParquetPieces):
            return data.head(num_rows)

        return data.limit(num_rows).toPandas()

    @staticmethod
    def _map(data, function, merge, columns=None, indexed=False):
        """``function`` of every Arrow batch, merged per partition: one row per partition."""
        reduce = functools.partial(_reduce, function=function, merge=merge, indexed=indexed)
        if isinstance(data, ParquetPieces) and columns is not None and not columns:
            # No column to read: the rows of every piece are in the footers, and a Spark
            # task would cost more than the work, so the driver does it
            return [
                pickle.loads(batch['payload'][0].as_py())
                for index in range(len(data.pieces))
                for batch in reduce(data.read(index, columns), index)
            ]

        if isinstance(data, ParquetPieces):
            run = functools.partial(_reduce_pieces, pieces=data, columns=columns, reduce=reduce)
            data = data.tasks()
        else:
            if columns is not None:  # same partitions: the input is a file scan or cached
                # No columns: a constant, so that a file scan reads the row counts only
                data = data.select(*(columns or [functions.lit(0).alias(ROW)]))

            run = functools.partial(_reduce_partition, reduce=reduce, time_zone=_time_zone(data))

        rows = data.mapInArrow(run, 'index long, payload binary').collect()
        return [pickle.loads(payload) for _, payload in sorted(rows)]

    def write_parquet(self, num_rows, path, seed=0):
        """Sample into a parquet directory, each output partition written by its own task.

        The tasks write their rows with pyarrow, one file per output partition
        (``part-00000.parquet``, ...), so the rows never enter the JVM: cheaper than
        ``sample(...).write.parquet(path)``, which converts them to Spark rows and writes them
        with Spark's writer. The same seed and input give the same files.

        Args:
            num_rows (int):
                Number of rows.
            path (str):
                The directory, reachable from every executor: a local path in local mode, or
                a shared file system or object store that pyarrow opens (``s3://...``, or
                ``/dbfs/...`` on Databricks).
            seed (int or None):
                As for ``sample``.

        Returns:
            int:
                The number of rows written.
        """
        path = str(path) if '://' in str(path) else os.path.abspath(path)
        plan, allocation, seed = self._plan(num_rows, seed)
        write = functools.partial(
            _write_partition, model=self.model, allocation=allocation, seed=seed, path=path
        )
        written = self._blocks(plan, seed).mapInPandas(write, 'rows long').collect()
        return sum(row.rows for row in written)

    def _synthesize(self, plan, allocation, seed):
        return self._blocks(plan, seed).mapInPandas(
            functools.partial(_mix_partition, model=self.model, allocation=allocation, seed=seed),
            spark_schema(self.model.empty()),
        )

    def _blocks(self, plan, seed):
        """The placed and encoded blocks, output partition ``p`` in Spark partition ``p``."""
        model = self.model
        schema = types.StructType(
            [
                types.StructField(PARTITION, types.LongType()),
                types.StructField(BLOCK, types.BinaryType()),
                types.StructField(SLOT, types.LongType()),
            ]
        )
        place = functools.partial(
            _place, model=model, plan=plan, seed=seed, slots=slot_keys(plan.num_partitions)
        )
        if isinstance(self.data, ParquetPieces):
            run = functools.partial(_place_pieces, pieces=self.data, place=place)
            blocks = self.data.tasks().mapInArrow(run, schema)
        else:
            run = functools.partial(_place_partition, place=place, time_zone=_time_zone(self.data))
            blocks = self.data.mapInArrow(run, schema)

        return blocks.repartition(plan.num_partitions, SLOT)


@dataclass(frozen=True)
class ParquetPieces:
    """A parquet table that Spark tasks read themselves with pyarrow, a piece per task.

    A piece is a row group, or a slice of at most ``PIECE_ROWS`` rows of a larger one (so
    that a file of one large row group still keeps several workers busy; every task has a
    fixed cost in its Python worker, so pieces are not smaller). Input partition
    ``i`` is the ``i``-th piece (files in the order pyarrow lists them), read by its task in
    batches of ``BLOCK_ROWS`` rows as ``pandas.read_parquet`` reads it
    (``pyarrow.Table.to_pandas``): the partitioning, and with it the sample of a seed, depends
    only on the files.

    Attributes:
        pieces (tuple[tuple[str, int, int, int]]):
            ``(file, row group, first row, end row)`` of every input partition, rows counted
            in the row group.
        filesystem (pyarrow.fs.FileSystem):
            The file system the files are on.
    """

    pieces: tuple
    filesystem: object

    #: Rows of a piece at most.
    PIECE_ROWS = 500_000

    @classmethod
    def of(cls, path):
        """List the pieces of a parquet file or directory.

        Args:
            path (str or os.PathLike):
                A parquet file or a directory of parquet files: a local path, or a URI
                that pyarrow opens (``s3://...``).

        Returns:
            ParquetPieces:
                Its pieces (on the driver, from the files' footers).

        Raises:
            sdv.errors.InvalidDataError: If the files hold no rows.
        """
        path = str(path)
        dataset = pyarrow.dataset.dataset(path if '://' in path else os.path.abspath(path))
        pieces = []
        for name in dataset.files:
            metadata = pyarrow.parquet.ParquetFile(name, filesystem=dataset.filesystem).metadata
            for group in range(metadata.num_row_groups):
                rows = metadata.row_group(group).num_rows
                count = max(1, -(-rows // cls.PIECE_ROWS))
                ends = [rows * part // count for part in range(count + 1)]
                pieces.extend((name, group, *span) for span in zip(ends, ends[1:], strict=False))

        if not any(end > first for _, _, first, end in pieces):  # as the in-memory fit says
            raise InvalidDataError(
                [f"The parquet table '{path}' has no rows. Mixing needs at least 2 rows to fit."]
            )

        return cls(tuple(pieces), dataset.filesystem)

    def read(self, index, columns=None):
        """Yield the rows of input partition ``index`` as pandas frames, in order.

        Args:
            index (int):
                The input partition.
            columns (list[str] or None):
                The columns to read (``None``: all; empty: none, only the rows).

        Yields:
            pandas.DataFrame:
                Batches of at most ``BLOCK_ROWS`` rows.
        """
        name, group, first, end = self.pieces[index]
        if columns is not None and not columns:
            yield pd.DataFrame(index=pd.RangeIndex(end - first))
            return

        file = pyarrow.parquet.ParquetFile(name, filesystem=self.filesystem)
        start = 0  # the rows before ``first`` are decoded, not converted
        for batch in file.iter_batches(BLOCK_ROWS, [group], columns, use_threads=False):
            low, high = max(first - start, 0), min(end - start, len(batch))
            start += len(batch)
            if low < high:
                yield batch.slice(low, high - low).to_pandas(use_threads=False)

            if start >= end:
                break

    def head(self, num_rows):
        """Return the first ``num_rows`` rows (fewer if the table has fewer) as a frame."""
        frames, count = [], 0
        for index in range(len(self.pieces)):
            for frame in self.read(index):
                frames.append(frame.iloc[: num_rows - count])
                count += len(frames[-1])
                if count == num_rows:
                    return pd.concat(frames, ignore_index=True)

        return pd.concat(frames, ignore_index=True)

    def tasks(self):
        """A Spark frame of the input partitions' numbers, one per Spark partition."""
        spark = SparkSession.builder.getOrCreate()
        return spark.range(0, len(self.pieces), 1, len(self.pieces))


def _freeze_imports():
    """Leave the objects of the modules a Python worker has imported out of its garbage collection.

    Spark reuses a Python worker for many tasks, and every task made the worker's collector
    walk all the objects of the imported modules (SDV, RDT, pandas, scipy): a fixed cost
    per task, larger than the work of a task on a small piece. Frozen once,
    after the imports (``gc.freeze``), they are not walked again; what the tasks allocate is
    collected as before.
    """
    global _FROZEN
    if not _FROZEN:
        gc.freeze()
        _FROZEN = True


_FROZEN = False


def _mix_partition(batches, model, allocation, seed):
    _freeze_imports()
    frames = [batch for batch in batches if len(batch)]
    if frames:
        yield synthesize_placed(pd.concat(frames, ignore_index=True), model, allocation, seed)


def _write_partition(batches, model, allocation, seed, path):
    import pyarrow
    import pyarrow.fs
    import pyarrow.parquet

    for frame in _mix_partition(batches, model, allocation, seed):
        filesystem, root = pyarrow.fs.FileSystem.from_uri(path)
        filesystem.create_dir(root, recursive=True)
        name = f'{root}/part-{TaskContext.get().partitionId():05d}.parquet'
        table = pyarrow.Table.from_pandas(frame, preserve_index=False)
        pyarrow.parquet.write_table(table, name, filesystem=filesystem)
        yield pd.DataFrame({'rows': [len(frame)]})


def _reduce(frames, index, function, merge, indexed):
    """``function`` of every frame of input partition ``index``, merged: an Arrow batch."""
    start, result = 0, None
    for batch in frames:
        if not len(batch):
            continue

        part = function(batch, index, start) if indexed else function(batch)
        result = part if result is None else merge(result, part)
        start += len(batch)

    if result is not None:
        payload = pickle.dumps(result)
        yield pyarrow.RecordBatch.from_pydict({'index': [index], 'payload': [payload]})


def _reduce_partition(batches, reduce, time_zone):
    _freeze_imports()
    yield from reduce(_frames(batches, time_zone), TaskContext.get().partitionId())


def _reduce_pieces(batches, pieces, columns, reduce):
    _freeze_imports()
    for index in _indices(batches):
        yield from reduce(pieces.read(index, columns), index)


def _place(frames, index, model, plan, seed, slots):
    for frame in place_blocks(frames, model, plan, seed, index):
        frame = frame.assign(**{SLOT: slots[frame[PARTITION].to_numpy()]})
        yield pyarrow.RecordBatch.from_pandas(frame, preserve_index=False)


def _place_partition(batches, place, time_zone):
    _freeze_imports()
    yield from place(_frames(batches, time_zone), TaskContext.get().partitionId())


def _place_pieces(batches, pieces, place):
    _freeze_imports()
    for index in _indices(batches):
        yield from place(pieces.read(index), index)


def _indices(batches):
    """The input partition numbers a task of ``ParquetPieces.tasks`` is given."""
    for batch in batches:
        yield from batch.column(0).to_pylist()


def _frames(batches, time_zone):
    """Arrow batches as pandas frames, datetimes naive in the session's time zone.

    As ``mapInPandas`` would give them, at the cost of pyarrow's conversion, not Spark's.
    """
    for batch in batches:
        frame = batch.to_pandas()
        for name, dtype in frame.dtypes.items():
            if isinstance(dtype, pd.DatetimeTZDtype):
                local = frame[name].dt.tz_convert(time_zone).dt.tz_localize(None)
                frame[name] = local.astype('datetime64[ns]')

        yield frame


def _time_zone(data):
    return data.sparkSession.conf.get('spark.sql.session.timeZone')


def slot_keys(num_partitions):
    """Return a key per output partition that ``repartition`` sends to the same partition.

    Spark places a row of ``repartition(n, key)`` in partition ``pmod(hash(key), n)``, with
    ``hash`` its Murmur3 hash of a long (seed 42); the keys are the first non-negative longs
    that fill every partition. A ``groupBy`` on the output partition would hash it instead
    and put several output partitions in one task while other workers idle.

    Args:
        num_partitions (int):
            The number of output partitions.

    Returns:
        numpy.ndarray:
            ``int64`` keys, one per output partition, in order.
    """
    keys = np.full(num_partitions, -1, dtype=np.int64)
    first = 0
    while (keys < 0).any():
        candidates = np.arange(first, first + 16 * num_partitions + 64, dtype=np.int64)
        slots = np.mod(spark_hash(candidates), num_partitions)
        unique, position = np.unique(slots, return_index=True)
        missing = keys[unique] < 0
        keys[unique[missing]] = candidates[position[missing]]
        first += len(candidates)

    return keys


def spark_hash(values):
    """Return Spark SQL's ``hash`` of ``long`` values (``Murmur3_x86_32.hashLong``, seed 42).

    Args:
        values (numpy.ndarray):
            Integers.

    Returns:
        numpy.ndarray:
            The signed 32-bit hashes, as ``int64``.
    """
    mask = np.uint64(0xFFFFFFFF)

    def rotate(word, bits):
        return ((word << np.uint64(bits)) | (word >> np.uint64(32 - bits))) & mask

    def mix(state, word):
        word = rotate(word * np.uint64(0xCC9E2D51) & mask, 15) * np.uint64(0x1B873593) & mask
        return (rotate(state ^ word, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & mask

    values = np.asarray(values).astype(np.int64).view(np.uint64)
    state = mix(mix(np.full(len(values), 42, dtype=np.uint64), values & mask), values >> 32)
    state ^= np.uint64(8)
    for multiplier, shift in ((0x85EBCA6B, 16), (0xC2B2AE35, 13)):
        state ^= state >> np.uint64(shift)
        state = state * np.uint64(multiplier) & mask
    state ^= state >> np.uint64(16)
    return state.astype(np.uint32).view(np.int32).astype(np.int64)


def spark_schema(frame):
    """Return the Spark schema of a pandas frame's columns and dtypes.

    Args:
        frame (pandas.DataFrame):
            The frame (its rows are not read).

    Returns:
        pyspark.sql.types.StructType:
            Strings for object and categorical columns, ``long``, ``double``, ``boolean``
            and ``timestamp`` for the numpy kinds.
    """
    kinds = {
        'b': types.BooleanType(),
        'i': types.LongType(),
        'u': types.LongType(),
        'f': types.DoubleType(),
        'M': types.TimestampType(),
    }
    fields = []
    for name, dtype in frame.dtypes.items():
        kind = np.dtype(dtype).kind if isinstance(dtype, np.dtype) else 'O'
        fields.append(types.StructField(name, kinds.get(kind, types.StringType())))

    return types.StructType(fields)
