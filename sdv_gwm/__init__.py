"""Structure-preserving synthetic tables by generalized weighted mixup, for SDV."""

# SDV imports its add-ons, this package's synthesizer among them, when it is first imported:
# importing it before the synthesizer module starts lets that module load whole, once.
import sdv  # noqa: F401

from sdv_gwm.synthesizer import GWMSynthesizer
from sdv_gwm.weights import Beta, EpBeta, Uniform

__all__ = ['Beta', 'EpBeta', 'GWMSynthesizer', 'Uniform']
__version__ = '0.1.0'
