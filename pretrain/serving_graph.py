# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The model as exports serve it: the same variables, built for speed.

`ServingModel` builds what `modeling.BertModel` builds, on the same
variables (names, shapes and creation order of the trainable ones) and
with the same outputs to float rounding, with what only serving needs:

  * GraphOptions.row_groups: every layer, and a student's projection of
    its word embeddings, runs once per group of sequence positions, each
    group its own chain of ops on the same variables (see encoder), so that
    a session with one inter-op thread per group uses several cores for
    one request;
  * joint projections: projections that read the same tensor (query, key
    and value; a shared bottleneck's input and attention projections) run
    as one MatMul where the joint kernel is small (joint_dense);
  * GraphOptions.mask_adder: SERVING_MASK_ADDER at padding keys, which an
    int8 model can resolve (the published -10000 swallows its scores);
  * GraphOptions.use_einsum: False in exports (TFLite has no Einsum
    kernel);
  * names the export rewrites look for: the word ids (WORD_IDS) and the
    projected word embeddings (WORD_PROJECTION), in the embeddings scope.

Shape letters as in modeling.py; G row groups, S_g the length of group g.
"""

import collections
import contextlib
import copy

import tensorflow.compat.v1 as tf

from pretrain import modeling
from pretrain import quantization

# Added to the attention scores of padding keys in serving graphs: exp(-100)
# is as good as zero next to the scores, and the sum of scores and adder
# keeps a range that an int8 TFLite model can resolve (with -10000 its
# quantization step swallows the scores).
SERVING_MASK_ADDER = -100.0
# Names, in the `embeddings` scope, of the word ids the table is read with
# and of the projected word embeddings [B, S, H] (before the token-type and
# position embeddings are added): a frozen serving graph looks the
# projection up from a precomputed table (export_util).
WORD_IDS = "word_ids"
WORD_PROJECTION = "word_projection"

# How a serving graph is built (see the module docstring).
GraphOptions = collections.namedtuple(
    "GraphOptions", ["use_einsum", "mask_adder", "row_groups"])


def serving_options(row_groups=1):
    """The options of an exported graph: reshape+matmul layers, the serving
    mask adder and `row_groups` row groups."""
    return GraphOptions(use_einsum=False, mask_adder=SERVING_MASK_ADDER,
                        row_groups=row_groups)


class ServingModel(modeling.BertModel):
    """modeling.BertModel's inference graph, built by `options`.

    Example:
        model = ServingModel(config, ids, mask, segments,
                             options=serving_options(row_groups=2))
        probabilities = ...(model.get_pooled_output())
    """

    def __init__(self,
                 config,
                 input_ids,
                 input_mask=None,
                 token_type_ids=None,
                 options=None,
                 use_one_hot_embeddings=False,
                 scope=None):
        """Builds the graph (inference only: no dropout).

        Args:
            config: BertConfig.
            input_ids: int32 [B, S].
            input_mask: int32 [B, S], 1 for real tokens (defaults to all ones).
            token_type_ids: int32 [B, S] segment ids (defaults to zeros).
            options: GraphOptions (default: serving_options()).
            use_one_hot_embeddings: look words up by one-hot matmul (TPU).
            scope: variable scope, default "bert".

        Raises:
            ValueError: row_groups is not between 1 and the (static)
                sequence length, or is above 1 in a fake-quantized graph.
        """
        # pylint: disable=super-init-not-called
        options = options or serving_options()
        config = copy.deepcopy(config)
        config.hidden_dropout_prob = 0.0
        config.attention_probs_dropout_prob = 0.0
        batch_size, seq_length = modeling.get_shape_list(input_ids,
                                                         expected_rank=2)
        check_row_groups(options.row_groups, seq_length)
        lengths = group_lengths(seq_length, options.row_groups)  # G x S_g
        if input_mask is None:
            input_mask = tf.ones([batch_size, seq_length], dtype=tf.int32)
        if token_type_ids is None:
            token_type_ids = tf.zeros([batch_size, seq_length], dtype=tf.int32)
        use_einsum = options.use_einsum

        with tf.variable_scope(scope, default_name="bert"):
            with tf.variable_scope("embeddings"):
                (self.embedding_output, self.word_embedding_output,
                 self.embedding_table) = embeddings(
                     config, input_ids, token_type_ids,
                     use_one_hot_embeddings, use_einsum, lengths)
            with tf.variable_scope("encoder"):
                adder = modeling.attention_adder(input_ids, input_mask,
                                                 options.mask_adder)
                self.all_encoder_layers, self.all_attention_scores = encoder(
                    config, self.embedding_output, adder, use_einsum,
                    lengths)
            self.sequence_output = self.all_encoder_layers[-1]
            with tf.variable_scope("pooler"):
                self.pooled_output = modeling.pooler(config,
                                                     self.sequence_output)


def embeddings(config, input_ids, token_type_ids, use_one_hot_embeddings,
               use_einsum, lengths):
    """modeling.embeddings with named word ids and projection, the
    projection run once per row group.

    Args:
        lengths: the row groups' lengths S_g (see encoder).  The projection
            to the hidden width, a student's largest MatMul outside the
            layers, runs once per group, so that several cores share it as
            they share the layers.

    Returns:
        (embedding_output [B, S, H], word_embedding_output [B, S, E],
          embedding_table [V, E]).
    """
    input_ids = tf.identity(input_ids, name=WORD_IDS)
    embedding_table, word_output = modeling.word_embeddings(
        config, input_ids, use_one_hot_embeddings, use_einsum)  # [B, S, E]
    output = word_output
    if config.trigram_input:
        output = modeling.trigram(word_output)  # [B, S, 3E]
    if config.trigram_input or config.embedding_size != config.hidden_size:
        initializer = modeling.create_initializer(config.initializer_range)
        output = join_groups(per_group(
            lambda rows: modeling.dense(rows, config.hidden_size, initializer,
                                        "embedding_transformation",
                                        use_einsum),
            split_groups(output, lengths, axis=1)), axis=1)  # [B, S, H]
        output = tf.identity(output, name=WORD_PROJECTION)
    output = modeling.add_position_and_type(config, output, token_type_ids,
                                            use_einsum)
    output = modeling.normalize(output, config.normalization_type)
    return output, word_output, embedding_table


def encoder(config, embedding_output, adder, use_einsum, lengths):
    """Stacks `num_hidden_layers` transformer layers.

    The layers work on [B*S, H] matrices: every dense layer is then one
    MatMul whose BiasAdd (and activation, residual Add) the runtime can fuse
    into it, with no reshape in between.

    With G > 1 row groups (`lengths`: their lengths S_g, from
    group_lengths) the sequence positions are cut into G consecutive groups
    before the first layer, and the groups stay apart from layer to layer
    (each layer's output is joined only for all_encoder_layers): every block
    runs once per group on the group's [B*S_g, H] rows, with the same
    variables, and attention takes its queries from the group and its keys
    and values from all of them.  The G chains of ops only meet at the keys
    and values, so a session with G inter-op threads runs them side by side:
    at batch 1 the narrow student layers are too small for one op to use
    several cores, two chains are not.

    Args:
        embedding_output: [B, S, H].
        adder: [B, 1, S, S] additive attention mask.
        lengths: the G group lengths S_g.

    Returns:
        (all_encoder_layers: L + 1 tensors [B, S, H], starting with the
          embedding output; all_attention_scores: L tensors [B, N, S, S]).
    """
    batch_size, _, hidden_size = modeling.get_shape_list(embedding_output,
                                                         expected_rank=3)
    adders = split_groups(adder, lengths, axis=2)  # G x [B, 1, S_g, S]
    all_layers = [embedding_output]
    all_scores = []
    prev_outputs = [
        tf.reshape(rows, [-1, hidden_size])
        for rows in split_groups(embedding_output, lengths, axis=1)
    ]  # G x [B*S_g, H]
    for layer_idx in range(config.num_hidden_layers):
        with tf.variable_scope("layer_%d" % layer_idx):
            prev_outputs, scores = transformer_layer(config, prev_outputs,
                                                     adders, batch_size,
                                                     lengths, use_einsum)
        all_layers.append(join_groups([
            tf.reshape(rows, [batch_size, length, hidden_size])
            for rows, length in zip(prev_outputs, lengths)
        ], axis=1))  # [B, S, H]
        all_scores.append(scores)
    return all_layers, all_scores


def transformer_layer(config, layer_inputs, adders, batch_size, lengths,
                      use_einsum):
    """modeling.transformer_layer on row groups, with joint projections.

    Args:
        layer_inputs: the previous layer's output in row groups: G tensors
            [B*S_g, H] (one group: [B*S, H]).
        adders: G additive attention masks [B, 1, S_g, S].
        lengths: the G group lengths S_g.

    Returns:
        (layer output: G tensors [B*S_g, H], attention scores
          [B, N, S, S]).
    """
    prev_outputs = layer_inputs
    if config.use_bottleneck:
        inner_inputs, query_keys, values = zip(*per_group(
            lambda rows: bottleneck(config, rows, use_einsum),
            prev_outputs))  # each G x [B*S_g, I or H]
    else:
        inner_inputs = query_keys = values = prev_outputs

    with tf.variable_scope("attention"):
        attention_outputs, scores = attention(config, query_keys, values,
                                              inner_inputs, adders,
                                              batch_size, lengths,
                                              use_einsum)  # G x [B*S_g, I]

    inner_outputs = attention_outputs
    for ffn_idx in range(config.num_feedforward_networks - 1):
        with tf.variable_scope("ffn_layer_%d" % ffn_idx):
            inner_outputs = per_group(
                lambda rows: modeling.feed_forward(config, rows, use_einsum),
                inner_outputs)

    inner_outputs = per_group(
        lambda rows: modeling.feed_forward(config, rows, use_einsum,
                                           is_last=True),
        inner_outputs)  # G x [B*S_g, I]
    if not config.use_bottleneck:
        return inner_outputs, scores
    with tf.variable_scope("output/bottleneck"):
        layer_outputs = per_group(
            lambda inner, prev: modeling.output_bottleneck(config, inner, prev,
                                                           use_einsum),
            inner_outputs, prev_outputs)  # G x [B*S_g, H]
    return layer_outputs, scores


def bottleneck(config, prev_output, use_einsum):
    """modeling.bottleneck, with shared-input projections as one MatMul.

    With a key/query-shared bottleneck the `input` and `attention`
    projections read the same tensor, so they run as one MatMul.

    Args:
        prev_output: [B*S, H].

    Returns:
        (layer_input, query_key, value): the residual input of the attention
        block [B*S, I], the query/key input and the value input.
    """
    initializer = modeling.create_initializer(config.initializer_range)
    width = modeling.get_shape_list(prev_output)[-1]
    scopes = ["input"]
    if config.key_query_shared_bottleneck and not (
            config.use_bottleneck_attention):
        scopes.append("attention")
    with tf.variable_scope("bottleneck"):
        params = []
        for scope in scopes:
            with tf.variable_scope(scope):
                params.append(
                    modeling.dense_variables(
                        width, config.intra_bottleneck_size, initializer,
                        "dense") +
                    modeling.norm_variables(config.intra_bottleneck_size,
                                            config.normalization_type))
    joined = joint_dense(prev_output, [p[:2] for p in params],
                         ["bottleneck/%s/dense" % s for s in scopes],
                         use_einsum)  # [B*S, K*I]
    norm = modeling.norm_scope(config.normalization_type)
    normalized = [
        modeling.apply_normalization(x, p[2], p[3], config.normalization_type,
                                     "bottleneck/%s/%s" % (scope, norm))
        for x, p, scope in zip(tf.split(joined, len(params), axis=-1),
                               params, scopes)
    ]  # each [B*S, I]
    layer_input = normalized[0]
    if config.use_bottleneck_attention:
        return layer_input, layer_input, layer_input
    if config.key_query_shared_bottleneck:
        return layer_input, normalized[1], prev_output
    return layer_input, prev_output, prev_output


def attention(config, query_keys, values, residuals, adders, batch_size,
              lengths, use_einsum):
    """modeling.attention on row groups, with joint projections.

    Projections that read the same tensor run as one MatMul: query, key and
    value when they share their input, otherwise query and key.  Every row
    group projects its own rows; the keys and values of all groups are
    joined, and each group's queries attend over them.

    Args:
        query_keys: G tensors [B*S_g, W], input of the query and key
            projections.
        values: G tensors [B*S_g, W'], input of the value projection.
        residuals: G tensors [B*S_g, I] added back after the output
            projection.
        adders: G additive attention masks [B, 1, S_g, S].
        lengths: the G group lengths S_g.

    Returns:
        (attention output: G tensors [B*S_g, I], pre-softmax scores
          [B, N, S, S]).
    """
    # Per-head layout: [B, S, N, D] with use_einsum, else [B, N, S, D].
    sequence_axis = 1 if use_einsum else 2
    with tf.variable_scope("self"):
        queries, keys, head_values = zip(*per_group(
            lambda query_key, value, length: project_heads(
                config, query_key, value, batch_size, length, use_einsum),
            query_keys, values, lengths))
        key = join_groups(keys, sequence_axis)  # [B, S, N, D] or [B, N, S, D]
        value = join_groups(head_values, sequence_axis)
        contexts, scores = zip(*[
            modeling.attend(config, query, key, value, adder, use_einsum)
            for query, adder in zip(queries, adders)
        ])  # G x [B*S_g, N*D], G x [B, N, S_g, S]

    with tf.variable_scope("output"):
        outputs = per_group(
            lambda context, residual: modeling.attention_output(
                config, context, residual, use_einsum),
            contexts, residuals)  # G x [B*S_g, I]
    return outputs, join_groups(scores, axis=2)


def project_heads(config, query_key, value, batch_size, seq_length,
                  use_einsum):
    """The query, key and value projections of some rows, split into heads.

    Args:
        query_key: [B*S, W] input of the query and key projections.
        value: [B*S, W'] input of the value projection.

    Returns:
        (query, key, value), each [B, S, N, D] with `use_einsum`, otherwise
        [B, N, S, D].
    """
    initializer = modeling.create_initializer(config.initializer_range)
    num_heads = config.num_attention_heads
    head_size = config.attention_width // num_heads
    width = num_heads * head_size
    params = [
        modeling.dense_variables(modeling.get_shape_list(x)[-1], width,
                                 initializer, name)
        for x, name in ((query_key, "query"), (query_key, "key"),
                        (value, "value"))
    ]
    names = ["query", "key", "value"]
    if value is query_key:
        groups = [(joint_dense(query_key, params, names, use_einsum), 3)]
    else:
        groups = [(joint_dense(query_key, params[:2], names[:2],
                               use_einsum), 2),
                  (joint_dense(value, params[2:], names[2:], use_einsum), 1)]
    heads = []
    for joined, count in groups:
        heads.extend(split_heads(joined, count, batch_size, seq_length,
                                 num_heads, head_size, use_einsum))
    return tuple(heads)


def split_heads(joined, count, batch_size, seq_length, num_heads, head_size,
                use_einsum):
    """Per-head views of `count` projections that came out of one MatMul.

    Args:
        joined: [B*S, count*N*D], the projections side by side.

    Returns:
        `count` tensors [B, S, N, D] with `use_einsum`, otherwise `count`
        tensors [B, N, S, D] (one transpose for all of them).
    """
    heads = tf.reshape(joined, [batch_size, seq_length, count * num_heads,
                                head_size])  # [B, S, count*N, D]
    if use_einsum:
        return tf.split(heads, count, axis=2)
    heads = tf.transpose(heads, [0, 2, 1, 3])  # [B, count*N, S, D]
    return tf.split(heads, count, axis=1)


# ---------------------------------------------------------------------------
# Row groups (see encoder).
# ---------------------------------------------------------------------------


def check_row_groups(row_groups, seq_length):
    """Raises ValueError unless `row_groups` can cut this graph's sequence."""
    if not isinstance(row_groups, int) or row_groups < 1:
        raise ValueError("row_groups must be a positive integer, got %r" %
                         (row_groups,))
    if row_groups == 1:
        return
    if quantization.active():
        raise ValueError(
            "row_groups=%d is for float serving graphs; fake-quantized "
            "graphs need row_groups=1" % row_groups)
    if not isinstance(seq_length, int) or row_groups > seq_length:
        raise ValueError(
            "row_groups=%d needs a static sequence length of at least %d, "
            "got %s" % (row_groups, row_groups, seq_length))


def group_lengths(seq_length, row_groups):
    """Lengths of `row_groups` consecutive position groups, as even as can be.

    Example: group_lengths(128, 3) == [43, 43, 42].
    """
    if row_groups == 1:
        return [seq_length]
    base, extra = divmod(seq_length, row_groups)
    return [base + (1 if i < extra else 0) for i in range(row_groups)]


def split_groups(tensor, lengths, axis):
    """`tensor` cut along `axis` into pieces of `lengths` (itself for one)."""
    if len(lengths) == 1:
        return [tensor]
    return tf.split(tensor, lengths, axis=axis)


def join_groups(tensors, axis):
    """The pieces of split_groups joined again along `axis`."""
    if len(tensors) == 1:
        return tensors[0]
    return tf.concat(list(tensors), axis=axis)


def per_group(block, *groups):
    """`block` applied to each row group's arguments.

    The first group creates the block's variables; the others reuse them.

    Args:
        block: function of one tensor per argument list.
        *groups: argument lists, one entry per group.

    Returns:
        The list of `block`'s results, one per group.
    """
    results = []
    for index, arguments in enumerate(zip(*groups)):
        with shared_variables(index > 0):
            results.append(block(*arguments))
    return results


def shared_variables(reuse):
    """A context in which tf.get_variable returns the existing variables.

    Op names are left alone (the ops of the second group are `dense_1`,
    ...).  Without `reuse` it changes nothing.
    """
    if not reuse:
        return contextlib.suppress()
    return tf.variable_scope(tf.get_variable_scope(), reuse=True,
                             auxiliary_name_scope=False)


# ---------------------------------------------------------------------------
# Joint projections.
# ---------------------------------------------------------------------------


# Largest joint kernel (in floats) that joint_dense builds.  The kernels are
# variables, so their concatenation runs on every call: for the teacher's
# 768 x 2304 query/key/value kernel that copy costs more than the two
# MatMuls it saves (measured ~10% slower at batch 1); for the students'
# narrow projections it is small next to the saved per-op cost.
_MAX_JOINT_KERNEL = 1 << 20


def joint_dense(inputs, params, names, use_einsum):
    """Several dense layers of one input, as one MatMul where that pays.

    Under quantization-aware training each layer runs on its own, its
    output fake-quantized with its own range (as `dense` does).

    Args:
        inputs: [..., in].
        params: (kernel [in, u_k], bias [u_k]) pairs.
        names: the layers' scopes relative to the current one (where their
            activation ranges go under quantization-aware training).

    Returns:
        [..., sum of u_k]: the layers' outputs side by side, in order.
    """
    in_width = modeling.get_shape_list(inputs)[-1]
    units = sum(modeling.get_shape_list(b)[0] for _, b in params)
    if (len(params) == 1 or in_width * units > _MAX_JOINT_KERNEL or
            quantization.active()):
        outputs = [
            quantization.quantize_activation(
                modeling.apply_dense(inputs, k, b, use_einsum), name)
            for (k, b), name in zip(params, names)
        ]
        return outputs[0] if len(outputs) == 1 else tf.concat(outputs, -1)
    kernel = tf.concat([k for k, _ in params], axis=1)  # [in, sum u_k]
    bias = tf.concat([b for _, b in params], axis=0)
    return modeling.apply_dense(inputs, kernel, bias, use_einsum)
