"""Tests for pretrain/quantization.py and the graph it shapes in modeling.

The int8 export of a quantization-aware model is tested end to end in
test_run_classifier.py; here, in process: the weights and activations are
on the int8 grid, the ranges follow the batches, and the ops modeling
builds differently under fake quantization give the float graph's numbers.
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import modeling
from pretrain import quantization

TINY = modeling.BertConfig.from_dict({
    "vocab_size": 50, "hidden_size": 16, "embedding_size": 8,
    "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 16, "intra_bottleneck_size": 8,
    "use_bottleneck": True, "use_bottleneck_attention": True,
    "trigram_input": True, "normalization_type": "no_norm",
    "num_feedforward_networks": 2, "hidden_act": "relu",
    "max_position_embeddings": 8, "type_vocab_size": 2,
    "initializer_range": 0.5,
})


def run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def model_variables(fake_quantize):
    with tf.Graph().as_default():
        ids = tf.constant([[2, 5, 7, 0]])
        if fake_quantize:
            with quantization.fake_quantization(is_training=True):
                modeling.BertModel(TINY, False, ids)
        else:
            modeling.BertModel(TINY, False, ids)
        ops = [op.type for op in tf.get_default_graph().get_operations()]
        return ({v.op.name for v in tf.global_variables()},
                ops.count("FakeQuantWithMinMaxVars"))


def test_float_graph_is_unchanged_and_qat_adds_only_ranges():
    float_names, float_fake_quants = model_variables(False)
    qat_names, qat_fake_quants = model_variables(True)
    assert float_fake_quants == 0
    assert float_names <= qat_names
    extra = qat_names - float_names
    assert extra and all(
        "/%s/" % quantization.RANGE_SCOPE in name for name in extra)
    # Weights (one each) and outputs (one range pair each) are quantized.
    assert qat_fake_quants == len(
        [n for n in qat_names if n.endswith("kernel")]) + len(extra) // 2


def test_weights_are_on_a_symmetric_int8_grid():
    with tf.Graph().as_default():
        weight = tf.constant(np.random.RandomState(0).randn(6, 5),
                             tf.float32)
        quantized = run(quantization.fake_quantize_weight(weight))
    bound = np.abs(quantized).max()
    steps = quantized / (bound / 127.0)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
    assert len(np.unique(quantized)) > 20


def test_activation_range_starts_at_the_batch_then_averages():
    with tf.Graph().as_default():
        batch = tf.placeholder(tf.float32, [None])
        step = tf.train.get_or_create_global_step()
        with quantization.fake_quantization(is_training=True):
            output = quantization.quantize_activation(batch, "layer")
        minimum, maximum = [v for v in tf.global_variables()
                            if "activation_quant" in v.op.name]
        bump = tf.assign_add(step, 1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(output, {batch: [-1.0, 3.0]})
            first = sess.run([minimum, maximum])
            sess.run(bump)
            sess.run(output, {batch: [-11.0, 13.0]})
            second = sess.run([minimum, maximum])
            # EVAL/PREDICT graphs read the range without moving it.
            with tf.variable_scope(tf.get_variable_scope(), reuse=True):
                with quantization.fake_quantization(is_training=False):
                    frozen = quantization.quantize_activation(batch, "layer")
            clipped = sess.run(frozen, {batch: [100.0]})
            third = sess.run([minimum, maximum])
    np.testing.assert_allclose(first, [-1.0, 3.0])
    decay = quantization.RANGE_DECAY
    np.testing.assert_allclose(
        second, [-1.0 * decay - 11.0 * (1 - decay),
                 3.0 * decay + 13.0 * (1 - decay)], rtol=1e-6)
    np.testing.assert_allclose(third, second)
    assert clipped[0] == pytest.approx(second[1], rel=0.01)


def test_fake_quantization_blocks_do_not_nest():
    with tf.Graph().as_default():
        with quantization.fake_quantization(is_training=False):
            with pytest.raises(ValueError, match="already inside"):
                with quantization.fake_quantization(is_training=False):
                    pass
        assert not quantization.active()


@pytest.mark.parametrize("count", [1, 3])
def test_ops_shaped_for_the_int8_converter_give_the_same_numbers(count):
    rng = np.random.RandomState(1)
    table = rng.randn(2, 6).astype(np.float32)
    segments = np.array([[0, 1, 1, 0]], np.int32)
    sequence = rng.randn(3, 4, 6).astype(np.float32)
    joined = rng.randn(5, 4 * count).astype(np.float32)

    def build():
        return (modeling.token_type_lookup(tf.constant(segments),
                                           tf.constant(table), True),
                modeling.first_token_of(tf.constant(sequence)),
                modeling.split_projections(tf.constant(joined), count))

    with tf.Graph().as_default():
        plain = run(build())
        with quantization.fake_quantization(is_training=False):
            shaped = run(build())
            ops = {op.type for op in tf.get_default_graph().get_operations()}
    assert "GatherV2" in ops
    np.testing.assert_array_equal(plain[0], table[segments])
    np.testing.assert_array_equal(plain[1], sequence[:, 0])
    for got, expected in zip(shaped, plain):
        for a, b in zip(np.atleast_1d(got), np.atleast_1d(expected)):
            np.testing.assert_array_equal(a, b)
