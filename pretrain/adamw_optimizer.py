# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""AdamW: Adam with decoupled weight decay, as in BERT (no bias correction).

LAMBOptimizer (lamb_optimizer.py) extends it; optimization.py chooses one.
"""

import re

import tensorflow.compat.v1 as tf

from pretrain import modeling


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
                 update_gate=None,
                 name="AdamWeightDecayOptimizer"):
        """Stores the hyper-parameters.

        Args:
          learning_rate: float or scalar tensor.
          weight_decay_rate: decoupled weight decay.
          beta_1: first-moment decay.
          beta_2: second-moment decay.
          epsilon: added to sqrt(v).
          exclude_from_weight_decay: regexes; matching names get no decay.
          update_gate: optional boolean scalar tensor; while False the step
            leaves every variable and moment as it is (gradient accumulation
            between updates, fp16 steps with non-finite gradients).
          name: op name.
        """
        super(AdamWeightDecayOptimizer, self).__init__(False, name)
        self.update_gate = update_gate
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
            if self.update_gate is not None:
                next_param, next_m, next_v = (
                    tf.where_v2(self.update_gate, new, old)
                    for new, old in zip((next_param, next_m, next_v),
                                        (param, m, v)))
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
