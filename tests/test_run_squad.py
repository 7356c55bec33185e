# coding=utf-8
"""End-to-end tests of finetune/run_squad.py and the run.*.sh scripts.

Every run goes through the command line in a subprocess, as a user runs it:
a tiny MobileBERT is trained on a slice of the CMRC 2018 trial set and
predicts a slice of the dev set.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, SQUAD_SLICES, VOCAB
from finetune import cmrc2018_evaluate
from finetune import export_util
from finetune import onnx_export
from finetune import tflite_util

RUN_SQUAD = os.path.join(REPO, "finetune", "run_squad.py")
SCRIPTS = [
    os.path.join(REPO, "finetune", "run.cmrc2018.sh"),
    os.path.join(REPO, "finetune", "run.drcd.sh"),
]
CMRC_TRIAL, CMRC_DEV = SQUAD_SLICES[:2]
TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.1,
    "classifier_activation": False,
    "embedding_size": 32,
    "hidden_act": "relu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 64,
    "intermediate_size": 64,
    "intra_bottleneck_size": 32,
    "max_position_embeddings": 128,
    "normalization_type": "no_norm",
    "num_attention_heads": 4,
    "num_feedforward_networks": 2,
    "num_hidden_layers": 2,
    "trigram_input": True,
    "type_vocab_size": 2,
    "use_bottleneck": True,
    "use_bottleneck_attention": True,
    "vocab_size": 21128,
}
SMALL_RUN = [
    "--max_seq_length=128", "--doc_stride=64", "--max_query_length=32",
    "--train_batch_size=8", "--predict_batch_size=16",
    "--learning_rate=1e-3", "--log_every_steps=5"
]
PREDICT_QUESTIONS = 10
# Epochs count questions (as BERT's run_squad.py); the trial contexts give
# about 7 windows per question at length 128, so 14 epochs train about as
# many steps as two passes over the windows.
TRAIN_EPOCHS = 14


def run(args, cwd=REPO, env=None):
    """Runs a command; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    full_env.update(env or {})
    return subprocess.run(args, cwd=cwd, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=1200)


def slice_dataset(source, num_paragraphs, path, extra_question=None):
    """Writes the first paragraphs of `source` (one article) to `path`."""
    with open(source, encoding="utf-8") as reader:
        dataset = json.load(reader)
    paragraphs = [p for a in dataset["data"] for p in a["paragraphs"]]
    paragraphs = json.loads(json.dumps(paragraphs[:num_paragraphs]))
    if extra_question:
        paragraphs[0]["qas"].append(extra_question)
    with open(path, "w", encoding="utf-8") as writer:
        json.dump({"data": [{"paragraphs": paragraphs}]}, writer,
                  ensure_ascii=False)
    return path


def predict_slice(path):
    """The first dev paragraphs holding PREDICT_QUESTIONS questions."""
    slice_dataset(CMRC_DEV, 3,
                  path)
    return path


def question_contexts(path):
    """{question id: context} of a squad-style file."""
    with open(path, encoding="utf-8") as reader:
        dataset = json.load(reader)
    return {
        q["id"]: p["context"] for a in dataset["data"]
        for p in a["paragraphs"] for q in p["qas"]
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny config, a train slice with one unfindable answer, a dev slice."""
    root = tmp_path_factory.mktemp("squad")
    config = str(root / "tiny_config.json")
    with open(config, "w") as writer:
        json.dump(TINY_CONFIG, writer)
    absent = {"id": "ABSENT_ANSWER", "question": u"不存在的答案？",
              "answers": [{"text": u"这段文字不在上下文里",
                           "answer_start": 3}]}
    train = slice_dataset(
        CMRC_TRIAL, 6,
        str(root / "train.json"), absent)
    return {"root": root, "config": config, "train": train,
            "predict": predict_slice(str(root / "dev.json"))}


@pytest.fixture(scope="module")
def trained(files):
    """Trains, predicts and exports through the script once."""
    output_dir = str(files["root"] / "out")
    export_dir = str(files["root"] / "export")
    proc = run([
        sys.executable, RUN_SQUAD, "--bert_config_file=" + files["config"],
        "--vocab_file=" + VOCAB, "--do_train", "--train_file=" +
        files["train"], "--do_predict", "--predict_file=" + files["predict"],
        "--num_train_epochs=%d" % TRAIN_EPOCHS, "--output_dir=" + output_dir,
        "--export_dir=" + export_dir, "--export_quantization=int8",
        "--representative_examples=16", "--serving_row_groups=2"
    ] + SMALL_RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"proc": proc, "output_dir": output_dir, "export_dir": export_dir}


def read_json(path):
    with open(path, encoding="utf-8") as reader:
        return json.load(reader)


@pytest.mark.slow
def test_predictions_cover_every_question(files, trained):
    predictions = read_json(
        os.path.join(trained["output_dir"], "predictions.json"))
    contexts = question_contexts(files["predict"])
    assert len(contexts) == PREDICT_QUESTIONS
    assert set(predictions) == set(contexts)
    for qas_id, text in predictions.items():
        assert text and text in contexts[qas_id]


@pytest.mark.slow
def test_nbest_lists_are_consistent(trained):
    output_dir = trained["output_dir"]
    predictions = read_json(os.path.join(output_dir, "predictions.json"))
    nbest = read_json(os.path.join(output_dir, "nbest_predictions.json"))
    assert set(nbest) == set(predictions)
    for qas_id, entries in nbest.items():
        assert 1 <= len(entries) <= 20
        assert entries[0]["text"] == predictions[qas_id]
        assert abs(sum(e["probability"] for e in entries) - 1.0) < 1e-4
        scores = [e["start_logit"] + e["end_logit"] for e in entries]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_metric_is_printed_and_written(files, trained):
    printed = [
        json.loads(line) for line in trained["proc"].stdout.splitlines()
        if line.startswith("{") and "AVERAGE" in line
    ]
    assert len(printed) == 1
    written = read_json(os.path.join(trained["output_dir"],
                                     "eval_results.json"))
    assert written == printed[0]
    assert written["TOTAL"] == PREDICT_QUESTIONS and written["SKIP"] == 0
    recomputed = cmrc2018_evaluate.evaluate_files(
        files["predict"], os.path.join(trained["output_dir"],
                                       "predictions.json"))
    assert recomputed["F1"] == written["F1"]
    assert recomputed["EM"] == written["EM"]


@pytest.mark.slow
def test_training_logs_progress_and_dropped_answer(trained):
    log = trained["proc"].stderr
    assert re.search(r"step \d+ learning_rate=\S+ loss=\S+ examples/sec=",
                     log)
    assert "answers_dropped=1" in log
    assert "ABSENT_ANSWER" in log


@pytest.mark.slow
def test_epochs_are_counted_in_questions_as_published(trained):
    """num_train_steps = int(questions / batch * epochs), not windows."""
    log = trained["proc"].stderr
    match = re.search(r"Training on (\d+) questions in (\d+) windows", log)
    questions, windows = int(match.group(1)), int(match.group(2))
    assert windows > questions  # Long contexts give several windows.
    batch = int(re.search(r"--train_batch_size=(\d+)",
                          " ".join(SMALL_RUN)).group(1))
    steps = int(questions / batch * TRAIN_EPOCHS)
    assert re.search(r"%d questions, batch size %d, %d steps" %
                     (questions, batch, steps), log)
    step = tf.train.load_variable(trained["output_dir"], "global_step")
    assert step == steps


@pytest.mark.slow
def test_checkpoint_holds_the_span_head(trained):
    variables = dict(tf.train.list_variables(trained["output_dir"]))
    assert variables["cls/squad/output_weights"] == [2, 64]
    assert variables["cls/squad/output_bias"] == [2]
    assert "bert/embeddings/word_embeddings" in variables


def saved_model_matmuls(directory):
    """The number of MatMul ops in a SavedModel's graph."""
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING], directory)
        return sum(op.type == "MatMul" for op in graph.get_operations())


@pytest.mark.slow
def test_export_savedmodel_and_tflite_agree(trained):
    """The SavedModel has two row groups, the TFLite model one: same logits."""
    export_root = trained["export_dir"]
    saved = [d for d in os.listdir(export_root) if d.isdigit()]
    assert len(saved) == 1
    lite_source = os.listdir(os.path.join(export_root, "lite"))
    assert len(lite_source) == 1
    # Each group runs every encoder MatMul; embeddings and head run once.
    served = saved_model_matmuls(os.path.join(export_root, saved[0]))
    single = saved_model_matmuls(
        os.path.join(export_root, "lite", lite_source[0]))
    assert served > 1.5 * single
    float_path = os.path.join(export_root, tflite_util.TFLITE_NAMES["float"])
    assert os.path.getsize(float_path) > 0
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING],
            os.path.join(export_root, saved[0]))
        signature = meta.signature_def["serving_default"]
        assert set(signature.inputs) == {
            "input_ids", "input_mask", "segment_ids"
        }
        assert set(signature.outputs) == {"start_logits", "end_logits"}
        ops = {op.type for op in sess.graph.get_operations()}
        assert "Einsum" not in ops
        example = {
            "input_ids": [101, 1962, 102, 3300, 102] + [0] * 123,
            "input_mask": [1] * 5 + [0] * 123,
            "segment_ids": [0, 0, 0, 1, 1] + [0] * 123,
        }
        feed = {signature.inputs[name].name: [example[name]]
                for name in example}
        start, end = sess.run([signature.outputs["start_logits"].name,
                               signature.outputs["end_logits"].name], feed)
    assert start.shape == end.shape == (1, 128)
    lite = tflite_util.run_tflite(float_path, [example])
    assert np.allclose(lite["start_logits"], start, atol=1e-4)
    assert np.allclose(lite["end_logits"], end, atol=1e-4)


@pytest.mark.slow
def test_int8_export_scores_with_the_cmrc_metric(trained):
    with open(os.path.join(trained["export_dir"],
                           export_util.VERIFICATION_FILE)) as f:
        report = json.load(f)
    assert set(report) == {"float", "int8"}
    with open(os.path.join(trained["output_dir"], "eval_results.json")) as f:
        estimator = json.load(f)
    # The float TFLite model scores as the estimator does.
    assert "%.3f" % report["float"]["f1"] == estimator["F1"]
    assert "%.3f" % report["float"]["em"] == estimator["EM"]
    int8 = report["int8"]
    assert 0.0 <= int8["em"] <= int8["f1"] <= 100.0
    assert int8["questions"] == report["float"]["questions"] > 0
    assert 0.0 <= int8["answer_agreement_with_float"] <= 1.0
    assert int8["size_bytes"] < report["float"]["size_bytes"]
    assert tflite_util.model_summary(
        os.path.join(trained["export_dir"], tflite_util.TFLITE_NAMES["int8"]),
        with_violations=True)["violations"] == []


@pytest.mark.slow
@pytest.mark.skipif(not (onnx_export.has_onnx_runtime() or os.path.isfile(
    tflite_util.DEFAULT_CONVERTER_PYTHON)), reason="needs the modern stack "
    "(tf2onnx, onnxruntime)")
def test_onnx_export_of_a_row_group_graph_is_verified(files, trained):
    from finetune import run_squad
    export_dir = str(files["root"] / "onnx_export")
    proc = run([
        sys.executable, RUN_SQUAD, "--bert_config_file=" + files["config"],
        "--vocab_file=" + VOCAB, "--predict_file=" + files["predict"],
        "--output_dir=" + trained["output_dir"], "--export_dir=" + export_dir,
        "--export_onnx", "--serving_row_groups=2",
        "--onnx_model_path=" + os.path.join(export_dir, "model_int8.onnx")
    ] + SMALL_RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(export_dir, export_util.VERIFICATION_FILE)) as f:
        report = json.load(f)
    assert set(report) == {"float", "onnx_float", "onnx_int8"}
    onnx_float, int8 = report["onnx_float"], report["onnx_int8"]
    assert onnx_float["max_difference_from_saved_model"] <= 1e-4
    assert onnx_float["answer_agreement_with_float"] == 1.0
    assert onnx_float["f1"] == report["float"]["f1"]
    assert 0.0 <= int8["em"] <= int8["f1"] <= 100.0
    assert int8["questions"] == report["float"]["questions"]
    with open(os.path.join(trained["output_dir"],
                           run_squad.ONNX_EVAL_RESULTS_FILE)) as f:
        scored = json.load(f)
    assert scored["F1"] == "%.3f" % int8["f1"]


@pytest.mark.slow
def test_script_predicts_from_index_file_in_any_directory(
        files, trained, tmp_path):
    """run.cmrc2018.sh from another directory, extra flags overriding its
    defaults, restores `model.ckpt-N.index` and reproduces the predictions;
    a predict file without answers gets predictions but no metric."""
    checkpoint = tf.train.latest_checkpoint(trained["output_dir"])
    output_dir = str(tmp_path / "script_out")
    unanswered = str(tmp_path / "questions_only.json")
    dataset = read_json(files["predict"])
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for question in paragraph["qas"]:
                del question["answers"]
    with open(unanswered, "w", encoding="utf-8") as writer:
        json.dump(dataset, writer, ensure_ascii=False)
    proc = run(["bash", SCRIPTS[0], "--do_train=false"] + SMALL_RUN,
               cwd=str(tmp_path),
               env={
                   "DATA_DIR": str(tmp_path / "unused"),
                   "PREDICT_FILE": unanswered,
                   "BERT_CONFIG": files["config"],
                   "VOCAB": VOCAB,
                   "INIT_CKPT": checkpoint + ".index",
                   "OUTPUT_DIR": output_dir,
                   "PYTHON": sys.executable,
               })
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "INIT_FROM_CKPT" in proc.stderr
    assert read_json(os.path.join(output_dir, "predictions.json")) == \
        read_json(os.path.join(trained["output_dir"], "predictions.json"))
    assert "questions without answers: no metric" in proc.stderr
    assert not os.path.exists(os.path.join(output_dir, "eval_results.json"))


@pytest.fixture(scope="module")
def defined_flags():
    """Names of every flag run_squad.py accepts, from --helpfull."""
    proc = run([sys.executable, RUN_SQUAD, "--helpfull"])
    return set(re.findall(r"^\s+--(?:\[no\])?([A-Za-z_0-9]+):",
                          proc.stdout, re.M))


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_flags_are_defined_and_hyper_parameters_published(
        script, defined_flags):
    with open(script) as reader:
        text = reader.read()
    assert "set -euo pipefail" in text
    assert re.search(r"^run_squad_task ", text, re.M)
    # The flags themselves live in the shared run_squad_task.
    with open(os.path.join(REPO, "finetune", "common.sh")) as reader:
        common = reader.read()
    start = common.index("run_squad_task() {")
    text += common[start:common.index("\n}\n", start)]
    passed = set(re.findall(r"--([a-z_]+)=", text))
    missing = passed - defined_flags
    assert not missing, "%s passes undefined flags %s" % (script, missing)
    for setting in ("--learning_rate=3e-5", "--num_train_epochs=2",
                    "--train_batch_size=32", "--max_seq_length=512",
                    "--doc_stride=128"):
        assert setting in text


def test_script_without_data_dir_explains(tmp_path):
    proc = run(["bash", SCRIPTS[1]], cwd=str(tmp_path),
               env={"DATA_DIR": ""})
    assert proc.returncode != 0
    assert "DATA_DIR" in proc.stderr


def last_error_line(proc):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1]


@pytest.mark.parametrize("content, message", [
    ({"version": "v1"}, 'expected a JSON object with a "data" key'),
    ({"data": [{"paragraphs": [{"context": u"上下文", "qas": [
        {"question": u"问题？",
         "answers": [{"text": u"上下", "answer_start": 0}]}]}]}]},
     'article 0, paragraph 0, question 0: question has no "id"'),
])
@pytest.mark.slow
def test_bad_training_file_fails_before_tensorflow(files, tmp_path, content,
                                                   message):
    bad = str(tmp_path / "bad.json")
    with open(bad, "w", encoding="utf-8") as writer:
        json.dump(content, writer, ensure_ascii=False)
    proc = run([
        sys.executable, RUN_SQUAD, "--bert_config_file=" + files["config"],
        "--vocab_file=" + VOCAB, "--do_train", "--train_file=" + bad,
        "--output_dir=" + str(tmp_path / "out")
    ] + SMALL_RUN)
    assert proc.returncode != 0
    error = last_error_line(proc)
    assert error.startswith("ERROR: " + bad)
    assert message in error
    assert not os.path.exists(str(tmp_path / "out" / "train.tf_record"))


@pytest.mark.parametrize("extra,message", [
    (["--serving_row_groups=2"], "--serving_row_groups needs --export_dir"),
    (["--serving_row_groups=0", "--export_dir=x", "--max_seq_length=128"],
     "--serving_row_groups must be between 1 and --max_seq_length (128), "
     "got 0"),
    (["--serving_row_groups=129", "--export_dir=x", "--max_seq_length=128"],
     "got 129"),
    (["--export_onnx"], "--export_onnx needs --export_dir"),
    (["--export_onnx", "--export_dir=x", "--onnx_int8_method=static"],
     "--onnx_int8_method=static needs --train_file"),
])
@pytest.mark.slow
def test_bad_serving_row_groups_rejected(files, tmp_path, extra, message):
    proc = run([
        sys.executable, RUN_SQUAD, "--bert_config_file=" + files["config"],
        "--vocab_file=" + VOCAB, "--do_predict",
        "--predict_file=" + files["predict"],
        "--output_dir=" + str(tmp_path / "out")
    ] + extra)
    assert proc.returncode != 0
    assert message in last_error_line(proc)


@pytest.mark.slow
def test_sequence_longer_than_positions_is_rejected(files, tmp_path):
    proc = run([
        sys.executable, RUN_SQUAD, "--bert_config_file=" + files["config"],
        "--vocab_file=" + VOCAB, "--do_predict",
        "--predict_file=" + files["predict"], "--max_seq_length=256",
        "--output_dir=" + str(tmp_path / "out")
    ])
    assert proc.returncode != 0
    assert "max_position_embeddings" in last_error_line(proc)
