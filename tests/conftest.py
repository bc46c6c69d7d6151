import os
import sys

from hypothesis import HealthCheck, settings

# 'ci' is the default quick run; the long one is
# HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
settings.register_profile(
    'ci', max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    'long', max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

# Spark's Python workers run the interpreter of the tests (tests/test_scale_spark.py).
os.environ['PYSPARK_PYTHON'] = sys.executable
