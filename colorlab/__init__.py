"""colorlab: the helper library of the colorlab course on deep-learning image colorization.

Modules: ``color`` (color spaces and encodings), ``data`` (toyworld, photos, your own images,
preprocessing), ``models`` (one builder per architecture), ``plot`` (the lessons' figures),
``widgets`` (interactive tools) and ``settings`` (run sizes, FAST mode). ``check`` prints a
lesson's claim beside its measurement, and stops a normal run whose claim no longer holds. ``quiet()`` hides
TensorFlow's start-up noise; every lesson calls it first.

``import colorlab`` changes nothing in your process: no environment variable, no logger, and
TensorFlow is imported only by the modules that need it.
"""

import os
import sys
from contextlib import contextmanager

__version__ = "0.1.0"

from .checks import ClaimFailed, check  # noqa: E402  (light: no TensorFlow)

__all__ = ["ClaimFailed", "__version__", "check", "quiet"]


@contextmanager
def _stderr_to_devnull():
    """Send file descriptor 2 to /dev/null, and back afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet() -> None:
    """Import TensorFlow without its start-up noise; call it first, before anything imports it.

    Hides what a learner cannot act on: the C++ start-up log (oneDNN notes, CUDA probing, kernel
    fallbacks), which TensorFlow writes to file descriptor 2 before any Python setting applies,
    and the Python logger's warnings such as tf.function retracing, expected when a lesson trains
    several small models in one kernel, and Keras's reminder that ``shuffle=True`` does not apply
    to a ``tf.data`` pipeline (colorlab's pipelines shuffle themselves). Real failures still raise
    exceptions. Sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless it is already set, and TensorFlow's logger
    to ERROR. Calling it again changes nothing. Introduced in lesson 00.
    """
    import warnings

    warnings.filterwarnings("ignore", message="`shuffle=True` was passed", category=UserWarning)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe: it runs once, and here, silenced
    tf.get_logger().setLevel("ERROR")
