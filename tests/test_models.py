import ast
import io
import json
import re
import subprocess
import sys
import tokenize
import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest
from skimage.color import rgb2lab

import colorlab
from colorlab import backbones, color, data, models
from colorlab.models import classifiers, cnn

# name -> (parameters of the original preset, input size, what it predicts), from the seeds' tables.
SEED_TABLES = {
    "sequential_rgb": (352_131, (120, 176), "rgb"),     # seed 000, model 1
    "simple_cnn": (256_643, (120, 176), "rgb"),         # seed 000, model 2
    "improved_cnn": (742_787, (120, 176), "rgb"),       # seed 000, model 3
    "unet": (1_092_099, (120, 176), "rgb"),             # seed 000, model 4
    "sequential_lab": (10_349_202, (120, 176), "ab"),   # seed 000, model 5 / seed 002
    "palette_classifier": (450_752, (32, 32), "classes"),  # seed 001, k = 32
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Keras downloads (VGG16's weights) fail the test: tests build VGG16 with random weights."""
    from keras.src.utils import file_utils

    monkeypatch.setattr(file_utils, "urlretrieve", lambda url, *args, **kwargs: pytest.fail(f"tried to download {url}"))


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", SEED_TABLES)
def test_original_presets_match_the_seed_tables(name):
    params, size, kind = SEED_TABLES[name]
    model = models.build(name, "original")
    assert model.count_params() == params
    assert model.input_shape[1:3] == size and model.output_shape[1:3] == size
    assert models.predicts(model) == kind


def test_unet_and_improved_cnn_batchnorm_statistics_are_not_trained():
    assert trainable(models.build("unet", "original")) == 1_090_435  # seed 000's table
    assert trainable(models.build("improved_cnn", "original")) == 741_507


def test_the_old_preset_name_seed_still_builds_the_original_with_a_future_warning():
    message = "preset 'seed' is now called 'original'; 'seed' will stop working in the next release"
    with pytest.warns(FutureWarning, match=message) as caught:
        model = models.build("sequential_rgb", "seed")
    assert model.count_params() == 352_131 and model.name == "sequential_rgb_original"
    with pytest.warns(FutureWarning, match=message) as caught_direct:
        assert cnn.simple_cnn("seed").count_params() == 256_643  # builders called directly, too
    assert caught[0].filename == caught_direct[0].filename == __file__  # the warning points at the caller
    with pytest.raises(ValueError, match=r"preset must be one of \('original', 'tiny'\), got 'big'"):
        models.build("unet", "big")


def test_vgg_transformer_original_preset_matches_seed_000():
    model = models.build("vgg_transformer", "original", weights=None)
    assert model.count_params() == 4_031_491
    assert model.count_params() - trainable(model) == 1_736_448  # the frozen VGG16 and BN statistics
    assert model.output_shape == (None, 120, 176, 3)


@pytest.fixture
def vgg_weights(monkeypatch, tmp_path):
    """``keras.utils.get_file`` answering with a weights file of a random VGG16 (no network), and
    the calls it got."""
    path = str(tmp_path / "vgg16.weights.h5")
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(path)
    calls = []
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: calls.append(args) or path)
    backbones.imagenet_weights.cache_clear()  # ask afresh, and leave no made-up answer behind
    yield path, calls
    backbones.imagenet_weights.cache_clear()


def test_vgg_too_small_an_input_is_a_clear_error_and_later_builds_still_load_the_weights(vgg_weights, capsys):
    path, calls = vgg_weights
    with pytest.raises(ValueError, match="VGG16 needs inputs of at least 32 x 32 pixels, got 16 x 16"):
        backbones.vgg16_features((16, 16, 3))
    with pytest.raises(ValueError, match="at least 32 x 32 pixels, got 24 x 64"):
        models.build("vgg_transformer", input_shape=(24, 64, 1))
    with pytest.raises(ValueError, match=r"\(height, width, 3\) RGB inputs, got input_shape=\(32, 32, 1\)"):
        backbones.vgg16_features((32, 32, 1))
    assert not calls  # refused before any download
    features = backbones.vgg16_features((32, 32, 3))
    assert calls and capsys.readouterr().out == ""
    expected = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    expected.load_weights(path)
    np.testing.assert_array_equal(features.get_layer("block3_conv3").get_weights()[0],
                                  expected.get_layer("block3_conv3").get_weights()[0])
    assert not features.trainable and features.output_shape == (None, 8, 8, 256)


def test_vgg_offline_says_so_once_in_full_and_later_builds_still_work(monkeypatch, tmp_path, capsys):
    # Keras's real get_file, with an empty cache and a network that refuses every connection.
    from keras.src.backend import config
    from keras.src.utils import file_utils

    attempts = []

    def offline(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    backbones.imagenet_weights.cache_clear()
    first = backbones.vgg16_features((32, 32, 3))
    lines = capsys.readouterr().out.splitlines()
    assert attempts == [backbones.VGG16_WEIGHTS_URL]
    assert len(lines) == 1 and lines[0].startswith("colorlab: could not download VGG16's ImageNet weights (")
    assert f"URL fetch failure on {backbones.VGG16_WEIGHTS_URL}: None -- no network in tests" in lines[0]
    assert f"download {backbones.VGG16_WEIGHTS_URL} into ~/.keras/models/" in lines[0]
    assert lines[0].endswith("pass weights=None to choose random weights without this message.")
    second = backbones.vgg16_features((48, 64, 3))
    model = models.build("vgg_transformer")  # the tiny preset asks for the ImageNet weights too
    assert capsys.readouterr().out == "" and len(attempts) == 1  # said once, not retried
    assert first.output_shape == (None, 8, 8, 256) and second.output_shape == (None, 12, 16, 256)
    assert not second.trainable and model.output_shape == (None, 64, 64, 3)
    backbones.imagenet_weights.cache_clear()  # the next test's network may differ


def _imports(path: Path, module: str) -> set[str]:
    """The colorlab modules that ``module`` (in file ``path``) imports: every relative import
    statement in it, those inside functions included (an import deferred to a call is a cycle
    deferred, not removed), each package on the way to them included."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and node.level):
            continue
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        target = f"{base}.{node.module}" if node.module else base
        names = [f"{target}.{alias.name}" for alias in node.names]
        for name in [target, *names]:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return {name for name in found if name != module and not module.startswith(name + ".")}


def test_the_import_graph_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("from . import color\n\ndef f():\n    from .data import pipeline\n")
    assert _imports(module, "colorlab.late") == {"colorlab.color", "colorlab.data", "colorlab.data.pipeline"}


def test_colorlab_has_no_import_cycles():
    root = Path(colorlab.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: _imports(path, name) & set(modules) for name, path in modules.items()}
    assert graph["colorlab.models.vgg_transformer"] >= {"colorlab.backbones"}  # the check sees imports

    def cycle_from(name, trail):
        if name in trail:
            return trail[trail.index(name):] + [name]
        return next(filter(None, (cycle_from(n, trail + [name]) for n in sorted(graph[name]))), None)

    for name in sorted(graph):
        assert cycle_from(name, []) is None, " -> ".join(cycle_from(name, []))


def test_private_keras_and_tensorflow_internals_are_reached_only_from_compat():
    private = ("keras.src", "tensorflow.python", "_keras_history", "_inbound_nodes", "_symbolic_build")
    root = Path(colorlab.__file__).parent
    for path in root.rglob("*.py"):
        if path.name != "compat.py":
            text = path.read_text()
            assert not [name for name in private if name in text], path.relative_to(root)


def test_identifiers_are_spelt_american_in_library_tests_and_lessons():
    """CONTRIBUTING's rule: ``color`` and ``gray`` in names (prose may stay British)."""
    root = Path(colorlab.__file__).parent.parent
    sources = {str(p.relative_to(root)): p.read_text() for p in [*root.glob("colorlab/**/*.py"), *root.glob("tests/*.py")]}
    for path in root.glob("lessons/*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        sources[path.name] = "".join("".join(line for line in "".join(c["source"]).splitlines(keepends=True)
                                             if not line.lstrip().startswith(("!", "%")))  # shell lines and magics
                                     + "\n" for c in cells if c["cell_type"] == "code")
    british = {(where, token.string) for where, text in sources.items()
               for token in tokenize.generate_tokens(io.StringIO(text).readline)
               if token.type == tokenize.NAME and re.search("grey|colour", token.string, re.IGNORECASE)}
    assert not british


def test_losses_import_first_without_the_model_registry():
    code = "import sys, colorlab.losses; print(sorted(m for m in sys.modules if m.startswith('colorlab.models')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=Path(colorlab.__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_residual_unet_follows_seed_004_table_one():
    model = models.build("residual_unet", "original")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers
              if type(layer).__name__ in ("MaxPooling2D", "Conv2DTranspose", "Concatenate")]
    assert shapes == [(128, 128, 32), (64, 64, 64), (128, 128, 64), (128, 128, 128), (256, 256, 32), (256, 256, 64)]
    assert model.output_shape == (None, 256, 256, 2) and models.predicts(model) == "ab"


@pytest.mark.parametrize("name", sorted(set(SEED_TABLES) | {"residual_unet", "ab_classifier"}))
def test_tiny_presets_are_small_and_keep_the_input_size(name):
    model = models.build(name)
    assert model.count_params() < 0.3 * models.build(name, "original").count_params()
    out = model(np.zeros((2, 32, 32, 1), np.float32), training=False)
    stride = 4 if name == "ab_classifier" else 1  # predicts at 1/4 resolution, like Zhang et al.
    assert out.shape[1:3] == (32 // stride, 32 // stride)


# name -> the seed report (and model) or paper it reproduces.
SOURCES = {
    "sequential_rgb": "seed 000, model 1",
    "simple_cnn": "seed 000, model 2",
    "improved_cnn": "seed 000, model 3",
    "unet": "seed 000, model 4",
    "sequential_lab": "seed 000, model 5; seed 002",
    "vgg_transformer": "seed 000, model 6",
    "palette_classifier": "seed 001",
    "pix2pix": "seed 003 (Isola et al. 2017)",
    "residual_unet": "seed 004, Table I",
    "ab_classifier": "Zhang, Isola & Efros 2016",
    "hint_unet": "Zhang et al. 2017",
}


def test_available_lists_every_architecture_with_its_source_and_the_real_parameter_counts(monkeypatch):
    # available() counts on small inputs, without allocating weights or loading VGG16's: the
    # counts must be those of the real models, at each preset's own input size.
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: pytest.fail("tried to load weights"))
    keras.backend.clear_session()  # so that the layer below takes the session's first name, "dense"
    before = keras.layers.Dense(2)
    rows = {row["name"]: row for row in models.available()}
    # A cleared session would hand out "dense" again: the session went on, available() did not clear it.
    assert before.name == "dense" and keras.layers.Dense(2).name != before.name
    assert {name: row["source"] for name, row in rows.items()} == SOURCES
    assert models.names() == sorted(SOURCES)
    assert rows["unet"]["original params"] == 1_092_099 and rows["unet"]["original input"] == (120, 176)
    for name, row in rows.items():
        no_download = {"weights": None} if name == "vgg_transformer" else {}
        original = models.build(name, "original", **no_download)
        assert (row["original params"], row["original input"]) == (original.count_params(),
                                                                    tuple(original.inputs[0].shape[1:3]))
        assert row["predicts"] == models.predicts(original)
        assert row["tiny params"] == models.build(name, "tiny", **no_download).count_params()
        keras.backend.clear_session()


def test_options_override_the_preset_and_unknown_ones_are_named():
    model = models.build("unet", scale=0.0625, output="rgb")
    assert models.predicts(model) == "rgb" and model.count_params() < models.build("unet").count_params()
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['widths'\]"):
        models.build("unet", widths=(4, 8, 16))
    with pytest.raises(KeyError, match="no architecture 'resnet'"):
        models.build("resnet")
    with pytest.raises(ValueError, match="preset must be one of"):
        models.build("unet", "huge")


def test_fit_palette_finds_the_colors_in_the_images():
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


def test_ab_bins_are_the_cells_that_srgb_colors_fall_in():
    """Against scikit-image's conversion of a 64^3 grid of sRGB colours (finer than the library's
    48^3): the same 261 cells of the 10-unit a*b* grid. (A 96^3 grid finds one more sliver.)"""
    bins = classifiers.ab_bins()
    steps = np.arange(-110.0, 120.0, 10.0)
    grid = np.stack(np.meshgrid(steps, steps, indexing="ij"), axis=-1).reshape(-1, 2)
    levels = np.linspace(0.0, 1.0, 64)
    ab = rgb2lab(np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3))[:, 1:]
    hit = np.unique(np.concatenate([np.argmin(((part[:, None] - grid[None]) ** 2).sum(-1), axis=1)
                                    for part in np.array_split(ab, 64)]))
    assert {tuple(c) for c in grid[hit]} == {tuple(c) for c in bins.astype(np.float64)}
    assert len(bins) == 261


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


def test_confidence_boost_strengthens_sure_colors_and_fades_unsure_ones_to_gray():
    centers = np.array([[40.0, 0.0], [50.0, 0.0], [-40.0, 0.0], [0.0, 40.0], [0.0, -40.0]])
    sure = np.array([0.7, 0.3, 0.0, 0.0, 0.0])  # all its probability within 20 units of its colour
    torn = np.array([0.4, 0.0, 0.2, 0.2, 0.2])  # a reddish mean, but most of it elsewhere
    p = np.stack([sure, torn])
    plain = color.annealed_mean(p, centers, 1.0)
    np.testing.assert_allclose(color.confidence(p, centers, plain), [1.0, 0.0], atol=1e-6)
    boosted = color.annealed_mean(p, centers, 1.0, boost=(2.0, 0.25, 0.75))
    np.testing.assert_allclose(boosted, [2.0 * plain[0], [0.0, 0.0]], atol=1e-4)
    halfway = color.annealed_mean(p, centers, 1.0, boost=(2.0, -0.5, 1.5))  # ramp: 0.75 and 0.25
    np.testing.assert_allclose(halfway, [1.5 * plain[0], 0.5 * plain[1]], atol=1e-4)
    with pytest.raises(ValueError, match="low < high"):
        color.annealed_mean(p, centers, 1.0, boost=(2.0, 0.5, 0.5))


def test_a_classifier_keeps_its_boost_through_saving(tmp_path):
    model = models.build("ab_classifier", "tiny")
    model.layers[-1].boost = (3.0, 0.4, 0.6)
    model.save(tmp_path / "boosted.keras")
    loaded = keras.models.load_model(tmp_path / "boosted.keras", compile=False)
    assert classifiers.decoding_of(loaded)[2] == (3.0, 0.4, 0.6)
    assert classifiers.decoding_of(model)[1] == classifiers.classes_of(loaded)[1] == 0.38


def test_layer_table_reproduces_seed_000_model_1_row_by_row():
    table = models.layer_table(models.build("sequential_rgb", "original")).splitlines()
    params = [int(line.split()[-1].replace(",", "")) for line in table[1:-1]]
    assert params == [0, 640, 36_928, 73_856, 147_584, 0, 73_792, 0, 18_464, 867]
    assert table[-1].split()[-1] == "352,131"
