"""Compare GWM with SDV's GaussianCopula and CTGAN on the same real table.

CTGAN trains for only --epochs epochs (5 by default) so that the example is quick; give it
300 for a fair comparison.

    python examples/compare_peers.py
    python examples/compare_peers.py --dataset AER/CPS1985 --epochs 300
"""

import argparse
import time
import warnings

import pandas as pd
from sdv.evaluation import evaluate_quality
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

from sdv_gwm import GWMSynthesizer
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.report import StructureReport

parser = argparse.ArgumentParser(description='GWM vs GaussianCopula vs CTGAN.')
parser.add_argument('--dataset', default='student_placements')
parser.add_argument('--epochs', type=int, default=5, help='CTGAN training epochs')
args = parser.parse_args()
warnings.simplefilter('ignore')

real, metadata = load_dataset(args.dataset)
table_name = next(iter(metadata.tables))
synthesizers = {
    'GWM': GWMSynthesizer(metadata),
    'GaussianCopula': GaussianCopulaSynthesizer(metadata),
    f'CTGAN ({args.epochs} epochs)': CTGANSynthesizer(metadata, epochs=args.epochs),
}

rows = []
for name, synthesizer in synthesizers.items():
    start = time.time()
    synthesizer.fit({table_name: real})
    synthetic = synthesizer.sample(len(real))[table_name]
    seconds = time.time() - start
    report = StructureReport()
    report.generate(real, synthetic, metadata, verbose=False)
    moments = report.get_details('Moments')
    rows.append(
        {
            'synthesizer': name,
            'fit + sample (s)': seconds,
            'median std ratio': moments['Std Ratio'].median(),
            'covariance rel. error': report.covariance_relative_error,
            'structure score': report.get_score(),
            'SDV quality score': evaluate_quality(real, synthetic, metadata, False).get_score(),
        }
    )

print(f'{args.dataset}: {len(real)} rows, {len(real.columns)} columns\n')
print(pd.DataFrame(rows).set_index('synthesizer').round(3).to_string())
