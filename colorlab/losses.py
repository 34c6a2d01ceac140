"""Training losses, defined once for the models, the lessons and the tests. Introduced in
lesson 10 (losses).

* pixel losses on ab / 128 targets: ``l1``, ``l2``, ``huber`` (``PIXEL_LOSSES`` by name);
* ``perceptual``: distance between frozen VGG16 features of RGB predictions and targets
  (Johnson, Alahi & Fei-Fei 2016);
* ``rebalanced_crossentropy``: per-pixel cross-entropy over ab classes, weighted by class
  (Zhang, Isola & Efros 2016);
* ``discriminator_loss`` and ``generator_adversarial_loss``: the conditional GAN's losses on
  logits, as in the TensorFlow pix2pix tutorial (Isola et al. 2017).

The two losses with settings, ``PerceptualLoss`` and ``RebalancedCrossentropy``, are
``keras.losses.Loss`` subclasses registered as serializable, so a model compiled with them saves
and loads like any other.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .backbones import VGG_MEAN, vgg16_features
from .color import AB_SCALE

# ----------------------------------------------------------------------------------------------
# Pixel losses on ab / 128.

#: Mean absolute error: the median colour when the grey image allows several; less greying.
l1 = keras.losses.MeanAbsoluteError(name="l1")
#: Mean squared error: the mean colour when several are possible, hence brown, washed-out results.
l2 = keras.losses.MeanSquaredError(name="l2")

#: ``huber``'s default: errors under 10 a*b* units are squared (like l2), larger ones count linearly.
HUBER_DELTA = 10.0 / AB_SCALE


def huber(delta: float = HUBER_DELTA) -> keras.losses.Loss:
    """Huber loss on ab / 128: quadratic below ``delta``, linear above. Keras' default delta of 1
    would be plain l2 here, since ab / 128 errors are rarely that large."""
    return keras.losses.Huber(delta=delta, name="huber")


#: The pixel losses by the names the training panel offers.
PIXEL_LOSSES = {"l1": l1, "l2": l2, "huber": huber()}


# ----------------------------------------------------------------------------------------------
# Perceptual loss.


@keras.saving.register_keras_serializable(package="colorlab")
class PerceptualLoss(keras.losses.Loss):
    """Mean squared difference of frozen VGG16 features (up to ``layer``) of RGB predictions and
    RGB targets in [0, 1]. Build it with ``perceptual``."""

    def __init__(self, input_shape, layer="block3_conv3", weights="imagenet", name="perceptual", **kwargs):
        super().__init__(name=name, **kwargs)
        self.input_shape, self.layer, self.weights = tuple(input_shape[:2]) + (3,), layer, weights
        self.features = vgg16_features(self.input_shape, weights, layer)

    def _vgg(self, rgb):
        # VGG16's caffe input: BGR, 0-255, channel means subtracted.
        return self.features(ops.flip(rgb, axis=-1) * 255.0 - ops.convert_to_tensor(VGG_MEAN, rgb.dtype),
                             training=False)

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(self._vgg(y_pred) - self._vgg(y_true)), axis=(1, 2, 3))

    def get_config(self):
        return {**super().get_config(), "input_shape": self.input_shape, "layer": self.layer,
                "weights": self.weights}


def perceptual(input_shape, layer="block3_conv3", weights="imagenet") -> PerceptualLoss:
    """Perceptual (feature reconstruction) loss for RGB images of ``input_shape`` (H, W[, 3]):
    compares what VGG16 sees rather than pixels, so a plausible colour that differs from the
    truth costs less. VGG16 loads as in ``vgg16_features`` (ImageNet weights, or random ones,
    said in one line, offline)."""
    return PerceptualLoss(input_shape, layer, weights)


# ----------------------------------------------------------------------------------------------
# Class-rebalanced cross-entropy.


@keras.saving.register_keras_serializable(package="colorlab")
class RebalancedCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy whose per-pixel terms are multiplied by
    ``weights[true class]``, then averaged over pixels. Build it with ``rebalanced_crossentropy``."""

    def __init__(self, weights, from_logits=False, name="rebalanced_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = np.asarray(weights, np.float32)
        if self.weights.ndim != 1 or not np.all(np.isfinite(self.weights)) or np.any(self.weights < 0):
            raise ValueError(f"weights must be one finite, non-negative number per class, got {weights!r}")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(self.weights):
            raise ValueError(f"the model predicts {y_pred.shape[-1]} classes but {len(self.weights)} weights "
                             "were given")
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        y_true = ops.cast(y_true, "int32")
        loss = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits)
        return loss * ops.take(ops.convert_to_tensor(self.weights, loss.dtype), y_true)

    def get_config(self):
        return {**super().get_config(), "weights": self.weights.tolist(), "from_logits": self.from_logits}


def rebalanced_crossentropy(weights, from_logits=False) -> RebalancedCrossentropy:
    """Zhang et al. (2016)'s class rebalancing: cross-entropy over ab classes where each pixel
    counts ``weights[its true class]`` times (``colorlab.models.classifiers.class_weights``), so
    rare, saturated colours are not drowned by the common greys and browns. ``from_logits=False``
    matches the classifiers' softmax output."""
    return RebalancedCrossentropy(weights, from_logits)


# ----------------------------------------------------------------------------------------------
# Adversarial losses (pix2pix).

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss: BCE(1, D(real)) + BCE(0, D(fake)), each averaged over patches."""
    return _bce(ops.ones_like(real_logits), real_logits) + _bce(ops.zeros_like(fake_logits), fake_logits)


def generator_adversarial_loss(fake_logits):
    """The generator's adversarial term: BCE(1, D(fake)), fooling the discriminator. pix2pix adds
    100 x the L1 loss to it."""
    return _bce(ops.ones_like(fake_logits), fake_logits)
