"""GWM beyond one machine: fit from partitions, sample into partitions.

``sdv_gwm.scale.core`` holds the engine-agnostic partition functions; ``sdv_gwm.scale.dask``
(``DaskGWM``) and ``sdv_gwm.scale.spark`` (``SparkGWM``) run them; ``sdv_gwm.scale.files``
is the parquet-in, parquet-out command behind ``sdv-gwm synthesize --engine``.
"""
