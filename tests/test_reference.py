import hashlib
import json
import shutil

import numpy as np
import pytest

from colorlab import backbones, color, data, inference, metrics, shipped
from colorlab.models import classifiers, lite0_unet, load, reference


@pytest.fixture(scope="module")
def model():
    return load("reference")


def test_weights_match_their_record():
    record = reference.record()
    assert hashlib.sha256(reference.WEIGHTS.read_bytes()).hexdigest() == record["weights_sha256"]
    assert reference.WEIGHTS.stat().st_size == record["weights_bytes"] <= 15e6  # the decoder alone
    assert record["command"].startswith("python benchmarks/train_reference.py")
    assert backbones.LITE0_SHA256[:12] in record["encoder"]


def test_the_reference_is_the_imagenet_encoder_and_the_shipped_decoder(model):
    encoder = lite0_unet.encoder_of(model)
    assert encoder is not None and not encoder.trainable
    with_real_weights = backbones.efficientnet_lite0((None, None, 1))
    for ours, theirs in zip(encoder.weights, with_real_weights.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_the_record_names_the_decoding_the_model_carries(model):
    """The decoding chosen on the validation photos (boost or none) is the one stored in the weights."""
    record = reference.record()
    _, temperature, boost = classifiers.decoding_of(model)
    assert record["knob"]["name"] == "boost (gain, low, high)" and temperature == record["knob"]["temperature"]
    if record["knob"]["value"] is None:
        assert boost is None
    else:
        np.testing.assert_allclose(boost, record["knob"]["value"], atol=1e-4)
    assert record["knob"]["value"] in [row["value"] for row in record["knob"]["tried"]]


def test_the_record_meets_the_quality_bar_it_was_trained_for():
    """What the training command measured on the 52 test photos (``--evaluate`` measures it again)."""
    test = reference.record()["test"]
    assert test["photos"] >= 50
    assert test["difference_to_grey"]["mean"] <= -1.5 and test["difference_to_grey"]["high"] < 0
    assert 0.6 <= test["colorfulness_ratio"] <= 1.2


@pytest.fixture(scope="module")
def held_out(model):
    """Every test photo at 256 pixels on the longer side (the size the model works at), and the
    model's figures and grey's on them."""
    truths = [data.resize_longer_side(p.load(), 256) for p in data.photo_set("test", source="shipped")]
    ours = metrics.photo_figures((inference.colorize(model, t), t) for t in truths)
    gray = metrics.photo_figures((color.to_gray(t), t) for t in truths)
    return ours, gray


def test_held_out_photos_colorized_clearly_better_than_gray(held_out):
    """Issue 24's bar, measured afresh (52 photos: 11.10 against 13.16, interval up to -0.75)."""
    ours, gray = held_out
    difference = metrics.paired_difference(ours["per_photo"], gray["per_photo"])
    assert difference["mean"] <= -1.5, difference
    assert difference["high"] < 0, difference


def test_held_out_colorfulness_ratio_meets_the_bar(held_out):
    """Measured 0.72 on the 52 photos."""
    ours, _ = held_out
    assert 0.6 < ours["colorfulness_ratio"] < 1.2, ours["colorfulness_ratio"]


def test_missing_or_altered_weights_are_refused(tmp_path, monkeypatch):
    copy = tmp_path / "reference.keras"
    monkeypatch.setitem(reference.TRAINED, "reference", copy)
    shutil.copy(reference.RECORD, copy.with_suffix(".json"))
    with pytest.raises(FileNotFoundError, match="weights missing"):
        load("reference")
    shutil.copy(reference.WEIGHTS, copy)
    assert load("reference").count_params() > 0
    with open(copy, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="does not match its record"):
        load("reference")


def test_unknown_model_name():
    with pytest.raises(KeyError, match="no trained model 'vivid'"):
        load("vivid")


def test_the_lessons_shipped_runs_match_their_records():
    """The weights of the lesson runs colorlab ships (``shipped.fit_or_load``, lessons 07 and 09-11)."""
    records = sorted(shipped.SHIPPED_DIR.glob("*/*.json"))
    assert {path.parent.name for path in records} == {"07_unet", "09_vgg_transformer", "10_loss_averaging", "11_gan"}
    for path in records:
        record = json.loads(path.read_text())
        weights = path.with_suffix(".npz")
        assert hashlib.sha256(weights.read_bytes()).hexdigest() == record["weights_sha256"], path
        assert record["command"] == shipped.SHIPPED_COMMAND and record["history"]["stopped_by"] is None, path
    assert sum(path.with_suffix(".npz").stat().st_size for path in records) < 10e6
