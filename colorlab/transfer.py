"""Transfer learning with a frozen encoder: its features computed once, a decoder trained on them.

A frozen encoder gives every picture the same features in every epoch, so running it again each
step is wasted work: ``encode`` runs it once over the training pictures (mirrored copies too, the
the one augmentation the lessons use) and keeps its outputs as
float16; ``fit_decoder`` then trains only the decoder on them, several times faster than training
through the encoder. Lessons 09 and ``benchmarks/train_reference.py`` (the reference colorizer of lesson 14).
"""

from __future__ import annotations

import time

import keras
import numpy as np

from . import backbones, color, compat, data
from .callbacks import EpochTimer
from .models import predicts
from .models.classifiers import classes_of
from .models.hints import sample_hints
from .models.lite0_unet import CLASS_STRIDE

#: Pictures the encoder sees at a time (its activations, not its weights, fill the memory).
ENCODE_BATCH = 32


class Cache:
    """Pictures prepared for a decoder: ``inputs`` ([L* / 100, features at strides 2-32], float16)
    and the pictures themselves (``images``, uint8 RGB), in the same order."""

    def __init__(self, images: np.ndarray, inputs: list[np.ndarray], seconds: float):
        self.images, self.inputs, self.seconds = images, inputs, seconds

    def __len__(self):
        return len(self.images)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.inputs)


def encode(encoder: keras.Model, images: np.ndarray, flips: bool = False, batch_size: int = ENCODE_BATCH) -> Cache:
    """``images`` (N, H, W, 3 RGB, sides divisible by 32) and the ``encoder``'s features of their
    L*, float16. ``flips``: also their mirror images (2N pictures), each encoded on its own: the
    features of a flipped picture are not exactly the flipped features, because 'same' padding
    pads the right and bottom edges more than the left and top."""
    images = data.to_uint8(images)
    if flips:
        images = np.concatenate([images, images[:, :, ::-1]])
    start = time.perf_counter()
    features, inputs = backbones.traced(encoder), None
    for i in range(0, len(images), batch_size):  # a batch at a time: float copies of all would be large
        L = color.encode_input(images[i:i + batch_size])
        batch = [L, *features(L)]
        if inputs is None:  # filled in place: joining per-batch parts would briefly hold the cache twice
            inputs = [np.empty((len(images), *level.shape[1:]), np.float16) for level in batch]
        for cached, level in zip(inputs, batch):
            cached[i:i + len(level)] = level
    return Cache(images, inputs, time.perf_counter() - start)


def targets(decoder: keras.Model, images: np.ndarray) -> np.ndarray:
    """What ``decoder`` learns to predict for ``images``: a*b* / 128, or class indices at its
    output stride."""
    if predicts(decoder) == "ab":
        return color.encode_pair(images, "ab")[1].astype(np.float16)
    return color.encode_pair(images, "classes", classes_of(decoder)[0], stride=CLASS_STRIDE)[1]


class _Batches(keras.utils.PyDataset):
    """Shuffled batches of cached features and targets, each cast to float32 as it is served (the
    whole cache in float32 would take twice its memory, and Keras would copy it again). With
    ``hints``, each batch also gets colour hints drawn from its true a*b* (``sample_hints``),
    afresh each epoch when shuffled."""

    def __init__(self, inputs, target, batch_size: int, seed: int, shuffle: bool, hints: bool = False):
        super().__init__()
        self.inputs, self.target, self.batch_size, self.shuffle = inputs, target, batch_size, shuffle
        self.hints, self.seed, self.epoch = hints, seed, 0
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(target)) if shuffle else np.arange(len(target))

    def __len__(self):
        return int(np.ceil(len(self.target) / self.batch_size))

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        x = tuple(a[rows].astype(np.float32) for a in self.inputs)
        y = self.target[rows]
        y = y.astype(np.float32) if y.dtype == np.float16 else y
        if self.hints:
            x += tuple(h.numpy() for h in sample_hints(y, (self.seed, self.epoch * len(self) + index)))
        return x, y

    def on_epoch_end(self):
        if self.shuffle:
            self.order = self.rng.permutation(len(self.target))
            self.epoch += 1


def fit_decoder(decoder: keras.Model, cache: Cache, validation: Cache | None = None, epochs: int = 5,
                batch_size: int = 16, learning_rate: float = 2e-3, seed: int = 0, verbose: int = 0) -> dict:
    """Train ``decoder`` on the cached features (L1 for a*b*, cross-entropy for classes), Adam
    with a cosine-decayed learning rate, shuffled with ``seed``; a decoder that takes colour hints
    gets them drawn from the truth, as ``train.fit`` gives ``hint_unet`` its hints. Returns the history as
    ``train.fit`` does: loss per epoch (``val_loss`` with ``validation``), ``seconds`` per epoch
    and ``total_seconds``."""
    keras.utils.set_random_seed(seed)
    steps = epochs * int(np.ceil(len(cache) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    loss = "mean_absolute_error" if predicts(decoder) == "ab" else "sparse_categorical_crossentropy"
    decoder.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    hints = "hint_ab" in [t.name for t in decoder.inputs]
    batches = _Batches(cache.inputs, targets(decoder, cache.images), batch_size, seed, shuffle=True, hints=hints)
    val = None if validation is None else _Batches(validation.inputs, targets(decoder, validation.images),
                                                   batch_size, seed, shuffle=False, hints=hints)
    timer = EpochTimer()
    start = time.perf_counter()
    with compat.freeing_graphs():  # as train.fit: a lesson that trains six decoders must not keep six graphs
        try:
            history = decoder.fit(batches, validation_data=val, epochs=epochs, verbose=verbose, callbacks=[timer]).history
        finally:
            decoder.train_function = decoder.test_function = None
    return {**{k: [float(v) for v in vs] for k, vs in history.items()}, "seconds": timer.seconds,
            "total_seconds": time.perf_counter() - start}
