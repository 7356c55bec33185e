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


def test_learnt_ranges_are_carried_through_data_movement():
    from finetune import graph_rewrites
    values = np.linspace(-2.0, 2.0, 24).astype(np.float32).reshape(4, 6)
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [4, 6], name="x")
        quantized = tf.quantization.fake_quant_with_min_max_vars(
            x, tf.constant(-1.5), tf.constant(1.0))
        first, second = tf.split(tf.reshape(quantized, [2, 12]), 2, axis=1)
        outputs = [tf.identity(first[:, 1:] * 2.0, name="a"),
                   tf.identity(second + 1.0, name="b")]
        graph_def = graph.as_graph_def()
        with tf.Session() as sess:
            expected = sess.run(outputs, {x: values})
    rewritten = graph_rewrites.keep_learnt_ranges(graph_def)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(rewritten, name="")
        copies = [op for op in graph.get_operations()
                  if op.name.endswith(tuple("learnt_range_%d" % i
                                            for i in range(2)))]
        with tf.Session() as sess:
            got = sess.run(["a:0", "b:0"], {"x:0": values})
            ranges = {op.inputs[0].op.type: sess.run(op.inputs[1:])
                      for op in copies}
    # The reshape, both outputs of the split and the slice of the first.
    assert sorted(op.inputs[0].op.type for op in copies) == [
        "Reshape", "Split", "Split", "StridedSlice"]
    assert all(np.allclose(r, [-1.5, 1.0]) for r in ranges.values())
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # Applied again it adds nothing; a float graph is left as it is.
    assert graph_rewrites.keep_learnt_ranges(rewritten) == rewritten
    with tf.Graph().as_default() as graph:
        tf.reshape(tf.placeholder(tf.float32, [4, 6]), [24])
        plain = graph.as_graph_def()
    assert graph_rewrites.keep_learnt_ranges(plain) == plain
