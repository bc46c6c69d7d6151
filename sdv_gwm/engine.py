"""The mixing engine: pure numpy, knows nothing of SDV.

A synthetic row mixes two distinct real rows ``i`` and ``j``: every continuous column gets
``lam * x_i + (1 - lam) * x_j`` with one ``lam`` per row, every discrete column is copied from
the winning parent: the one with the larger weight (for a law shrunk to a pair's room, ``i``
wins above the quantile that 1/2 has in the uncut law, see ``EpBeta.draw``, so that it wins
equally often in every pair).
Missing values (``NaN``) in a continuous column follow the same parent; where only the other
parent is missing, the winner's value is kept as it is. A value at a bound of its column that
a large share of the rows hold (the zero of a zero-inflated column) is an *atom*: it is
inherited like a missing value, so its frequency is kept and it pins no pair to its bound.

With ``transport`` the partner is first moved into the winner's class: ``g``, the least-squares
fit of each mixed column on indicators of every inherited value and of the cells of the pairs
of inherited columns that interact (``ClassMeans``), is subtracted from the partner, its
residual rescaled to the winner's class spread (``ClassMeans.scales``) and the winner's ``g``
added, and the weight of the winner follows a law with mean ``E[max(lam, 1 - lam)]``
(``winner_law``). Class-conditional means (of a level, and of a fitted cell of two levels),
the between-class variance and the covariance of the mixed columns are then exact in
expectation; a per-column ``spread`` of the deviations from the class centre gives back the
variance that pairs with too little room to extrapolate lose.
"""

import concurrent.futures
import itertools
import os
import warnings

import numpy as np
import scipy.ndimage
import scipy.sparse
import scipy.special

CHUNK_SIZE = 65_536

#: How often ``sample`` gives a rejected row another partner before it keeps the row.
MAX_REDRAWS = 100

#: With ``transport``, how many of those redraws keep the row's weight (see ``sample``).
WEIGHT_KEPT_REDRAWS = 10

#: Pairs ``Mixer`` draws to measure what rooms take from the variance (whole rounds, up to it).
PILOT_PAIRS = 100_000
#: Pairs of ``Mixer._room_spread``'s pilot handled at a time.
PILOT_CHUNK = 16_384
#: Threads that sum the chunks of that pilot (numpy releases the GIL in their array work).
PILOT_THREADS = min(os.cpu_count() or 1, 4)
#: Rows of each of the two pilot samples with which ``Mixer.calibrate_spread`` measures the
#: variance that sampling gives.
SPREAD_PILOT_ROWS = 20_000
#: ``Mixer.calibrate_spread`` keeps the spread within this factor of 1 (either way).
MAX_SPREAD = 1.5

#: Bins of the histogram from which ``Quantiles`` estimates a column's density (at least).
KERNEL_BINS = 4096

#: Times ``NoiseBlend.calibrate`` blends its pilot's rows (new residuals each time) to measure
#: the law of the blended scores, and the points of that law it keeps per column.
PILOT_BLENDS = 5
LAW_KNOTS = 2048

#: Share of the rows a bound value must hold to be treated as an atom.
ATOM_SHARE = 0.05

#: Rows a level of an inherited column needs to get its own class-mean coefficient in
#: ``ClassMeans``; rarer levels share the baseline.
MIN_LEVEL_ROWS = 10

#: Rows a cell of two inherited values (a level of each) needs to get its own class-mean
#: coefficient in ``ClassMeans``; rarer cells share the largest one.
MIN_CELL_ROWS = 20

#: Most pairs of inherited columns whose cells ``ClassMeans`` fits (see ``interacting_pairs``).
MAX_INTERACTIONS = 8

#: ``interacting_pairs`` screens at most this many rows.
SCREEN_ROWS = 20_000


def _pair_room(x_i, x_j, diff, lower, upper, clamp=True):
    """How far the weight of each row may leave [0, 1] before a value leaves its range.

    With ``clamp=False`` the room below 0 is negative where ``x_j`` itself lies outside the
    range (a transported partner): the weight must then stay above ``-room0``.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        inverse = 1.0 / diff
        inverse[diff == 0] = np.nan  # NaN: no limit (a column equal in both rows, or missing)
        # Of the two bounds, the one the weight meets going that way gives the larger ratio,
        # whichever way the pair rises and whether or not x_j is in range (lower <= upper).
        below = np.fmax((x_j - lower) * inverse, (x_j - upper) * inverse)
        above = np.fmax((upper - x_i) * inverse, (lower - x_i) * inverse)

    room0, room1 = _row_minimum(below), np.maximum(_row_minimum(above), 0.0)
    return (np.maximum(room0, 0.0) if clamp else room0), room1


def _row_minimum(values):
    """Minimum of each row, ignoring NaN (``inf`` where all are)."""
    least = np.full(len(values), np.inf)
    for column in values.T:  # a few columns: faster than a reduction along short rows
        np.fmin(least, column, out=least)

    return least


def _own_levels(column, min_rows):
    """The levels of a column that get an indicator: all with ``min_rows`` rows but the largest.

    Returns:
        numpy.ndarray:
            Their values, sorted (``NaN``, a level of its own, last).
    """
    if column.dtype == bool:
        true = np.count_nonzero(column)
        counts = np.array([len(column) - true, true])
        own = (counts >= min_rows) & (np.arange(2) != np.argmax(counts))
        return np.flatnonzero(own).astype(bool)

    ordered = np.sort(column)
    new = (ordered[1:] != ordered[:-1]) & ~(np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
    starts = np.flatnonzero(np.r_[True, new])
    sizes = np.diff(starts, append=len(column))
    own = sizes >= min_rows
    own[np.argmax(sizes)] = False
    return ordered[starts[own]]


def _level_codes(column, levels):
    """Position of each value among ``levels``; -1 for any other value (the baseline)."""
    if column.dtype == bool:
        lookup = np.full(2, -1)
        lookup[levels.astype(np.intp)] = np.arange(len(levels))
        return np.where(column, lookup[1], lookup[0])

    position = np.minimum(np.searchsorted(levels, column), len(levels) - 1)
    found = levels[position]
    hit = (found == column) | (np.isnan(found) & np.isnan(column))
    return np.where(hit, position, -1)


def categories(codes, ends):
    """The categories of noisy codes, as RDT's uniform encoders decode them.

    Args:
        codes (numpy.ndarray):
            Codes in [0, 1] (clipped there).
        ends (numpy.ndarray):
            The ends of the categories' intervals, in order (right-closed intervals).

    Returns:
        numpy.ndarray:
            Each code's category, by position.
    """
    return np.searchsorted(ends, np.clip(codes, 0, 1), side='left')


def _dense(matrix):
    return matrix.toarray() if scipy.sparse.issparse(matrix) else np.asarray(matrix)


class Patterns:
    """Rows grouped by their level codes: the distinct rows of a class design.

    A class design has a row per training row but only as many distinct rows as there are
    combinations of levels (and missing cells) that occur, a few thousand on most tables. A
    sum over the rows of the design times a matrix is then the sum over the patterns of their
    design row times the pattern's sum of that matrix (``totals``): one pass over the rows, a
    block at a time (small temporaries), and the products with the design on the patterns
    alone.

    Args:
        codes (list[numpy.ndarray]):
            Level codes of the splits of single columns (-1: the baseline), one per row; the
            codes of cells follow from them.
        num_rows (int):
            Rows of the table.

    Attributes:
        inverse (numpy.ndarray):
            The pattern of each row.
        rows (numpy.ndarray):
            A row of each pattern.
        counts (numpy.ndarray):
            Rows of each pattern.
    """

    def __init__(self, codes, num_rows):
        key = np.zeros(num_rows, dtype=np.int64)
        size = 1  # keys lie in [0, size)
        for code in codes:
            count = int(code.max(initial=-1)) + 2  # the baseline, code -1, too
            if size * count >= 2**62:  # renumber the keys that occur before they overflow
                key = np.unique(key, return_inverse=True)[1]
                size = int(key.max(initial=-1)) + 1

            key = key * count + (code + 1)
            size *= count

        if size <= 4 * num_rows:  # count every key; sorting them costs more
            counts = np.bincount(key, minlength=size)
            present = np.flatnonzero(counts)
            lookup = np.empty(size, dtype=np.intp)
            lookup[present] = np.arange(len(present))
            self.inverse, self.counts = lookup[key], counts[present]
        else:
            _, self.inverse, self.counts = np.unique(key, return_inverse=True, return_counts=True)

        self.rows = np.empty(len(self.counts), dtype=np.intp)
        self.rows[self.inverse] = np.arange(num_rows)  # any row of the pattern will do
        self._blocks = None

    def _sum(self, rows_of):
        """The ``(p, q)`` sums over each pattern's rows of ``rows_of(block)``, block by block."""
        if self._blocks is None:  # built on the first sum: predictions need none
            self._blocks = []
            for start in range(0, len(self.inverse), CHUNK_SIZE):
                block = slice(start, start + CHUNK_SIZE)
                inverse = self.inverse[block]
                size = len(inverse)
                matrix = scipy.sparse.csr_matrix(
                    (np.ones(size), (inverse, np.arange(size))), shape=(len(self.counts), size)
                )
                self._blocks.append((block, matrix))

        return sum((matrix @ rows_of(block) for block, matrix in self._blocks), 0.0)

    def totals(self, values, missing, centres=None):
        """Per pattern, the sums of the present values and the count of those cells.

        Args:
            values (numpy.ndarray):
                ``(n, q)`` values of the rows.
            missing (numpy.ndarray):
                ``(n, q)`` their cells left out.
            centres (numpy.ndarray or None):
                ``(p, q)`` a value per pattern: the sums are then of the squared deviations of
                the present values from their pattern's.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray]:
                ``(p, q)`` sums and ``(p, q)`` counts.
        """

        def present(block):
            kept = values[block]
            if centres is not None:
                kept = np.square(kept - centres[self.inverse[block]])
            return np.where(missing[block], 0.0, kept)

        return self._sum(present), self._sum(lambda block: (~missing[block]).astype(float))


def _weighted_gram(design, weights):
    """``(m, m)`` Gram matrix of the rows of ``design``, each counted ``weights`` times."""
    rows = np.flatnonzero(weights)
    part = design[rows]
    return _dense(part.T @ (scipy.sparse.diags(np.asarray(weights, float)[rows]) @ part))


class NormalEquations:
    """The normal equations of least-squares fits of ``q`` columns on one design; they add up.

    The fits of chunks of rows merge into the fit of all of them: the Gram matrix and the
    products with the targets are sums over the rows.

    Args:
        gram (numpy.ndarray):
            ``(m, m)`` Gram matrix of the design.
        moments (numpy.ndarray):
            ``(m, q)`` products of the design with the targets (missing cells count 0).
        present (dict):
            For each column with missing cells, the ``(m, m)`` Gram matrix of the rows where it
            is present.
    """

    def __init__(self, gram, moments, present):
        self.gram = gram
        self.moments = moments
        self.present = present

    @classmethod
    def of(cls, design, counts, sums, present):
        """The normal equations of some rows, given as the patterns of their design.

        Args:
            design (scipy.sparse.csr_matrix):
                ``(p, m)`` design of each pattern of the rows (``Patterns``).
            counts (numpy.ndarray):
                ``(p,)`` rows of each pattern.
            sums (numpy.ndarray):
                ``(p, q)`` sums of the targets over each pattern's rows (missing cells count 0).
            present (numpy.ndarray):
                ``(p, q)`` present cells of each column among each pattern's rows.

        Returns:
            NormalEquations:
                Their normal equations.
        """
        gram = _weighted_gram(design, counts)
        moments = _dense(design.T @ sums)
        kept = {}
        for column in np.flatnonzero((present < counts[:, None]).any(axis=0)):
            lost = counts - present[:, column]
            if np.count_nonzero(lost) < np.count_nonzero(present[:, column]):
                kept[column] = gram - _weighted_gram(design, lost)  # fewer patterns: those
            else:
                kept[column] = _weighted_gram(design, present[:, column])

        return cls(gram, moments, kept)

    def merge(self, other):
        """Add the normal equations of other rows (same design columns).

        Args:
            other (NormalEquations):
                Those of rows disjoint from these.

        Returns:
            NormalEquations:
                Those of both.
        """
        present = {
            column: self.present.get(column, self.gram) + other.present.get(column, other.gram)
            for column in sorted(set(self.present) | set(other.present))
        }
        return NormalEquations(self.gram + other.gram, self.moments + other.moments, present)

    def solve(self):
        """Return the ``(m, q)`` coefficients (0 for a column missing everywhere)."""
        coefficients = np.zeros_like(self.moments)
        complete = np.ones(self.moments.shape[1], dtype=bool)
        complete[list(self.present)] = False
        if complete.any():
            coefficients[:, complete] = np.linalg.lstsq(
                self.gram, self.moments[:, complete], rcond=None
            )[0]

        for column, kept in self.present.items():
            if kept.any():
                coefficients[:, column] = np.linalg.lstsq(
                    kept, self.moments[:, column], rcond=None
                )[0]

        return coefficients


def _cells(first, second, count):
    """Cell of each row given its level codes in two splits (the second has ``count`` levels)."""
    return (first + 1) * count + (second + 1)


def screen_rows(num_rows):
    """The seeded subset of ``SCREEN_ROWS`` rows ``interacting_pairs`` screens (``None``: all).

    Seeded: fitting stays deterministic.
    """
    if num_rows <= SCREEN_ROWS:
        return None

    return np.sort(np.random.default_rng(0).choice(num_rows, SCREEN_ROWS, replace=False))


def interacting_pairs(codes, residual, min_cell=MIN_CELL_ROWS, limit=MAX_INTERACTIONS, total=None):
    """Pairs of splits whose cells hold an interaction that their levels leave in ``r``.

    For two splits with ``K`` and ``L`` levels and one mixed column, the standardized residual
    of the fit on the levels, summed over each cell ``c`` (``n_c`` mixable rows), gives
    ``T = sum_c S_c**2 / n_c``. The residual is orthogonal to both splits' levels, so without
    an interaction ``T`` is about chi-squared with ``f = C - K - L + 1`` degrees of freedom
    (``C`` cells of at least ``min_cell`` rows counted). A pair is kept when ``T`` and ``f``,
    summed over the mixed columns, give ``T > f + 4 sqrt(2 f)``; at most ``limit`` pairs, the
    largest ``T / f`` first. Screening keeps the design small (its cost grows with the square
    of its width) and no cell gets a coefficient the data do not ask for. Above
    ``SCREEN_ROWS`` rows it runs on that many (a seeded subset, ``screen_rows``), ``min_cell``
    scaled down alike, so that its cost does not grow with the table; there the residual is
    orthogonal to the levels only up to sampling error, and ``f = C``.

    Args:
        codes (list[numpy.ndarray]):
            Level codes of each split (-1 the baseline, then 0, 1, ... the levels that have
            an indicator), of the screened rows.
        residual (numpy.ndarray):
            ``(n, q)`` residuals of the fit on the levels (``NaN``: not mixable), of the
            screened rows.
        min_cell (int):
            Rows of the whole table a cell needs to count.
        limit (int):
            Most pairs kept.
        total (int or None):
            Rows of the table that the screened rows are the ``screen_rows`` subset of;
            ``None``: they are the whole table.

    Returns:
        list[tuple[int, int]]:
            The kept pairs, as indices into ``codes``.
    """
    whole = total is None or total == len(residual)
    if not whole:
        min_cell = max(min_cell * len(residual) // total, 1)

    present = ~np.isnan(residual)
    with np.errstate(invalid='ignore', divide='ignore'):
        standard = np.nan_to_num(residual / np.nanstd(residual, axis=0))

    scores = []
    sizes = [code.max(initial=-1) + 2 for code in codes]  # the baseline, code -1, too
    for first, second in itertools.combinations(range(len(codes)), 2):
        count_a, count_b = sizes[first], sizes[second]
        cells = _cells(codes[first], codes[second], count_b)
        statistic = freedom = 0.0
        for column in range(residual.shape[1]):
            counts = np.bincount(cells, present[:, column], minlength=count_a * count_b)
            sums = np.bincount(cells, standard[:, column], minlength=count_a * count_b)
            counted = counts >= min_cell
            statistic += np.sum(sums[counted] ** 2 / counts[counted])
            # On a subset the residual is orthogonal to the levels only up to sampling error.
            freedom += max(counted.sum() - whole * (count_a + count_b - 1), 0)

        if freedom > 0 and statistic > freedom + 4 * np.sqrt(2 * freedom):
            scores.append((statistic / freedom, first, second))

    return [(first, second) for _, first, second in sorted(scores, reverse=True)[:limit]]


class ClassModel:
    """Class means ``g(d)`` and class spreads of the mixed columns, without training rows.

    The splits (the inherited columns and pairs of them whose levels or cells get an
    indicator, see ``ClassMeans``), the coefficients of the fit and the spread of each level:
    small and picklable. ``ClassMeans`` fits one to rows in memory; the distributed fit takes
    the splits from a uniform sample and the coefficients and spreads from sums over all the
    rows (``normal``, ``scale_sums``), which add up over partitions.

    Args:
        splits (list[tuple]):
            ``(column or pair of splits, own levels or cells, first design column)``.
        width (int):
            Columns of the design.
        levels (int):
            How many of the splits are single columns (the cells come after them).
        coefficients (numpy.ndarray or None):
            ``(m, q)`` coefficients of the design's columns.
        cuts (dict or None):
            For inherited columns coded with noise (RDT's uniform encoders: an ordinal column,
            say), by position among the inherited columns, the ends of the categories'
            intervals: their levels are the categories, not the noisy codes.

    Attributes:
        table (tuple or None):
            Per mixed column, the split whose levels set its spread and each level's mean
            squared residual (``fit_scales``).
    """

    def __init__(self, splits, width, levels, coefficients=None, cuts=None):
        self.splits = splits
        self.width = width
        self.levels = levels
        self.coefficients = coefficients
        self.cuts = cuts or {}
        self.table = None

    def _columns(self, discrete, missing):
        columns = list(np.asarray(discrete, dtype=float).T)
        for position, ends in self.cuts.items():
            columns[position] = categories(columns[position], ends).astype(float)

        return columns + list(missing.T)

    def _codes(self, discrete, missing):
        columns = self._columns(discrete, missing)
        codes = []
        for key, levels, _ in self.splits:
            if isinstance(key, tuple):  # a cell of two splits listed before it
                codes.append(self._cell_codes(codes, key, levels))
            else:
                codes.append(_level_codes(columns[key], levels))

        return codes

    def _cell_codes(self, codes, key, cells):
        """Codes of the cells of the splits ``key`` given their level codes."""
        first, second = key
        count = len(self.splits[second][1]) + 1
        return _level_codes(_cells(codes[first], codes[second], count).astype(float), cells)

    def _design(self, codes, num_rows):
        # 32-bit positions: scipy keeps them as the CSR matrix's index type (half the memory).
        rows = [np.arange(num_rows, dtype=np.int32)]
        columns = [np.zeros(num_rows, dtype=np.int32)]
        for code, (_, _, start) in zip(codes, self.splits, strict=True):
            own = np.flatnonzero(code >= 0).astype(np.int32)
            rows.append(own)
            columns.append((start + code[own]).astype(np.int32))

        rows, columns = np.concatenate(rows), np.concatenate(columns)
        return scipy.sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(num_rows, self.width)
        )

    def design(self, discrete, missing):
        """The intercept and indicators of rows with these inherited values and missing cells.

        Args:
            discrete (numpy.ndarray):
                ``(n, k)`` inherited values.
            missing (numpy.ndarray):
                ``(n, q)`` whether each mixed cell is missing (or an atom).

        Returns:
            scipy.sparse.csr_matrix:
                ``(n, m)`` design.
        """
        return self._design(self._codes(discrete, missing), len(missing))

    def _patterns(self, codes, num_rows):
        """The patterns of rows with these codes and the design of each pattern."""
        patterns = Patterns(codes[: self.levels], num_rows)
        design = self._design([code[patterns.rows] for code in codes], len(patterns.counts))
        return patterns, design

    def predict(self, discrete, missing):
        """Return ``g(d)`` for rows with these inherited values and missing cells."""
        patterns, design = self._patterns(self._codes(discrete, missing), len(missing))
        return (design @ self.coefficients)[patterns.inverse]

    def normal(self, discrete, values):
        """The normal equations of the fit of ``values`` on the design of these rows.

        Args:
            discrete (numpy.ndarray):
                ``(n, k)`` inherited values.
            values (numpy.ndarray):
                ``(n, q)`` mixable values (``NaN``: missing or atom).

        Returns:
            NormalEquations:
                Their sum over all rows gives the coefficients (``fit_normal``).
        """
        missing = np.isnan(values)
        patterns, design = self._patterns(self._codes(discrete, missing), len(values))
        return NormalEquations.of(design, patterns.counts, *patterns.totals(values, missing))

    def fit_normal(self, normal):
        """Set the coefficients from the normal equations of all training rows."""
        self.coefficients = normal.solve()

    def scale_sums(self, discrete, values):
        """Per design column, the sums of the squared residuals and the mixable cells.

        Args:
            discrete (numpy.ndarray):
                The rows' inherited values, as for ``normal``.
            values (numpy.ndarray):
                Their mixable values, as for ``normal``.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray]:
                Two ``(m, q)`` arrays; their sums over all rows give the spreads
                (``fit_scales``).
        """
        missing = np.isnan(values)
        patterns, design = self._patterns(self._codes(discrete, missing), len(values))
        return self._sums(design, patterns, values, missing)

    def _sums(self, design, patterns, values, missing):
        sums, present = patterns.totals(values, missing, design @ self.coefficients)
        transposed = design.T
        # Intercept row: totals; then each level but the baselines
        return transposed @ sums, transposed @ present

    def fit_scales(self, sums, counts):
        """Choose, per mixed column, the split that sets its spread, and its levels' spreads.

        For each mixed column the inherited column (or missing-or-atom indicator) whose levels
        explain most of the squared residual is chosen, and every level gets the mean squared
        residual of its rows. A level's residuals sum to zero, so ``z = r / scale`` has mean
        zero, ``E[z^2] = 1`` and ``E[scale^2] = E[r^2]``. Cells are not candidates: the spread
        of a cell rests on as few as ``MIN_CELL_ROWS`` rows.

        Args:
            sums (numpy.ndarray):
                ``(m, q)`` sums of squared residuals (``scale_sums``) over all training rows.
            counts (numpy.ndarray):
                ``(m, q)`` their mixable cells.
        """
        with np.errstate(divide='ignore', invalid='ignore'):
            overall = sums[0] / counts[0]
            # Between-level sum of squares of the squared residual, up to a constant, for no
            # split (the overall mean) and for each split.
            fits = [counts[0] * overall**2]
            means = []
            for _, levels, start in self.splits[: self.levels]:
                own = slice(start, start + len(levels))
                # The baseline level holds what the other levels of the split do not.
                level_sums = np.vstack([sums[own], sums[0] - sums[own].sum(axis=0)])
                level_counts = np.vstack([counts[own], counts[0] - counts[own].sum(axis=0)])
                level_means = np.where(level_counts > 0, level_sums / level_counts, 0.0)
                fits.append((level_counts * level_means**2).sum(axis=0))
                means.append(level_means)

        self.table = np.argmax(np.vstack(fits), axis=0), overall, means

    def classes_of(self, discrete, missing):
        """The class of each of these rows, and the class means and spreads of those classes.

        Rows with the same levels (their ``Patterns``) have the same class mean and spread:
        one row per class holds them, and each row points to its class.

        Args:
            discrete (numpy.ndarray):
                The rows' inherited values, as for ``design``.
            missing (numpy.ndarray):
                Their missing (or atom) mixed cells, as for ``design``.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
                ``(n,)`` class of each row, ``(p, q)`` class means ``g(d)`` and ``(p, q)``
                spreads of the classes.
        """
        codes = self._codes(discrete, missing)
        patterns, design = self._patterns(codes, len(missing))
        codes = [code[patterns.rows] for code in codes]
        return patterns.inverse, design @ self.coefficients, self._scales(codes, patterns)

    def _scales(self, codes, patterns):
        """``(p, q)`` spreads of the ``patterns``, given the level codes of each pattern."""
        best, overall, means = self.table
        variances = np.empty((len(patterns.counts), len(best)))
        for column in range(len(best)):
            if best[column] == 0:
                variances[:, column] = overall[column]
            else:  # code -1, the baseline, is the last row of the level means
                split = best[column] - 1
                variances[:, column] = means[split][codes[split], column]

        # (a baseline sum is a difference: clipped at 0)
        return np.sqrt(np.maximum(variances, 0.0, out=variances), out=variances)


class ClassMeans(ClassModel):
    """Fit each mixed column on indicators of the inherited values of its row: ``g(d)``.

    The regressors are an intercept, one indicator per level of every inherited column (missing
    values are a level; the most frequent level and levels with fewer than ``min_rows`` rows
    are the baseline) and, for every mixed column with missing values or atoms, an indicator of
    them. Pairs of these splits whose cells hold an interaction that the levels leave in the
    residual (``interacting_pairs``) add one indicator per cell (a level of each) with at least
    ``min_cell`` rows but the largest. Each mixed column is fitted by least squares on the rows
    where it is mixable, so its residual has mean zero within every level of every inherited
    column and within every cell with an indicator. ``transport`` and the
    ``privacy`` blend use this one fit. Rows with the same levels have the same design row: the
    fit sums the rows of each combination of levels that occurs (``Patterns``, one pass over the
    rows) and solves on the sparse design of those combinations alone.

    Args:
        discrete (numpy.ndarray):
            ``(n, k)`` inherited values of the training rows.
        values (numpy.ndarray):
            ``(n, q)`` mixable values of the mixed columns (``NaN``: missing or atom).
        min_rows (int):
            Rows a level needs to get its own coefficient and spread.
        min_cell (int or None):
            Rows a cell of two levels needs to get its own coefficient and spread; ``None``:
            no cells, the fit is additive in the inherited columns.
        cuts (dict or None):
            Inherited columns coded with noise and their categories (see ``ClassModel``).

    Attributes:
        codes (list[numpy.ndarray]):
            Level codes of the training rows in each split of a single column.
        patterns (Patterns):
            The training rows grouped by those codes.
        fitted (numpy.ndarray):
            ``(n, q)`` fitted values of the training rows.
    """

    def __init__(
        self, discrete, values, min_rows=MIN_LEVEL_ROWS, min_cell=MIN_CELL_ROWS, cuts=None
    ):
        # Splits: (column of ``_columns`` or the pair of splits of a cell, its own levels or
        # cells, first design column)
        super().__init__([], 1, 0, cuts=cuts)
        self.values = values
        self.missing = np.isnan(values)
        width = 1
        for index, column in enumerate(self._columns(discrete, self.missing)):
            levels = _own_levels(column, min_rows)
            if len(levels):
                self.splits.append((index, levels, width))
                width += len(levels)

        self.width = width
        self.levels = len(self.splits)  # the splits of single columns; cells come after
        self.codes = self._codes(discrete, self.missing)
        self.patterns = Patterns(self.codes, len(values))
        self._totals = self.patterns.totals(values, self.missing)
        self._fit([code[self.patterns.rows] for code in self.codes])
        if min_cell is not None and len(self.splits) >= 2:
            self._add_cells(np.shape(discrete)[1], min_cell)

    @property
    def fitted(self):
        """``(n, q)`` fitted values of the training rows."""
        return self.centres()[self.patterns.inverse]

    def _add_cells(self, num_discrete, min_cell):
        """Add the cells of the pairs of inherited columns that interact, and fit again."""
        # A missing-or-atom flag's own level says enough: cells of inherited columns only.
        inherited = [
            position for position, (index, _, _) in enumerate(self.splits) if index < num_discrete
        ]
        rows = screen_rows(len(self.values))
        rows = slice(None) if rows is None else rows
        residual = self.values[rows] - self.centres()[self.patterns.inverse[rows]]
        screened = interacting_pairs(
            [self.codes[p][rows] for p in inherited], residual, min_cell, total=len(self.values)
        )
        width = self.width
        codes = list(self._pattern_codes)
        for first, second in ((inherited[a], inherited[b]) for a, b in screened):
            count = len(self.splits[second][1]) + 1
            cells = _cells(codes[first], codes[second], count)
            sizes = np.bincount(cells, self.patterns.counts)
            own = (sizes >= min_cell) & (np.arange(len(sizes)) != np.argmax(sizes))
            if own.any():
                cells = np.flatnonzero(own).astype(float)
                self.splits.append(((first, second), cells, self.width))
                self.width += int(own.sum())

        if self.width > width:  # the level codes stay; the cells' are added
            for key, cells, _ in self.splits[len(codes) :]:
                codes.append(self._cell_codes(codes, key, cells))

            self._fit(codes)

    def _fit(self, codes):
        """Fit the coefficients on the design of the patterns, given their codes."""
        self._pattern_codes = codes
        self._pattern_design = self._design(codes, len(self.patterns.counts))
        normal = NormalEquations.of(self._pattern_design, self.patterns.counts, *self._totals)
        self.coefficients = normal.solve()

    def centres(self):
        """Return the ``(p, q)`` class means of the ``patterns`` of the training rows."""
        return self._pattern_design @ self.coefficients

    def model(self):
        """Return the fit without its training rows (a ``ClassModel``)."""
        return ClassModel(self.splits, self.width, self.levels, self.coefficients, self.cuts)

    def scales(self):
        """Fit the spreads (see ``fit_scales``); return those of the ``patterns``.

        Returns:
            numpy.ndarray:
                ``(p, q)`` spreads of the classes of the training rows (each row's is that of
                its pattern; they apply where the row's value is mixable).
        """
        design = self._pattern_design
        self.fit_scales(*self._sums(design, self.patterns, self.values, self.missing))
        return self._scales(self._pattern_codes, self.patterns)


def row_keys(rows, multipliers, prepare=None):
    """Hash each row of a float matrix: equal rows (``NaN`` equal to ``NaN``) hash alike.

    Rows are hashed a chunk at a time, each a column-major copy: the memory of a large table is
    that of one chunk, and the columns are contiguous.

    Args:
        rows (numpy.ndarray):
            ``(n, p)`` float rows (not modified).
        multipliers (numpy.ndarray):
            ``p`` odd ``uint64`` multipliers, one per column.
        prepare (callable or None):
            Rewrites each chunk's copy in place before it is hashed (rounding, say).

    Returns:
        numpy.ndarray:
            ``n`` ``uint64`` keys.
    """
    keys = np.zeros(len(rows), dtype=np.uint64)
    for start in range(0, len(rows), CHUNK_SIZE):
        grid = np.array(rows[start : start + CHUNK_SIZE], dtype=float, order='F')
        if prepare is not None:
            prepare(grid)

        grid += 0.0  # -0.0 and 0.0 hash alike
        np.copyto(grid, np.nan, where=np.isnan(grid))  # one NaN bit pattern
        chunk = keys[start : start + CHUNK_SIZE]
        for column, multiplier in zip(grid.view(np.uint64).T, multipliers, strict=True):
            chunk += column * multiplier  # wraps around: arithmetic modulo 2**64

    return keys


class KeySet:
    """A set of 64-bit row keys (hashes) that answers membership for many keys at once.

    The keys are sorted; a bitmap over their top bits, with about eight bits per key, sends
    most queried keys away in one lookup, and only the others are searched.

    Args:
        keys (numpy.ndarray):
            ``uint64`` keys.
    """

    def __init__(self, keys):
        self.keys = np.sort(np.asarray(keys, dtype=np.uint64))
        bits = int(np.ceil(np.log2(len(self.keys) + 1))) + 3
        self.shift = np.uint64(64 - bits)
        self.seen = np.zeros(1 << bits, dtype=bool)
        self.seen[self.keys >> self.shift] = True

    def __len__(self):
        return len(self.keys)

    def contains(self, keys):
        """Say which of the keys are in the set.

        Args:
            keys (numpy.ndarray):
                ``uint64`` keys.

        Returns:
            numpy.ndarray:
                A boolean per key.
        """
        found = self.seen[keys >> self.shift]
        candidates = np.flatnonzero(found)
        if len(candidates):
            wanted = keys[candidates]
            position = np.searchsorted(self.keys, wanted).clip(max=len(self.keys) - 1)
            found[candidates] = self.keys[position] == wanted

        return found


def _kernel_quantiles(ordered, bandwidth, rounding=0.0):
    """Quantiles of a kernel density estimate of sorted values, with their mean and variance.

    Read back through the order statistics themselves, values would land next to training
    values more often than next to other values of the population: the quantile function
    through them has the density ``1 / (m gap)`` between neighbours, highest in the chance
    clusters of the sample (a membership signal that adds up over the columns), and it keeps
    every tie and spike of a rounded column, where real rows crowd (a reconstruction signal).
    The curve is instead the quantile function of a Gaussian kernel density estimate,
    ``bandwidth`` times Silverman's rule ``1.06 min(sd, IQR / 1.34) m^(-1/5)``, reflected at
    the range's ends so that it stays in them; its values at ``(k + 1/2) / m`` are then mapped
    affinely so that the law read back (uniform between neighbouring points of the curve) has
    the values' mean and variance, less ``rounding`` (the variance that rounding the values
    read back will add, about ``step**2 / 12`` for a density smooth at the step's scale), and
    kept in their range.

    Args:
        ordered (numpy.ndarray):
            Sorted values.
        bandwidth (float):
            Multiple of Silverman's bandwidth.
        rounding (float):
            The variance rounding will add to the values read back. Defaults to 0.

    Returns:
        numpy.ndarray:
            The curve, one point per order statistic.
    """
    count = len(ordered)
    low, high = ordered[0], ordered[-1]
    if count < 3 or low == high:
        return ordered

    upper_quartile, lower_quartile = np.quantile(ordered, [0.75, 0.25])
    spread = min(ordered.std(), (upper_quartile - lower_quartile) / 1.34) or ordered.std()
    width = bandwidth * 1.06 * spread * count**-0.2
    # Bins of at most an eighth of the kernel's width, within bounds on memory.
    bins = int(np.clip(8 * (high - low) / width, KERNEL_BINS, 64 * KERNEL_BINS))
    counts, edges = np.histogram(ordered, bins, (low, high))
    density = scipy.ndimage.gaussian_filter1d(
        counts.astype(float), width / (edges[1] - edges[0]), mode='reflect'
    )
    cumulative = np.r_[0.0, np.cumsum(density)]
    curve = np.interp((np.arange(count) + 0.5) / count, cumulative / cumulative[-1], edges)
    mean = curve.mean()  # the read-back law's mean (half ranks at both ends)
    variance = np.mean((curve - mean) ** 2) - np.sum(np.diff(curve) ** 2) / (6 * count)
    if variance <= 0:
        return ordered

    target = ordered.var() - rounding
    target = target if target > 0 else ordered.var()
    curve = ordered.mean() + (curve - mean) * np.sqrt(target / variance)
    return np.clip(curve, low, high)


def _law_knots(values, count=LAW_KNOTS):
    """``count`` order statistics of values (the extremes among them) and their mid-ranks.

    Linear interpolation through them is the empirical distribution function of the values
    up to ``1 / count``, in ``count`` points instead of all the values.
    """
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, ordered

    index = np.unique(np.linspace(0, len(ordered) - 1, count).round().astype(int))
    return ordered[index], (index + 0.5) / len(ordered)


class Quantiles:
    """Normal scores of each column through its empirical distribution, and back.

    ``scores`` maps a value to ``Phi^-1(p)``, ``p`` its place among the ``m`` sorted training
    values of its column: uniform over the ranks of a run of equal values (a randomized
    probability integral transform, so that for the training values themselves ``p`` is exactly
    uniform on [0, 1] and the scores exactly standard normal), linear between two neighbouring
    distinct values. ``values`` reads ``Phi(z)`` back on the piecewise-linear quantile function
    through the quantiles of a kernel density estimate (the ``k``-th at ``(k + 1/2) / m``, see
    ``_kernel_quantiles``): standard normal scores come back with the training mean and
    variance, inside the training range, with the shape of the column up to the kernel's
    smoothing (tested).

    Args:
        values (numpy.ndarray):
            ``(n, p)`` training values (``NaN``: left out).
        bandwidth (float):
            The kernel's width, a multiple of Silverman's rule. Defaults to 1.
        rounding (numpy.ndarray or None):
            Per column, the variance that rounding the values read back will add: the curves
            keep that much less (``None``: no rounding).
    """

    def __init__(self, values, bandwidth=1.0, rounding=None):
        self.sorted = [np.sort(column[~np.isnan(column)]) for column in values.T]
        rounding = np.zeros(len(self.sorted)) if rounding is None else rounding
        self.curves = [
            _kernel_quantiles(ordered, bandwidth, noise)
            for ordered, noise in zip(self.sorted, rounding, strict=True)
        ]

    def scores(self, values, random_state):
        """Normal scores of ``(m, p)`` values (``NaN`` stays ``NaN``).

        Args:
            values (numpy.ndarray):
                ``(m, p)`` values.
            random_state (numpy.random.Generator):
                Source of the places within runs of equal values.

        Returns:
            numpy.ndarray:
                ``(m, p)`` scores.
        """
        out = np.full(values.shape, np.nan)
        for column, ordered in enumerate(self.sorted):
            present = ~np.isnan(values[:, column])
            if not len(ordered) or not present.any():
                continue

            x = values[present, column]
            left = np.searchsorted(ordered, x, 'left')
            right = np.searchsorted(ordered, x, 'right')
            jitter = random_state.random(len(x))
            place = left + jitter * (right - left)  # a run of equal values: uniform over it
            between = (right == left) & (left > 0) & (left < len(ordered))
            below, above = ordered[left[between] - 1], ordered[left[between]]
            place[between] = left[between] - 0.5 + (x[between] - below) / (above - below)
            # Past an extreme: the half rank that reads back as the extreme.
            outside = (right == left) & ~between
            half = 0.5 * jitter[outside]
            place[outside] = np.where(left[outside] == 0, half, len(ordered) - half)
            probability = np.clip(place / len(ordered), 1e-12, 1 - 1e-12)
            out[present, column] = scipy.special.ndtri(probability)

        return out

    def values(self, scores):
        """Values of ``(m, p)`` normal scores (``NaN`` stays ``NaN``)."""
        out = np.full(scores.shape, np.nan)
        for column, curve in enumerate(self.curves):
            present = ~np.isnan(scores[:, column])
            if len(curve) and present.any():
                place = scipy.special.ndtr(scores[present, column]) * len(curve) - 0.5
                out[present, column] = np.interp(place, np.arange(len(curve)), curve)

        return out


class NoiseBlend:
    """Blend mixed rows with residuals of other training rows: the privacy step.

    The continuous columns (with a ``bandwidth``, their normal scores, see ``Quantiles``) are
    fitted on the inherited ones by ``ClassMeans``: ``x = g(d) + r``. A mixed row ``x`` whose
    discrete values are ``d`` becomes

    ``y = g(d) + c (x - g(d)) + sqrt(1 - c**2) rho``

    with ``rho`` the sum of the residuals of ``count`` training rows drawn uniformly and
    independently of the row, over ``sqrt(count)``, or (``count=None``) their limit, a normal
    vector with the residuals' covariance, which no training row is nearer than another.
    ``rho`` has mean 0 and the residual covariance, so for a row with the moments of the
    training data ``y`` keeps its mean, its covariance and its covariance with the discrete
    columns, for every ``c`` in [0, 1]; third central moments of the residual scale by
    ``c**3 + (1 - c**2)**1.5 / sqrt(count)`` (``c**3`` for the normal ``rho``; see the theory
    page). With a ``bandwidth`` these hold for the scores, and the blended scores are read
    back as values: every value stays in its column's training range, and where the scores
    stay standard normal the column keeps its law (its mean, variance and shape).

    Args:
        coefficient (float):
            ``c``, in [0, 1]: 1 keeps the mixed row.
        continuous (numpy.ndarray):
            ``(n, p)`` training values of the mixed columns (``NaN``: missing or inherited).
        discrete (numpy.ndarray):
            ``(n, k)`` training codes of the inherited columns (``NaN`` is a code of its own).
        count (int or None):
            Residuals per row; ``None``: a normal ``rho`` with the residuals' covariance.
            Defaults to 1.
        bandwidth (float or None):
            Blend the columns' normal scores instead of their values, read back through kernel
            density estimates this many times Silverman's bandwidth wide (``Quantiles``).
            Defaults to ``None``: blend the values.
        means (ClassModel or None):
            The fit of ``continuous`` on ``discrete`` where it is already made (the transport
            ``Mixer``'s ``classes``); ``None`` (default): fitted here.
        rounding (numpy.ndarray or None):
            With a ``bandwidth``, per column the variance that rounding the blended values will
            add, taken from the read-back law beforehand (``Quantiles``); ``None`` (default):
            none.
        cuts (dict or None):
            Inherited columns coded with noise and their categories, as ``ClassModel`` takes
            them (the ``Mixer``'s ``cuts``); ``None`` (default): none.

    Attributes:
        means (ClassModel):
            The fit of the values (the centre ``Mixer`` spreads values around).
        quantiles (Quantiles or None):
            The columns' normal scores (``None`` without a ``bandwidth``).
        scores (ClassModel):
            The fit ``g`` that the blend uses (``means`` without a ``bandwidth``).
        root (numpy.ndarray or None):
            A square root of the residuals' covariance: ``root @ N(0, I)`` is the normal
            ``rho`` (``None`` with a ``count`` of residuals).
        shift, factor (numpy.ndarray):
            Per column, the standardization of mixed rows' deviations (``calibrate``; 0 and 1
            before).
        pilot (list[tuple] or None):
            Per column, the law of the blended scores of ``calibrate``'s pilot: points and
            their mid-ranks (``_law_knots``; ``None`` before, or without a ``bandwidth``).
    """

    def __init__(
        self,
        coefficient,
        continuous,
        discrete,
        count=1,
        bandwidth=None,
        means=None,
        rounding=None,
        cuts=None,
    ):
        self.coefficient = float(coefficient)
        self.count = None if count is None else int(count)
        self.means = ClassMeans(discrete, continuous, cuts=cuts) if means is None else means
        self.quantiles = None
        if bandwidth is not None:
            self.quantiles = Quantiles(continuous, bandwidth, rounding)
        self.scores = self.means
        missing = np.isnan(continuous)
        if self.quantiles is not None:  # seeded: fitting stays deterministic
            continuous = self.quantiles.scores(continuous, np.random.default_rng(0))
            self.scores = ClassMeans(discrete, continuous, cuts=cuts)

        # The fit's values on its training rows (``predict`` gives its ``fitted`` there).
        residuals = continuous - self.scores.predict(discrete, missing)
        with np.errstate(invalid='ignore', divide='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # a column with no value: NaN
            self._residual_variance = np.nanvar(residuals, axis=0)
        # A missing (or atom) cell has no residual; the others stand in for it.
        present = np.maximum((~np.isnan(residuals)).mean(axis=0), 1 / len(residuals))
        self.residuals = np.nan_to_num(residuals) / np.sqrt(present)
        self.root = None
        if self.count is None:  # rho = N(0, I) @ root.T: the covariance of one residual
            gram = self.residuals.T @ self.residuals / len(residuals)
            values, vectors = np.linalg.eigh(gram)
            self.root = vectors * np.sqrt(np.clip(values, 0.0, None))
        self.shift = np.zeros(continuous.shape[1])
        self.factor = np.ones(continuous.shape[1])
        self.pilot = None

    def _deviations(self, values, discrete, random_state):
        """Scores (or values) of rows minus the fit at their discrete values."""
        missing = np.isnan(values)
        if self.quantiles is not None:
            values = self.quantiles.scores(values, random_state)

        return values - self.scores.predict(discrete, missing)

    def _blend(self, deviations, centres, random_state):
        """``g(d') + c factor (e - shift) + s rho`` for deviations ``e`` from ``g(d)``."""
        blended = self.coefficient * self.factor * (deviations - self.shift)
        share = max(1.0 - self.coefficient**2, 0.0)
        if self.count is None:
            normal = random_state.standard_normal((len(deviations), len(self.root)))
            return blended + np.sqrt(share) * normal @ self.root.T + centres

        scale = np.sqrt(share / self.count)
        for _ in range(self.count):
            rows = random_state.integers(0, len(self.residuals), len(deviations))
            blended += scale * self.residuals[rows]

        return blended + centres

    def _standard_normal(self, blended):
        """Blended scores through the pilot's law (``calibrate``) to standard normal ones."""
        if self.pilot is None:
            return blended

        scores = blended.copy()
        for column, (knots, ranks) in enumerate(self.pilot):
            present = ~np.isnan(blended[:, column])
            if len(knots) > 1:
                place = np.interp(blended[present, column], knots, ranks)
                scores[present, column] = scipy.special.ndtri(place)

        return scores

    def calibrate(self, values, discrete, random_state, donated=None):
        """Fit the blend's two corrections to a pilot sample of mixed rows.

        - *Deviations.* A mixed row's deviation ``e = x - g(d)`` from the fit at its
          winner's discrete values has the residuals' mean (zero) and variance where it is
          mixed and blended in values with a preserving law. Its normal scores need not: a
          value mixed between two training values, or past the range, gets a score between
          theirs, or the extreme's, and on ISLR/Default the deviations of mixed rows' scores
          are wider than the residuals once a generation of synthetic rows is the training
          table. ``apply`` blends ``factor (e - shift)`` instead, with ``shift`` and
          ``factor`` matching the mean and variance of the pilot's deviations to the
          residuals' (0 and their variance), column by column.
        - *Law of the blended scores* (with a ``bandwidth``). Where the theory holds they
          have mean 0 and variance 1, but their law is a mixture over the classes of
          ``g(d') + c e + s rho``, not standard normal: read back through ``Q`` as they are,
          the values have another mean and variance than the column (6 % more variance in a
          skewed, bimodal column, tested), which repeated synthesis adds up generation after
          generation. The pilot's blended scores give their law ``F``, and ``apply`` reads a
          blended score ``y`` back as ``Q(Phi^-1(F(y)))``: each column comes back with the law
          of ``Q`` (its mean, variance and smoothed shape), and the ranks of the scores, so
          their rank correlations, are kept.

        Args:
            values (numpy.ndarray):
                ``(m, p)`` mixed rows of the pilot, as ``apply`` receives them.
            discrete (numpy.ndarray):
                ``(m, k)`` discrete codes of their winners.
            random_state (numpy.random.Generator):
                Source of the pilot's places within runs of equal values and residual draws.
            donated (numpy.ndarray or None):
                ``(m, k)`` discrete codes the rows end up with, as ``apply`` receives them.
        """
        deviations = self._deviations(values, discrete, random_state)
        with np.errstate(invalid='ignore', divide='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # a column with no value
            shift = np.nanmean(deviations, axis=0)
            factor = np.sqrt(self._residual_variance / np.nanvar(deviations, axis=0))

        usable = np.isfinite(factor) & (factor > 0)
        self.shift = np.where(usable, shift, 0.0)
        self.factor = np.where(usable, factor, 1.0)
        self.pilot = None
        if self.quantiles is not None:
            donated = discrete if donated is None else donated
            centres = self.scores.predict(donated, np.isnan(values))
            # Residuals are cheap to draw again: the pilot's rows blended several times.
            blended = np.vstack(
                [self._blend(deviations, centres, random_state) for _ in range(PILOT_BLENDS)]
            )
            self.pilot = [_law_knots(column[~np.isnan(column)]) for column in blended.T]

    def apply(self, values, discrete, random_state, lower, upper, donated=None):
        """Blend rows; without a ``bandwidth`` a value that leaves its range is clipped.

        With ``donated`` the row is centred on the donated categories' fitted mean:
        ``g(d') + c (x - g(d)) + s rho``.

        Args:
            values (numpy.ndarray):
                ``(n, p)`` mixed rows; ``NaN`` cells stay ``NaN``.
            discrete (numpy.ndarray):
                ``(n, k)`` discrete codes of the same rows.
            random_state (numpy.random.Generator):
                Source of the residual draws.
            lower (numpy.ndarray):
                Per-column lower bounds (``-inf`` for none).
            upper (numpy.ndarray):
                Per-column upper bounds (``inf`` for none).
            donated (numpy.ndarray or None):
                ``(n, k)`` discrete codes the rows end up with, when donors replace
                ``discrete``; ``None``: ``discrete``.

        Returns:
            numpy.ndarray:
                The blended rows.
        """
        deviations = self._deviations(values, discrete, random_state)
        donated = discrete if donated is None else donated
        centres = self.scores.predict(donated, np.isnan(values))
        blended = self._blend(deviations, centres, random_state)
        if self.quantiles is None:
            return np.clip(blended, lower, upper)

        return self.quantiles.values(self._standard_normal(blended))


class Mixer:
    """Generate rows by mixing pairs of rows of a numeric matrix.

    Args:
        data (numpy.ndarray):
            The ``(n, p)`` float matrix of training rows; ``NaN`` marks a missing value.
        continuous (numpy.ndarray):
            Boolean mask of length ``p``: ``True`` columns are mixed, the others inherited.
        weights (sdv_gwm.weights.EpBeta):
            The law of ``lam``.
        lower (numpy.ndarray or None):
            Per-column lower bounds (``-inf`` for none); mixed values never go below them.
        upper (numpy.ndarray or None):
            Per-column upper bounds (``inf`` for none).
        groups (numpy.ndarray or None):
            Integer group label per row: a row is only mixed with a partner of its own group.
            ``None`` means one group.
        chunk_size (int):
            Rows generated at a time, rounded down to whole rounds (at least one round, i.e.
            the number of candidate rows); bounds the memory of ``sample``.
        atom_share (float):
            Share of the rows (and at least two) a bound value must hold to be inherited as an
            atom.
        donors (int or None):
            ``None`` (default): discrete columns come from the winning parent. An int ``d``:
            each discrete column comes, independently, from a row drawn uniformly from the
            two parents and ``d`` donor rows (uniform candidates of the first parent's group).
        transport (bool):
            Move the partner into the first parent's class before mixing, and let the first
            parent, which always wins, have the weight of ``winner_law``. Needs a law that
            extrapolates. Defaults to ``False``.
        noise (numpy.ndarray or None):
            Per-column variance that rounding will add to the mixed values; they are shrunk
            towards their row's centre (its class mean with ``transport``, else the column
            mean) so that the variance stays exact after rounding.
        blend (NoiseBlend or None):
            Blend every mixed row with other rows' residuals (the privacy step, applied after
            mixing, once the discrete values are chosen). ``None`` (default): no blend.
        classes (ClassModel or None):
            With ``transport``, the class means and spreads fitted beforehand (with
            ``fit_scales``), from a table these rows are part of; ``None`` (default): fitted
            to these rows (``ClassMeans``).
        spread (numpy.ndarray or None):
            With ``transport``, the ``spread`` factors measured beforehand; ``None``
            (default): measured on these rows.
        cuts (dict or None):
            For inherited columns coded with noise (RDT's uniform encoders: an ordinal column,
            say), by column, the ends of the categories' intervals: the class means of
            ``transport`` are those of the categories. ``None`` (default): none.

    Attributes:
        spread (numpy.ndarray):
            Per mixed column, the factor on the deviation of a mixed value from its class
            centre that gives back what cut rooms take from the variance (``transport`` with
            bounded columns; 1 otherwise), and after ``calibrate_spread`` also what rounding
            and redrawn rows take.
        classes (ClassModel or None):
            With ``transport``, the fit of the class means (without the training rows);
            ``None`` without.
        cuts (dict):
            The ``cuts`` of the inherited columns, by position among them.
    """

    def __init__(
        self,
        data,
        continuous,
        weights,
        lower=None,
        upper=None,
        groups=None,
        chunk_size=CHUNK_SIZE,
        atom_share=ATOM_SHARE,
        donors=None,
        transport=False,
        noise=None,
        blend=None,
        classes=None,
        spread=None,
        cuts=None,
    ):
        # Statistics read columns, fastest contiguous (the codec encodes column by column);
        # mixing gathers rows, fastest contiguous too: each kind of work gets its own copy.
        # A copy only where ``data`` is not laid out as each needs.
        self.data = np.ascontiguousarray(data, dtype=float)
        columns = np.asarray(data, dtype=float, order='F')
        num_rows, num_columns = self.data.shape
        self.continuous = np.asarray(continuous, dtype=bool)
        if self.continuous.shape != (num_columns,):
            raise ValueError('`continuous` must have one entry per column of `data`.')

        self.weights = weights
        self.lower = np.full(num_columns, -np.inf) if lower is None else np.array(lower, float)
        self.upper = np.full(num_columns, np.inf) if upper is None else np.array(upper, float)
        self.groups = np.zeros(num_rows, dtype=int) if groups is None else np.asarray(groups)
        if self.groups.shape != (num_rows,):
            raise ValueError('`groups` must have one entry per row of `data`.')

        self.chunk_size = int(chunk_size)
        self.donors = donors
        self.noise = noise
        self.blend = blend
        self.bounded = self.continuous & (np.isfinite(self.lower) | np.isfinite(self.upper))
        mixed = np.flatnonzero(self.continuous)
        values = self.data.take(mixed, axis=1)  # a row-major copy, in which atoms become NaN
        #: The atoms' values at the lower and the upper bound of each column (``NaN``: none).
        self.atoms = np.full((2, num_columns), np.nan)
        for position in np.flatnonzero(self.bounded[mixed]):
            index = mixed[position]
            column = columns[:, index]  # contiguous: read the column where it lies
            off = ~np.isnan(column)
            for side, (bound, low) in enumerate(((self.lower, True), (self.upper, False))):
                at_bound = off & (column == bound[index])
                count = np.count_nonzero(at_bound)
                if count < 2 or count < atom_share * num_rows:  # one row is no point mass
                    continue

                self.atoms[side, index] = bound[index]
                values[at_bound, position] = np.nan
                off &= ~at_bound
                # The other values stay off the atom's bound: a mixed value rounded onto it
                # would make the atom more frequent generation after generation.
                if off.any():
                    bound[index] = column[off].min() if low else column[off].max()

        self._values = values
        position = np.cumsum(~self.continuous) - 1  # among the inherited columns
        self.cuts = {
            int(position[column]): ends
            for column, ends in (cuts or {}).items()
            if not self.continuous[column]
        }
        self.transport = bool(transport)
        if self.transport:
            if weights.eps0 + weights.eps1 == 0:
                raise ValueError('`transport` needs a weight law that extrapolates.')

            self.winner_law = weights.winner_law()
            discrete = columns[:, ~self.continuous]
            # Each row's class (the pattern of its levels) and each class's centre and spread:
            # a row's are its class's, gathered from a small table.
            if classes is None:
                fit = ClassMeans(discrete, self._values, cuts=self.cuts)
                self._row_class = fit.patterns.inverse
                self._class_centres, self._class_scales = fit.centres(), fit.scales()
                classes = fit.model()
                del fit  # its codes of every row (tens of MB) go before the pilots run
            else:
                missing = np.isnan(self._values)
                self._row_class, self._class_centres, self._class_scales = classes.classes_of(
                    discrete, missing
                )

            self.classes = classes
            self._standard = np.empty_like(self._values)
            with np.errstate(divide='ignore', invalid='ignore'):
                for start in range(0, num_rows, self.chunk_size):  # small temporaries
                    rows = slice(start, start + self.chunk_size)
                    deviation = self._values[rows] - self._centres(rows)
                    scale = self._class_scales[self._row_class[rows]]
                    np.divide(deviation, scale, out=self._standard[rows])
        else:
            self.classes = None
            self._row_class = np.zeros(num_rows, dtype=np.intp)  # one class: all the rows
            self._class_centres = np.nanmean(values, axis=0)[None]

        multipliers = np.random.default_rng(0).integers(2**63, size=values.shape[1])
        self._keys = row_keys(values, multipliers.astype(np.uint64) * 2 + 1)

        self.shrink = np.ones(values.shape[1])
        if noise is not None:
            with np.errstate(invalid='ignore', divide='ignore'):
                spread = np.nanvar(values - self._centres(slice(None)), axis=0)
                share = np.where(spread > 0, np.asarray(noise, float)[self.continuous] / spread, 0)
            self.shrink = np.sqrt(1 - np.minimum(share, 1))

        self.spread = np.ones(len(self.shrink))
        if self.transport and spread is not None:
            self.spread = np.asarray(spread, dtype=float)
        elif self.transport and self.bounded.any():
            self.spread = self._room_spread()

        self.set_random_state(None)

    def _centres(self, rows):
        """The class centres of some training rows (an index or a slice)."""
        return self._class_centres[self._row_class[rows]]

    def _transported(self, parent_i, parent_j, centre=None):
        """The partners' mixed values moved into the first parents' classes.

        ``centre``: the first parents' centres, if already gathered.
        """
        classes = self._row_class[parent_i]
        centre = self._class_centres[classes] if centre is None else centre
        return centre + self._class_scales[classes] * self._standard[parent_j]

    def _rooms(self, x_i, x_j, diff, clamp):
        """Rooms of the pairs below 0 and above 1 (``None`` without bounded columns)."""
        cont = self.continuous
        bounded = self.bounded[cont]
        if not bounded.any():
            return None, None

        lower, upper = self.lower[cont][bounded], self.upper[cont][bounded]
        if bounded.all():
            return _pair_room(x_i, x_j, diff, lower, upper, clamp)

        return _pair_room(x_i[:, bounded], x_j[:, bounded], diff[:, bounded], lower, upper, clamp)

    def _room_spread(self):
        """Per-column factor on a row's deviation from its centre that gives back what rooms take.

        A transported pair whose room cannot hold the winner law's mean and ``E[u]`` (a winner
        on a bound, its partner moved past the other one) gets a law with less variance: the
        mixed variance falls short of the closed form, by a share that grows generation after
        generation as such rows pile up at the bounds. Over ``PILOT_PAIRS`` pairs drawn as
        ``sample`` draws them (seeded: fitting stays deterministic), the variance of
        ``g(d_w) + c (x~ - g(d_w))`` is computed from the first two moments of each pair's cut
        law and of the uncut one, in closed form (no weights drawn), and ``c`` solves their
        equality per column. ``mix`` leaves a value that ``c`` would move past a bound where it
        was, so ``c`` gives back most of the loss where values crowd a bound, not all of it.

        Returns:
            numpy.ndarray:
                One factor per mixed column (1 where the rooms take nothing).
        """
        self.set_random_state(0)
        layout = self.layout()
        # Whole rounds on a small table; on a large one, part of a round (a uniform subset).
        rounds = max(PILOT_PAIRS // len(layout[0]), 1)
        pairs = self.draw_pairs(min(rounds * len(layout[0]), PILOT_PAIRS), layout)
        law = self.winner_law
        mean, square = law.moment(1), law.moment(2)

        # With c the centre, o = x~ - c and d = x - x~ (the deviation from the centre is
        # o + lam d), the moments are linear in E[lam] and E[lam^2]: per column, sums over all
        # pairs of 1, c, o, d, o^2, o d, d^2, c o, c d, and over the pairs whose rooms cut their
        # law, of what the cut changes: (E[lam] - m1) d, (E[lam] - m1) o d, (E[lam^2] - m2) d^2
        # and (E[lam] - m1) c d. Summed a chunk of pairs at a time (little memory), the chunks
        # side by side in threads and added in their order (the same sums as one by one).
        def chunk_sums(start):
            parent_i, parent_j = (pair[start : start + PILOT_CHUNK] for pair in pairs)
            x_i = self._values[parent_i]
            centre = self._centres(parent_i)
            x_j = self._transported(parent_i, parent_j, centre)
            diff = x_i - x_j
            room0, room1 = self._rooms(x_i, x_j, diff, clamp=False)
            # A value missing or at an atom on either side is not mixed: it counts nowhere.
            valid = ~np.isnan(diff)
            centre[~valid] = 0.0
            offset = np.where(valid, x_j, 0.0) - centre
            diff[~valid] = 0.0
            cut = np.flatnonzero((room0 < law.eps0) | (room1 < law.eps1))
            first, second = law.pair_moments(room0[cut], room1[cut])
            first, second = (first - mean)[:, None], (second - square)[:, None]
            cut_diff = diff[cut]
            return np.array(
                [
                    valid.sum(axis=0),
                    centre.sum(axis=0),
                    offset.sum(axis=0),
                    diff.sum(axis=0),
                    *(
                        np.einsum('ij,ij->j', a, b)
                        for a, b in ((offset, offset), (offset, diff), (diff, diff))
                        + ((centre, offset), (centre, diff))
                    ),
                    (first * cut_diff).sum(axis=0),
                    (first * offset[cut] * cut_diff).sum(axis=0),
                    (second * cut_diff**2).sum(axis=0),
                    (first * centre[cut] * cut_diff).sum(axis=0),
                ]
            )

        with concurrent.futures.ThreadPoolExecutor(PILOT_THREADS) as pool:
            chunks = pool.map(chunk_sums, range(0, len(pairs[0]), PILOT_CHUNK))
            count, c, o, d, oo, od, dd, co, cd, *changes = sum(chunks, 0.0)

        def moments(lam_d, lam_od, lam2_dd, lam_cd):
            """Variance of the deviation and its covariance with the centre."""
            deviation = (o + lam_d) / count
            squared = (oo + 2 * lam_od + lam2_dd) / count
            return squared - deviation**2, (co + lam_cd - c * deviation) / count

        with np.errstate(invalid='ignore', divide='ignore'):
            uncut = mean * d, mean * od, square * dd, mean * cd
            target, target_cross = moments(*uncut)
            cut, cut_cross = moments(*map(np.add, uncut, changes))
            # var(g) + 2 c cov(g, y) + c^2 var(y) with the cut laws equal to it uncut.
            wanted = target + 2 * target_cross
            factor = (np.sqrt(cut_cross**2 + cut * wanted) - cut_cross) / cut
        return np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)

    def calibrate_spread(
        self, reject=None, step=None, variance=None, rows=SPREAD_PILOT_ROWS, seed=0
    ):
        """Correct ``spread`` by what rounding and redrawing rejected rows take from variances.

        ``_room_spread`` solves for the factor from the pairs' laws alone. Sampling also rounds
        and, with ``reject``, draws flagged rows again: a winner on a bound whose partners all
        lie on one side gets a cut law piled next to 1 (a copy once rounded), and the weights
        it keeps after its redraws pull it towards its partners, so the extremes move in and
        the variance falls, by about 1 % per generation on AER/CPS1985 (see the theory page).
        Seeded pilot samples with common random numbers (the same pairs and first weights)
        measure that loss: ``v(c) = t + P(c) - P0``, with ``t`` the training variance of a
        mixed column, ``P(c)`` its variance in a pilot sampled as ``sample`` samples (with
        ``reject``, rounded to ``step``) at the factor ``c`` and ``P0`` that of the first pilot's
        first draws (before any redraw or rounding, at the current factor ``c0``), whose
        expectation ``_room_spread`` set to ``t``. The difference of two variances of the same
        draws is much less noisy than either. The
        secant through ``v(c0)`` and ``v(c1)``, ``c1 = c0 t / v(c0)``, gives the factor at which
        ``v`` meets ``t``. Scaling stays around the class centres, so class means do not move.

        Args:
            reject (callable or None):
                The ``reject`` that ``sample`` will be given.
            step (numpy.ndarray or None):
                Per column, the step values are rounded to once sampled (0: none).
            variance (numpy.ndarray or None):
                Per mixed column, the training variance ``t`` (``None``: computed from
                ``data``).
            rows (int):
                Rows of each pilot sample.
            seed (int):
                Seed of the pilot samples (fitting stays deterministic).
        """
        if not (self.transport and self.bounded.any()):
            return

        cont = self.continuous
        target = np.nanvar(self.data[:, cont], axis=0) if variance is None else variance
        step = np.zeros(cont.sum()) if step is None else np.asarray(step, float)[cont]
        rounded = step > 0

        layout = self.layout()

        def variance(spread, drawn=None):
            """A pilot's variances as ``sample`` gives them (one block), rounded."""
            self.spread = spread
            self.set_random_state(seed)
            pilot = self._sample_block(rows, layout, reject, drawn)[:, cont]
            pilot[:, rounded] = np.rint(pilot[:, rounded] / step[rounded]) * step[rounded]
            return np.nanvar(pilot, axis=0)

        start = self.spread
        with np.errstate(invalid='ignore', divide='ignore'):
            drawn = []  # P0 is the same pilot's first draws: no redraws, no rounding
            first_variance = variance(start, drawn)
            plain = np.nanvar(drawn[0][:, cont], axis=0)
            first_variance += target - plain
            first = start * target / first_variance
            first = np.where(np.isfinite(first) & (first > 0), first, start)
            slope = (target + variance(first) - plain - first_variance) / (first - start)
            # The variance grows with the factor at most as c**2 (every value scaled): clipped
            # there, and kept from vanishing where the pilots' noise hides the slope.
            most = 2 * first_variance / start
            slope = np.clip(np.where(np.isfinite(slope), slope, most), 0.2 * most, most)
            spread = start + (target - first_variance) / slope

        spread = np.where(np.isfinite(spread), spread, start)
        self.spread = np.clip(spread, 1 / MAX_SPREAD, MAX_SPREAD)
        self.set_random_state(None)

    def calibrate_blend(self, rows=SPREAD_PILOT_ROWS, seed=0):
        """Fit the ``blend``'s corrections to a pilot of mixed rows (``NoiseBlend.calibrate``).

        A seeded pilot of ``rows`` pairs, drawn, mixed and given donors as ``sample`` does
        before the blend, gives the rows the blend will receive (fitting stays deterministic).

        Args:
            rows (int):
                Rows of the pilot.
            seed (int):
                Seed of the pilot.
        """
        self.set_random_state(seed)
        layout = self.layout()
        parent_i, parent_j = self.draw_pairs(rows, layout)
        mixed, _, _, winner = self._pair_values(parent_i, parent_j, None, None, None)
        discrete = self.data[winner][:, ~self.continuous]
        donated = None
        if self.donors is not None:
            donors = self.draw_donors(parent_i, layout)
            donated = self._donated(parent_i, parent_j, donors)

        self.blend.calibrate(mixed, discrete, self.random_state, donated)
        self.set_random_state(None)

    def set_random_state(self, random_state):
        """Seed the generator (an int, a ``numpy.random.Generator`` or ``None``)."""
        self.random_state = np.random.default_rng(random_state)

    def inherited(self, rows):
        """Which values of the mixed columns of rows were inherited (missing or atom).

        Args:
            rows (numpy.ndarray):
                ``(m, p)`` rows from ``sample``.

        Returns:
            numpy.ndarray:
                ``(m, q)`` boolean mask.
        """
        values = rows[:, self.continuous]
        atoms = self.atoms[:, self.continuous]
        return np.isnan(values) | (values == atoms[0]) | (values == atoms[1])

    def layout(self, rows=None):
        """Sort candidate rows by group, once per ``sample`` call.

        Args:
            rows (numpy.ndarray or None):
                Indices of the candidate rows; ``None`` means all rows.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
                The candidate rows sorted by group, and each group's start and size.
        """
        rows = np.arange(len(self.data)) if rows is None else np.asarray(rows)
        if len(rows) == 0:
            raise ValueError('There are no rows to mix.')

        groups = self.groups[rows]
        if groups.min() == groups.max():  # one group: its rows in their order, no sorting
            return rows, np.zeros(1, dtype=np.intp), np.array([len(rows)])

        order = rows[np.argsort(groups, kind='stable')]
        _, start, size = np.unique(self.groups[order], return_index=True, return_counts=True)
        return order, start, size

    def draw_pairs(self, num_rows, layout):
        """Draw parent pairs of distinct rows of the same group, in balanced rounds.

        In each round the rows of every group are shuffled and each is paired with the row a
        random shift further along the shuffled group: every candidate is a first and a second
        parent exactly once per round, and its partner is uniform among the other rows of its
        group. Both parents are uniform, which is all the covariance theory asks of a pairing,
        and the sample moments no longer carry the noise of how often a rare outlier was drawn.
        A row alone in its group is paired with itself.

        Args:
            num_rows (int):
                Number of pairs.
            layout (tuple):
                The output of ``layout``.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray]:
                The indices ``i`` and ``j``.
        """
        order, start, size = layout
        rng = self.random_state
        firsts, seconds = [], []
        if len(size) == 1:  # one group: a permutation is already in random order
            for done in range(0, num_rows, len(order)):
                count = min(len(order), num_rows - done)  # part of a round: its first pairs
                shift = 1 + np.floor(rng.random(1) * max(len(order) - 1, 1)).astype(int)
                shuffled = rng.permutation(order)
                firsts.append(shuffled[:count])
                seconds.append(shuffled[(np.arange(count) + shift) % len(order)])

            return np.concatenate(firsts), np.concatenate(seconds)

        group = np.repeat(np.arange(len(size)), size)
        offset = np.arange(len(order)) - start[group]
        for _ in range(-(-num_rows // len(order))):
            shift = 1 + np.floor(rng.random(len(size)) * np.maximum(size - 1, 1)).astype(int)
            partner = start[group] + (offset + shift[group]) % size[group]
            shuffled = order[np.lexsort((rng.random(len(order)), group))]
            pick = rng.permutation(len(order))  # mix the groups, so truncation is uniform
            firsts.append(shuffled[pick])
            seconds.append(shuffled[partner[pick]])

        return np.concatenate(firsts)[:num_rows], np.concatenate(seconds)[:num_rows]

    def draw_donors(self, parent_i, layout, count=None, distinct=False):
        """Draw rows uniformly among the candidates of each first parent's group.

        Args:
            parent_i (numpy.ndarray):
                First parent of each output row.
            layout (tuple):
                The output of ``layout``.
            count (int or None):
                Rows per output row; ``None`` means ``donors``.
            distinct (bool):
                Draw among the other rows of the group (a row alone in it gets itself).

        Returns:
            numpy.ndarray:
                ``(len(parent_i), count)`` row indices.
        """
        order, start, size = layout
        position = np.empty(len(self.data), dtype=int)
        position[order] = np.arange(len(order))
        group = np.repeat(np.arange(len(size)), size)[position[parent_i]]
        count = self.donors if count is None else count
        draws = self.random_state.random((len(parent_i), count))
        if not distinct:
            return order[start[group][:, None] + (draws * size[group][:, None]).astype(int)]

        offset = (position[parent_i] - start[group])[:, None]
        step = 1 + (draws * np.maximum(size[group] - 1, 1)[:, None]).astype(int)
        return order[start[group][:, None] + (offset + step) % size[group][:, None]]

    def _pair_values(self, parent_i, parent_j, first_wins, lam, transport):
        """The mixed values of pairs, before any blend, spread or clipping (see ``mix``).

        Returns:
            tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
                The mixed values of the continuous columns, ``lam``, whether ``parent_i`` won
                and the winning row.
        """
        transport = self.transport if transport is None else transport
        x_i = self._values[parent_i]
        # Parents equal on every mixed column (a row alone in its group or condition, or equal
        # rows) would give a copy: the partner is then drawn from the whole table, and the
        # first parent wins, so the row keeps its discrete values (and its condition). Equal
        # rows have equal keys (a rare collision only gives a pair a new partner).
        forced = self._keys[parent_i] == self._keys[parent_j]
        forced &= x_i.shape[1] > 0
        if forced.any():
            parent_j = parent_j.copy()
            parent_j[forced] = self.random_state.integers(0, len(self.data), forced.sum())

        if transport:  # the partner moved into the first parent's class: g_i + s_i z_j
            x_j = self._transported(parent_i, parent_j)
        else:
            x_j = self._values[parent_j]

        diff = x_i - x_j
        room0, room1 = self._rooms(x_i, x_j, diff, clamp=not transport)

        if transport:
            if lam is None:
                lam = self.winner_law.sample(len(x_i), self.random_state, room0, room1)
            first_wins = np.ones(len(x_i), dtype=bool)
        elif first_wins is None:
            lam, first_wins = self.weights.draw(len(x_i), self.random_state, room0, room1)
            if forced.any():
                rooms = [None if room is None else room[forced] for room in (room0, room1)]
                lam[forced] = self.weights.sample_given_winner(
                    np.ones(forced.sum(), dtype=bool), self.random_state, *rooms
                )
                first_wins = first_wins | forced
        else:
            first_wins = first_wins | forced
            lam = self.weights.sample_given_winner(first_wins, self.random_state, room0, room1)

        winner = np.where(first_wins, parent_i, parent_j)
        return x_j + lam[:, None] * diff, lam, first_wins, winner

    def _donated(self, parent_i, parent_j, donors):
        """Discrete values, each column from a row drawn from the parents and the donors."""
        discrete = np.flatnonzero(~self.continuous)
        pool = np.column_stack([parent_i, parent_j, donors])
        pick = self.random_state.integers(0, pool.shape[1], size=(len(pool), len(discrete)))
        source = np.take_along_axis(pool, pick, axis=1)
        return self.data[source, discrete]

    def mix(self, parent_i, parent_j, donors=None, first_wins=None, lam=None, transport=None):
        """Mix given pairs of rows.

        Args:
            parent_i (numpy.ndarray):
                First parent of each output row.
            parent_j (numpy.ndarray):
                Second parent of each output row.
            donors (numpy.ndarray or None):
                ``(n, d)`` donor rows: each discrete column is then copied from a row drawn
                uniformly from the parents and the donors. ``None``: from the winning parent.
            first_wins (numpy.ndarray or None):
                Which parent wins, to draw the weights given it; ``None``: drawn freely.
                With ``transport`` the first parent always wins.
            lam (numpy.ndarray or None):
                With ``transport``, the winner's weights to use instead of new draws.
            transport (bool or None):
                Whether to transport the partners; ``None``: as the mixer was built.

        Returns:
            tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
                The mixed rows, the weight ``lam`` given to ``parent_i``, and whether
                ``parent_i`` won.
        """
        cont = self.continuous
        lower, upper = self.lower[cont], self.upper[cont]
        mixed, lam, first_wins, winner = self._pair_values(
            parent_i, parent_j, first_wins, lam, transport
        )
        out = self.data[winner]
        winners = out[:, ~cont]
        if donors is not None:
            out[:, ~cont] = self._donated(parent_i, parent_j, donors)

        centre = None
        if self.blend is not None:  # around the mean given the row's discrete values
            donated = None if donors is None else out[:, ~cont]
            mixed = self.blend.apply(
                mixed, winners, self.random_state, lower, upper, donated=donated
            )
            centre = self.blend.means.predict(out[:, ~cont], np.isnan(mixed))

        factor = self.shrink * self.spread
        scaled = np.flatnonzero(factor != 1)
        if len(scaled):  # rounding will add back the variance taken here; rooms took some
            centre = (self._centres(winner) if centre is None else centre)[:, scaled]
            moved = centre + factor[scaled] * (mixed[:, scaled] - centre)
            # A value spread out past a bound stays where it was: clipped, it would pile up
            # at the bound generation after generation.
            inside = (moved >= lower[scaled]) & (moved <= upper[scaled])
            keep = inside | (factor[scaled] < 1)
            mixed[:, scaled] = np.where(keep, moved, mixed[:, scaled])

        mixed = np.clip(mixed, lower, upper)
        out[:, cont] = np.where(np.isnan(mixed), out[:, cont], mixed)
        return out, lam, first_wins

    def sample(self, num_rows, rows=None, reject=None):
        """Generate rows.

        Args:
            num_rows (int):
                Number of rows.
            rows (numpy.ndarray or None):
                Indices of the rows that may be parents (for conditional sampling);
                ``None`` means all rows.
            reject (callable or None):
                Flags rows (a boolean per row of a block) to draw again, up to
                ``MAX_REDRAWS`` times: the winning parent stays, so discrete and missing
                values keep their frequencies, and the partners of the flagged rows are
                shuffled among them (within groups), so both parents stay uniform and the
                covariance exact. A row whose winner has no mixable continuous value is kept.

        Returns:
            numpy.ndarray:
                ``(num_rows, p)`` matrix of synthetic rows.
        """
        layout = self.layout(rows)
        out = np.empty((num_rows, self.data.shape[1]))
        # Whole rounds per chunk, so that chunking does not break the balance of the rounds.
        num_candidates = len(layout[0])
        step = max(self.chunk_size // num_candidates, 1) * num_candidates
        for start in range(0, num_rows, step):
            out[start : start + step] = self._sample_block(
                min(step, num_rows - start), layout, reject
            )

        return out

    def _shuffle_partners(self, winner, loser, layout):
        """Shuffle the losers among the rows of the same winner group (a cyclic shift)."""
        order, start, size = layout
        position = np.empty(len(self.data), dtype=int)
        position[order] = np.arange(len(order))
        group = np.repeat(np.arange(len(size)), size)[position[winner]]
        rank = np.lexsort((self.random_state.random(len(winner)), group))
        sorted_group = group[rank]
        first = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
        last = np.r_[sorted_group[1:] != sorted_group[:-1], True]
        run_start = np.maximum.accumulate(np.where(first, np.arange(len(rank)), 0))
        following = np.where(last, run_start, np.arange(len(rank)) + 1)
        shuffled = np.empty_like(loser)
        shuffled[rank] = loser[rank][following]
        return shuffled

    def _sample_block(self, num_rows, layout, reject, drawn=None):
        """Rows of one chunk of ``sample``; ``drawn`` (a list) receives them before redraws."""
        parent_i, parent_j = self.draw_pairs(num_rows, layout)
        donors = None if self.donors is None else self.draw_donors(parent_i, layout)
        block, lam, first_wins = self.mix(parent_i, parent_j, donors)
        if drawn is not None:
            drawn.append(block.copy())

        if reject is None:
            return block

        pending = np.arange(len(block))
        for attempt in range(MAX_REDRAWS):
            pending = pending[reject(block[pending])]
            winner = np.where(first_wins[pending], parent_i[pending], parent_j[pending])
            # A winner with no mixable continuous value is copied whatever its partner.
            keep = ~np.isnan(self._values[winner]).all(axis=1)
            pending, winner = pending[keep], winner[keep]
            if not len(pending):
                break

            # The winner keeps its place, so discrete and missing values keep their
            # frequencies. First the partners of the rejected rows are shuffled among them,
            # within the winner's group: every row stays a second parent as often as before,
            # so both parents stay uniform and the covariance exact. Rows still rejected (their
            # partners were the cause, e.g. missing values) then get new partners, uniform in
            # the winner's group.
            loser = np.where(first_wins[pending], parent_j[pending], parent_i[pending])
            if attempt == 0:
                partner = self._shuffle_partners(winner, loser, layout)
                again = partner == loser  # alone in its group: nobody to swap with
            else:
                partner, again = loser.copy(), np.ones(len(loser), dtype=bool)

            partner[again] = self.draw_donors(winner[again], layout, 1, distinct=True)[:, 0]
            parent_i[pending], parent_j[pending] = winner, partner
            first_wins[pending] = True
            # With transport only the winner's side of the weight makes a copy (lam near 1,
            # where the row is the winner whatever its partner): redrawing the weight would
            # condition it pair by pair and bias the variance, so it is kept for a while.
            kept = self.transport and attempt < WEIGHT_KEPT_REDRAWS
            # A winner at a bound of some column whose transported partners leave no room on
            # the other side gets weights next to 1 whatever its partner: after half the
            # redraws such rows are mixed without transport.
            plain = self.transport and attempt >= MAX_REDRAWS // 2
            block[pending], lam[pending], _ = self.mix(
                parent_i[pending],
                parent_j[pending],
                None if donors is None else donors[pending],
                first_wins[pending],
                lam[pending] if kept else None,
                False if plain else None,
            )

        return block
