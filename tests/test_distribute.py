"""train.fit with a tf.distribute strategy: two MultiWorkerMirroredStrategy workers on this
machine (127.0.0.1) train the same tiny U-Net as one process would (lesson 13)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from colorlab import data, inference, models, train

WORKER = Path(__file__).with_name("distributed_worker.py")
TIMEOUT_S = 300
ATTEMPTS = 3
PORT_TAKEN = 75  # distributed_worker.PORT_TAKEN


def free_ports(n):
    """``n`` ports free now. TensorFlow can only be handed port numbers, not bound sockets, so
    they are released before the workers bind them and another process may take one meanwhile:
    that worker then exits with ``PORT_TAKEN`` and the cluster is started again."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("", 0))  # all interfaces, as TensorFlow's server binds them
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start(out, name, mode, tf_config=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    with open(out / f"log_{name}.txt", "w") as log:  # a file, not a pipe nobody reads while it runs
        return subprocess.Popen([sys.executable, str(WORKER), str(out), mode], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def finish(out, processes: dict, timeout=TIMEOUT_S) -> dict:
    """Wait for ``processes`` (by name); once one fails the others are stopped (a worker would
    wait for a failed peer until it timed out). Returns each one's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [p.poll() for p in processes.values()]
        if None not in states or any(state not in (None, 0) for state in states):
            break
        time.sleep(0.2)
    for p in processes.values():
        if p.poll() is None:
            p.kill()
        p.wait()
    return {name: (out / f"log_{name}.txt").read_text() for name in processes}


def workers(out, cluster) -> dict:
    return {i: start(out, i, "multi", {"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(2)}


def test_two_workers_train_as_one_process_would(tmp_path):
    single = {"single": start(tmp_path, "single", "single")}
    for _ in range(ATTEMPTS):
        pair = workers(tmp_path, {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]})
        logs = finish(tmp_path, pair)
        if PORT_TAKEN not in [p.returncode for p in pair.values()]:
            break
    logs.update(finish(tmp_path, single))
    for name, p in {**pair, **single}.items():
        assert p.returncode == 0, logs[name][-3000:]

    results = {i: json.loads((tmp_path / f"result_{i}.json").read_text()) for i in (0, 1, "single")}
    weights = {i: np.load(tmp_path / f"weights_{i}.npz") for i in (0, 1, "single")}
    assert results[0]["replicas"] == results[1]["replicas"] == 2
    statistics = {i: np.load(tmp_path / f"statistics_{i}.npz") for i in (0, 1)}
    for name in weights[0].files:  # the all-reduce keeps the workers' weights identical
        np.testing.assert_array_equal(weights[0][name], weights[1][name])
    # BatchNormalization's running statistics are each worker's own (Keras does not synchronise
    # them; keras.layers.BatchNormalization(synchronized=True) would): close, not equal.
    for name in statistics[0].files:
        np.testing.assert_allclose(statistics[0][name], statistics[1][name], rtol=0.2, atol=0.02)
    assert results[0]["loss"] == pytest.approx(results[1]["loss"], rel=1e-5)
    # ... and they learn what one process learns from the same global batches (each worker's
    # BatchNormalization sees half of each batch, so not exactly the same numbers).
    assert results[0]["loss"][-1] < results[0]["loss"][0]
    assert results[0]["loss"][-1] == pytest.approx(results["single"]["loss"][-1], rel=0.15)


def test_a_worker_whose_port_is_taken_exits_with_port_taken(tmp_path):
    """What the two-worker test retries on: a worker that cannot bind its port says so."""
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        cluster = {"worker": [f"127.0.0.1:{taken.getsockname()[1]}", f"127.0.0.1:{free_ports(1)[0]}"]}
        worker = start(tmp_path, 0, "multi", {"cluster": cluster, "task": {"type": "worker", "index": 0}})
        log = finish(tmp_path, {0: worker})[0]
    assert worker.returncode == PORT_TAKEN, log[-3000:]


def test_fit_refuses_a_model_built_outside_the_strategy_scope():
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    scenes = data.toyworld(8, 32, seed=0)
    with pytest.raises(ValueError, match="strategy.scope"):
        train.fit(models.build("unet", scale=0.0625), scenes.images, epochs=1, verbose=0, live=False,
                  strategy=strategy)
    with strategy.scope():
        model = models.build("unet", scale=0.0625)
    history = train.fit(model, scenes.images, epochs=1, batch_size=4, verbose=0, live=False, strategy=strategy)
    assert np.isfinite(history["loss"][0])


def test_mixed_precision_trains_and_colorizes():
    previous = train.mixed_precision(True)
    try:
        model = models.build("unet", scale=0.0625)
        assert model.dtype_policy.name == "mixed_float16" and model.output.dtype == "float16"
        scenes = data.toyworld(8, 32, seed=0)
        history = train.fit(model, scenes.images, epochs=1, batch_size=4, verbose=0, live=False)
        assert np.isfinite(history["loss"][0]) and "LossScale" in type(model.optimizer).__name__
        colored = inference.colorize(model, scenes.images[:2])
        assert colored.dtype == np.float32 and np.isfinite(colored).all()
    finally:
        train.mixed_precision(previous == "mixed_float16")
    assert train.keras.mixed_precision.global_policy().name == previous
