# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Learning-rate schedule, AdamW, and the training op used by every task."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import re

import tensorflow.compat.v1 as tf

from pretrain import checkpoints
from pretrain import modeling

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
        return AdamWeightDecayOptimizer(learning_rate,
                                        weight_decay_rate=weight_decay_rate,
                                        exclude_from_weight_decay=list(
                                            NO_DECAY_PATTERNS))
    if name == "lamb":
        from pretrain import lamb_optimizer
        return lamb_optimizer.LAMBOptimizer(
            learning_rate,
            weight_decay_rate=weight_decay_rate,
            exclude_from_weight_decay=list(NO_DECAY_PATTERNS),
            exclude_from_layer_adaptation=list(NO_DECAY_PATTERNS),
            lr_multipliers=lr_multipliers)
    raise ValueError("optimizer: unknown value %r; expected 'adamw' or 'lamb'"
                     % optimizer_name)


def matches_any(name, patterns):
    """True when `name` contains a match of any regex in `patterns`."""
    return any(re.search(p, name) for p in patterns or ())


class AdamWeightDecayOptimizer(tf.train.Optimizer):
    """Adam with decoupled weight decay (AdamW), bias correction omitted.

    The update is `m / (sqrt(v) + eps) + weight_decay_rate * w`, scaled by
    the learning rate, as in BERT.  Slots are named `<var>/adam_m` and
    `<var>/adam_v` so checkpoints match the published ones.  Subclasses
    (LAMBOptimizer) change the step through `_is_frozen` and `_next_values`.
    """

    def __init__(self,
                 learning_rate,
                 weight_decay_rate=0.0,
                 beta_1=0.9,
                 beta_2=0.999,
                 epsilon=1e-6,
                 exclude_from_weight_decay=None,
                 name="AdamWeightDecayOptimizer"):
        super(AdamWeightDecayOptimizer, self).__init__(False, name)
        self.learning_rate = learning_rate
        self.weight_decay_rate = weight_decay_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_from_weight_decay = exclude_from_weight_decay

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Applies one step; `global_step` is not incremented here."""
        assignments = []
        for grad, param in grads_and_vars:
            if grad is None or param is None:
                continue
            var_name = modeling.variable_name(param)
            m = moment_slot(var_name + "/adam_m", param)
            v = moment_slot(var_name + "/adam_v", param)
            if self._is_frozen(var_name):
                continue
            next_m = self.beta_1 * m + (1.0 - self.beta_1) * grad
            next_v = self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad)
            update = next_m / (tf.sqrt(next_v) + self.epsilon)
            if self.weight_decay_rate and not matches_any(
                    var_name, self.exclude_from_weight_decay):
                update += self.weight_decay_rate * param
            next_param, next_m, next_v = self._next_values(
                var_name, param, update, (m, v), (next_m, next_v))
            assignments.extend([
                param.assign(next_param),
                m.assign(next_m),
                v.assign(next_v)
            ])
        return tf.group(*assignments, name=name)

    def _is_frozen(self, var_name):
        """Whether to skip `var_name` (its slots still exist); AdamW: never."""
        del var_name  # Used by subclasses.
        return False

    def _next_values(self, var_name, param, update, moments, next_moments):
        """(next param, m, v) from the Adam `update`: w - lr * update."""
        del var_name, moments  # Used by subclasses.
        return (param - self.learning_rate * update,) + next_moments


def moment_slot(name, param):
    """A zero-initialised, non-trainable variable shaped like `param`."""
    return tf.get_variable(name=name,
                           shape=param.shape.as_list(),
                           dtype=tf.float32,
                           trainable=False,
                           initializer=tf.zeros_initializer())
