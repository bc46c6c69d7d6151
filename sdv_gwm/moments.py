"""Per-column statistics of encoded rows that merge across chunks of a table.

The in-memory synthesizer summarises its one matrix; the distributed fit summarises every
partition and merges the summaries, so both fit the same statistics.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Moments:
    """Per-column statistics of encoded rows that merge across partitions.

    Counts, means and sums of squared deviations merge by Chan's parallel formula; minima and
    maxima carry how many rows hold them, which decides the atoms.
    """

    rows: int
    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    low: np.ndarray
    at_low: np.ndarray
    high: np.ndarray
    at_high: np.ndarray

    @classmethod
    def of(cls, matrix):
        """Summarise a float matrix (``NaN`` marks a missing value).

        Args:
            matrix (numpy.ndarray):
                ``(n, p)`` encoded rows.

        Returns:
            Moments:
                The summary of these rows.
        """
        matrix = np.asarray(matrix, dtype=float)
        num_columns = matrix.shape[1]
        count, at_low, at_high = (np.zeros(num_columns, dtype=np.intp) for _ in range(3))
        mean, m2 = np.zeros(num_columns), np.zeros(num_columns)
        # fmin and fmax skip NaN; an empty column has the extremes +-inf, held by no row.
        low, high = np.full(num_columns, np.inf), np.full(num_columns, -np.inf)
        # A column at a time: a column-major matrix (the codec's) is read in place, with small
        # temporaries.
        for index, column in enumerate(matrix.T):
            # A contiguous column whose sum is finite has no NaN: its sums are those of the
            # general case (the same values in the same layout), without the masks.
            total = column.sum() if column.flags.c_contiguous and len(column) else np.nan
            if np.isfinite(total):
                count[index] = len(column)
                mean[index] = total / count[index]
                deviation = column - mean[index]
            else:
                present = ~np.isnan(column)
                count[index] = np.count_nonzero(present)
                if not count[index]:
                    continue

                mean[index] = np.where(present, column, 0.0).sum() / count[index]
                deviation = np.where(present, column - mean[index], 0.0)

            m2[index] = np.einsum('i,i->', deviation, deviation)
            low[index], high[index] = np.fmin.reduce(column), np.fmax.reduce(column)
            at_low[index] = np.count_nonzero(column == low[index])
            at_high[index] = np.count_nonzero(column == high[index])

        return cls(len(matrix), count, mean, m2, low, at_low, high, at_high)

    def merge(self, other):
        """Combine with the summary of other rows.

        Args:
            other (Moments):
                The summary of rows disjoint from these.

        Returns:
            Moments:
                The summary of both.
        """
        count = self.count + other.count
        delta = other.mean - self.mean
        with np.errstate(invalid='ignore', divide='ignore'):
            share = np.where(count > 0, other.count / count, 0.0)

        return Moments(
            self.rows + other.rows,
            count,
            self.mean + delta * share,
            self.m2 + other.m2 + delta**2 * self.count * share,
            np.minimum(self.low, other.low),
            _count_at(self.low, self.at_low, other.low, other.at_low, np.less),
            np.maximum(self.high, other.high),
            _count_at(self.high, self.at_high, other.high, other.at_high, np.greater),
        )

    @property
    def variance(self):
        """numpy.ndarray: The variance (divisor: the count) of every column, 0 when empty."""
        return np.divide(self.m2, self.count, out=np.zeros_like(self.m2), where=self.count > 0)


def _count_at(value, count, other_value, other_count, better):
    """Rows at the extreme of two summaries: the better extreme's count, or both when tied."""
    return np.where(
        better(value, other_value),
        count,
        np.where(better(other_value, value), other_count, count + other_count),
    )
