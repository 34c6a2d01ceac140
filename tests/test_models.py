import numpy as np
import pytest

from colorlab import models


def test_unet_seed_preset_matches_seed_000_table():
    model = models.build("unet", "seed")
    assert model.count_params() == 1_092_099  # seed 000, model 4
    assert model.input_shape == (None, 120, 176, 1)
    assert model.output_shape == (None, 120, 176, 3) and models.predicts(model) == "rgb"
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 1_090_435  # the table's split: 1,664 BatchNorm statistics are not trained


def test_unet_tiny_is_small_any_size_and_predicts_ab():
    model = models.build("unet")
    assert models.predicts(model) == "ab"
    assert model.count_params() < 100_000
    for size in (32, 48, 64):
        out = model(np.zeros((1, size, size, 1), np.float32), training=False)
        assert out.shape == (1, size, size, 2)
        assert np.abs(out.numpy()).max() <= 1.0  # tanh


def test_options_override_the_preset():
    model = models.build("unet", widths=(4, 8, 16), output="rgb")
    assert models.predicts(model) == "rgb" and model.count_params() < models.build("unet").count_params()


def test_registry_errors_name_the_problem():
    with pytest.raises(KeyError, match="no architecture 'resnet'"):
        models.build("resnet")
    with pytest.raises(ValueError, match="preset must be one of"):
        models.build("unet", "huge")


def test_available_lists_every_architecture():
    rows = {row["name"]: row for row in models.available()}
    assert rows["unet"]["seed params"] == 1_092_099
    assert rows["unet"]["seed input"] == (120, 176)
    assert rows["unet"]["tiny params"] < rows["unet"]["seed params"]
