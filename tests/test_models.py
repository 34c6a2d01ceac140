import numpy as np
import pytest
from skimage.color import rgb2lab

from colorlab import color, data, models
from colorlab.models import classifiers, vgg_transformer

# name -> (parameters of the seed preset, input size, what it predicts), from the seeds' tables.
SEED_TABLES = {
    "sequential_rgb": (352_131, (120, 176), "rgb"),     # seed 000, model 1
    "simple_cnn": (256_643, (120, 176), "rgb"),         # seed 000, model 2
    "improved_cnn": (742_787, (120, 176), "rgb"),       # seed 000, model 3
    "unet": (1_092_099, (120, 176), "rgb"),             # seed 000, model 4
    "sequential_lab": (10_349_202, (120, 176), "ab"),   # seed 000, model 5 / seed 002
    "palette_classifier": (450_752, (32, 32), "classes"),  # seed 001, k = 32
}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", SEED_TABLES)
def test_seed_presets_match_the_seed_tables(name):
    params, size, kind = SEED_TABLES[name]
    model = models.build(name, "seed")
    assert model.count_params() == params
    assert model.input_shape[1:3] == size and model.output_shape[1:3] == size
    assert models.predicts(model) == kind


def test_unet_and_improved_cnn_batchnorm_statistics_are_not_trained():
    assert trainable(models.build("unet", "seed")) == 1_090_435  # seed 000's table
    assert trainable(models.build("improved_cnn", "seed")) == 741_507


def test_vgg_transformer_seed_preset_matches_seed_000():
    model = models.build("vgg_transformer", "seed", weights=None)
    assert model.count_params() == 4_031_491
    assert model.count_params() - trainable(model) == 1_736_448  # the frozen VGG16 and BN statistics
    assert model.output_shape == (None, 120, 176, 3)


def test_vgg_falls_back_to_random_weights_in_one_line_and_tries_once(monkeypatch, capsys):
    real = vgg_transformer.keras.applications.VGG16
    attempts = []

    def offline(**kwargs):
        if kwargs.get("weights") == "imagenet":
            attempts.append(1)
            print("Downloading data from https://example.invalid/vgg16.h5")  # Keras says this first
            raise OSError("URL fetch failure: no network")
        return real(**kwargs)

    monkeypatch.setattr(vgg_transformer.keras.applications, "VGG16", offline)
    monkeypatch.setattr(vgg_transformer, "_imagenet_unavailable", None)
    line = "colorlab: VGG16 ImageNet weights unavailable (URL fetch failure: no network); using random weights instead."
    for _ in range(2):
        features = vgg_transformer.vgg16_features((32, 32, 3))
        assert capsys.readouterr().out.strip().splitlines() == [line]
        assert not features.trainable and features.output_shape == (None, 8, 8, 256)
    assert len(attempts) == 1  # the second build does not wait for a download that failed


def test_residual_unet_follows_seed_004_table_one():
    model = models.build("residual_unet", "seed")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers
              if type(layer).__name__ in ("MaxPooling2D", "Conv2DTranspose", "Concatenate")]
    assert shapes == [(128, 128, 32), (64, 64, 64), (128, 128, 64), (128, 128, 128), (256, 256, 32), (256, 256, 64)]
    assert model.output_shape == (None, 256, 256, 2) and models.predicts(model) == "ab"


@pytest.mark.parametrize("name", sorted(set(SEED_TABLES) | {"residual_unet", "ab_classifier"}))
def test_tiny_presets_are_small_and_keep_the_input_size(name):
    model = models.build(name)
    assert model.count_params() < 0.3 * models.build(name, "seed").count_params()
    out = model(np.zeros((2, 32, 32, 1), np.float32), training=False)
    stride = 4 if name == "ab_classifier" else 1  # predicts at 1/4 resolution, like Zhang et al.
    assert out.shape[1:3] == (32 // stride, 32 // stride)


def test_every_architecture_is_registered_with_its_source():
    rows = {row["name"]: row for row in models.available()}
    assert set(rows) == set(SEED_TABLES) | {"residual_unet", "ab_classifier", "vgg_transformer", "pix2pix"}
    assert rows["unet"]["seed params"] == 1_092_099 and rows["unet"]["seed input"] == (120, 176)
    assert all(row["source"] for row in rows.values())


def test_options_override_the_preset_and_unknown_ones_are_named():
    model = models.build("unet", scale=0.0625, output="rgb")
    assert models.predicts(model) == "rgb" and model.count_params() < models.build("unet").count_params()
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['widths'\]"):
        models.build("unet", widths=(4, 8, 16))
    with pytest.raises(KeyError, match="no architecture 'resnet'"):
        models.build("resnet")
    with pytest.raises(ValueError, match="preset must be one of"):
        models.build("unet", "huge")


def test_fit_palette_finds_the_colours_in_the_images():
    scenes = data.toyworld(50, size=32)
    palette = classifiers.fit_palette(scenes.images, k=12, seed=0)
    assert palette.shape == (12, 2)
    # Every object colour of toyworld is within a few units of some palette colour.
    for lab in ([70, 30, 65], [35, 45, -50]):
        assert np.min(np.linalg.norm(palette - lab[1:], axis=1)) < 8


def test_palette_classifier_carries_its_palette():
    palette = np.array([[0, 0], [40, 0], [-40, 0]], np.float32)
    model = models.build("palette_classifier", centers=palette)
    centers, temperature = classifiers.classes_of(model)
    np.testing.assert_array_equal(centers, palette)
    assert temperature is None and model.output_shape[-1] == 3


def test_ab_bins_cover_the_srgb_gamut_and_nothing_else():
    bins = classifiers.ab_bins()
    assert 250 <= len(bins) <= 320
    rgb = np.random.default_rng(5).random((5000, 3))
    ab = rgb2lab(rgb)[:, 1:]
    assert np.max(np.min(np.linalg.norm(ab[:, None] - bins[None], axis=-1), axis=1)) <= 5 * np.sqrt(2) + 1e-6


def test_class_weights_lift_rare_classes_and_average_one():
    centers = np.array([[0, 0], [10, 0], [80, 0]], np.float32)
    indices = np.array([0] * 90 + [1] * 9 + [2] * 1)
    weights = classifiers.class_weights(indices, centers)
    assert weights[2] > weights[1] > weights[0]
    assert np.mean(weights[indices]) == pytest.approx(1.0)


def test_annealed_mean_runs_from_mean_to_mode():
    centers = np.array([[40.0, 0.0], [-40.0, 0.0], [0.0, 40.0]])
    p = np.array([0.5, 0.4, 0.1])
    np.testing.assert_allclose(color.annealed_mean(p, centers, 1.0), p @ centers, atol=1e-4)
    np.testing.assert_allclose(color.annealed_mean(p, centers, None), centers[0])
    chroma = [np.hypot(*color.annealed_mean(p, centers, t)) for t in (1.0, 0.38, 0.1, 0.01)]
    assert chroma == sorted(chroma) and chroma[-1] == pytest.approx(40.0, abs=0.5)


def test_layer_table_reproduces_seed_000_model_1_row_by_row():
    table = models.layer_table(models.build("sequential_rgb", "seed")).splitlines()
    params = [int(line.split()[-1].replace(",", "")) for line in table[1:-1]]
    assert params == [0, 640, 36_928, 73_856, 147_584, 0, 73_792, 0, 18_464, 867]
    assert table[-1].split()[-1] == "352,131"
