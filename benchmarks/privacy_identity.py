"""What the reconstruction share on AER/CPS1985 owes to age = education + experience + 6.

Every row of CPS1985 has ``age == education + experience + 6``: the three columns lie on a
plane, and the covariance says so (``Var(age - education - experience) = 0``). A synthesizer
that keeps the covariance keeps the plane, and its rows meet real rows, seen or not, more often
than rows scattered off it. For each split of ``benchmarks/privacy.py`` (same seeds, same
samples) this script scores GaussianCopula's and GWM's rows twice with
``sdv_gwm.evaluation.privacy.reconstruction``: as sampled, and with ``age`` set to
``education + experience + 6`` (clipped to the training range), next to the spread of
``age - education - experience - 6`` and ``covariance_relative_error``.

    python benchmarks/privacy_identity.py [--seeds 0 1 ...]
"""

import argparse
import warnings

import numpy as np
import pandas as pd
from privacy import CANDIDATES, REFERENCE, RESULTS_DIR, split, synthesize, to_markdown

from sdv_gwm.evaluation.privacy import reconstruction
from sdv_gwm.evaluation.report import covariance_relative_error

DATASET = 'AER/CPS1985'
NUMERICAL = ['wage', 'education', 'experience', 'age']
SYNTHESIZERS = [REFERENCE, 'GWM privacy=strict']


def on_plane(rows, train):
    """Rows with ``age`` set to ``education + experience + 6``, within the training range."""
    rows = rows.copy()
    rows['age'] = (rows['education'] + rows['experience'] + 6).clip(
        train['age'].min(), train['age'].max()
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', nargs='+', type=int, default=list(range(16)))
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    rows = []
    for seed in args.seeds:
        train, holdout, metadata = split(DATASET, seed)
        for label in SYNTHESIZERS:
            synthetic = synthesize(CANDIDATES[label], train, metadata, seed)
            for variant, table in (
                ('as sampled', synthetic),
                ('on the plane', on_plane(synthetic, train)),
            ):
                rebuilt = reconstruction(train, holdout, table, metadata)
                gap = table['age'] - table['education'] - table['experience'] - 6
                rows.append(
                    {
                        'synthesizer': label,
                        'rows': variant,
                        'recovered': rebuilt['recovered'],
                        'holdout_recovered': rebuilt['holdout_recovered'],
                        'gap_sd': float(np.std(gap)),
                        'cov_error': covariance_relative_error(train, table, NUMERICAL),
                    }
                )

    results = pd.DataFrame(rows)
    table = results.groupby(['synthesizer', 'rows'], sort=False).mean().reset_index()
    table['splits'] = len(args.seeds)
    text = to_markdown(table)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / 'privacy_identity.md').write_text(text + '\n')


if __name__ == '__main__':
    main()
