"""The three entry scripts log training progress the same way.

Off TPU each training graph carries one host-side ProgressHook (step, loss
terms, examples/sec); on TPU none does, in run_classifier.py as in the other
two (its tensors live inside the TPU loop; TPUEstimator logs steps/sec
itself).
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from finetune import finetune_util
from finetune import run_classifier
from finetune import run_squad
from pretrain import distill_util
from pretrain import estimator_util
from pretrain import modeling
from pretrain import pretraining_stages
from pretrain import run_pretraining

SEQ, PREDS = 8, 2
CONFIG = modeling.BertConfig(vocab_size=30, hidden_size=8,
                             num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=16)
SCHEDULE = finetune_util.TrainSchedule(1e-3, 10, 1, 2)


def batch():
    """Two sequences with every feature the three model_fns read."""
    ids = tf.constant(np.arange(2 * SEQ).reshape(2, SEQ) % 30, tf.int32)
    pairs = tf.constant([[1, 2], [3, 4]], tf.int32)
    return {
        "input_ids": ids,
        "input_mask": tf.ones_like(ids),
        "segment_ids": tf.zeros_like(ids),
        "label_ids": tf.constant([0, 1], tf.int32),
        "start_positions": tf.constant([1, 2], tf.int32),
        "end_positions": tf.constant([2, 3], tf.int32),
        "masked_lm_positions": pairs,
        "masked_lm_ids": pairs,
        "masked_lm_weights": tf.ones([2, PREDS]),
    }


def classifier_model_fn(options):
    return run_classifier.model_fn_builder(CONFIG, 2, options,
                                           schedule=SCHEDULE)


def squad_model_fn(options):
    return run_squad.model_fn_builder(CONFIG, options, schedule=SCHEDULE)


def pretraining_model_fn(options):
    stage = pretraining_stages.Stage(
        name="main", model_dir=None, input_files=[], max_seq_length=SEQ,
        batch_size=2, max_steps=10, schedule_steps=10, layer_wise=False,
        with_teacher=False, init=None)
    optimizer = run_pretraining.OptimizerSettings(
        optimizer="adamw", learning_rate=1e-3, weight_decay_rate=0.01,
        num_warmup_steps=0)
    distill = pretraining_stages.DistillSettings(
        factors=distill_util.DistillFactors(0.0, 0.0, 0.0, 0.0),
        ground_truth_ratio=1.0, temperature=1.0)
    return run_pretraining.model_fn_builder(stage, CONFIG, None, optimizer,
                                            distill, options)


def progress_hooks(build, use_tpu):
    """The ProgressHooks of the TRAIN graph `build` makes."""
    options = estimator_util.single_device_options(use_tpu=use_tpu)
    with tf.Graph().as_default():
        spec = build(options)(batch(), None, tf.estimator.ModeKeys.TRAIN,
                              {"batch_size": 2})
    return [h for h in spec.training_hooks
            if isinstance(h, estimator_util.ProgressHook)]


@pytest.mark.parametrize("build", [classifier_model_fn, squad_model_fn,
                                   pretraining_model_fn])
def test_no_progress_hook_on_tpu(build):
    assert not progress_hooks(build, use_tpu=True)


def test_one_progress_hook_off_tpu():
    # The scripts' logs are checked end to end in their own tests; here the
    # same builder with the same options apart from use_tpu.
    assert len(progress_hooks(classifier_model_fn, use_tpu=False)) == 1
