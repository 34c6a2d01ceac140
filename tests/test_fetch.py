"""colorlab.data.download (``fetch``), offline: a local HTTP server serves archives the tests build themselves."""

import hashlib
import io
import json
import pickle
import re
import socket
import stat
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from colorlab import data
from colorlab.data import ChecksumError, DownloadError, UnsafeArchiveError, fetch

# ------------------------------------------------------------------------------------ fixtures


def _png(hint_color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), hint_color).save(buffer, "PNG")
    return buffer.getvalue()


PICTURES = {"pics/red.png": _png((255, 0, 0)), "pics/green.png": _png((0, 255, 0))}


def make_tar(files=PICTURES, extra=()) -> bytes:
    """A .tar.gz of ``files`` (name -> bytes), then the TarInfo members in ``extra``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return buffer.getvalue()


def make_zip(files=PICTURES, extra=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(name, content)
        for info, content in extra:
            zipped.writestr(info, content)
    return buffer.getvalue()


def tar_member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, 1 if kind == tarfile.REGTYPE else 0
    return info


class Server:
    """Serves ``files`` (path -> bytes); ``cut[path] = n`` sends n bytes of the body, then hangs up."""

    def __init__(self):
        self.files, self.cut, self.hits = {}, {}, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: outer.cut.get(self.path, len(body))])
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def entry(self, path, body, fmt="tar.gz", sha256=None):
        """Serve ``body`` at ``path`` and return a registry entry that describes it."""
        self.files[path] = body
        return describe(self.url(path), body, fmt, sha256)


def describe(url, body, fmt="tar.gz", sha256=None):
    return {
        "url": url, "filename": "tiny." + fmt, "format": fmt, "folder": "pics",
        "sha256": sha256 or hashlib.sha256(body).hexdigest(), "size": len(body),
        "licence": "test", "citation": "test", "checksum_source": ["computed by the test"],
    }


@pytest.fixture
def server():
    running = Server()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def files_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------------------------- fetch


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_fetch_downloads_verifies_extracts_and_then_uses_the_cache(server, cache, fmt):
    body = make_tar() if fmt == "tar.gz" else make_zip()
    registry = {"tiny": server.entry("/tiny", body, fmt)}
    folder = fetch("tiny", cache_dir=cache, progress=True, registry=registry)
    assert folder == cache / "tiny" / "pics"
    assert sorted(p.name for p in folder.iterdir()) == ["green.png", "red.png"]
    np.testing.assert_allclose(data.load_image(folder / "red.png")[0, 0], [1, 0, 0])
    assert files_in(cache) == ["tiny/.colorlab-fetched.json", "tiny/pics/green.png", "tiny/pics/red.png"]
    assert server.hits == ["/tiny"]
    assert fetch("tiny", cache_dir=cache, registry=registry) == folder
    assert server.hits == ["/tiny"]  # the second call never asked the server


def test_the_marker_records_the_sha256(server, cache):
    fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": server.entry("/tiny", make_tar())})
    marker = json.loads((cache / "tiny" / ".colorlab-fetched.json").read_text())
    assert marker["sha256"] == hashlib.sha256(server.files["/tiny"]).hexdigest()


def test_cache_dir_comes_from_the_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path / "from-env"))
    assert data.cache_root() == tmp_path / "from-env"
    folder = fetch("tiny", progress=False, registry={"tiny": server.entry("/tiny", make_tar())})
    assert folder == tmp_path / "from-env" / "tiny" / "pics"


def test_the_module_can_be_patched_by_its_dotted_name(tmp_path, monkeypatch):
    # The module is not shadowed by the function ``data.fetch``, so its helpers can be replaced.
    monkeypatch.delenv("COLORLAB_DATA", raising=False)
    monkeypatch.setattr("colorlab.data.download._default_cache", lambda: str(tmp_path / "patched"))
    assert data.cache_root() == tmp_path / "patched"
    with mock.patch("colorlab.data.download.shutil.disk_usage", return_value=mock.Mock(free=0)):
        with pytest.raises(data.FetchError, match="free"):
            fetch("tiny", cache_dir=tmp_path, registry={"tiny": {"url": "http://127.0.0.1:9/x", "sha256": "0" * 64,
                                                               "size": 10, "format": "tar"}})


def test_wrong_checksum_is_refused_and_leaves_nothing(server, cache):
    entry = server.entry("/tiny", make_tar(), sha256="0" * 64)
    with pytest.raises(ChecksumError, match="tiny: the file from .* is not the one in the registry"):
        fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": entry})
    assert files_in(cache) == []


UNSAFE = {
    "tar parent": lambda tmp: make_tar(extra=[tar_member("../evil")]),
    "tar deep parent": lambda tmp: make_tar(extra=[tar_member("pics/../../evil")]),
    "tar absolute": lambda tmp: make_tar(extra=[tar_member(str(tmp / "evil"))]),
    "tar symlink": lambda tmp: make_tar(extra=[tar_member("pics/evil", tarfile.SYMTYPE, str(tmp / "x"))]),
    "tar hardlink": lambda tmp: make_tar(extra=[tar_member("pics/evil", tarfile.LNKTYPE, "pics/red.png")]),
    "tar device": lambda tmp: make_tar(extra=[tar_member("pics/evil", tarfile.CHRTYPE)]),
    "zip parent": lambda tmp: make_zip(extra=[(zipfile.ZipInfo("../evil"), b"x")]),
    "zip absolute": lambda tmp: make_zip(extra=[(zipfile.ZipInfo(str(tmp / "evil")), b"x")]),
}


def _zip_symlink(tmp):
    info = zipfile.ZipInfo("pics/evil")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return make_zip(extra=[(info, str(tmp / "x"))])


UNSAFE["zip symlink"] = _zip_symlink


@pytest.mark.parametrize("case", UNSAFE)
def test_unsafe_archive_members_are_refused_and_nothing_is_extracted(server, cache, tmp_path, case):
    body = UNSAFE[case](tmp_path)
    entry = server.entry("/bad", body, "zip" if case.startswith("zip") else "tar.gz")
    with pytest.raises(UnsafeArchiveError, match=r"refused member '[^']*evil'"):
        fetch("bad", cache_dir=cache, progress=False, registry={"bad": entry})
    assert files_in(cache) == []  # the good members before the bad one were removed too
    assert not (tmp_path / "evil").exists()


def test_an_interrupted_download_is_not_trusted_and_a_later_call_succeeds(server, cache):
    body = make_tar(files={f"pics/{i}.png": _png((i, 0, 0)) + bytes(2000) for i in range(20)})
    registry = {"tiny": server.entry("/tiny", body)}
    server.cut["/tiny"] = len(body) // 2
    with pytest.raises(DownloadError, match="could not download tiny"):
        fetch("tiny", cache_dir=cache, progress=False, registry=registry)
    assert files_in(cache) == []
    del server.cut["/tiny"]
    folder = fetch("tiny", cache_dir=cache, progress=False, registry=registry)
    assert len(list(folder.iterdir())) == 20


def test_offline_says_what_to_do(cache):
    url = f"http://127.0.0.1:{free_port()}/tiny.tar.gz"
    entry = describe(url, make_tar())
    with pytest.raises(DownloadError) as caught:
        fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": entry})
    message = str(caught.value)
    assert "internet connection" in message and url in message
    assert str(cache / "tiny.tar.gz") in message  # where to put a file downloaded by hand
    assert "colorlab.data.photos()" in message and "colorlab.data.toyworld()" in message
    assert isinstance(caught.value, RuntimeError) and files_in(cache) == []


def test_a_file_downloaded_by_hand_is_used_offline(cache):
    body = make_tar()
    entry = describe(f"http://127.0.0.1:{free_port()}/tiny.tar.gz", body)
    cache.mkdir()
    (cache / "tiny.tar.gz").write_bytes(body)
    folder = fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": entry})
    assert sorted(p.name for p in folder.iterdir()) == ["green.png", "red.png"]


def test_a_folder_without_the_marker_is_fetched_again(server, cache):
    registry = {"tiny": server.entry("/tiny", make_tar())}
    (cache / "tiny" / "pics").mkdir(parents=True)
    (cache / "tiny" / "pics" / "half-written.png").write_bytes(b"")
    folder = fetch("tiny", cache_dir=cache, progress=False, registry=registry)
    assert server.hits == ["/tiny"]
    assert sorted(p.name for p in folder.iterdir()) == ["green.png", "red.png"]


def test_an_archive_that_is_not_one_is_refused(server, cache):
    entry = server.entry("/tiny", b"not a tar file at all")
    with pytest.raises(data.FetchError, match="tiny.tar.gz is not a readable tar.gz file"):
        fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": entry})
    assert files_in(cache) == []


def test_a_set_too_big_for_the_disk_is_refused_before_downloading(server, cache):
    entry = dict(server.entry("/tiny", make_tar()), size=10**18)
    with pytest.raises(data.FetchError, match="tiny needs about .* GB free"):
        fetch("tiny", cache_dir=cache, progress=False, registry={"tiny": entry})
    assert server.hits == []


def test_unknown_name_lists_the_available_sets():
    with pytest.raises(KeyError, match="no dataset 'cifar11'; choose from .*cifar10.*lfw"):
        fetch("cifar11")


# ---------------------------------------------------------------------------------- registry


def test_every_registry_entry_is_complete():
    entries = data.registry()
    assert {"cifar10", "imagenette160", "coco_val2017", "lfw"} <= set(entries)
    for name, entry in entries.items():
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), name
        assert isinstance(entry["size"], int) and entry["size"] > 0, name
        for url in [entry["url"], *entry.get("mirrors", [])]:
            assert re.match(r"https?://[^/]+/", url), name
        assert entry["format"] in ("tar.gz", "zip") and entry["folder"] and entry["filename"], name
        assert entry["licence"] and entry["citation"] and entry["layout"], name
        assert entry["checksum_source"] and all(s.startswith("https://") for s in entry["checksum_source"]), name
        assert entry["lessons"], name


def test_registry_is_a_copy():
    data.registry()["cifar10"]["sha256"] = "changed"
    assert data.registry()["cifar10"]["sha256"] != "changed"


# ------------------------------------------------------------------------------------- CIFAR


def _cifar_batch(labels, key=b"labels"):
    labels = np.asarray(labels)
    pixels = np.zeros((len(labels), 3, 32, 32), np.uint8)
    pixels[:, 0] = labels[:, None, None] * 10  # red plane tells the label
    pixels[:, 2] = 7  # blue plane constant: catches a wrong channel order
    return {key: list(labels), b"data": pixels.reshape(len(labels), 3072)}


def _write(path, obj):
    path.write_bytes(pickle.dumps(obj))


def test_cifar10_classes_reads_only_the_asked_classes(tmp_path):
    names = data.registry()["cifar10"]["classes"]
    _write(tmp_path / "batches.meta", {b"label_names": [n.encode() for n in names]})
    for i in range(1, 6):
        _write(tmp_path / f"data_batch_{i}", _cifar_batch([4, 8, 0, 4, i]))
    _write(tmp_path / "test_batch", _cifar_batch([8, 3]))
    train = data.cifar_classes(tmp_path, classes=("deer", "ship"))
    assert train.images.shape == (16, 32, 32, 3) and train.images.dtype == np.uint8
    assert list(train.labels).count("deer") == 11 and list(train.labels).count("ship") == 5
    assert np.all(train.images[train.labels == "deer"][..., 0] == 40)
    assert np.all(train.images[..., 2] == 7) and np.all(train.images[..., 1] == 0)
    test = data.cifar_classes(tmp_path, classes=("ship",), split="test")
    assert list(test.labels) == ["ship"] and test.images[0, 5, 5, 0] == 80
    with pytest.raises(ValueError, match="no CIFAR class 'cattle'; choose from airplane"):
        data.cifar_classes(tmp_path, classes=("cattle",))


def test_cifar100_classes_use_fine_labels(tmp_path):
    names = ["apple", "cattle", "sea"]
    _write(tmp_path / "meta", {b"fine_label_names": [n.encode() for n in names]})
    _write(tmp_path / "train", _cifar_batch([1, 2, 1, 0], key=b"fine_labels"))
    cattle = data.cifar_classes(tmp_path, classes=("cattle",))
    assert list(cattle.labels) == ["cattle", "cattle"] and np.all(cattle.images[..., 0] == 10)
