"""Pretrained networks that models and losses build on: VGG16's convolutional layers, frozen
(the encoder of lesson 09's VGG transformer, and lesson 10's perceptual loss).

VGG16's ImageNet weights are downloaded once and cached by Keras (``~/.keras/models/``). Where
they cannot be had (offline, a proxy), ``vgg16_features`` says so once per session and uses
random weights.
"""

from __future__ import annotations

import contextlib
import io

import keras
from keras import layers

#: Caffe-style VGG16 input: channel means (BGR) subtracted from 0-255 values.
VGG_MEAN = (103.939, 116.779, 123.68)

#: VGG16 pools five times; Keras builds it for inputs of at least this many pixels a side.
VGG16_MIN_SIZE = 32

#: The ImageNet weights of VGG16's convolutional layers, as Keras publishes and caches them.
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_WEIGHTS_FILE
_VGG16_WEIGHTS_MD5 = "6d6bbae143d832006294945121d1f1fc"

#: Why the ImageNet weights could not be had this session (None: not tried, or loaded).
_imagenet_failure: str | None = None


@keras.saving.register_keras_serializable(package="colorlab")
class GreyToVGG(layers.Layer):
    """L / 100 in [0, 1] -> the three-channel, mean-subtracted 0-255 input VGG16 was trained on."""

    def call(self, x):
        return keras.ops.concatenate([x * 255.0 - mean for mean in VGG_MEAN], axis=-1)


def imagenet_weights() -> str | None:
    """The path of VGG16's cached ImageNet weights, downloading them the first time. None where
    they cannot be had: said once per session, with what to do, and not retried."""
    global _imagenet_failure
    if _imagenet_failure is not None:
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's "Downloading data from ..." line
            return keras.utils.get_file(VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_URL, cache_subdir="models",
                                        file_hash=_VGG16_WEIGHTS_MD5)
    # get_file turns every failed fetch (offline, proxy, HTTP error) into a plain Exception, a
    # corrupt download into a ValueError, and an unwritable cache into an OSError.
    except Exception as error:
        _imagenet_failure = str(error) or type(error).__name__
    print(f"colorlab: could not download VGG16's ImageNet weights ({_imagenet_failure}); VGG16 uses random "
          f"weights for the rest of this session. To use the real ones, download {VGG16_WEIGHTS_URL} into "
          "~/.keras/models/ (or $KERAS_HOME/models/) on a machine with internet access and restart the "
          "kernel; pass weights=None to choose random weights without this message.")
    return None


def vgg16_features(input_shape, weights="imagenet", layer="block3_conv3") -> keras.Model:
    """Frozen VGG16 from its (H, W, 3) input, H and W at least 32, to ``layer``. ``weights``:
    ``"imagenet"`` (the real weights, or random ones where they cannot be downloaded, see
    ``imagenet_weights``), ``None`` (random) or the path of a weights file. Lessons 09 and 10."""
    *size, channels = tuple(input_shape)
    if len(size) != 2 or channels != 3:
        raise ValueError(f"VGG16 takes (height, width, 3) RGB inputs, got input_shape={tuple(input_shape)}")
    if any(n is not None and n < VGG16_MIN_SIZE for n in size):
        raise ValueError(f"VGG16 needs inputs of at least {VGG16_MIN_SIZE} x {VGG16_MIN_SIZE} pixels, "
                         f"got {size[0]} x {size[1]}")
    if weights == "imagenet":
        weights = imagenet_weights()
    vgg = keras.applications.VGG16(include_top=False, weights=weights, input_shape=tuple(input_shape))
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name=f"vgg16_to_{layer}")
    features.trainable = False
    return features
