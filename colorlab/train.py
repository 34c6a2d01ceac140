"""Training every model: ``fit`` (Keras's own ``fit`` with a wall-clock budget, live curves and
sample predictions, an atomically written best checkpoint), the batches it trains on
(``training_data``), and what a short run needs afterwards (``settle_batch_norm``). The callbacks
it runs live in ``callbacks``; colouring pictures with the trained model, in ``inference``; the
lessons' long runs, shipped with colorlab, in ``shipped``. Introduced in lesson 03.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from . import color, compat, data
from .callbacks import BestCheckpoint, EpochTimer, LiveView, TimeBudget, TrainingGuard
from .inference import input_size, output_stride
from .models import all_layers, predicts
from .models.classifiers import classes_of
from .models.hints import sample_hints, takes_hints
from .models.pix2pix import Pix2Pix

#: A fit of at most this many training steps runs eagerly, without tracing a graph: on 2 CPU
#: cores tracing a training step takes 4 s (tiny U-Net) to 15 s (the GAN), as long as 8-12 eager
#: steps, so a short run (a FAST lesson, a quick panel run) ends sooner; a longer one is traced.
EAGER_STEPS = 8


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

    Randomness: the data order and augmentation follow ``seed`` (0 when it is ``None``) together
    with TensorFlow's global seed, which tf.data combines with every op's own seed. ``seed=None``
    (the default) touches no global random generator: the data order then depends on the global
    seed the process last set (TensorFlow's default if none), and the model's own randomness
    (dropout, a GAN's noise) goes on from where the process left it, so seed it yourself before
    building the model for a repeatable run (``keras.utils.set_random_seed``, as the lessons do). An int ``seed`` also reseeds, at the
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


def settle_batch_norm(model: keras.Model, images, batch_size: int = 32, batches: int = 16, seed: int = 0) -> int:
    """Recompute every BatchNormalization layer's running mean and variance from ``batches``
    batches of ``images`` with the model's final weights, as the average of the batches'
    statistics ("precise BN": Wu and Johnson, 2021). During a short run the running averages lag
    behind weights that still change fast, and inference (``predict``, ``training=False``) then
    normalises with statistics of a model that no longer exists. Changes nothing else; returns
    how many layers it settled."""
    norms = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
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


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")

