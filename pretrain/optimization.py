# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Learning-rate schedule, optimizer choice, and the training op of every task.

The optimizers themselves live in adamw_optimizer.py (AdamW, the base) and
lamb_optimizer.py (LAMB, which extends it).
"""

import tensorflow.compat.v1 as tf

from pretrain import adamw_optimizer
from pretrain import checkpoints
from pretrain import lamb_optimizer
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
                     global_step=None,
                     accumulation_steps=1,
                     dynamic_loss_scale=False):
    """Builds the train op: schedule, optimizer, clipping, step increment.

    One session step is one micro-batch.  The global step counts updates:
    with `accumulation_steps` N it advances once every N micro-batches, when
    the mean of their gradients is clipped and applied — the same update as
    one batch N times larger.  Under a tf.distribute strategy the gradients
    are averaged over replicas first, so N replicas of batch b update as one
    replica of batch N·b.

    Args:
      loss: scalar loss (mean over the micro-batch).
      init_lr: peak learning rate.
      num_train_steps: total updates of the schedule.
      num_warmup_steps: warmup updates.
      use_tpu: wrap the optimizer in a CrossShardOptimizer.
      optimizer_name: "adamw" or "lamb".
      weight_decay_rate: decoupled weight decay.
      end_lr_rate: see learning_rate_schedule.
      tvars: variables to train (default: all trainable minus `teacher/`).
      lr_multipliers: optional {variable name: scalar tensor} per-variable
        learning-rate multipliers, honoured by LAMB only (as published).
      global_step: step variable (default: the graph's global step).
      accumulation_steps: micro-batches per update (1: every step updates).
      dynamic_loss_scale: fp16 training: scale the loss before
        differentiating, skip updates whose gradients are not finite, and
        adapt the scale (DynamicLossScale).

    Returns:
      (train_op, learning_rate tensor).
    """
    if global_step is None:
        global_step = tf.train.get_or_create_global_step()
    learning_rate = learning_rate_schedule(init_lr, num_train_steps,
                                           num_warmup_steps, end_lr_rate,
                                           global_step)
    tvars = student_variables(tvars)
    loss_scale = DynamicLossScale() if dynamic_loss_scale else None
    grads = replica_mean(unscaled_gradients(loss, tvars, loss_scale))
    update_now = None
    finish_ops = []
    if accumulation_steps > 1:
        accumulator = GradientAccumulator(tvars, accumulation_steps)
        grads, update_now = accumulator.add(grads)
    if loss_scale is not None:
        finite = all_finite(grads)
        finish_ops.append(loss_scale.update(finite, update_now))
        update_now = (finite if update_now is None else
                      tf.logical_and(update_now, finite))
    grads, _ = tf.clip_by_global_norm(grads, clip_norm=1.0)
    optimizer = make_optimizer(optimizer_name, learning_rate,
                               weight_decay_rate, lr_multipliers, update_now)
    if use_tpu:
        optimizer = tf.tpu.CrossShardOptimizer(optimizer)
    train_op = optimizer.apply_gradients(zip(grads, tvars),
                                         global_step=global_step)
    # Neither optimizer increments the step itself.  Incrementing after the
    # update keeps every read of the step within one run (schedule, gates)
    # at the pre-increment value.
    with tf.control_dependencies([train_op]):
        if accumulation_steps > 1:
            finish_ops.append(accumulator.finish())
            step_increment = tf.cast(accumulator.at_boundary, tf.int64)
        else:
            step_increment = tf.constant(1, tf.int64)
        finish_ops.append(global_step.assign_add(step_increment))
        train_op = tf.group(*finish_ops)
    return train_op, learning_rate


def unscaled_gradients(loss, tvars, loss_scale=None):
    """Dense gradients of `loss`, computed on the scaled loss if asked."""
    if loss_scale is not None:
        loss = loss * loss_scale.value
    grads = tf.gradients(loss, tvars)
    # Embedding lookups give IndexedSlices; the optimizers do dense math.
    grads = [dense_gradient(g) for g in grads]
    if loss_scale is not None:
        grads = [None if g is None else g / loss_scale.value for g in grads]
    return grads


def replica_mean(grads):
    """Averages gradients over the replicas of a tf.distribute strategy.

    Without a strategy (or with one replica) the gradients are returned as
    they are.  Missing gradients (None) stay None.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return grads
    present = [i for i, g in enumerate(grads) if g is not None]

    def mean_over_replicas(strategy, *values):
        # In cross-replica context: each value holds one tensor per replica.
        return strategy.extended.batch_reduce_to(
            tf.distribute.ReduceOp.MEAN, [(value, value) for value in values])

    reduced = context.merge_call(mean_over_replicas,
                                 args=tuple(grads[i] for i in present))
    grads = list(grads)
    for i, value in zip(present, reduced):
        grads[i] = value
    return grads


def all_finite(grads):
    """Boolean scalar: every gradient entry is finite."""
    return tf.reduce_all([
        tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None
    ])


def training_state_variable(name, shape, dtype, initial_value):
    """A non-trainable variable of the training loop (saved, not a weight).

    Under a tf.distribute strategy every replica computes the same value, so
    the first replica's is kept.
    """
    return tf.get_variable(
        name,
        shape=shape,
        dtype=dtype,
        trainable=False,
        initializer=tf.constant_initializer(initial_value),
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class GradientAccumulator(object):
    """Sums gradients over N micro-batches and hands back their mean.

    Variables: `gradient_accumulation/micro_step` and one
    `gradient_accumulation/<variable>` per trained variable.
    """

    def __init__(self, tvars, steps):
        self._steps = steps
        with tf.variable_scope("gradient_accumulation"):
            self._micro_step = training_state_variable(
                "micro_step", [], tf.int32, 0)
            self._sums = [
                training_state_variable(modeling.variable_name(v),
                                        v.shape.as_list(), tf.float32, 0.0)
                for v in tvars
            ]
        self.at_boundary = tf.equal(
            tf.math.floormod(self._micro_step + 1, steps), 0)

    def add(self, grads):
        """Adds this micro-batch's gradients.

        Returns:
          (mean gradients so far, boolean scalar: this step updates).
        """
        self._added = []
        means = []
        for total, grad in zip(self._sums, grads):
            if grad is None:
                means.append(None)
                continue
            new_total = tf.identity(total.assign_add(grad))
            self._added.append((total, new_total))
            means.append(new_total / float(self._steps))
        return means, self.at_boundary

    def finish(self):
        """Advances the micro-step; empties the sums after an update."""
        resets = [
            total.assign(tf.where_v2(self.at_boundary,
                                     tf.zeros_like(new_total), new_total))
            for total, new_total in self._added
        ]
        next_step = tf.math.floormod(self._micro_step + 1, self._steps)
        return tf.group(self._micro_step.assign(next_step), *resets)


class DynamicLossScale(object):
    """fp16 loss scaling: start at 2^15, halve on overflow, double after
    2000 finite updates in a row (the usual dynamic schedule).

    Variables: `loss_scale/value`, `loss_scale/good_steps`.
    """

    INITIAL_SCALE = 2.0**15
    GROWTH_INTERVAL = 2000

    def __init__(self):
        with tf.variable_scope("loss_scale"):
            self.value = training_state_variable("value", [], tf.float32,
                                                 self.INITIAL_SCALE)
            self._good_steps = training_state_variable(
                "good_steps", [], tf.int32, 0)

    def update(self, finite, at_boundary=None):
        """The op that adapts the scale after this step's gradients.

        Args:
          finite: boolean scalar, the gradients are finite.
          at_boundary: with gradient accumulation, whether this step
            updates (the scale changes only then); None: every step.
        """
        good = tf.where_v2(finite, self._good_steps + 1, 0)
        grow = tf.greater_equal(good, self.GROWTH_INTERVAL)
        new_value = tf.where_v2(
            finite, tf.where_v2(grow, self.value * 2.0, self.value),
            tf.maximum(self.value / 2.0, 1.0))
        new_good = tf.where_v2(grow, 0, good)
        if at_boundary is not None:
            new_value = tf.where_v2(at_boundary, new_value, self.value)
            new_good = tf.where_v2(at_boundary, new_good, self._good_steps)
        return tf.group(self.value.assign(new_value),
                        self._good_steps.assign(new_good))


def dense_gradient(grad):
    """`grad` as a dense tensor (IndexedSlices converted; None kept)."""
    if isinstance(grad, tf.IndexedSlices):
        return tf.convert_to_tensor(grad)
    return grad


def make_optimizer(optimizer_name, learning_rate, weight_decay_rate,
                   lr_multipliers=None, update_gate=None):
    """Returns an AdamW or LAMB optimizer with the project's constants."""
    name = optimizer_name.lower()
    if name == "adamw":
        return adamw_optimizer.AdamWeightDecayOptimizer(
            learning_rate,
            weight_decay_rate=weight_decay_rate,
            exclude_from_weight_decay=list(NO_DECAY_PATTERNS),
            update_gate=update_gate)
    if name == "lamb":
        return lamb_optimizer.LAMBOptimizer(
            learning_rate,
            weight_decay_rate=weight_decay_rate,
            exclude_from_weight_decay=list(NO_DECAY_PATTERNS),
            exclude_from_layer_adaptation=list(NO_DECAY_PATTERNS),
            lr_multipliers=lr_multipliers,
            update_gate=update_gate)
    raise ValueError("optimizer: unknown value %r; expected 'adamw' or 'lamb'"
                     % optimizer_name)
