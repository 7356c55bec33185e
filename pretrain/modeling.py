# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The MobileBERT / BERT model and its output heads.

One model class covers both the RoBERTa-wwm-ext teacher (a plain BERT) and the
MobileBERT students (bottlenecks, stacked feed-forward networks, trigram
input, no-norm).  Each building block below is a function whose variable
scope is the name that appears in released TF1 checkpoints:

        bert/embeddings                      embeddings()
        bert/encoder/layer_{i}               transformer_layer()
            bottleneck/{input,attention}         bottleneck()
            attention/{self,output}              attention()
            ffn_layer_{j}, intermediate/output   feed_forward()
            output/bottleneck                    output_bottleneck()
        bert/pooler                          pooler()
        cls/predictions                      masked_lm_logits()
        output_weights, output_bias          classifier_logits()
        cls/squad                            squad_logits()

Shape letters in comments: B batch, S sequence, H hidden_size, E
embedding_size, I intra-bottleneck size, N heads, D head size, V vocabulary;
G row groups, S_g the length of group g (see encoder).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import contextlib
import copy
import math
import re

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import configuration
from pretrain import quantization

# The configuration class, where scripts have always found it.
BertConfig = configuration.BertConfig

# Added to the attention scores of masked keys (the published constant).
MASK_ADDER = -10000.0
# The same in serving graphs: exp(-100) is as good as zero next to the
# scores, and the sum of scores and adder keeps a range that an int8 TFLite
# model can resolve (with -10000 its quantization step swallows the scores).
SERVING_MASK_ADDER = -100.0
# Names, in the `embeddings` scope, of the word ids the table is read with
# and of the projected word embeddings [B, S, H] (before the token-type and
# position embeddings are added): a frozen serving graph looks the
# projection up from a precomputed table (export_util).
WORD_IDS = "word_ids"
WORD_PROJECTION = "word_projection"


def gelu(x):
    """GELU with the tanh approximation, as BERT and MobileBERT use it."""
    cdf = 0.5 * (1.0 + tf.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))
    return x * cdf


_ACTIVATIONS = {
    "gelu": gelu,
    "relu": tf.nn.relu,
    "tanh": tf.tanh,
    "linear": None,
}


def get_activation(name):
    """Returns the activation function called `name` (None for linear)."""
    return _ACTIVATIONS[configuration.check_activation(name)]


class BertModel(object):
    """BERT / MobileBERT encoder.

    Example:
        config = BertConfig.from_json_file("config/student_base_f2.json")
        model = BertModel(config, is_training=False, input_ids=ids,
                          input_mask=mask, token_type_ids=segments)
        features = model.get_sequence_output()   # [B, S, H]
    """

    def __init__(self,
                 config,
                 is_training,
                 input_ids,
                 input_mask=None,
                 token_type_ids=None,
                 use_one_hot_embeddings=False,
                 scope=None,
                 use_einsum=True,
                 mask_adder=MASK_ADDER,
                 row_groups=1):
        """Builds the graph.

        Args:
            config: BertConfig.
            is_training: bool; False turns dropout off.
            input_ids: int32 [B, S].
            input_mask: int32 [B, S], 1 for real tokens (defaults to all ones).
            token_type_ids: int32 [B, S] segment ids (defaults to zeros).
            use_one_hot_embeddings: look words up by one-hot matmul (TPU).
            scope: variable scope, default "bert".
            use_einsum: einsum or reshape+matmul implementation (same numbers).
            mask_adder: added to the attention scores of padding keys
                (MASK_ADDER; SERVING_MASK_ADDER in export graphs).
            row_groups: inference only: every layer, and the projection
                of the embeddings, works on this many groups of sequence
                positions, each its own chain of ops on the same variables
                (see encoder); same numbers.  1 builds the plain graph.

        Raises:
            ValueError: row_groups is not between 1 and the (static)
                sequence length, or is above 1 in a training or
                fake-quantized graph.
        """
        config = copy.deepcopy(config)
        if not is_training:
            config.hidden_dropout_prob = 0.0
            config.attention_probs_dropout_prob = 0.0
        batch_size, seq_length = get_shape_list(input_ids, expected_rank=2)
        check_row_groups(row_groups, seq_length, is_training)
        lengths = group_lengths(seq_length, row_groups)  # G lengths S_g
        if input_mask is None:
            input_mask = tf.ones([batch_size, seq_length], dtype=tf.int32)
        if token_type_ids is None:
            token_type_ids = tf.zeros([batch_size, seq_length], dtype=tf.int32)

        with tf.variable_scope(scope, default_name="bert"):
            with tf.variable_scope("embeddings"):
                (self.embedding_output, self.word_embedding_output,
                 self.embedding_table) = embeddings(
                     config, input_ids, token_type_ids,
                     use_one_hot_embeddings, use_einsum, lengths)
            with tf.variable_scope("encoder"):
                attention_mask = attention_mask_from_input_mask(
                    input_ids, input_mask)
                self.all_encoder_layers, self.all_attention_scores = encoder(
                    config, self.embedding_output, attention_mask, use_einsum,
                    mask_adder, lengths)
            self.sequence_output = self.all_encoder_layers[-1]
            with tf.variable_scope("pooler"):
                self.pooled_output = pooler(config, self.sequence_output)

    def get_pooled_output(self):
        """[B, H] pooled first-token representation."""
        return self.pooled_output

    def get_sequence_output(self):
        """[B, S, H] output of the last layer."""
        return self.sequence_output

    def get_all_encoder_layers(self):
        """L + 1 tensors [B, S, H]: the embedding output, then each layer's."""
        return self.all_encoder_layers

    def get_all_attention_scores(self):
        """L tensors [B, N, S, S]: pre-softmax scores with the mask adder."""
        return self.all_attention_scores

    def get_embedding_output(self):
        """[B, S, H] embeddings after position/type addition and norm."""
        return self.embedding_output

    def get_word_embedding_output(self):
        """[B, S, E] raw word-embedding lookup."""
        return self.word_embedding_output

    def get_embedding_table(self):
        """[V, E] word-embedding table."""
        return self.embedding_table


# ---------------------------------------------------------------------------
# Building blocks.
# ---------------------------------------------------------------------------


def embeddings(config, input_ids, token_type_ids, use_one_hot_embeddings,
               use_einsum, lengths):
    """Word (+ trigram) + token-type + position embeddings, normalised.

    Args:
        lengths: the row groups' lengths S_g (see encoder).  The projection
            to the hidden width, a student's largest MatMul outside the
            layers, runs once per group, so that several cores share it as
            they share the layers.

    Returns:
        (embedding_output [B, S, H], word_embedding_output [B, S, E],
          embedding_table [V, E]).
    """
    initializer = create_initializer(config.initializer_range)
    embedding_table = tf.get_variable(
        "word_embeddings", [config.vocab_size, config.embedding_size],
        initializer=initializer)
    input_ids = tf.identity(input_ids, name=WORD_IDS)
    if use_one_hot_embeddings:
        one_hot = tf.one_hot(input_ids, depth=config.vocab_size)  # [B, S, V]
        word_output = one_hot_lookup(one_hot, embedding_table, use_einsum)
    else:
        word_output = tf.gather(embedding_table, input_ids)  # [B, S, E]

    output = word_output
    if config.trigram_input:
        output = trigram(word_output)  # [B, S, 3E]
    if config.trigram_input or config.embedding_size != config.hidden_size:
        output = join_groups(per_group(
            lambda rows: dense(rows, config.hidden_size, initializer,
                               "embedding_transformation", use_einsum),
            split_groups(output, lengths, axis=1)), axis=1)  # [B, S, H]
        output = tf.identity(output, name=WORD_PROJECTION)

    seq_length = get_shape_list(input_ids)[1]
    token_type_table = tf.get_variable(
        "token_type_embeddings", [config.type_vocab_size, config.hidden_size],
        initializer=initializer)
    token_types = tf.one_hot(token_type_ids, depth=config.type_vocab_size)
    output += one_hot_lookup(token_types, token_type_table, use_einsum)

    position_table = tf.get_variable(
        "position_embeddings",
        [config.max_position_embeddings, config.hidden_size],
        initializer=initializer)
    output += tf.expand_dims(position_table[:seq_length], 0)

    output = normalize(output, config.normalization_type)
    output = dropout(output, config.hidden_dropout_prob)
    return output, word_output, embedding_table


def one_hot_lookup(one_hot, table, use_einsum):
    """[B, S, V] one-hot rows times table [V, E] -> [B, S, E].

    Without `use_einsum` it is reshape+matmul: TF 2's tf.einsum emits an
    Einsum op (TF 1.15's was decomposed in Python), which the einsum-free
    exports must not contain.
    """
    if use_einsum:
        return tf.einsum("bsv,ve->bse", one_hot, table)
    shape = get_shape_list(one_hot)
    flat = tf.reshape(one_hot, [-1, shape[-1]])
    width = get_shape_list(table)[-1]
    return tf.reshape(tf.matmul(flat, table), shape[:-1] + [width])


def trigram(word_output):
    """Concatenates next, current and previous token embeddings.

    Args:
        word_output: [B, S, E].

    Returns:
        [B, S, 3E]: [emb(t+1), emb(t), emb(t-1)], zeros past either end.
    """
    next_tokens = tf.pad(word_output[:, 1:], [[0, 0], [0, 1], [0, 0]])
    previous_tokens = tf.pad(word_output[:, :-1], [[0, 0], [1, 0], [0, 0]])
    return tf.concat([next_tokens, word_output, previous_tokens], axis=2)


def encoder(config, embedding_output, attention_mask, use_einsum,
            mask_adder, lengths):
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

    Returns:
        (all_encoder_layers: L + 1 tensors [B, S, H], starting with the
          embedding output; all_attention_scores: L tensors [B, N, S, S]).
    """
    batch_size, _, hidden_size = get_shape_list(embedding_output,
                                                expected_rank=3)
    # The additive mask, once for all layers: 0 where attention is allowed,
    # mask_adder elsewhere.  expand_dims rather than mask[:, None]: TFLite
    # converts it.
    adder = (1.0 - tf.cast(tf.expand_dims(attention_mask, 1),
                           tf.float32)) * mask_adder  # [B, 1, S, S]
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
    """One MobileBERT (or BERT) layer, as in the paper's figure.

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
                lambda rows: feed_forward(config, rows, use_einsum),
                inner_outputs)

    inner_outputs = per_group(
        lambda rows: feed_forward(config, rows, use_einsum, is_last=True),
        inner_outputs)  # G x [B*S_g, I]
    if not config.use_bottleneck:
        return inner_outputs, scores
    with tf.variable_scope("output/bottleneck"):
        layer_outputs = per_group(
            lambda inner, prev: output_bottleneck(config, inner, prev,
                                                  use_einsum),
            inner_outputs, prev_outputs)  # G x [B*S_g, H]
    return layer_outputs, scores


def bottleneck(config, prev_output, use_einsum):
    """Linear projections from the hidden width into the bottleneck.

    With a key/query-shared bottleneck the `input` and `attention`
    projections read the same tensor, so they run as one MatMul.

    Args:
        prev_output: [B*S, H].

    Returns:
        (layer_input, query_key, value): the residual input of the attention
        block [B*S, I], the query/key input and the value input.
    """
    initializer = create_initializer(config.initializer_range)
    width = get_shape_list(prev_output)[-1]
    scopes = ["input"]
    if config.key_query_shared_bottleneck and not (
            config.use_bottleneck_attention):
        scopes.append("attention")
    with tf.variable_scope("bottleneck"):
        params = []
        for scope in scopes:
            with tf.variable_scope(scope):
                params.append(
                    dense_variables(width, config.intra_bottleneck_size,
                                    initializer, "dense") +
                    norm_variables(config.intra_bottleneck_size,
                                   config.normalization_type))
    joined = joint_dense(prev_output, [p[:2] for p in params],
                         ["bottleneck/%s/dense" % s for s in scopes],
                         use_einsum)  # [B*S, K*I]
    normalized = [
        apply_normalization(x, p[2], p[3], config.normalization_type,
                            "%s/%s" % (scope,
                                       norm_scope(config.normalization_type)))
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
    """Multi-head self-attention (`self`) and its output projection (`output`).

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
            attend(config, query, key, value, adder, use_einsum)
            for query, adder in zip(queries, adders)
        ])  # G x [B*S_g, N*D], G x [B, N, S_g, S]

    with tf.variable_scope("output"):
        outputs = per_group(
            lambda context, residual: attention_output(config, context,
                                                       residual, use_einsum),
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
    initializer = create_initializer(config.initializer_range)
    num_heads = config.num_attention_heads
    head_size = config.attention_width // num_heads
    width = num_heads * head_size
    params = [
        dense_variables(get_shape_list(x)[-1], width, initializer, name)
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


def attend(config, query, key, value, adder, use_einsum):
    """Scaled dot-product attention of some queries over all positions.

    Args:
        query: [B, F, N, D] with `use_einsum`, otherwise [B, N, F, D].
        key, value: [B, T, N, D] with `use_einsum`, otherwise [B, N, T, D].
        adder: [B, 1, F, T] additive attention mask.

    Returns:
        (context [B*F, N*D], pre-softmax scores [B, N, F, T]).
    """
    head_size = config.attention_width // config.num_attention_heads
    if use_einsum:
        scores = tf.einsum("bfnd,btnd->bnft", query, key)  # [B, N, F, T]
    else:
        scores = tf.matmul(query, key, transpose_b=True)
    scores *= 1.0 / math.sqrt(float(head_size))
    scores += adder
    probs = dropout(tf.nn.softmax(scores),
                    config.attention_probs_dropout_prob)
    if use_einsum:
        context = tf.einsum("bnft,btnd->bfnd", probs, value)  # [B, F, N, D]
    else:
        context = tf.transpose(tf.matmul(probs, value),
                               [0, 2, 1, 3])  # [B, F, N, D]
    width = config.num_attention_heads * head_size
    return tf.reshape(context, [-1, width]), scores  # [B*F, N*D]


def attention_output(config, context, residual, use_einsum):
    """The attention's output projection, residual and norm.

    Args:
        context: [B*S, N*D].
        residual: [B*S, I].

    Returns:
        [B*S, I].
    """
    initializer = create_initializer(config.initializer_range)
    output = dense(context, config.intra_bottleneck_size, initializer,
                   "dense", use_einsum)  # [B*S, I]
    if not config.use_bottleneck:
        output = dropout(output, config.hidden_dropout_prob)
    return normalize(output + residual, config.normalization_type)


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


def feed_forward(config, ffn_input, use_einsum, is_last=False):
    """One feed-forward network: `intermediate` then `output`, residual, norm.

    Extra stacked FFNs run under `ffn_layer_{j}`; the last one sits directly in
    the layer scope, where BERT's only FFN lives.  Without a bottleneck the
    last FFN applies dropout before the residual.

    Args:
        ffn_input: [B*S, I].

    Returns:
        [B*S, I].
    """
    initializer = create_initializer(config.initializer_range)
    with tf.variable_scope("intermediate"):
        hidden = dense(ffn_input, config.intermediate_size,
                       initializer, "dense", use_einsum,
                       get_activation(config.hidden_act))  # [B*S, F]
    with tf.variable_scope("output"):
        output = dense(hidden, config.intra_bottleneck_size, initializer,
                       "dense", use_einsum)  # [B*S, I]
        if is_last and not config.use_bottleneck:
            output = dropout(output, config.hidden_dropout_prob)
        return normalize(output + ffn_input, config.normalization_type)


def output_bottleneck(config, inner_output, prev_output, use_einsum):
    """Projects the bottleneck back to the hidden width, residual with input.

    Args:
        inner_output: [B*S, I].
        prev_output: [B*S, H] input of the layer.

    Returns:
        [B*S, H].
    """
    initializer = create_initializer(config.initializer_range)
    output = dense(inner_output, config.hidden_size, initializer, "dense",
                   use_einsum)  # [B*S, H]
    output = dropout(output, config.hidden_dropout_prob)
    return normalize(output + prev_output, config.normalization_type)


def pooler(config, sequence_output):
    """First-token pooling: dense + tanh, or the raw vector without it."""
    first_token = sequence_output[:, 0]  # [B, H]
    if not config.classifier_activation:
        return first_token
    return tf.layers.dense(first_token,
                           config.hidden_size,
                           activation=tf.tanh,
                           kernel_initializer=create_initializer(
                               config.initializer_range),
                           name="dense")


def masked_lm_logits(config, sequence_output, embedding_table, positions):
    """The `cls/predictions` head: logits at the masked positions.

    Must be called inside the scope that holds `cls` (the root for a student,
    `teacher` for the teacher).

    Args:
        config: BertConfig.
        sequence_output: [B, S, H].
        embedding_table: [V, E] word embeddings (tied output weights).
        positions: int32 [B, P] masked positions.

    Returns:
        [B * P, V] logits.
    """
    initializer = create_initializer(config.initializer_range)
    hidden = gather_indexes(sequence_output, positions)  # [B * P, H]
    with tf.variable_scope("cls/predictions"):
        with tf.variable_scope("transform"):
            hidden = tf.layers.dense(hidden,
                                     config.hidden_size,
                                     activation=get_activation(
                                         config.hidden_act),
                                     kernel_initializer=initializer,
                                     name="dense")
            hidden = layer_norm(hidden)
        output_weights = embedding_table  # [V, E]
        if config.hidden_size > config.embedding_size:
            extra = tf.get_variable("extra_output_weights", [
                config.vocab_size, config.hidden_size - config.embedding_size
            ],
                                    initializer=initializer)
            output_weights = tf.concat([embedding_table, extra],
                                       axis=1)  # [V, H]
        output_bias = tf.get_variable("output_bias", [config.vocab_size],
                                      initializer=tf.zeros_initializer())
        logits = tf.matmul(hidden, output_weights, transpose_b=True)
        return tf.nn.bias_add(logits, output_bias)  # [B * P, V]


def classifier_logits(pooled_output, num_labels, dropout_prob=0.0):
    """The sentence-classification head: dropout, then a linear layer.

    Its variables `output_weights` and `output_bias` are created in the
    current scope (the root in fine-tuned classifier checkpoints).

    Args:
        pooled_output: [B, H] pooled output.
        num_labels: number of classes C.
        dropout_prob: dropout on the pooled output (0 outside training).

    Returns:
        [B, C] logits.
    """
    hidden_size = get_shape_list(pooled_output)[-1]
    output_weights = tf.get_variable(
        "output_weights", [num_labels, hidden_size],
        initializer=tf.truncated_normal_initializer(stddev=0.02))
    output_bias = tf.get_variable("output_bias", [num_labels],
                                  initializer=tf.zeros_initializer())
    pooled_output = dropout(pooled_output, dropout_prob)
    return tf.nn.bias_add(
        tf.matmul(pooled_output, output_weights, transpose_b=True),
        output_bias)  # [B, C]


def squad_logits(config, sequence_output):
    """The span head `cls/squad`: start and end logits of every position.

    Args:
        config: BertConfig (for the initializer range).
        sequence_output: [B, S, H].

    Returns:
        (start_logits, end_logits), each [B, S].
    """
    batch_size, seq_length, hidden_size = get_shape_list(sequence_output,
                                                         expected_rank=3)
    output_weights = tf.get_variable(
        "cls/squad/output_weights", [2, hidden_size],
        initializer=create_initializer(config.initializer_range))
    output_bias = tf.get_variable("cls/squad/output_bias", [2],
                                  initializer=tf.zeros_initializer())
    flat = tf.reshape(sequence_output, [-1, hidden_size])  # [B*S, H]
    logits = tf.matmul(flat, output_weights, transpose_b=True)
    logits = tf.nn.bias_add(logits, output_bias)  # [B*S, 2]
    logits = tf.reshape(logits, [batch_size, seq_length, 2])
    logits = tf.transpose(logits, [2, 0, 1])  # [2, B, S]
    start_logits, end_logits = tf.unstack(logits, axis=0)
    return start_logits, end_logits


def token_classifier_logits(config, sequence_output, num_labels,
                            dropout_prob=0.0):
    """The sequence-labelling head `cls/ner`: a tag score per position.

    Args:
        config: BertConfig (for the initializer range).
        sequence_output: [B, S, H].
        num_labels: number of tags C.
        dropout_prob: dropout on the sequence output (0 outside training).

    Returns:
        [B, S, C] logits.
    """
    _, seq_length, hidden_size = get_shape_list(sequence_output,
                                                expected_rank=3)
    output_weights = tf.get_variable(
        "cls/ner/output_weights", [num_labels, hidden_size],
        initializer=create_initializer(config.initializer_range))
    output_bias = tf.get_variable("cls/ner/output_bias", [num_labels],
                                  initializer=tf.zeros_initializer())
    flat = dropout(tf.reshape(sequence_output, [-1, hidden_size]),
                   dropout_prob)  # [B*S, H]
    logits = tf.nn.bias_add(
        tf.matmul(flat, output_weights, transpose_b=True), output_bias)
    return tf.reshape(logits, [-1, seq_length, num_labels])  # [B, S, C]


# ---------------------------------------------------------------------------
# Row groups (see encoder).
# ---------------------------------------------------------------------------


def check_row_groups(row_groups, seq_length, is_training):
    """Raises ValueError unless `row_groups` can cut this graph's sequence."""
    if not isinstance(row_groups, int) or row_groups < 1:
        raise ValueError("row_groups must be a positive integer, got %r" %
                         (row_groups,))
    if row_groups == 1:
        return
    if is_training or quantization.active():
        raise ValueError(
            "row_groups=%d is for inference graphs; training and "
            "fake-quantized graphs need row_groups=1" % row_groups)
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
# Layers.
# ---------------------------------------------------------------------------


def dense(inputs, units, initializer, name, use_einsum, activation=None):
    """Dense layer over the last axis with variables `name/{kernel,bias}`.

    Args:
        inputs: [..., in].

    Returns:
        [..., units].
    """
    kernel, bias = dense_variables(get_shape_list(inputs)[-1], units,
                                   initializer, name)
    output = apply_dense(inputs, kernel, bias, use_einsum, activation)
    # Unchanged outside quantization-aware training.
    return quantization.quantize_activation(output, name)


def dense_variables(in_width, units, initializer, name):
    """Creates (kernel [in, units], bias [units]) under scope `name`."""
    with tf.variable_scope(name):
        kernel = tf.get_variable("kernel", [in_width, units],
                                 initializer=initializer)
        bias = tf.get_variable("bias", [units],
                               initializer=tf.zeros_initializer())
    return kernel, bias


def apply_dense(inputs, kernel, bias, use_einsum, activation=None):
    """inputs [..., in] times kernel [in, units] plus bias, activated.

    On [N, in] matrices (and without `use_einsum`) this is MatMul, BiasAdd
    and the activation back to back: the pattern the runtimes fuse into one
    kernel.
    """
    shape = get_shape_list(inputs)
    if use_einsum and len(shape) > 2:
        # Explicit batch labels, not "...": TF 2's Einsum gradient for an
        # ellipsis broadcast against the kernel materialises a
        # [in, out, batch...] tensor before summing it (~10x slower steps).
        batch = "abcdefgh"[:len(shape) - 1]
        output = tf.nn.bias_add(
            tf.einsum("%si,io->%so" % (batch, batch), inputs, kernel), bias)
        return activation(output) if activation is not None else output
    flat = inputs if len(shape) == 2 else tf.reshape(inputs, [-1, shape[-1]])
    output = tf.nn.bias_add(tf.matmul(flat, kernel), bias)  # [N, units]
    if activation is not None:
        output = activation(output)
    if len(shape) == 2:
        return output
    return tf.reshape(output, shape[:-1] + [get_shape_list(kernel)[-1]])


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
    in_width = get_shape_list(inputs)[-1]
    units = sum(get_shape_list(b)[0] for _, b in params)
    if (len(params) == 1 or in_width * units > _MAX_JOINT_KERNEL or
            quantization.active()):
        outputs = [
            quantization.quantize_activation(
                apply_dense(inputs, k, b, use_einsum), name)
            for (k, b), name in zip(params, names)
        ]
        return outputs[0] if len(outputs) == 1 else tf.concat(outputs, -1)
    kernel = tf.concat([k for k, _ in params], axis=1)  # [in, sum u_k]
    bias = tf.concat([b for _, b in params], axis=0)
    return apply_dense(inputs, kernel, bias, use_einsum)


def normalize(inputs, normalization_type):
    """Applies the configured normalization in its checkpoint scope."""
    beta, gamma = norm_variables(get_shape_list(inputs)[-1],
                                 normalization_type)
    return apply_normalization(inputs, beta, gamma, normalization_type,
                               norm_scope(normalization_type))


def norm_variables(width, normalization_type):
    """(beta, gamma) of the configured normalization, in norm_scope."""
    return affine_variables(width, norm_scope(normalization_type))


def norm_scope(normalization_type):
    """MobileBERT's `FakeLayerNorm` for `no_norm`, `LayerNorm` otherwise."""
    return "FakeLayerNorm" if normalization_type == "no_norm" else "LayerNorm"


def affine_variables(width, scope):
    """Creates (beta [width], gamma [width]) under `scope`."""
    with tf.variable_scope(scope):
        beta = tf.get_variable("beta", [width],
                               initializer=tf.zeros_initializer())
        gamma = tf.get_variable("gamma", [width],
                                initializer=tf.ones_initializer())
    return beta, gamma


def apply_normalization(inputs, beta, gamma, normalization_type, name):
    """Layer normalisation, or NoNorm's element-wise `x * gamma + beta`.

    Under quantization-aware training the output is fake-quantized with its
    own range under `name` (the normalization's scope, relative to the
    current one), as a dense layer's is: TFLite runs it as an int8 tensor,
    and without a range of its own the int8 converter folds a `no_norm`
    into the next layer's weights and leaves that layer a bias it cannot
    run.
    """
    if normalization_type == "no_norm":
        output = inputs * gamma + beta
    else:
        epsilon = 1e-6 if normalization_type == "manual_layer_norm" else 1e-12
        output = standardize(inputs, epsilon) * gamma + beta
    # Unchanged outside quantization-aware training.
    return quantization.quantize_activation(output, name)


def layer_norm(inputs, epsilon=1e-12, scope="LayerNorm"):
    """Layer normalisation over the last axis (variables beta, gamma)."""
    beta, gamma = affine_variables(get_shape_list(inputs)[-1], scope)
    return standardize(inputs, epsilon) * gamma + beta


def standardize(inputs, epsilon):
    """(x - mean) / sqrt(variance + epsilon) over the last axis."""
    mean, variance = tf.nn.moments(inputs, [-1], keep_dims=True)
    return (inputs - mean) * tf.rsqrt(variance + epsilon)


def dropout(inputs, dropout_prob):
    """Dropout that is the identity when the probability is zero."""
    if not dropout_prob:
        return inputs
    return tf.nn.dropout(inputs, rate=dropout_prob)


def create_initializer(initializer_range=0.02):
    """Truncated-normal initializer with the given standard deviation."""
    return tf.truncated_normal_initializer(stddev=initializer_range)


def attention_mask_from_input_mask(input_ids, input_mask):
    """[B, S] token mask → [B, S, S] mask: every query sees the real keys."""
    batch_size, seq_length = get_shape_list(input_ids)
    to_mask = tf.cast(tf.reshape(input_mask, [batch_size, 1, seq_length]),
                      tf.float32)
    return tf.ones([batch_size, seq_length, 1], tf.float32) * to_mask


def gather_indexes(sequence_tensor, positions):
    """Gathers vectors at `positions` [B, P] from [B, S, W] → [B * P, W]."""
    batch_size, seq_length, width = get_shape_list(sequence_tensor,
                                                   expected_rank=3)
    offsets = tf.reshape(
        tf.range(0, batch_size, dtype=tf.int32) * seq_length, [-1, 1])
    flat_positions = tf.reshape(tf.cast(positions, tf.int32) + offsets, [-1])
    flat_sequence = tf.reshape(sequence_tensor,
                               [batch_size * seq_length, width])
    return tf.gather(flat_sequence, flat_positions)


def get_shape_list(tensor, expected_rank=None):
    """Static dimensions where known, dynamic scalars otherwise."""
    shape = tensor.shape.as_list()
    if expected_rank is not None and len(shape) != expected_rank:
        raise ValueError("tensor %s has rank %d, expected %d" %
                         (tensor.name, len(shape), expected_rank))
    dynamic = tf.shape(tensor)
    return [
        dim if dim is not None else dynamic[i] for i, dim in enumerate(shape)
    ]


# ---------------------------------------------------------------------------
# Checkpoints.
# ---------------------------------------------------------------------------

def variable_name(variable):
    """Graph name of a variable without the ':0' suffix."""
    return re.sub(r":\d+$", "", variable.name)


def count_parameters(tvars):
    """Total number of scalars in `tvars`."""
    return int(sum(np.prod(v.shape.as_list()) for v in tvars))
