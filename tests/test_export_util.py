"""Tests for finetune/export_util.py, graph_rewrites.py and tflite_util.py:
SavedModel, frozen copy and TFLite export."""
import collections
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from finetune import export_util
from finetune import graph_rewrites
from finetune import tflite_util
from pretrain import estimator_util
from pretrain import modeling
from pretrain import serving_graph

SEQ = 16
TINY = {
    "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "intermediate_size": 16,
    "max_position_embeddings": 32, "type_vocab_size": 2,
    "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
}


def encoder_model_fn(features, labels, mode, params):
    """A tiny BERT whose outputs are named after their prediction keys."""
    del labels, params
    config = modeling.BertConfig.from_dict(TINY)
    model = serving_graph.ServingModel(config, features["input_ids"],
                                       features["input_mask"],
                                       features["segment_ids"])
    pooled = tf.identity(model.get_pooled_output(), name="pooled")
    first = tf.identity(model.get_sequence_output()[:, 0, :2], name="first")
    step = tf.train.get_or_create_global_step()
    if mode == tf.estimator.ModeKeys.TRAIN:
        return tf.estimator.EstimatorSpec(mode, loss=tf.reduce_sum(pooled),
                                          train_op=step.assign_add(1))
    return tf.estimator.EstimatorSpec(
        mode, predictions={"pooled": pooled, "first": first})


def random_features(count, seed=0):
    rng = np.random.RandomState(seed)
    result = []
    for _ in range(count):
        length = rng.randint(3, SEQ + 1)
        mask = np.array([1] * length + [0] * (SEQ - length), np.int32)
        result.append({
            "input_ids": rng.randint(1, TINY["vocab_size"], SEQ) * mask,
            "input_mask": mask,
            "segment_ids": (np.arange(SEQ) >= length // 2) * mask,
        })
    return result


def trained_encoder(model_dir):
    """The tiny encoder as an estimator trained for one step."""
    estimator = tf.estimator.Estimator(
        encoder_model_fn, model_dir=model_dir,
        config=tf.estimator.RunConfig(tf_random_seed=3))

    def train_input_fn():
        batch = {k: np.stack([f[k] for f in random_features(2)])
                 for k in export_util.DEFAULT_FEATURE_NAMES}
        return tf.data.Dataset.from_tensors(batch).repeat()

    estimator.train(train_input_fn, max_steps=1)
    return estimator


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A one-step-trained tiny estimator and its exports."""
    base = tmp_path_factory.mktemp("export")
    estimator = trained_encoder(str(base / "model"))
    paths = export_util.export_models(
        estimator,
        export_util.serving_input_receiver_fn_builder(SEQ),
        str(base / "export"),
        quantizations=tflite_util.QUANTIZATIONS,
        representative_features=random_features(32, seed=5),
        int8_outputs=True)
    return estimator, paths


def test_export_on_a_multi_worker_chief_ignores_the_cluster(
        exported, tmp_path, monkeypatch):
    """The chief of a multi-worker run exports with TF_CONFIG still set."""
    estimator, _ = exported
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 0}}))
    options = export_util.export_run_options(
        estimator_util.single_device_options(
            distribution_strategy="multi_worker"))
    paths = export_util.export_newest_checkpoint(
        encoder_model_fn, estimator.model_dir, options, SEQ,
        str(tmp_path / "export"), quantizations=())
    assert os.path.isdir(paths["saved_model_frozen"])
    assert os.environ["TF_CONFIG"]


def estimator_predictions(estimator, features):
    def input_fn():
        batch = {k: np.stack([f[k] for f in features])
                 for k in export_util.DEFAULT_FEATURE_NAMES}
        return tf.data.Dataset.from_tensors(batch)

    rows = list(estimator.predict(input_fn))
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def test_export_writes_all_models(exported):
    _, paths = exported
    assert os.path.isfile(os.path.join(paths["saved_model"], "saved_model.pb"))
    names = {key: os.path.basename(paths[key])
             for key in tflite_util.QUANTIZATIONS}
    # The published file names.
    assert names == {"float": "model_float.tflite",
                     "dynamic": "model_quant.tflite",
                     "int8": "model_int8.tflite"}
    for key in tflite_util.QUANTIZATIONS:
        assert os.path.getsize(paths[key]) > 0


def test_saved_model_signature(exported):
    _, paths = exported
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], paths["saved_model"])
    signature = meta.signature_def[graph_rewrites.SIGNATURE_KEY]
    assert set(signature.inputs) == set(export_util.DEFAULT_FEATURE_NAMES)
    for info in signature.inputs.values():
        assert info.dtype == tf.int32.as_datatype_enum
        assert [d.size for d in info.tensor_shape.dim] == [-1, SEQ]
    assert set(signature.outputs) == {"pooled", "first"}


def test_frozen_saved_model_has_no_variables_and_same_outputs(exported):
    estimator, paths = exported
    frozen = paths["saved_model_frozen"]
    # export_dir/frozen/<the SavedModel's timestamp>: servable by version.
    assert os.path.basename(frozen) == os.path.basename(paths["saved_model"])
    assert os.path.basename(os.path.dirname(frozen)) == "frozen"
    features = random_features(5, seed=4)
    expected = estimator_predictions(estimator, features)
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], frozen)
        ops = {op.type for op in graph.get_operations()}
        assert not ops & {"VariableV2", "VarHandleOp", "ReadVariableOp"}
        signature = meta.signature_def[graph_rewrites.SIGNATURE_KEY]
        assert set(signature.inputs) == set(export_util.DEFAULT_FEATURE_NAMES)
        assert set(signature.outputs) == {"pooled", "first"}
        outputs = sess.run(
            {k: v.name for k, v in signature.outputs.items()},
            {signature.inputs[k].name: np.stack([f[k] for f in features])
             for k in signature.inputs})
    for key, value in expected.items():
        np.testing.assert_allclose(outputs[key], value, atol=1e-6)


def test_float_tflite_matches_estimator(exported):
    estimator, paths = exported
    features = random_features(6, seed=1)
    expected = estimator_predictions(estimator, features)
    lite = tflite_util.run_tflite(paths["float"], features)
    assert set(lite) == {"pooled", "first"}
    for key in lite:
        assert lite[key].shape == expected[key].shape
        np.testing.assert_allclose(lite[key], expected[key], atol=1e-5)


def test_quantized_tflite_runs_and_is_close(exported):
    estimator, paths = exported
    features = random_features(4, seed=2)
    lite = tflite_util.run_tflite(paths["dynamic"], features)
    expected = estimator_predictions(estimator, features)
    assert lite["pooled"].shape == expected["pooled"].shape
    assert np.all(np.isfinite(lite["pooled"]))
    # int8 weights: close, not equal.
    np.testing.assert_allclose(lite["pooled"], expected["pooled"], atol=0.1)


def test_run_tflite_names_missing_input(exported):
    _, paths = exported
    features = random_features(1)
    del features[0]["segment_ids"]
    with pytest.raises(ValueError, match="segment_ids"):
        tflite_util.run_tflite(paths["float"], features)


def test_export_without_checkpoint_is_an_error(tmp_path):
    estimator = tf.estimator.Estimator(encoder_model_fn,
                                       model_dir=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="no checkpoint"):
        export_util.export_saved_model(
            estimator, export_util.serving_input_receiver_fn_builder(SEQ),
            str(tmp_path / "export"))


def test_guard_keeps_biases_and_guards_per_position_constants():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 4, 3], name="x")
        dense = tf.reshape(
            tf.matmul(tf.reshape(x, [-1, 3]), tf.ones([3, 3])), [-1, 4, 3])
        with_bias = tf.add(dense, tf.constant([1.0, 2.0, 3.0]), name="bias")
        table = tf.constant(np.arange(24, dtype=np.float32).reshape(8, 3))
        tf.add(with_bias, tf.expand_dims(table[:4], 0), name="position")
    rewritten = graph_rewrites.guard_constant_operands(graph.as_graph_def())
    nodes = {n.name: n for n in rewritten.node}
    assert nodes["position"].input[0] == "position/tflite_guard"
    assert nodes["position/tflite_guard"].op == "Maximum"
    assert "bias/tflite_guard" not in nodes
    value = np.random.RandomState(0).randn(2, 4, 3).astype(np.float32)
    with tf.Session(graph=graph) as sess:
        expected = sess.run("position:0", {"x:0": value})
    with tf.Graph().as_default() as new_graph:
        tf.import_graph_def(rewritten, name="")
        with tf.Session(graph=new_graph) as sess:
            actual = sess.run("position:0", {"x:0": value})
    np.testing.assert_array_equal(expected, actual)


STUDENT = dict(TINY, embedding_size=8, intra_bottleneck_size=8,
               use_bottleneck=True, num_feedforward_networks=2,
               normalization_type="no_norm", hidden_act="relu")


def student_saved_model(export_dir, row_groups=1, **fields):
    """A tiny student's SavedModel (output `sequence`), biases not zero.

    Returns:
      The output for features `random_features(3, seed=2)`.
    """
    config = modeling.BertConfig.from_dict(dict(STUDENT, **fields))
    features = random_features(3, seed=2)
    with tf.Graph().as_default():
        inputs = {
            name: tf.placeholder(tf.int32, [None, SEQ], name=name)
            for name in export_util.DEFAULT_FEATURE_NAMES
        }
        model = serving_graph.ServingModel(
            config, inputs["input_ids"], inputs["input_mask"],
            inputs["segment_ids"],
            options=serving_graph.serving_options(row_groups))
        output = tf.identity(model.get_sequence_output(), name="sequence")
        rng = np.random.RandomState(1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for variable in tf.global_variables():
                if variable.op.name.endswith("bias"):
                    variable.load(rng.randn(*variable.shape.as_list()),
                                  sess)
            tf.saved_model.simple_save(sess, export_dir, inputs,
                                       {"sequence": output})
            return sess.run(output, {
                inputs[k]: np.stack([f[k] for f in features])
                for k in inputs
            })


def frozen_sequence(frozen_dir):
    """(Output of the frozen SavedModel for random_features(3, seed=2),
    {op type: count}, {constant name: shape})."""
    features = random_features(3, seed=2)
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], frozen_dir)
        signature = meta.signature_def[graph_rewrites.SIGNATURE_KEY]
        output = sess.run(signature.outputs["sequence"].name, {
            signature.inputs[k].name: np.stack([f[k] for f in features])
            for k in signature.inputs
        })
        operations = graph.get_operations()
    counts = collections.Counter(op.type for op in operations)
    constants = {op.name: op.outputs[0].shape.as_list()
                 for op in operations if op.type == "Const"}
    return output, counts, constants


@pytest.mark.parametrize("fields, row_groups, tables", [
    ({"trigram_input": True}, 1, ("next", "current", "previous")),
    ({"trigram_input": True}, 2, ("next", "current", "previous")),
    ({}, 1, ("current",)),
])
def test_frozen_student_reads_projected_words_from_tables(
        tmp_path, fields, row_groups, tables):
    expected = student_saved_model(str(tmp_path / "saved"), row_groups,
                                   **fields)
    plain, plain_counts, _ = frozen_sequence(
        graph_rewrites.write_frozen_saved_model(
            str(tmp_path / "saved"), str(tmp_path / "plain"),
            precompute_word_projection=False))
    output, counts, constants = frozen_sequence(
        graph_rewrites.write_frozen_saved_model(str(tmp_path / "saved"),
                                             str(tmp_path / "frozen")))
    np.testing.assert_allclose(plain, expected, atol=1e-6)
    np.testing.assert_allclose(output, expected, atol=1e-5)
    # One MatMul per row group fewer; the tables replace table and kernel.
    assert counts["MatMul"] == plain_counts["MatMul"] - row_groups
    hidden, vocab = STUDENT["hidden_size"], STUDENT["vocab_size"]
    lookup = "bert/embeddings/projection_lookup/"
    assert {name: shape for name, shape in constants.items()
            if shape and shape[0] >= vocab} == {
                lookup + name: [vocab + (name != "current"), hidden]
                for name in tables}
    assert "bert/embeddings/embedding_transformation/kernel" not in constants
    assert "bert/embeddings/word_embeddings" not in constants


def test_teacher_graph_has_no_projection_to_precompute():
    with tf.Graph().as_default() as graph:
        ids = tf.placeholder(tf.int32, [None, SEQ], name="input_ids")
        serving_graph.ServingModel(modeling.BertConfig.from_dict(TINY), ids)
    graph_def = graph.as_graph_def()
    assert graph_rewrites.precompute_word_projections(
        graph_def, ["bert/pooler/dense/Tanh"]) is graph_def


def test_unfrozen_projection_is_named():
    with tf.Graph().as_default() as graph:
        ids = tf.placeholder(tf.int32, [None, SEQ], name="input_ids")
        model = serving_graph.ServingModel(
            modeling.BertConfig.from_dict(dict(STUDENT, trigram_input=True)),
            ids)
        name = model.get_sequence_output().op.name
    with pytest.raises(ValueError,
                       match="no constant bert/embeddings/word_embeddings"):
        graph_rewrites.precompute_word_projections(graph.as_graph_def(),
                                                [name])


def test_int8_model_has_int8_tensors_and_outputs(exported):
    estimator, paths = exported
    summary = tflite_util.model_summary(paths["int8"], with_violations=True)
    kinds = [d["dtype"] for d in summary["tensors"]]
    # Besides int8 activations and weights: int32 biases, shapes and ids;
    # float only on the attention mask before it is quantized.
    assert kinds.count("int8") > 0.6 * len(kinds)
    assert kinds.count("float32") <= 3
    assert summary["violations"] == []
    assert [d["dtype"] for d in summary["outputs"]] == ["int8", "int8"]
    assert [d["dtype"] for d in summary["inputs"]] == ["int32"] * 3
    features = random_features(4, seed=2)
    lite = tflite_util.run_tflite(paths["int8"], features)  # Dequantized.
    expected = estimator_predictions(estimator, features)
    assert lite["pooled"].dtype == np.float32
    np.testing.assert_allclose(lite["pooled"], expected["pooled"], atol=0.15)


def test_float_model_is_not_integer(exported):
    _, paths = exported
    summary = tflite_util.model_summary(paths["float"], with_violations=True)
    assert summary["violations"]


@pytest.mark.parametrize("features, message", [
    ([], "representative set is empty"),
    (random_features(2)[:1] + [{"input_ids": [1] * (SEQ - 1),
                                "input_mask": [1] * (SEQ - 1),
                                "segment_ids": [0] * (SEQ - 1)}],
     "example 1 has input_ids of length 15, the model takes 16"),
])
def test_bad_representative_set_is_named(exported, tmp_path, features,
                                         message):
    _, paths = exported
    with pytest.raises(ValueError, match=message):
        tflite_util.convert_to_tflite(paths["saved_model"],
                                      str(tmp_path / "m.tflite"), "int8",
                                      representative_features=features)


def test_unknown_quantization_is_named(exported, tmp_path):
    _, paths = exported
    with pytest.raises(ValueError, match="quantization must be one of"):
        tflite_util.convert_to_tflite(paths["saved_model"],
                                      str(tmp_path / "m.tflite"), "int4")
