import keras
import numpy as np
import pytest
import tensorflow as tf

from colorlab import losses
from colorlab.models import classifiers

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Keras downloads (VGG16's weights) fail the test: tests build VGG16 with random weights."""
    from keras.src.utils import file_utils

    monkeypatch.setattr(file_utils, "urlretrieve", lambda url, *args, **kwargs: pytest.fail(f"tried to download {url}"))


def _softplus(x):
    return np.log1p(np.exp(x))


def test_pixel_losses_by_name():
    y_true = RNG.uniform(-1, 1, (2, 4, 4, 2)).astype(np.float32)
    y_pred = RNG.uniform(-1, 1, (2, 4, 4, 2)).astype(np.float32)
    error = y_pred - y_true
    assert set(losses.PIXEL_LOSSES) == {"l1", "l2", "huber"}
    assert float(losses.PIXEL_LOSSES["l1"](y_true, y_pred)) == pytest.approx(np.abs(error).mean(), rel=1e-5)
    assert float(losses.PIXEL_LOSSES["l2"](y_true, y_pred)) == pytest.approx(np.square(error).mean(), rel=1e-5)
    d, a = losses.HUBER_DELTA, np.abs(error)
    expected = np.where(a <= d, 0.5 * a**2, d * a - 0.5 * d**2).mean()
    assert float(losses.PIXEL_LOSSES["huber"](y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    assert float(losses.huber(delta=10.0)(y_true, y_pred)) == pytest.approx(0.5 * np.square(error).mean(), rel=1e-5)


def test_perceptual_loss_is_zero_for_equal_images_and_differentiable():
    loss = losses.perceptual((32, 32, 3), weights=None)
    x = tf.constant(RNG.uniform(0, 1, (2, 32, 32, 3)), tf.float32)
    y = tf.constant(RNG.uniform(0, 1, (2, 32, 32, 3)), tf.float32)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(y)
        value = loss(x, y)
    gradient = tape.gradient(value, y)
    assert float(value) > 0
    assert gradient is not None and np.all(np.isfinite(gradient)) and float(tf.reduce_max(tf.abs(gradient))) > 0
    assert not loss.features.trainable_weights  # VGG16 stays frozen
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, losses.PerceptualLoss) and again.layer == "block3_conv3"


def test_perceptual_loss_feeds_vgg_its_caffe_input(monkeypatch):
    loss = losses.perceptual((32, 32), layer="block1_conv1", weights=None)
    seen = []
    monkeypatch.setattr(loss, "features", lambda x, training: seen.append(np.asarray(x)) or x)
    rgb = np.zeros((1, 32, 32, 3), np.float32)
    rgb[..., 0] = 1.0  # pure red
    loss(rgb, rgb)
    np.testing.assert_allclose(seen[0][0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-3)


def test_rebalanced_crossentropy_uniform_weights_is_sparse_crossentropy():
    k = 5
    y_true = RNG.integers(0, k, (2, 3, 3))
    y_pred = tf.nn.softmax(RNG.normal(size=(2, 3, 3, k))).numpy()
    plain = keras.losses.SparseCategoricalCrossentropy()(y_true, y_pred)
    assert float(losses.rebalanced_crossentropy(np.ones(k))(y_true, y_pred)) == pytest.approx(float(plain), rel=1e-5)
    with_channel = losses.rebalanced_crossentropy(np.ones(k))(y_true[..., None], y_pred)  # (N, H, W, 1) labels
    assert float(with_channel) == pytest.approx(float(plain), rel=1e-5)


def test_rebalanced_crossentropy_weights_each_pixel_by_its_true_class():
    centers = classifiers.ab_bins()
    y_true = RNG.choice([0, 1, 2, 100], size=(2, 4, 4), p=[0.7, 0.2, 0.05, 0.05])
    weights = classifiers.class_weights(y_true, centers)
    logits = RNG.normal(size=(2, 4, 4, len(centers))).astype(np.float32)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(log_p, y_true[..., None], -1)[..., 0]
    expected = (weights[y_true] * ce).mean()
    got = losses.rebalanced_crossentropy(weights, from_logits=True)(y_true, logits)
    assert float(got) == pytest.approx(expected, rel=1e-5)
    probabilities = tf.nn.softmax(logits).numpy()
    assert float(losses.rebalanced_crossentropy(weights)(y_true, probabilities)) == pytest.approx(expected, rel=1e-4)
    loss = losses.rebalanced_crossentropy(weights)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    np.testing.assert_array_equal(again.weights, weights)


def test_rebalanced_crossentropy_refuses_bad_weights():
    with pytest.raises(ValueError, match="one finite, non-negative number per class"):
        losses.rebalanced_crossentropy(np.ones((2, 3)))
    with pytest.raises(ValueError, match="one finite, non-negative number per class"):
        losses.rebalanced_crossentropy([1.0, -1.0])
    with pytest.raises(ValueError, match="predicts 4 classes but 3 weights"):
        losses.rebalanced_crossentropy(np.ones(3))(np.zeros((1, 2, 2)), np.full((1, 2, 2, 4), 0.25))


def test_adversarial_losses_are_pix2pix_binary_crossentropy_on_logits():
    real = RNG.normal(size=(2, 6, 6, 1)).astype(np.float32)
    fake = RNG.normal(size=(2, 6, 6, 1)).astype(np.float32)
    # BCE(1, z) = softplus(-z), BCE(0, z) = softplus(z), averaged over the patches.
    expected_d = _softplus(-real).mean() + _softplus(fake).mean()
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert float(losses.generator_adversarial_loss(fake)) == pytest.approx(_softplus(-fake).mean(), rel=1e-5)
    # A discriminator that is sure and right: small D loss, large G loss.
    assert float(losses.discriminator_loss(np.full((1, 4), 20.0), np.full((1, 4), -20.0))) < 1e-6
    assert float(losses.generator_adversarial_loss(np.full((1, 4), -20.0))) == pytest.approx(20.0, rel=1e-6)


def test_perceptual_loss_refuses_images_too_small_for_vgg16():
    with pytest.raises(ValueError, match="VGG16 needs inputs of at least 32 x 32 pixels, got 16 x 24"):
        losses.perceptual((16, 24), weights=None)
