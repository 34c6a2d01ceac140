"""``import colorlab`` leaves the process alone; ``colorlab.quiet()`` is the one call that hushes
TensorFlow (lessons make it first)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, logging, os, sys
import colorlab

facts = {"imported": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
                      "tensorflow": "tensorflow" in sys.modules}}
os.write(2, b"fd 2 works after import\\n")
colorlab.quiet()
colorlab.quiet()
facts["quieted"] = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
                    "tensorflow": "tensorflow" in sys.modules,
                    "logger": logging.getLevelName(logging.getLogger("tensorflow").level)}
os.write(2, b"fd 2 works after quiet\\n")
print(json.dumps(facts))
"""


def test_import_has_no_side_effects_and_quiet_hides_tensorflow_start_up():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["imported"] == {"TF_CPP_MIN_LOG_LEVEL": None, "tensorflow": False}
    assert facts["quieted"] == {"TF_CPP_MIN_LOG_LEVEL": "3", "tensorflow": True, "logger": "ERROR"}
    # Only the script's own lines: TensorFlow's start-up log (written to fd 2 even at level 3,
    # e.g. "All log messages before absl::InitializeLog() ...") is gone, and fd 2 is back.
    assert done.stderr.splitlines() == ["fd 2 works after import", "fd 2 works after quiet"]


def test_quiet_keeps_a_log_level_the_user_chose():
    # In a fresh process, as in a lesson's kernel: TensorFlow reads the level when quiet() first
    # imports it, and quiet() changes process-wide settings a test process should keep.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["imported"] == {"TF_CPP_MIN_LOG_LEVEL": "1", "tensorflow": False}
    assert facts["quieted"] == {"TF_CPP_MIN_LOG_LEVEL": "1", "tensorflow": True, "logger": "ERROR"}
