"""Tests for scripts/experiment_distill.py (the distillation experiment).

`--quick` runs every stage of the experiment on a few real documents and
checks the files and fields it writes, not the scores; the helpers that
summarise and judge the scores are tested in process.

The quick run (about 14 TensorFlow processes) runs in the modern stack's
suite only, to keep CI within its time budget: the driver only orchestrates
the entry scripts, which both suites test, and it passed on both stacks
when it was written (TF 1.15: 6 of 7 tests before matplotlib was added).
"""
import io
import json
import os
import subprocess
import sys

import pytest
import tensorflow.compat.v1 as tf

from conftest import DATA_DIR, REPO, TESTDATA, VOCAB, data_file
from pretrain import tokenization
from scripts import experiment_distill

DATA = DATA_DIR
SCORE_FIELDS = ("mean", "std", "runs")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Runs the quick experiment once: (output folder, exit code, log)."""
    if not tf.__version__.startswith("2."):
        pytest.skip("the quick experiment runs in the TF 2 suite (CI time); "
                    "see the module docstring")
    for parts in (("chnsenticorp", "train.tsv"), ("chnsenticorp", "dev.tsv"),
                  ("cmrc2018", "cmrc2018_trial.json"),
                  ("cmrc2018", "cmrc2018_dev.json")):
        data_file(*parts)
    out = str(tmp_path_factory.mktemp("experiment") / "out")
    result = subprocess.run(
        [sys.executable,
         os.path.join(REPO, "scripts", "experiment_distill.py"), "--quick",
         "--jobs=2", "--data_dir=" + DATA],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, check=False,
        env=dict(os.environ, EXPERIMENT_OUT=out))
    return out, result.returncode, result.stdout


def read_results(out):
    with io.open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.slow
def test_results_json_has_every_model_and_field(quick):
    out, _, log = quick
    assert os.path.isfile(os.path.join(out, "results.json")), log[-3000:]
    results = read_results(out)
    assert set(results) == {"models", "config"}
    assert list(results["models"]) == list(experiment_distill.MODELS)
    for name, model in results["models"].items():
        assert 0.0 <= model["mlm_heldout_accuracy"] <= 1.0, name
        assert 0.0 <= model["chnsenticorp_dev_accuracy"]["mean"] <= 1.0
        for score in experiment_distill.SCORES:
            assert set(model[score]) == set(SCORE_FIELDS), (name, score)
            assert len(model[score]["runs"]) == 1
            assert model[score]["std"] == 0.0
        for score in ("cmrc2018_dev_f1", "cmrc2018_dev_em"):
            assert 0.0 <= model[score]["mean"] <= 100.0
    config = results["config"]
    assert config["quick"] is True and config["seeds"] == [1]
    assert config["data"]["heldout_documents"] > 0
    assert "--layer_wise_warmup" in config["pretraining_flags"]["distilled"]


@pytest.mark.slow
def test_heldout_records_are_not_training_records(quick):
    out, _, _ = quick
    data = os.path.join(out, "data")
    with io.open(os.path.join(data, "corpus_train.txt"),
                 encoding="utf-8") as f:
        train = set(f.read().split("\n\n"))
    with io.open(os.path.join(data, "corpus_heldout.txt"),
                 encoding="utf-8") as f:
        heldout = [d for d in f.read().split("\n\n") if d.strip()]
    assert heldout and not train.intersection(heldout)


@pytest.mark.slow
def test_table_lists_models_goal_and_phases(quick):
    out, _, _ = quick
    with io.open(os.path.join(out, "results.md"), encoding="utf-8") as f:
        table = f.read()
    for name in ("teacher", "distilled", "baseline"):
        assert "| %s | " % name in table
    assert "chnsenticorp_dev_accuracy:" in table
    assert "cmrc2018_dev_f1:" in table
    assert "| pretrain_teacher_and_baseline |" in table


@pytest.mark.slow
def test_plots_are_written(quick):
    out, returncode, log = quick
    assert returncode == 0, log[-3000:]
    for name in ("pretraining_curves.png", "finetuning_scores.png"):
        with open(os.path.join(out, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name


def test_restricted_vocabulary_tokenizes_like_the_full_one(tmp_path):
    full = VOCAB
    texts = [u"哈尔滨是黑龙江的省会。", u"iPhone 12 的价格是 5999 元",
             u"这家酒店的服务非常好!!"]
    vocab = experiment_distill.restricted_vocabulary(full, texts)
    path = str(tmp_path / "vocab.txt")
    experiment_distill.write_lines(path, vocab)
    small = tokenization.FullTokenizer(path, do_lower_case=True)
    large = tokenization.FullTokenizer(full, do_lower_case=True)
    assert len(vocab) < 100
    assert vocab[:1] == ["[PAD]"]
    for text in texts:
        assert small.tokenize(text) == large.tokenize(text)


def test_mrc_sets_keep_the_evaluated_paragraphs_out_of_training(tmp_path):
    data_file("cmrc2018", "cmrc2018_trial.json")
    data_file("cmrc2018", "cmrc2018_dev.json")
    settings = experiment_distill.FULL._replace(mrc_dev_paragraphs=30)
    train, dev = str(tmp_path / "train.json"), str(tmp_path / "dev.json")
    counts = experiment_distill.write_mrc_sets(
        os.path.join(DATA, "cmrc2018"), settings, train, dev)

    def question_ids(path):
        with io.open(path, encoding="utf-8") as f:
            dataset = json.load(f)
        return [qa["id"] for p in experiment_distill.paragraphs_of(dataset)
                for qa in p["qas"]]

    def all_ids(name):
        return question_ids(os.path.join(DATA, "cmrc2018", name))

    train_ids, dev_ids = question_ids(train), question_ids(dev)
    assert counts == (len(train_ids), len(dev_ids))
    assert not set(train_ids) & set(dev_ids)
    # dev: the first 30 dev paragraphs; train: the trial set, then the rest.
    every_dev = all_ids("cmrc2018_dev.json")
    assert dev_ids == every_dev[:len(dev_ids)]
    assert sorted(train_ids) == sorted(all_ids("cmrc2018_trial.json") +
                                       every_dev[len(dev_ids):])


def test_mean_std_and_goal_check():
    assert experiment_distill.mean_std([1.0, 2.0, 3.0]) == {
        "mean": 2.0, "std": 1.0, "runs": [1.0, 2.0, 3.0]}

    def model(mean, std):
        return {"score": {"mean": mean, "std": std}}

    models = {"teacher": model(0.9, 0.01), "distilled": model(0.86, 0.01),
              "baseline": model(0.8, 0.01)}
    check = experiment_distill.goal_check(models, "score")
    assert check["closed"] == pytest.approx(0.6) and check["met"]
    models["distilled"] = model(0.86, 0.05)  # gain 0.06 < spread 0.06
    assert not experiment_distill.goal_check(models, "score")["met"]
    models["teacher"] = model(0.7, 0.01)  # the teacher is worse: undefined
    check = experiment_distill.goal_check(models, "score")
    assert check["closed"] is None and not check["met"]


def test_bad_arguments_are_named(capsys):
    with pytest.raises(SystemExit):
        experiment_distill.parse_args(["--ablations=no_teacher",
                                       "--data_dir=" + TESTDATA])
    assert "--ablations: unknown no_teacher" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        experiment_distill.parse_args(["--data_dir=" + REPO])
    assert "has no vocab/chinese_vocab.txt" in capsys.readouterr().err
