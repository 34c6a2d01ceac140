"""The Keras callbacks ``train.fit`` runs: a wall-clock budget that a button can also stop
(``TimeBudget``), a guard against runs gone wrong (``TrainingGuard``), the best checkpoint so far,
written atomically (``BestCheckpoint``, ``save_atomically``), live curves and predictions in the
notebook (``LiveView``) and per-epoch timing (``EpochTimer``). Introduced in lesson 03.
"""

from __future__ import annotations

import json
import os
import time
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np

from . import color, plot
from .models import predicts


class TimeBudget(keras.callbacks.Callback):
    """Stop training cleanly, after the current batch, once ``seconds`` of wall clock have passed,
    or when ``stop()`` is called (from a button, say, in another thread). ``stopped_by`` says why
    the last run stopped (``None``, "budget" or "request"). One budget may serve several runs:
    each starts afresh, except that a stop requested between runs ends the next one."""

    def __init__(self, seconds: float | None = None):
        super().__init__()
        self.seconds, self.stopped_by, self.start = seconds, None, time.perf_counter()
        self._requested = False

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.stopped_by = "request" if self._requested else None  # not the previous run's reason

    def on_train_end(self, logs=None):
        self._requested = False

    def stop(self):
        self._requested = True
        self.stopped_by = "request"

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_by is None and self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.stopped_by = "budget"
        if self.stopped_by:
            self.model.stop_training = True


class TrainingGuard(keras.callbacks.Callback):
    """Stop training, saying why, when a loss turns NaN or infinite, or when a GAN's
    discriminator wins outright: its running loss (``d_loss``) below ``d_floor`` for ``patience``
    batches in a row, so the generator learns nothing more from it. ``reason`` keeps the message.
    Lesson 11."""

    def __init__(self, d_floor: float = 0.02, patience: int = 30):
        super().__init__()
        self.d_floor, self.patience, self.reason, self.epoch, self.wins = d_floor, patience, None, 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        losses = {key: float(value) for key, value in (logs or {}).items() if key.endswith("loss")}
        broken = [key for key, value in losses.items() if not np.isfinite(value)]
        if broken:
            return self._stop(f"{broken[0]} became {losses[broken[0]]} at epoch {self.epoch + 1}, batch {batch + 1}; "
                              "try a lower learning rate")
        self.wins = self.wins + 1 if losses.get("d_loss", np.inf) < self.d_floor else 0
        if self.wins >= self.patience:
            self._stop(f"the discriminator wins outright (d_loss below {self.d_floor} for {self.patience} batches), "
                       "so the generator gets no useful signal; lower the discriminator's learning rate or raise l1_weight")

    def _stop(self, reason: str):
        self.reason = reason
        self.model.stop_training = True
        print(f"colorlab: training stopped: {reason}")


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model whenever the monitored loss improves on the best so far, atomically (see
    ``save_atomically``). The value is recorded inside the file, so a later run to the same
    ``path`` only replaces the model there with a better one (delete the file to start afresh);
    a file without that record, or recorded for another ``monitor``, is replaced by the new
    run's first epoch, with a warning."""

    def __init__(self, path, monitor: str = "val_loss"):
        super().__init__()
        self.path, self.monitor, self.best = Path(path), monitor, np.inf
        if self.path.suffix != ".keras":
            raise ValueError(f"checkpoint path must end in .keras, got {self.path}")

    def on_train_begin(self, logs=None):
        self.best = np.inf
        if self.path.exists():
            record = checkpoint_record(self.path)
            if record.get("monitor") == self.monitor:
                self.best = record["best"]
            else:
                warnings.warn(f"{self.path} has no recorded {self.monitor}, so this run's first epoch replaces it",
                              UserWarning, stacklevel=2)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, (logs or {}).get("loss"))
        if value is None or not np.isfinite(value) or value >= self.best:
            return
        self.best = float(value)
        save_atomically(self.model, self.path, record={"monitor": self.monitor, "best": self.best})


#: The member of a ``.keras`` file (a zip archive) where ``BestCheckpoint`` records its best value.
RECORD = "colorlab_checkpoint.json"


def checkpoint_record(path) -> dict:
    """What ``BestCheckpoint`` recorded in the ``.keras`` file at ``path`` (``monitor`` and its
    ``best`` value), or ``{}`` when it recorded nothing there."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(RECORD))
    except (KeyError, zipfile.BadZipFile, ValueError):
        return {}


def save_atomically(model: keras.Model, path, record: dict | None = None) -> None:
    """``model.save(path)`` that never leaves a half-written file at ``path``: written to a
    temporary file beside it and renamed over it. ``record`` (JSON) is stored inside the file,
    as ``RECORD``."""
    def write(partial):
        model.save(partial)
        if record is not None:
            with zipfile.ZipFile(partial, "a") as archive:
                archive.writestr(RECORD, json.dumps(record))

    write_atomically(Path(path), write)


def write_atomically(path: Path, write) -> None:
    """``write(partial)`` a temporary file beside ``path`` (same suffix), then rename it over
    ``path``: ``path`` is never half-written, and a failed write leaves no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def gray_baseline_loss(model: keras.Model, images) -> float | None:
    """The loss ``model`` would have on RGB ``images`` if it predicted no colour at all: the line
    its validation loss must get under. None for a classifier (cross-entropy has no grey guess)
    and for a model compiled without a standard loss (a GAN)."""
    kind = predicts(model)
    if kind == "classes" or not model.compiled or not isinstance(images, np.ndarray):
        return None
    try:
        loss = keras.losses.get(model.loss)
    except (ValueError, TypeError):
        return None
    if loss is None:  # a GAN computes its own losses
        return None
    target = color.encode_pair(images, target=kind)[1]
    gray = np.zeros_like(target) if kind == "ab" else color.to_gray(images)
    return float(keras.ops.mean(loss(target, gray)))


class LiveView(keras.callbacks.Callback):
    """After each epoch, redraw the loss curves and predictions on a few fixed validation images,
    in place, in the notebook, as a PNG (or hand the PNG's bytes to ``show``). With
    ``baseline_images`` (the validation set), the curves carry the loss of predicting grey on
    them (``gray_baseline_loss``). Never touches pyplot (see ``plot.progress_figure``), so it may run
    in a background thread."""

    def __init__(self, images: np.ndarray, show=None, baseline_images=None):
        super().__init__()
        self.images, self.show, self.handle = images, show, None
        self.baseline_images, self.baseline = baseline_images, None
        self.history: dict[str, list] = {}

    def on_train_begin(self, logs=None):
        if self.baseline_images is not None:
            self.baseline = gray_baseline_loss(self.model, self.baseline_images)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        png = plot.progress_figure(self.model, self.history, self.images, self.baseline).png()
        if self.show is not None:
            self.show(png)
            return
        from IPython.display import Image, display

        if self.handle is None:
            self.handle = display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))


class EpochTimer(keras.callbacks.Callback):
    """Each epoch's wall-clock seconds, in ``seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)

