"""Colour by sampling: a conditional flow-matching (rectified flow) colorizer. A prototype for
lesson 16 (the state of the art), kept beside the benchmark that measured it
(``flow_toyworld.py``) until a lesson uses it; then it moves to ``colorlab.models``.

Regression paints toyworld's diamonds grey because the loss's best answer to "pink or teal, 50/50"
is their average. A generative model answers with a *sample* instead: here a small U-Net learns
the velocity field that carries Gaussian noise to the a*b* of the training pictures, given their
L* (Lipman et al. 2023, "Flow matching"; Liu et al. 2023, "Rectified flow").

Training (``flow_batches``, then a plain ``model.fit`` with MSE): for a picture with target
x1 = ab / 128, noise x0 ~ N(0, noise_scale^2 I) and t ~ U(0, 1), the network sees
(L / 100, x_t = (1 - t) x0 + t x1, t) and is asked for the velocity v = x1 - x0 (or, with
``target="x1"``, for x1 itself). Sampling (``sample``) integrates dx/dt = v(x, t) from fresh noise
at t = 0 to t = 1 with K Euler or Heun steps; each draw of noise gives another colorization.

Defaults are what worked best in ``flow_toyworld.py`` (2,048 toyworld scenes of 32 x 32,
40 epochs, under 3 minutes on 2 CPU cores): velocity target, noise_scale 0.5 (toyworld's a*b* / 128
spans about +-0.5; unit noise was worse), i.i.d. noise, 8-16 Euler steps.

Nothing here is registered with ``colorlab.models.build``: the network takes three inputs
(L, noisy ab, t), not L alone, and a single forward pass is not a colorization.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from colorlab import color, train

#: What the network is trained to predict: the velocity x1 - x0, or the clean target x1.
TARGETS = ("velocity", "x1")


@keras.saving.register_keras_serializable(package="colorlab")
class SinusoidalEmbedding(layers.Layer):
    """t in [0, 1] (batch, 1) -> (batch, dim) sines and cosines of t at geometric frequencies
    (1 to ``max_frequency`` cycles over [0, 1]), as transformers embed positions."""

    def __init__(self, dim: int = 32, max_frequency: float = 1000.0, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.max_frequency = dim, max_frequency

    def call(self, t):
        half = self.dim // 2
        frequencies = ops.exp(ops.linspace(0.0, math.log(self.max_frequency), half))
        angles = 2.0 * math.pi * ops.cast(t, "float32") * frequencies[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_frequency": self.max_frequency}


def film_conv(x, embedding, channels):
    """3x3 convolution, then a scale and shift per channel from the time embedding (FiLM: Perez et
    al. 2018), then SiLU. The scale starts at 1 and the shift at 0 (zero-initialised Dense)."""
    x = layers.Conv2D(channels, 3, padding="same")(x)
    film = layers.Dense(2 * channels, kernel_initializer="zeros")(embedding)
    scale, shift = film[:, None, None, :channels], film[:, None, None, channels:]
    return layers.Activation("silu")(x * (1.0 + scale) + shift)


def velocity_net(widths=(16, 32, 64), embed_dim: int = 32, name: str = "flow_unet") -> keras.Model:
    """The tiny U-Net of lesson 07 (two levels of two convolutions down, one at the bottom, one per
    level up, skip connections), with every convolution FiLM-conditioned on t and no batch
    normalisation (its statistics would mix pictures at different t). Inputs: L / 100 (H, W, 1),
    noisy ab (H, W, 2) and t (1,); H and W divisible by 4. Output: (H, W, 2), linear."""
    w1, w2, w3 = widths
    L = keras.Input((None, None, 1), name="L")
    noisy = keras.Input((None, None, 2), name="x_t")
    t = keras.Input((1,), name="t")
    e = SinusoidalEmbedding(embed_dim)(t)
    e = layers.Dense(4 * embed_dim, activation="silu")(e)
    e = layers.Dense(4 * embed_dim, activation="silu")(e)
    x = layers.Concatenate()([L, noisy])
    down1 = film_conv(film_conv(x, e, w1), e, w1)
    x = layers.MaxPooling2D()(down1)
    down2 = film_conv(film_conv(x, e, w2), e, w2)
    x = layers.MaxPooling2D()(down2)
    x = film_conv(film_conv(x, e, w3), e, w3)
    x = layers.Conv2DTranspose(w2, 2, strides=2, padding="same")(x)
    x = film_conv(layers.Concatenate()([x, down2]), e, w2)
    x = layers.Conv2DTranspose(w1, 2, strides=2, padding="same")(x)
    x = film_conv(layers.Concatenate()([x, down1]), e, w1)
    out = layers.Conv2D(2, 3, padding="same", name="velocity")(x)
    return keras.Model([L, noisy, t], out, name=name)


def source_noise(shape, seed, noise_scale: float = 0.5, coarse: int = 1):
    """The noise a sample starts from, ``shape`` (N, H, W, C), from a stateless ``seed`` (two ints):
    N(0, noise_scale^2) per pixel (``coarse=1``), or drawn on a grid ``coarse`` times coarser and
    upsampled bilinearly, so neighbouring pixels start from nearly the same noise (its per-pixel
    variance is then rescaled to noise_scale^2 by the measured factor)."""
    if coarse == 1:
        return noise_scale * tf.random.stateless_normal(shape, seed=seed)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    small = tf.random.stateless_normal((n, (h + coarse - 1) // coarse + 1, (w + coarse - 1) // coarse + 1, c), seed)
    big = tf.image.resize(small, (((h + coarse - 1) // coarse + 1) * coarse, ((w + coarse - 1) // coarse + 1) * coarse),
                          method="bilinear")
    big = big[:, coarse // 2:coarse // 2 + h, coarse // 2:coarse // 2 + w]
    return noise_scale * big / tf.math.reduce_std(big)


def flow_batches(images, batch_size: int = 64, seed: int = 0, noise_scale: float = 0.5, target: str = "velocity",
                 shuffle: bool = True, coarse: int = 1) -> tf.data.Dataset:
    """Training batches ``((L, x_t, t), target)`` from RGB ``images`` (N, H, W, 3): each pass
    draws fresh t ~ U(0, 1) per picture and fresh noise x0 ~ N(0, noise_scale^2) per pixel, from
    a stream that ``seed`` fixes. ``target``: ``"velocity"`` (x1 - x0) or ``"x1"`` (ab / 128).
    ``coarse``: the noise's grain (``source_noise``)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    L, ab = (np.asarray(a, np.float32) for a in color.encode_pair(np.asarray(images, np.float32), "ab"))
    data = tf.data.Dataset.from_tensor_slices((L, ab))
    if shuffle:
        data = data.shuffle(len(L), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def noised(batch, pair):
        x, x1 = batch
        pair = tf.cast(pair % (2**31), tf.int32)
        n = tf.shape(x1)[0]
        t = tf.random.stateless_uniform((n, 1), seed=pair)
        x0 = source_noise(tf.shape(x1), pair[::-1], noise_scale, coarse)
        tt = t[:, :, None, None]
        xt = (1.0 - tt) * x0 + tt * x1
        return (x, xt, t), (x1 - x0 if target == "velocity" else x1)

    return tf.data.Dataset.zip((data, seeds)).map(noised, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def fit(model: keras.Model, images, epochs: int = 40, budget_s: float | None = None, learning_rate: float = 2e-3,
        batch_size: int = 64, noise_scale: float = 0.5, target: str = "velocity", coarse: int = 1, seed: int = 0,
        verbose: int = 0) -> dict:
    """Train ``model`` (``velocity_net``) with the flow-matching loss on RGB ``images`` with
    ``train.fit``: Adam, the learning rate decayed to 0 over ``epochs`` by a cosine, MSE; stops
    early after ``budget_s`` seconds. Returns ``train.fit``'s history."""
    steps = epochs * math.ceil(len(images) / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    batches = flow_batches(images, batch_size, seed, noise_scale, target, coarse=coarse)
    return train.fit(model, batches, epochs=epochs, budget_s=budget_s, seed=seed, live=False, verbose=verbose)


def sample(model: keras.Model, L, steps: int = 16, samples: int = 1, seed: int = 0, noise_scale: float = 0.5,
           method: str = "euler", target: str = "velocity", coarse: int = 1, batch_size: int = 512) -> np.ndarray:
    """``samples`` draws of ab / 128 for the grey inputs ``L`` (N, H, W, 1, L / 100), by
    integrating the learned flow from noise (t = 0) to t = 1 in ``steps`` Euler or Heun steps
    (Heun: two network calls a step), from ``source_noise`` with the ``noise_scale`` and ``coarse``
    the model was trained with. Returns (samples, N, H, W, 2). The same ``seed`` gives the same
    draws."""
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    L = np.asarray(L, np.float32)
    shape = (samples * L.shape[0], *L.shape[1:-1], 2)
    noise = source_noise(shape, (seed, 0), noise_scale, coarse).numpy().reshape(samples, *L.shape[:-1], 2)
    flat_L = np.broadcast_to(L, (samples, *L.shape)).reshape(-1, *L.shape[1:])
    flat_x = noise.reshape(-1, *L.shape[1:-1], 2)
    parts = [_integrate(model, tf.constant(flat_L[i:i + batch_size]), tf.constant(flat_x[i:i + batch_size]),
                        steps, method, target).numpy()
             for i in range(0, len(flat_L), batch_size)]
    return np.concatenate(parts).reshape(noise.shape)


def _velocity(model, L, x, t, target):
    n = tf.shape(x)[0]
    out = model([L, x, tf.fill((n, 1), t)], training=False)
    if target == "velocity":
        return out
    return (out - x) / tf.maximum(1.0 - t, 1e-3)  # x1 prediction -> the velocity that reaches it at t = 1


@tf.function(reduce_retracing=True, autograph=False)  # a Python loop: no autograph, no source read
def _integrate(model, L, x, steps, method, target):
    dt = 1.0 / steps
    for k in range(steps):  # unrolled: steps is a Python int, so each K traces once
        t = k * dt
        v = _velocity(model, L, x, t, target)
        if method == "heun" and k < steps - 1:
            v = 0.5 * (v + _velocity(model, L, x + dt * v, t + dt, target))
        x = x + dt * v
    return x


def colorize(model: keras.Model, images, steps: int = 16, samples: int = 1, seed: int = 0, **options) -> np.ndarray:
    """``samples`` colorizations (samples, N, H, W, 3) of RGB or grey-as-RGB ``images`` (N, H, W, 3),
    each its own draw: the images' L* with sampled a*b*, shrunk into the sRGB gamut."""
    lab = color.rgb_to_lab(np.asarray(images, np.float32))
    L = lab[..., :1]
    ab = sample(model, L / color.L_SCALE, steps, samples, seed, **options) * color.AB_SCALE
    Ls = np.broadcast_to(L, (*ab.shape[:-1], 1))
    return np.asarray(color.lab_to_rgb(color.fit_to_gamut(np.concatenate([Ls, ab], -1))), np.float32)
