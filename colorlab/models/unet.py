"""U-Net (Ronneberger et al. 2015) as in seed 000, model 4: two down blocks of two conv-BN-ReLU
layers, a conv-BN-ReLU bottleneck, two up blocks (2x2 transposed conv, skip concatenation,
conv-BN-ReLU) and a 3x3 output convolution. The skip connections carry edges straight to the
decoder, so detail survives the bottleneck. Lesson 07."""

from __future__ import annotations

import keras
from keras import layers

from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, output_head, width
from .registry import register

PRESETS = {
    # Seed 000's table: 120 x 176 input, widths 64/128/256, RGB sigmoid output: 1,092,099 parameters.
    "original": {"input_shape": (120, 176, 1), "scale": 1.0, "output": "rgb", "bn_momentum": 0.99},
    # Same topology, an eighth of the channels (>= 200 images/s at 64 x 64 on 2 CPU cores), any
    # input size divisible by 4, ab output.
    "tiny": {"input_shape": (None, None, 1), "scale": 0.125, "output": "ab", "bn_momentum": TINY_BN_MOMENTUM},
}


@register("unet", PRESETS, source="seed 000, model 4", summary="encoder-decoder with skip connections")
def unet(preset="tiny", **options) -> keras.Model:
    """Build the U-Net; ``options`` (``input_shape``, ``scale``, ``output``, ``bn_momentum``)
    override the preset."""
    c = configure(PRESETS, preset, options)
    w1, w2, w3 = (width(n, c["scale"]) for n in (64, 128, 256))

    def block(x, n):
        return conv_bn_act(x, n, c["bn_momentum"])

    inputs = keras.Input(c["input_shape"], name="L")
    down1 = block(block(inputs, w1), w1)
    down2 = block(block(layers.MaxPooling2D()(down1), w2), w2)
    bottleneck = block(layers.MaxPooling2D()(down2), w3)
    up2 = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(bottleneck)
    up2 = block(layers.Concatenate()([up2, down2]), w2)
    up1 = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(up2)
    up1 = block(layers.Concatenate()([up1, down1]), w1)
    return keras.Model(inputs, output_head(up1, c["output"]), name=f"unet_{preset}")
