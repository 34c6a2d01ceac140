"""How fast the input pipeline feeds the tiny U-Net, and how training time grows with image
size and data size, on this machine (the measurements behind lesson 13).

    .venv/bin/python benchmarks/scaling.py [--files 512] [--scenes 512]

1. Pipeline: images per second that ``colorlab.data.folder_dataset`` delivers at 64 x 64 (batches
   of 32, encoded L and a*b*) from a temporary folder of JPEG files (160 x 120 toyworld scenes;
   JPEG as Imagenette, COCO and LFW ship) and of the same pictures as PNG (slower to decode),
   reading every file every epoch and from its in-memory cache, next to the images per second the
   tiny U-Net consumes while training at 64 x 64 (batch 32) and the ratio of the two (the pipeline
   should deliver at least 5 times what training consumes, so the model never waits for data).
2. Scaling: images per second and seconds per epoch of the tiny U-Net at 32, 64 and 128 pixels,
   on 1x and 2x the toyworld scenes (the second epoch, after tracing).
3. Toyworld: scenes per second that ``colorlab.data.toyworld`` draws at 64 x 64 (1,000 at a
   time; lessons draw their training sets with it, so it should take a second or two at most).

Other processes sharing the CPU make every figure noisy: the pipeline's steady-state figures and
the training speed they are compared with are each the median of three measurements.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import tensorflow as tf
from architectures import BATCH, SIZE, images_per_second, median_of  # the same sizes and measurements
from PIL import Image

from colorlab import data, models, train


def write_pictures(folder: Path, n: int, suffix: str = ".jpg", seed: int = 0) -> None:
    """``n`` toyworld scenes as 160 x 120 image files (JPEG at quality 90, or PNG)."""
    folder.mkdir(exist_ok=True)
    for start in range(0, n, 128):
        scenes = data.toyworld(min(128, n - start), 160, seed=seed + start).images
        for i, scene in enumerate(data.to_uint8(scenes[:, 20:140])):
            Image.fromarray(scene).save(folder / f"scene_{start + i:05d}{suffix}", quality=90)


def delivered(batches: tf.data.Dataset, epochs: int = 1) -> float:
    """Images per second the pipeline yields over ``epochs`` passes (nothing consumes them)."""
    count, start = 0, time.perf_counter()
    for _ in range(epochs):
        for x, _ in batches:
            count += int(x.shape[0])  # grey pictures would drop out; toyworld has none
    return count / (time.perf_counter() - start)


def fresh_unet():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    model = models.build("unet")
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mae")
    return model


def pipeline_table(n_files: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        jpegs, pngs = Path(root) / "jpeg", Path(root) / "png"
        start = time.perf_counter()
        write_pictures(jpegs, n_files)
        write_pictures(pngs, n_files, ".png")
        print(f"{n_files} JPEG and {n_files} PNG files of 160 x 120 written in {time.perf_counter() - start:.1f} s\n")
        streamed = {}
        for kind, where in (("JPEG", jpegs), ("PNG", pngs)):
            plain = data.folder_dataset(where, SIZE, batch_size=BATCH)
            delivered(plain)  # warm-up: traces the pipeline's functions, reads the files into the OS cache
            streamed[kind] = median_of(lambda plain=plain: delivered(plain, epochs=2))
        cached = data.folder_dataset(jpegs, SIZE, batch_size=BATCH, cache=True)
        filling = delivered(cached)
        from_cache = median_of(lambda: delivered(cached, epochs=3))
        augmented = data.folder_dataset(jpegs, SIZE, batch_size=BATCH, cache=True, augment=True)
        delivered(augmented)
        augmented = median_of(lambda: delivered(augmented, epochs=3))
        model, scenes = fresh_unet(), data.toyworld(512, SIZE, seed=0).images
        training = median_of(lambda: images_per_second(model, scenes))
        # End to end: the model trained straight from the folder, reading every file each epoch.
        model = fresh_unet()
        history = train.fit(model, jpegs, epochs=2, live=False, verbose=0)
        end_to_end = n_files / history["seconds"][-1]

    print(f"| {SIZE} x {SIZE}, batch {BATCH} | images/s | x what training consumes |")
    print("|---|---|---|")
    rows = [
        ("folder_dataset, JPEG, no cache (decode + resize every epoch)", streamed["JPEG"]),
        ("folder_dataset, PNG, no cache", streamed["PNG"]),
        ("folder_dataset, JPEG, cache=True, first epoch (fills the cache)", filling),
        ("folder_dataset, JPEG, cache=True, later epochs", from_cache),
        ("folder_dataset, JPEG, cache=True, augment=True (random crops, flips)", augmented),
        ("tiny U-Net training (consumes, in-memory batches)", training),
        ("tiny U-Net trained from the JPEG folder, no cache (end to end)", end_to_end),
    ]
    for label, speed in rows:
        print(f"| {label} | {speed:.0f} | {speed / training:.1f} |")
    print()


def scaling_table(n_scenes: int) -> None:
    print("| image size | scenes | train images/s | s per epoch |")
    print("|---|---|---|---|")
    for size in (32, 64, 128):
        for n in (n_scenes, 2 * n_scenes):
            scenes = data.toyworld(n, size, seed=0).images
            model = fresh_unet()
            history = train.fit(model, scenes, epochs=2, batch_size=BATCH, live=False, verbose=0)
            seconds = history["seconds"][-1]  # the first epoch also traces the training step
            print(f"| {size} | {n} | {n / seconds:.0f} | {seconds:.1f} |", flush=True)
            del scenes


def toyworld_line(n: int = 1000) -> None:
    seconds = median_of(lambda: timed(lambda: data.toyworld(n, 64, seed=0)))
    print(f"toyworld: {n:,} scenes of 64 x 64 in {seconds:.2f} s ({n / seconds:,.0f} scenes/s)")


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=512, help="PNG files in the pipeline's folder")
    parser.add_argument("--scenes", type=int, default=512, help="toyworld scenes at 1x data")
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")  # AutoGraph's notes on the pipelines' lambdas are not figures
    print(f"{os.cpu_count()} CPU cores visible; TensorFlow {tf.__version__}\n")
    pipeline_table(args.files)
    scaling_table(args.scenes)
    toyworld_line()


if __name__ == "__main__":
    main()
