"""Repeated synthesis: train each generation on the previous synthetic one (model collapse).

Classic mixup (Beta(0.4) weights) shrinks every variance by 0.78 per generation, so after
k generations it is 0.78**k of the real one; GWM's default weights keep it at 1.

    python examples/repeated_synthesis.py                           # tiny: 3 generations
    python examples/repeated_synthesis.py --generations 10 --chains 5 --html study.html
"""

import argparse
import warnings

from sdv_gwm import Beta
from sdv_gwm.datasets import load_dataset
from sdv_gwm.evaluation.study import plot_study, repeated_synthesis, summarize

parser = argparse.ArgumentParser(description='Repeated-synthesis study.')
parser.add_argument('--dataset', default='student_placements')
parser.add_argument('--target', default='placed', help='column the ML-efficacy model predicts')
parser.add_argument('--generations', type=int, default=3)
parser.add_argument('--chains', type=int, default=2)
parser.add_argument('--html', help='also save the plot as an HTML page')
args = parser.parse_args()
# Every generation's fit repeats the same SDV and scipy warnings.
warnings.simplefilter('ignore')

real, metadata = load_dataset(args.dataset)
results = repeated_synthesis(
    real,
    metadata,
    generations=args.generations,
    chains=args.chains,
    target=args.target,
    random_state=0,
)

summary = summarize(results).pivot(index='generation', columns='synthesizer', values='mean')
summary['theory: 0.78^k'] = Beta(0.4).covariance_factor ** summary.index
print('Median variance ratio of the continuous columns (mean over chains):')
print(summary.round(3).to_string())

metric = results['ml_metric'].iloc[0]
efficacy = summarize(results, 'ml_efficacy').pivot(
    index='generation', columns='synthesizer', values='mean'
)
print(f"\nML efficacy ({metric} on a real holdout, predicting '{args.target}'):")
print(efficacy.round(3).to_string())

if args.html:
    plot_study(results).write_html(args.html)
    print(f'\nWrote {args.html}')
