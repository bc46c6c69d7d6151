"""``GWMSynthesizer``: the mixing engine as an SDV 2 single-table synthesizer."""

import concurrent.futures
import datetime
import logging
import os

import numpy as np
import pandas as pd
import tqdm
from rdt.transformers import FloatFormatter, LabelEncoder, UnixTimestampEncoder
from sdv import version
from sdv.errors import InvalidDataError, InvalidDataTypeError, SynthesizerInputError
from sdv.single_table.base import (
    FIXED_RNG_SEED,
    SYNTHESIZER_LOGGER,
    BaseSingleTableSynthesizer,
)

from sdv_gwm import _compat, codec, persistence
from sdv_gwm.engine import KeySet, Mixer, NoiseBlend, categories, row_keys
from sdv_gwm.moments import Moments
from sdv_gwm.weights import get_weights

#: Rounding noise may add at most this share of a column's variance before the column is
#: inherited instead of mixed (binary and other low-cardinality numerical columns).
MAX_ROUNDING_SHARE = 0.1

#: Largest ``discrete_donors``: sharing ``s = 1 / 102`` already makes discrete columns almost
#: independent, and sampling holds ``d + 2`` candidate rows per synthetic row.
MAX_DISCRETE_DONORS = 100

#: ``privacy`` levels: the share of each mixed column's variance replaced by residuals of other
#: rows, how many residuals (``None``: their normal limit, see ``NoiseBlend``), the most
#: ``discrete_donors`` used (unless given; one per discrete column, at least ``MIN_DONORS``, up
#: to that many) and the width of the kernel through which the blended normal scores are read
#: back (a multiple of Silverman's rule, see ``sdv_gwm.engine.Quantiles``).
PRIVACY_LEVELS = {
    'none': (0.0, 1, None, None),
    'balanced': (0.9, 4, 2, 1.5),
    'strict': (1.0, None, 8, 2.0),
}

#: Fewest ``discrete_donors`` a level uses (up to its most).
MIN_DONORS = 3

#: Residuals per row and kernel width for a numerical ``privacy``.
PRIVACY_RESIDUALS = 4
PRIVACY_BANDWIDTH = 1.0


#: sdtypes whose columns ``mix_within`` accepts: they are inherited, never mixed.
DISCRETE_SDTYPES = ('categorical', 'boolean')

#: Samples of at least this many rows show a progress bar (on a terminal).
PROGRESS_ROWS = 100_000

LOGGER = logging.getLogger(__name__)


def _check_count(name, value, alternative='', minimum=1):
    """Raise SDV's ``SynthesizerInputError`` unless ``value`` is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        bound = 'greater than 0' if minimum == 1 else f'greater than or equal to {minimum}'
        raise SynthesizerInputError(
            f"Invalid value for parameter '{name}': {value!r}. "
            f'Please provide an integer {bound}{alternative}.'
        )


def _float_overflow(values):
    """Return an integer of ``values`` whose float64 rounding leaves its dtype's range, if any.

    Near the int64 and uint64 limits float64 rounds up to ``2**63`` or ``2**64``, which the
    cast back to the integer dtype wraps around.
    """
    if not pd.api.types.is_integer_dtype(values) or not values.notna().any():
        return None

    limits = np.iinfo(
        values.dtype.numpy_dtype if hasattr(values.dtype, 'numpy_dtype') else values.dtype
    )
    low, high = values.min(), values.max()
    for value in (high, low):
        if not limits.min <= float(value) <= limits.max:
            return int(value)

    return None


def _neighbourhood_size(num_candidates, num_columns):
    """Rows mixed for conditions on ``d`` mixed columns: ``ceil(m ** (4 / (4 + d)))``, >= 2.

    The rate that balances a nearest-neighbour estimate's squared bias (the neighbourhood's
    width) against its variance (``1 / k``); ``benchmarks/conditions.py`` measures the
    conditional mean and variance it gives.
    """
    size = int(np.ceil(num_candidates ** (4 / (4 + num_columns))))
    return min(num_candidates, max(2, size))


def _plain(value):
    """Return a numpy scalar as the Python value it holds, for messages."""
    return value.item() if isinstance(value, np.generic) else value


class GWMSynthesizer(BaseSingleTableSynthesizer):
    """Structure-preserving generalized weighted mixup as an SDV single-table synthesizer.

    Each synthetic row mixes two distinct training rows in the RDT-transformed space:
    numerical and datetime columns get ``lam * x_i + (1 - lam) * x_j`` with one ``lam`` per
    row; categorical, boolean and low-cardinality numerical columns, and missing values, are
    taken from the parent with the larger weight. With the default weights the means,
    variances, covariances and third moments of the mixed columns are preserved exactly in
    expectation, and every value stays inside its column's observed range without clipping.

    Args:
        metadata (sdv.metadata.Metadata):
            Metadata of the table.
        enforce_min_max_values (bool):
            Keep numerical and datetime values inside the range seen in ``fit``. Defaults to
            ``True``. Mixing already does; this also applies RDT's clipping.
        enforce_rounding (bool):
            Round numerical columns as in the training data. Defaults to ``True``. The
            variance that rounding adds is compensated before rounding.
        locales (list or str):
            Locales for PII columns generated with Faker. Defaults to ``['en_US']``.
        weights (str or sdv_gwm.weights.EpBeta):
            The law of the mixing weight: ``'epbeta'`` (default, variance-preserving),
            ``'beta'`` (classic mixup, ``Beta(0.4)``), ``'uniform'``, or a law object from
            ``sdv_gwm.weights``.
        mix_within (list[str] or None):
            Categorical or boolean columns whose values a row's partner must share. Keeps
            group means and the within-group covariances exactly. Defaults to ``None``.
        discrete_donors (int or None):
            The privacy control. ``None`` (default): discrete columns come from the winning
            parent, so a synthetic row matches it on all of them. An int ``0 <= d <= 100``: each
            discrete column comes, independently, from one of the two parents or ``d`` random
            donor rows. The mixed columns and their moments are unchanged; discrete marginals
            stay exact; a discrete-discrete joint becomes ``s P(a, b) + (1 - s) P(a) P(b)``
            and a discrete-continuous covariance scales by ``s``, with ``s = 1 / (d + 2)``.
            Rows move away from their parents: the distance to the closest record grows.
        transport (bool):
            Keep the relation between the discrete and the numerical columns (default
            ``True``). A synthetic row takes its discrete values from one parent, the winner;
            its partner is first moved into the winner's class (the class means come from a
            least-squares fit of every mixed column on the discrete values). Class-conditional
            means, between-class variance and the covariance of the numerical columns are then
            exact in expectation, generation after generation. ``False``: the partner is mixed
            as it is, and every discrete-continuous covariance scales by
            ``E[max(lam, 1 - lam)]``. Only laws that extrapolate transport.
        privacy (str or float):
            The privacy knob. ``'none'`` (default): rows are mixed as above. Otherwise every
            mixed row is blended, in each column's normal-score space, with residuals of other
            training rows around its mean given its discrete values,
            ``g(d) + c (z - g(d)) + sqrt(1 - c**2) rho``, and read back through a kernel
            density estimate of the column (see ``sdv_gwm.engine.NoiseBlend``): ``'balanced'``
            replaces a share ``1 - c**2 = 0.9`` of the scores' variance by 4 residuals, with a
            kernel 1.5 times Silverman's width; ``'strict'`` all of it (no number depends on
            the parents' numbers) by a normal draw with the residuals' covariance (no training
            row's numbers are drawn), with twice Silverman's width. Both levels use one
            ``discrete_donors`` per discrete column (unless given), at least 3, capped at 2
            (``'balanced'``) and 8 (``'strict'``). A number in [0, 1) is that share, with 4
            residuals, the ``discrete_donors`` given and Silverman's width. Every value stays
            in its column's range; each column keeps its mean and variance, and the scores
            their covariance and relation to the discrete columns (see the theory page).
    """

    def __init__(
        self,
        metadata,
        enforce_min_max_values=True,
        enforce_rounding=True,
        locales=['en_US'],  # noqa: B006 (SDV's signature)
        weights='epbeta',
        mix_within=None,
        discrete_donors=None,
        transport=True,
        privacy='none',
    ):
        super().__init__(metadata, enforce_min_max_values, enforce_rounding, locales)
        try:
            self._weights = get_weights(weights)
        except ValueError as error:
            message = f"Invalid value for parameter 'weights': {error}"
            raise SynthesizerInputError(message) from None

        self.weights = weights
        self.mix_within = self._validate_mix_within(mix_within)
        if discrete_donors is not None and (
            isinstance(discrete_donors, bool)
            or not isinstance(discrete_donors, (int, np.integer))
            or not 0 <= discrete_donors <= MAX_DISCRETE_DONORS
        ):
            raise SynthesizerInputError(
                f"Invalid value for parameter 'discrete_donors': {discrete_donors!r}. "
                f'Please provide None or an integer from 0 to {MAX_DISCRETE_DONORS}.'
            )

        self.discrete_donors = None if discrete_donors is None else int(discrete_donors)
        self.transport = bool(transport)
        self.privacy = privacy
        share, residuals, donors, bandwidth = self._privacy_level(privacy)
        self._noise_share = share
        self._residuals = residuals
        self._preset_donors = donors
        self._bandwidth = bandwidth
        self._returns_frame = False
        self._codec = None
        self._data_path = None
        self._mix_columns = self.mix_within
        self._generated_codes = {}
        self._sdv_gwm_version = persistence.package_version()
        self._set_default_transformers()

    def _set_default_transformers(self):
        """Make SDV assign GWM's transformers: exact, with missing values kept as NaN."""
        _compat.set_default_transformer(
            self,
            'numerical',
            FloatFormatter(
                missing_value_replacement=None,
                missing_value_generation=None,
                learn_rounding_scheme=self.enforce_rounding,
                enforce_min_max_values=self.enforce_min_max_values,
            ),
        )
        _compat.set_default_transformer(
            self,
            'datetime',
            UnixTimestampEncoder(missing_value_replacement=None, missing_value_generation=None),
        )
        for sdtype in DISCRETE_SDTYPES:
            _compat.set_default_transformer(self, sdtype, LabelEncoder(add_noise=False))

    def add_constraints(self, constraints):
        """Add SDV constraints, keeping GWM's transformers for the columns they leave alone.

        Args:
            constraints (list):
                SDV 2 constraints, as ``sdv``'s method of the same name takes them.

        Raises:
            sdv.errors.SynthesizerInputError: If a constraint merges a ``mix_within`` column
                with columns that are not in ``mix_within``.
        """
        super().add_constraints(constraints)
        self._set_default_transformers()  # SDV builds a new data processor with its own
        self._mix_columns = self._resolve_mix_within()

    def _resolve_mix_within(self):
        """Return the columns to group by, after the constraints changed the table.

        A ``mix_within`` column that a constraint (such as ``FixedCombinations``) merges is
        replaced by the merged column if all of its columns are in ``mix_within``: the groups
        are then the same.
        """
        if not self.mix_within:
            return self.mix_within

        columns = self._get_table_metadata().columns
        resolved = []
        for column in self.mix_within:
            if column in columns:
                resolved.append(column)
                continue

            merged = [
                constraint
                for constraint in self.get_constraints()
                if column in getattr(constraint, 'column_names', ())
            ]
            names = list(getattr(merged[0], 'column_names', ())) if merged else []
            merged_name = '#'.join(names)
            if not set(names) <= set(self.mix_within) or merged_name not in columns:
                raise SynthesizerInputError(
                    f"Column '{column}' of mix_within is replaced by the constraint "
                    f'{type(merged[0]).__name__ if merged else "added"}'
                    f'{f" on {names}" if names else ""}. Put all of its columns in mix_within, '
                    'or remove this one from it.'
                )

            if merged_name not in resolved:
                resolved.append(merged_name)

        return resolved

    @staticmethod
    def _privacy_level(privacy):
        """Return the noise share and the preset donors of a ``privacy`` value."""
        if isinstance(privacy, str) and privacy in PRIVACY_LEVELS:
            return PRIVACY_LEVELS[privacy]

        if (
            isinstance(privacy, (int, float, np.integer, np.floating))
            and not isinstance(privacy, bool)
            and 0 <= privacy < 1
        ):
            return float(privacy), PRIVACY_RESIDUALS, None, PRIVACY_BANDWIDTH

        raise SynthesizerInputError(
            f"Invalid value for parameter 'privacy': {privacy!r}. Please provide one of "
            f'{", ".join(map(repr, PRIVACY_LEVELS))} or a number in [0, 1).'
        )

    def _noise_blend(self):
        """The noise step of ``privacy``: mean and sample covariance of the mixed values."""
        if not self._noise_share:
            return None

        model = self._model
        coefficient = np.sqrt(1 - self._noise_share)
        discrete = model.data[:, ~model.continuous]
        return NoiseBlend(
            coefficient,
            model._values,
            discrete,
            self._residuals,
            bandwidth=self._bandwidth,
            means=model.classes,  # the transport's fit of the same rows, if any
            rounding=self._step[model.continuous] ** 2 / 12,
            cuts=model.cuts,
        )

    def _donors(self, continuous):
        """``discrete_donors`` if given, else one per discrete column, within the level's bounds.

        Where discrete columns are many, matching categories dominate the distance to the
        closest record and the rows need many donors; where they are few, donors only make
        the discrete joint more uniform, which helps a row land near some real row.
        """
        if self.discrete_donors is not None or self._preset_donors is None:
            return self.discrete_donors

        return min(self._preset_donors, max(MIN_DONORS, int((~continuous).sum())))

    def _validate_mix_within(self, mix_within):
        if mix_within is None:
            return None

        if isinstance(mix_within, str) or not isinstance(mix_within, (list, tuple)):
            raise SynthesizerInputError(
                f"Invalid value for parameter 'mix_within': {mix_within!r}. "
                'Please provide a list of column names or None.'
            )

        columns = self._get_table_metadata().columns
        for column in mix_within:
            if column not in columns:
                raise SynthesizerInputError(
                    f"Invalid value for parameter 'mix_within': column '{column}' is not in "
                    'the metadata.'
                )

            sdtype = columns[column]['sdtype']
            if sdtype not in DISCRETE_SDTYPES:
                raise SynthesizerInputError(
                    f"Invalid value for parameter 'mix_within': column '{column}' has sdtype "
                    f"'{sdtype}'. Only {' or '.join(DISCRETE_SDTYPES)} columns can be used."
                )

        return list(mix_within)

    def _as_tables(self, data):
        """Accept a DataFrame or ``{table_name: DataFrame}``; return a private copy as a dict."""
        if isinstance(data, pd.DataFrame):
            returns_frame = True
            table = data
        elif isinstance(data, dict) and len(data) == 1:
            returns_frame = False
            ((table_name, table),) = data.items()
            self._validate_table_name(table_name)
            if not isinstance(table, pd.DataFrame):
                raise InvalidDataTypeError(
                    f"The data of table '{table_name}' must be a pandas.DataFrame, "
                    f'got {type(table).__name__}.'
                )
        else:
            raise InvalidDataTypeError(
                'The `data` parameter must be a pandas.DataFrame or a dictionary containing '
                f'exactly one table name mapped to a pandas.DataFrame, got {type(data).__name__}'
                + (f' with {len(data)} tables.' if isinstance(data, dict) else '.')
            )

        self._check_table(table)
        self._returns_frame = returns_frame
        return {self._table_name: table}

    def _check_table(self, table):
        errors = []
        if table.columns.duplicated().any():
            duplicated = sorted(set(map(str, table.columns[table.columns.duplicated()])))
            errors.append(f'Duplicated column names: {duplicated}.')
        elif len(table) < 2:
            errors.append(
                f'The table has {len(table)} row(s). Mixing needs at least 2 rows to fit.'
            )
        else:
            columns = self._get_table_metadata().columns
            for column in table.columns:
                values = table[column]
                sdtype = columns.get(column, {}).get('sdtype')
                # A look at the first rows spares the full pass on almost every column.
                if values.iloc[:1024].isna().all() and values.isna().all():
                    errors.append(f"Column '{column}' contains only missing values.")
                elif sdtype == 'numerical' and not pd.api.types.is_numeric_dtype(values):
                    # SDV's own range check would fail on these with a message naming no column.
                    numbers = pd.to_numeric(values, errors='coerce')
                    invalid = values[numbers.isna() & values.notna()]
                    if len(invalid):
                        examples = sorted(map(repr, invalid.unique()[:3]))
                        errors.append(
                            f"Column '{column}' has sdtype 'numerical' but contains "
                            f'non-numerical values: {", ".join(examples)}.'
                        )
                elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                    values
                ):
                    if sdtype == 'numerical' and (overflow := _float_overflow(values)):
                        errors.append(
                            f"Column '{column}' has the integer {overflow}, which float64 (the "
                            f'space values are mixed in) rounds out of the {values.dtype} range: '
                            'it would come back wrapped around. Give the column sdtype '
                            "'categorical' or 'id', or convert it to float."
                        )
                    elif np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).any():
                        errors.append(
                            f"Column '{column}' contains infinite values. Replace them with "
                            'missing values or finite numbers.'
                        )

        if errors:
            raise InvalidDataError(errors)

    def fit(self, data):
        """Fit the synthesizer to a table.

        Args:
            data (pandas.DataFrame or dict[str, pandas.DataFrame]):
                The table, or SDV 2's ``{table_name: table}``. The caller's data is not
                modified.

        Returns:
            GWMSynthesizer:
                ``self``, so that ``GWMSynthesizer(metadata).fit(df).sample(n)`` works.
        """
        self._fitted = False  # as SDV: a fit that fails leaves no fitted model behind
        tables = self._as_tables(data)
        table = tables[self._table_name]
        reason = self._fast_path_reason(table)
        if reason is None:
            reason = self._fit_fast(table)

        if reason is not None:
            super().fit({self._table_name: table.copy()})  # SDV renames columns in place
            self._codec = None
            self._set_data_path(reason)

        self._keep_generated_codes(table)
        return self

    def _fast_path_reason(self, table):
        """Say why the vectorized data path cannot give SDV's results (``None``: it can)."""
        if self.get_constraints():
            return 'the synthesizer has constraints'
        if getattr(self, '_user_transformers', False):
            return 'transformers were set with update_transformers'
        if getattr(self, '_composite_keys', None):
            return 'the table has a composite key'
        if not all(isinstance(column, str) for column in table.columns):
            return 'the table has column names that are not strings'
        if self._data_processor.grouped_columns_to_transformers:
            return 'the table has multi-column transformers'

        return None

    def _set_data_path(self, reason=None):
        self._data_path = 'vectorized' if reason is None else f'sdv ({reason})'
        LOGGER.info('GWMSynthesizer data path: %s', self._data_path)

    def _fit_fast(self, table):
        """Fit as SDV's ``fit`` does, with the column codec; return why not, if it cannot."""
        _compat.check_synthesizer_version(self)
        self._check_input_metadata_updated()
        self._fitted = False
        self._data_processor.reset_sampling()
        self._random_state_set = False
        with tqdm.tqdm(total=4, desc='Fitting', disable=None) as progress:
            progress.set_postfix_str('statistics')
            reused = {}
            try:
                statistics = codec.partial(table, self._get_table_metadata(), reused)
            except Exception as error:  # noqa: BLE001 (SDV's path then decides)
                return f'the column codec failed: {error!r}'

            progress.update()
            progress.set_postfix_str('validation')
            self.validate({self._table_name: statistics.rows})
            progress.update()
            progress.set_postfix_str('transformers')
            try:
                fitted = codec.Codec.fit(self._data_processor, statistics)
                reason = fitted.reason or fitted.unsupported(statistics)
                matrix = None if reason else fitted.encode(table, reused)
            except Exception as error:  # noqa: BLE001 (SDV's path raises SDV's error)
                reason = f'the column codec failed: {error!r}'

            if reason is not None:
                return reason

            progress.update()
            progress.set_postfix_str('model')
            self._fit_matrix(fitted.output_columns, matrix)
            progress.update()

        for event in ('Fit', 'Fit processed data'):
            SYNTHESIZER_LOGGER.info(
                {
                    'EVENT': event,
                    'TIMESTAMP': datetime.datetime.now(),
                    'SYNTHESIZER CLASS NAME': self.__class__.__name__,
                    'SYNTHESIZER ID': self._synthesizer_id,
                    'TOTAL NUMBER OF TABLES': 1,
                    'TOTAL NUMBER OF ROWS': len(table),
                    'TOTAL NUMBER OF COLUMNS': len(table.columns),
                }
            )

        self._codec = fitted
        self._set_data_path()
        self._fitted = True
        self._fitted_date = datetime.datetime.today().strftime('%Y-%m-%d')
        self._fitted_sdv_version = getattr(version, 'community', None)
        self._fitted_sdv_enterprise_version = getattr(version, 'enterprise', None)
        return None

    def update_transformers(self, column_name_to_transformer):
        """Set the transformers of some columns, as SDV's method of the same name.

        The table then goes through SDV's own data path (see ``get_info``).

        Args:
            column_name_to_transformer (dict):
                Column name to an RDT transformer.
        """
        super().update_transformers(column_name_to_transformer)
        self._user_transformers = True
        self._codec = None

    def get_info(self):
        """Information about the synthesizer, as SDV's ``get_info``, and the data path.

        Returns:
            dict:
                SDV's keys and ``data_path``: ``'vectorized'`` when the column codec
                (``sdv_gwm.codec``) fitted and samples the table, else ``'sdv (reason)'``;
                ``None`` before ``fit``.
        """
        return {**super().get_info(), 'data_path': getattr(self, '_data_path', None)}

    def _keep_generated_codes(self, table):
        """Keep what the generators (PII, keys) learned from: missing and repeated entries.

        The 'gwm' file stores stand-ins with them instead of the real values.
        """
        self._generated_codes = {
            column: pd.factorize(table[column])[0]
            for column, transformer in self.get_transformers().items()
            if column in table and transformer is not None and not transformer.get_output_columns()
        }

    def fit_processed_data(self, processed_data):
        """Fit to data already transformed by ``preprocess``.

        Args:
            processed_data (pandas.DataFrame or dict[str, pandas.DataFrame]):
                The transformed table, or ``{table_name: table}``.

        Returns:
            GWMSynthesizer:
                ``self``.
        """
        if isinstance(processed_data, pd.DataFrame):
            processed_data = {self._table_name: processed_data}

        self._codec = None
        self._set_data_path('fitted on processed data')
        super().fit_processed_data(processed_data)
        return self

    def _column_roles(self, columns):
        """Say per transformed column: numeric?, exactly coded?, rounding step, datetime unit.

        A column is exactly coded when equal original values give equal transformed values
        (numbers, datetimes and noise-free label codes), so that a condition on it can select
        the training rows that meet it.
        """
        field_transformers = self.get_transformers()
        formatters = _compat.data_processor(self).formatters
        numeric = np.zeros(len(columns), dtype=bool)
        exact = np.zeros(len(columns), dtype=bool)
        step = np.zeros(len(columns))
        unit = np.zeros(len(columns))
        for transformer in field_transformers.values():
            is_label = isinstance(transformer, LabelEncoder) and not transformer.add_noise
            if not (is_label or isinstance(transformer, (FloatFormatter, UnixTimestampEncoder))):
                continue

            name = transformer.get_output_columns()[0]
            if name not in columns:
                continue

            index = columns.get_loc(name)
            exact[index] = True
            if is_label:
                continue

            numeric[index] = True
            formatter = formatters.get(transformer.get_input_column())
            step[index] = codec.rounding_step(transformer, formatter)
            unit[index] = codec.datetime_unit(transformer)

        return numeric, exact, step, unit

    def _fit(self, processed_data):
        self._fit_matrix(
            processed_data.columns, processed_data.to_numpy(dtype=float, na_value=np.nan)
        )

    def _fit_matrix(self, columns, data):
        groups = None
        if self.mix_within:
            within = data[:, [columns.get_loc(column) for column in self._mix_columns]]
            keys = pd.DataFrame(within).astype(str).agg('\x1f'.join, axis=1)
            groups = pd.factorize(keys)[0]

        moments = Moments.of(data)
        mixing = self._fit_statistics(columns, moments)
        donors = self._donors(mixing['continuous'])
        # The copy check's keys do not depend on the model: numpy builds both side by side.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            keys = pool.submit(lambda: KeySet(self._row_keys(data)))
            self._model = Mixer(data, groups=groups, donors=donors, **mixing)
            self._model.blend = self._noise_blend()
            self._training_keys = keys.result()

        if self._model.blend is not None:  # it reads back each column's own variance
            self._model.calibrate_blend()
        else:
            reject = self._is_copy if self._redraws_copies else None
            variance = moments.variance[mixing['continuous']]
            self._model.calibrate_spread(reject, self._step, variance)

    def _fit_statistics(self, columns, moments):
        """Fit everything but the training rows from per-column statistics.

        The in-memory fit summarises its one matrix; the distributed fit (``sdv_gwm.scale``)
        merges the summaries of its partitions.

        Args:
            columns (pandas.Index):
                The transformed columns.
            moments (sdv_gwm.moments.Moments):
                Their statistics over all training rows.

        Returns:
            dict:
                The ``Mixer`` arguments fitted from the statistics: mask of the mixed columns,
                weight law, bounds of the mixed values, transport, rounding noise and the
                categories of the columns coded with noise.
        """
        continuous, exact, step, unit = self._column_roles(columns)
        variance = moments.variance
        # Rounding adds about step**2 / 12 to the variance. Where that is a large share of it
        # (binary or low-cardinality columns) the column is inherited; elsewhere the mixed
        # values are shrunk towards their centre by the engine so that rounding restores it.
        rounding_share = np.divide(
            step**2 / 12, variance, out=np.ones_like(variance), where=variance > 0
        )
        continuous &= rounding_share <= MAX_ROUNDING_SHARE
        # Conditions on these columns are met by mixing only the rows that meet them.
        self._native = exact & ~continuous
        lower = np.where(continuous, moments.low, -np.inf)
        upper = np.where(continuous, moments.high, np.inf)
        if not self.enforce_min_max_values:
            lower, upper = self._metadata_bounds(columns, lower, upper)

        self._columns = columns
        self._step = np.where(continuous, step, 0.0)
        self._unit = np.where(continuous, unit, 0.0)
        law = self._law(moments.rows)
        transport = self.transport and law.eps0 + law.eps1 > 0
        # With transport a row stays near its winner (mean weight 0.95), so rounding mostly
        # snaps it back onto the winner's grid value and adds much less than h**2 / 12 to the
        # variance: no compensation then (see the theory page).
        mixing = {
            'continuous': continuous,
            'weights': law,
            'lower': lower,
            'upper': upper,
            'transport': transport,
            'noise': None if transport else np.where(continuous, step**2 / 12, 0.0),
        }
        multipliers = np.random.default_rng(0).integers(2**63, size=len(columns), dtype=np.uint64)
        self._hash_multipliers = multipliers * np.uint64(2) + np.uint64(1)  # odd: no lost bits
        self._cuts = self._category_cuts(columns)
        mixing['cuts'] = self._cuts  # the class means of an ordinal column's categories
        return mixing

    def _category_cuts(self, columns):
        """Say, per column coded with noise (RDT's uniform encoders), where its categories end.

        Such a column (an ordinal one, say) holds a random value inside its category's interval,
        so two rows of the same category differ there; the copy check compares the category.
        """
        field_transformers = self.get_transformers()
        cuts = {}
        for transformer in field_transformers.values():
            intervals = getattr(transformer, 'intervals', None)
            name = transformer.get_output_columns()[0] if intervals else None
            if name in columns:
                cuts[columns.get_loc(name)] = np.array([end for _, end, *_ in intervals.values()])

        return cuts

    def _law(self, num_rows):
        """The weight law, unbiased for the sample covariance when it preserves covariances.

        With ``E[u] = 0`` pairs of distinct rows keep the ``1/n`` covariance of the training
        rows exactly, so the ``1/(n-1)`` sample covariance of synthetic data shrinks by
        ``(n - 1) / n``, which compounds over repeated synthesis. ``E[u] = -1/(2n)`` keeps the
        sample covariance instead: ``(1 - 2E[u]) S - 2E[u] S / (n - 1) = S n / (n - 1)``.
        Other laws keep their own factor.
        """
        law = self._weights
        if abs(law.expected_u) > 1e-9:
            return law

        try:
            return law.with_variance(law.dist.var() + 1 / (2 * num_rows))
        except ValueError:  # a handful of rows: the support cannot hold that much variance
            return law

    def _metadata_bounds(self, columns, lower, upper):
        """Without ``enforce_min_max_values`` only the ranges the metadata declares bind."""
        table_columns = self._get_table_metadata().columns
        keep = np.array(
            [
                bool({'range_min', 'range_max'} & set(table_columns.get(name, {})))
                for name in columns
            ]
        )
        return np.where(keep, lower, -np.inf), np.where(keep, upper, np.inf)

    def _transform_conditions(self, condition_df):
        # SDV groups the transformed conditions with pandas' default ``dropna=True``, which
        # drops a missing value; infinity, which no fitted column holds, stands for it.
        transformed = super()._transform_conditions(condition_df)
        return transformed.fillna(np.inf)

    def _condition_rows(self, conditions):
        """Select the parents that meet ``conditions``; return them and the values to set.

        Missing values and inherited (exactly coded) columns select the training rows that
        have the value: mixing them meets it exactly. Values of ``d`` mixed columns select
        the ``ceil(m ** (4 / (4 + d)))`` of those ``m`` rows nearest to them (at least 2,
        ties included; in standard deviations) and are set on the mixed rows: within the
        neighbourhood the moments are kept as in ``sample``, so the other columns follow a
        nearest-neighbour estimate of their law given the value, with a bias of the order of
        the neighbourhood's width that vanishes as ``m`` grows. Columns whose coding is not
        exact are left to SDV's reject sampling.
        """
        data = self._model.data
        mask = np.ones(len(data), dtype=bool)
        nearest = {}
        for column, value in conditions.items():
            index = self._columns.get_loc(column) if column in self._columns else None
            if index is None or not (self._native[index] or self._model.continuous[index]):
                continue  # noisy columns: SDV's reject sampling filters the rows

            values = data[:, index]
            if pd.isna(value) or np.isinf(value):
                mask &= np.isnan(values)
            elif self._native[index]:
                mask &= values == float(value)
            else:
                mask &= ~np.isnan(values)
                nearest[index] = float(value)

        rows = np.flatnonzero(mask)
        if len(rows) and nearest:
            columns = list(nearest)
            targets = np.array([nearest[index] for index in columns])
            scale = np.nanstd(data[:, columns], axis=0)
            scale[~(scale > 0)] = 1.0
            distance = np.sqrt(
                ((data[np.ix_(rows, columns)] - targets) / scale) ** 2 @ np.ones(len(columns))
            )
            count = _neighbourhood_size(len(rows), len(columns))
            rows = rows[distance <= np.partition(distance, count - 1)[count - 1]]

        if len(rows) == 0:
            # SDV passes this phrase through to the user instead of a generic message.
            raise ValueError(
                'Unable to sample any rows for the given conditions: no training row has '
                f'these values together in columns {list(conditions)}.'
            )

        return rows, nearest

    def _sample(self, num_rows, conditions=None):
        rows, fixed = self._condition_rows(conditions) if conditions else (None, {})
        # Redrawing the rows that round back onto a parent conditions on lam away from 0 and
        # 1. For a law that extrapolates those rows lie on both sides of 0 and 1 where u is
        # about 0, so E[u] stays 0; a law on [0, 1] would lose only u > 0 there and shrink
        # more than its theory says, so classic mixup is left as it is.
        reject = self._is_copy if self._redraws_copies else None
        sampled = self._model.sample(num_rows, rows, reject=reject)
        for index, value in fixed.items():
            sampled[:, index] = value

        return pd.DataFrame(sampled, columns=self._columns)

    @property
    def _redraws_copies(self):
        """Whether sampled rows equal to a training row are drawn again (see ``_sample``)."""
        return self._weights.eps0 + self._weights.eps1 > 0

    def _sample_rows(self, num_rows, conditions=None, *args, **kwargs):
        """SDV's ``_sample_rows``; without conditions the column codec decodes the rows."""
        keep_extra_columns = kwargs.get('keep_extra_columns', len(args) > 3 and args[3])
        fast = getattr(self, '_codec', None) is not None and not self.get_constraints()
        if not fast or conditions is not None or keep_extra_columns:
            return super()._sample_rows(num_rows, conditions, *args, **kwargs)

        previous_rows = kwargs.get('previous_rows', args[2] if len(args) > 2 else None)
        if not self._random_state_set:
            self._set_random_state(FIXED_RNG_SEED)

        raw_sampled = self._sample(num_rows)
        disable = None if num_rows >= PROGRESS_ROWS else True
        with tqdm.tqdm(total=len(self._codec.columns), desc='Decoding', disable=disable) as bar:
            sampled = self._codec.decode(raw_sampled.to_numpy(), progress=bar)

        sampled = self.reverse_transform_constraints(sampled)
        if previous_rows is not None and len(previous_rows.columns):
            sampled = pd.concat([previous_rows, sampled], ignore_index=True)

        return sampled, len(sampled)

    def _is_copy(self, block, training_keys=None):
        """Flag mixed rows that equal a training row once rounded.

        ``training_keys``: the ``KeySet`` of the training rows' ``_row_keys`` (default: all
        of them; a partition of the distributed path passes its own).
        """
        training_keys = self._training_keys if training_keys is None else training_keys
        # Equal rows hash alike; a rare collision only costs a needless redraw.
        return training_keys.contains(self._row_keys(block))

    def _row_keys(self, rows):
        """Hash each row as it will be written (``rows`` is not modified).

        Numbers are rounded, datetimes truncated and noisy category codes replaced by their
        category.
        """
        return row_keys(rows, self._hash_multipliers, self._as_written)

    def _as_written(self, grid):
        """Round, truncate and decode the noisy codes of encoded rows in place, as written."""
        rounded, truncated = self._step > 0, self._unit > 0
        for column, ends in self._cuts.items():
            grid[:, column] = categories(grid[:, column], ends)

        divisor = np.where(rounded, self._step, np.where(truncated, self._unit, 1.0))
        np.divide(grid, divisor, out=grid)  # whole rows at once; x / 1 is exact
        np.rint(grid, out=grid, where=rounded)
        np.floor(grid, out=grid, where=truncated)

    def _check_condition_values(self, conditions):
        """Reject a condition value that no synthetic row can have, naming column and value.

        Categorical and boolean values must occur in the training data; numerical values
        must be numbers and, with ``enforce_min_max_values``, lie inside the training range.
        """
        field_transformers = self.get_transformers()
        sdtypes = self._get_table_metadata().columns
        for column in conditions.columns:
            transformer = field_transformers.get(column)
            sdtype = sdtypes.get(column, {}).get('sdtype')
            for value in conditions[column].unique():
                if isinstance(transformer, LabelEncoder):
                    seen = transformer.categories_to_values
                    if seen_null := any(pd.isna(category) for category in seen):
                        seen = [category for category in seen if not pd.isna(category)]

                    if seen_null if pd.isna(value) else value in seen:
                        continue

                    shown = sorted(map(repr, map(_plain, seen)))
                    allowed = ', '.join(shown[:10]) + (
                        f' (and {len(shown) - 10} more)' if len(shown) > 10 else ''
                    )
                    reason = f'it does not occur in the training data. Use one of {allowed}.'
                elif sdtype != 'numerical' or pd.isna(value):
                    continue
                elif isinstance(value, (bool, np.bool_)) or not isinstance(
                    value, (int, float, np.integer, np.floating)
                ):
                    reason = (
                        f"it is a {type(value).__name__}, but the column has sdtype 'numerical'. "
                        'Use a number.'
                    )
                elif (
                    isinstance(transformer, FloatFormatter)
                    and transformer.enforce_min_max_values
                    and not (bounds := self._training_min_max(column))[0] <= value <= bounds[1]
                ):
                    reason = (
                        f'it is outside the training range [{bounds[0]}, {bounds[1]}] that '
                        'enforce_min_max_values keeps.'
                    )
                else:
                    continue

                raise ValueError(
                    f"Invalid condition value {_plain(value)!r} for column '{column}': {reason}"
                )

    def _training_min_max(self, column):
        """The smallest and largest training value of a numerical column, as Python numbers."""
        values = self._model.data[:, self._columns.get_loc(column)]
        low, high = np.nanmin(values), np.nanmax(values)
        return tuple(int(v) if float(v).is_integer() else float(v) for v in (low, high))

    def _validate_conditions(self, conditions):
        super()._validate_conditions(conditions)
        for condition in conditions:
            self._check_condition_values(condition)

    def _validate_known_columns(self, conditions):
        self._validate_fit_before_sample()
        if conditions.columns.duplicated().any():
            duplicated = sorted(set(map(str, conditions.columns[conditions.columns.duplicated()])))
            raise ValueError(f'Duplicate column names in known_columns: {duplicated}.')

        super()._validate_known_columns(conditions)
        self._check_condition_values(conditions)

    def _unwrap(self, sampled):
        return sampled[self._table_name] if self._returns_frame else sampled

    def _check_sampling_arguments(self, max_tries_per_batch, batch_size, output_folder_path):
        """Refuse what SDV would silently mishandle: no tries (0 rows) and escaping paths."""
        _check_count('max_tries_per_batch', max_tries_per_batch)
        if batch_size is not None:
            _check_count('batch_size', batch_size, ' or None')

        if output_folder_path:
            folder = os.path.abspath(output_folder_path)
            path = os.path.abspath(os.path.join(folder, f'{self._table_name}.csv'))
            if os.path.dirname(path) != folder:
                raise SynthesizerInputError(
                    f"Cannot write table '{self._table_name}' to output_folder_path "
                    f"'{output_folder_path}': its file '{path}' would be outside that folder. "
                    'Rename the table in the metadata.'
                )

    def set_random_state(self, random_state):
        """Seed the sampling of the fitted model.

        The same seed gives the same mixed and inherited values; generated (PII and key)
        columns follow ``reset_sampling`` as in SDV. ``reset_sampling`` goes back to the
        state right after ``fit``.

        Args:
            random_state (int or None):
                The seed; ``None`` draws fresh entropy.

        Raises:
            sdv.errors.SamplingError: If the synthesizer has not been fitted.
        """
        self._validate_fit_before_sample()
        self._set_random_state(random_state)

    def sample(
        self,
        num_rows,
        main_table_name=None,
        max_tries_per_batch=100,
        batch_size=None,
        output_folder_path=None,
    ):
        """Sample synthetic rows, with SDV 2's signature.

        Args:
            num_rows (int):
                Number of rows, an integer ``>= 0`` (``0`` gives SDV's empty table).
            main_table_name (str or None):
                The table to sample: the one of the metadata (SDV 2's name). Defaults to it.
            max_tries_per_batch (int):
                Reject-sampling tries per batch (only constraints use them), at least 1.
                Defaults to 100.
            batch_size (int or None):
                Rows per batch (and per write to ``output_folder_path``). Defaults to all.
            output_folder_path (str or None):
                Folder in which the table is also written, batch by batch, as CSV.

        Returns:
            pandas.DataFrame or dict[str, pandas.DataFrame]:
                A DataFrame when ``fit`` was given a DataFrame, SDV 2's
                ``{table_name: DataFrame}`` when it was given a dict.
        """
        _check_count('num_rows', num_rows, minimum=0)
        self._check_sampling_arguments(max_tries_per_batch, batch_size, output_folder_path)
        return self._unwrap(
            super().sample(
                int(num_rows),
                main_table_name=main_table_name,
                max_tries_per_batch=max_tries_per_batch,
                batch_size=batch_size,
                output_folder_path=output_folder_path,
            )
        )

    def sample_from_conditions(
        self, conditions, max_tries_per_batch=100, batch_size=None, output_folder_path=None
    ):
        """Sample rows that meet conditions, as ``sdv``'s method of the same name.

        Conditions are met natively: categorical and boolean values and missing values by
        mixing only the training rows that have them (within those rows the theory holds as
        in ``sample``), numerical and datetime values by mixing the rows nearest to them.

        Args:
            conditions (list[sdv.sampling.Condition]):
                The conditions and the number of rows for each.
            max_tries_per_batch (int):
                Reject-sampling tries per batch, at least 1. Defaults to 100.
            batch_size (int or None):
                Rows per batch. Defaults to all.
            output_folder_path (str or None):
                Folder in which the table is also written as CSV.

        Returns:
            pandas.DataFrame or dict[str, pandas.DataFrame]:
                As ``sample``.

        Raises:
            ValueError: If a condition names an unknown column, a categorical or boolean value
                the training data does not have, a numerical value outside the range that
                ``enforce_min_max_values`` keeps, or a combination no training row has.
        """
        self._check_sampling_arguments(max_tries_per_batch, batch_size, output_folder_path)
        return self._unwrap(
            super().sample_from_conditions(
                conditions, max_tries_per_batch, batch_size, output_folder_path
            )
        )

    def sample_remaining_columns(
        self, known_columns, max_tries_per_batch=100, batch_size=None, output_folder_path=None
    ):
        """Sample the other columns of rows whose ``known_columns`` are given.

        Args:
            known_columns (pandas.DataFrame):
                One row per output row with the known values.
            max_tries_per_batch (int):
                As in ``sample_from_conditions``.
            batch_size (int or None):
                As in ``sample_from_conditions``.
            output_folder_path (str or None):
                As in ``sample_from_conditions``.

        Returns:
            pandas.DataFrame or dict[str, pandas.DataFrame]:
                As ``sample``.
        """
        self._check_sampling_arguments(max_tries_per_batch, batch_size, output_folder_path)
        return self._unwrap(
            super().sample_remaining_columns(
                known_columns, max_tries_per_batch, batch_size, output_folder_path
            )
        )

    def save(self, filepath, format='pickle'):
        """Save the synthesizer; the file holds the training rows (a GWM model is its data).

        Args:
            filepath (str or pathlib.Path):
                The file to write.
            format (str):
                ``'pickle'`` (default): SDV's ``cloudpickle`` file, which
                ``sdv.utils.load_synthesizer`` also reads; loading it runs code from the file.
                ``'gwm'``: a zip of JSON and numpy arrays that ``load`` reads without running
                any code (see ``sdv_gwm.persistence``).
        """
        if format == 'gwm':
            persistence.save(self, filepath)
        elif format == 'pickle':
            persistence.warn_training_rows(self, filepath)
            super().save(filepath)
        else:
            raise SynthesizerInputError(
                f"Invalid value for parameter 'format': {format!r}. Use 'pickle' or 'gwm'."
            )

    @classmethod
    def load(cls, filepath, allow_pickle=True, max_bytes=persistence.MAX_BYTES):
        """Load a synthesizer written by ``save`` in either format (told apart by its header).

        Args:
            filepath (str or pathlib.Path):
                The file ``save`` wrote.
            allow_pickle (bool):
                Whether a ``'pickle'`` file may be loaded. Defaults to ``True``; pass ``False``
                for a file that is not trusted: only the ``'gwm'`` format is read then.
            max_bytes (int):
                The most a ``'gwm'`` file may inflate to (and 8 times its table's cells):
                loading it takes a few times this in memory at most. Defaults to 1 GiB.

        Returns:
            GWMSynthesizer:
                The synthesizer. A fitted one samples the same rows as the saved one did after
                ``reset_sampling``.

        Raises:
            sdv_gwm.persistence.ModelFileError: If the file is corrupt, truncated, too large,
                not allowed or holds another synthesizer; whatever the file holds, loading
                raises nothing else (but ``VersionError``).
            sdv.errors.VersionError: If the file is in another version of the ``'gwm'``
                format, or is a pickle of a synthesizer made by another version of sdv-gwm.
        """
        return persistence.load(filepath, cls, allow_pickle, max_bytes)
