"""Tests of scripts/export_checkpoint.py on a stage-3-like checkpoint.

The fixture builds what pretraining writes: a tiny student with its MLM
head, a tiny teacher under `teacher/`, AdamW slots from
`optimization.create_optimizer`, `global_step` and a distillation-only
variable, after one real training step.
"""
import json
import os
import shutil
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import checkpoints
from pretrain import modeling
from pretrain import optimization
from scripts import export_checkpoint
from conftest import REPO, VOCAB, run_ok

STUDENT_CONFIG = os.path.join(REPO, "config", "tiny_student_f2.json")
TEACHER_CONFIG = os.path.join(REPO, "config", "tiny_teacher.json")
SEQ_LENGTH = 16
DISTILL_ONLY = "distill/layer_gates"


def make_inputs(seed=0, batch_size=2):
    """Deterministic int32 model inputs with padding in the second row."""
    rng = np.random.RandomState(seed)
    input_ids = rng.randint(100, 8000, size=[batch_size, SEQ_LENGTH])
    input_mask = np.ones([batch_size, SEQ_LENGTH], np.int32)
    input_mask[1, SEQ_LENGTH - 5:] = 0
    token_type_ids = np.zeros([batch_size, SEQ_LENGTH], np.int32)
    token_type_ids[:, SEQ_LENGTH // 2:] = 1
    positions = np.array([[1, 4, 7]] * batch_size, np.int32)
    return [
        x.astype(np.int32)
        for x in (input_ids, input_mask, token_type_ids, positions)
    ]


def student_outputs(config, inputs):
    """Builds the student graph on `inputs`: (model, mlm logits)."""
    input_ids, input_mask, token_type_ids, positions = [
        tf.constant(x) for x in inputs
    ]
    model = modeling.BertModel(config, False, input_ids, input_mask,
                               token_type_ids)
    logits = modeling.masked_lm_logits(config, model.get_sequence_output(),
                                       model.get_embedding_table(),
                                       positions)
    return model, logits


def build_stage3_checkpoint(output_dir):
    """One distillation training step, saved like run_pretraining does."""
    student_config = modeling.BertConfig.from_json_file(STUDENT_CONFIG)
    teacher_config = modeling.BertConfig.from_json_file(TEACHER_CONFIG)
    inputs = make_inputs(seed=1)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        input_ids, input_mask, token_type_ids, positions = [
            tf.constant(x) for x in inputs
        ]
        student = modeling.BertModel(student_config, True, input_ids,
                                     input_mask, token_type_ids)
        logits = modeling.masked_lm_logits(student_config,
                                           student.get_sequence_output(),
                                           student.get_embedding_table(),
                                           positions)
        with tf.variable_scope("teacher"):
            teacher = modeling.BertModel(teacher_config, False, input_ids,
                                         input_mask, token_type_ids)
            teacher_logits = modeling.masked_lm_logits(
                teacher_config, teacher.get_sequence_output(),
                teacher.get_embedding_table(), positions)
        gates = tf.get_variable(DISTILL_ONLY, [2],
                                initializer=tf.ones_initializer(),
                                trainable=False)
        targets = tf.stop_gradient(tf.nn.softmax(teacher_logits))
        loss = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits_v2(
                labels=targets, logits=logits)) * tf.reduce_sum(gates) / 2.0
        train_op, _ = optimization.create_optimizer(loss, 1e-3, 10, 1, False)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(train_op)
            prefix = tf.train.Saver().save(session,
                                           os.path.join(output_dir,
                                                        "model.ckpt"),
                                           global_step=1)
    return prefix


@pytest.fixture(scope="module")
def stage3(tmp_path_factory):
    """(checkpoint prefix, its directory) of a stage-3-like output."""
    output_dir = str(tmp_path_factory.mktemp("pretrain_output"))
    return build_stage3_checkpoint(output_dir), output_dir


@pytest.fixture(scope="module")
def cli_export(stage3, tmp_path_factory):
    """Runs the command line on the stage-3 directory: (stdout, out dir)."""
    out = str(tmp_path_factory.mktemp("release"))
    command = [
        sys.executable,
        os.path.join(REPO, "scripts", "export_checkpoint.py"), "--input",
        stage3[1], "--bert_config_file", STUDENT_CONFIG, "--vocab_file",
        VOCAB, "--output_dir", out
    ]
    return run_ok(command).stdout, out


@pytest.mark.slow
def test_export_keeps_exactly_the_student_graph(stage3, cli_export):
    _, out = cli_export
    exported = dict(tf.train.list_variables(os.path.join(out, "model.ckpt")))
    graph = export_checkpoint.model_variable_shapes(
        modeling.BertConfig.from_json_file(STUDENT_CONFIG))
    assert {n: list(s) for n, s in exported.items()} == dict(graph)
    source = dict(tf.train.list_variables(stage3[0]))
    assert any(n.startswith("teacher/") for n in source)
    assert any(n.endswith("/adam_m") for n in source)
    assert "global_step" in source and DISTILL_ONLY in source
    for name in exported:
        assert not name.startswith("teacher/")
        assert not name.endswith(("/adam_m", "/adam_v"))
        assert name not in ("global_step", DISTILL_ONLY)
    assert sorted(os.listdir(out)) == sorted([
        "bert_config.json", "checkpoint", "model.ckpt.data-00000-of-00001",
        "model.ckpt.index", "vocab.txt"
    ])
    with open(os.path.join(out, "vocab.txt"), "rb") as a, open(VOCAB,
                                                               "rb") as b:
        assert a.read() == b.read()


@pytest.mark.slow
def test_export_reports_dropped_groups_and_sizes(stage3, cli_export):
    stdout, out = cli_export
    source = dict(tf.train.list_variables(stage3[0]))
    teacher = [n for n in source if n.startswith("teacher/")]
    slots = [n for n in source if n.endswith(("/adam_m", "/adam_v"))]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["dropped"] == {
        export_checkpoint.DROP_TEACHER: len(teacher),
        export_checkpoint.DROP_OPTIMIZER: len(slots),
        export_checkpoint.DROP_STEP: 1,
        export_checkpoint.DROP_OTHER: 1,
    }
    assert ("Dropped %s: %d variables" %
            (export_checkpoint.DROP_TEACHER, len(teacher))) in stdout
    assert "    " + DISTILL_ONLY in stdout.splitlines()
    assert "    " + teacher[0] in stdout.splitlines()
    after = sum(
        os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
        if f.startswith("model.ckpt."))
    assert summary["size_after"] == after
    # The student is a small part of student + teacher + two Adam moments.
    assert summary["size_after"] * 4 < summary["size_before"]
    assert "Size before:" in stdout and "Size after:" in stdout


def restored_student_outputs(config, checkpoint, inputs):
    """Every encoder layer and the MLM logits of a student restored by name
    from `checkpoint` (only the student's variables are read)."""
    with tf.Graph().as_default():
        model, logits = student_outputs(config, inputs)
        match = checkpoints.plain_assignment(tf.global_variables(), checkpoint)
        assert not match.missing and not match.shape_mismatches
        tf.train.init_from_checkpoint(checkpoint, match.assignment_map)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            return session.run(model.get_all_encoder_layers() + [logits])


def assert_identical_outputs(config, original, exported):
    inputs = make_inputs(seed=2)
    before = restored_student_outputs(config, original, inputs)
    after = restored_student_outputs(config, exported, inputs)
    assert len(before) == config.num_hidden_layers + 2
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert np.abs(before[-1]).max() > 0


@pytest.mark.slow
def test_exported_checkpoint_restores_with_identical_outputs(stage3,
                                                             cli_export):
    assert_identical_outputs(
        modeling.BertConfig.from_json_file(STUDENT_CONFIG), stage3[0],
        os.path.join(cli_export[1], "model.ckpt"))


@pytest.mark.slow
def test_published_layout_needs_no_config_or_vocab_flags(
        stage3, tmp_path):
    published = tmp_path / "chinese_mobilebert_base_f2"
    published.mkdir()
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(stage3[0] + suffix,
                    str(published / ("mobilebert.ckpt" + suffix)))
    shutil.copy(STUDENT_CONFIG, str(published / "mobilebert_config.json"))
    shutil.copy(VOCAB, str(published / "vocab.txt"))
    inputs = export_checkpoint.find_release_inputs(str(published))
    assert inputs.checkpoint == str(published / "mobilebert.ckpt")
    assert inputs.bert_config_file == str(published /
                                          "mobilebert_config.json")
    summary = export_checkpoint.export_release(inputs, str(tmp_path / "out"))
    assert summary["heads"] == ["mlm"]
    assert len(summary["dropped"][export_checkpoint.DROP_TEACHER]) > 0

    (published / "other_config.json").write_text("{}")
    with pytest.raises(ValueError, match="expected one model config \\*.json, "
                       "found mobilebert_config.json, other_config.json"):
        export_checkpoint.find_release_inputs(str(published))


@pytest.mark.slow
def test_index_suffix_is_accepted(stage3):
    inputs = export_checkpoint.find_release_inputs(stage3[0] + ".index",
                                                   STUDENT_CONFIG, VOCAB)
    assert inputs.checkpoint == stage3[0]


@pytest.mark.slow
def test_wrong_config_lists_missing_and_mismatched_variables(stage3):
    f4 = modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", "tiny_student_f4.json"))
    shapes = dict(tf.train.list_variables(stage3[0]))
    with pytest.raises(ValueError) as error:
        export_checkpoint.select_model_variables(shapes, f4, stage3[0])
    message = str(error.value)
    assert "Missing (" in message
    assert "bert/encoder/layer_0/ffn_layer_2/intermediate/dense/kernel" in (
        message)
    assert "bert/encoder/layer_0/attention/self/value/kernel: " in message

    student = modeling.BertConfig.from_json_file(STUDENT_CONFIG)
    partial = dict(shapes)
    del partial["cls/predictions/output_bias"]
    with pytest.raises(ValueError, match="cls/predictions/output_bias"):
        export_checkpoint.select_model_variables(partial, student, "x")


def test_task_heads_are_kept_and_checked():
    student = modeling.BertConfig.from_json_file(STUDENT_CONFIG)
    encoder = {
        n: s
        for n, s in export_checkpoint.model_variable_shapes(student).items()
        if not n.startswith("cls/predictions/")
    }
    fine_tuned = dict(encoder)
    fine_tuned.update({
        "output_weights": [3, 64],
        "output_bias": [3],
        "cls/squad/output_weights": [2, 64],
        "cls/squad/output_bias": [2],
        "output_weights/adam_m": [3, 64],
    })
    selection = export_checkpoint.select_model_variables(
        fine_tuned, student)
    assert selection.heads == ["classifier", "squad"]
    assert list(selection.kept)[-4:] == [
        "output_weights", "output_bias", "cls/squad/output_weights",
        "cls/squad/output_bias"
    ]
    assert selection.dropped[export_checkpoint.DROP_OPTIMIZER] == [
        "output_weights/adam_m"
    ]

    broken = dict(fine_tuned, **{"cls/squad/output_weights": [3, 64]})
    with pytest.raises(ValueError, match=r"squad head: expected"):
        export_checkpoint.select_model_variables(broken, student)
    lonely = dict(encoder, output_weights=[3, 64])
    with pytest.raises(ValueError, match="not output_bias"):
        export_checkpoint.select_model_variables(lonely, student)


@pytest.mark.slow
def test_vocab_that_does_not_fit_the_config_is_rejected(stage3, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    inputs = export_checkpoint.find_release_inputs(stage3[0], STUDENT_CONFIG,
                                                   str(vocab))
    with pytest.raises(ValueError, match="has 5 tokens but .* vocab_size "
                       "21128"):
        export_checkpoint.export_release(inputs, str(tmp_path / "out"))


@pytest.mark.slow
def test_directory_without_vocab_names_the_flag(stage3):
    with pytest.raises(ValueError, match=r"no vocab.txt .*pass the vocabulary "
                       r"explicitly \(VOCAB= / --vocab_file\)"):
        export_checkpoint.find_release_inputs(stage3[1], STUDENT_CONFIG)


def pretraining_record(rng, num_predictions=3):
    """One TFRecord example in create_pretraining_data.py's format."""
    length = SEQ_LENGTH - rng.randint(0, 4)
    ids = [101] + list(rng.randint(672, 8000, size=length - 2)) + [102]
    positions = sorted(rng.choice(np.arange(1, length - 1), num_predictions,
                                  replace=False))
    labels = [ids[p] for p in positions]
    for p in positions:
        ids[p] = 103  # [MASK]
    pad = [0] * (SEQ_LENGTH - length)
    ints = {
        "input_ids": ids + pad,
        "input_mask": [1] * length + pad,
        "segment_ids": [0] * length + pad,
        "masked_lm_positions": positions,
        "masked_lm_ids": labels,
        "next_sentence_labels": [0],
    }
    feature = {
        k: tf.train.Feature(int64_list=tf.train.Int64List(
            value=[int(x) for x in v])) for k, v in ints.items()
    }
    feature["masked_lm_weights"] = tf.train.Feature(
        float_list=tf.train.FloatList(value=[1.0] * num_predictions))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def random_teacher_checkpoint(directory):
    """A tiny teacher checkpoint in the plain BERT layout (bert/, cls/)."""
    config = modeling.BertConfig.from_json_file(TEACHER_CONFIG)
    with tf.Graph().as_default():
        student_outputs(config, make_inputs(seed=3))
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            return tf.train.Saver().save(
                session, os.path.join(directory, "bert_model.ckpt"))


@pytest.fixture(scope="module")
def real_stage3(tmp_path_factory):
    """Output directory of pretrain/run_pretraining.py: two distillation
    steps of the tiny f2 student against a tiny teacher."""
    root = tmp_path_factory.mktemp("run_pretraining")
    rng = np.random.RandomState(4)
    records = str(root / "train.tfrecord")
    with tf.io.TFRecordWriter(records) as writer:
        for _ in range(16):
            writer.write(pretraining_record(rng).SerializeToString())
    output_dir = str(root / "output")
    command = [
        sys.executable,
        os.path.join(REPO, "pretrain", "run_pretraining.py"),
        "--bert_config_file=" + STUDENT_CONFIG,
        "--bert_teacher_config_file=" + TEACHER_CONFIG,
        "--init_checkpoint=" + random_teacher_checkpoint(str(root)),
        "--input_file=" + records, "--output_dir=" + output_dir,
        "--max_seq_length=%d" % SEQ_LENGTH, "--max_predictions_per_seq=3",
        "--do_train", "--train_batch_size=4", "--num_train_steps=2",
        "--num_warmup_steps=0", "--save_checkpoints_steps=2",
        "--iterations_per_loop=2", "--distill_ground_truth_ratio=0.5",
        "--learning_rate=1e-3"
    ]
    run_ok(command, merge_stderr=True)
    return output_dir


@pytest.mark.slow
def test_export_of_a_real_run_pretraining_output(real_stage3, tmp_path):
    inputs = export_checkpoint.find_release_inputs(real_stage3,
                                                   STUDENT_CONFIG, VOCAB)
    assert inputs.checkpoint.endswith("model.ckpt-2")
    summary = export_checkpoint.export_release(inputs, str(tmp_path))
    dropped = summary["dropped"]
    assert len(dropped[export_checkpoint.DROP_TEACHER]) > 0
    assert len(dropped[export_checkpoint.DROP_OPTIMIZER]) > 0
    assert dropped[export_checkpoint.DROP_STEP] == ["global_step"]
    config = modeling.BertConfig.from_json_file(STUDENT_CONFIG)
    exported = dict(tf.train.list_variables(summary["checkpoint"]))
    graph = export_checkpoint.model_variable_shapes(config)
    assert {n: list(s) for n, s in exported.items()} == dict(graph)
    assert summary["size_after"] < summary["size_before"]
    assert_identical_outputs(config, inputs.checkpoint, summary["checkpoint"])
