"""Model folders as users download them work as MODEL_DIR / TEACHER_DIR.

Published student folder: `mobilebert.ckpt.*`, `vocab.txt`, one config
named after the model; teacher folder: `bert_model.ckpt.*`,
`bert_config.json`, `vocab.txt` (no `checkpoint` state file in either).
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, VOCAB, run_ok, save_random_bert
from pretrain import model_folder
import test_run_classifier
import test_run_pretraining



def published_folder(path, config_dict, config_name, checkpoint_name,
                     vocab=VOCAB):
    """A folder in the published layout (no `checkpoint` state file)."""
    os.makedirs(str(path))
    with open(str(path / config_name), "w") as writer:
        json.dump(config_dict, writer)
    shutil.copy(vocab, str(path / "vocab.txt"))
    save_random_bert(config_dict, str(path / checkpoint_name),
                     state_file=False)
    assert not os.path.exists(str(path / "checkpoint"))
    return path


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory):
    config = json.loads(test_run_classifier.TINY_CONFIG)
    return published_folder(
        tmp_path_factory.mktemp("release") / "mobilebert_tiny", config,
        "student_tiny.json", "mobilebert.ckpt")


def assignments(folder, *parts):
    """{NAME: value} printed by model_folder.py, or the error."""
    lines = model_folder.shell_assignments(str(folder), parts or
                                           list(model_folder.PARTS))
    return dict((k, v.strip("'")) for k, v in
                (line.split("=", 1) for line in lines.splitlines()))


@pytest.mark.slow
def test_published_student_layout_resolves(student_folder):
    found = assignments(student_folder)
    assert found == {
        "BERT_CONFIG": str(student_folder / "student_tiny.json"),
        "VOCAB": str(student_folder / "vocab.txt"),
        "INIT_CKPT": str(student_folder / "mobilebert.ckpt"),
    }
    assert assignments(student_folder, "vocab") == {"VOCAB": found["VOCAB"]}


@pytest.mark.parametrize("setup, message", [
    (lambda d: shutil.copy(str(d / "student_tiny.json"),
                           str(d / "bert_config.json")),
     r"expected one model config \*.json, found bert_config.json, "
     r"student_tiny.json"),
    (lambda d: [os.remove(str(p)) for p in d.glob("mobilebert.ckpt*")],
     r"expected one checkpoint \(\*.index\), found none"),
    (lambda d: [shutil.copy(str(p), str(p).replace("mobilebert", "other"))
                for p in d.glob("mobilebert.ckpt*")],
     r"expected one checkpoint \(\*.index\), found mobilebert.ckpt.index, "
     r"other.ckpt.index"),
    (lambda d: os.remove(str(d / "vocab.txt")), r"no vocab.txt"),
])
@pytest.mark.slow
def test_ambiguous_or_incomplete_folder_is_named(student_folder, tmp_path,
                                                 setup, message):
    folder = tmp_path / "copy"
    shutil.copytree(str(student_folder), str(folder))
    setup(folder)
    with pytest.raises(ValueError, match=str(folder) + ": " + message):
        assignments(folder)


@pytest.mark.slow
def test_run_script_stops_with_the_folder_error(student_folder, tmp_path):
    folder = tmp_path / "two_configs"
    shutil.copytree(str(student_folder), str(folder))
    shutil.copy(str(folder / "student_tiny.json"), str(folder / "x.json"))
    env = dict(os.environ, DATA_DIR=str(tmp_path), MODEL_DIR=str(folder),
               PYTHON=sys.executable)
    result = subprocess.run(
        ["bash", os.path.join(REPO, "finetune", "run.chnsenticorp.sh")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "model folder: %s: expected one model config *.json, found "
        "student_tiny.json, x.json; pass the config explicitly (BERT_CONFIG= "
        "/ --bert_config_file)" % folder)


@pytest.mark.slow
def test_chnsenticorp_script_fine_tunes_a_published_folder(student_folder,
                                                           tmp_path):
    """MODEL_DIR=<published folder> bash finetune/run.chnsenticorp.sh."""
    data = tmp_path / "data"
    rows = {}
    for split in ("train", "dev"):
        with open(os.path.join(test_run_classifier.CSC, split + ".tsv"),
                  encoding="utf-8") as reader:
            rows[split] = reader.read().split("\n")
    test_run_classifier.write_lines(data / "train.tsv", rows["train"][:17])
    test_run_classifier.write_lines(data / "dev.tsv", rows["dev"][:9])
    env = dict(os.environ, DATA_DIR=str(data), MODEL_DIR=str(student_folder),
               OUTPUT_DIR=str(tmp_path / "out"), PYTHON=sys.executable,
               DO_TEST="false", TF_CPP_MIN_LOG_LEVEL="2")
    for name in ("BERT_CONFIG", "VOCAB", "INIT_CKPT", "TPU_NAME"):
        env.pop(name, None)
    result = run_ok(
        ["bash", os.path.join(REPO, "finetune", "run.chnsenticorp.sh"),
         "--max_seq_length=32", "--train_batch_size=16",
         "--eval_batch_size=8", "--num_train_epochs=1"],
        merge_stderr=True, env=env)
    # Initialised from the folder's checkpoint, trained one step, evaluated.
    assert "*INIT_FROM_CKPT*" in result.stdout
    results = dict(line.split(" = ") for line in (
        tmp_path / "out" / "eval_results.txt").read_text().splitlines())
    assert results["global_step"] == "1"
    assert results["eval_examples"] == "8"


def test_pretrain_script_distills_from_a_teacher_folder(tmp_path):
    """TEACHER_DIR=<bert_model.ckpt folder> bash pretrain/run.pretrain.sh,
    with the recipe's sizes overridden to a tiny run."""
    tpr = test_run_pretraining
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join("[unused%d]\n" % i for i in range(tpr.VOCAB)))
    teacher = published_folder(tmp_path / "roberta_tiny", tpr.TEACHER,
                               "bert_config.json", "bert_model.ckpt",
                               vocab=str(vocab))
    rng = np.random.RandomState(0)
    records = str(tmp_path / "train.tfrecord")
    with tf.io.TFRecordWriter(records) as writer:
        for _ in range(16):
            writer.write(tpr.make_example(rng).SerializeToString())
    student_config = tmp_path / "student.json"
    student_config.write_text(json.dumps(tpr.STUDENT))
    out = tmp_path / "out"
    env = dict(os.environ, DATA_GLOB=records, TEACHER_DIR=str(teacher),
               OUTPUT_DIR=str(out), PYTHON=sys.executable,
               TF_CPP_MIN_LOG_LEVEL="2")
    for name in ("TEACHER_CKPT", "TEACHER_CONFIG", "TPU_NAME"):
        env.pop(name, None)
    result = run_ok(
        ["bash", os.path.join(REPO, "pretrain", "run.pretrain.sh"),
         "--bert_config_file=%s" % student_config,
         "--max_seq_length=%d" % tpr.SEQ,
         "--max_predictions_per_seq=%d" % tpr.PREDS,
         "--train_batch_size=4", "--eval_batch_size=4",
         "--num_distill_steps=2", "--num_train_steps=2",
         "--num_warmup_steps=0", "--save_checkpoints_steps=2",
         "--iterations_per_loop=2", "--layer_wise_warmup=false",
         "--do_eval=false"],
        merge_stderr=True, env=env)
    # One stage (to keep the test short): soft-target distillation, the
    # teacher and the student's embeddings from the folder's checkpoint.
    assert "init %s (teacher checkpoint)" % (teacher / "bert_model.ckpt") in (
        result.stdout)
    assert tf.train.load_variable(str(out), "global_step") == 2
    # The recipe passes --use_summary, as the published script does.
    assert os.listdir(str(out / "my_summary" / "main"))
