"""The column codec: SDV's data path for one table, column by column, as vector operations.

SDV validates, transforms and reverse-transforms a table with per-value Python loops (a
``pd.to_datetime`` per datetime cell, ``Series.map`` per category). The codec gives the
same results with numpy and pandas vector operations, in three steps that also run over
the partitions of a table that does not fit in memory:

1. **Statistics.** ``partial(chunk, metadata)`` reduces a pandas chunk to a small
   ``Partial``: the few rows that decide everything SDV learns from a column (the first
   non-null and first null rows, minimum and maximum, the row with the most decimals, the
   first row of every category, every row SDV's validation would reject) plus counts.
   ``merge`` combines the partials of consecutive chunks; the in-memory fit is the
   single-chunk case.
2. **Validate, fit.** SDV's own ``validate_data`` on the representative rows raises what it
   raises on the table. ``Codec.fit(processor, statistics)`` fits SDV's ``DataProcessor``
   (formatters and RDT transformers) on them, the transformers that learn frequencies or
   lengths on the counted rows, and reads the fitted transformers back. The transformers
   and the metadata stay the source of truth for how each column is encoded; the engine's
   rounding steps and datetime units come from them too (``rounding_steps``,
   ``datetime_units``).
3. **Encode, decode.** ``encode(frame)`` gives the float matrix that
   ``DataProcessor.transform`` gives; ``decode(matrix)`` the table that
   ``DataProcessor.reverse_transform`` gives. Both are pure functions of the fitted codec
   and their input (generated id and PII columns come from SDV's own generators).
   Datetime strings in a format of zero-padded fields (``FixedFormat``) are read and written
   by numpy; other formats and values by pandas, as SDV does.

Two things differ from SDV on purpose: datetime64 columns in a unit coarser than
nanoseconds are encoded in nanoseconds (SDV's path decodes them in 1970), and ``float16``
columns decode to numbers (SDV's path gives NaN). ``Codec.reason`` and ``unsupported``
say why a table cannot use the codec (SDV's path is then used as it is).
"""

import datetime
import logging
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from dateutil import tz as dateutil_tz
from pandas.errors import IntCastingNaNError
from rdt.transformers import (
    FloatFormatter,
    LabelEncoder,
    OrderedLabelEncoder,
    OrderedUniformEncoder,
    UniformEncoder,
    UnixTimestampEncoder,
)
from rdt.transformers.utils import MAX_DECIMALS, try_convert_to_dtype

from sdv_gwm import _compat

LOGGER = logging.getLogger(__name__)


#: sdtypes whose every distinct value SDV validates or learns (categories).
DISTINCT_SDTYPES = ('categorical', 'boolean', 'ordinal', 'id')

#: sdtypes whose columns GWM codes by label (``LabelEncoder``).
LABEL_SDTYPES = ('categorical', 'boolean')

#: sdtypes whose category counts a transformer learns (RDT's ordinal default is uniform).
COUNTED_SDTYPES = ('ordinal',)

#: ``int64`` nanoseconds of a missing datetime.
NAT = np.iinfo(np.int64).min

#: Nanoseconds of the finest unit a datetime format writes, finest first.
DATETIME_UNITS = (('%f', 1e3), ('%S', 1e9), ('%T', 1e9), ('%M', 60e9), ('%H', 3600e9))

#: Values of a column checked first for a change of rounding (``_first_change``).
PREFIX_ROWS = 4096

#: Characters of the longest UTC offset ``FixedFormat`` reads (``+HH:MM``).
OFFSET_CHARS = 6

#: Days of each month (index 1 to 12) in a common year.
DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _first_change(values, decimals):
    """Position of the first value that rounding to ``decimals`` changes (``None``: none).

    The first values are checked first: where some value changes, one usually does there.
    """
    start = 0
    for stop in (PREFIX_ROWS, len(values)):
        part = values[start:stop]
        changed = part != np.round(part, decimals)
        if changed.any():
            return start + int(np.argmax(changed))

        start = stop

    return None


def _rounding_rows(values, magnitude=None):
    """Positions from which RDT's ``learn_rounding_digits`` learns what it learns from all.

    RDT gives up (``None``) if a value changes when rounded to ``MAX_DECIMALS`` minus the
    integer digits of the largest magnitude, else takes the fewest decimals that change no
    value. One value that changes at that precision, or else one that changes at each
    smaller number of decimals, lead it to the same answer (the caller keeps the minimum and
    the maximum, which fix the largest magnitude). ``magnitude``: the largest absolute
    value, if known.
    """
    highest = int(np.max(np.abs(values)) if magnitude is None else magnitude)
    precision = max(0, MAX_DECIMALS - (len(str(highest)) if highest != 0 else 0))
    first = _first_change(values, precision)
    if first is not None:
        return [first]

    rows = []
    for decimals in range(precision + 1):
        first = _first_change(values, decimals)
        if first is None:
            break

        rows.append(first)

    return rows


def _first_positions(mask):
    """The first position where ``mask`` holds, in a list (empty: nowhere)."""
    first = int(np.argmax(mask)) if len(mask) else 0
    return [first] if len(mask) and mask[first] else []


def _numeric_rows(values, column_metadata, isna):
    """Positions deciding min, max, rounding and the metadata range of a numeric column.

    ``isna``: the column's missing values.
    """
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    finite = np.flatnonzero(~isna) if isna.any() else None  # None: every row
    present = numbers if finite is None else numbers[finite]
    if not len(present):
        return []

    lowest, highest = int(np.argmin(present)), int(np.argmax(present))
    rows = [lowest, highest]
    if not pd.api.types.is_integer_dtype(values):  # integers change at no decimals
        magnitude = max(-present[lowest], present[highest])
        rows.extend(_rounding_rows(present, magnitude))

    low, high = column_metadata.get('range_min'), column_metadata.get('range_max')
    below = low is not None and present[lowest] < float(low)
    above = high is not None and present[highest] > float(high)
    if below or above:  # the metadata's range is checked where the extremes leave it
        outside = np.zeros(len(present), dtype=bool)
        if below:
            outside |= present < float(low)
        if above:
            outside |= present > float(high)

        rows.extend(np.flatnonzero(outside))

    return rows if finite is None else list(finite[rows])


def _pandas_format(datetime_format):
    return datetime_format.replace('%#', '%').replace('%-', '%')


def _pandas_parse(values, datetime_format):
    """``FixedFormat.parse``'s result read by pandas, and the rows pandas cannot read.

    Returns ``None`` for mixed UTC offsets.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                parsed = pd.to_datetime(
                    values, format=_pandas_format(datetime_format), errors='coerce'
                )
            except (ValueError, TypeError):
                return None

        if not pd.api.types.is_datetime64_any_dtype(parsed):
            return None

    wall = parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed
    wall_ns = wall.dt.as_unit('ns').to_numpy().view('int64')
    utc_ns = None
    if parsed.dt.tz is not None:
        utc = parsed.dt.tz_convert('UTC').dt.tz_localize(None).dt.as_unit('ns')
        utc_ns = utc.to_numpy().view('int64')

    unparsed = values.notna().to_numpy() & parsed.isna().to_numpy()
    return wall_ns, utc_ns, unparsed


def _datetime_rows(values, column_metadata, reused=None, present=None):
    """Positions deciding format, timezones, range and validity of a datetime column.

    Returns ``None`` where vector parsing cannot be trusted to find them (every distinct
    value is then kept).
    """
    datetime_format = column_metadata.get('datetime_format')
    if not (datetime_format or pd.api.types.is_datetime64_any_dtype(values)):
        return None

    fixed = FixedFormat.of(datetime_format)
    parsed = fixed.parse(values, present) if fixed is not None else None
    if parsed is not None:
        if reused is not None:
            reused[values.name] = ('parsed', datetime_format, parsed)

        parsed = (*parsed, np.zeros(len(values), dtype=bool))
    else:
        parsed = _pandas_parse(values, datetime_format)
        if parsed is None:
            return None

    wall_ns, utc_ns, unparsed = parsed
    rows = list(np.flatnonzero(unparsed))  # values SDV rejects
    valid = np.flatnonzero(wall_ns != NAT)
    everywhere = len(valid) == len(wall_ns)  # then no copies of the values
    valid_ns = wall_ns if everywhere else wall_ns[valid]
    if len(valid):
        rows += [valid[np.argmin(valid_ns)], valid[np.argmax(valid_ns)]]

    if utc_ns is not None and len(valid):
        # One row per UTC offset: RDT learns whether there are several.
        offsets = valid_ns - (utc_ns if everywhere else utc_ns[valid])
        if (offsets == offsets[0]).all():
            rows.append(valid[0])
        else:
            rows += list(valid[np.unique(offsets, return_index=True)[1]])

    rows += _range_rows(wall_ns, column_metadata)
    return rows


def _range_rows(wall_ns, column_metadata):
    datetime_format = column_metadata.get('datetime_format')
    valid = wall_ns != NAT
    outside = np.zeros(len(wall_ns), dtype=bool)
    for key, compare in (('range_min', np.less), ('range_max', np.greater)):
        bound = column_metadata.get(key)
        if bound is not None:
            bound = pd.Timestamp(_compat.cast_to_datetime64(bound, datetime_format))
            outside |= valid & compare(wall_ns, bound.as_unit('ns').value)

    return list(np.flatnonzero(outside))


def _first_rows(values, factorize):
    """Positions of the first row of each distinct value, and the factorization if asked.

    Codes count from 0 in order of first appearance: a code's first row is where their
    running maximum first reaches it.
    """
    if not factorize:
        return np.flatnonzero(~values.duplicated().to_numpy()), None

    codes, uniques = values.factorize()
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    return first, (codes, uniques)


def _column_rows(values, column_metadata, is_key, reused=None, isna=None, strings=False):
    """Positions of the rows of one column that decide what SDV validates and learns.

    ``isna``: the column's missing values, if known; ``strings``: whether the column holds
    strings only. ``reused`` receives what ``encode`` can reuse (see ``partial``).
    """
    sdtype = column_metadata.get('sdtype')
    isna = values.isna().to_numpy() if isna is None else isna
    rows = _first_positions(~isna) + _first_positions(isna)
    if is_key:
        rows += list(np.flatnonzero(values.duplicated(keep=False).to_numpy()))

    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    distinct = None
    if sdtype in DISTINCT_SDTYPES and not is_key:
        distinct = sdtype != 'id' or not column_metadata.get('regex_format')  # else generated
    elif sdtype == 'numerical':
        distinct = not numeric
    elif sdtype == 'datetime':
        datetime_rows = _datetime_rows(values, column_metadata, reused, ~isna)
        distinct = datetime_rows is None
        rows += datetime_rows or []

    if distinct:
        # A column of strings coded by label is factorized once, here, for encode too.
        labels = strings and reused is not None and sdtype in LABEL_SDTYPES
        first, factorized = _first_rows(values, labels)
        rows += list(first)
        if factorized is not None:
            reused[values.name] = ('factorized', *factorized)
    elif numeric:
        rows += _numeric_rows(values, column_metadata, isna)

    return rows


def _columns_metadata(metadata):
    return {name: dict(column) for name, column in metadata.columns.items()}


@dataclass
class Partial:
    """What SDV learns from a table, reduced to a few rows: mergeable over chunks.

    Attributes:
        rows (pandas.DataFrame):
            The representative rows, in table order, with their dtypes.
        num_rows (int):
            Rows seen.
        null_counts (pandas.Series):
            Missing values per column.
        counts (dict[str, pandas.Series]):
            For ordinal columns, the count of each value (missing included) in order of
            first appearance.

    Repeated key values are kept within a chunk; a key repeated across chunks is not seen
    by ``merge``.
    """

    rows: pd.DataFrame
    num_rows: int
    null_counts: pd.Series
    counts: dict = field(default_factory=dict)


def _missing(frame):
    """Each column's missing values, and the columns of strings only (which have none).

    Telling a column of strings is a cheaper pass over its Python objects than ``isna``.
    """
    missing, strings = {}, set()
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == 'string':
            strings.add(name)
            missing[name] = np.zeros(len(values), dtype=bool)
        else:
            missing[name] = values.isna().to_numpy()

    return missing, strings


def _null_counts(frame, missing):
    counts = [np.count_nonzero(missing[name]) for name in frame.columns]
    return pd.Series(counts, index=frame.columns, dtype=np.int64)


def _reduce(frame, metadata, null_counts, num_rows, counts, reused=None, missing=None):
    columns = _columns_metadata(metadata)
    keys = {metadata.primary_key, *metadata.alternate_keys} - {None}
    missing, strings = _missing(frame) if missing is None else missing
    positions = set()
    for name in frame.columns:
        rows = _column_rows(
            frame[name],
            columns.get(name, {}),
            name in keys,
            reused,
            missing[name],
            name in strings,
        )
        positions.update(rows)

    rows = frame.iloc[np.sort(np.fromiter(positions, dtype=np.int64, count=len(positions)))]
    return Partial(rows, num_rows, null_counts, counts)


def partial(chunk, metadata, reused=None):
    """Reduce a chunk of a table to its ``Partial`` statistics.

    Args:
        chunk (pandas.DataFrame):
            Consecutive rows of the table (not modified).
        metadata (sdv.metadata.SingleTableMetadata):
            The table's metadata.
        reused (dict or None):
            If given, receives what ``encode`` of the same chunk can reuse: by column name,
            ``('parsed', datetime_format, (wall, utc))`` for a datetime column parsed on the
            way and ``('factorized', codes, uniques)`` for a column of strings factorized.

    Returns:
        Partial:
            The chunk's statistics.
    """
    columns = _columns_metadata(metadata)
    counts = {
        name: chunk[name].value_counts(dropna=False, sort=False)
        for name in chunk.columns
        if columns.get(name, {}).get('sdtype') in COUNTED_SDTYPES
    }
    missing = _missing(chunk)  # once: on a column of objects it is a pass in Python
    null_counts = _null_counts(chunk, missing[0])
    return _reduce(chunk, metadata, null_counts, len(chunk), counts, reused, missing)


def merge(partials, metadata):
    """Merge the partials of consecutive chunks, in table order.

    Args:
        partials (list[Partial]):
            The chunks' partials, first chunk first.
        metadata (sdv.metadata.SingleTableMetadata):
            The table's metadata.

    Returns:
        Partial:
            The statistics of the chunks together.
    """
    rows = pd.concat([part.rows for part in partials], ignore_index=True)
    counts = {
        name: pd.concat([part.counts[name] for part in partials])
        .groupby(level=0, sort=False, dropna=False)
        .sum()
        for name in partials[0].counts
    }
    null_counts = sum(part.null_counts for part in partials[1:]) + partials[0].null_counts
    return _reduce(rows, metadata, null_counts, sum(part.num_rows for part in partials), counts)


def _refit_rows(statistics, name):
    """Rows with the column's distinct values at their counts, in order of first appearance."""
    column = statistics.rows[name]
    if name in statistics.counts:
        counts = statistics.counts[name]
        first = np.flatnonzero(~column.duplicated().to_numpy())
        codes = first[pd.Index(column.iloc[first]).get_indexer(counts.index)]
        # A ratio of integers is rounded once whatever their common factor, so learning
        # ``value_counts(normalize=True)`` from the counts over their greatest common divisor
        # gives the same state: a constant column is fitted on one row, not on all of them.
        counts = counts.to_numpy()
        return column.iloc[np.repeat(codes, counts // np.gcd.reduce(counts))]

    isna = column.isna().to_numpy()
    nulls = int(statistics.null_counts[name])
    repeats = np.zeros(len(column), dtype=np.int64)
    repeats[_first_positions(~isna)] = statistics.num_rows - nulls
    repeats[_first_positions(isna)] = nulls
    return column.iloc[np.repeat(np.arange(len(column)), repeats)]


def _datetime_range_in_nanoseconds(transformer):
    """Give a datetime64 column's learned range in nanoseconds, as the codec encodes it.

    RDT learns the range of a ``datetime64[s]`` (``[ms]``, ``[us]``) column in that unit but
    reverse-transforms nanoseconds, so SDV's path clips every value into 1970.
    """
    state = _compat.transformer_state(transformer)
    dtype = state['dtype']
    if not (
        isinstance(transformer, UnixTimestampEncoder)
        and pd.api.types.is_datetime64_any_dtype(dtype)
        and state['min'] is not None
    ):
        return

    unit = np.datetime_data(np.dtype(getattr(dtype, 'base', dtype)))[0]
    scale = np.timedelta64(1, unit) // np.timedelta64(1, 'ns')
    if scale != 1:
        _compat.set_range(transformer, state['min'] * scale, state['max'] * scale)


def rounding_step(transformer, formatter=None):
    """Return the step to which a column is rounded as written (0: none).

    RDT's ``reverse_transform`` rounds to the learned digits, where it learned any (``None``
    means the values have too many decimals to round), and integer columns to whole numbers in
    any case; SDV's ``NumericalFormatter`` then rounds again, to the metadata's
    ``decimal_places`` or the digits it learned. The coarser of the two is what is written.

    Args:
        transformer (rdt.transformers.BaseTransformer):
            The column's fitted transformer.
        formatter (sdv.data_processing.numerical_formatter.NumericalFormatter or None):
            The column's fitted SDV formatter, if any.

    Returns:
        float:
            The step.
    """
    if not isinstance(transformer, FloatFormatter):
        return 0.0

    rounders = [(transformer.learn_rounding_scheme, transformer)]
    if formatter is not None:
        rounders.append((formatter.enforce_rounding, formatter))

    steps = [0.0]
    for rounds, rounder in rounders:
        state = _compat.transformer_state(rounder)
        if rounds and state['rounding_digits'] is not None:
            steps.append(10.0 ** -state['rounding_digits'])
        elif pd.api.types.is_integer_dtype(state['dtype']):
            steps.append(1.0)

    return max(steps)


def datetime_unit(transformer):
    """Return the unit, in nanoseconds, to which SDV truncates a datetime column (0: none).

    Args:
        transformer (rdt.transformers.BaseTransformer):
            The column's fitted transformer.

    Returns:
        float:
            The unit.
    """
    datetime_format = getattr(transformer, 'datetime_format', None)
    if not isinstance(transformer, UnixTimestampEncoder) or not datetime_format:
        return 0.0

    units = [unit for code, unit in DATETIME_UNITS if code in datetime_format]
    return units[0] if units else 86400e9


@dataclass
class ColumnCodec:
    """How one column is encoded: the fitted RDT transformer's state, read once.

    Attributes:
        name (str):
            The column.
        kind (str):
            ``'numerical'`` (``FloatFormatter``), ``'datetime'`` (``UnixTimestampEncoder``),
            ``'label'`` (``LabelEncoder`` without noise), ``'uniform'`` (RDT's uniform
            encoders: codes drawn vectorized, decoded by RDT) or ``'rdt'`` (RDT's own code).
        transformer (rdt.transformers.BaseTransformer):
            The fitted transformer.
        output (str):
            The transformed column.
        state (dict):
            The transformer's fitted state (``_compat.transformer_state``), plus
            ``categories`` for labels.
    """

    name: str
    kind: str
    transformer: object
    output: str
    state: dict


def _column_codec(name, transformer):
    state = _compat.transformer_state(transformer)
    outputs = transformer.get_output_columns()
    kind = 'rdt'
    if type(transformer) in (LabelEncoder, OrderedLabelEncoder) and not transformer.add_noise:
        kind = 'label' if transformer.missing_value_encoding == 'new_category' else 'rdt'
        state['categories'] = pd.Series(transformer.values_to_categories)
    elif type(transformer) in (UniformEncoder, OrderedUniformEncoder):
        kind = 'uniform'
    elif type(transformer) is FloatFormatter:
        kind = 'numerical'
    elif type(transformer) is UnixTimestampEncoder and transformer.datetime_format:
        kind = 'datetime'

    replacement = _compat.null_replacement(transformer)
    if kind != 'rdt' and replacement != (None, None):
        kind = 'rdt'

    return ColumnCodec(name, kind, transformer, outputs[0], state)


def _positions(categories, codes, uniques):
    """Each value's position among ``categories`` (-1: none), each distinct value looked up once.

    ``codes`` and ``uniques`` are the values factorized; code -1 (a missing value) is looked up
    as None, the key after the uniques. The unmatched last key keeps pandas from taking keys
    equal to the categories, with None for NaN, as the categories themselves.
    """
    keys = pd.Index([*uniques.astype(object), None, object()], dtype=object)
    return pd.Index(categories, dtype=object).get_indexer(keys)[:-1][codes]


def _encode_uniform(transformer, values):
    """RDT's ``UniformEncoder.transform``: one uniform draw per value in its category's interval.

    The draws come from the transformer's own random state, in row order, as RDT's per-value
    loop draws them. Returns ``None`` for values RDT warns or raises about (unseen ones), and
    for a ``category`` column (RDT draws once per category there, not per value).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return None

    categories = list(transformer.intervals)
    bounds = np.array([transformer.intervals[category] for category in categories], dtype=float)
    codes = _positions(categories, *values.factorize())
    if (codes < 0).any():
        return None

    with _compat.random_state(transformer, 'transform'):
        return np.random.uniform(bounds[codes, 0], bounds[codes, 1])


def _fixed_timezone(tzinfo):
    """The same zone as a ``datetime.timezone`` where it has one offset (pandas: no loops)."""
    if isinstance(tzinfo, (dateutil_tz.tzutc, dateutil_tz.tzoffset)):
        return datetime.timezone(tzinfo.utcoffset(None))

    if isinstance(tzinfo, dateutil_tz.tzlocal) and not time.daylight:
        return datetime.timezone(datetime.timedelta(seconds=-time.timezone))

    return tzinfo


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of proleptic Gregorian dates (integer arrays, years >= 0).

    The arithmetic of Howard Hinnant's ``days_from_civil``: a year starting in March puts the
    leap day last, and 400 years hold 146,097 days. numpy's ``datetime64`` conversions (months
    to days, and back to find days past a month's end) give the same days, about 3 times
    slower on the 313,380 dates of the weather benchmark (6 against 19 ms).
    """
    march_year = year - (month <= 2)
    era = march_year // 400
    year_of_era = march_year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _past_month_end(year, month, day):
    """Whether a date is a day past the end of its month (days up to 28 are not looked at)."""
    late = np.flatnonzero(day > 28)
    year, month, day = year[late], month[late], day[late]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return bool((day > DAYS_IN_MONTH[month] + (leap & (month == 2))).any())


def _scatter(values, present, everywhere):
    """``values`` at the ``present`` positions of an array of ``NAT`` (``int64``)."""
    if everywhere:
        return values

    full = np.full(len(present), NAT)
    full[present] = values
    return full


class FixedFormat:
    """A datetime format of zero-padded numbers and literal text, read and written by numpy.

    ``%Y`` (years 1000 to 2261), ``%m``, ``%d``, ``%H``, ``%M``, ``%S`` (each at most once;
    the first three always) and any other text, optionally ending in ``%z``. ``parse`` reads
    only strings written exactly in the format (an offset ``Z``, ``+HHMM`` or ``+HH:MM``
    for ``%z``), which pandas reads to the same instants, and returns ``None`` for anything
    else; ``write`` writes what ``strftime`` writes.

    Args:
        datetime_format (str):
            The format.

    Raises:
        ValueError: If the format is not of this kind.
    """

    WIDTHS = {'%Y': 4, '%m': 2, '%d': 2, '%H': 2, '%M': 2, '%S': 2}
    TIME_CODES = ('%H', '%M', '%S')

    def __init__(self, datetime_format):
        self.zone = datetime_format.endswith('%z')
        self.fields, self.literals, position = {}, [], 0
        for part in re.split(r'(%.)', datetime_format.removesuffix('%z')):
            if part.startswith('%'):
                if part not in self.WIDTHS or part in self.fields:
                    raise ValueError(f'{part} in {datetime_format!r}')

                self.fields[part] = position
                position += self.WIDTHS[part]
            else:
                self.literals += [(position + index, ord(char)) for index, char in enumerate(part)]
                position += len(part)

        if not {'%Y', '%m', '%d'} <= set(self.fields):
            raise ValueError(f'{datetime_format!r} has no full date')

        self.width = position
        self.ascii = datetime_format.isascii()
        self._digit_positions = [
            start + offset
            for code, start in self.fields.items()
            for offset in range(self.WIDTHS[code])
        ]

    @classmethod
    def of(cls, datetime_format):
        """Return the format as a ``FixedFormat``, or ``None`` if it is not of this kind."""
        try:
            return cls(datetime_format) if datetime_format else None
        except ValueError:
            return None

    @property
    def unit(self):
        """The pandas unit to which writing and reading back truncates (``None``: other)."""
        times = [code for code in self.TIME_CODES if code in self.fields]
        if times != list(self.TIME_CODES[: len(times)]):
            return None

        return ('D', 'h', 'min', 's')[len(times)]

    def _characters(self, strings):
        """Character codes of strings, one zero-padded row each (``None``: not all strings).

        A row holds one character more than the format reads, so that a longer string shows.
        ASCII formats read bytes (a string with other characters cannot match them).
        """
        if pd.api.types.infer_dtype(strings, skipna=False) != 'string':
            return None

        length = self.width + (OFFSET_CHARS if self.zone else 0) + 1
        kind, code = ('S', np.uint8) if self.ascii else ('U', np.uint32)
        try:
            fixed = strings.astype(f'{kind}{length}')
        except UnicodeEncodeError:
            return None

        return fixed.view(code).reshape(len(strings), length)

    def _numbers(self, body):
        """Each field's numbers, ``int16`` (``None``: a character that is not a digit)."""
        digits = np.ascontiguousarray(body[:, self._digit_positions].T)  # a row per digit
        np.subtract(digits, ord('0'), out=digits)  # unsigned: any other character wraps
        if (digits > 9).any():
            return None

        numbers, row = {}, 0
        for code in self.fields:
            number = digits[row].astype(np.int16)  # at most 4 digits
            for offset in range(1, self.WIDTHS[code]):
                number *= 10
                number += digits[row + offset]

            numbers[code] = number
            row += self.WIDTHS[code]

        return numbers

    def parse(self, values, present=None):
        """Read datetime strings as ``pandas.to_datetime(values, format=...)`` does.

        Args:
            values (pandas.Series):
                Strings and missing values.
            present (numpy.ndarray or None):
                Where ``values`` is not missing, if known.

        Returns:
            tuple or None:
                Wall-clock and UTC nanoseconds (``int64``, ``NAT`` where missing; UTC is
                ``None`` without ``%z``), or ``None`` if a value is not written exactly in
                the format.
        """
        strings = values.to_numpy(dtype=object)
        present = pd.notna(strings) if present is None else present
        everywhere = present.all()
        if not present.any():
            wall = np.full(len(strings), NAT)
            return wall, wall.copy() if self.zone else None

        chars = self._characters(strings if everywhere else strings[present])
        if chars is None:
            return None

        body = chars[:, : self.width]
        if any((body[:, position] != code).any() for position, code in self.literals):
            return None

        numbers = self._numbers(body)
        if numbers is None:
            return None

        zeros = np.zeros(len(body), dtype=np.int16)
        year, month, day = numbers['%Y'], numbers['%m'], numbers['%d']
        hour, minute, second = (numbers.get(code, zeros) for code in self.TIME_CODES)
        valid = (year >= 1000) & (year < 2262) & (month >= 1) & (month <= 12) & (day >= 1)
        valid &= (hour < 24) & (minute < 60) & (second < 60)
        if not valid.all():
            return None

        if _past_month_end(year, month, day):
            return None

        days = _days_from_civil(year.astype(np.int32), month, day).astype(np.int64)
        seconds = days * 86400 + ((hour.astype(np.int32) * 60 + minute) * 60 + second)
        wall = _scatter(seconds * 10**9, present, everywhere)
        rest = chars[:, self.width :]
        if not self.zone:
            return None if rest.any() else (wall, None)

        if all((rest[:, index] == rest[0, index]).all() for index in range(rest.shape[1])):
            # One written offset (compared a character at a time: no 2-d temporaries), read once.
            offsets = self._offsets(rest[:1])
            offsets = None if offsets is None else offsets[0]
        else:
            offsets = self._offsets(rest)

        if offsets is None:
            return None

        return wall, _scatter(seconds * 10**9 - offsets, present, everywhere)

    @staticmethod
    def _offsets(rest):
        """Nanoseconds of ``Z``, ``+HHMM`` or ``+HH:MM`` offsets (``None``: another text)."""
        rest = rest.astype(np.int64)
        length = (rest != 0).sum(axis=1)
        digits = rest - 48
        is_digit = (digits >= 0) & (digits <= 9)
        signed = (rest[:, 0] == ord('+')) | (rest[:, 0] == ord('-'))
        zulu = (length == 1) & (rest[:, 0] == ord('Z'))
        short = (length == 5) & signed & is_digit[:, 1:5].all(axis=1)
        colon = (length == 6) & signed & is_digit[:, [1, 2, 4, 5]].all(axis=1)
        colon &= rest[:, 3] == ord(':')
        if not (zulu | short | colon).all():
            return None

        hours = digits[:, 1] * 10 + digits[:, 2]
        minutes = np.where(
            short, digits[:, 3] * 10 + digits[:, 4], digits[:, 4] * 10 + digits[:, 5]
        )
        if ((~zulu) & ((hours > 23) | (minutes > 59))).any():
            return None

        sign = np.where(rest[:, 0] == ord('-'), -1, 1)
        return np.where(zulu, 0, sign * (hours * 60 + minutes) * 60 * 10**9)

    def write(self, datetimes):
        """Write datetimes as ``Series.dt.strftime`` does.

        Args:
            datetimes (pandas.Series):
                Datetimes, naive for a format without ``%z``, aware for one with it.

        Returns:
            numpy.ndarray or None:
                The strings (``object``, NaN where missing), or ``None`` where ``strftime``
                writes something else (years outside 1000 to 9999, offsets in seconds).
        """
        aware = datetimes.dt.tz is not None
        if aware != self.zone:
            return None

        wall = datetimes.dt.tz_localize(None) if aware else datetimes
        missing = wall.isna().to_numpy()
        wall_ns = wall.dt.as_unit('ns').to_numpy().view(np.int64)[~missing]
        seconds = np.floor_divide(wall_ns, 10**9)
        days, seconds = np.divmod(seconds, 86400)
        dates = days.astype('datetime64[D]')
        months = dates.astype('datetime64[M]')
        numbers = {
            '%Y': dates.astype('datetime64[Y]').astype(np.int64) + 1970,
            '%m': months.astype(np.int64) % 12 + 1,
            '%d': (dates - months.astype('datetime64[D]')).astype(np.int64) + 1,
            '%H': seconds // 3600,
            '%M': seconds // 60 % 60,
            '%S': seconds % 60,
        }
        if len(days) and not ((numbers['%Y'] >= 1000) & (numbers['%Y'] <= 9999)).all():
            return None

        chars = np.zeros((len(days), self.width + 5 * self.zone), dtype=np.uint32)
        for position, code in self.literals:
            chars[:, position] = code

        for code, start in self.fields.items():
            self._write_digits(chars, numbers[code], start, self.WIDTHS[code])

        if self.zone:
            utc = datetimes.dt.tz_convert('UTC').dt.tz_localize(None)
            utc_ns = utc.dt.as_unit('ns').to_numpy().view(np.int64)[~missing]
            offsets = wall_ns - utc_ns
            if (offsets % (60 * 10**9)).any():
                return None

            minutes = np.abs(offsets) // (60 * 10**9)
            chars[:, self.width] = np.where(offsets < 0, ord('-'), ord('+'))
            self._write_digits(chars, minutes // 60 * 100 + minutes % 60, self.width + 1, 4)

        written = np.full(len(datetimes), np.nan, dtype=object)
        written[~missing] = chars.view(f'<U{chars.shape[1]}').ravel().astype(object)
        return written

    @staticmethod
    def _write_digits(chars, numbers, start, width):
        for position in range(start + width - 1, start - 1, -1):
            chars[:, position] = ord('0') + numbers % 10
            numbers = numbers // 10


def _clip_round_cast(values, index, bounds, digits, dtype):
    """Clip, round and cast float64 values in place, as RDT and SDV do with pandas.

    Args:
        values (numpy.ndarray):
            ``float64`` values, overwritten.
        index (pandas.Index):
            The index of the result.
        bounds (tuple or None):
            Minimum and maximum (a missing one does not bind), or ``None``.
        digits (int or None):
            Decimals to round to; ``None``: integers are rounded to whole numbers.
        dtype (numpy.dtype or pandas.api.extensions.ExtensionDtype):
            The training dtype (``float64`` where it is a numpy integer and values are
            missing).

    Returns:
        pandas.Series:
            The values.
    """
    if bounds is not None:
        low, high = (None if pd.isna(bound) else bound for bound in bounds)
        np.clip(values, low, high, out=values)

    is_integer = pd.api.types.is_integer_dtype(dtype)
    with_nans = (
        not pd.api.types.is_extension_array_dtype(dtype) and is_integer and np.isnan(values).any()
    )
    if digits is not None:
        np.round(values, digits, out=values)
    elif is_integer:
        np.round(values, 0, out=values)

    return pd.Series(values, index=index).astype(dtype if not with_nans else 'float64', copy=False)


class Codec:
    """SDV's transform and reverse transform of one table as vector operations.

    Build one with ``Codec.fit`` (fits SDV's ``DataProcessor`` from the statistics of the
    table) or ``Codec(processor)`` (a processor SDV already fitted).

    Args:
        processor (sdv.data_processing.DataProcessor):
            A fitted processor.

    Attributes:
        reason (str or None):
            Why the table cannot be decoded by vector operations (``None``: it can).
        columns (list[ColumnCodec]):
            The transformed columns, in the order of ``DataProcessor.transform``.
    """

    def __init__(self, processor):
        self.processor = processor
        self.reason = None
        hyper = _compat.hyper_transformer(processor)
        self._dtypes = _compat.processor_dtypes(processor)
        self.columns = []
        order = _compat.output_columns(processor)
        codecs = {}
        for name, transformer in hyper.field_transformers.items():
            if isinstance(name, tuple) or transformer is None:
                self.reason = self.reason or f'column {name!r} has no single-column transformer'
                continue

            if not transformer.get_output_columns():
                continue  # generated (ids, PII): SDV's own generators write them

            if len(transformer.get_output_columns()) != 1:
                self.reason = self.reason or f'column {name!r} has several outputs'
                continue

            codec = _column_codec(name, transformer)
            codecs[codec.output] = codec

        self.columns = [codecs[output] for output in order if output in codecs]
        if processor.grouped_columns_to_transformers:
            self.reason = 'multi-column transformers'

    @property
    def output_columns(self):
        """The transformed column names, in order."""
        return pd.Index([column.output for column in self.columns])

    @classmethod
    def fit(cls, processor, statistics):
        """Fit SDV's ``DataProcessor`` from the statistics of a table.

        Validate the table first with SDV's ``validate_data`` on ``statistics.rows``: those
        rows fail SDV's validation exactly where the table does.

        Args:
            processor (sdv.data_processing.DataProcessor):
                The processor to fit (configured, not fitted).
            statistics (Partial):
                The table's statistics (``partial``, or ``merge`` of chunks).

        Returns:
            Codec:
                The fitted codec.
        """
        processor.fit(statistics.rows)
        hyper = _compat.hyper_transformer(processor)
        for name, transformer in hyper.field_transformers.items():
            generated = not transformer.get_output_columns()
            if isinstance(name, str) and (generated or name in statistics.counts):
                # These learn from frequencies and lengths: fit them on the counted rows.
                transformer.fit(_refit_rows(statistics, name).to_frame(), name)

        for transformer in hyper.field_transformers.values():
            _datetime_range_in_nanoseconds(transformer)

        return cls(processor)

    def unsupported(self, statistics):
        """Say which column the statistics cannot fit exactly (``None``: none).

        A transformer the codec does not apply itself is fitted from the representative rows;
        only ordinal columns, whose value counts the statistics keep, learn the same there.

        Args:
            statistics (Partial):
                The statistics the codec was fitted from.

        Returns:
            str or None:
                The reason, naming the column and its transformer.
        """
        for column in self.columns:
            if column.kind in ('rdt', 'uniform') and column.name not in statistics.counts:
                name = type(column.transformer).__name__
                return f"column '{column.name}' uses {name}"

        return None

    def rounding_steps(self):
        """Step to which each transformed column is rounded on decode (0: none).

        Returns:
            numpy.ndarray:
                One step per column of ``output_columns`` (see ``rounding_step``).
        """
        formatters = self.processor.formatters
        return np.array(
            [
                rounding_step(column.transformer, formatters.get(column.name))
                for column in self.columns
            ]
        )

    def datetime_units(self):
        """Unit, in nanoseconds, to which each datetime column is truncated (0: none).

        Returns:
            numpy.ndarray:
                One unit per column of ``output_columns`` (see ``datetime_unit``).
        """
        return np.array([datetime_unit(column.transformer) for column in self.columns])

    def encode(self, frame, reused=None):
        """Transform a table as ``DataProcessor.transform`` does, into a float matrix.

        Args:
            frame (pandas.DataFrame):
                The table (not modified).
            reused (dict or None):
                What ``partial`` of this frame gave to reuse.

        Returns:
            numpy.ndarray:
                ``float64``, one column per ``output_columns``, column-major (each column
                contiguous, as it is written and as per-column statistics read it).
        """
        matrix = np.empty((len(frame), len(self.columns)), order='F')
        for index, column in enumerate(self.columns):
            values = frame[column.name]
            matrix[:, index] = self._encode_column(column, values, reused or {})

        return matrix

    def _encode_column(self, column, values, reused):
        if column.kind == 'numerical':
            return values.to_numpy(dtype=float, na_value=np.nan)

        kind, *known = reused.get(column.name, (None,))
        if column.kind == 'label':
            categories = column.state['categories']
            if kind == 'factorized':  # strings only: each distinct one looked up once
                codes = _positions(categories, *known)
            else:
                codes = pd.Index(categories).get_indexer(values.infer_objects().fillna(np.nan))

            if (codes < 0).any():
                raise ValueError(f"Column '{column.name}' has values not seen in fit.")

            return codes.astype(float)

        if column.kind == 'datetime':
            datetime_format = column.transformer.datetime_format
            known_format, parsed = known if kind == 'parsed' else (None, None)
            if known_format != datetime_format:
                fixed = FixedFormat.of(datetime_format)
                parsed = None if fixed is None else fixed.parse(values)

            if parsed is not None:
                nanoseconds = parsed[0] if parsed[1] is None else parsed[1]
                return np.where(nanoseconds == NAT, np.nan, nanoseconds.astype(float))

            datetimes = values
            if not pd.api.types.is_datetime64_any_dtype(values):
                datetimes = pd.to_datetime(
                    values,
                    format=_pandas_format(column.transformer.datetime_format),
                    utc=column.state['has_multiple_timezones'],
                )

            if datetimes.dt.tz is not None:
                datetimes = datetimes.dt.tz_convert('UTC').dt.tz_localize(None)

            nanoseconds = datetimes.dt.as_unit('ns').to_numpy().view('int64').astype(float)
            nanoseconds[datetimes.isna().to_numpy()] = np.nan
            return nanoseconds

        if column.kind == 'uniform':
            encoded = _encode_uniform(column.transformer, values)
            if encoded is not None:
                return encoded

        transformed = column.transformer.transform(values.to_frame())
        return transformed[column.output].to_numpy(dtype=float, na_value=np.nan)

    def decode(self, matrix, progress=None):
        """Reverse transform as ``DataProcessor.reverse_transform`` does (no conditions).

        Args:
            matrix (numpy.ndarray or pandas.DataFrame):
                Transformed rows, one column per ``output_columns``.
            progress (tqdm.tqdm or None):
                A bar advanced by one per decoded column.

        Returns:
            pandas.DataFrame:
                The rows in the table's columns, order and dtypes.
        """
        if isinstance(matrix, pd.DataFrame):
            matrix = matrix[self.output_columns].to_numpy(dtype=float, na_value=np.nan)

        index = pd.RangeIndex(len(matrix))
        decoded, exact = {}, set()
        for position, column in enumerate(self.columns):
            decoded[column.name] = self._decode_column(column, matrix[:, position], index, exact)
            if progress is not None:
                progress.update()

        return self._finish(decoded, index, exact)

    def _decode_column(self, column, values, index, exact):
        if column.kind == 'numerical':
            return self._reverse_number(column, values, index)

        if column.kind == 'label':
            categories = column.state['categories']
            codes = np.clip(np.round(values), 0, len(categories) - 1)
            codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
            taken = pd.api.extensions.take(categories.to_numpy(), codes, allow_fill=True)
            return try_convert_to_dtype(pd.Series(taken, index=index), column.state['dtype'])

        if column.kind == 'datetime':
            return self._reverse_datetime(column, values, index, exact)

        frame = pd.DataFrame({column.output: values}, index=index)
        return column.transformer.reverse_transform(frame)[column.name]

    @staticmethod
    def _reverse_number(column, values, index):
        """RDT's ``FloatFormatter`` reverse transform (clip, round, cast)."""
        transformer, state = column.transformer, column.state
        bounds = (state['min'], state['max']) if transformer.enforce_min_max_values else None
        if bounds is None and not transformer.computer_representation.startswith('Float'):
            from rdt.transformers.numerical import INTEGER_BOUNDS

            bounds = INTEGER_BOUNDS[transformer.computer_representation]

        digits = state['rounding_digits'] if transformer.learn_rounding_scheme else None
        return _clip_round_cast(values.copy(), index, bounds, digits, state['dtype'])

    def _reverse_datetime(self, column, values, index, exact):
        """RDT's reverse transform of a datetime column.

        ``exact`` receives the name of the column when it is written exactly in its format.
        """
        transformer, state = column.transformer, column.state
        data = np.round(values)
        if transformer.enforce_min_max_values:
            data = data.clip(state['min'], state['max'])

        if np.nanmax(np.abs(data), initial=0) < 2**62:
            nanoseconds = np.where(np.isnan(data), NAT, data).astype(np.int64)
            datetimes = pd.Series(nanoseconds.view('datetime64[ns]'), index=index)
        else:
            datetimes = pd.Series(pd.to_datetime(data), index=index)  # raises as RDT does
        if state['has_multiple_timezones']:
            datetimes = datetimes.dt.tz_localize('UTC')
        elif state['timezone_offset'] is not None:
            timezone = _fixed_timezone(state['timezone_offset'])
            datetimes = datetimes.dt.tz_localize('UTC').dt.tz_convert(timezone)

        datetime_format, dtype = transformer.datetime_format, state['dtype']
        fixed = FixedFormat.of(datetime_format)
        if pd.api.types.is_datetime64_dtype(dtype) and '.%f' not in datetime_format:
            if fixed is not None and fixed.unit and not fixed.zone and datetimes.dt.tz is None:
                floored = datetimes.dt.floor(fixed.unit)  # what writing and reading back does
                return floored.astype(dtype) if dtype != floored.dtype else floored

            written = datetimes.dt.strftime(datetime_format)
            return pd.to_datetime(written, format=datetime_format)

        written = None if fixed is None else fixed.write(datetimes)
        if written is None:
            written = datetimes.dt.strftime(datetime_format)
        else:
            written = pd.Series(written, index=index, dtype=object)
            exact.add(column.name)

        return written.astype(dtype)

    def _finish(self, decoded, index, exact):
        """Generated columns, dtypes and formatters, as ``DataProcessor.reverse_transform``."""
        processor = self.processor
        hyper = _compat.hyper_transformer(processor)
        keys = _compat.processor_keys(processor)
        num_rows = len(index)
        sampled_columns = list(decoded)
        missing_columns = [
            column
            for column in processor.metadata.columns.keys() - set(sampled_columns + keys)
            if hyper.field_transformers.get(column)
        ]
        if missing_columns and num_rows:
            anonymized = hyper.create_anonymized_columns(
                num_rows=num_rows, column_names=missing_columns
            )
            sampled_columns.extend(missing_columns)
            for name in anonymized.columns:
                decoded[name] = anonymized[name][anonymized[name].notna()].reindex(index)

        if keys and num_rows:
            generated = processor.generate_keys(num_rows)
            sampled_columns.extend(keys)
            for name in generated.columns:
                decoded[name] = generated[name][generated[name].notna()].reindex(index)

        order = [name for name in processor.metadata.columns.keys() if name in sampled_columns]
        for name in order:
            decoded[name] = self._cast(name, decoded[name])

        for name in order:
            formatter = processor.formatters.get(name)
            if formatter is not None:
                decoded[name] = self._format(name, formatter, decoded[name], name in exact)

        # The columns are this call's own: no copy (a copy of 1,000,000 rows costs a second).
        return pd.DataFrame({name: decoded[name] for name in order}, index=index, copy=False)

    def _cast(self, name, column_data):
        """``DataProcessor.reverse_transform``'s cast of one column to its training dtype."""
        processor = self.processor
        dtype = self._dtypes[name]
        if pd.api.types.is_integer_dtype(dtype) and pd.api.types.is_float_dtype(column_data):
            column_data = column_data.round()

        dtype_now = column_data.dtype
        numpy_numbers = isinstance(dtype_now, np.dtype) and dtype_now.kind in 'biufmM'
        if not numpy_numbers and column_data.isna().any():  # None and pd.NA become NaN
            column_data = column_data[column_data.notna()].reindex(column_data.index)

        try:
            return column_data.astype(dtype, copy=False)
        except (IntCastingNaNError, ValueError) as error:
            message = (
                f"The real data in '{name}' was stored as '{dtype}' but the synthetic data "
                'could not be cast back to this type. If this is a problem, please check your '
                'input data and metadata settings.'
            )
            if isinstance(error, IntCastingNaNError):
                LOGGER.debug(message)
                return column_data

            sdtype = processor.metadata.columns.get(name).get('sdtype')
            if sdtype not in _compat.sdtypes_of_dtypes(processor):
                LOGGER.info(message)
                processor.formatters.pop(name, None)
                return column_data

            raise ValueError(error) from None
        except OverflowError:
            if not _compat.warned_overflow(processor):
                warnings.warn(
                    f"The real data in '{processor.table_name}' and column '{name}' was stored "
                    f"as '{dtype}' but the synthetic data overflowed when casting back to this "
                    'type. If this is a problem, please check your input data and metadata '
                    'settings.',
                    stacklevel=2,
                )
            _compat.warned_overflow(processor, True)
            return column_data

    def _format(self, name, formatter, column, exact):
        """A formatter's ``format_data``, skipping the per-value check where it cannot fail."""
        datetime_format = getattr(formatter, 'datetime_format', None)
        if not hasattr(formatter, 'datetime_format'):
            if column.dtype not in (np.float64, np.float16):
                return formatter.format_data(column)

            # NumericalFormatter.format_data in place (and float16 rounded in float64: SDV
            # rounds in float16, which overflows to NaN).
            state = _compat.transformer_state(formatter)
            bounds = (state['min'], state['max']) if formatter.enforce_min_max_values else None
            digits = state['rounding_digits'] if formatter.enforce_rounding else None
            values = column.to_numpy(dtype=np.float64, copy=True)
            return _clip_round_cast(values, column.index, bounds, digits, state['dtype'])

        transformer = _compat.hyper_transformer(self.processor).field_transformers.get(name)
        dtype = _compat.transformer_state(formatter)['dtype']
        same_format = datetime_format == getattr(transformer, 'datetime_format', None)
        if (
            dtype == column.dtype
            and same_format
            and datetime_format
            and (pd.api.types.is_datetime64_any_dtype(column) or exact)
        ):
            return column  # every value matches the format: SDV returns the column as it is

        return formatter.format_data(column)
