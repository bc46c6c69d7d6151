import numpy as np
import pandas as pd
import pytest
from scale_tables import assert_moments_match, weather
from sdv.errors import SamplingError, SynthesizerInputError

from sdv_gwm import GWMSynthesizer
from sdv_gwm.moments import Moments

dd = pytest.importorskip('dask.dataframe', reason="needs the 'dask' extra")
from sdv_gwm.scale.dask import DaskGWM  # noqa: E402

ROWS = 60_000


@pytest.fixture(scope='module')
def table():
    return weather()


@pytest.fixture(scope='module')
def in_memory(table):
    data, metadata = table
    return GWMSynthesizer(metadata).fit(data)


@pytest.fixture(scope='module')
def distributed(table):
    data, metadata = table
    # 8 input partitions, 8 output partitions of about 3,300 rows.
    return DaskGWM(metadata, rows_per_partition=3300).fit(dd.from_pandas(data, npartitions=8))


def test_fit_from_partitions_gives_the_in_memory_statistics(table, in_memory, distributed):
    data, _ = table
    model = distributed.model
    # What the in-memory fit hands its Mixer (the Mixer moves bounds next to atoms itself).
    expected = in_memory._fit_statistics(in_memory._columns, Moments.of(in_memory._model.data))
    # With transport the distributed fit adds the classes fitted on all rows (tested below).
    assert model.mixing.keys() == expected.keys() | {'classes', 'spread'}
    for key, value in expected.items():
        if key == 'weights':
            law = model.mixing[key]
            assert (law.alpha, law.beta, law.eps0, law.eps1) == pytest.approx(
                (value.alpha, value.beta, value.eps0, value.eps1)
            )
        elif key == 'transport':
            assert model.mixing[key] == value
        else:
            np.testing.assert_array_equal(model.mixing[key], value)

    assert model.num_rows == len(data)
    synthesizer = model.synthesizer
    np.testing.assert_array_equal(synthesizer._step, in_memory._step)
    np.testing.assert_array_equal(synthesizer._unit, in_memory._unit)
    # The codec fitted from merged partials encodes as the one fitted in memory (but for the
    # noise that RDT's uniform encoders draw: `year` is ordinal).
    exact = [column.kind not in ('rdt', 'uniform') for column in model.codec.columns]
    assert sum(exact) == 14
    np.testing.assert_array_equal(
        model.codec.encode(data)[:, exact], in_memory._codec.encode(data)[:, exact]
    )


def test_transport_classes_are_fitted_on_all_rows(table, distributed):
    """The 8 partitions' sums give the one-shot fit of the whole table with the same splits."""
    from sdv_gwm.engine import ClassModel
    from sdv_gwm.scale import core

    data, _ = table
    model = distributed.model
    merged = model.mixing['classes']
    discrete, values = core._class_columns(model.codec.encode(core.plain_frame(data)), model)
    whole = ClassModel(merged.splits, merged.width, merged.levels)
    whole.fit_normal(whole.normal(discrete, values))
    whole.fit_scales(*whole.scale_sums(discrete, values))
    assert merged.width > 1 + discrete.shape[1]  # levels of several columns
    np.testing.assert_allclose(merged.coefficients, whole.coefficients, rtol=1e-9, atol=1e-9)
    missing = np.isnan(values)
    row_class, centres, scales = merged.classes_of(discrete, missing)
    np.testing.assert_allclose(scales, whole.classes_of(discrete, missing)[2], rtol=1e-9)
    np.testing.assert_array_equal(centres[row_class], merged.predict(discrete, missing))
    # The classes' residuals have mean zero over the whole table within every level.
    residual = np.where(missing, 0.0, values - centres[row_class])
    design = merged.design(discrete, missing)
    np.testing.assert_allclose(design.T @ residual, 0, atol=1e-6 * np.nanmax(np.abs(values)))
    assert model.mixing['spread'].shape == (values.shape[1],)


def test_sample_keeps_the_moments_of_the_in_memory_path(table, in_memory, distributed):
    data, _ = table
    sampled = distributed.sample(ROWS, seed=0)
    assert sampled.npartitions == 8
    sampled = sampled.compute()
    assert len(sampled) == ROWS
    assert list(sampled.columns) == list(data.columns)
    assert (sampled.dtypes == in_memory.sample(10).dtypes).all()
    assert_moments_match(sampled, in_memory.sample(ROWS))


def test_category_frequencies_and_null_rates_are_the_training_ones(table, distributed):
    data, _ = table
    sampled = distributed.sample(ROWS, seed=1).compute()
    # The winner of each pair is a uniform training row: binomial standard errors.
    observed = pd.concat([sampled['origin'].value_counts(normalize=True), sampled.isna().mean()])
    expected = pd.concat([data['origin'].value_counts(normalize=True), data.isna().mean()])
    observed = observed.reindex(expected.index)
    error = np.sqrt(expected * (1 - expected) / ROWS)
    assert ((observed - expected).abs() <= 4.5 * error + 1e-12).all()
    assert sampled['wind_gust'].isna().mean() > 0.7


def test_tasks_are_named_without_hashing_the_model():
    from dask.base import tokenize

    from sdv_gwm.scale.dask import _Unhashed

    class Unpicklable:
        def __reduce__(self):
            raise AssertionError('Dask pickled the argument to hash it')

    argument = _Unhashed(Unpicklable())
    assert tokenize(argument) == tokenize(argument)
    assert tokenize(argument) != tokenize(_Unhashed(argument.value))


def test_same_seed_same_rows(distributed):
    first = distributed.sample(5000, seed=3).compute()
    pd.testing.assert_frame_equal(first, distributed.sample(5000, seed=3).compute())
    assert not first.equals(distributed.sample(5000, seed=4).compute())


def test_mix_within_keeps_group_means_over_buckets():
    rng = np.random.default_rng(0)
    level = rng.choice(['a', 'b', 'c'], size=6000, p=[0.6, 0.3, 0.1])
    centre = pd.Series(level).map({'a': 0.0, 'b': 100.0, 'c': -50.0}).to_numpy()
    data = pd.DataFrame({'level': level, 'value': centre + rng.normal(size=6000) * 5})
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({'levels': data})
    # 'a' is spread over 4 buckets; pairs never leave a bucket, so never a group.
    synthesizer = DaskGWM(metadata, rows_per_partition=900, mix_within=['level'])
    sampled = synthesizer.fit(dd.from_pandas(data, npartitions=3)).sample(30_000).compute()
    means = sampled.groupby('level')['value'].agg(['mean', 'count'])
    truth = data.groupby('level')['value'].agg(['mean', 'std'])
    error = truth['std'] / np.sqrt(means['count'])
    assert ((means['mean'] - truth['mean']).abs() <= 4.5 * error).all()


def test_parquet_in_and_out(table, tmp_path):
    data, metadata = table
    dd.from_pandas(data[:9000], npartitions=3).to_parquet(tmp_path / 'real')
    real = dd.read_parquet(tmp_path / 'real')  # strings come back as pyarrow strings
    synthesizer = DaskGWM(rows_per_partition=2000).fit(real)  # metadata detected
    synthesizer.sample(7000, seed=0).to_parquet(tmp_path / 'synthetic')
    written = pd.read_parquet(tmp_path / 'synthetic')
    assert len(written) == 7000
    assert set(written['origin']) <= set(data['origin'])
    assert pd.to_datetime(written['time_hour']).between('2013-01-01', '2014-01-02').all()


def test_bad_calls_raise_sdv_errors(distributed):
    with pytest.raises(SynthesizerInputError, match='num_rows'):
        distributed.sample(0)

    with pytest.raises(SamplingError, match='fit'):
        DaskGWM().sample(10)


def test_privacy_blend_is_refused_on_partitions(table):
    data, metadata = table
    with pytest.raises(SynthesizerInputError, match="'privacy'.*only 'none'"):
        DaskGWM(metadata, privacy='balanced').fit(dd.from_pandas(data.head(2000), npartitions=2))


@pytest.mark.parametrize('engine', ['dask', 'pandas'])
def test_cli_synthesizes_a_parquet_directory(table, tmp_path, engine):
    from sdv_gwm.cli import main

    data, _ = table
    data[:6000].to_parquet(tmp_path / 'real.parquet')
    command = ['synthesize', str(tmp_path / 'real.parquet'), str(tmp_path / 'out')]
    assert main([*command, '--engine', engine, '--rows', '5000', '--seed', '1', '-q']) == 0
    written = pd.read_parquet(tmp_path / 'out')
    assert len(written) == 5000
    assert list(written.columns) == list(data.columns)
    assert main(['synthesize', str(tmp_path / 'missing.parquet'), 'x', '--engine', engine]) == 2


def test_runs_unchanged_on_dask_distributed(table, distributed):
    distributed_module = pytest.importorskip('distributed')
    data, _ = table
    local = distributed.sample(4000, seed=2).compute(scheduler='sync')
    cluster = distributed_module.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    with cluster, distributed_module.Client(cluster):  # its default shuffle is p2p
        pd.testing.assert_frame_equal(distributed.sample(4000, seed=2).compute(), local)


def test_blocks_give_the_same_rows_whatever_the_batches_and_their_order(
    table, distributed, monkeypatch
):
    """Blocks of an output partition mix the same rows however they were cut and delivered.

    Two input partitions delivered whole or in batches of 1,000 rows, blocks of at most
    2,500 input rows: an output partition gets one block or several from each input
    partition, in any order. (``year``, one value, is encoded with uniform draws, which differ
    with the batches and decode to the same value.)
    """
    from sdv_gwm.scale import core

    data, _ = table
    model = distributed.model
    monkeypatch.setattr(core, 'BLOCK_ROWS', 2500)
    plan = core.Plan.of(model.groups, 3300)
    halves = [data[:13000], data[13000:]]

    def blocks(size):
        return pd.concat(
            [
                frame
                for index, half in enumerate(halves)
                for frame in core.place_blocks(
                    [half[start : start + size] for start in range(0, len(half), size)],
                    model,
                    plan,
                    7,
                    index,
                )
            ]
        )

    whole, batched = blocks(len(data)), blocks(1000)
    assert whole[core.PARTITION].value_counts().max() == 2
    assert batched[core.PARTITION].value_counts().min() >= 4
    sizes = [
        sum(len(core.unpack_block(block)[0]) for block in part[core.BLOCK])
        for _, part in whole.groupby(core.PARTITION)
    ]
    allocation = core.allocate(20_000, sizes, 7)
    expected = core.synthesize_placed(whole.sample(frac=1, random_state=1), model, allocation, 7)
    result = core.synthesize_placed(batched.sample(frac=1, random_state=0), model, allocation, 7)
    assert len(result) == 20_000
    pd.testing.assert_frame_equal(result, expected)
