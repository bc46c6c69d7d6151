import numpy as np
import pandas as pd

from sdv_gwm.engine import Mixer
from sdv_gwm.moments import Moments
from sdv_gwm.scale.core import (
    BUCKET,
    PARTITION,
    ROW,
    GroupCounts,
    Plan,
    allocate,
    generator,
    pack_block,
    place,
    plain_frame,
    unpack_block,
)
from sdv_gwm.weights import EpBeta


def test_moments_merge_as_the_whole_matrix():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(1000, 4)) * [1, 10, 100, 0.1]
    matrix[rng.random(matrix.shape) < 0.1] = np.nan
    matrix[:300, 3] = np.nan  # a column missing in whole chunks
    matrix[rng.random(1000) < 0.2, 1] = matrix[:, 1][~np.isnan(matrix[:, 1])].min()
    chunks = np.array_split(matrix, [0, 120, 300, 301, 700])  # empty and one-row chunks too
    merged = Moments.of(chunks[0])
    for chunk in chunks[1:]:
        merged = merged.merge(Moments.of(chunk))

    whole = Moments.of(matrix)
    assert merged.rows == whole.rows == 1000
    np.testing.assert_array_equal(merged.count, whole.count)
    np.testing.assert_allclose(merged.mean, np.nanmean(matrix, axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.variance, np.nanvar(matrix, axis=0), rtol=1e-10)
    np.testing.assert_array_equal(merged.low, np.nanmin(matrix, axis=0))
    np.testing.assert_array_equal(merged.high, np.nanmax(matrix, axis=0))
    np.testing.assert_array_equal(merged.at_low, (matrix == np.nanmin(matrix, axis=0)).sum(0))
    np.testing.assert_array_equal(merged.at_high, (matrix == np.nanmax(matrix, axis=0)).sum(0))
    assert merged.at_low[1] > 150  # the repeated minimum is counted across chunks


def test_moments_of_complete_columns_as_of_masked_ones():
    """Complete columns of a column-major matrix, summed without masks, give the same bits."""
    rng = np.random.default_rng(1)
    matrix = np.asfortranarray(rng.normal(size=(5000, 3)) * [1e-3, 1, 1e6])
    matrix[rng.random(5000) < 0.1, 2] = np.nan  # one incomplete column
    fast, masked = Moments.of(matrix), Moments.of(np.ascontiguousarray(matrix))
    for name in ('count', 'mean', 'm2', 'low', 'at_low', 'high', 'at_high'):
        np.testing.assert_array_equal(getattr(fast, name), getattr(masked, name))


def test_group_counts_merge_and_plan_buckets():
    frame = pd.DataFrame({'a': ['x'] * 700 + ['y'] * 290 + [None] * 10, 'b': [1, 2] * 500})
    halves = GroupCounts.of(frame[:400], ['a']).merge(GroupCounts.of(frame[400:], ['a']))
    assert (
        halves.counts
        == GroupCounts.of(frame, ['a']).counts
        == {
            'x': 700,
            'y': 290,
            'None': 10,
        }
    )
    plan = Plan.of(halves, rows_per_partition=300)
    # x: 2 buckets, y: 1, None: 1; the small groups share a partition.
    assert list(plan.buckets[np.argsort(plan.keys)]) == [1, 2, 1]
    placed = place(frame, ['a'], plan, seed=3, index=0)
    for key, rows in placed.groupby('a', dropna=False):
        assert rows[BUCKET].nunique() == (2 if key == 'x' else 1)

    assert placed[BUCKET].groupby(placed[PARTITION]).nunique().max() <= 2
    assert plan.num_partitions == placed[PARTITION].max() + 1


def test_place_is_reproducible_and_batches_give_the_same_placement():
    frame = pd.DataFrame({'v': np.arange(1000)})
    plan = Plan.of(GroupCounts.of(frame, []), rows_per_partition=100)
    whole = place(frame, [], plan, seed=5, index=2)
    batched = pd.concat(
        [place(frame[start : start + 128], [], plan, 5, 2, start) for start in range(0, 1000, 128)]
    )
    pd.testing.assert_frame_equal(whole, batched)
    assert whole[ROW].is_unique and (whole[ROW].to_numpy() >> 32 == 2).all()
    assert list(frame.columns) == ['v']  # the caller's frame is not modified
    other = place(frame, [], plan, seed=6, index=2)
    assert (other[PARTITION] != whole[PARTITION]).mean() > 0.5
    assert place(frame, [], plan, seed=5, index=3)[PARTITION].ne(whole[PARTITION]).any()


def test_blocks_unpack_to_their_arrays_whatever_the_layout():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(500, 4))
    data[rng.random(data.shape) < 0.1] = np.nan
    ids, buckets = np.arange(7, 507, dtype=np.int64), rng.integers(0, 3, 500)
    for layout in (data, np.asfortranarray(data), np.repeat(data, 2, axis=0)[::2]):
        unpacked = unpack_block(pack_block(ids, buckets, layout))
        for got, expected in zip(unpacked, (ids, buckets, data), strict=True):
            np.testing.assert_array_equal(got, expected)


def test_plain_frame_gives_strings_as_pandas_reads_them():
    values = ['a', None, 'b']
    expected = pd.DataFrame({'s': pd.Series(values, dtype=object).fillna(np.nan), 'n': [1, 2, 3]})
    for dtype in ('string[pyarrow]', 'string[python]'):
        frame = pd.DataFrame({'s': pd.Series(values, dtype=dtype), 'n': [1, 2, 3]})
        converted = plain_frame(frame)
        pd.testing.assert_frame_equal(converted, expected)
        assert converted['s'].iloc[1] is not pd.NA and np.isnan(converted['s'].iloc[1])
        assert frame['s'].dtype == dtype  # the caller's frame is not modified


def test_allocate_is_exact_in_total_and_unbiased_per_partition():
    sizes = np.array([3, 50, 0, 1000, 7])
    draws = np.array([allocate(101, sizes, seed) for seed in range(4000)])
    assert (draws.sum(axis=1) == 101).all() and (draws >= 0).all()
    expected = 101 * sizes / sizes.sum()
    assert (np.abs(draws - expected) < 1).all()  # systematic rounding: off by less than 1
    # The mean of a value in [floor, floor + 1] over 4000 draws: standard error <= 0.5 / 63.
    np.testing.assert_allclose(draws.mean(axis=0), expected, atol=4 * 0.5 / np.sqrt(4000))
    np.testing.assert_array_equal(allocate(101, sizes, 7), allocate(101, sizes, 7))


def _distributed_covariance(data, plan, law, seed, rounds):
    """Mix inside the partitions of one random placement, as the partition core does."""
    placed = place(pd.DataFrame(data), [], plan, seed, 0)
    partition = placed[PARTITION].to_numpy()
    sizes = np.bincount(partition, minlength=plan.num_partitions)
    allocation = allocate(rounds * len(data), sizes, seed)
    parts = []
    for index in range(plan.num_partitions):
        mixer = Mixer(data[partition == index], np.ones(data.shape[1], bool), law)
        mixer.set_random_state(generator(seed, 2, index))
        parts.append(mixer.sample(int(allocation[index])))

    return np.cov(np.concatenate(parts).T)


def test_random_partitions_keep_the_sample_covariance_with_the_whole_table_law():
    """Pairs drawn inside random partitions of 50 rows keep the 1/(n-1) covariance of all n.

    Over the placement, a pair is a uniform pair of distinct rows of the whole table, so the
    law fitted to the whole table's n (E[u] = -1/(2n)) keeps the sample covariance exactly in
    expectation; a law fitted to each partition's n_p would inflate it by 1/n_p - 1/n (1.75 %
    here). Tolerance: four standard errors of the mean over the placements.
    """
    placements = 100
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    data = np.column_stack([x, 0.6 * x + 0.8 * rng.normal(size=400)])
    target = np.cov(data.T)
    plan = Plan.of(GroupCounts({'': 400}), rows_per_partition=50)
    assert plan.num_partitions == 8
    base = EpBeta.preserving()
    laws = [  # fitted to the whole table's n, and to a partition's n_p
        (base.with_variance(base.dist.var() + 1 / (2 * 400)), 1.0),
        (base.with_variance(base.dist.var() + 1 / (2 * 50)), 1 + 1 / 50 - 1 / 400),
    ]
    for law, expected in laws:
        ratios = (
            np.array(
                [
                    _distributed_covariance(data, plan, law, seed, rounds=20)[[0, 1, 0], [0, 1, 1]]
                    for seed in range(placements)
                ]
            )
            / target[[0, 1, 0], [0, 1, 1]]
        )
        error = ratios.std(axis=0, ddof=1) / np.sqrt(placements)
        assert error.max() < 0.004  # fine enough to tell the two laws apart
        np.testing.assert_array_less(np.abs(ratios.mean(axis=0) - expected), 4 * error)
