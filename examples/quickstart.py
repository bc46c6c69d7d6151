"""Quickstart: fit GWM on a real table, sample from it, and check what it kept.

python examples/quickstart.py
"""

import argparse

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import StructureReport

parser = argparse.ArgumentParser(description='Fit GWM on a real table and compare.')
parser.add_argument('--dataset', default='student_placements')
parser.add_argument('--rows', type=int, help='synthetic rows (default: as many as real)')
args = parser.parse_args()

# A real table and its SDV metadata (shipped with sdmetrics: no download).
real, metadata = load_dataset(args.dataset)

# GWMSynthesizer is an SDV synthesizer: the usual fit / sample workflow.
synthesizer = GWMSynthesizer(metadata)
synthesizer.fit(real)
synthetic = synthesizer.sample(num_rows=args.rows or len(real))
print(synthetic.head())

# Means, variances, covariance and categories are kept: the structure report scores them.
report = StructureReport()
report.generate(real, synthetic, metadata, verbose=False)
print()
print(report.get_properties().to_string(index=False))
print(f'Overall score: {report.get_score():.3f}')
print(f'Covariance relative error (0 is perfect): {report.covariance_relative_error:.3f}')
print()
print('Std ratio (synthetic / real) per numeric column:')
print(report.get_details('Moments').set_index('Column')['Std Ratio'].round(3).to_string())
