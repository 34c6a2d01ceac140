"""One process of the distributed-training test (tests/test_distribute.py); not a test itself.

    python tests/distributed_worker.py OUT_DIR multi|single

``multi``: a ``MultiWorkerMirroredStrategy`` worker; its cluster and its own index come from
``TF_CONFIG``. ``single``: the same training in one process without a strategy, for reference.
Either way it trains the tiny U-Net (at 1/16 of the seed's widths) from a fixed seed on fixed
toyworld scenes with a global batch of 16, then writes its final weights (``weights_<i>.npz``),
BatchNormalization statistics (``statistics_<i>.npz``) and losses (``result_<i>.json``) to
OUT_DIR. A worker that cannot bind its port (taken by another process) exits with ``PORT_TAKEN``.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

GLOBAL_BATCH = 16
SCENES, SIZE, EPOCHS = 64, 32, 2  # 4 steps an epoch
#: Exit status of a worker whose port another process took before it could bind it.
PORT_TAKEN = 75


def main(out: Path, mode: str) -> None:
    # The strategy comes first: it must be created before any other TensorFlow operation runs.
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy() if mode == "multi" else None
    except tf.errors.UnknownError as error:
        if "Could not start gRPC server" in str(error):  # its port is taken: the test starts again elsewhere
            sys.exit(PORT_TAKEN)
        raise
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"] if mode == "multi" else "single"

    import keras

    keras.config.disable_traceback_filtering()  # full tracebacks in the test log

    from colorlab import data, models, train

    keras.utils.set_random_seed(0)
    if strategy is None:
        model = models.build("unet", scale=0.0625)
    else:
        with strategy.scope():
            model = models.build("unet", scale=0.0625)
    scenes = data.toyworld(SCENES, SIZE, seed=0)
    batches = data.dataset(scenes.images, batch_size=GLOBAL_BATCH, shuffle=False)
    # Every worker builds the same pipeline; each takes its share of every global batch.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = batches.with_options(options)
    history = train.fit(model, batches, epochs=EPOCHS, learning_rate=3e-3, live=False, verbose=0, strategy=strategy)
    replicas = 1 if strategy is None else strategy.num_replicas_in_sync
    np.savez(out / f"weights_{index}.npz", *[np.asarray(w.numpy()) for w in model.trainable_weights])
    np.savez(out / f"statistics_{index}.npz", *[np.asarray(w.numpy()) for w in model.non_trainable_weights])
    (out / f"result_{index}.json").write_text(json.dumps({"loss": history["loss"], "replicas": replicas}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
