import keras
import numpy as np
import pytest
from skimage.color import rgb2lab

from colorlab import callbacks, color, compat, data, inference, models, settings, shipped, train
from colorlab.models.classifiers import PaletteSoftmax

SCENES = data.toyworld(256, size=32, seed=0)
HELD_OUT = data.toyworld(48, size=32, seed=1)


def weights_of(model):
    return [w.numpy().copy() for w in model.weights]


def small_model():
    """An a*b* model of two convolutions, for the tests of fit's own behaviour (stopping,
    checkpoints, random generators): it traces in a fraction of the tiny U-Net's time, which
    those tests would otherwise spend once per fit."""
    return keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                             keras.layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab")])


def test_budget_stops_training_cleanly():
    model = models.build("unet")
    history = train.fit(model, SCENES.images, epochs=500, budget_s=1.0, verbose=0)
    assert history["stopped_by"] == "budget"
    assert len(history["loss"]) < 500 and history["total_seconds"] < 30


def test_stop_request_keeps_the_model_trained_so_far():
    """A stop requested during batch 3 (as a button does) ends the run after that batch, with the
    weights the three batches trained, not the starting ones or any later ones."""
    class StopAfterThreeBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 2:
                budget.stop()
                after_three.extend(weights_of(self.model))

    batches, after_three = [], []
    budget = callbacks.TimeBudget()
    model = models.build("unet")
    before = weights_of(model)
    model.compile(optimizer="adam", loss="mae")
    model.fit(train.training_data(model, SCENES.images, batch_size=8), epochs=3, verbose=0,
              callbacks=[StopAfterThreeBatches(), budget])  # 256 scenes: 32 batches an epoch
    assert budget.stopped_by == "request" and batches == [0, 1, 2]
    for trained, kept in zip(after_three, weights_of(model)):
        np.testing.assert_array_equal(kept, trained)
    assert any(not np.array_equal(start, kept) for start, kept in zip(before, weights_of(model)))


def test_a_short_fit_runs_eagerly_and_agrees_with_the_traced_one(monkeypatch):
    """A run of at most EAGER_STEPS steps skips tracing; the same run traced gives the same losses."""
    class Mode(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            modes.add(self.model.run_eagerly)

    def run():
        keras.utils.set_random_seed(0)
        return train.fit(small_model(), SCENES.images[:64], HELD_OUT.images[:16], epochs=2, batch_size=16,
                         learning_rate=3e-3, seed=0, verbose=0, live=False, callbacks=[Mode()])

    modes = set()
    eager = run()
    assert modes == {True} and 2 * 64 // 16 <= train.EAGER_STEPS
    monkeypatch.setattr(train, "EAGER_STEPS", 0)
    modes.clear()
    traced = run()
    assert modes == {False}
    np.testing.assert_allclose(eager["loss"] + eager["val_loss"], traced["loss"] + traced["val_loss"], rtol=1e-4)


def test_a_finished_fit_gives_its_training_graphs_back_and_training_can_go_on(monkeypatch):
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    def training_graphs():
        gc.collect()
        return sum(isinstance(o, FuncGraph) and o.name == "one_step_on_data" for o in gc.get_objects())

    class CountDuringFit(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            during.append(training_graphs())

    monkeypatch.setattr(train, "EAGER_STEPS", 0)  # short runs, traced all the same
    held_before, during = training_graphs(), []
    model = small_model()
    first = train.fit(model, SCENES.images[:64], HELD_OUT.images[:16], epochs=2, batch_size=16, learning_rate=3e-3,
                      seed=0, verbose=0, callbacks=[CountDuringFit()])
    assert during[-1] > held_before  # counted by the name Keras gives them: still the right name
    assert training_graphs() == held_before  # neither the model nor TensorFlow's registry keeps them
    second = train.fit(model, SCENES.images[:64], HELD_OUT.images[:16], epochs=2, batch_size=16, seed=0, verbose=0)
    assert second["loss"][0] < first["loss"][0]  # the second fit went on from where the first ended


def test_overlapping_fits_keep_each_others_gradients_until_the_last_one_ends(monkeypatch):
    """A fit ending while another traces its training step (a panel training in a background
    thread while a cell runs fit) leaves the other's gradient-registry entries alone."""
    import threading

    import tensorflow as tf

    monkeypatch.setattr(train, "EAGER_STEPS", 0)  # short runs, traced all the same

    b_started, a_tracing, b_done = threading.Event(), threading.Event(), threading.Event()

    class Reversal(keras.layers.Layer):
        """Reverses gradients with ``tf.custom_gradient`` inside a nested function: tracing it
        files a registry entry, which TensorFlow looks up right after, to build the function's
        gradient. Once armed, its next training trace holds between the two."""

        armed = False

        def call(self, x, training=None):
            pause, self.armed = self.armed and training, self.armed and not training

            @tf.function
            def reversed_gradient(x):
                @tf.custom_gradient
                def reverse(x):
                    return tf.identity(x), lambda dy: -dy

                y = reverse(x)
                if pause:
                    a_tracing.set()
                    b_done.wait(120)
                return y

            return reversed_gradient(x)

    class WaitForA(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            b_started.set()
            a_tracing.wait(120)

    reversal = Reversal()
    model_a = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3, padding="same"),
                                reversal, keras.layers.Activation("tanh", name="ab")])
    registry = compat.gradient_registry()
    filed_before, outcome = set(registry), {}  # building model A filed an entry too: no fit's

    def fit_a():
        b_started.wait(120)
        reversal.armed = True
        try:
            outcome["a"] = train.fit(model_a, SCENES.images[:32], epochs=1, batch_size=16, verbose=0, live=False)
        except Exception as error:  # reported below, in the test's thread
            outcome["a"] = error

    thread = threading.Thread(target=fit_a)
    thread.start()
    try:
        train.fit(models.build("unet"), SCENES.images[:32], epochs=1, batch_size=16, verbose=0, live=False,
                  callbacks=[WaitForA()])
    finally:
        b_done.set()
        thread.join(300)
    assert a_tracing.is_set()
    assert not isinstance(outcome["a"], Exception), outcome["a"]
    assert np.isfinite(outcome["a"]["loss"][0])
    assert not [name for name in set(registry) - filed_before if name.startswith("CustomGradient")]


def test_freeing_graphs_warns_and_keeps_them_when_tensorflow_moves_its_registry(monkeypatch):
    from tensorflow.python.framework import ops

    class Renamed:  # TensorFlow's registry, its entries kept under another private name
        def __init__(self, registry):
            self._entries = registry

        def __getattr__(self, name):
            if name == "_registry":
                raise AttributeError(name)
            return getattr(self._entries, name)

    monkeypatch.setattr(ops, "gradient_registry", Renamed(ops.gradient_registry))
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3, padding="same", name="ab")])
    with pytest.warns(RuntimeWarning, match=r"gradient_registry\._registry.*TensorFlow|TensorFlow.*gradient_registry"):
        history = train.fit(model, SCENES.images[:16], epochs=1, verbose=0, live=False)
    assert np.isfinite(history["loss"][0])  # training itself goes on


def test_multi_worker_workaround_fails_loudly_when_keras_internals_move(monkeypatch):
    from keras.src.backend.tensorflow import trainer
    from keras.src.trainers.trainer import Trainer

    model = models.build("unet", scale=0.0625)
    monkeypatch.delattr(Trainer, "_symbolic_build")
    with pytest.raises(compat.InternalsMoved, match=rf"_symbolic_build.*Keras {keras.__version__}.*issues/20585"):
        compat.multi_worker_fit(model, None, None)
    monkeypatch.setattr(keras, "__version__", "3.4.1")  # before the build bug: that patch is not needed
    compat.multi_worker_fit(model, None, None)
    monkeypatch.delattr(trainer, "reduce_per_replica")
    with pytest.raises(compat.InternalsMoved, match=r"reduce_per_replica.*Keras 3\.4\.1"):
        compat.multi_worker_fit(model, None, None)
    monkeypatch.setattr(keras, "__version__", "3.2.1")
    with pytest.raises(RuntimeError, match=r"Keras 3\.3 or newer"):
        compat.multi_worker_fit(model, None, None)


def test_settle_batch_norm_replaces_stale_running_statistics_by_the_batches_own_and_changes_nothing_else():
    keras.utils.set_random_seed(0)
    model = models.build("unet")
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    x = color.encode_input(HELD_OUT.images)
    batch_view = model(x, training=True).numpy()  # what the model computes with each batch's own statistics
    for layer in norms:  # then running statistics as stale as they can be
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 3.0, "float32"))
        layer.moving_variance.assign(np.full(layer.moving_variance.shape, 50.0, "float32"))
    learned = [w.numpy().copy() for w in model.trainable_weights]
    stale_gap = np.abs(model.predict(x, verbose=0) - batch_view).mean()

    assert train.settle_batch_norm(model, SCENES.images, batch_size=32, batches=8) == len(norms)  # all 256 scenes

    settled_gap = np.abs(model.predict(x, verbose=0) - batch_view).mean()
    assert settled_gap < 0.1 * stale_gap, (settled_gap, stale_gap)
    first = norms[0]  # its input does not depend on other statistics: its mean is the scenes' mean exactly
    first_input = keras.Model(model.inputs[0], first.input)(color.encode_input(SCENES.images)).numpy()
    np.testing.assert_allclose(first.moving_mean.numpy(), first_input.mean(axis=(0, 1, 2)), atol=1e-4)
    for before, after in zip(learned, model.trainable_weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert all(layer.momentum == models.blocks.TINY_BN_MOMENTUM for layer in norms)


def test_seeded_runs_are_reproducible():
    runs = []
    for _ in range(2):
        train.keras.utils.set_random_seed(3)
        model = models.build("unet")
        train.fit(model, SCENES.images[:64], epochs=1, seed=3, verbose=0)
        runs.append(weights_of(model))
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_best_checkpoint_is_written_and_loads(tmp_path):
    path = tmp_path / "runs" / "best.keras"
    model = models.build("unet")
    history = train.fit(model, SCENES.images[:64], HELD_OUT.images[:16], epochs=2, checkpoint=path, verbose=0)
    loaded = train.keras.models.load_model(path)
    assert loaded.count_params() == model.count_params()
    assert sorted(p.name for p in path.parent.iterdir()) == ["best.keras"]  # nothing half-written left
    assert min(history["val_loss"]) == pytest.approx(
        loaded.evaluate(train.training_data(loaded, HELD_OUT.images[:16], shuffle=False), verbose=0), rel=1e-3)


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "best.keras"
    model = models.build("unet")
    callbacks.save_atomically(model, path)
    good = path.read_bytes()

    def broken_save(target, *args, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        callbacks.save_atomically(model, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]
    with pytest.raises(ValueError, match="must end in .keras"):
        callbacks.BestCheckpoint(tmp_path / "best.h5")


@pytest.mark.parametrize("name", ["unet", "sequential_rgb", "palette_classifier", "ab_classifier"])
def test_colorize_returns_full_resolution_with_the_input_lightness(name):
    model = models.build(name)
    image = data.fit_to(data.packaged_photo("coffee"), (45, 70))  # odd sizes, not divisible by anything
    result = inference.colorize(model, image)
    assert result.shape == image.shape and result.dtype == np.float32
    assert 0.0 <= result.min() and result.max() <= 1.0
    np.testing.assert_allclose(rgb2lab(result)[..., 0], rgb2lab(image)[..., 0], atol=1.0)


def test_colorize_handles_fixed_size_models_batches_gray_and_uint8():
    keras.utils.set_random_seed(0)
    model = models.build("palette_classifier", "original")  # 32 x 32 input only
    batch = data.toyworld(3, size=48).images
    assert inference.colorize(model, batch).shape == (3, 48, 48, 3)
    gray = color.luma(batch[0])
    assert inference.colorize(model, gray).shape == (48, 48, 3)
    uint8 = (batch[0] * 255).astype(np.uint8)
    difference = np.abs(inference.colorize(model, uint8) - inference.colorize(model, batch[0]))
    # 8-bit rounding moves L* a little: about one 8-bit step, and an untrained classifier's
    # near-tied pixels may tip to another class.
    assert difference.mean() < 1 / 255 and np.mean(difference.max(-1) < 0.02) > 0.99
    uint16 = np.round(batch[0] * 65535).astype(np.uint16)  # a 16-bit PNG's pixels: scaled by 65535
    np.testing.assert_allclose(inference.colorize(model, uint16), inference.colorize(model, batch[0]), atol=1e-3)


def test_colorize_runs_large_batches_in_chunks_that_keep_each_image_its_own_colors(monkeypatch):
    monkeypatch.setattr(inference, "INFER_PIXELS", 4 * 32**2)  # four scenes at a time
    model = models.build("unet")
    scenes = data.toyworld(9, size=32, seed=4).images
    together = inference.colorize(model, scenes)
    np.testing.assert_allclose(together[-1], inference.colorize(model, scenes[-1]), atol=1e-4)
    np.testing.assert_allclose(together[3], inference.colorize(model, scenes[3]), atol=1e-4)


def test_a_classifier_is_decoded_at_its_input_size_so_edges_keep_one_color_not_a_blend():
    # Class 0 (pink) where the picture is light, class 1 (teal) where it is dark, decided on
    # 4 x 4 blocks like the ab classifier; the edge at column 14 runs through a block.
    inputs = keras.Input((None, None, 1))
    to_logits = keras.layers.Conv2D(2, 1)  # 200 (L/100 - 0.55) and its opposite
    logits = to_logits(keras.layers.AveragePooling2D(4)(inputs))
    to_logits.set_weights([np.array([[[[200.0, -200.0]]]]), np.array([-110.0, 110.0])])
    model = keras.Model(inputs, PaletteSoftmax([[30.0, 0.0], [-30.0, 0.0]], temperature=None)(logits))
    L = np.full((32, 32), 50.0, np.float32)
    L[:, :14] = 60.0
    rgb = color.lab_to_rgb(np.stack([L, np.zeros_like(L), np.zeros_like(L)], -1))
    a = rgb2lab(inference.colorize(model, rgb))[..., 1]
    assert np.abs(a).min() > 25  # every pixel pink or teal: upsampling decoded colours greys the edge
    assert (a[:, 0] > 25).all() and (a[:, -1] < -25).all()


def test_confidence_map_and_boost_color_where_the_classifier_is_sure_and_leave_gray_where_it_is_torn():
    # Light pixels: sure of class 0 (pink); dark ones: torn between teal and yellow, whose mean
    # lies more than 20 a*b* units from both.
    inputs = keras.Input((None, None, 1))
    to_logits = keras.layers.Conv2D(3, 1)
    logits = to_logits(keras.layers.AveragePooling2D(4)(inputs))
    to_logits.set_weights([np.array([[[[200.0, 0.0, 0.0]]]]), np.array([-110.0, 0.0, 0.0])])
    model = keras.Model(inputs, PaletteSoftmax([[30.0, 0.0], [-30.0, 0.0], [0.0, 30.0]], temperature=1.0)(logits))
    L = np.full((32, 32), 50.0, np.float32)
    L[:, :16] = 60.0
    rgb = color.lab_to_rgb(np.stack([L, np.zeros_like(L), np.zeros_like(L)], -1))
    sure = inference.confidence_map(model, rgb)
    assert sure.shape == (8, 8)
    np.testing.assert_allclose(sure[:, :4], 1.0, atol=1e-3)
    np.testing.assert_allclose(sure[:, 4:], 0.0, atol=1e-3)
    model.layers[-1].boost = (2.0, 0.25, 0.75)
    ab = rgb2lab(inference.colorize(model, rgb))[..., 1:]
    np.testing.assert_allclose(ab[:, :12, 0], 60.0, atol=2.0)  # twice the sure colour
    assert np.abs(ab[:, 20:]).max() < 1.0  # the torn half is grey


def test_fit_to_gamut_keeps_lightness_and_only_shrinks_what_does_not_fit():
    lab = np.array([[60.0, 40.0, 0.0], [90.0, -80.0, -80.0], [20.0, 0.0, 120.0]])
    fitted = color.fit_to_gamut(lab)
    np.testing.assert_allclose(fitted[:, 0], lab[:, 0])
    np.testing.assert_allclose(fitted[0], lab[0], atol=1e-4)  # in gamut: untouched
    rgb = color.lab_to_rgb(fitted)
    np.testing.assert_allclose(rgb2lab(rgb), fitted, atol=1.0)  # representable as it is
    assert np.all(color.chroma(fitted[1:]) < color.chroma(lab[1:]))
    np.testing.assert_allclose(np.arctan2(fitted[1:, 2], fitted[1:, 1]), np.arctan2(lab[1:, 2], lab[1:, 1]), atol=1e-4)


def test_colorize_side_sets_the_working_resolution():
    free, fixed = models.build("unet"), models.build("palette_classifier", "original")
    assert inference._work_size(free, 128, 96, side=32) == (32, 32)  # rounded to multiples of 16
    assert inference._work_size(free, 128, 96, side=256) == (128, 96)  # never upsampled
    assert inference._work_size(free, 1000, 600, side=256) == (256, 160)
    assert inference._work_size(fixed, 128, 96, side=32) == (32, 32)  # a fixed-size model's own size
    image = data.toyworld(1, size=128).images[0]
    coarse, fine = inference.colorize(free, image, side=32), inference.colorize(free, image)
    assert coarse.shape == fine.shape == image.shape and not np.allclose(coarse, fine)


def test_a_stop_requested_before_training_starts_is_honoured():
    stopper = callbacks.TimeBudget()
    stopper.stop()  # e.g. Stop pressed while the panel was still preparing data
    history = train.fit(small_model(), SCENES.images[:64], epochs=5, stopper=stopper, verbose=0)
    assert history["stopped_by"] == "request" and len(history["loss"]) == 1


def test_guard_stops_a_run_whose_loss_turns_nan():
    # A linear a*b* model (no tanh to saturate) and a learning rate that makes it diverge.
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3, padding="same", name="ab")])
    images = data.toyworld(64, 32, seed=0).images
    model.compile(optimizer=keras.optimizers.SGD(1e6), loss="mse")
    history = train.fit(model, images, epochs=20, live=False, verbose=0)
    assert "became nan" in history["stopped_by"] or "became inf" in history["stopped_by"]
    assert len(history["loss"]) < 20


def test_guard_stops_when_the_discriminator_wins():
    guard = callbacks.TrainingGuard(d_floor=0.05, patience=3)
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.model.stop_training = False
    for batch, d_loss in enumerate([0.5, 0.01, 0.02, 0.6, 0.01, 0.01]):
        guard.on_train_batch_end(batch, {"loss": 0.1, "d_loss": d_loss})
    assert guard.reason is None and not guard.model.stop_training  # never three low batches in a row
    guard.on_train_batch_end(6, {"loss": 0.1, "d_loss": 0.01})
    assert "discriminator wins" in guard.reason and guard.model.stop_training


def eager_unet():
    """The tiny U-Net compiled to run eagerly: a long fit cut short by a time limit, without the
    seconds that tracing its training step would take."""
    model = models.build("unet")
    model.compile(optimizer="adam", loss="mae", run_eagerly=True)
    return model


def test_a_stoppers_own_time_limit_holds_and_budget_s_applies_beside_it():
    stopper = callbacks.TimeBudget(seconds=0.5)
    history = train.fit(eager_unet(), SCENES.images[:32], epochs=200, batch_size=16, stopper=stopper,
                        verbose=0, live=False)
    assert history["stopped_by"] == "budget" and len(history["loss"]) < 200 and stopper.seconds == 0.5
    stopper = callbacks.TimeBudget()
    history = train.fit(eager_unet(), SCENES.images[:32], epochs=200, batch_size=16, budget_s=0.5,
                        stopper=stopper, verbose=0, live=False)
    assert history["stopped_by"] == "budget" and len(history["loss"]) < 200 and stopper.seconds is None


def test_a_reused_stopper_starts_each_run_afresh():
    class StopAtFirstBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            stopper.stop()

    stopper = callbacks.TimeBudget()
    model = small_model()
    first = train.fit(model, SCENES.images[:32], epochs=3, batch_size=16, stopper=stopper, verbose=0, live=False,
                      callbacks=[StopAtFirstBatch()])
    assert first["stopped_by"] == "request" and len(first["loss"]) == 1
    second = train.fit(model, SCENES.images[:32], epochs=2, batch_size=16, stopper=stopper, verbose=0, live=False)
    assert second["stopped_by"] is None and len(second["loss"]) == 2 and stopper.stopped_by is None


def test_fit_says_when_a_compiled_model_ignores_learning_rate_and_loss():
    model = small_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    with pytest.warns(UserWarning, match="compiled already, so fit ignores learning_rate and loss"):
        train.fit(model, SCENES.images[:16], epochs=1, learning_rate=0.5, loss="mse", verbose=0, live=False)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3) and model.loss == "mae"


def test_a_second_run_to_a_checkpoint_only_replaces_a_worse_model(tmp_path):
    import warnings

    path = tmp_path / "best.keras"
    keras.utils.set_random_seed(0)
    good = train.fit(small_model(), SCENES.images[:64], HELD_OUT.images[:16], epochs=3, learning_rate=3e-3,
                     batch_size=16, checkpoint=path, verbose=0, live=False)
    saved = path.read_bytes()
    assert callbacks.checkpoint_record(path) == {"monitor": "val_loss", "best": pytest.approx(min(good["val_loss"]))}
    keras.utils.set_random_seed(0)
    worse = train.fit(small_model(), SCENES.images[:64], HELD_OUT.images[:16], epochs=1, learning_rate=1e-6,
                      checkpoint=path, verbose=0, live=False)
    assert min(worse["val_loss"]) > min(good["val_loss"])
    assert path.read_bytes() == saved  # the better model stays
    loaded = keras.saving.load_model(path)  # the record inside does not bother Keras
    assert loaded.evaluate(train.training_data(loaded, HELD_OUT.images[:16], shuffle=False), verbose=0) == \
        pytest.approx(min(good["val_loss"]), rel=1e-3)
    # A file saved some other way has no record: replaced, with a warning.
    callbacks.save_atomically(small_model(), path)
    with pytest.warns(UserWarning, match="has no recorded val_loss"):
        train.fit(small_model(), SCENES.images[:16], HELD_OUT.images[:16], epochs=1, checkpoint=path,
                  verbose=0, live=False)
    assert callbacks.checkpoint_record(path)["monitor"] == "val_loss"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train.fit(small_model(), SCENES.images[:16], HELD_OUT.images[:16], epochs=1, checkpoint=path,
                  verbose=0, live=False)
    assert not [w for w in caught if "no recorded" in str(w.message)]  # this time it has a record
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]


def test_fit_leaves_global_random_generators_alone_unless_given_a_seed():
    import random

    import tensorflow as tf

    def draws():
        return random.random(), np.random.rand(), float(tf.random.uniform(()))

    model = small_model()
    keras.utils.set_random_seed(5)
    expected = draws()
    keras.utils.set_random_seed(5)
    train.fit(model, SCENES.images[:16], epochs=1, verbose=0, live=False)
    assert draws() == expected
    train.fit(model, SCENES.images[:16], epochs=1, seed=7, verbose=0, live=False)
    after_fit = draws()
    keras.utils.set_random_seed(7)
    assert after_fit == draws()  # reseeded with 7 at the start of the run


def shipped_run(name, seed=0, frozen=False, **fit_settings):
    """``fit_or_load`` on small_model (its first convolution frozen, if asked), seeded."""
    keras.utils.set_random_seed(seed)
    model = small_model()
    model.layers[0].trainable = not frozen
    settings = {"epochs": 2, "learning_rate": 2e-3, "live": False, "verbose": 0} | fit_settings
    return model, shipped.fit_or_load(name, model, SCENES.images[:64], HELD_OUT.images[:16], **settings)


@pytest.fixture
def ship_to(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path)
    return lambda mode: monkeypatch.setattr(settings, "SHIPPED", mode)


def test_a_shipped_run_loads_only_for_the_very_same_recipe(ship_to, tmp_path, monkeypatch, capsys):
    ship_to("make")
    made, made_history = shipped_run("lesson/run", frozen=True)
    assert sorted(p.name for p in (tmp_path / "lesson").iterdir()) == ["run.json", "run.npz"]  # nothing half-written
    with np.load(tmp_path / "lesson" / "run.npz") as stored:  # the frozen convolution is not stored
        assert len(stored.files) == len(made.weights) - 2
    ship_to("use")
    fits = []
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda *args, **kwargs: fits.append(1) or real_fit(*args, **kwargs))
    loaded, history = shipped_run("lesson/run", frozen=True, budget_s=60)  # a time guard is not part of the recipe
    assert not fits and history["shipped"] == "lesson/run.npz" and history["loss"] == made_history["loss"]
    for a, b in zip(weights_of(made), weights_of(loaded)):
        np.testing.assert_array_equal(a, b)
    assert "is the run shipped with colorlab, loaded (2 epochs" in capsys.readouterr().out
    for changed, reason in (({"epochs": 1}, "epochs"), ({"seed": 1}, "initial_weights"),
                            ({"frozen": False}, "trainable_parameters"), ({"learning_rate": 1e-3}, "learning_rate")):
        _, history = shipped_run("lesson/run", **{"frozen": True, **changed})
        assert history["shipped"] is None and len(fits) == 1, changed
        assert f"this run differs from the shipped one in {reason}" in capsys.readouterr().out
        fits.clear()
    ship_to("retrain")
    _, history = shipped_run("lesson/run", frozen=True)
    assert history["shipped"] is None and fits == [1]


def test_altered_shipped_weights_a_cut_short_run_and_a_bad_mode_are_refused(ship_to, tmp_path):
    ship_to("make")
    shipped_run("lesson/run", epochs=1)
    ship_to("use")
    with open(tmp_path / "lesson" / "run.npz", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="does not match its record"):
        shipped_run("lesson/run", epochs=1)
    ship_to("make")
    with pytest.raises(RuntimeError, match="'lesson/cut' stopped before its last epoch .budget., so it is not shipped"):
        shipped_run("lesson/cut", epochs=50, budget_s=0.5)
    assert not (tmp_path / "lesson" / "cut.npz").exists()
    ship_to("sometimes")
    with pytest.raises(ValueError, match="COLORLAB_SHIPPED must be 'use', 'retrain' or 'make', not 'sometimes'"):
        shipped_run("lesson/run", epochs=1)
