"""Tests run in FAST mode (small budgets): see colorlab/settings.py.

TensorFlow computes with one thread per process (``TF_NUM_INTRAOP_THREADS=1``, read when it
starts, here and in the lessons' kernels): a reduction split over another number of threads rounds
differently, so with a fixed count a test's numbers do not depend on how many pytest workers run
or how many cores the machine has (only on its CPU). ``make test`` runs 2 workers, which on 2
cores is one core each, as fast as before. The files that take longest start first, so that no
worker is left with a long file while the other idles.
"""

import os

os.environ.setdefault("COLORLAB_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

#: Files measured to take longest (their tests' durations summed, from ``--junitxml``), longest first.
LONGEST_FIRST = ("tests/test_quality.py", "lessons/09_vgg_transformer.ipynb", "tests/test_widgets.py",
                 "tests/test_pretrained.py", "tests/test_distribute.py", "tests/test_train.py", "tests/test_reference.py",
                 "lessons/14_your_own_photos.ipynb", "lessons/11_gan.ipynb", "tests/test_models.py",
                 "lessons/06_sequential_lab.ipynb", "lessons/13_scaling_up.ipynb", "tests/test_pix2pix.py",
                 "tests/test_browser.py", "tests/test_model_code.py", "lessons/15_colour_hints.ipynb")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: tests keep their order within a file
