"""The conditional GAN (seed 003, pix2pix): its two networks, its training step, and that it
trains, checkpoints and reloads through the same paths as every other model."""

import keras
import numpy as np
import tensorflow as tf

from colorlab import color, data, inference, models, train
from colorlab.models import pix2pix


def conv_widths(model):
    return [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
            and not isinstance(layer, keras.layers.Conv2DTranspose)]


def test_original_generator_follows_seed_003():
    gan = models.build("pix2pix", "original")
    g = gan.generator
    # Double convolutions 64 -> 1024 down, 512 -> 64 up, then the 1x1 a*b* head.
    assert conv_widths(g) == [64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024,
                              512, 512, 256, 256, 128, 128, 64, 64, 2]
    assert sum(isinstance(layer, keras.layers.Conv2DTranspose) for layer in g.layers) == 4
    assert g.output_shape == (None, 256, 256, 2) and g.layers[-1].activation.__name__ == "tanh"
    assert models.predicts(gan) == "ab" and gan.l1_weight == 100.0


def test_seed_discriminator_judges_70_by_70_patches():
    d = pix2pix.patch_discriminator((256, 256, 1))
    assert conv_widths(d) == [64, 128, 256, 512, 1]
    assert all(layer.kernel_size == (4, 4) for layer in d.layers if isinstance(layer, keras.layers.Conv2D))
    L = tf.random.uniform((1, 256, 256, 1))
    ab = tf.random.uniform((1, 256, 256, 2), -1, 1)
    with tf.GradientTape() as tape:
        tape.watch(ab)
        logit = d([L, ab], training=False)[0, 16, 16, 0]  # one patch in the middle
    seen = np.flatnonzero(np.abs(tape.gradient(logit, ab)[0]).sum(axis=(1, 2)) > 0)
    assert seen.max() - seen.min() + 1 == 70  # the rows that can change that one logit


def test_gan_trains_through_fit_and_checkpoints_both_networks(tmp_path):
    images = data.toyworld(64, 32, seed=0).images
    validation = data.toyworld(16, 32, seed=1).images
    keras.utils.set_random_seed(0)
    gan = models.build("pix2pix")
    before_g = [w.numpy().copy() for w in gan.generator.trainable_weights]
    before_d = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    path = tmp_path / "gan.keras"
    history = train.fit(gan, images, validation, epochs=2, live=False, verbose=0, checkpoint=path)
    assert {"loss", "g_loss", "d_loss", "val_loss"} <= set(history) and len(history["loss"]) == 2
    assert all(np.isfinite(history[key]).all() for key in ("loss", "g_loss", "d_loss", "val_loss"))
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before_g, gan.generator.trainable_weights))
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before_d, gan.discriminator.trainable_weights))

    # The best epoch is on disk with both networks; reloaded, it is a Pix2Pix again.
    best = int(np.argmin(history["val_loss"]))
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, pix2pix.Pix2Pix) and loaded.l1_weight == gan.l1_weight
    assert len(loaded.discriminator.weights) == len(gan.discriminator.weights)
    x = color.encode_input(validation)
    assert np.isclose(loaded.evaluate(x, color.encode_pair(validation)[1], verbose=0), history["val_loss"][best], atol=1e-4)
    assert inference.colorize(loaded, validation).shape == validation.shape
    assert not list(tmp_path.glob("*partial*"))


def test_fit_compiles_a_gan_with_pix2pix_adam():
    gan = models.build("pix2pix")
    train.fit(gan, data.toyworld(8, 32, seed=0).images, epochs=1, batch_size=8, live=False, verbose=0)
    for optimizer in (gan.optimizer, gan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert np.isclose(float(optimizer.learning_rate), 2e-4) and np.isclose(float(optimizer.beta_1), 0.5)


def test_short_run_settings_slow_the_discriminator():
    gan = pix2pix.for_short_runs(l1_weight=10.0, learning_rate=1e-3, d_ratio=0.1)
    assert gan.l1_weight == 10.0
    assert np.isclose(float(gan.d_optimizer.learning_rate), 1e-4) and np.isclose(float(gan.optimizer.learning_rate), 1e-3)


def test_training_panel_trains_the_gan():
    from colorlab.widgets import TrainPanel

    panel = TrainPanel(architecture="pix2pix", n_images=32, epochs=1, size=32)
    panel.train(background=False)
    assert panel.model.name == "pix2pix_tiny" and panel.status.value.startswith("finished: 1 epochs")
    assert panel.picture.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_gan_scales_both_losses_under_mixed_precision():
    """With plain SGD an update is learning rate x gradient, so a loss scaled but never unscaled
    (or unscaled but never scaled) shows as updates ``scale`` times too large (or small)."""
    images = data.toyworld(8, 32, seed=0).images

    def one_step(mixed):
        previous = train.mixed_precision(mixed)
        try:
            keras.utils.set_random_seed(0)
            gan = models.build("pix2pix")
            if mixed:
                gan.compile(optimizer="sgd", d_optimizer=keras.optimizers.SGD())  # wrapped as Keras wraps one
                assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (gan.optimizer, gan.d_optimizer))
            # A scale the first step fits in (at 2 ** 15 it is skipped, as overflowing, and halved).
            sgd = [keras.optimizers.SGD(0.1) for _ in range(2)]
            gan.compile(*[keras.optimizers.LossScaleOptimizer(o, initial_scale=2 ** 10) if mixed else o for o in sgd])
            networks = (gan.generator, gan.discriminator)
            before = [[w.numpy().copy() for w in net.trainable_weights] for net in networks]
            history = train.fit(gan, images, epochs=1, batch_size=8, seed=0, live=False, verbose=0)
            steps = [np.mean([np.abs(w.numpy() - b).mean() for b, w in zip(old, net.trainable_weights)])
                     for old, net in zip(before, networks)]
        finally:
            train.mixed_precision(previous == "mixed_float16")
        assert all(np.isfinite(history[key][0]) for key in ("loss", "g_loss", "d_loss"))
        assert [int(getattr(o, "inner_optimizer", o).iterations.numpy()) for o in (gan.optimizer, gan.d_optimizer)] == [1, 1]
        return steps

    mixed = one_step(True)
    assert keras.mixed_precision.global_policy().name == "float32"
    float32 = one_step(False)
    np.testing.assert_allclose(mixed, float32, rtol=0.2)  # generator, discriminator
