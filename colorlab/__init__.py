"""colorlab: the helper library of the colorlab course on deep-learning image colorization.

Modules: ``color`` (colour spaces and encodings), ``data`` (toyworld, photos, your own images,
preprocessing), ``models`` (one builder per architecture), ``plot`` (the lessons' figures),
``widgets`` (interactive tools) and ``settings`` (run sizes, FAST mode).
"""

import os

# Keep TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) out of the lessons.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
