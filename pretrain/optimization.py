# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Learning-rate schedule, optimizer choice, and the training op of every task.

The optimizers themselves live in adamw_optimizer.py (AdamW, the base) and
lamb_optimizer.py (LAMB, which extends it).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf

from pretrain import adamw_optimizer
from pretrain import checkpoints
from pretrain import lamb_optimizer

# Variables whose names match get neither weight decay nor (LAMB) trust ratio.
NO_DECAY_PATTERNS = ("LayerNorm", "layer_norm", "FakeLayerNorm", "bias")


def learning_rate_schedule(init_lr,
                           num_train_steps,
                           num_warmup_steps,
                           end_lr_rate=1e-4,
                           global_step=None):
    """Linear warmup to `init_lr`, then linear decay to `end_lr_rate*init_lr`.

    Args:
      init_lr: peak learning rate.
      num_train_steps: step at which the decay reaches its end value.
      num_warmup_steps: steps of linear warmup from 0 (0 disables warmup).
      end_lr_rate: final learning rate as a fraction of `init_lr` (1.0 keeps
        the rate constant, as stage-1 distillation does).
      global_step: step tensor (defaults to the graph's global step).

    Returns:
      A float32 scalar tensor.
    """
    if global_step is None:
        global_step = tf.train.get_or_create_global_step()
    step = tf.cast(global_step, tf.float32)
    init_lr = tf.constant(init_lr, tf.float32)
    decayed = tf.train.polynomial_decay(init_lr,
                                        global_step,
                                        max(num_train_steps, 1),
                                        end_learning_rate=init_lr *
                                        end_lr_rate,
                                        power=1.0,
                                        cycle=False)
    if not num_warmup_steps:
        return decayed
    warmup = init_lr * step / float(num_warmup_steps)
    return tf.where(step < float(num_warmup_steps), warmup, decayed)


def student_variables(tvars=None):
    """Trainable variables minus the teacher's (which never train)."""
    if tvars is None:
        tvars = tf.trainable_variables()
    return [
        v for v in tvars if not v.name.startswith(checkpoints.TEACHER_PREFIX)
    ]


def create_optimizer(loss,
                     init_lr,
                     num_train_steps,
                     num_warmup_steps,
                     use_tpu,
                     optimizer_name="adamw",
                     weight_decay_rate=0.01,
                     end_lr_rate=1e-4,
                     tvars=None,
                     lr_multipliers=None,
                     global_step=None):
    """Builds the train op: schedule, optimizer, clipping, step increment.

    Args:
      loss: scalar loss.
      init_lr: peak learning rate.
      num_train_steps: total steps of the schedule.
      num_warmup_steps: warmup steps.
      use_tpu: wrap the optimizer in a CrossShardOptimizer.
      optimizer_name: "adamw" or "lamb".
      weight_decay_rate: decoupled weight decay.
      end_lr_rate: see learning_rate_schedule.
      tvars: variables to train (default: all trainable minus `teacher/`).
      lr_multipliers: optional {variable name: scalar tensor} per-variable
        learning-rate multipliers, honoured by LAMB only (as published).
      global_step: step variable (default: the graph's global step).

    Returns:
      (train_op, learning_rate tensor).
    """
    if global_step is None:
        global_step = tf.train.get_or_create_global_step()
    learning_rate = learning_rate_schedule(init_lr, num_train_steps,
                                           num_warmup_steps, end_lr_rate,
                                           global_step)
    optimizer = make_optimizer(optimizer_name, learning_rate,
                               weight_decay_rate, lr_multipliers)
    if use_tpu:
        optimizer = tf.tpu.CrossShardOptimizer(optimizer)
    tvars = student_variables(tvars)
    grads = tf.gradients(loss, tvars)
    grads, _ = tf.clip_by_global_norm(grads, clip_norm=1.0)
    # Embedding lookups give IndexedSlices; the optimizers do dense math.
    grads = [dense_gradient(g) for g in grads]
    train_op = optimizer.apply_gradients(zip(grads, tvars),
                                         global_step=global_step)
    # Neither optimizer increments the step itself.  Incrementing after the
    # update keeps every read of the step within one run (schedule, gates)
    # at the pre-increment value.
    with tf.control_dependencies([train_op]):
        train_op = tf.group(global_step.assign_add(1))
    return train_op, learning_rate


def dense_gradient(grad):
    """`grad` as a dense tensor (IndexedSlices converted; None kept)."""
    if isinstance(grad, tf.IndexedSlices):
        return tf.convert_to_tensor(grad)
    return grad


def make_optimizer(optimizer_name, learning_rate, weight_decay_rate,
                   lr_multipliers=None):
    """Returns an AdamW or LAMB optimizer with the project's constants."""
    name = optimizer_name.lower()
    if name == "adamw":
        return adamw_optimizer.AdamWeightDecayOptimizer(learning_rate,
                                        weight_decay_rate=weight_decay_rate,
                                        exclude_from_weight_decay=list(
                                            NO_DECAY_PATTERNS))
    if name == "lamb":
        return lamb_optimizer.LAMBOptimizer(
            learning_rate,
            weight_decay_rate=weight_decay_rate,
            exclude_from_weight_decay=list(NO_DECAY_PATTERNS),
            exclude_from_layer_adaptation=list(NO_DECAY_PATTERNS),
            lr_multipliers=lr_multipliers)
    raise ValueError("optimizer: unknown value %r; expected 'adamw' or 'lamb'"
                     % optimizer_name)
