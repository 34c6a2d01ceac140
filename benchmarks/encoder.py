"""The pretrained encoder's speed on this machine, and what caching its features saves.

    .venv/bin/python benchmarks/encoder.py

Prints EfficientNet-Lite0's images per second (inference, frozen, batches of 32) at the sizes the
lessons use, traced (``backbones.traced``, what ``transfer.encode`` and the semantic test use) and called
eagerly, then the decoder's training speed (patches per second) on cached features
(``transfer.fit_decoder``) against training the joined model through the frozen encoder
(``train.fit``), on the same patches. Part of ``make bench``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import colorlab  # noqa: E402

colorlab.quiet()

import numpy as np  # noqa: E402

from colorlab import backbones, data, train, transfer  # noqa: E402
from colorlab.models import lite0_unet  # noqa: E402

SIZES = (64, 128, 256)
BATCH = 32


def images_per_second(infer, size: int, repeats: int = 3) -> float:
    x = np.random.default_rng(0).random((BATCH, size, size, 1)).astype(np.float32)
    infer(x)  # the first call builds (or traces) the graph
    start = time.perf_counter()
    for _ in range(repeats):
        infer(x)
    return repeats * BATCH / (time.perf_counter() - start)


def main():
    encoder = backbones.efficientnet_lite0()
    encoder.trainable = False
    print("EfficientNet-Lite0 encoder, frozen, inference in batches of 32:")
    ways = {"traced": backbones.traced(encoder), "eager": lambda x: encoder(x, training=False)}
    for name, infer in ways.items():
        for size in SIZES:
            print(f"  {name:6} {size:4d} x {size:<4d}: {images_per_second(infer, size):7.1f} images/s")

    patches = data.photos(128, "train", longer_side=384, stride=64).images[:256]
    cache = transfer.encode(encoder, patches)
    decoder = lite0_unet.decoder_model("classes")
    cached = transfer.fit_decoder(decoder, cache, epochs=2, batch_size=16)
    joined = lite0_unet.colorizer(encoder, lite0_unet.decoder_model("classes"))
    through = train.fit(joined, patches, epochs=2, batch_size=16, live=False, verbose=0)
    # The second epoch of each: the first includes tracing.
    print(f"decoder training on {len(patches)} patches of 128 px, batches of 16:")
    print(f"  features cached once ({cache.seconds:.1f} s): {len(patches) / cached['seconds'][-1]:6.1f} patches/s")
    print(f"  through the frozen encoder every step:    {len(patches) / through['seconds'][-1]:6.1f} patches/s")


if __name__ == "__main__":
    main()
