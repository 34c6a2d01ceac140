import hashlib
import json
import shutil

import numpy as np
import pytest

from colorlab import color, data, metrics, train
from colorlab.models import classifiers, load, reference


@pytest.fixture(scope="module")
def model():
    return load("reference")


def test_weights_match_their_record():
    record = reference.record()
    assert hashlib.sha256(reference.WEIGHTS.read_bytes()).hexdigest() == record["weights_sha256"]
    assert reference.WEIGHTS.stat().st_size == record["weights_bytes"] <= 20e6
    assert record["command"].startswith("python benchmarks/train_reference.py")


def test_the_record_names_the_decoding_the_model_carries(model):
    """The confidence boost chosen on the validation photos is the one stored in the weights."""
    record = reference.record()
    _, temperature, boost = classifiers.decoding_of(model)
    assert record["knob"]["name"] == "boost (gain, low, high)" and temperature == record["knob"]["temperature"]
    np.testing.assert_allclose(boost, record["knob"]["value"], atol=1e-4)
    assert boost[0] in [row["value"][0] for row in record["knob"]["tried"]]


@pytest.fixture(scope="module")
def held_out(model):
    """One test photo per category (the first by name), whole, and the model's guesses."""
    chosen = {}
    for photo in data.photo_set("test", source="shipped"):
        chosen.setdefault(photo.category, photo)
    truths = [p.load() for p in chosen.values()]
    return truths, [train.colorize(model, t) for t in truths]


def test_held_out_photos_colorized_better_than_grey(held_out):
    """At full resolution, the model's mean CIEDE2000 beats the grayscale baseline's."""
    truths, guesses = held_out
    assert guesses[0].shape == truths[0].shape
    ours = np.mean([metrics.ciede2000(g, t) for g, t in zip(guesses, truths)])
    grey = np.mean([metrics.ciede2000(color.to_gray(t), t) for t in truths])
    assert ours < grey, (ours, grey)


@pytest.mark.xfail(strict=True, reason="known shortfall: the shipped model is muted (colourfulness ratio 0.41 "
                                        "on the test photos, see its record); a model that meets the bar makes this pass")
def test_held_out_colorfulness_ratio_meets_the_bar(held_out):
    truths, guesses = held_out
    ratio = np.mean([metrics.colorfulness(g) for g in guesses]) / np.mean([metrics.colorfulness(t) for t in truths])
    assert 0.6 < ratio < 1.2, ratio


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
    """The weights of the lesson runs colorlab ships (``train.fit_or_load``, lessons 07 and 09-11)."""
    records = sorted(train.SHIPPED_DIR.glob("*/*.json"))
    assert {path.parent.name for path in records} == {"07_unet", "09_vgg_transformer", "10_loss_averaging", "11_gan"}
    for path in records:
        record = json.loads(path.read_text())
        weights = path.with_suffix(".npz")
        assert hashlib.sha256(weights.read_bytes()).hexdigest() == record["weights_sha256"], path
        assert record["command"] == train.SHIPPED_COMMAND and record["history"]["stopped_by"] is None, path
    assert sum(path.with_suffix(".npz").stat().st_size for path in records) < 10e6
