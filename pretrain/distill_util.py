# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Distillation losses and schedules of MobileBERT pretraining.

Layer numbering: layer l (0-based, l = 0..L-1) is `bert/encoder/layer_l`;
its hidden states are `get_all_encoder_layers()[l + 1]` and its attention
scores `get_all_attention_scores()[l]`.  Stage 1 (layer-wise knowledge
transfer) trains layer l during phase l, i.e. global steps
[l * P, (l + 1) * P) with P = num_distill_steps // L.

Shape letters: B batch, S sequence, H hidden size, N heads, M = B * number
of masked positions, V vocabulary.
"""

import collections
import re

import tensorflow.compat.v1 as tf

from pretrain import modeling

# Weights of the four layer-wise transfer terms (the *_distill_factor flags).
DistillFactors = collections.namedtuple(
    "DistillFactors", ["hidden", "attention", "beta", "gamma"])

# The factor of each weighted loss term and its name as logged and
# summarised (the published TensorBoard tags).
TRANSFER_TERMS = (("hidden", "feature_map_transfer_loss"),
                  ("attention", "attention_transfer_loss"),
                  ("beta", "mean_transfer_loss"),
                  ("gamma", "variance_transfer_loss"))

_NORM_EPSILON = 1e-12
_LAYER_PATTERN = re.compile(r"^bert/encoder/layer_(\d+)/")


# ---------------------------------------------------------------------------
# Layer-wise transfer terms (one layer each).
# ---------------------------------------------------------------------------


def standardize(hidden):
    """Layer normalisation without trainable parameters over the last axis."""
    mean, variance = tf.nn.moments(hidden, [-1], keep_dims=True)
    return (hidden - mean) * tf.rsqrt(variance + _NORM_EPSILON)


def feature_map_loss(teacher_hidden, student_hidden):
    """MSE between standardised teacher and student hidden states.

    Args:
      teacher_hidden: [B, S, H] (gradient stopped here).
      student_hidden: [B, S, H].

    Returns:
      Scalar mean over batch, positions and hidden units.
    """
    teacher = standardize(tf.stop_gradient(teacher_hidden))
    return tf.reduce_mean(tf.squared_difference(teacher,
                                                standardize(student_hidden)))


def attention_loss(teacher_scores, student_scores):
    """Cross entropy of student attention against teacher attention.

    `mean(sum_keys(-softmax(T) * log_softmax(S)))`; it differs from the KL
    divergence by the teacher's entropy, a constant for the student.

    Args:
      teacher_scores: [B, N, S, S] pre-softmax scores (gradient stopped).
      student_scores: [B, N, S, S] pre-softmax scores, same head count.

    Returns:
      Scalar mean over batch, heads and query positions.
    """
    teacher_probs = tf.nn.softmax(tf.stop_gradient(teacher_scores))
    per_query = -tf.reduce_sum(
        teacher_probs * tf.nn.log_softmax(student_scores), axis=-1)  # [B,N,S]
    return tf.reduce_mean(per_query)


def mean_loss(teacher_hidden, student_hidden):
    """Mean transfer: mean over positions of (mu_T - mu_S)^2.

    Args:
      teacher_hidden: [B, S, H_T] (gradient stopped).
      student_hidden: [B, S, H_S].

    Returns:
      Scalar; mu is the mean over the hidden axis.
    """
    teacher_mean = tf.reduce_mean(tf.stop_gradient(teacher_hidden), -1)
    student_mean = tf.reduce_mean(student_hidden, -1)  # [B, S]
    return tf.reduce_mean(tf.squared_difference(teacher_mean, student_mean))


def variance_loss(teacher_hidden, student_hidden):
    """Variance transfer: mean over positions of |var_T - var_S|.

    Args:
      teacher_hidden: [B, S, H_T] (gradient stopped).
      student_hidden: [B, S, H_S].

    Returns:
      Scalar; the variance is taken over the hidden axis.
    """
    _, teacher_var = tf.nn.moments(tf.stop_gradient(teacher_hidden), [-1])
    _, student_var = tf.nn.moments(student_hidden, [-1])  # [B, S]
    return tf.reduce_mean(tf.abs(teacher_var - student_var))


# ---------------------------------------------------------------------------
# Progressive schedule.
# ---------------------------------------------------------------------------


def steps_per_phase(num_distill_steps, num_layers):
    """P = num_distill_steps // L, at least 1."""
    return max(1, num_distill_steps // num_layers)


def progressive_gates(global_step, num_distill_steps, num_layers):
    """Per-layer loss gates: gate_l = 1 during [l*P, (l+1)*P), else 0.

    Args:
      global_step: integer scalar tensor (stage-1 step).
      num_distill_steps: length of stage 1.
      num_layers: L.

    Returns:
      List of L float32 scalars.
    """
    phase = _phase(global_step, num_distill_steps, num_layers)
    return [
        tf.cast(tf.equal(phase, layer), tf.float32)
        for layer in range(num_layers)
    ]


def background_schedule(step_in_phase, phase_steps):
    """The phase-local factor b = min(poly_decay, linear ramp).

    With x = step_in_phase / P in [0, 1):
        poly_decay(1 -> 0.9, power 0.5) = (1 - 0.9) * (1 - x) ** 0.5 + 0.9
        linear(0 -> 10)                 = 10 * x
    so b rises linearly from 0 to about 1 over the first tenth of the phase,
    then decays slowly towards 0.9; it restarts at 0 every phase.

    Args:
      step_in_phase: float32 scalar, global step minus the phase start.
      phase_steps: P.

    Returns:
      float32 scalar.
    """
    fraction = tf.minimum(step_in_phase / float(phase_steps), 1.0)
    decay = 0.1 * tf.sqrt(1.0 - fraction) + 0.9
    ramp = 10.0 * fraction
    return tf.minimum(decay, ramp)


def layer_lr_multiplier(layer, global_step, num_distill_steps, num_layers):
    """LAMB multiplier of layer `layer`: 3 * b * g.

    g is 0 before the layer's phase, 1 during it and 0.1 after it; b is
    `background_schedule` of the step within the current phase, or 1 when a
    phase has at most one step (the published rule: a ramp starting at 0
    would otherwise never let a layer train).

    Returns:
      float32 scalar tensor.
    """
    phase_steps = steps_per_phase(num_distill_steps, num_layers)
    phase = _phase(global_step, num_distill_steps, num_layers)
    if phase_steps <= 1:
        background = tf.constant(1.0)
    else:
        step = tf.cast(global_step, tf.float32)
        step_in_phase = step - tf.cast(phase * phase_steps, tf.float32)
        background = background_schedule(step_in_phase, phase_steps)
    gate = tf.where(tf.less(phase, layer), 0.0,
                    tf.where(tf.equal(phase, layer), 1.0, 0.1))
    return 3.0 * background * gate


def layer_wise_lr_multipliers(tvars, global_step, num_distill_steps,
                              num_layers):
    """{variable name: multiplier} for every `bert/encoder/layer_l` variable.

    Variables outside the encoder layers are left out of the dict, which
    LAMBOptimizer treats as frozen (the MobileBERT recipe).

    Args:
      tvars: student variables.
      global_step: stage-1 step tensor.
      num_distill_steps: length of stage 1.
      num_layers: L.

    Returns:
      dict of name (without ':0') -> float32 scalar tensor.
    """
    per_layer = {}
    multipliers = {}
    for var in tvars:
        name = modeling.variable_name(var)
        match = _LAYER_PATTERN.match(name)
        if not match:
            continue
        layer = int(match.group(1))
        if layer not in per_layer:
            per_layer[layer] = layer_lr_multiplier(layer, global_step,
                                                   num_distill_steps,
                                                   num_layers)
        multipliers[name] = per_layer[layer]
    return multipliers


def _phase(global_step, num_distill_steps, num_layers):
    """Index of the current phase (int64; L and beyond after stage 1)."""
    phase_steps = steps_per_phase(num_distill_steps, num_layers)
    return tf.cast(global_step, tf.int64) // phase_steps


# ---------------------------------------------------------------------------
# Losses.
# ---------------------------------------------------------------------------


def layer_wise_loss(teacher_hidden, student_hidden, teacher_scores,
                    student_scores, gates, factors):
    """The stage-1 loss: gated, weighted sum of the four transfer terms.

    Teacher layer l is compared with student layer l.  (The published
    MobileBERT code computed the mean and variance transfer of every student
    layer against the stacked hidden states of *all* teacher layers; that is
    a bug and is not reproduced here.)

    Args:
      teacher_hidden: L tensors [B, S, H], the teacher layers' outputs
        (`get_all_encoder_layers()[1:]`).
      student_hidden: L tensors [B, S, H], the student layers' outputs.
      teacher_scores: L tensors [B, N, S, S] pre-softmax attention scores.
      student_scores: L tensors [B, N, S, S].
      gates: L float32 scalars from `progressive_gates`.
      factors: DistillFactors; a term whose factor is 0 is not computed.

    Returns:
      OrderedDict: "feature_map_transfer_loss", "attention_transfer_loss",
      "mean_transfer_loss", "variance_transfer_loss" (in TRANSFER_TERMS
      order, each `factor * sum_l gate_l * term_l / L`, present only
      when its factor is non-zero) and "total_loss".
    """
    num_layers = len(student_hidden)
    if not (len(teacher_hidden) == len(teacher_scores) == len(student_scores)
            == len(gates) == num_layers):
        raise ValueError(
            "layer_wise_loss: expected %d layers everywhere, got teacher "
            "hidden %d, teacher scores %d, student scores %d, gates %d" %
            (num_layers, len(teacher_hidden), len(teacher_scores),
             len(student_scores), len(gates)))
    per_layer_fns = {
        "hidden": lambda layer: feature_map_loss(teacher_hidden[layer],
                                                 student_hidden[layer]),
        "attention": lambda layer: attention_loss(teacher_scores[layer],
                                                  student_scores[layer]),
        "beta": lambda layer: mean_loss(teacher_hidden[layer],
                                        student_hidden[layer]),
        "gamma": lambda layer: variance_loss(teacher_hidden[layer],
                                             student_hidden[layer]),
    }
    terms = collections.OrderedDict()
    for field, term_name in TRANSFER_TERMS:
        factor = getattr(factors, field)
        if not factor:
            continue
        gated = tf.add_n([
            gates[layer] * per_layer_fns[field](layer)
            for layer in range(num_layers)
        ])
        terms[term_name] = factor * gated / float(num_layers)
    terms["total_loss"] = (tf.add_n(list(terms.values()))
                           if terms else tf.constant(0.0))
    return terms


def soft_target_mlm_loss(student_logits, label_ids, label_weights,
                         teacher_logits=None, ground_truth_ratio=1.0):
    """Masked-LM cross entropy against `(1 - r) * p_teacher + r * one_hot`.

    Args:
      student_logits: [M, V].
      label_ids: int [M] (or any shape with M elements) true token ids.
      label_weights: float [M]; 0 for padding predictions.
      teacher_logits: [M, V] (gradient stopped) or None for plain MLM.
      ground_truth_ratio: r, the weight of the one-hot target.

    Returns:
      (loss scalar: weighted mean over real predictions, per_example [M]).
    """
    vocab_size = student_logits.shape.as_list()[-1]
    label_ids = tf.reshape(label_ids, [-1])
    label_weights = tf.reshape(tf.cast(label_weights, tf.float32), [-1])
    targets = tf.one_hot(label_ids, depth=vocab_size, dtype=tf.float32)
    if teacher_logits is not None and ground_truth_ratio < 1.0:
        teacher_probs = tf.nn.softmax(tf.stop_gradient(teacher_logits))
        targets = ((1.0 - ground_truth_ratio) * teacher_probs +
                   ground_truth_ratio * targets)  # [M, V]
    per_example = -tf.reduce_sum(
        targets * tf.nn.log_softmax(student_logits), axis=-1)  # [M]
    loss = tf.reduce_sum(label_weights * per_example) / (
        replica_mean_of(tf.reduce_sum(label_weights)) + 1e-5)
    return loss, per_example


def replica_mean_of(value):
    """The mean of a scalar over the replicas of a tf.distribute strategy.

    Normalising a replica's weighted loss sum by the mean weight over all
    replicas (rather than its own) makes the mean of the replicas' losses
    the global batch's weighted mean: N replicas then update as one with
    the whole batch, also when they hold different numbers of masked
    positions.  Without a strategy, `value` itself.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    total = context.all_reduce(tf.distribute.ReduceOp.SUM,
                               tf.stop_gradient(value))
    return total / context.num_replicas_in_sync


def masked_lm_accuracy(logits, label_ids, label_weights):
    """Weighted fraction of masked positions whose argmax is the label."""
    label_ids = tf.reshape(label_ids, [-1])
    label_weights = tf.reshape(tf.cast(label_weights, tf.float32), [-1])
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    correct = tf.cast(tf.equal(predictions, tf.cast(label_ids, tf.int32)),
                      tf.float32)
    return tf.reduce_sum(label_weights * correct) / (
        tf.reduce_sum(label_weights) + 1e-5)
