"""GWM on Dask: ``dask.dataframe`` in, a lazy ``dask.dataframe`` out.

Runs on any Dask scheduler: local threads or processes, or a ``dask.distributed`` cluster.
Install with ``pip install 'sdv-gwm[dask]'``.

Example::

    import dask.dataframe as dd
    from sdv_gwm.scale.dask import DaskGWM

    table = dd.read_parquet('big.parquet')
    synthesizer = DaskGWM().fit(table)
    synthesizer.sample(20_000_000, seed=0).to_parquet('synthetic/')
"""

import uuid

import dask
import numpy as np
import pandas as pd

from sdv_gwm.scale.core import BLOCK, PARTITION, DistributedGWM, place_blocks, synthesize_placed


class DaskGWM(DistributedGWM):
    """GWM on a ``dask.dataframe.DataFrame`` (see ``sdv_gwm.scale.core.DistributedGWM``).

    Args:
        metadata (sdv.metadata.Metadata or None):
            Metadata of the table; ``None``: detected by SDV from its first rows.
        rows_per_partition (int):
            Training rows per output partition.
        shuffle_method (str or None):
            Dask's shuffle method (``'disk'``, ``'tasks'``, ``'p2p'``); ``None``: Dask's
            default (``'disk'`` without a ``dask.distributed`` client: memory stays bounded).
        **parameters:
            ``GWMSynthesizer`` parameters.
    """

    def __init__(self, metadata=None, rows_per_partition=None, shuffle_method=None, **parameters):
        super().__init__(metadata, **_given(rows_per_partition=rows_per_partition), **parameters)
        self.shuffle_method = shuffle_method

    @staticmethod
    def _head(data, num_rows):
        return data.head(num_rows, npartitions=1, compute=True)

    @staticmethod
    def _map(data, function, merge, columns=None, indexed=False):
        """``function`` of every partition (and its number and first row, when ``indexed``)."""
        if columns is not None:
            data = data[columns or [_cheapest(data)]]

        parts = data.to_delayed()
        # Not hashed (pure=False): Dask would pickle the model in ``function`` for every task
        task = dask.delayed(function, pure=False)
        if indexed:
            tasks = [task(part, index, 0) for index, part in enumerate(parts)]
        else:
            tasks = [task(part) for part in parts]

        return list(dask.compute(*tasks))

    def _synthesize(self, plan, allocation, seed):
        model = _Unhashed(self.model)
        blocks = self.data.map_partitions(
            _place_partition,
            model,
            plan,
            seed,
            partition_info=True,
            meta=_BLOCKS,
        )
        num_partitions = plan.num_partitions
        shuffled = blocks.set_index(
            PARTITION,
            divisions=list(range(num_partitions + 1)),
            shuffle_method=self.shuffle_method,
        )
        return shuffled.map_partitions(
            _synthesize_partition, model, allocation, seed, meta=self.model.empty()
        ).clear_divisions()


def _given(**values):
    return {key: value for key, value in values.items() if value is not None}


class _Unhashed:
    """A task argument that Dask does not hash.

    Dask names every expression by a hash of its arguments, which for the fitted model means
    pickling it, several times per ``sample``; this wrapper's token is drawn once instead.

    Args:
        value:
            The argument.
    """

    def __init__(self, value):
        self.value = value
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self):
        """Return the token drawn for this argument."""
        return self.token


def _place_partition(frame, model, plan, seed, partition_info=None):
    blocks = list(place_blocks([frame], model.value, plan, seed, partition_info['number']))
    return pd.concat(blocks, ignore_index=True) if blocks else _BLOCKS


#: The frame of no blocks.
_BLOCKS = pd.DataFrame({PARTITION: np.array([], dtype=np.int64), BLOCK: []})


def _synthesize_partition(frame, model, allocation, seed):
    return synthesize_placed(frame.reset_index(), model.value, allocation, seed)


def _cheapest(data):
    """A column that is cheap to read when only the rows count: numbers before strings."""
    return min(data.columns, key=lambda name: data[name].dtype.kind not in 'biufcmM')
