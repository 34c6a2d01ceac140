"""Tests run in FAST mode (small budgets): see colorlab/settings.py."""

import os

os.environ.setdefault("COLORLAB_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
