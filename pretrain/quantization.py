# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Quantization-aware training: fake-quantized weights and activations.

Plain TF 1 graph code (no `tf.contrib`), switched on for the graph built
inside `fake_quantization(is_training)`:

  * every float weight matrix read through `tf.get_variable` (dense kernels,
    task heads; not the embedding tables, see UNQUANTIZED_TABLES) is
    fake-quantized to 8 bits, symmetric, from its own current range (per
    tensor, see fake_quantize_weight);
  * the output of every `modeling.dense` layer and of every normalization
    is fake-quantized to 8 bits with a range learnt as a moving average of
    the batch minimum and maximum (variables
    `<layer>/activation_quant/{min,max}`, not trainable, kept in the
    checkpoint and in the exported graph).  The int8 conversion keeps these
    ranges (carried through reshapes and slices by
    `graph_rewrites.keep_learnt_ranges`) and calibrates the other tensors
    (attention scores, residual sums) on the representative examples.

The fake-quantization ops pass gradients straight through inside the range
(`tf.quantization.fake_quant_with_min_max_vars`), so training adapts the
weights to the int8 grid. Outside the context manager nothing changes: the
graph, the variable names and the numbers are those of the float model.
A checkpoint without the range variables (a released one) initialises a
QAT graph: `checkpoints.restore_by_name` restores trainable variables only
and the ranges start from the first batch.
"""

import contextlib
import threading

import tensorflow.compat.v1 as tf

NUM_BITS = 8
# Moving-average decay of the activation ranges (per training step).
RANGE_DECAY = 0.999
RANGE_SCOPE = "activation_quant"
# Embedding tables (word, segment, position) are left to post-training
# calibration: the TFLite converter cannot give a fake-quantized table and
# the ops that read it (the position table's slice, the transposed segment
# table) one scale ("same scale constraint" on STRIDED_SLICE, TRANSPOSE).
UNQUANTIZED_TABLES = "_embeddings"

_STATE = threading.local()


def active():
    """Whether the graph being built is inside `fake_quantization`."""
    return getattr(_STATE, "is_training", None) is not None


@contextlib.contextmanager
def fake_quantization(is_training):
    """Builds the enclosed graph with fake-quantized weights and activations.

    Args:
      is_training: update the activation ranges from each batch (TRAIN) or
        use the learnt ones (EVAL, PREDICT, export).

    Yields:
      Nothing; variable names are those of the float graph.
    """
    if active():
        raise ValueError("fake_quantization: already inside a "
                         "fake_quantization block")
    _STATE.is_training = bool(is_training)
    try:
        with tf.variable_scope(tf.get_variable_scope(),
                               custom_getter=fake_quantized_getter,
                               auxiliary_name_scope=False):
            yield
    finally:
        _STATE.is_training = None


def fake_quantized_getter(getter, *args, **kwargs):
    """Custom getter: the variable, fake-quantized when it is a weight."""
    variable = getter(*args, **kwargs)
    if (not variable.dtype.base_dtype.is_floating or
            variable.shape.ndims is None or variable.shape.ndims < 2 or
            kwargs.get("trainable") is False):
        return variable  # Biases, scalars and the ranges themselves.
    if variable.op.name.endswith(UNQUANTIZED_TABLES):
        return variable
    return fake_quantize_weight(variable)


def fake_quantize_weight(weight):
    """Symmetric 8-bit fake quantization from the weight's own range.

    One range for the whole tensor.  Per output channel would be finer, but
    TFLite's int8 converter cannot carry per-channel ranges of an [in, out]
    kernel through the transpose to its FULLY_CONNECTED [out, in] layout
    ("same scale constraint" on TRANSPOSE), so a per-channel QAT model does
    not convert (TF 2.15).

    Args:
      weight: float variable (or tensor).

    Returns:
      A tensor of the weight's shape on the int8 grid.
    """
    bound = tf.reduce_max(tf.abs(weight))
    return tf.quantization.fake_quant_with_min_max_vars(
        weight, -bound, bound, num_bits=NUM_BITS, narrow_range=True)


def quantize_activation(output, layer_name):
    """Fake-quantizes a layer output inside `fake_quantization`.

    Called by `modeling.dense` on its output; outside the context manager
    it returns `output` itself (the float graph is unchanged).

    Args:
      output: float tensor [..., units].
      layer_name: the layer's variable scope, relative to the current one;
        the range variables go to `layer_name/activation_quant/`.

    Returns:
      `output`, or its fake-quantized copy.
    """
    if not active():
        return output
    with tf.variable_scope("%s/%s" % (layer_name, RANGE_SCOPE)):
        minimum = tf.get_variable("min", [],
                                  initializer=tf.zeros_initializer(),
                                  trainable=False)
        maximum = tf.get_variable("max", [],
                                  initializer=tf.zeros_initializer(),
                                  trainable=False)
        if _STATE.is_training:
            minimum, maximum = update_range(minimum, maximum, output)
        return tf.quantization.fake_quant_with_min_max_vars(
            output, minimum, maximum, num_bits=NUM_BITS)


def update_range(minimum, maximum, batch):
    """Moving-average update of a range; the first step takes the batch's.

    Returns:
      The updated (minimum, maximum) tensors.
    """
    step = tf.train.get_or_create_global_step()
    rate = tf.where(tf.equal(step, 0), 1.0, 1.0 - RANGE_DECAY)
    # The range always contains 0 (so that 0 is exactly representable).
    batch_min = tf.minimum(tf.reduce_min(batch), 0.0)
    batch_max = tf.maximum(tf.reduce_max(batch), 0.0)
    new_min = tf.assign_add(minimum, rate * (batch_min - minimum))
    new_max = tf.assign_add(maximum, rate * (batch_max - maximum))
    return new_min, new_max
