"""Conditional sampling: synthetic rows that meet conditions on categorical columns.

GWM meets categorical conditions natively: it only mixes the real rows that meet them, so
within the condition the structure is kept as in plain sampling (no reject sampling).

    python examples/conditional_sampling.py
"""

import argparse

import pandas as pd
from sdv.sampling import Condition

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset

parser = argparse.ArgumentParser(description='Sample rows that meet conditions.')
parser.add_argument('--rows', type=int, default=200, help='rows per condition')
args = parser.parse_args()

real, metadata = load_dataset('student_placements')
synthesizer = GWMSynthesizer(metadata).fit(real)

conditions = [
    Condition(num_rows=args.rows, column_values={'gender': 'F', 'placed': True}),
    Condition(num_rows=args.rows, column_values={'gender': 'M', 'placed': False}),
]
synthetic = synthesizer.sample_from_conditions(conditions)
print(synthetic.groupby(['gender', 'placed']).size().rename('synthetic rows').to_string())

# Each group's numbers come from mixing that group's real rows: the group means match.
columns = ['mba_perc', 'degree_perc', 'employability_perc']
keys = ['gender', 'placed']
comparison = pd.concat(
    {
        'real': real.groupby(keys)[columns].mean(),
        'synthetic': synthetic.groupby(keys)[columns].mean(),
    },
    axis=1,
).loc[[('F', True), ('M', False)]]
print()
print('Group means, real vs synthetic:')
print(comparison.round(2).to_string())

# Known columns for each output row, the others filled in by mixing matching real rows.
known = pd.DataFrame({'degree_type': ['Sci&Tech', 'Comm&Mgmt', 'Others']})
print()
print(synthesizer.sample_remaining_columns(known)[['degree_type', 'degree_perc', 'placed']])
