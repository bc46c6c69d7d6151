"""Repeated synthesis: fit on synthetic data, sample, repeat (the paper's model-collapse study).

Each chain starts from the real table (generation 0). Generation ``k + 1`` is sampled from a
synthesizer fitted on generation ``k`` and has as many rows as generation 0. Every generation
is compared with generation 0 (the real training rows) and scored on a real holdout that is
split off before generation 0 and never trained on:

``median_variance_ratio`` / ``min_variance_ratio``
    ``var(generation k) / var(real)`` of each continuous numerical column (sdtype
    ``numerical`` with at least :data:`MIN_DISTINCT_VALUES` distinct real values); median
    and minimum over those columns. Classic ``Beta(a)`` mixup multiplies it by
    ``(a + 1) / (2a + 1)`` per generation (``0.78 ** k`` for ``a = 0.4``), the
    variance-preserving GWM default keeps it at 1.
``covariance_relative_error``
    :func:`sdv_gwm.evaluation.report.covariance_relative_error` on the continuous columns.
``quality_score``
    SDV's ``evaluate_quality`` score.
``ml_efficacy``
    A scikit-learn linear model (logistic regression for a categorical or boolean target,
    ridge regression for a numerical one; mean-imputed, standardized one-hot features from
    :func:`pandas.get_dummies`) trained on generation ``k`` and scored on the real holdout:
    macro F1 or R^2 (``ml_metric`` names it).
``tstr``
    Train on synthetic, test on real with a fixed nonlinear model: scikit-learn's
    ``HistGradientBoostingClassifier`` / ``Regressor`` (``random_state=0``, one-hot features),
    scored on the real holdout by ROC AUC (binary target), accuracy (several classes) or R^2
    (``tstr_metric`` names it).
``median_eta_squared_ratio`` / ``min_eta_squared_ratio``
    ``eta^2`` (:func:`sdv_gwm.evaluation.report.eta_squared`) of generation ``k`` over the
    real one, for every categorical-continuous pair whose real ``eta^2`` is at least
    :data:`MIN_ETA_SQUARED`; median and minimum over those pairs.
``max_class_mean_z``
    The largest ``|mean_k - mean_real| / (s_k / sqrt(n_k))`` over every class (with at least
    :data:`MIN_CLASS_ROWS` real rows) of every categorical column and every continuous
    column: how far the class-conditional means are from the real ones in units of the
    generation's own sampling error.
``cramers_v_error``
    Mean ``|V_k - V_real|`` of Cramér's V over the categorical-categorical pairs.

Categorical columns are those of sdtype ``categorical``, ``boolean`` and ``ordinal``; they and
the numerical ones are the features of ``ml_efficacy`` and ``tstr``.
"""

import itertools

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from sdv.evaluation import evaluate_quality
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
from tqdm.auto import tqdm

from sdv_gwm import _compat
from sdv_gwm.evaluation.report import (
    CATEGORICAL_SDTYPES,
    class_means,
    covariance_relative_error,
    cramers_v,
    eta_squared,
)
from sdv_gwm.synthesizer import GWMSynthesizer
from sdv_gwm.weights import Beta

#: A numerical column needs this many distinct real values to count as continuous.
MIN_DISTINCT_VALUES = 10

#: A categorical-continuous pair counts in the ``eta^2`` ratios from this real ``eta^2`` on.
MIN_ETA_SQUARED = 0.01

#: A class counts in ``max_class_mean_z`` from this many real rows on.
MIN_CLASS_ROWS = 10

METRICS = (
    'median_variance_ratio',
    'min_variance_ratio',
    'covariance_relative_error',
    'quality_score',
    'ml_efficacy',
    'tstr',
    'median_eta_squared_ratio',
    'min_eta_squared_ratio',
    'max_class_mean_z',
    'cramers_v_error',
)
FEATURE_SDTYPES = ('numerical', *CATEGORICAL_SDTYPES)


def default_synthesizers(epochs=None):
    """The synthesizers the study compares, as ``label -> factory(metadata)``.

    Args:
        epochs (int or None):
            If given, CTGAN and TVAE are added with this many training epochs. Defaults to
            None (GWM, classic mixup and GaussianCopula only).

    Returns:
        dict[str, callable]:
            ``'GWM'`` (default weights), ``'mixup-beta0.4'`` (classic mixup, ``Beta(0.4)``),
            ``'GaussianCopula'`` and optionally ``'CTGAN'`` and ``'TVAE'``.
    """
    synthesizers = {
        'GWM': GWMSynthesizer,
        'mixup-beta0.4': lambda metadata: GWMSynthesizer(metadata, weights=Beta(0.4)),
        'GaussianCopula': GaussianCopulaSynthesizer,
    }
    if epochs is not None:
        synthesizers['CTGAN'] = lambda metadata: CTGANSynthesizer(metadata, epochs=epochs)
        synthesizers['TVAE'] = lambda metadata: TVAESynthesizer(metadata, epochs=epochs)

    return synthesizers


def _table(metadata):
    """Return ``(table_name, columns metadata)`` of a one-table ``Metadata``."""
    ((table_name, table),) = metadata.to_dict()['tables'].items()
    return table_name, table['columns']


def _default_target(columns):
    """The first categorical or boolean column, else the first numerical one, else None."""
    for sdtypes in (('categorical', 'boolean'), ('numerical',)):
        for column, meta in columns.items():
            if meta['sdtype'] in sdtypes:
                return column

    return None


class _Scorer:
    """Score generations against the real training rows and the real holdout."""

    def __init__(self, real, holdout, metadata, target, quality=True):
        self.real = real
        self.metadata = metadata
        self.target = target
        self.quality = quality
        _, columns = _table(metadata)
        self.continuous = [
            column
            for column, meta in columns.items()
            if meta['sdtype'] == 'numerical' and real[column].nunique() >= MIN_DISTINCT_VALUES
        ]
        self.real_variance = real[self.continuous].astype(float).var()
        self.features = [
            column
            for column, meta in columns.items()
            if meta['sdtype'] in FEATURE_SDTYPES and column != target
        ]
        self.classification = target is not None and columns[target]['sdtype'] != 'numerical'
        self.categorical = [
            column for column, meta in columns.items() if meta['sdtype'] in CATEGORICAL_SDTYPES
        ]
        self.pairs = {
            (category, column): eta_squared(real[category], real[column].astype(float))
            for category in self.categorical
            for column in self.continuous
        }
        self.pairs = {pair: eta for pair, eta in self.pairs.items() if eta >= MIN_ETA_SQUARED}
        self.associations = {
            (first, second): cramers_v(real[first], real[second])
            for index, first in enumerate(self.categorical)
            for second in self.categorical[index + 1 :]
        }
        if target is not None:
            self.holdout = holdout.dropna(subset=[target])
            self.holdout_x = pd.get_dummies(self.holdout[self.features], dtype=float)

    def _train_test(self, train):
        """Features and target of ``train`` (its labelled rows) and of the real holdout."""
        train = train.dropna(subset=[self.target])
        train_x = pd.get_dummies(train[self.features], dtype=float)
        test_x = self.holdout_x.reindex(columns=train_x.columns, fill_value=0.0)
        y_train, y_test = train[self.target], self.holdout[self.target]
        return train_x, test_x, y_train, y_test

    def ml_efficacy(self, train):
        """Train on ``train``, score on the real holdout (macro F1 or R^2)."""
        # scikit-learn is an optional dependency (the 'dev' and 'bench' extras).
        from sklearn.dummy import DummyClassifier
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.metrics import f1_score, r2_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        train_x, test_x, y_train, y_test = self._train_test(train)
        if not self.classification:
            model = make_pipeline(SimpleImputer(), StandardScaler(), Ridge())
            return r2_score(y_test, model.fit(train_x, y_train).predict(test_x))

        # A generation that lost all but one class can only predict that class.
        if y_train.nunique() < 2:
            model = DummyClassifier(strategy='most_frequent')
        else:
            model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())

        y_train, y_test = y_train.astype(str), y_test.astype(str)
        predicted = model.fit(train_x, y_train).predict(test_x)
        return f1_score(y_test, predicted, average='macro')

    def tstr(self, train):
        """Train gradient boosting on ``train``, score on the real holdout; with its metric."""
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

        train_x, test_x, y_train, y_test = self._train_test(train)
        if not self.classification:
            model = HistGradientBoostingRegressor(random_state=0).fit(train_x, y_train)
            return r2_score(y_test, model.predict(test_x)), 'r2'

        y_train, y_test = y_train.astype(str), y_test.astype(str)
        binary = y_test.nunique() == 2
        if y_train.nunique() < 2:  # one class left: a constant prediction
            constant = y_train.iloc[0]
            return (0.5, 'roc_auc') if binary else ((y_test == constant).mean(), 'accuracy')

        model = HistGradientBoostingClassifier(random_state=0).fit(train_x, y_train)
        if binary and set(y_test) <= set(model.classes_):
            positive = model.classes_[1]
            score = roc_auc_score(y_test == positive, model.predict_proba(test_x)[:, 1])
            return score, 'roc_auc'

        return accuracy_score(y_test, model.predict(test_x)), 'accuracy'

    def associations_score(self, synthetic):
        """``eta^2`` ratios, class-mean z and Cramér's V error of one generation."""
        ratios = pd.Series(
            {
                pair: eta_squared(synthetic[pair[0]], synthetic[pair[1]].astype(float)) / eta
                for pair, eta in self.pairs.items()
            },
            dtype=float,
        )
        means = class_means(self.real, synthetic, self.categorical, dict.fromkeys(self.continuous))
        means = means[means['Real Rows'] >= MIN_CLASS_ROWS]
        z = (means['Synthetic Mean'] - means['Real Mean']) / means['Synthetic Standard Error']
        errors = [
            abs(cramers_v(synthetic[first], synthetic[second]) - value)
            for (first, second), value in self.associations.items()
        ]
        return {
            'median_eta_squared_ratio': float(ratios.median()) if len(ratios) else np.nan,
            'min_eta_squared_ratio': float(ratios.min()) if len(ratios) else np.nan,
            'max_class_mean_z': float(z.abs().max()) if len(z) else np.nan,
            'cramers_v_error': float(np.nanmean(errors)) if errors else np.nan,
        }

    def score(self, synthetic):
        """Return the metrics of one generation as a dict."""
        ratios = synthetic[self.continuous].astype(float).var() / self.real_variance
        tstr, tstr_metric = (np.nan, None) if self.target is None else self.tstr(synthetic)
        return {
            'median_variance_ratio': float(ratios.median()),
            'min_variance_ratio': float(ratios.min()),
            'covariance_relative_error': covariance_relative_error(
                self.real, synthetic, self.continuous
            )
            if self.continuous
            else np.nan,
            'quality_score': evaluate_quality(
                self.real, synthetic, self.metadata, verbose=False
            ).get_score()
            if self.quality
            else np.nan,
            'ml_efficacy': np.nan if self.target is None else self.ml_efficacy(synthetic),
            'tstr': tstr,
            'tstr_metric': tstr_metric,
            **self.associations_score(synthetic),
        }


def repeated_synthesis(
    data,
    metadata,
    synthesizers=None,
    generations=10,
    chains=5,
    num_rows=None,
    holdout=0.2,
    target=None,
    random_state=None,
    verbose=True,
    quality=True,
    split_per_chain=False,
):
    """Run chains of repeated synthesis and score every generation.

    Args:
        data (pandas.DataFrame):
            The real table.
        metadata (sdv.metadata.Metadata):
            Its metadata (one table), used unchanged for every generation, so the declared
            ``range_min`` / ``range_max`` of generation 0 bind every later fit.
        synthesizers (dict[str, callable] or None):
            ``label -> factory(metadata)`` returning an unfitted SDV single-table synthesizer.
            Defaults to :func:`default_synthesizers` ``()``.
        generations (int):
            Synthetic generations per chain. Defaults to 10.
        chains (int):
            Independent chains per synthesizer. Defaults to 5.
        num_rows (int or None):
            Rows of the real training table to use (a random subset). Defaults to all the rows
            left after the holdout. Every generation has as many rows as generation 0.
        holdout (float):
            Share of the real rows split off before generation 0 for ``ml_efficacy``.
            Defaults to 0.2.
        target (str or None):
            The column ``ml_efficacy`` predicts. Defaults to the first categorical or boolean
            column of the metadata, else the first numerical one.
        random_state (int or None):
            Seed of the split and of every synthesizer's sampling. Defaults to None.
        verbose (bool):
            Whether to show a progress bar over the fits. Defaults to True.
        quality (bool):
            Whether to compute SDV's ``quality_score`` (the slowest metric; NaN if not).
            Defaults to True.
        split_per_chain (bool):
            Whether chain ``c`` of every synthesizer gets its own holdout split (and training
            subset), the same for every synthesizer, and is scored against its own real rows
            (generation 0 of the chain). A score that depends on the split, such as
            ``tstr`` on a small table, then averages over splits. Defaults to False (one split
            for all chains).

    Returns:
        pandas.DataFrame:
            One row per synthesizer, chain and generation (0 is the real training table)
            with the columns ``synthesizer``, ``chain``, ``generation``, the metrics of the
            module docstring, ``target``, ``ml_metric`` (``'f1_macro'`` or ``'r2'``) and
            ``tstr_metric``.

    Raises:
        ValueError: If ``generations`` or ``chains`` is not positive, ``holdout`` is not in
            (0, 1), or ``target`` is not a column of the metadata.
    """
    if generations < 1 or chains < 1:
        raise ValueError('`generations` and `chains` must be positive integers.')
    if not 0 < holdout < 1:
        raise ValueError(f'`holdout` must be a share of the rows in (0, 1), got {holdout!r}.')

    table_name, columns = _table(metadata)
    target = _default_target(columns) if target is None else target
    if target is not None and target not in columns:
        raise ValueError(f"Target column '{target}' is not in the metadata.")

    synthesizers = default_synthesizers() if synthesizers is None else synthesizers
    rng = np.random.default_rng(random_state)
    splits = [_split(data, metadata, holdout, num_rows, target, quality, rng)]
    if split_per_chain:
        splits += [
            _split(data, metadata, holdout, num_rows, target, quality, rng)
            for _ in range(chains - 1)
        ]

    ml_metric = None
    if target is not None:
        ml_metric = 'f1_macro' if splits[0][1].classification else 'r2'

    records = []
    progress = tqdm(
        total=len(synthesizers) * chains * generations,
        desc='Repeated synthesis',
        unit='fit',
        disable=not verbose,
    )
    with progress:
        for label, factory in synthesizers.items():
            for chain in range(chains):
                real, scorer, baseline = splits[chain % len(splits)]
                records.append({'synthesizer': label, 'chain': chain, 'generation': 0, **baseline})
                current = real
                for generation in range(1, generations + 1):
                    progress.set_postfix_str(f'{label}, chain {chain}, generation {generation}')
                    synthesizer = factory(metadata)
                    synthesizer.fit({table_name: current})
                    _compat.set_random_state(synthesizer, int(rng.integers(2**31)))
                    current = synthesizer.sample(len(real))[table_name]
                    records.append(
                        {
                            'synthesizer': label,
                            'chain': chain,
                            'generation': generation,
                            **scorer.score(current),
                        }
                    )
                    progress.update()

    results = pd.DataFrame.from_records(records)
    results['target'] = target
    results['ml_metric'] = ml_metric
    return results


def _split(data, metadata, holdout, num_rows, target, quality, rng):
    """Draw a holdout and the training rows; return them with their scorer and its baseline."""
    test = data.sample(frac=holdout, random_state=rng)
    real = data.drop(index=test.index)
    if num_rows is not None:
        real = real.sample(n=min(num_rows, len(real)), random_state=rng)

    real = real.reset_index(drop=True)
    scorer = _Scorer(real, test, metadata, target, quality)
    return real, scorer, scorer.score(real)


def summarize(results, metric='median_variance_ratio'):
    """Mean, min and max of a metric over chains, per synthesizer and generation.

    Args:
        results (pandas.DataFrame):
            The output of :func:`repeated_synthesis`.
        metric (str):
            One of the metric columns. Defaults to ``'median_variance_ratio'``.

    Returns:
        pandas.DataFrame:
            Columns ``synthesizer``, ``generation``, ``mean``, ``min``, ``max``.
    """
    grouped = results.groupby(['synthesizer', 'generation'], sort=False)[metric]
    return grouped.agg(['mean', 'min', 'max']).reset_index()


def plot_study(results, metric='median_variance_ratio'):
    """Plot a metric against the generation: mean over chains, band from min to max.

    Args:
        results (pandas.DataFrame):
            The output of :func:`repeated_synthesis`.
        metric (str):
            One of the metric columns. Defaults to ``'median_variance_ratio'``.

    Returns:
        plotly.graph_objects.Figure:
            One line and one shaded band per synthesizer.
    """
    figure = go.Figure()
    summary = summarize(results, metric)
    colors = itertools.cycle(plotly.colors.qualitative.Plotly)
    for label, rows in summary.groupby('synthesizer', sort=False):
        color = next(colors)
        band_x = pd.concat([rows['generation'], rows['generation'][::-1]])
        band_y = pd.concat([rows['max'], rows['min'][::-1]])
        figure.add_trace(
            go.Scatter(
                x=band_x,
                y=band_y,
                fill='toself',
                fillcolor=color,
                opacity=0.2,
                line={'width': 0},
                hoverinfo='skip',
                showlegend=False,
                legendgroup=label,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=rows['generation'],
                y=rows['mean'],
                mode='lines+markers',
                name=label,
                line={'color': color},
                legendgroup=label,
            )
        )

    figure.update_layout(
        title=f'Repeated synthesis: {metric} (mean over chains, band: min to max)',
        xaxis_title='Generation (0 = real data)',
        yaxis_title=metric,
        template='plotly_white',
    )
    return figure
