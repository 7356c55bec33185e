"""Conversion from transformers: parity, layout, round trips, refusals.

Random tiny transformers models (every parameter random, norms around 1)
are built and saved with `save_pretrained` by tests/hf_models.py in the
PyTorch environment (.venv-tf2), together with transformers' outputs on
CMRC 2018 text; the TF side converts the folders and runs our graph.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import model_folder
from pretrain import modeling
from scripts import convert_from_pytorch
from scripts import convert_to_pytorch
from scripts import export_checkpoint
from scripts import transformers_format
from conftest import REPO, TESTDATA, VOCAB, run_ok
from test_convert_to_pytorch import TAGS, build_random_checkpoint, config_dict
from test_run_pretraining import make_example

CMRC_DEV = os.path.join(TESTDATA, "cmrc2018", "cmrc2018_dev_head.json")
HF_MODELS = os.path.join(REPO, "tests", "hf_models.py")
SCRIPT = os.path.join(REPO, "scripts", "convert_from_pytorch.py")
ATOL = 1e-4
SEQ_LENGTH = 48

# Written as a transformers user writes them (their defaults apply to the
# fields left out), not through our mapping.
TEACHER = {
    "model_type": "bert", "vocab_size": 21128, "hidden_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 128, "hidden_act": "gelu_new",
    "max_position_embeddings": 128,
}
# config/tiny_student_f2.json in transformers' terms: its defaults turn on
# key_query_shared_bottleneck (unused next to use_bottleneck_attention).
STUDENT_F2 = {
    "model_type": "mobilebert", "vocab_size": 21128, "hidden_size": 64,
    "embedding_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "intra_bottleneck_size": 32,
    "use_bottleneck_attention": True, "num_feedforward_networks": 2,
    "max_position_embeddings": 128, "classifier_activation": False,
}
# f4 style: shared query/key bottleneck, 4 FFNs, E < H, with a pooler.
STUDENT_F4 = {
    "model_type": "mobilebert", "vocab_size": 21128, "hidden_size": 64,
    "embedding_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "intra_bottleneck_size": 32,
    "max_position_embeddings": 128,
}
BOTH = ["safetensors", "bin"]
# name: (transformers class, config, formats; the first one is float32
# safetensors, the reference). Classifier heads are covered by the round
# trip below (their mapping is checked against transformers in
# test_convert_to_pytorch.py).
MODELS = {
    "teacher": ("BertForPreTraining", TEACHER, BOTH + ["float16"]),
    "student_f2": ("MobileBertForPreTraining", STUDENT_F2, BOTH),
    "student_f4": ("MobileBertForPreTraining", STUDENT_F4, BOTH),
    # ...ForQuestionAnswering has no pooler.
    "teacher_squad": ("BertForQuestionAnswering", TEACHER, ["safetensors"]),
}
HEADS = {
    "teacher": ["mlm"], "student_f2": ["mlm"], "student_f4": ["mlm"],
    "teacher_squad": ["squad"],
}


def real_texts(count=4):
    """Pairs of CMRC 2018 passage pieces (two segments per row)."""
    with open(CMRC_DEV, encoding="utf-8") as f:
        data = json.load(f)["data"]
    contexts = [p["context"] for d in data for p in d["paragraphs"]]
    return [[c[:20], c[20:60]] for c in contexts[:count]]


@pytest.fixture(scope="module")
def hf_root(tmp_path_factory, torch_python):
    """The transformers folders and references, built in .venv-tf2."""
    root = str(tmp_path_factory.mktemp("hf"))
    texts = os.path.join(root, "texts.json")
    with open(texts, "w", encoding="utf-8") as f:
        json.dump(real_texts(), f, ensure_ascii=False)
    spec = {
        "root": root, "vocab": VOCAB, "texts": texts,
        "seq_length": SEQ_LENGTH,
        "models": [{"name": name, "class": cls, "config": config,
                    "seed": i, "formats": formats}
                   for i, (name, (cls, config, formats))
                   in enumerate(sorted(MODELS.items()))],
    }
    spec_path = os.path.join(root, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    run_ok([torch_python, HF_MODELS, spec_path])
    return root


@pytest.fixture(scope="module")
def converted(hf_root, torch_python):
    """{(name, format): convert_folder summary} of every saved folder."""
    out = {}
    for name, (_, _, formats) in MODELS.items():
        for fmt in formats:
            out[name, fmt] = convert_from_pytorch.convert_folder(
                os.path.join(hf_root, name, fmt),
                os.path.join(hf_root, "release", fmt, name),
                torch_python=torch_python)
    return out


def checkpoint_values(prefix):
    reader = tf.train.NewCheckpointReader(prefix)
    return {n: reader.get_tensor(n)
            for n in reader.get_variable_to_shape_map()}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_outputs_match_transformers_on_real_text(name, hf_root, converted):
    summary = converted[name, "safetensors"]
    reference_path = os.path.join(hf_root, name + ".npz")
    diffs, ok = convert_from_pytorch.compare_outputs(summary, reference_path,
                                                     ATOL)
    config = modeling.BertConfig.from_json_file(summary["config_file"])
    hidden = [k for k in diffs if k.startswith("output/hidden_states_")]
    assert len(hidden) == config.num_hidden_layers + 1
    assert summary["heads"] == HEADS[name]
    expected = {"mlm": ["output/mlm_logits",
                        "output/mlm_logits@ForPreTraining"],
                "squad": ["output/squad_start_logits",
                          "output/squad_end_logits"]}[HEADS[name][0]]
    assert set(expected) <= set(diffs)
    print("%s: max abs diff %.3g" % (name, max(diffs.values())))
    assert ok, diffs
    # Real text, and outputs far from zero: the comparison means something.
    reference = np.load(reference_path)
    ids = reference["input/input_ids"]
    assert (ids > 670).sum() > 100  # CJK characters, not specials
    assert reference["input/token_type_ids"].max() == 1
    last = reference["output/hidden_states_%d" % config.num_hidden_layers]
    assert np.abs(last).max() > 0.5


@pytest.mark.parametrize("name", sorted(n for n in MODELS
                                        if "bin" in MODELS[n][2]))
@pytest.mark.slow
def test_both_weight_formats_give_the_same_checkpoint(name, converted):
    from_safetensors = checkpoint_values(
        converted[name, "safetensors"]["checkpoint"])
    from_bin = checkpoint_values(converted[name, "bin"]["checkpoint"])
    assert sorted(from_bin) == sorted(from_safetensors)
    for variable, value in from_safetensors.items():
        assert from_bin[variable].dtype == np.float32
        np.testing.assert_array_equal(from_bin[variable], value,
                                      err_msg=variable)
    # The .bin keeps the tied decoder copies; they were checked and left out.
    dropped = converted[name, "bin"]["dropped"]
    assert sorted(dropped[convert_from_pytorch.DROP_TIED]) == [
        "cls.predictions.decoder.bias", "cls.predictions.decoder.weight"]


@pytest.mark.slow
def test_float16_weights_are_cast_and_reported(converted):
    full = checkpoint_values(converted["teacher", "safetensors"]["checkpoint"])
    half = checkpoint_values(converted["teacher", "float16"]["checkpoint"])
    for variable, value in full.items():
        np.testing.assert_array_equal(
            half[variable], value.astype(np.float16).astype(np.float32))
    report = converted["teacher", "float16"]["report"]
    assert any(re.match(r"Cast to float32: \d+ float16 tensors", line)
               for line in report)


@pytest.mark.slow
def test_bfloat16_tensors_read_exactly(hf_root):
    tensors = transformers_format.SafetensorsFile(
        os.path.join(hf_root, "bf16.safetensors"))
    value = tensors["x"]
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value,
                                  np.load(os.path.join(hf_root, "bf16.npy")))
    np.testing.assert_array_equal(tensors["y"], np.ones([3], np.float32))


@pytest.mark.slow
def test_release_folders_have_the_published_layout(hf_root, converted):
    teacher_dir = os.path.dirname(converted["teacher", "bin"]["checkpoint"])
    assert sorted(os.listdir(teacher_dir)) == [
        "bert_config.json", "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index", "vocab.txt"]
    student_dir = os.path.dirname(
        converted["student_f2", "safetensors"]["checkpoint"])
    assert sorted(os.listdir(student_dir)) == [
        "mobilebert.ckpt.data-00000-of-00001", "mobilebert.ckpt.index",
        "student_f2.json", "vocab.txt"]
    # The folders are what the run scripts (model_folder.py) and
    # export_checkpoint accept.
    for directory in (teacher_dir, student_dir):
        assert model_folder.find_checkpoint(directory).startswith(
            os.path.join(directory, "bert_model.ckpt" if directory ==
                         teacher_dir else "mobilebert.ckpt"))
        inputs = export_checkpoint.find_release_inputs(directory)
        config = modeling.BertConfig.from_json_file(inputs.bert_config_file)
        selection = export_checkpoint.select_model_variables(
            dict(tf.train.list_variables(inputs.checkpoint)), config,
            inputs.checkpoint)
        assert selection.heads == ["mlm"]
        assert not any(selection.dropped.values())
    # transformers' MobileBERT defaults were applied, not ours: the student
    # is exactly config/tiny_student_f2.json.
    student = modeling.BertConfig.from_json_file(
        os.path.join(student_dir, "student_f2.json"))
    assert student.to_dict() == modeling.BertConfig.from_dict(
        config_dict("tiny_student_f2")).to_dict()
    teacher = modeling.BertConfig.from_json_file(
        os.path.join(teacher_dir, "bert_config.json"))
    assert teacher.to_dict() == modeling.BertConfig.from_dict(
        config_dict("tiny_teacher")).to_dict()
    with open(os.path.join(teacher_dir, "bert_config.json")) as f:
        assert "trigram_input" not in json.load(f)


@pytest.mark.slow
def test_dropped_and_initialised_tensors_are_reported(converted):
    f2 = converted["student_f2", "safetensors"]
    assert sorted(f2["dropped"][convert_from_pytorch.DROP_NSP]) == [
        "cls.seq_relationship.bias", "cls.seq_relationship.weight"]
    assert f2["dropped"][convert_from_pytorch.DROP_EMPTY] == [
        "cls.predictions.dense.weight"]
    assert len(f2["dropped"][convert_from_pytorch.DROP_UNUSED]) == 2 * 4
    assert any(w.startswith("key_query_shared_bottleneck") for w in
               f2["warnings"])
    squad = converted["teacher_squad", "safetensors"]
    assert sorted(squad["fresh"]) == ["bert/pooler/dense/bias",
                                      "bert/pooler/dense/kernel"]
    assert any(line.startswith("Initialised here") for line in
               squad["report"])
    assert "cls/squad/output_weights" in squad["variables"]
    f4 = converted["student_f4", "safetensors"]
    assert "cls/predictions/extra_output_weights" in f4["variables"]
    assert not f4["fresh"] and not f4["warnings"]


@pytest.mark.slow
def test_command_line_compares_with_transformers(hf_root, tmp_path):
    result = run_ok([
        sys.executable, SCRIPT,
        "--input_dir", os.path.join(hf_root, "student_f4", "safetensors"),
        "--output_dir", str(tmp_path / "mobilebert_tiny_f4"),
        "--compare_npz", os.path.join(hf_root, "student_f4.npz")
    ])
    assert "Dropped next-sentence head (cls.seq_relationship)" in (
        result.stdout)
    assert re.search(r"Compared with .*: OK, max abs diff", result.stdout)
    assert os.path.exists(str(tmp_path / "mobilebert_tiny_f4" /
                              "mobilebert_tiny_f4.json"))
    # A bad folder ends with one line naming it.
    failed = subprocess.run(
        [sys.executable, SCRIPT, "--input_dir", str(tmp_path),
         "--output_dir", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, check=False)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "ERROR: %s: no config.json (expected a transformers save_pretrained "
        "folder)" % tmp_path)


@pytest.mark.slow
def test_converted_teacher_drives_layer_wise_transfer(converted, tmp_path):
    """Two layer-wise transfer steps of run_pretraining.py, teacher = the
    converted folder; it restores every teacher variable from there."""
    teacher_dir = os.path.dirname(converted["teacher", "bin"]["checkpoint"])
    data = str(tmp_path / "train.tfrecord")
    rng = np.random.RandomState(0)
    with tf.io.TFRecordWriter(data) as writer:
        for _ in range(16):
            writer.write(make_example(rng).SerializeToString())
    out = tmp_path / "student"
    log = run_ok([
        sys.executable, os.path.join(REPO, "pretrain", "run_pretraining.py"),
        "--bert_config_file=%s" % os.path.join(
            REPO, "config", "tiny_student_f2.json"),
        "--bert_teacher_config_file=%s" % os.path.join(
            teacher_dir, "bert_config.json"),
        "--init_checkpoint=%s" % teacher_dir,
        "--input_file=%s" % data, "--output_dir=%s" % out,
        "--max_seq_length=32", "--max_predictions_per_seq=5",
        "--train_batch_size=4", "--iterations_per_loop=2",
        "--do_train", "--layer_wise_warmup", "--num_distill_steps=2",
        "--hidden_distill_factor=100", "--attention_distill_factor=1",
        "--beta_distill_factor=5000", "--gamma_distill_factor=5",
        "--num_train_steps=0", "--save_checkpoints_steps=2",
    ], merge_stderr=True, cwd=REPO).stdout
    assert "Not restored" not in log
    teacher = checkpoint_values(converted["teacher", "bin"]["checkpoint"])
    latest = tf.train.latest_checkpoint(str(out / "warmup"))
    student = checkpoint_values(latest)
    assert int(student["global_step"]) == 2
    for name, value in teacher.items():
        if name.startswith("bert/"):
            np.testing.assert_array_equal(student["teacher/" + name], value,
                                          err_msg=name)


# The round trip starts from our checkpoint of the student with the most
# parts: f4, shared query/key bottleneck, E < H (extra output weights), MLM
# and classifier heads; and a tagger (run_ner.py's cls/ner head, whose
# transformers name `classifier` it shares with the sentence classifier).
# (The teacher's and the span head's mapping is checked in both directions
# against transformers' outputs.)
ROUND_TRIPS = {
    "student_f4_e32": (dict(config_dict("tiny_student_f4"),
                            embedding_size=32), ("mlm", "classifier")),
    "student_f2_ner": (config_dict("tiny_student_f2"), ("ner",)),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_tf_to_pytorch_to_tf_is_bit_identical(name, tmp_path):
    config_json, heads = ROUND_TRIPS[name]
    # A folder in the published layout: checkpoint, one *.json, vocab.txt.
    release = str(tmp_path / "tf")
    os.makedirs(release)
    prefix = build_random_checkpoint(config_json, heads, release, False,
                                     seed=3)
    with open(os.path.join(release, name + ".json"), "w") as f:
        json.dump(config_json, f)
    shutil.copy(VOCAB, os.path.join(release, "vocab.txt"))
    if "ner" in heads:
        with open(os.path.join(release, "label_list.txt"), "w") as f:
            f.write("\n".join(TAGS) + "\n")
    hf_dir = str(tmp_path / "hf")
    convert_to_pytorch.convert_release(release, hf_dir)
    back = convert_from_pytorch.convert_folder(hf_dir,
                                               str(tmp_path / name))
    original = checkpoint_values(prefix)
    again = checkpoint_values(back["checkpoint"])
    assert sorted(again) == sorted(original)
    for variable, value in original.items():
        assert again[variable].dtype == value.dtype
        np.testing.assert_array_equal(again[variable], value,
                                      err_msg=variable)
    assert back["heads"] == list(heads)
    assert modeling.BertConfig.from_json_file(
        back["config_file"]).to_dict() == modeling.BertConfig.from_dict(
            config_json).to_dict()
    # Our tanh GELU went out as gelu_new and came back without a warning.
    assert back["warnings"] == []
    if "ner" in heads:  # The tags came back for run_ner.py to read.
        with open(os.path.join(str(tmp_path / name), "label_list.txt")) as f:
            assert f.read().split() == TAGS


def hf_json(base, **changes):
    return dict(base, **changes)


@pytest.mark.parametrize("config, field", [
    (hf_json(TEACHER, model_type="roberta"), "model_type"),
    (hf_json(TEACHER, layer_norm_eps=1e-5), "layer_norm_eps"),
    (hf_json(TEACHER, position_embedding_type="relative_key"),
     "position_embedding_type"),
    (hf_json(TEACHER, is_decoder=True), "is_decoder"),
    (hf_json(TEACHER, tie_word_embeddings=False), "tie_word_embeddings"),
    (hf_json(TEACHER, hidden_act="silu"), "hidden_act"),
    (hf_json(STUDENT_F4, normalization_type="layer_norm"),
     "normalization_type"),
    (hf_json(STUDENT_F4, key_query_shared_bottleneck=False),
     "use_bottleneck"),
])
def test_configs_we_cannot_compute_are_refused_by_name(config, field):
    with pytest.raises(ValueError, match=r"config.json: %s: " % field):
        transformers_format.config_from_hf(config)


def test_exact_gelu_is_converted_with_its_difference_stated():
    kind, ours, warnings = transformers_format.config_from_hf(
        hf_json(TEACHER, hidden_act="gelu"))
    assert (kind, ours["hidden_act"]) == ("bert", "gelu")
    gap, where = transformers_format.erf_gelu_gap()
    assert 4.6e-4 < gap < 4.8e-4 and 2.6 < where < 2.8
    assert len(warnings) == 1 and "%.2g" % gap in warnings[0]
    assert "hidden_act" in warnings[0]


@pytest.mark.slow
def test_defaults_are_those_of_transformers(hf_root):
    with open(os.path.join(hf_root, "defaults.json")) as f:
        installed = json.load(f)
    for kind, defaults in transformers_format.HF_DEFAULTS.items():
        for field, value in defaults.items():
            assert installed[kind][field] == value, (kind, field)


@pytest.mark.slow
def test_unexpected_missing_and_untied_tensors_are_errors(hf_root):
    tensors = dict(transformers_format.SafetensorsFile(
        os.path.join(hf_root, "teacher", "safetensors",
                     transformers_format.WEIGHTS_FILE)))
    config = modeling.BertConfig.from_dict(config_dict("tiny_teacher"))

    def plan(state):
        names = convert_from_pytorch.canonical_names(list(state), "bert")
        return convert_from_pytorch.plan_variables(config, "bert", state,
                                                   names), names

    extra = dict(tensors, **{"bert.encoder.layer.0.adapter.weight":
                             np.zeros([2], np.float32)})
    with pytest.raises(ValueError, match=r"(?s)Not part of the model \(1\)"
                       r".*bert.encoder.layer.0.adapter.weight"):
        plan(extra)
    lacking = {k: v for k, v in tensors.items()
               if k != "bert.encoder.layer.1.output.dense.weight"}
    with pytest.raises(ValueError, match=r"(?s)Missing \(1\).*"
                       r"bert.encoder.layer.1.output.dense.weight \(for "
                       r"bert/encoder/layer_1/output/dense/kernel\)"):
        plan(lacking)
    untied = dict(tensors, **{"cls.predictions.decoder.weight": tensors[
        "bert.embeddings.word_embeddings.weight"] + 1.0})
    untied_plan, names = plan(untied)
    with pytest.raises(ValueError, match="cls.predictions.decoder.weight "
                       "differs from embeddings.word_embeddings.weight"):
        convert_from_pytorch.variable_values(untied_plan, untied, names,
                                             config, seed=0)
    # Old-style names (no base prefix, LayerNorm gamma/beta) are renamed.
    renamed = convert_from_pytorch.canonical_names(
        ["embeddings.LayerNorm.gamma", "cls.predictions.bias"], "bert")
    assert list(renamed) == ["bert.embeddings.LayerNorm.weight",
                             "cls.predictions.bias"]


def test_safetensors_round_trip_and_errors_name_the_culprit(tmp_path):
    path = str(tmp_path / "model.safetensors")
    values = {"w": np.arange(6, dtype=np.float32).reshape(2, 3),
              "ids": np.array([7, 8], np.int64)}
    plan = [("w", [2, 3], np.dtype("float32")),
            ("ids", [2], np.dtype("int64"))]
    transformers_format.write_safetensors(path, plan, values.get)
    tensors = transformers_format.SafetensorsFile(path)
    assert sorted(tensors) == ["ids", "w"]
    for name, value in values.items():
        assert tensors[name].dtype == value.dtype
        np.testing.assert_array_equal(tensors[name], value)
    with pytest.raises(ValueError, match=r"w: expected shape \[3, 2\]"):
        transformers_format.write_safetensors(
            path, [("w", [3, 2], np.dtype("float32"))], values.get)
    junk = str(tmp_path / "junk.safetensors")
    with open(junk, "wb") as f:
        f.write(b"<html>not weights</html>")
    with pytest.raises(ValueError, match=re.escape(junk) +
                       ": not a safetensors file"):
        transformers_format.SafetensorsFile(junk)


def test_safetensors_paths_that_are_not_local_are_copied():
    path = "ram://safetensors_test/model.safetensors"
    try:
        tf.io.gfile.makedirs(os.path.dirname(path))
    except tf.errors.OpError:  # TF 1.15 has no ram:// file system
        pytest.skip("no ram:// file system in TensorFlow %s" %
                    tf.__version__)
    value = np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(2, 4)
    transformers_format.write_safetensors(
        path, [("x", [2, 4], np.dtype("float32"))], {"x": value}.get)
    np.testing.assert_array_equal(
        transformers_format.SafetensorsFile(path)["x"], value)
