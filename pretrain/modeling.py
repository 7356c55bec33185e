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
embedding_size, I intra-bottleneck size, N heads, D head size, F
intermediate size, V vocabulary.

This is the training and evaluation graph. Exports build the same model on
the same variables through pretrain/serving_graph.py, which adds what only
serving needs (row groups, joint projections, the serving mask).
"""

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

    Serving graphs (row groups, joint projections, the serving mask) are
    built by pretrain/serving_graph.py on the same variables.
    """

    def __init__(self,
                 config,
                 is_training,
                 input_ids,
                 input_mask=None,
                 token_type_ids=None,
                 use_one_hot_embeddings=False,
                 scope=None,
                 use_einsum=True):
        """Builds the graph.

        Args:
            config: BertConfig.
            is_training: bool; False turns dropout off.
            input_ids: int32 [B, S].
            input_mask: int32 [B, S], 1 for real tokens (defaults to all ones).
            token_type_ids: int32 [B, S] segment ids (defaults to zeros).
            use_one_hot_embeddings: look words up by one-hot matmul (TPU).
            scope: variable scope, default "bert".
            use_einsum: einsum or reshape+matmul attention and lookups (the
                same numbers).
        """
        config = copy.deepcopy(config)
        if not is_training:
            config.hidden_dropout_prob = 0.0
            config.attention_probs_dropout_prob = 0.0
        batch_size, seq_length = get_shape_list(input_ids, expected_rank=2)
        if input_mask is None:
            input_mask = tf.ones([batch_size, seq_length], dtype=tf.int32)
        if token_type_ids is None:
            token_type_ids = tf.zeros([batch_size, seq_length], dtype=tf.int32)

        with tf.variable_scope(scope, default_name="bert"):
            with tf.variable_scope("embeddings"):
                (self.embedding_output, self.word_embedding_output,
                 self.embedding_table) = embeddings(
                     config, input_ids, token_type_ids,
                     use_one_hot_embeddings, use_einsum)
            with tf.variable_scope("encoder"):
                adder = attention_adder(input_ids, input_mask, MASK_ADDER)
                self.all_encoder_layers, self.all_attention_scores = encoder(
                    config, self.embedding_output, adder, use_einsum)
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
               use_einsum):
    """Word (+ trigram) + token-type + position embeddings, normalised.

    Returns:
        (embedding_output [B, S, H], word_embedding_output [B, S, E],
          embedding_table [V, E]).
    """
    embedding_table, word_output = word_embeddings(
        config, input_ids, use_one_hot_embeddings, use_einsum)  # [B, S, E]
    output = word_output
    if config.trigram_input:
        output = trigram(word_output)  # [B, S, 3E]
    if config.trigram_input or config.embedding_size != config.hidden_size:
        output = dense(output, config.hidden_size,
                       create_initializer(config.initializer_range),
                       "embedding_transformation", use_einsum)  # [B, S, H]
    output = add_position_and_type(config, output, token_type_ids,
                                   use_einsum)
    output = normalize(output, config.normalization_type)
    output = dropout(output, config.hidden_dropout_prob)
    return output, word_output, embedding_table


def word_embeddings(config, input_ids, use_one_hot_embeddings, use_einsum):
    """The word table `word_embeddings` [V, E] and its rows for `input_ids`.

    Returns:
        (embedding_table [V, E], word embeddings [B, S, E]).
    """
    embedding_table = tf.get_variable(
        "word_embeddings", [config.vocab_size, config.embedding_size],
        initializer=create_initializer(config.initializer_range))
    if use_one_hot_embeddings:
        one_hot = tf.one_hot(input_ids, depth=config.vocab_size)  # [B, S, V]
        return embedding_table, one_hot_lookup(one_hot, embedding_table,
                                               use_einsum)
    return embedding_table, tf.gather(embedding_table, input_ids)


def add_position_and_type(config, output, token_type_ids, use_einsum):
    """Adds the token-type and position embeddings to `output` [B, S, H]."""
    initializer = create_initializer(config.initializer_range)
    seq_length = get_shape_list(token_type_ids)[1]
    token_type_table = tf.get_variable(
        "token_type_embeddings", [config.type_vocab_size, config.hidden_size],
        initializer=initializer)
    token_types = tf.one_hot(token_type_ids, depth=config.type_vocab_size)
    output += one_hot_lookup(token_types, token_type_table, use_einsum)
    position_table = tf.get_variable(
        "position_embeddings",
        [config.max_position_embeddings, config.hidden_size],
        initializer=initializer)
    return output + tf.expand_dims(position_table[:seq_length], 0)


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


def attention_adder(input_ids, input_mask, mask_adder):
    """The additive attention mask [B, 1, S, S]: 0 where a query may see a
    key, `mask_adder` at padding keys.

    expand_dims rather than mask[:, None]: TFLite converts it.
    """
    mask = attention_mask_from_input_mask(input_ids, input_mask)  # [B, S, S]
    return (1.0 - tf.cast(tf.expand_dims(mask, 1), tf.float32)) * mask_adder


def encoder(config, embedding_output, adder, use_einsum):
    """Stacks `num_hidden_layers` transformer layers.

    The layers work on [B*S, H] matrices, as BERT's do: every dense layer is
    then one MatMul whose BiasAdd (and activation, residual Add) the runtime
    can fuse into it, with no reshape in between.

    Args:
        embedding_output: [B, S, H].
        adder: [B, 1, S, S] additive attention mask.

    Returns:
        (all_encoder_layers: L + 1 tensors [B, S, H], starting with the
          embedding output; all_attention_scores: L tensors [B, N, S, S]).
    """
    batch_size, seq_length, hidden_size = get_shape_list(embedding_output,
                                                         expected_rank=3)
    layer_output = tf.reshape(embedding_output, [-1, hidden_size])  # [B*S, H]
    all_layers = [embedding_output]
    all_scores = []
    for layer_idx in range(config.num_hidden_layers):
        with tf.variable_scope("layer_%d" % layer_idx):
            layer_output, scores = transformer_layer(config, layer_output,
                                                     adder, use_einsum)
        all_layers.append(tf.reshape(layer_output,
                                     [batch_size, seq_length, hidden_size]))
        all_scores.append(scores)
    return all_layers, all_scores


def transformer_layer(config, layer_input, adder, use_einsum):
    """One MobileBERT (or BERT) layer, as in the paper's figure.

    Bottleneck in, multi-head attention, the stacked feed-forward networks,
    bottleneck out; a BERT layer (no bottleneck) is attention and one FFN.

    Args:
        layer_input: [B*S, H], the previous layer's output.
        adder: [B, 1, S, S] additive attention mask.

    Returns:
        (layer output [B*S, H], attention scores [B, N, S, S]).
    """
    if config.use_bottleneck:
        inner_input, query_key, value = bottleneck(config, layer_input,
                                                   use_einsum)  # [B*S, I]
    else:
        inner_input = query_key = value = layer_input
    with tf.variable_scope("attention"):
        inner_output, scores = attention(config, query_key, value,
                                         inner_input, adder,
                                         use_einsum)  # [B*S, I]
    for ffn_idx in range(config.num_feedforward_networks - 1):
        with tf.variable_scope("ffn_layer_%d" % ffn_idx):
            inner_output = feed_forward(config, inner_output, use_einsum)
    inner_output = feed_forward(config, inner_output, use_einsum,
                                is_last=True)  # [B*S, I]
    if not config.use_bottleneck:
        return inner_output, scores
    with tf.variable_scope("output/bottleneck"):
        return output_bottleneck(config, inner_output, layer_input,
                                 use_einsum), scores  # [B*S, H]


def bottleneck(config, layer_input, use_einsum):
    """Linear projections from the hidden width into the bottleneck.

    `bottleneck/input` gives the attention block's residual input (and,
    with `use_bottleneck_attention`, its query, key and value input);
    with a key/query-shared bottleneck `bottleneck/attention` gives the
    query and key input, and the values come from the layer input.

    Args:
        layer_input: [B*S, H].

    Returns:
        (inner_input, query_key, value): the residual input of the attention
        block [B*S, I], the query/key input and the value input.
    """
    with tf.variable_scope("bottleneck"):
        with tf.variable_scope("input"):
            inner_input = bottleneck_projection(config, layer_input,
                                                use_einsum)  # [B*S, I]
        if config.use_bottleneck_attention:
            return inner_input, inner_input, inner_input
        if not config.key_query_shared_bottleneck:
            return inner_input, layer_input, layer_input
        with tf.variable_scope("attention"):
            query_key = bottleneck_projection(config, layer_input,
                                              use_einsum)  # [B*S, I]
        return inner_input, query_key, layer_input


def bottleneck_projection(config, layer_input, use_einsum):
    """`dense` into the bottleneck width, then the normalization."""
    output = dense(layer_input, config.intra_bottleneck_size,
                   create_initializer(config.initializer_range), "dense",
                   use_einsum)
    return normalize(output, config.normalization_type)


def attention(config, query_key, value, residual, adder, use_einsum):
    """Multi-head self-attention (`self`) and its output projection (`output`).

    Args:
        query_key: [B*S, W], input of the query and key projections.
        value: [B*S, W'], input of the value projection.
        residual: [B*S, I], added back after the output projection.
        adder: [B, 1, S, S] additive attention mask.

    Returns:
        (attention output [B*S, I], pre-softmax scores [B, N, S, S]).
    """
    batch_size, _, seq_length, _ = get_shape_list(adder, expected_rank=4)
    initializer = create_initializer(config.initializer_range)
    num_heads = config.num_attention_heads
    head_size = config.attention_width // num_heads
    with tf.variable_scope("self"):
        heads = [
            to_heads(dense(inputs, num_heads * head_size, initializer, name,
                           use_einsum),
                     batch_size, seq_length, num_heads, head_size, use_einsum)
            for inputs, name in ((query_key, "query"), (query_key, "key"),
                                 (value, "value"))
        ]  # 3 x [B, S, N, D] with use_einsum, else [B, N, S, D]
        context, scores = attend(config, heads[0], heads[1], heads[2], adder,
                                 use_einsum)  # [B*S, N*D], [B, N, S, S]
    with tf.variable_scope("output"):
        return attention_output(config, context, residual,
                                use_einsum), scores  # [B*S, I]


def to_heads(rows, batch_size, seq_length, num_heads, head_size,
             use_einsum):
    """[B*S, N*D] projection rows as heads.

    Returns:
        [B, S, N, D] with `use_einsum`, otherwise [B, N, S, D].
    """
    heads = tf.reshape(rows, [batch_size, seq_length, num_heads, head_size])
    return heads if use_einsum else tf.transpose(heads, [0, 2, 1, 3])


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


def output_bottleneck(config, inner_output, layer_input, use_einsum):
    """Projects the bottleneck back to the hidden width, residual with input.

    Args:
        inner_output: [B*S, I].
        layer_input: [B*S, H] input of the layer.

    Returns:
        [B*S, H].
    """
    initializer = create_initializer(config.initializer_range)
    output = dense(inner_output, config.hidden_size, initializer, "dense",
                   use_einsum)  # [B*S, H]
    output = dropout(output, config.hidden_dropout_prob)
    return normalize(output + layer_input, config.normalization_type)


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
