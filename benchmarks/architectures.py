"""Every architecture's tiny preset at 64 x 64 on this machine: training speed, achieved GFLOP/s
and its share of the measured fp32 matmul peak, and held-out a*b* error after a fixed training
budget on toyworld, next to the grayscale (a*b* = 0) baseline.

    .venv/bin/python benchmarks/architectures.py [--budget 60] [--original-presets] [names ...]

Quality is scored on toyworld's *learnable* pixels (``Scenes.ambiguous`` is False) of 128
held-out scenes, as mean |a*b* error| in CIELAB units of the full-resolution ``colorize`` output,
so RGB models and classifiers are judged on the same footing as a*b* models. "pipeline img/s" is
what the input pipeline alone delivers for that model: far above "train img/s" means training is
not waiting for data. The GFLOP/s of ``pix2pix`` count its generator only (its discriminator runs
twice per step on top). A training step counts as three forward passes (forward, then backward
for activations and for weights), except for frozen parts such as ``vgg_transformer``'s VGG16,
which only run forward. Training speed is the median of three measurements. ``--original-presets``
adds every original preset's training speed at its own size.
"""

from __future__ import annotations

import argparse
import statistics
import time

import keras
import tensorflow as tf

from colorlab import color, data, inference, metrics, models, train

SIZE = 64
BATCH = 32
#: Speeds are the median of this many measurements (this machine is shared, so each one is noisy).
REPEATS = 3


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 matrix-multiply throughput: this machine's practical peak."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        product().numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def forward_flops(model) -> float:
    """Floating-point operations of one forward pass on one 64 x 64 image (TF's profiler)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [tf.TensorSpec((1, *(SIZE if s is None else s for s in t.shape[1:])), tf.float32) for t in model.inputs]
    concrete = tf.function(lambda *x: model(list(x) if len(x) > 1 else x[0], training=False)).get_concrete_function(*specs)
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops


def training_flops(model) -> float:
    """Operations of one training step per image: three forward passes of what trains, one of
    what is frozen (a frozen sub-model, such as a pretrained backbone, needs no backward pass)."""
    frozen = sum(forward_flops(layer) for layer in model.layers if isinstance(layer, keras.Model) and not layer.trainable)
    return 3 * forward_flops(model) - 2 * frozen


class _StepClock(keras.callbacks.Callback):
    """Wall-clock time of every training batch's end."""

    def on_train_begin(self, logs=None):
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def images_per_second(model, images, warm_up: int = 5, steps: int = 20) -> float:
    """Steady training throughput inside one ``fit`` (input pipeline included), after ``warm_up``
    steps that trace and compile: a fresh ``fit`` call's own start-up is not counted."""
    clock = _StepClock()
    model.fit(train.training_data(model, images, BATCH).repeat(), steps_per_epoch=warm_up + steps, epochs=1,
              verbose=0, callbacks=[clock])
    return steps * BATCH / (clock.ends[-1] - clock.ends[warm_up - 1])


def median_of(measure, repeats: int = REPEATS) -> float:
    """The median of ``repeats`` calls of ``measure()``: one figure a neighbour's burst cannot make."""
    return statistics.median(measure() for _ in range(repeats))


def pipeline_images_per_second(model, images, batches: int = 30) -> float:
    """How fast the input pipeline alone delivers encoded training batches for ``model``."""
    iterator = iter(train.training_data(model, images, BATCH).repeat())
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * BATCH / (time.perf_counter() - start)


def original_preset_speeds(batch: int = 8, steps: int = 3) -> None:
    """Training images/s of every original preset at its own input size (most: 120 x 176)."""
    print("\n| original preset | input | params | train img/s |\n|---|---|---|---|")
    for name in models.names():
        tf.keras.backend.clear_session()
        model = models.build(name, "original", **({"weights": None} if name == "vgg_transformer" else {}))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy" if models.predicts(model) == "classes" else "mae")
        size = inference.input_size(model)
        images = data.toyworld(batch * steps, max(size), seed=0).images[:, :size[0], :size[1]]
        x, y = next(iter(train.training_data(model, images, batch)))
        model.train_on_batch(x, y)  # the first step traces and compiles
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        print(f"| {name} | {size[0]} x {size[1]} | {model.count_params():,} | {steps * batch / (time.perf_counter() - start):.1f} |",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per architecture (0: speed only)")
    parser.add_argument("--original-presets", action="store_true", help="also time every original preset at its own size")
    parser.add_argument("names", nargs="*", default=models.names())
    args = parser.parse_args()

    peak = matmul_peak_gflops()
    train_set = data.toyworld(2048, SIZE, seed=0)
    held_out = data.toyworld(128, SIZE, seed=1)
    learnable = ~held_out.ambiguous
    baseline = metrics.ab_mae(color.to_gray(held_out.images), held_out.images, learnable)
    print(f"fp32 matmul peak: {peak:.0f} GFLOP/s; {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads")
    print(f"grayscale baseline, learnable pixels: a*b* MAE {baseline:.2f}\n")
    print(f"| architecture | params | train img/s | pipeline img/s | GFLOP/s | % of peak | a*b* MAE after {args.budget:.0f} s | epochs |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.names:
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(0)
        model = models.build(name)
        flops = training_flops(model)
        model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                      loss="sparse_categorical_crossentropy" if models.predicts(model) == "classes" else "mae")
        speed = median_of(lambda model=model: images_per_second(model, train_set.images[:512]))
        delivery = pipeline_images_per_second(model, train_set.images[:512])
        achieved = speed * flops / 1e9
        if args.budget <= 0:  # speed only
            print(f"| {name} | {model.count_params():,} | {speed:.0f} | {delivery:.0f} | {achieved:.1f} | "
                  f"{100 * achieved / peak:.0f}% | - | - |", flush=True)
            continue
        history = train.fit(model, train_set.images, epochs=1000, budget_s=args.budget, learning_rate=2e-3,
                            live=False, verbose=0)
        error = metrics.ab_mae(inference.colorize(model, held_out.images), held_out.images, learnable)
        print(f"| {name} | {model.count_params():,} | {speed:.0f} | {delivery:.0f} | {achieved:.1f} | {100 * achieved / peak:.0f}% "
              f"| {error:.2f} | {len(history['loss'])} |", flush=True)
    if args.original_presets:
        original_preset_speeds()


if __name__ == "__main__":
    main()
