"""The ImageNet encoder: its weights read without PyTorch and safely, and the Keras network they fit."""

import pickle
import sys
import types

import numpy as np
import pytest
from skimage import data as skdata
from skimage.color import lab2rgb, rgb2lab
from skimage.transform import resize

from colorlab import backbones, color, data, state_dict

# ImageNet class indices: 281-285 are domestic cats (tabby, tiger cat, Persian, Siamese,
# Egyptian), 967 is espresso.
CATS = set(range(281, 286))
ESPRESSO = 967


@pytest.fixture(scope="module")
def torch_state():
    return state_dict.read(backbones.lite0_weights_path(), backbones.LITE0_SHA256)


def test_the_installed_weights_hold_the_tensors_the_issue_counted(torch_state):
    assert len(torch_state) == 296
    learned = {k: v for k, v in torch_state.items() if not k.endswith("num_batches_tracked")}
    assert sum(v.size for v in learned.values()) == 4_694_024
    assert torch_state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert torch_state["_fc.weight"].shape == (1000, 1280)
    assert all(v.dtype == np.float32 for v in learned.values())


class _FakeStorage:
    pass


def _legacy_file(path, tensors: dict, main_object=None):
    """Write ``tensors`` (name -> float32 array, maybe a strided view) as torch.save did before
    1.6, through stand-in ``torch`` modules, so the test needs no PyTorch."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    _FakeStorage.__module__, _FakeStorage.__qualname__ = "torch", "FloatStorage"
    torch.FloatStorage, torch._utils = _FakeStorage, utils

    storages = {}

    class Tensor:
        def __init__(self, key, array):
            self.key, self.array = key, array

        def __reduce__(self):
            base = self.array if self.array.base is None else self.array.base
            offset = (self.array.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // 4
            storages[self.key] = base
            stride = tuple(s // 4 for s in self.array.strides)
            return _rebuild_tensor_v2, ((self.key, base.size), offset, self.array.shape, stride, False, {})

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], str) and obj[0] in storages:
                return ("storage", _FakeStorage, obj[0], "cpu", obj[1], None)
            return None

    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    try:
        with open(path, "wb") as f:
            for header in (state_dict.MAGIC_NUMBER, state_dict.PROTOCOL_VERSION, {"little_endian": True}):
                pickle.dump(header, f, protocol=2)
            from collections import OrderedDict

            obj = main_object if main_object is not None else OrderedDict(
                (name, Tensor(str(i), a)) for i, (name, a) in enumerate(tensors.items()))
            # Storages are named as the tensors reduce; give persistent_id the keys first.
            for i, a in enumerate(tensors.values()):
                storages[str(i)] = a if a.base is None else a.base
            Pickler(f, protocol=2).dump(obj)
            pickle.dump(list(storages), f, protocol=2)
            for base in storages.values():
                f.write(int(base.size).to_bytes(8, "little"))
                f.write(np.ascontiguousarray(base, "<f4").tobytes())
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_a_legacy_file_round_trips_strided_and_offset_tensors(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    tensors = {"plain": np.arange(5, dtype=np.float32) * 0.5, "transposed": base.T, "row": base[2]}
    path = tmp_path / "weights.pth"
    _legacy_file(path, tensors)
    read = state_dict.read(path, expected_sha256=state_dict.pooch.file_hash(str(path)))
    assert list(read) == list(tensors)
    for name, value in tensors.items():
        np.testing.assert_array_equal(read[name], value)
        assert read[name].flags.c_contiguous


class _RunsCode:
    def __reduce__(self):
        import os

        return os.system, ("touch should-never-exist",)


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    _legacy_file(path, {"w": np.ones(3, np.float32)}, main_object=_RunsCode())
    with pytest.raises(state_dict.RefusedGlobal, match=r"refused global (posix|os|nt)\.system"):
        state_dict.read(path)
    assert not (tmp_path / "should-never-exist").exists()
    # The same refusal in the header pickles, before anything else is read.
    with open(tmp_path / "evil_header.pth", "wb") as f:
        pickle.dump(_RunsCode(), f, protocol=2)
    with pytest.raises(state_dict.RefusedGlobal, match="system"):
        state_dict.read(tmp_path / "evil_header.pth")
    assert not (tmp_path / "should-never-exist").exists()


def test_a_truncated_or_altered_file_gets_a_clear_error(tmp_path):
    whole = backbones.lite0_weights_path().read_bytes()
    for cut in (100, len(whole) // 2, len(whole) - 10):  # inside the pickle, inside storages, at the end
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(whole[:cut])
        with pytest.raises(state_dict.WeightsFileError, match="truncated"):
            state_dict.read(path)
    with pytest.raises(state_dict.WeightsFileError, match="not the expected file: sha256"):
        state_dict.read(tmp_path / "cut100.pth", expected_sha256=backbones.LITE0_SHA256)
    (tmp_path / "zip.pth").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(state_dict.WeightsFileError):
        state_dict.read(tmp_path / "zip.pth")


@pytest.fixture(scope="module")
def lite0_classifier():
    return backbones.efficientnet_lite0((224, 224, 3), head=True)


def _top5(model, image):
    x = resize(image, (224, 224), anti_aliasing=True).astype(np.float32)
    if model.inputs[0].shape[-1] == 1:
        x = color.encode_input(x)
    return set(np.argsort(model.predict(x[None], verbose=0)[0])[::-1][:5])


def test_lite0_has_the_published_parameter_count_and_recognises_a_cat_and_an_espresso(lite0_classifier):
    assert lite0_classifier.count_params() == 4_694_024
    assert _top5(lite0_classifier, skdata.chelsea()) & CATS
    assert ESPRESSO in _top5(lite0_classifier, skdata.coffee())
    # Random weights recognise neither: the test reads the real weights, not luck.
    random = backbones.efficientnet_lite0((224, 224, 3), head=True, weights=None)
    assert not (_top5(random, skdata.chelsea()) & CATS and ESPRESSO in _top5(random, skdata.coffee()))


def test_lite0_sees_the_same_things_in_a_gray_picture():
    gray = backbones.efficientnet_lite0((224, 224, 1), head=True)
    assert _top5(gray, skdata.chelsea()) & CATS
    assert ESPRESSO in _top5(gray, skdata.coffee())


def test_lightness_to_imagenet_is_the_gray_srgb_of_that_lightness():
    rgb = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    L = rgb2lab(rgb)[..., :1]
    gray_rgb = lab2rgb(np.concatenate([L, np.zeros_like(L), np.zeros_like(L)], axis=-1))  # scikit-image's
    fed = np.asarray(backbones.LightnessToImageNet()(L / color.L_SCALE))
    np.testing.assert_allclose(fed, (gray_rgb * 255 - 127) / 128, atol=2e-3)


def test_the_encoder_taps_five_strides():
    encoder = backbones.efficientnet_lite0((64, 96, 1), weights=None)
    shapes = [tuple(t.shape[1:]) for t in encoder.outputs]
    assert shapes == [(32, 48, 16), (16, 24, 24), (8, 12, 40), (4, 6, 112), (2, 3, 320)]
    with pytest.raises(ValueError, match="weights must be"):
        backbones.efficientnet_lite0(weights="lite0.h5")


# --- The colorizer on the encoder, and its cached features --------------------------------------

from colorlab import inference, metrics, transfer  # noqa: E402
from colorlab.models import lite0_unet, predicts  # noqa: E402


@pytest.fixture(scope="module")
def random_encoder():
    encoder = backbones.efficientnet_lite0((None, None, 1), weights=None)
    encoder.trainable = False
    return encoder


@pytest.mark.parametrize("head", lite0_unet.HEADS)
def test_the_joined_colorizer_runs_the_decoder_on_what_the_cache_holds(random_encoder, head):
    images = np.random.default_rng(1).random((3, 64, 64, 3)).astype(np.float32)
    decoder = lite0_unet.decoder_model(head)
    model = lite0_unet.colorizer(random_encoder, decoder)
    assert predicts(model) == head and lite0_unet.encoder_of(model) is random_encoder
    cache = transfer.encode(random_encoder, images, flips=True)
    assert len(cache) == 6 and [a.dtype for a in cache.inputs] == [np.float16] * 6
    np.testing.assert_array_equal(cache.images[3:], cache.images[:3, :, ::-1])  # the mirrored copies
    joined = model(color.encode_input(images), training=False).numpy()
    from_cache = decoder([a[:3].astype(np.float32) for a in cache.inputs], training=False).numpy()
    np.testing.assert_allclose(from_cache, joined, atol=0.02)  # the cache is float16
    # Any size goes in and comes out whole: the model runs at multiples of 32.
    out = inference.colorize(model, np.random.default_rng(2).random((70, 100, 3)).astype(np.float32))
    assert out.shape == (70, 100, 3)
    assert inference._work_size(model, 70, 100, 256) == (64, 96)


def test_a_decoder_learns_from_cached_features(random_encoder):
    scenes = data.toyworld(48, 64, seed=0).images
    cache = transfer.encode(random_encoder, scenes)
    decoder = lite0_unet.decoder_model("ab", widths=(32, 32, 24, 16, 16, 8))
    history = transfer.fit_decoder(decoder, cache, epochs=6, batch_size=8, learning_rate=3e-3)
    assert len(history["loss"]) == 6 and history["loss"][-1] < 0.6 * history["loss"][0]
    with pytest.raises(ValueError, match="head must be"):
        lite0_unet.decoder_model("rgb")


def test_frechet_distance_is_zero_for_one_set_and_the_mean_shift_for_a_shifted_one():
    x = np.random.default_rng(0).normal(size=(400, 5))
    assert metrics.frechet_distance(x, x) == pytest.approx(0, abs=1e-6)
    shift = np.array([3.0, 0, 0, 4.0, 0])
    assert metrics.frechet_distance(x, x + shift) == pytest.approx(25.0, rel=1e-6)  # same covariance
    # Against the formula by hand for diagonal covariances: (s_a - s_b)^2 summed over dimensions.
    y = x * 2.0
    expected = np.sum((x.mean(0) - y.mean(0)) ** 2) + np.sum((x.std(0, ddof=1) - y.std(0, ddof=1)) ** 2)
    assert metrics.frechet_distance(x, y) == pytest.approx(expected, rel=0.05)
    with pytest.raises(ValueError, match="feature sets"):
        metrics.frechet_distance(x, x[:, :3])


@pytest.mark.parametrize("n, d", [(400, 5), (40, 300)])  # more photos than features, and fewer
def test_frechet_distance_agrees_with_the_matrix_square_root_formula(n, d):
    from scipy import linalg

    rng = np.random.default_rng(1)
    a = np.abs(rng.normal(size=(n, d))) @ rng.normal(size=(d, d))  # correlated, like pooled features
    b = 0.5 * a[rng.permutation(n)] + np.abs(rng.normal(size=(n, d)))
    covariance_a, covariance_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(covariance_a @ covariance_b).real
    direct = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(covariance_a + covariance_b - 2 * root)
    assert metrics.frechet_distance(a, b) == pytest.approx(direct, rel=1e-6)


def test_the_paired_difference_interval_separates_a_real_gain_from_noise():
    rng = np.random.default_rng(0)
    gray = rng.normal(13, 3, 50)
    better = metrics.paired_difference(gray - 1.5 + rng.normal(0, 1, 50), gray)
    assert better["high"] < 0 and better["low"] < better["mean"] < better["high"]
    same = metrics.paired_difference(gray + rng.normal(0, 1, 50), gray)
    assert same["low"] < 0 < same["high"]
    assert better["n"] == 50
    with pytest.raises(ValueError, match="equally long"):
        metrics.paired_difference([1.0], [2.0])


def test_the_semantic_test_keeps_the_true_photos_labels(lite0_classifier):
    truths = [skdata.chelsea() / 255.0, skdata.coffee() / 255.0, skdata.astronaut() / 255.0]
    gray = [color.to_gray(t) for t in truths]
    scores = metrics.semantic_test({"grey": gray, "noise": [np.random.default_rng(0).random(t.shape) for t in truths]},
                                   truths, classifier=lite0_classifier)
    assert scores["truth"]["top1"] == 1.0
    assert scores["grey"]["top1"] >= 2 / 3  # the cat and the espresso survive losing their colour
    assert scores["noise"]["probability"] < scores["grey"]["probability"] < scores["truth"]["probability"]
    assert np.mean(scores["grey"]["per_photo"]) == pytest.approx(scores["grey"]["probability"])
    assert len(scores["noise"]["per_photo"]) == 3


def test_a_hint_decoder_takes_hints_through_the_joined_model_and_learns_to_follow_them(random_encoder):
    scenes = data.toyworld(64, 64, seed=0)
    cache = transfer.encode(random_encoder, scenes.images)
    decoder = lite0_unet.decoder_model("ab", widths=(32, 32, 24, 16, 16, 8), hints=True)
    history = transfer.fit_decoder(decoder, cache, epochs=4, batch_size=8, learning_rate=3e-3)
    assert history["loss"][-1] < history["loss"][0]
    model = lite0_unet.colorizer(random_encoder, decoder)
    from colorlab.models.hints import takes_hints

    assert takes_hints(model)
    # A hint on a diamond settles its colour: the hinted guess is nearer the truth there.
    test = data.toyworld(16, 64, seed=3)
    truth_ab = color.rgb_to_lab(test.images)[..., 1:]
    hints = []
    for mask, ab in zip(test.ambiguous, truth_ab):
        rows, cols = np.nonzero(mask)
        middle = len(rows) // 2
        hints.append([] if len(rows) == 0 else [(rows[middle], cols[middle], ab[rows[middle], cols[middle]])])
    plain = color.rgb_to_lab(inference.colorize(model, test.images))[..., 1:]
    hinted = color.rgb_to_lab(inference.colorize(model, test.images, hints=hints))[..., 1:]
    error = lambda guess: np.abs(guess - truth_ab)[test.ambiguous].mean()  # noqa: E731
    assert error(hinted) < error(plain)
    with pytest.raises(ValueError, match="hints go with"):
        lite0_unet.decoder_model("classes", hints=True)
