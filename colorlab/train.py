"""Training and inference for every model: ``fit`` (Keras's own ``fit`` with a wall-clock budget,
live curves and sample predictions, an atomically written best checkpoint) and ``colorize``
(any image, any size, full resolution back). Introduced in lesson 03.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import platform
import time
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import pooch
import tensorflow as tf
from matplotlib.figure import Figure

from . import color, compat, data, settings
from .models import lite0_unet, predicts, reference
from .models.classifiers import classes_of, decoding_of
from .models.hints import hint_inputs, sample_hints, takes_hints
from .models.pix2pix import Pix2Pix

#: Where ``colorize`` runs models whose input size is free: the longer side, at most.
INFER_SIDE = 256
#: How many pixels ``colorize`` hands the model at a time (bounds its memory): one image of
#: 256 x 256, or 64 patches of 32 x 32.
INFER_PIXELS = 256 * 256
#: A fit of at most this many training steps runs eagerly, without tracing a graph: on 2 CPU
#: cores tracing a training step takes 4 s (tiny U-Net) to 15 s (the GAN), as long as 8-12 eager
#: steps, so a short run (a FAST lesson, a quick panel run) ends sooner; a longer one is traced.
EAGER_STEPS = 8


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

    _write_atomically(Path(path), write)


def _write_atomically(path: Path, write) -> None:
    """``write(partial)`` a temporary file beside ``path`` (same suffix), then rename it over
    ``path``: ``path`` is never half-written, and a failed write leaves no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def settle_batch_norm(model: keras.Model, images, batch_size: int = 32, batches: int = 16, seed: int = 0) -> int:
    """Recompute every BatchNormalization layer's running mean and variance from ``batches``
    batches of ``images`` with the model's final weights, as the average of the batches'
    statistics ("precise BN": Wu and Johnson, 2021). During a short run the running averages lag
    behind weights that still change fast, and inference (``predict``, ``training=False``) then
    normalises with statistics of a model that no longer exists. Changes nothing else; returns
    how many layers it settled."""
    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    try:
        for seen, (inputs, *_) in enumerate(training_data(model, images, batch_size, seed=seed).take(batches), 1):
            for layer in norms:  # running = running * (1 - 1/seen) + batch / seen: the mean of the batches so far
                layer.momentum = 1.0 - 1.0 / seen
            model(inputs, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return len(norms)


def grey_baseline_loss(model: keras.Model, images) -> float | None:
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
    grey = np.zeros_like(target) if kind == "ab" else color.to_gray(images)
    return float(keras.ops.mean(loss(target, grey)))


class LiveView(keras.callbacks.Callback):
    """After each epoch, redraw the loss curves and predictions on a few fixed validation images,
    in place, in the notebook, as a PNG (or hand the PNG's bytes to ``show``). With
    ``baseline_images`` (the validation set), the curves carry the loss of predicting grey on
    them (``grey_baseline_loss``). Never touches pyplot (see ``progress_figure``), so it may run
    in a background thread."""

    def __init__(self, images: np.ndarray, show=None, baseline_images=None):
        super().__init__()
        self.images, self.show, self.handle = images, show, None
        self.baseline_images, self.baseline = baseline_images, None
        self.history: dict[str, list] = {}

    def on_train_begin(self, logs=None):
        if self.baseline_images is not None:
            self.baseline = grey_baseline_loss(self.model, self.baseline_images)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        png = progress_figure(self.model, self.history, self.images, self.baseline).png()
        if self.show is not None:
            self.show(png)
            return
        from IPython.display import Image, display

        if self.handle is None:
            self.handle = display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))


class PNGFigure(Figure):
    """A matplotlib figure made without pyplot, which a notebook shows as a PNG."""

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()

    _repr_png_ = png  # how IPython shows an object as a picture (pyplot's figures get a formatter instead)


def progress_figure(model, history: dict, images: np.ndarray, baseline: float | None = None):
    """Loss curves (and the ``baseline`` loss of predicting grey, if given) beside grey input,
    prediction and truth for ``images``. Drawn outside pyplot,
    whose list of open figures every thread shares with the notebook's own cells, so it can be
    drawn in any thread; a notebook shows it as a PNG, like pyplot's figures."""
    from . import plot

    n = len(images)
    figure = PNGFigure(figsize=(4 + 1.3 * n, 3.9), dpi=plot.DPI)
    grid = figure.add_gridspec(3, n + 3)
    plot.history(history, title=f"{model.name}: loss", ax=figure.add_subplot(grid[:, :3]), baseline=baseline)
    rows = {"grey": color.encode_input(images), "model": colorize(model, images), "truth": images}
    for r, (label, pictures) in enumerate(rows.items()):
        for i, picture in enumerate(pictures):
            ax = figure.add_subplot(grid[r, 3 + i])
            ax.imshow(np.squeeze(picture), cmap="gray" if label == "grey" else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label)
    figure.tight_layout()
    return figure


def input_size(model: keras.Model) -> tuple:
    """The height and width of ``model``'s (first) input, ``None`` where any size goes."""
    return tuple(model.inputs[0].shape[1:3])


def output_stride(model: keras.Model, size: int = 64) -> int:
    """How many input pixels one output pixel spans (4 for the ab classifier, else 1)."""
    shape = input_size(model)
    probe = shape if None not in shape else (size, size)
    shapes = [(1, *probe, t.shape[-1]) for t in model.inputs]
    out = model.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
    return probe[0] // out[1]


def training_data(model: keras.Model, images, batch_size: int = 32, shuffle: bool = True,
                  augment: bool = False, seed: int = 0, class_weights=None) -> tf.data.Dataset:
    """``colorlab.data.dataset`` with the target ``model`` predicts (palette and output stride of
    classifiers included); ``class_weights`` (per class) become per-pixel sample weights.

    ``images`` may also be a folder of image files (a ``str`` or ``Path``, e.g. what
    ``colorlab.data.fetch`` returns): it is streamed with ``colorlab.data.folder_dataset`` at the
    model's input size (64 pixels for models that take any size). A ``tf.data.Dataset`` of
    (input, target) batches is returned as it is (lesson 13).

    A model that takes colour hints gets them drawn from each batch's true colours
    (``models.hints.sample_hints``), afresh each epoch when ``shuffle``, always the same otherwise
    (lesson 15).
    """
    if isinstance(images, tf.data.Dataset):
        if class_weights is not None:
            raise ValueError("class_weights cannot be added to a ready-made tf.data.Dataset; "
                             "yield (input, target, weight) batches from it instead")
        return images
    target = predicts(model)
    centers = classes_of(model)[0] if target == "classes" else None
    size = input_size(model)
    if isinstance(images, (str, os.PathLike)):
        if None not in size and size[0] != size[1]:
            raise ValueError(f"{model.name} takes {size[0]} x {size[1]} inputs; folder_dataset cuts squares, "
                             "so build the pipeline yourself or use a model with a square or free input size")
        batches = data.folder_dataset(images, 64 if None in size else size[0], target, batch_size, shuffle=shuffle,
                                      seed=seed, centers=centers, stride=output_stride(model), augment=augment,
                                      class_weights=class_weights)
    else:
        if None not in size and np.asarray(images).shape[1:3] != size:
            images = data.fit_to(np.asarray(images), size)
        batches = data.dataset(images, target, batch_size, shuffle=shuffle, augment=augment, seed=seed,
                               centers=centers, stride=output_stride(model), class_weights=class_weights)
    return _with_hints(batches, seed, vary=shuffle) if takes_hints(model) else batches


def _with_hints(batches: tf.data.Dataset, seed: int, vary: bool) -> tf.data.Dataset:
    """(L, ab) batches -> ((L, hint ab, hint mask), ab): hints drawn from the true ab, each batch
    from its own seed, out of a stream that ``seed`` fixes (new each pass when ``vary``)."""
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=vary).batch(2)

    def add(batch, pair):
        x, y, *rest = batch
        return ((x, *sample_hints(y, pair)), y, *rest)

    return tf.data.Dataset.zip((batches, seeds)).map(add, num_parallel_calls=tf.data.AUTOTUNE)


def sample_images(model: keras.Model, images, samples: int = 4) -> np.ndarray:
    """``samples`` RGB images to show from ``images``: an array, a folder, or a dataset of
    (input, target) batches (decoded back to RGB from its first batch)."""
    if not isinstance(images, (tf.data.Dataset, str, os.PathLike)):
        return np.asarray(images[:samples], np.float32)
    batches = training_data(model, images, batch_size=samples, shuffle=False)
    x, y = next(iter(batches))[:2]
    x = np.asarray(x[0] if isinstance(x, tuple) else x)[:samples]  # a hint model's first input is L
    y = np.asarray(y)[:samples]
    target = predicts(model)
    if target == "classes":  # class indices, maybe at a coarser stride: their colours, upsampled
        ab = tf.image.resize(classes_of(model)[0][y] / color.AB_SCALE, x.shape[1:3], method="nearest").numpy()
        return color.decode_output(x, ab, "ab")
    return color.decode_output(x, y, target)


def fit(model: keras.Model, images, validation=None, epochs: int = 10, budget_s: float | None = None,
        learning_rate: float | None = None, loss=None, batch_size: int = 32, augment: bool = False,
        class_weights=None, checkpoint=None, live: bool | None = None, samples: int = 4,
        seed: int | None = None, verbose: int | str = "auto", callbacks=(), stopper: TimeBudget | None = None,
        strategy: tf.distribute.Strategy | None = None) -> dict:
    """Train ``model`` on RGB ``images`` (validated on ``validation``) with Keras's ``fit``.

    ``images`` and ``validation`` are arrays of RGB images, folders of image files (streamed by
    ``colorlab.data.folder_dataset``) or ready ``tf.data.Dataset``s of (input, target) batches,
    used as they are (``batch_size``, ``augment``, ``class_weights`` then do not apply).

    Stops after ``epochs`` or ``budget_s`` seconds, whichever comes first (after a whole batch).
    A run of at most ``EAGER_STEPS`` steps runs eagerly (quicker than tracing it), a longer one
    as a traced graph; the numbers agree to float32 rounding.
    Compiles the model if it is not compiled yet: Adam at ``learning_rate`` (default 1e-3);
    ``loss`` defaults to mean absolute error for ab/RGB outputs and cross-entropy for
    classifiers. A model compiled already keeps its optimizer and loss: ``learning_rate`` and
    ``loss`` then do not apply, and passing them warns (compile the model again to change them).
    With ``checkpoint`` (a ``.keras`` path), the best model so far is kept there, and a better
    one already there is kept (see ``BestCheckpoint``). ``live`` (default: inside a notebook)
    redraws curves and predictions on ``samples`` validation images each epoch. Pass a
    ``stopper`` (a ``TimeBudget``, with its own time limit or none) to be able to stop the run
    from elsewhere; ``budget_s`` applies as well, whichever ends the run first. Returns the
    history: per-epoch losses, ``seconds``, and ``stopped_by``: ``None``, "budget", "request", or
    the message of the ``TrainingGuard`` that stopped a run gone wrong (NaN, a GAN's winning
    discriminator).

    Randomness: the data order and augmentation always follow ``seed`` (0 when it is ``None``),
    so they are the same in every run. ``seed=None`` (the default) touches no global random
    generator: the model's own randomness (dropout, a GAN's noise) goes on from where the
    process left it, so seed it yourself before building the model for a repeatable run
    (``keras.utils.set_random_seed``, as the lessons do). An int ``seed`` also reseeds, at the
    start of the run, every global generator with ``keras.utils.set_random_seed(seed)``:
    Python's ``random``, NumPy's global generator, TensorFlow's global seed and Keras's own; the
    same ``seed`` and starting weights then give the same run.

    ``strategy``: any ``tf.distribute.Strategy`` (``MirroredStrategy`` for several GPUs,
    ``MultiWorkerMirroredStrategy`` for several machines, each running the same script with its
    own ``TF_CONFIG``). Build the model under its scope, then pass both; ``fit`` compiles under
    the scope and Keras splits each batch across the replicas, so ``batch_size`` is the global
    batch (each of n replicas gets batch_size / n)::

        strategy = tf.distribute.MirroredStrategy()
        with strategy.scope():
            model = models.build("unet")
        train.fit(model, images, strategy=strategy, batch_size=32 * strategy.num_replicas_in_sync)

    BatchNormalization then normalises each replica's share of the batch on its own. Lesson 13.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if strategy is not None and not _built_under(strategy, model):
        raise ValueError(f"{model.name} was not built under this strategy's scope: build it inside "
                         "`with strategy.scope():` and pass the same strategy to fit")
    if model.compiled:
        ignored = [name for name, value in (("learning_rate", learning_rate), ("loss", loss)) if value is not None]
        if ignored:
            warnings.warn(f"{model.name} is compiled already, so fit ignores {' and '.join(ignored)}: it trains with "
                          "the optimizer and loss it was compiled with (compile it again to change them)",
                          UserWarning, stacklevel=2)
    else:
        if loss is None:
            loss = "sparse_categorical_crossentropy" if predicts(model) == "classes" else "mae"
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model.compile(optimizer=_default_optimizer(model, learning_rate), loss=loss)
    data_seed = 0 if seed is None else seed
    train_data = training_data(model, images, batch_size, augment=augment, seed=data_seed, class_weights=class_weights)
    val_data = None if validation is None else training_data(model, validation, batch_size, shuffle=False)
    budget, guard = TimeBudget(budget_s), TrainingGuard()
    extra = [budget, guard, *([stopper] if stopper is not None else []), *callbacks]
    if checkpoint is not None:
        extra.append(BestCheckpoint(checkpoint, "val_loss" if val_data is not None else "loss"))
    if live is None:
        live = _in_notebook()
    if live:
        shown = validation if validation is not None else images
        extra.append(LiveView(sample_images(model, shown, samples), baseline_images=shown))
    timer = EpochTimer()
    start = time.perf_counter()
    multi_worker = strategy is not None and _workers(strategy) > 1  # one worker needs no workaround
    workaround = compat.multi_worker_fit(model, strategy, train_data) if multi_worker else contextlib.nullcontext()
    eager = strategy is None and not model.run_eagerly and _steps(images, batch_size) * epochs <= EAGER_STEPS
    with warnings.catch_warnings(), workaround, compat.freeing_graphs():
        # A streamed folder has no known length (corrupt and grey files drop out), so Keras finds
        # the end of the first epoch by running out of data and warns about it: expected here.
        warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)
        if eager:
            model.run_eagerly = True
        try:
            history = model.fit(train_data, validation_data=val_data, epochs=epochs, verbose=verbose,
                                callbacks=[timer, *extra], shuffle=False)  # the pipeline shuffles
        finally:  # let its training graphs go (a later fit traces them again, in seconds)
            model.train_function = model.test_function = None
            if eager:
                model.run_eagerly = False
    result = dict(history.history)
    result["seconds"] = timer.seconds
    result["total_seconds"] = time.perf_counter() - start
    result["stopped_by"] = guard.reason or budget.stopped_by or (stopper.stopped_by if stopper is not None else None)
    return result


#: Where the weights of the lessons' long training runs ship (``fit_or_load``), a folder per lesson.
SHIPPED_DIR = reference.WEIGHTS.parent
#: How a maintainer makes them again after changing a model, the data or ``fit``.
SHIPPED_COMMAND = "make shipped"
#: ``fit`` settings that do not change what a run learns, so they are not part of its recipe.
_NOT_RECIPE = ("budget_s", "stopper", "live", "samples", "verbose")


def fit_or_load(name: str, model: keras.Model, images: np.ndarray, validation: np.ndarray | None = None,
                **fit_settings) -> dict:
    """``fit(model, images, validation, **fit_settings)``, or the same run's result shipped with colorlab.

    A few lesson runs take minutes on 2 CPU cores (lessons 07 and 09-11). colorlab ships the weights
    they trained, ``SHIPPED_DIR/<name>.npz``, beside a record of the run (``<name>.json``: its
    recipe, history, time and machine); weights that training left as they started (a frozen
    encoder's) are not stored, as the recipe fixes them. When the record's recipe is this
    call's (the same layers, trainable parameters and starting weights, the same training and
    validation images, the same settings, apart from those that only watch or limit it:
    ``budget_s``, ``stopper``, ``live``, ``samples``, ``verbose``), the weights are loaded into
    ``model`` (not compiled) in a second, and the recorded history comes back with
    ``history["shipped"]`` naming the file. Otherwise the model trains here, and says why when a
    shipped run exists. ``settings.SHIPPED`` (``COLORLAB_SHIPPED``) = "retrain" always trains
    here; "make" trains here and writes the weights and record, atomically (``SHIPPED_COMMAND``),
    refusing a run that stopped before its last epoch. Seed the model before building it, as
    for a repeatable ``fit``.
    """
    if settings.SHIPPED not in ("use", "retrain", "make"):
        raise ValueError(f"COLORLAB_SHIPPED must be 'use', 'retrain' or 'make', not {settings.SHIPPED!r}")
    weights, record_path = SHIPPED_DIR / f"{name}.npz", SHIPPED_DIR / f"{name}.json"
    start = model.get_weights()
    recipe = _recipe(model, start, images, validation, fit_settings)
    if settings.SHIPPED == "use":
        if not record_path.is_file():
            print(f"colorlab: training {name!r} here: colorlab ships no run of it")
        else:
            record = json.loads(record_path.read_text())
            differs = sorted(key for key in recipe.keys() | record["recipe"].keys()
                             if recipe.get(key) != record["recipe"].get(key))
            if not differs:
                reference.verify(weights, record["weights_sha256"], remake=SHIPPED_COMMAND)
                with np.load(weights, allow_pickle=False) as trained:
                    model.set_weights([trained.get(f"w{i}", value) for i, value in enumerate(start)])
                history = record["history"]
                print(f"colorlab: {name!r} is the run shipped with colorlab, loaded ({len(history['loss'])} epochs, "
                      f"{history['total_seconds']:.0f} s on the machine that made it; "
                      "COLORLAB_SHIPPED=retrain trains it here)")
                return {**history, "shipped": f"{weights.parent.name}/{weights.name}"}
            print(f"colorlab: training {name!r} here: this run differs from the shipped one in {', '.join(differs)}")
    history = fit(model, images, validation, **fit_settings)
    if settings.SHIPPED == "make":
        if history["stopped_by"]:
            raise RuntimeError(f"{name!r} stopped before its last epoch ({history['stopped_by']}), so it is not "
                               "shipped: give it a larger budget_s")
        _ship(model, start, weights, record_path, {"recipe": recipe, "history": history})
    return {**history, "shipped": None}


def _recipe(model: keras.Model, start: list, images, validation, fit_settings: dict) -> dict:
    """What decides what a ``fit`` learns, in plain JSON: layers, which of them train, starting
    weights, data, settings."""
    if not isinstance(images, np.ndarray) or not (validation is None or isinstance(validation, np.ndarray)):
        raise TypeError("fit_or_load takes training and validation images as arrays")
    recipe = {"layers": [type(layer).__name__ for layer in _all_layers(model)], "parameters": model.count_params(),
              "trainable_parameters": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
              "initial_weights": _digest(start),
              "images": _digest([images]), "validation": None if validation is None else _digest([validation])}
    recipe |= {key: _plain(value) for key, value in sorted(fit_settings.items()) if key not in _NOT_RECIPE}
    return json.loads(json.dumps(recipe))  # tuples become lists, as in the record read back


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def _plain(value):
    """``value`` as JSON that names it stably: a loss function by its name, an array by its digest."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return _digest([value])
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return {type(value).__qualname__: _plain(value.get_config())}
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    raise TypeError(f"fit_or_load cannot record a setting of type {type(value).__name__}")


def _ship(model: keras.Model, start: list, weights: Path, record_path: Path, run: dict) -> None:
    """Write the weights of ``model`` that differ from ``start`` and the record of its run beside
    them, each atomically."""
    trained = {f"w{i}": value for i, (value, before) in enumerate(zip(model.get_weights(), start))
               if not np.array_equal(value, before)}
    _write_atomically(weights, lambda partial: np.savez(partial, **trained))
    record = {**run, "weights_sha256": pooch.file_hash(str(weights)),
              "weights_bytes": weights.stat().st_size, "command": SHIPPED_COMMAND,
              "made": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                       "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
                       "tensorflow": tf.__version__, "keras": keras.__version__}}
    text = json.dumps(record, indent=1, default=float) + "\n"
    _write_atomically(record_path, lambda partial: partial.write_text(text))


def _default_optimizer(model: keras.Model, learning_rate: float | None) -> keras.optimizers.Optimizer:
    """Adam at ``learning_rate`` (default 1e-3), or, for a GAN, pix2pix's Adam (2e-4, beta_1=0.5)."""
    if isinstance(model, Pix2Pix):
        return Pix2Pix.default_optimizer(learning_rate)
    return keras.optimizers.Adam(1e-3 if learning_rate is None else learning_rate)


def _steps(images, batch_size: int) -> float:
    """Training steps in one epoch over ``images``: infinite for a folder or a dataset (unknown)."""
    if isinstance(images, (tf.data.Dataset, str, os.PathLike)):
        return float("inf")
    return -(-len(images) // batch_size)


def _workers(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    return sum(len(spec.get(job, ())) for job in ("chief", "worker")) or 1


def _built_under(strategy: tf.distribute.Strategy, model: keras.Model) -> bool:
    variables = [getattr(w, "value", w) for w in model.weights]
    return all(strategy.extended.variable_created_in_scope(v) for v in variables)


def mixed_precision(enabled: bool = True) -> str:
    """Compute in float16 with float32 weights (``keras.mixed_precision`` "mixed_float16"), about
    twice as fast on GPUs with tensor cores (NVIDIA compute capability 7.0 or newer); on CPUs it
    is slower. Call it *before* building a model: it sets Keras's global dtype policy, which
    layers read when they are created (``enabled=False`` goes back to "float32"). Returns the
    previous policy's name. Keras scales the loss against float16 underflow by itself
    (``compile`` wraps the optimizer in a ``LossScaleOptimizer``) and computes the loss in
    float32.

    Caveat: the course's models keep the global policy in their output layers too, so their
    predictions come out as float16 (a resolution of about 1e-3 of ab / 128, under 0.1 ab units:
    harmless for the ab and RGB models; the classifiers' softmax over many colour classes is
    where float16 is riskiest). Lesson 13.
    """
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    return previous


class EpochTimer(keras.callbacks.Callback):
    """Each epoch's wall-clock seconds, in ``seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def colorize(model: keras.Model, images, side: int = INFER_SIDE, hints=None) -> np.ndarray:
    """Colour image(s) of any size with ``model``; returns float32 RGB of the input's height and
    width. The model sees the image's L* at its own input size (or, for free-size models, at
    most ``side`` pixels on the longer side); its colour (a*b*, the a*b* of its RGB, or its
    classes decoded at the model's temperature and boost once their probabilities are upsampled
    to that input size) is upsampled to full size, recombined with the full-resolution L* of the input,
    and shrunk into the sRGB gamut where needed. Runs the model with ``training=False``,
    ``INFER_PIXELS`` pixels at a time (a frozen VGG16's activations for a whole test set would take
    gigabytes). ``images``: (H, W, 3) or (N, H, W, 3) RGB, or (H, W) grey.

    ``hints``, for a model that takes them (lesson 15): for one image, a list of points
    ``(row, col, colour)`` in its pixels or dense ``(ab, mask)`` arrays at its size (see
    ``models.hints.hint_arrays``); for a batch, a list of one such entry per image. They are
    brought to the model's working size with the image; ``None`` means no hints.
    """
    batch, single = _as_batch(images)
    height, width = batch.shape[1:3]
    L, work, lightness = _model_input(model, batch, side)
    x = [lightness]
    if takes_hints(model):
        x += hint_inputs([hints] if single and hints is not None else hints, len(batch), height, width, work)
    elif hints is not None:
        raise ValueError(f"{model.name} takes no colour hints; build one that does (\"hint_unet\")")
    step = max(1, INFER_PIXELS // (work[0] * work[1]))
    parts = [[t[i:i + step] for t in x] for i in range(0, len(batch), step)]
    y = np.concatenate([model(part if len(part) > 1 else part[0], training=False).numpy() for part in parts])
    kind = predicts(model)
    if kind == "ab":
        ab = y * color.AB_SCALE
    elif kind == "rgb":
        ab = color.rgb_to_lab(np.clip(y, 0, 1))[..., 1:]  # its lightness is replaced by the input's
    else:
        decoding = decoding_of(model)
        ab = np.stack([color.annealed_mean(_upsampled(p, work), *decoding) for p in y])
    ab = tf.image.resize(ab, (height, width), method="bilinear").numpy()
    rgb = color.lab_to_rgb(color.fit_to_gamut(np.concatenate([L, ab], axis=-1)))
    return rgb[0] if single else rgb


def confidence_map(model: keras.Model, image, side: int = INFER_SIDE) -> np.ndarray:
    """How sure colour classifier ``model`` is of the colour it gives each part of ``image``
    (``color.confidence`` of its annealed mean, 0 to 1), at the model's output resolution for the
    size ``colorize`` runs it at. The map a confidence boost reads. Lesson 14."""
    batch, _ = _as_batch(image)
    centers, temperature = classes_of(model)
    p = model(_model_input(model, batch[:1], side)[2], training=False).numpy()[0]
    return color.confidence(p, centers, color.annealed_mean(p, centers, temperature))


def _as_batch(images) -> tuple[np.ndarray, bool]:
    """(N, H, W, 3) float RGB from one image or a batch (any integer type scaled by its range, as
    ``color.as_float_images`` does; grey (H, W) repeated), and whether it was one image."""
    images = color.as_float_images(images)
    if images.ndim == 2:
        images = np.repeat(images[..., None], 3, axis=-1)
    single = images.ndim == 3
    return (images[None] if single else images).astype(np.float32), single


def _model_input(model: keras.Model, batch: np.ndarray, side: int):
    """``batch``'s full-resolution L*, the size the model works at, and what it is given: L* / 100
    at that size."""
    L = color.rgb_to_lab(batch)[..., :1]
    work = _work_size(model, *batch.shape[1:3], side)
    return L, work, tf.image.resize(L / color.L_SCALE, work, antialias=True).numpy()


def _upsampled(probabilities: np.ndarray, size) -> np.ndarray:
    """One image's class probabilities brought to ``size`` before decoding, so a pixel at the edge
    of a pink object on green grass gets pink or green, not their greyish average (one image at a
    time: 256 x 256 pixels x 261 classes is already 68 MB)."""
    if probabilities.shape[:2] == tuple(size):
        return probabilities
    return tf.image.resize(probabilities, size, method="bilinear").numpy()


def _work_size(model: keras.Model, height: int, width: int, side: int) -> tuple[int, int]:
    """The size ``model`` runs at: its own, or at most ``side`` on the longer side, in multiples
    of 16 (of 32 for a model on the Lite0 encoder, which halves its input five times)."""
    fixed = input_size(model)
    if None not in fixed:
        return fixed
    multiple = lite0_unet.SIDE_MULTIPLE if lite0_unet.encoder_of(model) is not None else 16
    scale = min(1.0, side / max(height, width))
    return tuple(max(multiple, int(round(n * scale / multiple)) * multiple) for n in (height, width))
