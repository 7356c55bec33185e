"""Shared pytest setup: where the test data lives, helpers and fixtures.

The repository root is on the import path through `pythonpath` in
tests/pytest.ini, so tests import project code as packages
(`from pretrain import modeling`).

Test data comes from two places:
- `tests/testdata/` (in the repository): the golden vectors and variable
  lists of the published implementation, the Chinese vocabulary and small
  slices of real data sets. Everything a test needs on a bare clone.
- `DATA_DIR` (outside it): the full public data sets, laid out as
  `DATA_DIR/cmrc2018/cmrc2018_dev.json`, `DATA_DIR/chnsenticorp/train.tsv`,
  ... (see tests/testdata/README.md). Tests that need them skip with one
  line naming the file when it is missing. The default is a `shared/data`
  folder beside the repository, where one exists.
"""
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(REPO, "tests", "testdata")
VOCAB = os.path.join(TESTDATA, "vocab", "chinese_vocab.txt")
GOLDEN_DIR = os.path.join(TESTDATA, "golden")
VARIABLES_DIR = os.path.join(TESTDATA, "variables")
DATA_DIR = os.environ.get("DATA_DIR") or os.path.join(
    REPO, os.pardir, "shared", "data")


def data_file(*parts):
    """Path of a file of the full data sets under DATA_DIR, or a skip.

    Args:
      *parts: the path below DATA_DIR, e.g. ("cmrc2018", "cmrc2018_dev.json").

    Returns:
      The path, when the file exists; otherwise the calling test is skipped
      with a line saying what to point DATA_DIR at.
    """
    path = os.path.join(DATA_DIR, *parts)
    if not os.path.exists(path):
        pytest.skip("needs the full data set file %s: set DATA_DIR to a "
                    "folder holding %s (see tests/testdata/README.md)"
                    % (path, "/".join(parts)))
    return path


def has_data(*parts):
    """Whether DATA_DIR holds the given file (for skipif and parametrize)."""
    return os.path.exists(os.path.join(DATA_DIR, *parts))


# The squad-style reading-comprehension files: the repository's slices
# (CMRC 2018 trial, CMRC 2018 dev, DRCD dev), then the full files of the
# same sets where DATA_DIR has them.
SQUAD_SLICES = tuple(os.path.join(TESTDATA, *parts) for parts in (
    ("cmrc2018", "cmrc2018_trial_head.json"),
    ("cmrc2018", "cmrc2018_dev_head.json"),
    ("drcd", "DRCD_dev_head.json")))
SQUAD_FULL_FILES = (("cmrc2018", "cmrc2018_trial.json"),
                    ("cmrc2018", "cmrc2018_dev.json"),
                    ("drcd", "DRCD_dev.json"))


def squad_files():
    """Every squad-style file available: the slices, then the full files."""
    return list(SQUAD_SLICES) + [os.path.join(DATA_DIR, *parts)
                                 for parts in SQUAD_FULL_FILES
                                 if has_data(*parts)]


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


def save_random_bert(config_dict, prefix, state_file=True):
    """Saves a randomly initialised BertModel and MLM head at `prefix`.

    Args:
      state_file: also write the `checkpoint` state file and the meta
        graph, as a training run does (False: only the variables, as a
        published model folder holds them).
    """
    from pretrain import modeling
    from scripts import export_checkpoint
    export_checkpoint.save_random_model(
        modeling.BertConfig.from_dict(config_dict), prefix, state_file)


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
