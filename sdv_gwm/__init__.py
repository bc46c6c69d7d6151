"""Structure-preserving synthetic tables by generalized weighted mixup, for SDV."""

from sdv_gwm.synthesizer import GWMSynthesizer
from sdv_gwm.weights import Beta, EpBeta, Uniform

__all__ = ['Beta', 'EpBeta', 'GWMSynthesizer', 'Uniform']
__version__ = '0.1.0'
