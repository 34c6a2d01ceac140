"""colorlab: the helper library of the colorlab course on deep-learning image colorization.

Modules: ``color`` (colour spaces and encodings), ``data`` (toyworld, photos, your own images,
preprocessing), ``models`` (one builder per architecture), ``plot`` (the lessons' figures),
``widgets`` (interactive tools) and ``settings`` (run sizes, FAST mode).
"""

import os
import sys
from contextlib import contextmanager

__version__ = "0.1.0"


@contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up messages (oneDNN, CUDA
    probing) are written there before any logging setting applies, and land in every notebook."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# 3 also hides TensorFlow's C++ "error" notes about kernel fallbacks (oneDNN and int32, for one);
# real failures still raise Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
with _quiet_stderr():
    import tensorflow as _tf

    _tf.config.list_physical_devices("GPU")  # the CUDA probe, once, quietly
    # Python-side warnings such as "5 out of the last 41 calls ... triggered tf.function retracing":
    # expected when a lesson trains several small models in one kernel, and noise to a learner.
    _tf.get_logger().setLevel("ERROR")
