"""Colour maths: RGB <-> CIELAB, luma, model encodings, colour difference and colourfulness.

Conventions (the data contract of CONTRIBUTING.md), defined here once for the library, lessons and tests:

* images are float RGB in [0, 1], channels last;
* CIELAB is D65 / 2-degree, L in [0, 100], a and b roughly in [-128, 127], the same numbers as
  scikit-image's ``rgb2lab`` / ``lab2rgb``;
* every model sees L / 100 as its single input channel; LAB models predict ab / 128 (tanh), RGB
  models predict RGB (sigmoid), classifiers predict an index into a set of ab ``centers``.

``rgb_to_lab`` and ``lab_to_rgb`` are TensorFlow ops: batched over any leading shape,
differentiable (finite gradients everywhere, black included) and usable inside ``tf.data`` and
models. They return NumPy for NumPy input and tensors for tensors.

Introduced in lesson 01 (colour spaces).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf
from skimage.color import deltaE_cie76, deltaE_ciede2000

# sRGB primaries -> XYZ, and the D65 / 2-degree white point: the numbers scikit-image uses.
XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])

#: Model encodings: input = L / L_SCALE, LAB target = ab / AB_SCALE.
L_SCALE = 100.0
AB_SCALE = 128.0

#: Luma weights, applied to gamma-encoded (not linear) R, G, B. Each row sums to 1, so white
#: stays white. "skimage" is what ``skimage.color.rgb2gray`` uses.
LUMA_WEIGHTS = {
    "rec601": (0.299, 0.587, 0.114),
    "rec709": (0.2126, 0.7152, 0.0722),
    "skimage": (0.2125, 0.7154, 0.0721),
}

TARGETS = ("ab", "rgb", "classes")

# CIE constants: the linear segment of f(t) below (6/29)^3 and of its inverse below 6/29.
_EPSILON = 0.008856
_F_LINEAR_LIMIT = 0.2068966


def _srgb_to_linear(v):
    """sRGB gamma -> linear light, on [0, 1] values. tf.maximum keeps the unused branch finite,
    so gradients are too."""
    return tf.where(v <= 0.04045, v / 12.92, tf.pow((tf.maximum(v, 0.04045) + 0.055) / 1.055, 2.4))


_WHITE_RELATIVE_XYZ_FROM_RGB = XYZ_FROM_RGB / D65_WHITE[:, None]
_LAB_FROM_F = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])

#: Linear light of each 8-bit value: uint8 tensors (the input pipelines') are looked up, not powered.
_LINEAR_FROM_UINT8 = _srgb_to_linear(tf.constant(np.arange(256) / 255.0)).numpy().astype(np.float32)


#: NumPy input is converted this many pixels at a time, so converting a whole dataset never holds
#: more than a few MB of TensorFlow intermediates (the memory budget of a 2 GB Binder box).
CHUNK_PIXELS = 1 << 18


def _tensor_io(fn):
    """Run a TF implementation on NumPy or tensor input; hand back the same kind of value.

    NumPy input with a leading batch axis is processed in chunks of about ``CHUNK_PIXELS``.
    """

    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        if tf.is_tensor(x):
            return fn(x, *args, **kwargs)
        x = as_float_images(x)
        pixels_per_item = int(np.prod(x.shape[1:-1], dtype=np.int64)) if x.ndim > 1 else 1
        step = max(1, CHUNK_PIXELS // max(1, pixels_per_item))
        if x.ndim < 2 or len(x) <= step:
            return tf.nest.map_structure(lambda t: t.numpy(), fn(tf.convert_to_tensor(x), *args, **kwargs))
        parts = [fn(tf.convert_to_tensor(x[i:i + step]), *args, **kwargs) for i in range(0, len(x), step)]
        return tf.nest.map_structure(lambda *chunks: np.concatenate([c.numpy() for c in chunks]), *parts)

    return wrapper


def as_float_images(x) -> np.ndarray:
    """``x`` as floats: integers scaled to [0, 1] as float32 (divided in place: one copy, not two),
    float64 kept, other floats as float32."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        floats = x.astype(np.float32)
        floats /= np.iinfo(x.dtype).max
        return floats
    if x.dtype == np.float64:
        return x
    return x.astype(np.float32)


def _check_channels(x, what: str):
    if x.shape.rank == 0 or (x.shape[-1] is not None and x.shape[-1] != 3):
        raise ValueError(f"{what} needs a last axis of size 3, got shape {tuple(x.shape)}")
    if not x.dtype.is_floating:
        x = tf.image.convert_image_dtype(x, tf.float32)
    return x


@_tensor_io
def rgb_to_lab(rgb):
    """sRGB in [0, 1] (any leading shape, last axis 3) -> CIELAB D65, as ``skimage.color.rgb2lab``.

    Integer input (uint8, uint16) is scaled to [0, 1] first. Introduced in lesson 01.
    """
    if rgb.dtype == tf.uint8 and rgb.shape.rank and rgb.shape[-1] == 3:
        linear = tf.gather(_LINEAR_FROM_UINT8, tf.cast(rgb, tf.int32))  # the same values, faster
    else:
        linear = _srgb_to_linear(_check_channels(rgb, "rgb_to_lab"))
    dtype = linear.dtype
    t = tf.tensordot(linear, tf.constant(_WHITE_RELATIVE_XYZ_FROM_RGB.T, dtype), axes=1)  # X/Xn, Y/Yn, Z/Zn
    f = tf.where(
        t > _EPSILON,
        tf.pow(tf.maximum(t, _EPSILON), 1.0 / 3.0),
        7.787 * t + 16.0 / 116.0,
    )
    # L* = 116 fy - 16, a* = 500 (fx - fy), b* = 200 (fy - fz): one small matrix product.
    return tf.tensordot(f, tf.constant(_LAB_FROM_F.T, dtype), axes=1) - tf.constant([16.0, 0.0, 0.0], dtype)


@_tensor_io
def lab_to_rgb(lab):
    """CIELAB D65 -> sRGB clipped to [0, 1], as ``skimage.color.lab2rgb``. Introduced in lesson 01."""
    return tf.clip_by_value(_lab_to_unclipped_rgb(_check_channels(lab, "lab_to_rgb")), 0.0, 1.0)


@_tensor_io
def fit_to_gamut(lab, steps=12):
    """Shrink each pixel's a*b* towards grey, keeping its L*, just enough that it can be shown in
    sRGB (bisection on the chroma scale, ``steps`` halvings). Clipping RGB instead would change
    the lightness and hue. Introduced in lesson 03 (``colorlab.inference.colorize`` uses it)."""
    lab = _check_channels(lab, "fit_to_gamut")
    lab = tf.concat([tf.clip_by_value(lab[..., :1], 0.0, 100.0), lab[..., 1:]], axis=-1)

    def fits(pixels, scale):
        rgb = _lab_to_unclipped_rgb(tf.concat([pixels[:, :1], pixels[:, 1:] * scale], axis=-1))
        return tf.reduce_all((rgb >= -1e-4) & (rgb <= 1 + 1e-4), axis=-1, keepdims=True)

    flat = tf.reshape(lab, (-1, 3))
    outside = tf.where(~fits(flat, 1.0)[:, 0])  # only these pixels are bisected (most fit as they are)
    pixels = tf.gather_nd(flat, outside)
    low, high = tf.zeros_like(pixels[:, :1]), tf.ones_like(pixels[:, :1])
    for _ in range(steps):
        middle = (low + high) / 2
        ok = fits(pixels, middle)
        low, high = tf.where(ok, middle, low), tf.where(ok, high, middle)
    shrunk = tf.concat([pixels[:, :1], pixels[:, 1:] * low], axis=-1)
    return tf.reshape(tf.tensor_scatter_nd_update(flat, outside, shrunk), tf.shape(lab))


def _lab_to_unclipped_rgb(lab):
    dtype = lab.dtype
    L, a, b = tf.unstack(lab, axis=-1)
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = tf.maximum(fy - b / 200.0, 0.0)  # as scikit-image: Z below 0 is out of range
    f = tf.stack([fx, fy, fz], axis=-1)
    t = tf.where(f > _F_LINEAR_LIMIT, f**3, (f - 16.0 / 116.0) / 7.787)
    xyz = t * tf.constant(D65_WHITE, dtype)
    linear = tf.tensordot(xyz, tf.constant(RGB_FROM_XYZ.T, dtype), axes=1)
    return tf.where(
        linear > 0.0031308,
        1.055 * tf.pow(tf.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055,
        12.92 * linear,
    )


@_tensor_io
def luma(rgb, weights="rec601"):
    """Weighted sum of gamma-encoded R, G, B: a grey image with the input's leading shape.

    ``weights`` is a name from ``LUMA_WEIGHTS`` or any three numbers. Introduced in lesson 01.
    """
    rgb = _check_channels(rgb, "luma")
    w = LUMA_WEIGHTS[weights] if isinstance(weights, str) else weights
    return tf.tensordot(rgb, tf.constant(w, rgb.dtype), axes=1)


@_tensor_io
def to_gray(rgb):
    """The same image(s) with a* = b* = 0: what a greyscale photo shows, and what the grayscale
    baseline "predicts". Introduced in lesson 01."""
    lab = rgb_to_lab(_check_channels(rgb, "to_gray"))
    return lab_to_rgb(lab * tf.constant([1.0, 0.0, 0.0], lab.dtype))


@_tensor_io
def chroma(lab):
    """Chroma C*ab = sqrt(a^2 + b^2): how far a colour is from grey. Introduced in lesson 01."""
    lab = _check_channels(lab, "chroma")
    return tf.norm(lab[..., 1:], axis=-1)


@_tensor_io
def boost_saturation(rgb, a_gain=1.6, b_gain=2.0):
    """Seed 004's fix for dull output: multiply a* by ``a_gain`` and b* by ``b_gain``, keep L*,
    shrink back into the sRGB gamut. Cosmetic: it scales whatever colour is there, right or
    wrong. Lesson 10 measures it."""
    lab = rgb_to_lab(_check_channels(rgb, "boost_saturation"))
    return lab_to_rgb(fit_to_gamut(lab * tf.constant([1.0, a_gain, b_gain], lab.dtype)))


# ----------------------------------------------------------------------------------------------
# Model encodings. Introduced in lesson 02 (data); every model lesson uses them.


@_tensor_io
def encode_input(rgb):
    """RGB image(s) -> the model input every architecture sees: L / 100, one channel."""
    return rgb_to_lab(_check_channels(rgb, "encode_input"))[..., :1] / L_SCALE


@_tensor_io
def encode_pair(rgb, target="ab", centers=None, stride=1):
    """RGB image(s) -> (model input, training target), from one LAB conversion.

    The input is ``encode_input(rgb)``; the target is ab / 128 for ``"ab"``, the RGB image for
    ``"rgb"``, and for ``"classes"`` the per-pixel index of the nearest of ``centers`` (k x 2,
    in ab units), at 1/``stride`` resolution (ab averaged over stride x stride blocks) for
    classifiers that predict at a lower resolution.
    """
    lab = rgb_to_lab(rgb)  # first: 8-bit input converts fastest as it is
    x = lab[..., :1] / L_SCALE
    if target == "rgb":
        return x, _check_channels(rgb, "encode_pair")
    if target == "ab":
        return x, lab[..., 1:] / AB_SCALE
    if target == "classes":
        ab = lab[..., 1:]
        if stride > 1:
            ab = tf.nn.avg_pool2d(ab, stride, stride, "VALID")
        return x, quantize_ab(ab, _require_centers(centers))
    raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}")


def decode_output(x, y, target="ab", centers=None, temperature=None):
    """Model input ``x`` (L / 100) and output ``y`` -> RGB image(s) in [0, 1], as NumPy.

    ``y`` is ab / 128 for ``"ab"``, RGB for ``"rgb"``, and class indices or per-class
    probabilities (last axis k) for ``"classes"``; probabilities are decoded with
    ``annealed_mean`` at ``temperature`` (``None``: the most likely class). ``y`` must have
    ``x``'s height and width (``colorlab.inference.colorize`` handles other sizes).
    """
    x, y = np.asarray(x, np.float32), np.asarray(y)
    if target == "rgb":
        return np.clip(y, 0.0, 1.0).astype(np.float32)
    if target == "ab":
        ab = y.astype(np.float32) * AB_SCALE
    elif target == "classes":
        centers = _require_centers(centers)
        ab = centers[y] if np.issubdtype(y.dtype, np.integer) else annealed_mean(y, centers, temperature)
    else:
        raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}")
    return lab_to_rgb(np.concatenate([x * L_SCALE, ab], axis=-1))


def annealed_mean(probabilities, centers, temperature=None, boost=None) -> np.ndarray:
    """Per-pixel ab colour from class probabilities (..., k) over ``centers`` (k, 2).

    Zhang et al. (2016) sharpen the distribution, p_T = p^(1/T) / sum p^(1/T), and take its
    mean: T = 1 is the plain mean (safe, desaturated), T -> 0 the mode (vivid, noisy); they use
    T = 0.38. ``temperature=None`` takes the mode exactly.

    ``boost=(gain, low, high)`` strengthens colour only where the model is sure of it: each
    pixel's colour is multiplied by ``gain`` x its ``confidence``, ramped from 0 at ``low`` to 1
    at ``high``. Unlike a saturation slider, pixels the model is unsure of fade to grey.
    """
    p = np.asarray(probabilities, np.float32)
    centers = _require_centers(centers)
    if temperature is None:
        ab = centers[np.argmax(p, axis=-1)]
    elif temperature <= 0:
        raise ValueError(f"temperature must be positive (or None for the mode), got {temperature}")
    else:
        weights = np.maximum(p, 1e-12)  # float32, worked on in place: (pixels x classes) can be large
        np.log(weights, out=weights)
        weights /= temperature
        weights -= weights.max(axis=-1, keepdims=True)
        np.exp(weights, out=weights)
        weights /= weights.sum(axis=-1, keepdims=True)
        ab = weights @ centers
        del weights  # before the boost's own (pixels x classes) arrays
    if boost is None:
        return ab
    gain, low, high = boost
    if not high > low:
        raise ValueError(f"boost needs low < high (a confidence ramp), got low {low}, high {high}")
    strength = np.clip((confidence(p, centers, ab) - low) / (high - low), 0.0, 1.0)
    return ab * (gain * strength)[..., None]


#: ``confidence`` counts the probability within this many a*b* units of the decoded colour.
CONFIDENT_RADIUS = 20.0


def confidence(probabilities, centers, ab) -> np.ndarray:
    """How sure a classifier is of its decoded colour ``ab`` (..., 2): the share of each pixel's
    probability (..., k) on the ``centers`` within ``CONFIDENT_RADIUS`` of it (0 to 1)."""
    centers = _require_centers(centers)
    ab = np.asarray(ab, np.float32)
    # |ab - c|^2 without a (pixels x k x 2) difference tensor, as in quantize_ab
    distance2 = (ab**2).sum(-1, keepdims=True) - 2.0 * ab @ centers.T + (centers**2).sum(-1)
    return (np.asarray(probabilities, np.float32) * (distance2 < CONFIDENT_RADIUS**2)).sum(-1)


@_tensor_io
def quantize_ab(ab, centers):
    """Index of the nearest ab centre (Euclidean in ab) for every pixel of ``ab`` (..., 2)."""
    centers = tf.constant(np.asarray(centers), ab.dtype)
    # |ab - c|^2 = |ab|^2 - 2 ab.c + |c|^2; |ab|^2 is the same for every centre, so one small
    # matrix product ranks them without building a (pixels x k x 2) difference tensor.
    score = tf.reduce_sum(tf.square(centers), axis=-1) - 2.0 * tf.tensordot(ab, tf.transpose(centers), 1)
    return tf.argmin(score, axis=-1, output_type=tf.int32)


def _require_centers(centers) -> np.ndarray:
    if centers is None:
        raise ValueError('target "classes" needs centers: a (k, 2) array of ab colours')
    centers = np.asarray(centers, np.float32)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"centers must have shape (k, 2), got {centers.shape}")
    return centers


# ----------------------------------------------------------------------------------------------
# Judging colour. Introduced in lesson 01; lesson 12 builds the metrics on them.


def delta_e(lab1, lab2, method="ciede2000"):
    """Per-pixel colour difference between two LAB arrays, through scikit-image.

    ``"cie76"`` is the Euclidean distance in LAB; ``"ciede2000"`` corrects it for how people
    see hue and chroma. A difference of about 2.3 is just noticeable.
    """
    functions = {"cie76": deltaE_cie76, "ciede2000": deltaE_ciede2000}
    if method not in functions:
        raise ValueError(f"unknown method {method!r}; choose one of {tuple(functions)}")
    return functions[method](np.asarray(lab1), np.asarray(lab2), channel_axis=-1)


def colorfulness(rgb, mask=None):
    """Hasler & Suesstrunk (2003) colourfulness M^(3) of image(s) (..., H, W, 3) in [0, 1].

    Computed on 0-255 sRGB values as in the paper: with rg = R - G and yb = (R + G) / 2 - B,
    M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2), over the pixels of
    each image (or those where ``mask`` (..., H, W) is True). The paper's scale: 0 not
    colourful, 15 slightly, 33 moderately, 45 averagely, 59 quite, 82 highly, 109 extremely.
    """
    rgb = as_float_images(rgb) * 255.0
    if rgb.ndim < 3 or rgb.shape[-1] != 3:
        raise ValueError(f"colorfulness needs (..., H, W, 3) images, got shape {rgb.shape}")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    weight = np.ones(rg.shape) if mask is None else np.broadcast_to(mask, rg.shape).astype(float)
    count = weight.sum(axis=(-2, -1))
    if np.any(count == 0):
        raise ValueError("colorfulness: the mask selects no pixel in at least one image")

    def mean(v):
        return (v * weight).sum(axis=(-2, -1)) / count

    def std(v):
        return np.sqrt(mean((v - mean(v)[..., None, None]) ** 2))

    return np.hypot(std(rg), std(yb)) + 0.3 * np.hypot(mean(rg), mean(yb))
