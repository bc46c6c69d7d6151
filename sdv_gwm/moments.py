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
        columns = [cls._column(values) for values in np.asarray(matrix, dtype=float).T]
        fields = np.array(columns, dtype=float).reshape(len(columns), 7).T
        count, mean, m2, low, at_low, high, at_high = fields
        as_int = np.int64
        return cls(
            len(matrix),
            count.astype(as_int),
            mean,
            m2,
            low,
            at_low.astype(as_int),
            high,
            at_high.astype(as_int),
        )

    @staticmethod
    def _column(values):
        """Count, mean, sum of squares, minimum and its count, maximum and its count."""
        present = values[~np.isnan(values)]
        if not len(present):
            return 0, 0.0, 0.0, np.inf, 0, -np.inf, 0

        mean = present.mean()
        low, high = present.min(), present.max()
        m2 = np.square(present - mean).sum()
        return len(present), mean, m2, low, (present == low).sum(), high, (present == high).sum()

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
