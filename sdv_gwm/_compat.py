"""Every private SDV, RDT and sdmetrics name that sdv-gwm uses, in one place.

SDV 2 has no public way to subclass a single-table synthesizer, to set the default
transformer of an sdtype, or to read what RDT learned about a column's rounding and dtype,
so sdv-gwm relies on these names. ``PRIVATE`` lists them; ``tests/test_compat.py`` checks
each on the installed versions and fails naming the one an upgrade removed. Code outside
this module goes through the accessors below or through the base-class attributes listed
here (``GWMSynthesizer`` *is* an SDV synthesizer and uses its state as SDV's own
subclasses do).
"""

#: ``(owner, name)`` of each private attribute, method or function used. An owner is the
#: import path of a class (``tests/test_compat.py`` builds a fitted instance of each) or of a
#: private module.
PRIVATE = (
    # Hooks GWMSynthesizer overrides or calls: SDV's subclass interface.
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_fit'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_transform_conditions'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_validate_conditions'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_validate_known_columns'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_validate_fit_before_sample'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_validate_table_name'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_get_table_metadata'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_set_random_state'),
    # State of an SDV synthesizer that its subclasses share.
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_fitted'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_model'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_table_name'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_data_processor'),
    # The data processor: default transformers by sdtype, and its formatters' rounding.
    ('sdv.data_processing.data_processor.DataProcessor', '_update_transformers_by_sdtypes'),
    ('sdv.data_processing.numerical_formatter.NumericalFormatter', '_rounding_digits'),
    # What RDT's FloatFormatter learned at fit.
    ('rdt.transformers.numerical.FloatFormatter', '_rounding_digits'),
    ('rdt.transformers.numerical.FloatFormatter', '_dtype'),
    # The Faker seed of a PII column, learned from its first values at fit.
    ('rdt.transformers.pii.anonymizer.AnonymizedFaker', '_faker_random_seed'),
    # Read by the column codec of the vectorized data path (the 'fast' branch).
    ('sdv.data_processing.data_processor.DataProcessor', '_hyper_transformer'),
    ('sdv.data_processing.data_processor.DataProcessor', '_DTYPE_TO_SDTYPE'),
    ('sdv.data_processing.data_processor.DataProcessor', '_warned_overflow'),
    ('sdv.data_processing.data_processor.DataProcessor', '_dtypes'),
    ('sdv.data_processing.data_processor.DataProcessor', '_keys'),
    ('rdt.hyper_transformer.HyperTransformer', '_output_columns'),
    ('rdt.transformers.numerical.FloatFormatter', '_min_value'),
    ('rdt.transformers.numerical.FloatFormatter', '_max_value'),
    ('rdt.transformers.datetime.UnixTimestampEncoder', '_has_multiple_timezones'),
    ('rdt.transformers.datetime.UnixTimestampEncoder', '_timezone_offset'),
    ('rdt.transformers.null.NullTransformer', '_missing_value_replacement'),
    ('rdt.transformers.null.NullTransformer', '_missing_value_generation'),
    ('sdv._utils', '_cast_to_datetime64'),
    ('sdv._utils', 'check_synthesizer_version'),
    ('rdt.transformers.datetime.UnixTimestampEncoder', '_dtype'),
    # SDV's fit steps the vectorized data path runs itself (GWMSynthesizer.fit).
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_check_input_metadata_updated'),
    ('sdv.single_table.base.BaseSingleTableSynthesizer', '_synthesizer_id'),
    # The console summary of an sdmetrics report, reused by sdv_gwm's own report.
    ('sdmetrics.reports.base_report.BaseReport', '_print_results'),
    # sdmetrics draws the random baseline table of DCRBaselineProtection from this seed.
    ('sdmetrics.single_table.privacy.dcr_baseline_protection.DCRBaselineProtection', '_seed'),
    # ... and draws those rows with this method (the privacy audits reuse them).
    (
        'sdmetrics.single_table.privacy.dcr_baseline_protection.DCRBaselineProtection',
        '_generate_random_data',
    ),
)


def set_default_transformer(synthesizer, sdtype, transformer):
    """Make ``transformer`` the one SDV assigns to columns of ``sdtype`` before ``fit``.

    Args:
        synthesizer (sdv.single_table.base.BaseSingleTableSynthesizer):
            The unfitted synthesizer.
        sdtype (str):
            The sdtype, e.g. ``'numerical'``.
        transformer (rdt.transformers.BaseTransformer):
            The transformer to use.
    """
    synthesizer._data_processor._update_transformers_by_sdtypes(sdtype, transformer)


def set_random_state(synthesizer, seed):
    """Seed any fitted SDV single-table synthesizer's sampling.

    ``GWMSynthesizer.set_random_state`` is public; SDV's own synthesizers have only the
    private method their sampling uses.

    Args:
        synthesizer (sdv.single_table.base.BaseSingleTableSynthesizer):
            A fitted synthesizer.
        seed (int or None):
            The seed.
    """
    public = getattr(synthesizer, 'set_random_state', None)
    (public or synthesizer._set_random_state)(seed)


def rounding_digits(transformer):
    """Return the decimal digits RDT learned to round a column to (``None``: none learned).

    Args:
        transformer (rdt.transformers.BaseTransformer):
            A fitted transformer or SDV formatter.

    Returns:
        int or None:
            The digits, or ``None`` if it learned none or has no rounding.
    """
    return getattr(transformer, '_rounding_digits', None)


def without_rounding(transformers):
    """Turn off the learned rounding of fitted transformers and formatters, in place.

    Args:
        transformers (iterable):
            Transformers and SDV formatters (a copy: these are modified).
    """
    for transformer in transformers:
        if hasattr(transformer, '_rounding_digits'):
            transformer._rounding_digits = None


def set_faker_seed(transformer, seed):
    """Give a fitted Faker-based transformer the seed ``reset_randomization`` restarts from.

    Args:
        transformer (rdt.transformers.BaseTransformer):
            A fitted transformer; nothing is done unless it uses Faker.
        seed (int):
            The seed.
    """
    if hasattr(transformer, '_faker_random_seed'):
        transformer._faker_random_seed = seed


def seeded_metric(metric_class, seed):
    """Return a subclass of an sdmetrics metric whose random baseline uses ``seed``.

    Args:
        metric_class (type):
            An sdmetrics metric that draws from a ``_seed`` class attribute.
        seed (int or None):
            The seed.

    Returns:
        type:
            The subclass; ``metric_class`` is left alone.
    """
    return type(f'Seeded{metric_class.__name__}', (metric_class,), {'_seed': seed})


def dcr_baseline_rows(metric_class, real_data, num_rows, seed):
    """Return the random rows an sdmetrics DCR baseline metric compares with, seeded.

    Args:
        metric_class (type):
            ``DCRBaselineProtection`` (or a subclass).
        real_data (pandas.DataFrame):
            The real rows whose columns the random rows imitate.
        num_rows (int):
            How many rows.
        seed (int or None):
            The seed of the random values (sdmetrics draws their missing-value mask from
            numpy's global generator).

    Returns:
        pandas.DataFrame:
            The random rows.
    """
    return seeded_metric(metric_class, seed)._generate_random_data(real_data, num_rows)


def hyper_transformer(processor):
    """Return the ``rdt.HyperTransformer`` of an SDV ``DataProcessor``."""
    return processor._hyper_transformer


def output_columns(processor):
    """Return the transformed column names of a fitted ``DataProcessor``, in order."""
    return list(processor._hyper_transformer._output_columns)


def sdtypes_of_dtypes(processor):
    """Return the sdtypes SDV derives from dtypes (it keeps other sdtypes' failed casts)."""
    return set(processor._DTYPE_TO_SDTYPE.values())


def warned_overflow(processor, warned=None):
    """Return whether SDV warned of an integer overflow; with ``warned``, set it first."""
    if warned is not None:
        processor._warned_overflow = warned

    return processor._warned_overflow


def cast_to_datetime64(value, datetime_format):
    """SDV's parse of a metadata datetime (``range_min``, ``range_max``)."""
    from sdv._utils import _cast_to_datetime64

    return _cast_to_datetime64(value, datetime_format=datetime_format)


def check_synthesizer_version(synthesizer):
    """SDV's check, on ``fit``, that the synthesizer was not made by a newer SDV."""
    import operator

    from sdv._utils import check_synthesizer_version

    check_synthesizer_version(synthesizer, is_fit_method=True, compare_operator=operator.lt)


def processor_dtypes(processor):
    """Return the dtypes an SDV ``DataProcessor`` learned on ``fit`` (a ``pandas.Series``)."""
    return processor._dtypes


def processor_keys(processor):
    """Return the primary and alternate key columns an SDV ``DataProcessor`` generates."""
    return list(processor._keys)


def transformer_state(transformer):
    """Return the fitted state of an RDT transformer that the column codec applies.

    Returns:
        dict:
            ``dtype``, ``min``, ``max``, ``rounding_digits``, ``has_multiple_timezones``,
            ``timezone_offset`` (``None`` where the transformer has no such attribute).
    """
    return {
        'dtype': getattr(transformer, '_dtype', getattr(transformer, 'dtype', None)),
        'min': getattr(transformer, '_min_value', None),
        'max': getattr(transformer, '_max_value', None),
        'rounding_digits': getattr(transformer, '_rounding_digits', None),
        'has_multiple_timezones': getattr(transformer, '_has_multiple_timezones', False),
        'timezone_offset': getattr(transformer, '_timezone_offset', None),
    }


def set_range(transformer, low, high):
    """Set the range an RDT transformer clips to on ``reverse_transform``."""
    transformer._min_value, transformer._max_value = low, high


def random_state(transformer, method):
    """Return RDT's context in which a transformer's ``method`` draws its random numbers."""
    from rdt.transformers.base import set_random_states

    return set_random_states(transformer.random_states, method, transformer.set_random_state)


def null_replacement(transformer):
    """Return what the null transformer of an RDT transformer puts in place of nulls."""
    null_transformer = getattr(transformer, 'null_transformer', None)
    if null_transformer is None:
        return None, None

    return (
        null_transformer._missing_value_replacement,
        null_transformer._missing_value_generation,
    )


def data_processor(synthesizer):
    """Return the SDV ``DataProcessor`` of a synthesizer (the distributed fit fits its codec)."""
    return synthesizer._data_processor
