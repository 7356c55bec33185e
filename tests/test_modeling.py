"""Model tests: golden parity, the variable contract, configs, checkpoints."""
import contextlib
import glob
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import checkpoints
from pretrain import modeling
from pretrain import quantization
from pretrain import serving_graph
from conftest import GOLDEN_DIR, REPO, VARIABLES_DIR

PUBLISHED = ("student_base_f2", "student_base_f4", "student_large_f2",
             "student_large_f4", "roberta_wwm_ext", "roberta_wwm_large_ext")


def repo_config(name):
    """BertConfig of config/<name>.json."""
    return modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", name + ".json"))


def build_with_head(config,
                    input_ids,
                    input_mask,
                    token_type_ids,
                    positions,
                    use_einsum=True,
                    row_groups=None):
    """The model and its MLM logits: modeling's graph (row_groups None) or
    the serving graph with that many row groups (and the published mask
    adder, which the golden scores include)."""
    if row_groups is None:
        model = modeling.BertModel(config, False, input_ids, input_mask,
                                   token_type_ids, use_einsum=use_einsum)
    else:
        options = serving_graph.GraphOptions(
            use_einsum=use_einsum, mask_adder=modeling.MASK_ADDER,
            row_groups=row_groups)
        model = serving_graph.ServingModel(config, input_ids, input_mask,
                                           token_type_ids, options)
    logits = modeling.masked_lm_logits(config, model.get_sequence_output(),
                                       model.get_embedding_table(), positions)
    return model, logits


def golden_names():
    return sorted(
        os.path.basename(p)[:-4]
        for p in glob.glob(os.path.join(GOLDEN_DIR, "*.npz")))


def test_golden_files_present():
    assert len(golden_names()) == 4


@pytest.mark.parametrize("row_groups", [None, 1, 3])
@pytest.mark.parametrize("use_einsum", [True, False])
@pytest.mark.parametrize("name", golden_names())
def test_golden_parity(name, use_einsum, row_groups):
    """Every output of the published implementation, to 1e-5.

    For modeling's graph (row_groups None) and the serving graph: with one
    row group (joint projections) and with three (uneven ones for these
    lengths: the layers run group by group on the same variables).
    """
    config = modeling.BertConfig.from_json_file(
        os.path.join(GOLDEN_DIR, name + ".json"))
    data = np.load(os.path.join(GOLDEN_DIR, name + ".npz"))
    weights = {
        k[len("var/"):]: data[k]
        for k in data.files if k.startswith("var/")
    }
    with tf.Graph().as_default():
        inputs = [
            tf.constant(data["input/" + k])
            for k in ("input_ids", "input_mask", "token_type_ids",
                      "masked_lm_positions")
        ]
        model, logits = build_with_head(config, *inputs,
                                        use_einsum=use_einsum,
                                        row_groups=row_groups)
        graph_vars = {v.name[:-2]: v for v in tf.global_variables()}
        assert sorted(graph_vars) == sorted(weights)
        fetches = {
            "word_embedding_output": model.get_word_embedding_output(),
            "embedding_output": model.get_embedding_output(),
            "pooled_output": model.get_pooled_output(),
            "mlm_logits": logits,
        }
        for i, layer in enumerate(model.get_all_encoder_layers()):
            fetches["encoder_layer_%d" % i] = layer
        for i, scores in enumerate(model.get_all_attention_scores()):
            fetches["attention_scores_%d" % i] = scores
        with tf.Session() as sess:
            for vname, var in graph_vars.items():
                var.load(weights[vname], sess)
            outputs = sess.run(fetches)
    expected = {
        k[len("output/"):]
        for k in data.files if k.startswith("output/")
    }
    assert set(outputs) == expected
    for key, value in outputs.items():
        np.testing.assert_allclose(value,
                                   data["output/" + key],
                                   rtol=0,
                                   atol=1e-5,
                                   err_msg=key)


def read_variable_file(name):
    path = os.path.join(VARIABLES_DIR, name + ".variables.txt")
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    total = int(header.split(",")[1].split()[0])
    shapes = [(n, [int(d) for d in s.split(",")]) for n, s in rows]
    return shapes, total


@pytest.mark.parametrize("row_groups", [None, 2])
@pytest.mark.parametrize("name", PUBLISHED)
def test_variable_contract(name, row_groups):
    """The published variables, in order, in modeling's graph and in the
    serving graph (whose row groups share them)."""
    expected, total = read_variable_file(name)
    config = repo_config(name)
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, [None, 128])
        positions = tf.placeholder(tf.int32, [None, 20])
        build_with_head(config, ids, ids, ids, positions,
                        row_groups=row_groups)
        actual = [(v.name[:-2], v.shape.as_list())
                  for v in tf.global_variables()]
        assert modeling.count_parameters(tf.global_variables()) == total
    assert actual == expected


@pytest.mark.parametrize("row_groups,fake_quantized,seq_length,message", [
    (0, False, 8, "positive integer"),
    (2.0, False, 8, "positive integer"),
    (2, True, 8, "fake-quantized graphs need row_groups=1"),
    (9, False, 8, "static sequence length of at least 9"),
    (2, False, None, "static sequence length"),
])
def test_bad_row_groups_rejected(row_groups, fake_quantized, seq_length,
                                 message):
    config = repo_config("tiny_student_f2")
    scope = (quantization.fake_quantization(False) if fake_quantized
             else contextlib.suppress())
    with tf.Graph().as_default(), scope:
        ids = tf.placeholder(tf.int32, [1, seq_length])
        with pytest.raises(ValueError, match=message):
            serving_graph.ServingModel(
                config, ids,
                options=serving_graph.serving_options(row_groups))


def variable_read_by(tensor):
    """Name of the variable that `tensor` reads (through reads and
    identities)."""
    op = tensor.op
    while op.type in ("Identity", "ReadVariableOp"):
        op = op.inputs[0].op
    return op.name


@pytest.mark.parametrize("row_groups,rows", [(1, [8]), (2, [4, 4]),
                                             (3, [3, 3, 2])])
def test_row_groups_split_the_embedding_projection(row_groups, rows):
    """A student's projection of the trigram embeddings to the hidden width
    is one MatMul per row group, all on the one kernel."""
    config = repo_config("tiny_student_f2")
    with tf.Graph().as_default() as graph:
        ids = tf.placeholder(tf.int32, [1, 8])
        serving_graph.ServingModel(
            config, ids, options=serving_graph.serving_options(row_groups))
        kernel = "bert/embeddings/embedding_transformation/kernel"
        projections = [
            op for op in graph.get_operations() if op.type == "MatMul"
            and variable_read_by(op.inputs[1]) == kernel
        ]
    assert [op.inputs[0].shape.as_list() for op in projections] == [
        [n, 3 * config.embedding_size] for n in rows
    ]


def test_group_lengths_are_even_and_cover_the_sequence():
    assert serving_graph.group_lengths(128, 1) == [128]
    assert serving_graph.group_lengths(128, 2) == [64, 64]
    assert serving_graph.group_lengths(128, 3) == [43, 43, 42]
    assert serving_graph.group_lengths(5, 5) == [1, 1, 1, 1, 1]


def test_published_parameter_totals():
    totals = {n: read_variable_file(n)[1] for n in PUBLISHED}
    assert totals["student_base_f2"] == 26260424
    assert totals["roberta_wwm_large_ext"] == 326595208


def test_einsum_matmul_and_serving_mask_agree_on_padded_batch():
    """The export graph (matmuls, SERVING_MASK_ADDER) computes the same."""

    def build(ids, mask, use_einsum, serving):
        if serving:
            return serving_graph.ServingModel(config, ids, mask)
        return modeling.BertModel(config, False, ids, mask,
                                  use_einsum=use_einsum)

    config = repo_config("tiny_student_f4")
    rng = np.random.RandomState(0)
    ids = rng.randint(0, config.vocab_size, size=(2, 9)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    outputs = []
    weights = None
    for use_einsum, serving in ((True, False), (False, False),
                                (False, True)):
        with tf.Graph().as_default():
            model = build(tf.constant(ids), tf.constant(mask), use_einsum,
                          serving)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                if weights is None:
                    weights = {
                        v.name: sess.run(v)
                        for v in tf.global_variables()
                    }
                else:
                    for v in tf.global_variables():
                        v.load(weights[v.name], sess)
                outputs.append(sess.run(model.get_sequence_output()))
    assert np.abs(outputs[0]).max() > 1e-2
    for output in outputs[1:]:
        np.testing.assert_allclose(outputs[0], output, atol=1e-5)


BASE = {
    "vocab_size": 100,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64
}


@pytest.mark.parametrize("change,field", [
    ({
        "num_attention_heads": 5
    }, "num_attention_heads"),
    ({
        "use_bottleneck": True,
        "intra_bottleneck_size": 18
    }, "num_attention_heads"),
    ({
        "hidden_act": "sigmoidish"
    }, "hidden_act"),
    ({
        "normalization_type": "batch_norm"
    }, "normalization_type"),
    ({
        "hidden_size": 0
    }, "hidden_size"),
    ({
        "vocab_size": -3
    }, "vocab_size"),
    ({
        "intermediate_size": 0
    }, "intermediate_size"),
    ({
        "num_feedforward_networks": 0
    }, "num_feedforward_networks"),
    ({
        "hidden_dropout_prob": 1.5
    }, "hidden_dropout_prob"),
])
def test_bad_config_names_field(change, field):
    with pytest.raises(ValueError, match=field):
        modeling.BertConfig.from_dict(dict(BASE, **change))


def test_bad_config_file_names_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(dict(BASE, num_attention_heads=7)))
    with pytest.raises(ValueError, match="bad.json.*num_attention_heads"):
        modeling.BertConfig.from_json_file(str(path))


def test_seq_length_longer_than_positions_rejected():
    config = modeling.BertConfig.from_dict(
        dict(BASE, max_position_embeddings=64))
    config.check_seq_length(64)
    with pytest.raises(ValueError, match="max_seq_length"):
        config.check_seq_length(65)


def test_teacher_config_extra_keys_ignored_and_roundtrip():
    config = repo_config("roberta_wwm_ext")
    assert config.hidden_size == 768 and config.embedding_size == 768
    again = modeling.BertConfig.from_dict(json.loads(config.to_json_string()))
    assert again.to_dict() == config.to_dict()


def build_on_zeros(config):
    """Model and masked-LM head on a [1, 8] batch of zeros (default graph)."""
    return build_with_head(config, tf.zeros([1, 8], tf.int32), None, None,
                           tf.zeros([1, 2], tf.int32))


def _save_plain_teacher(tmp_path, config):
    """Writes a plain BERT checkpoint (no prefix) with random weights."""
    with tf.Graph().as_default():
        build_on_zeros(config)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = {v.name[:-2]: sess.run(v) for v in tf.global_variables()}
            path = tf.train.Saver().save(sess, str(tmp_path / "teacher.ckpt"))
    return path, values


def test_teacher_and_student_restore_from_plain_checkpoint(tmp_path):
    teacher_config = repo_config("tiny_teacher")
    student_config = repo_config("tiny_student_f2")
    ckpt, values = _save_plain_teacher(tmp_path, teacher_config)
    with tf.Graph().as_default():
        build_on_zeros(student_config)
        with tf.variable_scope("teacher"):
            build_on_zeros(teacher_config)
        tvars = tf.global_variables()
        teacher = checkpoints.teacher_assignment(tvars, ckpt + ".index")
        student = checkpoints.non_encoder_assignment(tvars, ckpt)
        assert not teacher.missing and not teacher.shape_mismatches
        assert len(teacher.assignment_map) == len(values)
        assert set(student.assignment_map) == {
            "bert/embeddings/word_embeddings",
            "bert/embeddings/token_type_embeddings",
            "bert/embeddings/position_embeddings",
            "cls/predictions/transform/dense/kernel",
            "cls/predictions/transform/dense/bias",
            "cls/predictions/transform/LayerNorm/beta",
            "cls/predictions/transform/LayerNorm/gamma",
            "cls/predictions/output_bias"
        }
        # Student embedding norm is FakeLayerNorm; the teacher has LayerNorm.
        assert "bert/embeddings/FakeLayerNorm/gamma" in student.missing
        tf.train.init_from_checkpoint(ckpt, teacher.assignment_map)
        tf.train.init_from_checkpoint(ckpt, student.assignment_map)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph = {v.name[:-2]: v for v in tvars}
            for name, value in values.items():
                np.testing.assert_array_equal(
                    sess.run(graph["teacher/" + name]), value)
            np.testing.assert_array_equal(
                sess.run(graph["bert/embeddings/word_embeddings"]),
                values["bert/embeddings/word_embeddings"])


def test_shape_mismatch_reported_by_name(tmp_path):
    teacher_config = repo_config("tiny_teacher")
    ckpt, _ = _save_plain_teacher(tmp_path, teacher_config)
    wider = modeling.BertConfig.from_dict(
        dict(teacher_config.to_dict(), max_position_embeddings=256))
    with tf.Graph().as_default():
        build_on_zeros(wider)
        match = checkpoints.plain_assignment(tf.global_variables(), ckpt)
    assert [m[0] for m in match.shape_mismatches
            ] == ["bert/embeddings/position_embeddings"]
    assert "bert/embeddings/position_embeddings" not in match.assignment_map
    assert "256" in checkpoints.describe_mismatches(match)[0]


def test_resolve_checkpoint_accepts_suffixes_and_dirs(tmp_path):
    teacher_config = repo_config("tiny_teacher")
    ckpt, _ = _save_plain_teacher(tmp_path, teacher_config)
    assert checkpoints.resolve_checkpoint(ckpt + ".index") == ckpt
    data_file = ckpt + ".data-00000-of-00001"
    assert checkpoints.resolve_checkpoint(data_file) == ckpt
    assert checkpoints.resolve_checkpoint(str(tmp_path)) == ckpt
    with pytest.raises(ValueError, match="no checkpoint"):
        checkpoints.resolve_checkpoint(str(tmp_path / "nothing.ckpt"))


def test_restore_by_name_initialises_from_checkpoint(tmp_path):
    teacher_config = repo_config("tiny_teacher")
    ckpt, values = _save_plain_teacher(tmp_path, teacher_config)
    with tf.Graph().as_default():
        build_on_zeros(teacher_config)
        head = tf.get_variable("output_weights", [2, 64])
        assert checkpoints.restore_by_name(ckpt, use_tpu=False) is None
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph = {v.name[:-2]: v for v in tf.global_variables()}
            for name, value in values.items():
                np.testing.assert_array_equal(sess.run(graph[name]), value)
            assert sess.run(head).shape == (2, 64)


def test_restore_by_name_lists_mismatched_names(tmp_path):
    teacher_config = repo_config("tiny_teacher")
    ckpt, _ = _save_plain_teacher(tmp_path, teacher_config)
    wider = modeling.BertConfig.from_dict(
        dict(teacher_config.to_dict(), type_vocab_size=3))
    with tf.Graph().as_default():
        build_on_zeros(wider)
        with pytest.raises(ValueError,
                           match="token_type_embeddings: graph shape"):
            checkpoints.restore_by_name(ckpt, use_tpu=False)


def test_resolve_checkpoint_without_state_file_takes_highest_step(tmp_path):
    for step in (200, 1000, 30):
        for suffix in (".index", ".data-00000-of-00001"):
            (tmp_path / ("model.ckpt-%d%s" % (step, suffix))).write_bytes(b"")
    assert checkpoints.resolve_checkpoint(str(tmp_path)) == str(
        tmp_path / "model.ckpt-1000")
