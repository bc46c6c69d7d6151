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
"""

import numpy as np

CHUNK_SIZE = 65_536

#: How often ``sample`` gives a rejected row another partner before it keeps the row.
MAX_REDRAWS = 100

#: Share of the rows a bound value must hold to be treated as an atom.
ATOM_SHARE = 0.05


def _pair_room(x_i, x_j, diff, lower, upper):
    """How far the weight of each row may leave [0, 1] before a value leaves its range."""
    with np.errstate(divide='ignore', invalid='ignore'):
        rising = diff > 0
        below = np.where(rising, (x_j - lower) / diff, (upper - x_j) / -diff)
        above = np.where(rising, (upper - x_i) / diff, (x_i - lower) / -diff)

    still = ~(np.isfinite(diff) & (diff != 0))
    below[still] = np.inf
    above[still] = np.inf
    room0 = np.maximum(np.nanmin(below, axis=1, initial=np.inf), 0.0)
    room1 = np.maximum(np.nanmin(above, axis=1, initial=np.inf), 0.0)
    return room0, room1


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
    ):
        self.data = np.asarray(data, dtype=float)
        num_rows, num_columns = self.data.shape
        self.continuous = np.asarray(continuous, dtype=bool)
        if self.continuous.shape != (num_columns,):
            raise ValueError('`continuous` must have one entry per column of `data`.')

        self.weights = weights
        self.lower = np.full(num_columns, -np.inf) if lower is None else np.asarray(lower, float)
        self.upper = np.full(num_columns, np.inf) if upper is None else np.asarray(upper, float)
        self.groups = np.zeros(num_rows, dtype=int) if groups is None else np.asarray(groups)
        if self.groups.shape != (num_rows,):
            raise ValueError('`groups` must have one entry per row of `data`.')

        self.chunk_size = int(chunk_size)
        self.donors = donors
        self.bounded = self.continuous & (np.isfinite(self.lower) | np.isfinite(self.upper))
        self.mixable = self.data.copy()
        for bound in (self.lower, self.upper):
            at_bound = (self.data == bound) & self.bounded
            repeated = at_bound.sum(axis=0) >= 2  # one row at a bound is no point mass
            atoms = at_bound & repeated & (at_bound.mean(axis=0) >= atom_share)
            self.mixable[atoms] = np.nan

        self._values = np.ascontiguousarray(self.mixable[:, self.continuous])

        self.set_random_state(None)

    def set_random_state(self, random_state):
        """Seed the generator (an int, a ``numpy.random.Generator`` or ``None``)."""
        self.random_state = np.random.default_rng(random_state)

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

        order = rows[np.argsort(self.groups[rows], kind='stable')]
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
        group = np.repeat(np.arange(len(size)), size)
        offset = np.arange(len(order)) - start[group]
        firsts, seconds = [], []
        for _ in range(-(-num_rows // len(order))):
            shift = 1 + np.floor(rng.random(len(size)) * np.maximum(size - 1, 1)).astype(int)
            partner = start[group] + (offset + shift[group]) % size[group]
            if len(size) == 1:  # one group: a permutation is already in random order
                shuffled = rng.permutation(order)
                firsts.append(shuffled)
                seconds.append(shuffled[partner])
                continue

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

    def mix(self, parent_i, parent_j, donors=None, first_wins=None):
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

        Returns:
            tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
                The mixed rows, the weight ``lam`` given to ``parent_i``, and whether
                ``parent_i`` won.
        """
        cont = self.continuous
        lower, upper = self.lower[cont], self.upper[cont]
        x_i, x_j = self._values[parent_i], self._values[parent_j]
        diff = x_i - x_j
        room0 = room1 = None
        bounded = self.bounded[cont]
        if bounded.all():
            room0, room1 = _pair_room(x_i, x_j, diff, lower, upper)
        elif bounded.any():
            room0, room1 = _pair_room(
                x_i[:, bounded], x_j[:, bounded], diff[:, bounded], lower[bounded], upper[bounded]
            )

        if first_wins is None:
            lam, first_wins = self.weights.draw(len(x_i), self.random_state, room0, room1)
        else:
            lam = self.weights.sample_given_winner(first_wins, self.random_state, room0, room1)

        out = self.data[np.where(first_wins, parent_i, parent_j)]
        mixed = np.clip(x_j + lam[:, None] * diff, lower, upper)
        out[:, cont] = np.where(np.isnan(mixed), out[:, cont], mixed)
        if donors is not None:
            discrete = np.flatnonzero(~cont)
            pool = np.column_stack([parent_i, parent_j, donors])
            pick = self.random_state.integers(0, pool.shape[1], size=(len(pool), len(discrete)))
            source = np.take_along_axis(pool, pick, axis=1)
            out[:, discrete] = self.data[source, discrete]

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

    def _sample_block(self, num_rows, layout, reject):
        parent_i, parent_j = self.draw_pairs(num_rows, layout)
        donors = None if self.donors is None else self.draw_donors(parent_i, layout)
        block, _, first_wins = self.mix(parent_i, parent_j, donors)
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
            block[pending], _, _ = self.mix(
                parent_i[pending],
                parent_j[pending],
                None if donors is None else donors[pending],
                first_wins[pending],
            )

        return block
