import io

import ipywidgets
import numpy as np
import pytest
from PIL import Image

from colorlab import widgets


def png_bytes(rgb) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO = np.zeros((40, 60, 3), np.uint8)
PHOTO[:, :30] = (200, 40, 40)  # red left half, blue right half
PHOTO[:, 30:] = (40, 60, 200)
PHOTO += np.random.default_rng(0).integers(0, 40, PHOTO.shape, dtype=np.uint8)  # noise: a PNG that does not shrink to nothing


def browser_upload(upload, content: bytes):
    """Set ``upload``'s value as the browser does: through the widget's own deserializer."""
    upload.set_state({"value": [{"name": "a.png", "type": "image/png", "size": len(content),
                                 "content": memoryview(content), "last_modified": 1_700_000_000_000}]})


def test_upload_value_of_ipywidgets_8_and_7_read_alike():
    content = png_bytes(PHOTO)
    v8 = ({"name": "a.png", "type": "image/png", "size": len(content), "content": memoryview(content),
           "last_modified": 0},)
    v7 = {"a.png": {"metadata": {"name": "a.png", "type": "image/png", "size": len(content)}, "content": content}}
    for value in (v8, v7):
        assert widgets.uploaded_files(value) == [("a.png", content)]
        assert widgets.uploaded_bytes(value) == content
    assert widgets.uploaded_bytes(()) is None and widgets.uploaded_bytes({}) is None


def test_a_real_file_upload_widget_is_read():
    upload = ipywidgets.FileUpload()
    assert widgets.uploaded_bytes(upload) is None
    content = png_bytes(PHOTO)
    browser_upload(upload, content)
    assert widgets.uploaded_bytes(upload) == content


@pytest.fixture
def colorizer(monkeypatch):
    from colorlab import color, inference

    # a "model" that halves the true colours
    monkeypatch.setattr(inference, "colorize", lambda model, images, side=256: color.boost_saturation(images, 0.5, 0.5))
    return widgets.PhotoColorizer(model=None)


def test_colorizer_shows_gray_guess_and_original(colorizer):
    assert colorizer.show(png_bytes(PHOTO))
    assert colorizer.result().shape == (40, 60, 3)
    half = colorizer.error()
    assert half > 5 and "CIEDE2000" in colorizer.status.value and colorizer.picture.value[:3] == b"\xff\xd8\xff"  # JPEG: it is a photograph
    colorizer.saturation.value = 2.0  # doubling the halved colours brings the truth back
    assert colorizer.error() < half / 3


def test_colorizer_reads_an_upload(colorizer):
    browser_upload(colorizer.upload, png_bytes(PHOTO))
    assert colorizer.guess is not None and colorizer.guess.shape == (40, 60, 3)


def test_bad_upload_shows_the_reason_not_a_traceback(colorizer):
    for bad, reason in ((b"", "empty"), (b"hello, not a picture", "not an image"),
                        (png_bytes(PHOTO)[:len(png_bytes(PHOTO)) // 2], "truncated")):
        assert not colorizer.show(bad)
        assert reason in colorizer.status.value and colorizer.guess is None


def test_gray_photo_has_no_error_to_show(colorizer):
    assert colorizer.show(np.full((32, 32, 3), 0.5, np.float32))
    assert colorizer.error() is None and "without colour" in colorizer.status.value


def test_labelled_guess_adds_a_caption_band():
    image = np.full((100, 200, 3), 0.5, np.float32)
    out = widgets.labelled_guess(image)
    assert out.shape[0] > 100 and out.shape[1] == 200
    np.testing.assert_allclose(out[:100], image, atol=1 / 255)
    assert (out[100:] < 0.5).any()  # the text is drawn
