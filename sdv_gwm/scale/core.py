"""The engine-agnostic core of distributed GWM.

Two kinds of pure functions, which the Dask and Spark adapters run inside partitions:

- **Statistics by mergeable reductions.** The codec's partials, ``sdv_gwm.moments.Moments``,
  ``GroupCounts``, ``RowSample`` and, with ``transport``, the normal equations and squared
  residuals of its class means (``class_normal``, ``class_scale_sums``) summarise one pandas
  chunk and merge; nothing but the summaries leaves a partition.
- **Placement and mixing.** ``place`` gives every training row a random bucket and partition
  (a random key, then a shuffle on it by the engine) and ``place_blocks`` packs the encoded
  rows of each partition into blocks; ``allocate`` splits the requested rows over the
  partitions in proportion to their sizes; ``synthesize_placed`` turns the blocks of one
  partition into its synthetic rows (``Mixer``, decode).

Why pairs drawn inside randomly formed partitions keep the moments is derived in the docs'
"Scale" page.
"""

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sdv.errors import InvalidDataError, SamplingError, SynthesizerInputError

from sdv_gwm import _compat, codec
from sdv_gwm.engine import ClassMeans, KeySet, Mixer
from sdv_gwm.moments import Moments

#: Training rows per partition when the caller does not say.
ROWS_PER_PARTITION = 500_000

#: Columns that ``place`` adds to a training partition.
BUCKET, PARTITION, ROW = '_gwm_bucket', '_gwm_partition', '_gwm_row'

#: Column of the blocks of ``place_blocks``, and the input rows a block holds at most.
BLOCK, BLOCK_ROWS = '_gwm_block', 100_000

#: Column metadata that SDV detects from values; dropped when it was detected from a sample.
SAMPLE_KEYS = ('range_is_nullable', 'range_values', 'range_min', 'range_max', 'decimal_places')

#: Training rows of the uniform sample ``fit`` draws (the splits of the transport's classes
#: and its spread factors come from it).
SAMPLE_ROWS = 50_000

# Independent random streams derived from the one seed of a ``sample`` call (and of ``fit``).
_PLACE, _ALLOCATE, _MIX, _SAMPLE = 0, 1, 2, 3


def generator(seed, stream, index=0):
    """Return the random generator of one stream and one partition.

    Args:
        seed (int):
            The seed of the ``sample`` call.
        stream (int):
            Which use: placement, allocation or mixing.
        index (int):
            The partition (input partition for placement, output partition for mixing).

    Returns:
        numpy.random.Generator:
            A generator that depends only on these three numbers.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


@dataclass
class GroupCounts:
    """Row counts of the combinations of the ``mix_within`` columns, mergeable.

    A row's group is the combination of its values of those columns (missing is a value);
    its key is that combination as a tuple of strings, as the in-memory synthesizer groups.
    """

    counts: dict

    @classmethod
    def of(cls, frame, columns):
        """Count the groups of a chunk.

        Args:
            frame (pandas.DataFrame):
                Training rows.
            columns (list[str]):
                The ``mix_within`` columns; empty means one group.

        Returns:
            GroupCounts:
                The counts.
        """
        keys = group_keys(frame, columns)
        return cls(dict(zip(*np.unique(keys, return_counts=True), strict=True)))

    def merge(self, other):
        """Add the counts of other rows.

        Args:
            other (GroupCounts):
                Counts of rows disjoint from these.

        Returns:
            GroupCounts:
                The counts of both.
        """
        counts = dict(self.counts)
        for key, count in other.counts.items():
            counts[key] = counts.get(key, 0) + count

        return GroupCounts(counts)


def group_keys(frame, columns):
    """Return each row's group key: its ``columns`` values joined as one string."""
    if not columns:
        return np.full(len(frame), '')

    parts = [frame[column].astype(str).to_numpy(dtype=object) for column in columns]
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + '\x1f' + part

    return keys.astype(str)


@dataclass
class Plan:
    """How the rows of each group are spread over buckets and the buckets over partitions.

    A group of ``n_g`` rows gets ``max(1, round(n_g / rows_per_partition))`` buckets and each
    row a uniform one of them: a bucket is a uniform random subset of its group. Buckets are
    packed, in group order, into partitions of at most ``rows_per_partition`` expected rows
    (or one bucket); a row is only mixed with a partner of its own bucket.
    """

    keys: np.ndarray
    offset: np.ndarray
    buckets: np.ndarray
    partition: np.ndarray

    @classmethod
    def of(cls, groups, rows_per_partition=ROWS_PER_PARTITION):
        """Plan from the group counts of the training rows.

        Args:
            groups (GroupCounts):
                Rows per group.
            rows_per_partition (int):
                The target number of training rows of a partition.

        Returns:
            Plan:
                The plan.
        """
        keys = np.array(sorted(groups.counts), dtype=str)
        sizes = np.array([groups.counts[key] for key in keys], dtype=float)
        buckets = np.maximum(np.round(sizes / rows_per_partition), 1).astype(int)
        offset = np.concatenate([[0], np.cumsum(buckets)[:-1]])
        partition = np.empty(buckets.sum(), dtype=int)
        index, filled = 0, 0.0
        for bucket, rows in enumerate(np.repeat(sizes / buckets, buckets)):
            if filled and filled + rows > rows_per_partition:
                index, filled = index + 1, 0.0

            partition[bucket], filled = index, filled + rows

        return cls(keys, offset, buckets, partition)

    @property
    def num_partitions(self):
        """int: The number of output partitions."""
        return int(self.partition.max()) + 1


def place(frame, columns, plan, seed, index, start=0):
    """Give each training row of an input partition its bucket, partition and row id.

    The bucket is uniform among its group's buckets, drawn from a generator that depends only
    on ``seed`` and ``index``; the row id orders the rows of an output partition the same way
    whatever order a shuffle delivers them in.

    Args:
        frame (pandas.DataFrame):
            Training rows of one input partition.
        columns (list[str]):
            The ``mix_within`` columns (empty: one group).
        plan (Plan):
            The plan of the sample.
        seed (int):
            The seed of the sample.
        index (int):
            The input partition's number.
        start (int):
            Position of the first row in the input partition (for engines that deliver a
            partition in batches).

    Returns:
        pandas.DataFrame:
            ``frame`` with the columns ``BUCKET``, ``PARTITION`` and ``ROW`` added (a new
            frame).
    """
    group = np.searchsorted(plan.keys, group_keys(frame, columns))
    draw = _uniforms(seed, _PLACE, index, start, len(frame))
    bucket = plan.offset[group] + (draw * plan.buckets[group]).astype(int)
    return _with_columns(
        frame,
        {
            BUCKET: bucket.astype(np.int64),
            PARTITION: plan.partition[bucket].astype(np.int64),
            ROW: (np.int64(index) << 32) + start + np.arange(len(frame), dtype=np.int64),
        },
    )


def _uniforms(seed, stream, index, start, count):
    """One uniform per row of an input partition, whatever batches it comes in."""
    bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, index)))
    return np.random.Generator(bits.advance(start)).random(count)


@dataclass
class RowSample:
    """A uniform sample without replacement of the training rows, mergeable.

    Every row draws a uniform key (a seeded stream per input partition); the sample is the
    ``size`` rows with the smallest keys, so the samples of partitions merge into the sample of
    their union.
    """

    keys: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, rows, index, start, size=SAMPLE_ROWS):
        """Sample encoded rows of an input partition.

        Args:
            rows (numpy.ndarray):
                Encoded training rows.
            index (int):
                The input partition's number.
            start (int):
                Position of the first row in the partition.
            size (int):
                Rows kept at most.

        Returns:
            RowSample:
                The sample.
        """
        return cls(_uniforms(0, _SAMPLE, index, start, len(rows)), rows)._smallest(size)

    def merge(self, other, size=SAMPLE_ROWS):
        """The sample of the union of two disjoint sets of rows."""
        keys = np.concatenate([self.keys, other.keys])
        return RowSample(keys, np.concatenate([self.rows, other.rows]))._smallest(size)

    def _smallest(self, size):
        order = np.argsort(self.keys, kind='stable')[:size]
        return RowSample(self.keys[order], self.rows[order])


def allocate(num_rows, sizes, seed):
    """Split ``num_rows`` over partitions in proportion to their sizes, unbiasedly.

    Systematic rounding: partition ``p`` gets ``floor(c_p + U) - floor(c_{p-1} + U)`` rows with
    ``c_p = num_rows * (n_1 + ... + n_p) / n`` and one uniform ``U``. The total is exactly
    ``num_rows`` and the expected share of every partition is exactly its share of the
    training rows, so every training row is a first parent equally often in expectation.

    Args:
        num_rows (int):
            Rows to sample.
        sizes (numpy.ndarray):
            Training rows per partition.
        seed (int):
            The seed of the sample.

    Returns:
        numpy.ndarray:
            Rows to sample per partition.
    """
    sizes = np.asarray(sizes, dtype=float)
    cumulative = num_rows * np.cumsum(sizes) / sizes.sum()
    offset = generator(seed, _ALLOCATE).random()
    ends = np.floor(cumulative + offset).astype(np.int64)
    ends[-1] = num_rows  # cumulative[-1] == num_rows up to rounding
    return np.diff(ends, prepend=np.floor(offset).astype(np.int64))


def plain_frame(frame):
    """Return ``frame`` with pandas string columns as object columns (``NaN`` for missing).

    Dask reads strings as ``string[pyarrow]``; the codec and SDV expect what pandas reads.
    """
    strings = [name for name, dtype in frame.dtypes.items() if isinstance(dtype, pd.StringDtype)]
    if not strings:
        return frame

    converted = {name: frame[name].to_numpy(dtype=object, na_value=np.nan) for name in strings}
    return _with_columns(frame, converted)


def _with_columns(frame, columns):
    """``frame.assign(**columns)`` without its copy of the other columns (a new frame)."""
    frame = frame.copy(deep=False)
    for name, values in columns.items():
        frame[name] = values  # replaces the column: the caller's frame keeps its own

    return frame


@dataclass
class Model:
    """A fitted distributed GWM model without its training rows: small and picklable.

    Attributes:
        synthesizer (sdv_gwm.GWMSynthesizer):
            Holds the parameters and the statistics fitted from the whole table (rounding
            compensation, the grid of the copy check); it has no training rows.
        codec (sdv_gwm.codec.Codec):
            Encodes training rows and decodes synthetic rows.
        mixing (dict):
            The ``Mixer`` arguments fitted from the whole table: mask of the mixed columns,
            weight law (for the whole table's number of rows), bounds, transport, rounding
            noise and, with transport, the class means and spreads and the spread factors.
        groups (GroupCounts):
            Training rows per ``mix_within`` group.
        meta (pandas.DataFrame):
            A synthetic row, for the columns and dtypes of the output.
        atoms (numpy.ndarray or None):
            With ``transport``, the atoms' values at the lower and upper bound of each column
            (``NaN``: none), as the classes were fitted.
    """

    synthesizer: object
    codec: object
    mixing: dict
    groups: GroupCounts
    meta: pd.DataFrame
    atoms: np.ndarray = None

    @property
    def mix_within(self):
        """list[str]: Columns a row's partner must share."""
        return self.synthesizer.mix_within or []

    @property
    def num_rows(self):
        """int: Training rows of the whole table."""
        return sum(self.groups.counts.values())

    def empty(self):
        """Return a frame with no rows in the columns and dtypes of the synthetic table."""
        return self.meta.iloc[:0]


def synthesize_partition(data, model, num_rows, random_state, buckets=None):
    """Turn the encoded training rows of one partition into synthetic rows.

    The rows are mixed by a ``Mixer`` whose pairs never leave a bucket, and decoded. The law,
    the bounds and, with transport, the class means and spreads are the whole table's, so a
    partition mixes as the in-memory synthesizer mixes these rows; a row equal to one of the
    partition's training rows once written is drawn again, as in memory.

    Args:
        data (numpy.ndarray):
            Encoded training rows (``model.codec.encode``), in a reproducible order.
        model (Model):
            The fitted model.
        num_rows (int):
            Rows to generate.
        random_state (numpy.random.Generator):
            Randomness of the mixing.
        buckets (numpy.ndarray or None):
            Bucket of each row (``None``: one bucket).

    Returns:
        pandas.DataFrame:
            ``num_rows`` synthetic rows in the table's columns and dtypes.
    """
    if num_rows == 0:
        return model.empty()

    synthesizer = model.synthesizer
    groups = None if buckets is None else pd.factorize(np.asarray(buckets))[0]
    mixer = Mixer(data, groups=groups, donors=synthesizer.discrete_donors, **model.mixing)
    mixer.set_random_state(random_state)
    sampled = mixer.sample(num_rows, reject=_copy_check(synthesizer, data))
    return model.codec.decode(sampled)


def _copy_check(synthesizer, data):
    """``Mixer.sample``'s ``reject`` against these training rows (``None``: copies allowed)."""
    if not synthesizer._redraws_copies:
        return None

    keys = KeySet(synthesizer._row_keys(data))
    return functools.partial(synthesizer._is_copy, training_keys=keys)


def synthesize_placed(frame, model, allocation, seed):
    """Turn the placed training rows of output partitions into their synthetic rows.

    Args:
        frame (pandas.DataFrame):
            The training rows of one or more whole output partitions as the blocks of
            ``place_blocks`` (columns ``PARTITION`` and ``BLOCK``), in any order.
        model (Model):
            The fitted model.
        allocation (numpy.ndarray):
            Rows to generate per output partition (``allocate``).
        seed (int):
            The seed of the sample.

    Returns:
        pandas.DataFrame:
            The synthetic rows, output partitions in order.
    """
    parts = [
        synthesize_partition(
            rows, model, int(allocation[index]), generator(seed, _MIX, index), buckets
        )
        for index, rows, buckets in _partitions(frame)
    ]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts or [model.empty()])[0]


def _partitions(frame):
    """``(number, encoded rows in row id order, their buckets)`` of every output partition."""
    for index, blocks in frame.groupby(PARTITION, sort=True):
        # A block's rows are in row id order and blocks do not interleave: ordered by their
        # first row id, they are the partition's rows in order, no sort needed
        unpacked = sorted(map(unpack_block, blocks[BLOCK]), key=lambda block: block[0][0])
        ids, buckets, data = zip(*unpacked, strict=True)
        ids, buckets = np.concatenate(ids), np.concatenate(buckets)
        data = np.concatenate([part.T for part in data], axis=1).T  # column-major, as packed
        if not (np.diff(ids) > 0).all():  # not so (blocks cut otherwise): sort the rows
            order = np.argsort(ids, kind='stable')
            ids, buckets, data = ids[order], buckets[order], data[order]

        yield int(index), data, buckets


def pack_block(ids, buckets, data):
    """Pack the row ids, buckets and encoded rows of a block as bytes (LZ4).

    Each array is compressed from its own memory (no pickle, no joined copy of the raw
    rows), the rows column by column (they compress better so, and without a copy when
    ``data`` is column-major, as the codec encodes); ``unpack_block`` reads the arrays from
    the decompressed buffers without a copy.

    Args:
        ids (numpy.ndarray):
            Row ids.
        buckets (numpy.ndarray):
            Their buckets.
        data (numpy.ndarray):
            Their encoded rows.

    Returns:
        bytes:
            The block: five ``int64`` (rows, columns, and the compressed size of each
            array), then the compressed ``int64`` ids, ``int64`` buckets and ``float64``
            rows (column-major).
    """
    import pyarrow

    arrays = [
        np.ascontiguousarray(array, dtype=dtype)
        for array, dtype in zip((ids, buckets, data.T), _BLOCK_DTYPES, strict=True)
    ]
    parts = [pyarrow.compress(array, codec='lz4', asbytes=False) for array in arrays]
    header = np.array([*data.shape, *(part.size for part in parts)], dtype=np.int64)
    return b''.join([header.tobytes(), *parts])


def unpack_block(block):
    """Return ``(ids, buckets, data)`` of a block of ``pack_block``: views of its buffers.

    ``data`` is column-major (``data.T`` is contiguous).
    """
    import pyarrow

    view = memoryview(block)
    rows, columns, *sizes = np.frombuffer(view[: _HEADER.itemsize * 5], dtype=_HEADER).tolist()
    arrays, offset = [], _HEADER.itemsize * 5
    for dtype, width, size in zip(_BLOCK_DTYPES, (1, 1, columns), sizes, strict=True):
        length = rows * width * np.dtype(dtype).itemsize
        raw = pyarrow.decompress(view[offset : offset + size], length, codec='lz4', asbytes=False)
        arrays.append(np.frombuffer(raw, dtype=dtype))
        offset += size

    ids, buckets, data = arrays
    return ids, buckets, data.reshape(columns, rows).T


#: The dtypes of a block's arrays, and of its header's numbers.
_BLOCK_DTYPES, _HEADER = (np.int64, np.int64, np.float64), np.dtype(np.int64)


def place_blocks(batches, model, plan, seed, index):
    """Place and encode the training rows of one input partition, in blocks.

    For an engine whose shuffle moves rows one by one outside Python (Spark): the rows of an
    output partition leave as a few opaque blocks, each the row ids, buckets and encoded rows
    of up to ``BLOCK_ROWS`` consecutive input rows, so the shuffle moves bytes, not rows.
    ``synthesize_placed`` mixes them. The rows are placed as by ``place`` and encoded as
    ``synthesize_partition`` encodes them, one block of input rows at a time.

    Args:
        batches (iterable[pandas.DataFrame]):
            The training rows of the input partition, in order, in batches.
        model (Model):
            The fitted model.
        plan (Plan):
            The sample's plan.
        seed (int):
            The sample's seed.
        index (int):
            Number of the input partition.

    Yields:
        pandas.DataFrame:
            Columns ``PARTITION`` (the output partition) and ``BLOCK`` (bytes).
    """
    start, pending = 0, []
    for batch in batches:
        if len(batch):
            pending.append(place(batch, model.mix_within, plan, seed, index, start))
            start += len(batch)

        if pending and (sum(map(len, pending)) >= BLOCK_ROWS):
            yield _blocks(pd.concat(pending, ignore_index=True), model)
            pending = []

    if pending:
        yield _blocks(pd.concat(pending, ignore_index=True), model)


def _blocks(placed, model):
    data = model.codec.encode(plain_frame(placed))
    order = np.argsort(placed[PARTITION].to_numpy(), kind='stable')
    partition = placed[PARTITION].to_numpy()[order]
    ids, buckets = placed[ROW].to_numpy()[order], placed[BUCKET].to_numpy()[order]
    runs = _runs(partition)
    columns = np.asfortranarray(data).T  # rows gathered column by column: column-major
    return pd.DataFrame(
        {
            PARTITION: [partition[first] for first, _ in runs],
            BLOCK: [
                pack_block(ids[first:last], buckets[first:last], columns[:, order[first:last]].T)
                for first, last in runs
            ],
        }
    )


def _runs(values):
    """``(first, last)`` of every run of equal values of a sorted array."""
    edges = np.flatnonzero(np.diff(values)) + 1
    return list(zip(np.r_[0, edges], np.r_[edges, len(values)], strict=True))


def summarize(frame, index, start, model):
    """Summarise a chunk of training rows once the codec is fitted (the second reduction).

    Args:
        frame (pandas.DataFrame):
            Training rows.
        index (int):
            Number of their input partition.
        start (int):
            Position of the first row in the partition.
        model (Model):
            A model whose codec is fitted.

    Returns:
        tuple[sdv_gwm.moments.Moments, GroupCounts, RowSample]:
            The moments of the encoded rows, the group counts and a uniform sample.
    """
    frame = plain_frame(frame)
    data = model.codec.encode(frame)
    return (
        Moments.of(data),
        GroupCounts.of(frame, model.mix_within),
        RowSample.of(data, index, start),
    )


def class_normal(frame, model):
    """The normal equations of the transport's class means over a chunk of training rows.

    Args:
        frame (pandas.DataFrame):
            Training rows.
        model (Model):
            A model whose ``mixing`` holds the classes' splits.

    Returns:
        sdv_gwm.engine.NormalEquations:
            Summed over all rows, they give the coefficients.
    """
    classes = model.mixing['classes']
    return classes.normal(*_class_columns(model.codec.encode(plain_frame(frame)), model))


def class_scale_sums(frame, model):
    """The sums of squared residuals that the transport's class spreads need, over a chunk.

    Args:
        frame (pandas.DataFrame):
            Training rows.
        model (Model):
            A model whose ``mixing`` holds the classes with their coefficients.

    Returns:
        tuple[numpy.ndarray, numpy.ndarray]:
            Summed over all rows, they give the spreads (``ClassModel.fit_scales``).
    """
    classes = model.mixing['classes']
    return classes.scale_sums(*_class_columns(model.codec.encode(plain_frame(frame)), model))


def _class_columns(data, model):
    """The inherited columns and the mixable values (atoms missing) of encoded rows."""
    continuous, atoms = model.mixing['continuous'], model.atoms[:, model.mixing['continuous']]
    values = data[:, continuous]
    values[(values == atoms[0]) | (values == atoms[1])] = np.nan
    return data[:, ~continuous], values


class DistributedGWM:
    """GWM on a table that lives in a distributed engine; the base of the engine adapters.

    ``fit`` computes every statistic by reductions over the partitions (the codec's partials,
    then the moments of the encoded rows, the group counts and a uniform sample, then with
    ``transport`` the sums that fit its class means and spreads), never collecting the table.
    ``sample`` places the training rows at random (a random key, a shuffle on it) and mixes
    the rows of each partition with ``synthesize_placed``. The model is the statistics and
    the table: ``sample`` reads the table ``fit`` was given again.

    Args:
        metadata (sdv.metadata.Metadata or None):
            Metadata of the table; ``None``: detected by SDV from its first rows.
        rows_per_partition (int):
            Training rows per output partition; a partition's training rows and synthetic
            rows are in memory together.
        **parameters:
            ``GWMSynthesizer`` parameters (``weights``, ``mix_within``, ``discrete_donors``,
            ``enforce_min_max_values``, ``enforce_rounding``, ``locales``, ``transport``);
            ``privacy`` must stay ``'none'``.
    """

    #: Rows from which the metadata is detected when none is given.
    DETECTION_ROWS = 10_000

    def __init__(self, metadata=None, rows_per_partition=ROWS_PER_PARTITION, **parameters):
        self.metadata = metadata
        self.rows_per_partition = int(rows_per_partition)
        self.parameters = parameters
        self.model = None
        self.data = None

    def fit(self, data):
        """Fit to a distributed table.

        Args:
            data:
                The engine's frame of the training table.

        Returns:
            DistributedGWM:
                ``self``.

        Raises:
            sdv.errors.InvalidDataError: If SDV's validation rejects the table or a column
                has only missing values.
            sdv.errors.SynthesizerInputError: If ``privacy`` is not ``'none'`` or a column
                needs SDV's own data path, which does not run on partitions.
        """
        from sdv.metadata import Metadata

        from sdv_gwm.synthesizer import GWMSynthesizer

        metadata = self.metadata
        if metadata is None:
            sample = plain_frame(self._head(data, self.DETECTION_ROWS))
            metadata = Metadata.detect_from_dataframes({'table': sample}).to_dict()
            for column in metadata['tables']['table']['columns'].values():
                for key in SAMPLE_KEYS:  # what the first rows say of these is not the table's
                    column.pop(key, None)

            metadata = Metadata.load_from_dict(metadata)

        synthesizer = GWMSynthesizer(metadata, **self.parameters)
        if synthesizer.privacy != 'none':
            raise SynthesizerInputError(
                f"Invalid value for parameter 'privacy': {synthesizer.privacy!r}. The "
                "distributed path supports only 'none': the privacy blend draws residuals "
                'from the whole training table.'
            )

        ((table_name, table),) = metadata.tables.items()
        merge = functools.partial(_merge_partials, metadata=table)
        partials = self._map(data, functools.partial(_codec_partial, metadata=table), merge)
        statistics = codec.merge(partials, table)
        synthesizer.validate({table_name: statistics.rows})
        fitted = codec.Codec.fit(_compat.data_processor(synthesizer), statistics)
        reason = fitted.reason or fitted.unsupported(statistics)
        if reason is not None:
            raise SynthesizerInputError(
                f'The distributed path needs the vectorized column codec, and {reason}.'
            )

        model = Model(
            synthesizer, fitted, None, None, fitted.decode(fitted.encode(statistics.rows.iloc[:1]))
        )
        summaries = self._map(
            data, functools.partial(summarize, model=model), _merge_summaries, indexed=True
        )
        moments, groups, sample = functools.reduce(_merge_summaries, summaries)
        columns = pd.Index(fitted.output_columns)
        empty = list(columns[moments.count == 0])
        if empty:
            raise InvalidDataError(
                [f"Column '{name}' contains only missing values." for name in empty]
            )

        model.mixing = synthesizer._fit_statistics(columns, moments)
        model.groups = groups
        if model.mixing['transport']:
            self._fit_classes(model, data, sample.rows)

        self.model, self.data = model, data
        return self

    def _fit_classes(self, model, data, sample):
        """Fit the transport's class means and spreads on all rows, and its spread factors.

        The splits (levels and cells with an indicator) are those ``ClassMeans`` finds in the
        uniform sample; the coefficients and the level spreads are the whole table's, from
        sums over the partitions (two more passes); the ``spread`` factors are measured on the
        sample's pairs and calibrated on pilots drawn from it, as the in-memory fit calibrates
        them (``Mixer.calibrate_spread``). Every partition's ``Mixer`` then only predicts.
        """
        probe = Mixer(sample, **{**model.mixing, 'transport': False})
        model.atoms = probe.atoms  # as a partition decides them, on a uniform sample
        model.mixing['classes'] = ClassMeans(
            *_class_columns(sample, model), cuts=probe.cuts
        ).model()
        normal = self._map(data, functools.partial(class_normal, model=model), _merge)
        model.mixing['classes'].fit_normal(functools.reduce(_merge, normal))
        sums = self._map(data, functools.partial(class_scale_sums, model=model), _add_pairs)
        model.mixing['classes'].fit_scales(*functools.reduce(_add_pairs, sums))
        mixer = Mixer(sample, **model.mixing)
        synthesizer = model.synthesizer
        mixer.calibrate_spread(_copy_check(synthesizer, sample), synthesizer._step)
        model.mixing['spread'] = mixer.spread

    def sample(self, num_rows, seed=0):
        """Sample synthetic rows into a lazy distributed frame.

        Args:
            num_rows (int):
                Number of rows.
            seed (int or None):
                The same seed and the same input partitioning give the same rows; ``None``:
                a fresh seed.

        Returns:
            The engine's lazy frame of the synthetic rows (write it with its ``to_parquet``
            or ``write.parquet``).
        """
        return self._synthesize(*self._plan(num_rows, seed))

    def _plan(self, num_rows, seed):
        """Check the arguments; return the plan, the allocation and the seed of a sample."""
        if self.model is None:
            raise SamplingError('This synthesizer has not been fitted. Please call fit first.')

        if (
            isinstance(num_rows, bool)
            or not isinstance(num_rows, (int, np.integer))
            or num_rows <= 0
        ):
            raise SynthesizerInputError(
                f"Invalid value for parameter 'num_rows': {num_rows!r}. "
                'Please provide an integer greater than 0.'
            )

        if seed is None:  # one seed for both passes over the table
            seed = int(np.random.SeedSequence().generate_state(1)[0])

        plan = Plan.of(self.model.groups, self.rows_per_partition)
        counts = self._map(
            self.data,
            functools.partial(_count_placed, plan=plan, seed=seed, columns=self.model.mix_within),
            np.add,
            columns=self.model.mix_within,
            indexed=True,
        )
        sizes = functools.reduce(np.add, counts, np.zeros(plan.num_partitions, dtype=np.int64))
        return plan, allocate(int(num_rows), sizes, seed), seed


def _codec_partial(frame, metadata):
    return codec.partial(plain_frame(frame), metadata)


def _merge_partials(first, second, metadata):
    return codec.merge([first, second], metadata)


def _merge_summaries(first, second):
    return tuple(one.merge(other) for one, other in zip(first, second, strict=True))


def _merge(first, second):
    return first.merge(second)


def _add_pairs(first, second):
    return first[0] + second[0], first[1] + second[1]


def _count_placed(frame, index, start, plan, seed, columns):
    placed = place(frame[columns], columns, plan, seed, index, start)
    return np.bincount(placed[PARTITION], minlength=plan.num_partitions)
