"""GWM on Spark: a ``pyspark.sql.DataFrame`` in, a lazy ``pyspark.sql.DataFrame`` out.

The partitions run as pandas UDFs: ``mapInPandas`` for the reductions of ``fit`` and for the
placement, which encodes the training rows and packs those of each output partition into a few
binary blocks; a shuffle of the blocks that sends output partition ``p`` to Spark partition
``p``; ``mapInPandas`` again for the mixing of each output partition. Runs in local mode,
on a cluster and on Databricks. Install with ``pip install 'sdv-gwm[spark]'`` (Spark needs
Java 17 or later).

Example::

    from sdv_gwm.scale.spark import SparkGWM

    table = spark.read.parquet('big.parquet')
    synthesizer = SparkGWM().fit(table)
    synthesizer.sample(20_000_000, seed=0).write.parquet('synthetic/')
"""

import functools
import pickle

import numpy as np
import pandas as pd
from pyspark import TaskContext
from pyspark.sql import types

from sdv_gwm.scale.core import (
    BLOCK,
    PARTITION,
    DistributedGWM,
    place_blocks,
    synthesize_blocks,
)


class SparkGWM(DistributedGWM):
    """GWM on a ``pyspark.sql.DataFrame`` (see ``sdv_gwm.scale.core.DistributedGWM``).

    The input must give the same partitions each time it is computed (a file scan, or a
    cached frame): ``sample`` reads it twice, to count and to place the rows. The same seed
    then gives the same rows (with the same files and ``spark.sql.files.maxPartitionBytes``).

    Args:
        metadata (sdv.metadata.Metadata or None):
            Metadata of the table; ``None``: detected by SDV from its first rows.
        rows_per_partition (int):
            Training rows per output partition.
        **parameters:
            ``GWMSynthesizer`` parameters.
    """

    @staticmethod
    def _head(data, num_rows):
        return data.limit(num_rows).toPandas()

    @staticmethod
    def _map(data, function, merge, columns=None, indexed=False):
        """``function`` of every Arrow batch, merged per partition: one row per partition."""
        if columns is not None:  # same partitions: the input is a file scan or cached
            data = data.select(*(columns or data.columns[:1]))

        run = functools.partial(_reduce_partition, function=function, merge=merge, indexed=indexed)
        rows = data.mapInPandas(run, 'index long, payload binary').collect()
        return [pickle.loads(payload) for _, payload in sorted(rows)]

    def _synthesize(self, plan, allocation, seed):
        model = self.model
        schema = types.StructType(
            [
                types.StructField(PARTITION, types.LongType()),
                types.StructField(BLOCK, types.BinaryType()),
            ]
        )
        blocks = self.data.mapInPandas(
            functools.partial(_place_partition, model=model, plan=plan, seed=seed), schema
        )
        # Output partition p goes to Spark partition p: a hash of the key (groupBy) would put
        # several in one task and leave workers idle. The blocks are few rows: the RDD
        # shuffle moves them cheaply.
        shuffled = blocks.rdd.map(tuple).partitionBy(plan.num_partitions, _identity)
        return self.data.sparkSession.createDataFrame(shuffled, schema).mapInPandas(
            functools.partial(_mix_partition, model=model, allocation=allocation, seed=seed),
            spark_schema(model.empty()),
        )


def _identity(key):
    return key


def _mix_partition(batches, model, allocation, seed):
    frames = [batch for batch in batches if len(batch)]
    if frames:
        yield synthesize_blocks(pd.concat(frames, ignore_index=True), model, allocation, seed)


def _reduce_partition(batches, function, merge, indexed):
    index, start, result = TaskContext.get().partitionId(), 0, None
    for batch in batches:
        if not len(batch):
            continue

        part = function(batch, index, start) if indexed else function(batch)
        result = part if result is None else merge(result, part)
        start += len(batch)

    if result is not None:
        yield pd.DataFrame({'index': [index], 'payload': [pickle.dumps(result)]})


def _place_partition(batches, model, plan, seed):
    yield from place_blocks(batches, model, plan, seed, TaskContext.get().partitionId())


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
