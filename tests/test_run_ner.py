# coding=utf-8
"""End-to-end tests of finetune/run_ner.py and finetune/run.ner.sh.

Every run goes through the command line in a subprocess, as a user runs it:
a tiny MobileBERT trains on an MSRA-layout (TAB) copy of People's Daily
sentences, scores the space-separated originals, exports, and predicts
again from its output folder; a second run trains on Weibo sentences.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from seqeval import metrics as seqeval_metrics

from conftest import REPO, TESTDATA, VOCAB
from finetune import ner_data
from finetune import ner_metric
from finetune import tflite_util

RUN_NER = os.path.join(REPO, "finetune", "run_ner.py")
RUN_SCRIPT = os.path.join(REPO, "finetune", "run.ner.sh")
TINY_CONFIG = os.path.join(REPO, "config", "tiny_student_f2.json")
PEOPLES_DAILY = os.path.join(TESTDATA, "ner", "peoples_daily_dev_head.txt")
WEIBO_TRAIN = os.path.join(TESTDATA, "ner", "weibo_train_head.txt")
WEIBO_DEV = os.path.join(TESTDATA, "ner", "weibo_dev_head.txt")
MAX_SEQ_LENGTH = 64
SMALL_RUN = [
    "--vocab_file=" + VOCAB, "--bert_config_file=" + TINY_CONFIG,
    "--max_seq_length=%d" % MAX_SEQ_LENGTH, "--doc_stride=24",
    "--train_batch_size=16", "--predict_batch_size=32",
    "--eval_batch_size=32", "--learning_rate=2e-3", "--log_every_steps=5",
    "--rand_seed=1"
]


def run(args, cwd=REPO, env=None):
    """Runs a command; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    full_env.update(env or {})
    return subprocess.run(args, cwd=cwd, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=900)


def sentences_of(path, first, count):
    with open(path, encoding="utf-8") as reader:
        blocks = reader.read().strip("\n").split("\n\n")
    return blocks[first:first + count]


def write_blocks(path, blocks, transform=lambda line: line):
    with open(path, "w", encoding="utf-8") as writer:
        for block in blocks:
            writer.write("\n".join(transform(line)
                                   for line in block.split("\n")) + "\n\n")
    return path


def read_results(path):
    values = {}
    with open(path, encoding="utf-8") as reader:
        for line in reader:
            if " = " in line:
                key, value = line.strip().split(" = ")
                values[key] = float(value)
    return values


def prediction_rows(path):
    with open(path, encoding="utf-8") as reader:
        blocks = reader.read().strip("\n").split("\n\n")
    return [[line.split(" ") for line in block.split("\n")]
            for block in blocks]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny tagger trained on MSRA-layout (TAB) sentences, scored on
    People's Daily (space) sentences with long ones among them, exported."""
    work = tmp_path_factory.mktemp("ner")
    train = write_blocks(str(work / "msra_train.txt"),
                         sentences_of(PEOPLES_DAILY, 0, 150),
                         lambda line: line.replace(" ", "\t"))
    dev = write_blocks(str(work / "dev.txt"),
                       sentences_of(PEOPLES_DAILY, 150, 40))
    untagged = write_blocks(str(work / "untagged.txt"),
                            sentences_of(PEOPLES_DAILY, 150, 40),
                            lambda line: line.split(" ")[0])
    output_dir, export_dir = str(work / "out"), str(work / "export")
    proc = run([sys.executable, RUN_NER, "--do_train", "--do_eval",
                "--do_predict", "--train_file=" + train, "--eval_file=" + dev,
                "--predict_file=" + dev, "--output_dir=" + output_dir,
                "--export_dir=" + export_dir, "--num_train_epochs=2"] +
               SMALL_RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"dev": dev, "untagged": untagged, "output_dir": output_dir,
            "export_dir": export_dir, "log": proc.stderr, "work": work}


@pytest.mark.slow
def test_every_character_gets_one_prediction_in_order(trained):
    sentences, _ = ner_data.read_sentences(trained["dev"])
    assert max(len(s.tokens) for s in sentences) > MAX_SEQ_LENGTH
    rows = prediction_rows(os.path.join(trained["output_dir"],
                                        "predictions.txt"))
    assert [[r[0] for r in block] for block in rows] == [
        s.tokens for s in sentences]
    assert [[r[1] for r in block] for block in rows] == [
        s.tags for s in sentences]
    assert all(len(r) == 3 for block in rows for r in block)
    assert re.search(r"\d+ sentences -> \d+ windows \([1-9]\d* sentences "
                     r"longer than one window\)", trained["log"])
    assert re.search(r"step \d+ .*loss=[\d.]+ examples/sec=", trained["log"])


@pytest.mark.slow
def test_reported_f1_equals_seqeval_and_training_learnt(trained):
    rows = prediction_rows(os.path.join(trained["output_dir"],
                                        "eval_predictions.txt"))
    gold = [[r[1] for r in block] for block in rows]
    predicted = [[r[2] for r in block] for block in rows]
    results = read_results(os.path.join(trained["output_dir"],
                                        "eval_results.txt"))
    assert results["f1"] == pytest.approx(
        seqeval_metrics.f1_score(gold, predicted), abs=1e-9)
    assert results["precision"] == pytest.approx(
        seqeval_metrics.precision_score(gold, predicted), abs=1e-9)
    assert results["f1"] == read_results(os.path.join(
        trained["output_dir"], "predict_results.txt"))["f1"]
    # Training learnt: the logged loss fell, and the tags are at least as
    # accurate as all-O's (a tiny model this short may still tag all O).
    losses = [float(x) for x in re.findall(r"step \d+ .*loss=([\d.]+) ",
                                           trained["log"])]
    assert len(losses) >= 3 and losses[-1] < losses[0]
    all_o = ner_metric.evaluate(gold, [["O"] * len(g) for g in gold])
    assert results["accuracy"] >= all_o["accuracy"]
    with open(os.path.join(trained["output_dir"], "eval_results.txt"),
              encoding="utf-8") as reader:
        text = reader.read()
    assert re.search(r"^PER\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+", text, re.M)
    with open(os.path.join(trained["output_dir"], "label_list.txt")) as f:
        assert f.read().split() == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG",
                                    "B-PER", "I-PER"]


@pytest.mark.slow
def test_export_tflite_verified_against_saved_model(trained):
    export_dir = trained["export_dir"]
    with open(os.path.join(export_dir, "verification.json")) as reader:
        report = json.load(reader)
    results = read_results(os.path.join(trained["output_dir"],
                                        "eval_results.txt"))
    assert report["float"]["sentences"] == 40
    assert report["float"]["f1"] == pytest.approx(results["f1"], abs=0.02)
    # The SavedModel and the TFLite model agree on real windows.
    sentences, _ = ner_data.read_sentences(trained["dev"])
    from pretrain import tokenization
    tokenizer = tokenization.FullTokenizer(VOCAB)
    labels = ner_data.parse_label_list(
        open(os.path.join(trained["output_dir"], "label_list.txt")).read(),
        "label_list.txt")
    windows = ner_data.sentences_to_windows(sentences[:6], tokenizer, labels,
                                            MAX_SEQ_LENGTH, 24)
    features = ner_data.window_feature_dicts(windows)
    lite = tflite_util.run_tflite(
        os.path.join(export_dir, "model_float.tflite"), features)
    saved_model = [os.path.join(export_dir, d) for d in os.listdir(export_dir)
                   if d.isdigit()][0]
    with tf.Graph().as_default(), tf.Session() as session:
        meta = tf.saved_model.loader.load(session, ["serve"], saved_model)
        signature = meta.signature_def["serving_default"]
        feed = {signature.inputs[name].name: np.stack(
            [f[name] for f in features]) for name in signature.inputs}
        served = session.run(signature.outputs["probabilities"].name, feed)
    assert served.shape == (len(windows), MAX_SEQ_LENGTH, len(labels))
    assert np.max(np.abs(served - lite["probabilities"])) < 1e-4


@pytest.mark.slow
def test_predict_from_output_dir_without_training_file(trained, tmp_path):
    proc = run([sys.executable, RUN_NER, "--do_predict",
                "--predict_file=" + trained["untagged"],
                "--output_dir=" + trained["output_dir"]] + SMALL_RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = prediction_rows(os.path.join(trained["output_dir"],
                                        "predictions.txt"))
    tagged_rows = prediction_rows(os.path.join(trained["output_dir"],
                                               "eval_predictions.txt"))
    assert all(len(r) == 2 for block in rows for r in block)
    assert [[r[1] for r in b] for b in rows] == [
        [r[2] for r in b] for b in tagged_rows]
    # A tag outside the saved label list names the file and line.
    bad = write_blocks(str(tmp_path / "bad.txt"), ["中 O\n国 B-GPE"])
    proc = run([sys.executable, RUN_NER, "--do_eval", "--eval_file=" + bad,
                "--output_dir=" + trained["output_dir"]] + SMALL_RUN)
    assert proc.returncode != 0
    assert re.search(r"bad.txt \(--eval_file\), line 2: tag 'B-GPE' is not "
                     r"in the label list", proc.stderr)


@pytest.mark.slow
def test_weibo_trains_and_predicts_typed_tags(tmp_path):
    output_dir = str(tmp_path / "weibo")
    proc = run([sys.executable, RUN_NER, "--do_train", "--do_predict",
                "--train_file=" + WEIBO_TRAIN, "--predict_file=" + WEIBO_DEV,
                "--output_dir=" + output_dir, "--num_train_epochs=1"] +
               SMALL_RUN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sentences, _ = ner_data.read_sentences(WEIBO_DEV)
    rows = prediction_rows(os.path.join(output_dir, "predictions.txt"))
    assert [[r[0] for r in b] for b in rows] == [s.tokens for s in sentences]
    with open(os.path.join(output_dir, "label_list.txt")) as reader:
        labels = reader.read().split()
    assert "B-PER.NAM" in labels and "I-GPE.NAM" in labels
    assert set(r[2] for b in rows for r in b) <= set(labels)
    assert "f1" in read_results(os.path.join(output_dir,
                                             "predict_results.txt"))


def test_script_flags_are_defined():
    proc = run([sys.executable, RUN_NER, "--helpfull"])
    defined = set(re.findall(r"^\s+--(?:\[no\])?([A-Za-z_0-9]+):",
                             proc.stdout, re.M))
    with open(os.path.join(REPO, "finetune", "common.sh")) as reader:
        common = reader.read()
    body = common[common.index("run_ner_task() {"):]
    used = set(re.findall(r"--([a-z_0-9]+)=", body))
    assert used and used <= defined, used - defined
    with open(RUN_SCRIPT) as reader:
        assert "set -euo pipefail" in reader.read()
    proc = run(["bash", RUN_SCRIPT], env={"DATASET": "conll2003",
                                          "DATA_DIR": "x"})
    assert proc.returncode == 2
    assert "DATASET must be peoples_daily or msra" in proc.stderr
