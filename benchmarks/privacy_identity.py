"""What the reconstruction share on AER/CPS1985 owes to age = education + experience + 6.

Every row of CPS1985 has ``age == education + experience + 6``: the three columns lie on a
plane, and the covariance says so (``Var(age - education - experience) = 0``). A synthesizer
that keeps the covariance keeps the plane, and its rows meet real rows, seen or not, more often
than rows scattered off it. For each split of ``benchmarks/privacy.py`` (same seeds, same
samples) this script scores GaussianCopula's and GWM's rows twice with
``sdv_gwm.evaluation.privacy.reconstruction``: as sampled; with ``age`` set to
``education + experience + 6`` (clipped to the training range); and with ``age`` moved off the
plane by rounded normal noise until ``age - education - experience - 6`` spreads as much as in
GaussianCopula's rows (its standard deviation on the same split), next to that spread and
``covariance_relative_error``.

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


def gap(rows):
    """``age - education - experience - 6``: zero in every real row."""
    return rows['age'] - rows['education'] - rows['experience'] - 6


def off_plane(rows, train, spread, seed):
    """Rows with rounded normal noise added to ``age`` until ``gap`` has sd ``spread``."""
    rows = rows.copy()
    noise = np.sqrt(max(spread**2 - np.var(gap(rows)), 0.0))
    moved = rows['age'] + np.random.default_rng(seed).normal(0, noise, len(rows)).round()
    rows['age'] = moved.clip(train['age'].min(), train['age'].max()).astype(rows['age'].dtype)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', nargs='+', type=int, default=list(range(16)))
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    rows = []
    for seed in args.seeds:
        train, holdout, metadata = split(DATASET, seed)
        samples = {
            label: synthesize(CANDIDATES[label], train, metadata, seed) for label in SYNTHESIZERS
        }
        spread = float(np.std(gap(samples[REFERENCE])))
        for label, synthetic in samples.items():
            variants = {
                'as sampled': synthetic,
                'on the plane': on_plane(synthetic, train),
                "off the plane as GaussianCopula's": off_plane(synthetic, train, spread, seed),
            }
            for variant, table in variants.items():
                rebuilt = reconstruction(train, holdout, table, metadata)
                rows.append(
                    {
                        'synthesizer': label,
                        'rows': variant,
                        'recovered': rebuilt['recovered'],
                        'holdout_recovered': rebuilt['holdout_recovered'],
                        'gap_sd': float(np.std(gap(table))),
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
