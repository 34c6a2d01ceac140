"""Everything that reaches into Keras's and TensorFlow's private internals, kept in one place:
workarounds for their bugs, and a layer's connections, which have no public API. Each is
applied only on the versions that need it and says so loudly (naming the versions and what
moved) when an internal it relies on is no longer where it was, rather than silently doing
nothing: a newer release may have fixed the bug or just moved the code, and only a person can
tell which. Nothing here is applied at import: each patch lasts only while its context manager
is open. Checked on Keras 3.3-3.15 (pyproject.toml stops there). Lesson 03 (``freeing_graphs``,
and ``inbound_layers`` for ``plot.architecture``) and lesson 13 (``multi_worker_fit``).
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import keras
import tensorflow as tf


class InternalsMoved(RuntimeError):
    """A private Keras or TensorFlow name a workaround needs is not where it was."""


def versions() -> str:
    return f"Keras {keras.__version__}, TensorFlow {tf.__version__}"


def keras_version() -> tuple[int, int]:
    major, minor = keras.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def inbound_layers(layer: keras.layers.Layer) -> list:
    """The layers whose outputs ``layer`` takes, in a functional model, in order (repeats kept).
    Keras 3 has no public API for a layer's connections: its private ``_inbound_nodes`` and each
    tensor's ``_keras_history`` hold them (``keras.utils.plot_model`` reads them too). Checked on
    Keras 3.3-3.15; raises ``InternalsMoved`` when they are gone."""
    try:
        return [t._keras_history[0] for node in layer._inbound_nodes for t in node.input_tensors]
    except AttributeError as error:
        raise InternalsMoved(f"a layer's connections are no longer in _inbound_nodes / _keras_history in "
                             f"{versions()} ({error}); see how keras.utils.plot_model finds them now") from error


# -- Freeing the training graphs --------------------------------------------------------------

_active_fits = 0
_filed_before: set | None = None
_fits_lock = threading.Lock()


def gradient_registry() -> dict | None:
    """TensorFlow's global gradient registry (the private ``ops.gradient_registry._registry``
    dict), or ``None``, with a warning, when TensorFlow no longer keeps it there."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        warnings.warn(f"colorlab: with {versions()}, tensorflow.python.framework.ops.gradient_registry._registry "
                      "is gone or no longer a dict, so the memory of finished fits' training graphs is not "
                      "given back (training itself is unaffected)", RuntimeWarning, stacklevel=3)
        return None
    return registry


@contextlib.contextmanager
def freeing_graphs():
    """Give back the memory of the training graphs traced while fits run (0.1-0.3 GB per model
    on a CPU) once the last running fit ends.

    Keras 3's TensorFlow optimizer all-reduces gradients through ``tf.custom_gradient``, which
    files each traced training step in TensorFlow's global gradient registry under a fresh
    ``CustomGradient-N`` name, so that step's whole graph stays in memory until the process ends,
    even after the model is deleted: a Binder kernel that trains four models runs out of memory.
    No upstream issue tracks this (searched in keras-team/keras and tensorflow/tensorflow); it is
    how ``tf.custom_gradient`` works in graph mode on every TensorFlow 2 release so far.

    An entry only matters while the graph that filed it is being traced (its gradient is looked
    up then), so the ``CustomGradient`` entries filed since the first of the running fits began
    are removed when the last one ends: fits that overlap (a training panel in a background
    thread while a cell runs another) never lose an entry while they trace. Falls back to
    keeping everything, with a warning, when TensorFlow moved its registry."""
    global _active_fits, _filed_before
    registry = gradient_registry()
    with _fits_lock:
        if _active_fits == 0 and registry is not None:
            _filed_before = set(registry)
        _active_fits += 1
    try:
        yield
    finally:
        with _fits_lock:
            _active_fits -= 1
            if _active_fits == 0 and registry is not None and _filed_before is not None:
                for name in set(registry) - _filed_before:
                    if name.startswith("CustomGradient"):
                        del registry[name]
                _filed_before = None


# -- Multi-worker fit -------------------------------------------------------------------------

#: The open upstream report of Keras 3's ``fit`` failing under ``MultiWorkerMirroredStrategy``
#: (neither bug below has an issue of its own there).
MULTI_WORKER_ISSUE = "https://github.com/keras-team/keras/issues/20585"
#: First Keras releases with each bug (both still in 3.15, the newest checked).
REDUCE_BUG_SINCE, BUILD_BUG_SINCE = (3, 3), (3, 5)


def multi_worker_fit(model: keras.Model, strategy: tf.distribute.Strategy, batches: tf.data.Dataset):
    """A context in which ``model.fit`` works under a ``MultiWorkerMirroredStrategy`` of two or
    more workers (one worker, and ``MirroredStrategy``, need none of this). It works around two
    bugs of Keras 3's TensorFlow trainer (``keras/src/backend/tensorflow/trainer.py``):

    - Keras 3.3 onwards reduce each step's scalar logs (the loss) across workers with
      ``strategy.reduce("MEAN", v, axis=0)``, which a scalar has not. Here ``reduce_per_replica``
      reduces them with ``axis=None`` (the mean over all replicas) instead.
    - Keras 3.5 onwards build the loss and optimizer state (``_maybe_symbolic_build``) from a
      first batch averaged over the replicas with ``strategy.reduce``, handing the collective a
      tuple of per-replica batches, which fails. Here the model is built from this worker's own
      first batch (``_symbolic_build``) and that step is skipped.

    Upstream: ``MULTI_WORKER_ISSUE``. Both patches last only while the context is open. Raises
    ``InternalsMoved`` naming the versions when a private name it needs has moved."""
    version = keras_version()
    if version < REDUCE_BUG_SINCE:
        raise RuntimeError(f"colorlab needs Keras 3.3 or newer for multi-worker training, not {versions()}")
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:
        trainer = None
    patch_build = version >= BUILD_BUG_SINCE
    needed = [(trainer, "reduce_per_replica")]
    if patch_build:
        needed += [(model, "_symbolic_build"), (model, "_maybe_symbolic_build")]
    missing = [name for owner, name in needed if not callable(getattr(owner, name, None))]
    if missing:
        raise InternalsMoved(
            f"multi-worker training patches Keras's private {', '.join(missing)} (Keras's TensorFlow "
            f"trainer, keras.src.backend.tensorflow.trainer), which is not where it was in {versions()}; check whether "
            f"{MULTI_WORKER_ISSUE} is fixed in this release (then colorlab.compat.multi_worker_fit can skip "
            "it) or where the code moved")
    return _patched(model, strategy, batches, trainer, patch_build)


@contextlib.contextmanager
def _patched(model, strategy, batches, trainer, patch_build: bool):
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean"):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    if patch_build:
        with strategy.scope():
            model._symbolic_build(data_batch=next(iter(batches)))
        object.__setattr__(model, "_maybe_symbolic_build", lambda *args, **kwargs: None)
    trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        trainer.reduce_per_replica = original
        if patch_build:
            object.__delattr__(model, "_maybe_symbolic_build")
