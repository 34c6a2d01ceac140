"""Seed 003's conditional GAN (pix2pix, Isola et al. 2017), lesson 11.

* Generator: a U-Net with double-convolution blocks (conv-BN-ReLU twice), 64 -> 128 -> 256 ->
  512 -> 1024 channels with max-pooling between, four up blocks (2x2 transposed convolution, skip
  concatenation, double convolution) and a 1x1 tanh a*b* head.
* Discriminator: a 70 x 70 PatchGAN: 4x4 convolutions 64 -> 128 -> 256 -> 512 with LeakyReLU
  (0.2) and batch normalisation (none on the first), then one logit per overlapping 70 x 70
  patch. It sees the L channel beside real or generated a*b*: a *conditional* GAN.
* Training (``Pix2Pix.train_step``): the generator minimises the adversarial loss plus
  ``l1_weight`` (lambda, 100 in pix2pix and seed 003) times the L1 loss; the discriminator
  minimises its own loss; each has its own optimizer.

``Pix2Pix`` is a Keras model whose inputs and outputs are the generator's, so ``predict``,
``colorize``, ``train.fit`` and the training panel treat it like any a*b* model, and
``model.save`` writes both networks into one file.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from .. import losses
from .blocks import TINY_BN_MOMENTUM, configure, conv_bn_act, width
from .registry import register

PRESETS = {
    # Seed 003: 256 x 256 L in, a*b* out, widths 64 ... 1024 (generator) and 64 ... 512 (PatchGAN).
    "original": {"input_shape": (256, 256, 1), "scale": 1.0, "d_scale": 1.0, "l1_weight": 100.0, "bn_momentum": 0.99},
    # Same topology, 1/16 of the generator's and 1/8 of the discriminator's channels; inputs
    # divisible by 16.
    "tiny": {"input_shape": (None, None, 1), "scale": 0.0625, "d_scale": 0.125, "l1_weight": 100.0,
             "bn_momentum": TINY_BN_MOMENTUM},
}


def generator(input_shape=(256, 256, 1), scale=1.0, momentum=0.99) -> keras.Model:
    """Seed 003's U-Net generator: L / 100 -> a*b* / 128."""
    widths = [width(n, scale) for n in (64, 128, 256, 512, 1024)]

    def double(x, n):
        return conv_bn_act(conv_bn_act(x, n, momentum), n, momentum)

    inputs = keras.Input(input_shape, name="L")
    skips, x = [], inputs
    for n in widths[:-1]:
        x = double(x, n)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = double(x, widths[-1])
    for n, skip in zip(reversed(widths[:-1]), reversed(skips)):
        x = layers.Conv2DTranspose(n, 2, strides=2, padding="same")(x)
        x = double(layers.Concatenate()([x, skip]), n)
    ab = layers.Conv2D(2, 1, activation="tanh", name="ab")(x)
    return keras.Model(inputs, ab, name="generator")


def patch_discriminator(input_shape=(256, 256, 1), scale=1.0, momentum=0.99) -> keras.Model:
    """The 70 x 70 PatchGAN: (L / 100, a*b* / 128) -> one real/fake logit per patch."""
    L = keras.Input(input_shape, name="L")
    ab = keras.Input((*input_shape[:2], 2), name="ab")
    x = layers.Concatenate()([L, ab])
    for i, (n, stride) in enumerate([(64, 2), (128, 2), (256, 2), (512, 1)]):
        x = layers.Conv2D(width(n, scale), 4, strides=stride, padding="same", use_bias=False)(x)
        if i:
            x = layers.BatchNormalization(momentum=momentum)(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 4, padding="same", name="patch_logits")(x)
    return keras.Model([L, ab], logits, name="patch_discriminator")


@keras.saving.register_keras_serializable(package="colorlab")
class Pix2Pix(keras.Model):
    """Generator and discriminator trained together. History keys: ``loss`` (the generator's L1
    on a*b* / 128, comparable with other models' MAE; ``val_loss`` too), ``g_loss`` (its
    adversarial term) and ``d_loss``. The generator's full loss is g_loss + l1_weight * loss."""

    def __init__(self, generator, discriminator, l1_weight=100.0, **kwargs):
        super().__init__(inputs=generator.inputs[0], outputs=generator.outputs[0], **kwargs)
        self.generator, self.discriminator, self.l1_weight = generator, discriminator, float(l1_weight)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "g_loss", "d_loss")}

    @staticmethod
    def default_optimizer(learning_rate: float | None = None) -> keras.optimizers.Optimizer:
        """pix2pix's Adam: ``learning_rate`` (default 2e-4), beta_1 = 0.5 (Isola et al. 2017)."""
        return keras.optimizers.Adam(2e-4 if learning_rate is None else learning_rate, beta_1=0.5)

    def compile(self, optimizer=None, d_optimizer=None, **kwargs):
        """``optimizer`` trains the generator and ``d_optimizer`` the discriminator; both default
        to pix2pix's Adam(2e-4, beta_1=0.5), and ``d_optimizer`` to a copy of ``optimizer``. A
        ``loss`` is ignored: the GAN's losses are fixed. Under the "mixed_float16" policy both
        optimizers are wrapped in a ``LossScaleOptimizer`` (as Keras wraps a model's one), unless
        ``auto_scale_loss=False``."""
        kwargs.pop("loss", None)
        optimizer = keras.optimizers.get(optimizer) if optimizer else self.default_optimizer()
        super().compile(optimizer=optimizer, **kwargs)
        d_optimizer = d_optimizer or optimizer.__class__.from_config(optimizer.get_config())
        if (kwargs.get("auto_scale_loss", True) and self.dtype_policy.name == "mixed_float16"
                and not isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer)):
            d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer, name="d_loss_scale_optimizer")
        self.d_optimizer = d_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def train_step(self, data):
        x, y = data[:2]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)
            real_logits = self.discriminator([x, y], training=True)
            fake_logits = self.discriminator([x, fake], training=True)
            l1 = losses.l1(y, fake)
            adversarial = losses.generator_adversarial_loss(fake_logits)
            g_total = adversarial + self.l1_weight * l1
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            # Scaled against float16 underflow by a LossScaleOptimizer (mixed precision), which
            # unscales the gradients again when it applies them; otherwise unchanged.
            g_scaled, d_scaled = self.optimizer.scale_loss(g_total), self.d_optimizer.scale_loss(d_loss)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars))
        return self._track(loss=l1, g_loss=adversarial, d_loss=d_loss)

    def test_step(self, data):
        x, y = data[:2]
        return self._track(loss=losses.l1(y, self.generator(x, training=False)))

    def _track(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: self.trackers[name].result() for name in values}

    def get_compile_config(self):
        return {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in ("optimizer", "d_optimizer")}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(value) for name, value in config.items()})
        self.optimizer.build(self.generator.trainable_variables)  # as fit builds it, so its saved state loads

    def get_config(self):
        return {"generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "l1_weight": self.l1_weight, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config.pop("generator")),
                   keras.saving.deserialize_keras_object(config.pop("discriminator")), **config)


def pix2pix_model(input_shape, scale, d_scale, l1_weight=100.0, bn_momentum=0.99, name="pix2pix") -> Pix2Pix:
    """The GAN: the U-Net ``generator`` at ``scale`` of seed 003's widths, the
    ``patch_discriminator`` at ``d_scale`` of its widths, and the L1 loss weighted by
    ``l1_weight`` (lambda)."""
    g = generator(input_shape, scale, bn_momentum)
    d = patch_discriminator(input_shape, d_scale, bn_momentum)
    return Pix2Pix(g, d, l1_weight=l1_weight, name=name)


def pix2pix_arguments(preset="tiny", **options) -> dict:
    """``pix2pix_model``'s arguments at ``preset``; ``options``: ``input_shape``, ``scale``
    (generator widths), ``d_scale`` (discriminator widths), ``l1_weight`` (lambda), ``bn_momentum``."""
    return {**configure(PRESETS, preset, options), "name": f"pix2pix_{preset}"}


pix2pix = register("pix2pix", PRESETS, pix2pix_model, pix2pix_arguments, source="seed 003 (Isola et al. 2017)",
                   summary="conditional GAN: U-Net generator + 70x70 PatchGAN, adversarial + lambda * L1")


def for_short_runs(l1_weight: float = 10.0, learning_rate: float = 2e-3, d_ratio: float = 0.1,
                   preset: str = "tiny", **options) -> Pix2Pix:
    """The GAN compiled as lessons 10 and 11 recommend for minute-long CPU runs: lambda = 10
    rather than 100 (at 100 the L1 term drowns the adversarial one in a short run and colours
    stay dull, seed 003's complaint), and a discriminator learning ``d_ratio`` times as fast as
    the generator so it does not win before the generator has learned the scene."""
    model = pix2pix(preset, l1_weight=l1_weight, **options)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(learning_rate * d_ratio, beta_1=0.5))
    return model
