"""Checkpoints move between the stacks: written on one, continued on the other.

The test trains two steps here, continues two steps in the other stack's
environment (.venv with TF 1.15 or .venv-tf2 with TF 2.15; CI builds both)
from that checkpoint, and checks here that the step, the Adam slots and the
weights came back advanced.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO

# Both stacks train and restore: an end-to-end check.
pytestmark = pytest.mark.slow

# Run by both stacks: restore (if asked), train two steps, save.
TRAIN_TWO_STEPS = r'''
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tensorflow.compat.v1 as tf
from pretrain import checkpoints, modeling, optimization
source, target = sys.argv[2], sys.argv[3]
config = modeling.BertConfig.from_json_file(
    sys.argv[1] + "/config/tiny_student_f2.json")
with tf.Graph().as_default():
    ids = tf.constant(np.random.RandomState(0).randint(
        1, config.vocab_size, (4, 16)).astype(np.int32))
    model = modeling.BertModel(config, False, ids)
    logits = modeling.classifier_logits(model.get_pooled_output(), 2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.zeros([4], tf.int32), logits=logits))
    train_op, _ = optimization.create_optimizer(loss, 1e-3, 10, 0, False)
    if source != "none":
        checkpoints.restore_by_name(source, use_tpu=False,
                                    tvars=tf.global_variables())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(2):
            sess.run(train_op)
        tf.train.Saver().save(sess, target)
'''


def other_stack_python():
    """The interpreter of the stack this test does not run on."""
    other = ".venv-tf2" if tf.__version__.startswith("1.") else ".venv"
    python = os.path.join(REPO, other, "bin", "python")
    if not os.path.exists(python):
        pytest.skip("NO %s: build it with %sbash scripts/setup_env.sh; the "
                    "cross-stack checkpoint check did NOT run" %
                    (other, "STACK=tf2 " if other == ".venv-tf2" else ""))
    return python


def train_two_steps(python, source, target):
    result = subprocess.run(
        [python, "-c", TRAIN_TWO_STEPS, REPO, source, target],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def test_checkpoint_continues_on_the_other_stack_and_back(tmp_path):
    other = other_stack_python()
    here_1 = str(tmp_path / "here_1.ckpt")
    there = str(tmp_path / "there.ckpt")
    here_2 = str(tmp_path / "here_2.ckpt")
    train_two_steps(sys.executable, "none", here_1)
    train_two_steps(other, here_1, there)
    train_two_steps(sys.executable, there, here_2)
    steps = [tf.train.load_variable(p, "global_step")
             for p in (here_1, there, here_2)]
    assert steps == [2, 4, 6]
    name = "output_weights"
    values = [tf.train.load_variable(p, name) for p in (here_1, there, here_2)]
    assert not np.allclose(values[0], values[1])
    assert not np.allclose(values[1], values[2])
    slots = [tf.train.load_variable(p, name + "/adam_v")
             for p in (here_1, there, here_2)]
    assert np.all(slots[1] > 0) and not np.allclose(slots[1], slots[2])
    assert (sorted(n for n, _ in tf.train.list_variables(here_1)) == sorted(
        n for n, _ in tf.train.list_variables(there)))
