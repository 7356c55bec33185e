"""Shared pytest setup: the repository and ../shared locations, helpers and
fixtures.

The repository root is on the import path through `pythonpath` in
tests/pytest.ini, so tests import project code as packages
(`from pretrain import modeling`).
"""
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, os.pardir, "shared")
# The modern stack's interpreter (TF 2.15, torch, transformers).
TORCH_PYTHON = os.path.join(REPO, ".venv-tf2", "bin", "python")
# Exit status of scripts/setup_env.sh when Python 3.11 is missing.
NO_PYTHON311_EXIT = 3

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def split_cpu_into_two_logical_devices():
    """Two logical CPU devices for the tf.distribute replica tests.

    TensorFlow 2 fixes its devices when the runtime first starts, so this
    runs before any test builds a graph.  (TensorFlow 1.15 sessions get the
    second CPU device from ConfigProto(device_count={"CPU": 2}) instead.)
    """
    import tensorflow as tf_root
    if not hasattr(tf_root.config, "set_logical_device_configuration"):
        return
    cpu = tf_root.config.list_physical_devices("CPU")[0]
    tf_root.config.set_logical_device_configuration(
        cpu, [tf_root.config.LogicalDeviceConfiguration()] * 2)


split_cpu_into_two_logical_devices()


def run_ok(command, merge_stderr=False, **kwargs):
    """Runs `command` with its output captured as text; asserts exit 0.

    Args:
      command: argument list for subprocess.run.
      merge_stderr: send stderr into stdout (one interleaved log).
      **kwargs: more subprocess.run arguments (cwd, env, ...).

    Returns:
      The subprocess.CompletedProcess; on failure the assertion shows the
      tail of stderr (of stdout with `merge_stderr`).
    """
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        universal_newlines=True,
        check=False,
        **kwargs)
    log = result.stdout if merge_stderr else result.stderr
    assert result.returncode == 0, log[-5000:]
    return result


@pytest.fixture(scope="module")
def torch_python():
    """Builds (or reuses) .venv-tf2; skips loudly without Python 3.11."""
    result = subprocess.run(
        ["bash", os.path.join(REPO, "scripts", "setup_env.sh")],
        env=dict(os.environ, STACK="tf2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False)
    if result.returncode == NO_PYTHON311_EXIT:
        pytest.skip("NO PYTHON 3.11: the PyTorch conversion parity check "
                    "did NOT run. " + result.stderr.strip())
    assert result.returncode == 0, result.stderr[-3000:]
    return TORCH_PYTHON
