"""Tests run in FAST mode (small budgets): see colorlab/settings.py.

Under ``pytest -n N`` (``make test``) each of the N worker processes gives TensorFlow its share of
the cores, so that N workers do not fight over them, and the files that take longest start first,
so that no worker is left with a long file while the other idles.
"""

import os

os.environ.setdefault("COLORLAB_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:  # read by TensorFlow when it starts, here and in the lessons' kernels
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

#: Files measured to take longest (``make test`` reports the slowest tests), longest first.
LONGEST_FIRST = ("tests/test_quality.py", "lessons/11_gan.ipynb", "tests/test_hints.py", "lessons/10_loss_averaging.ipynb",
                 "lessons/07_unet.ipynb", "tests/test_widgets.py", "tests/test_distribute.py", "tests/test_train.py",
                 "lessons/09_vgg_transformer.ipynb", "tests/test_pix2pix.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: tests keep their order within a file
