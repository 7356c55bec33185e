"""Shared pytest setup: the repository and ../shared locations, helpers.

The repository root is on the import path through `pythonpath` in
tests/pytest.ini, so tests import project code as packages
(`from pretrain import modeling`).
"""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, os.pardir, "shared")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
