"""Tests for finetune/classifier_data.py and finetune/run_classifier.py.

Processors, feature conversion and the feature cache are tested in process
on fixtures in each task's exact file layout. The script itself runs in a
subprocess, as a user runs it (it defines absl flags, which must not collide
with other entry points imported by the test session): once through
run.chnsenticorp.sh on a subset of the real ChnSentiCorp data with a tiny
MobileBERT config, once more directly to check that --rand_seed repeats.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATA_DIR, REPO, VOCAB, data_file, has_data, run_ok
from finetune import classifier_data
from finetune import export_util
from finetune import onnx_export
from finetune import tflite_util
from pretrain import tokenization

# Real ChnSentiCorp rows where DATA_DIR has them (it has no licence to be
# copied into the repository), else the demo's synthetic reviews (same
# layout: header, label, text).
CSC = (os.path.join(DATA_DIR, "chnsenticorp")
       if has_data("chnsenticorp", "train.tsv")
       else os.path.join(REPO, "scripts", "demo_data", "sentiment"))
FINETUNE = os.path.join(REPO, "finetune")
SCRIPTS = {
    "xnli": "run.xnli.sh",
    "chnsenticorp": "run.chnsenticorp.sh",
    "lcqmc": "run.lcqmc.sh",
    "bqcorpus": "run.bq.sh",
}
SEQ = 64
TINY_CONFIG = (
    '{"vocab_size": 21128, "hidden_size": 32, "embedding_size": 16,'
    ' "num_hidden_layers": 2, "num_attention_heads": 2,'
    ' "intermediate_size": 32, "intra_bottleneck_size": 16,'
    ' "use_bottleneck": true, "use_bottleneck_attention": true,'
    ' "trigram_input": true, "normalization_type": "no_norm",'
    ' "num_feedforward_networks": 2, "hidden_act": "relu",'
    ' "max_position_embeddings": 64, "type_vocab_size": 2,'
    ' "classifier_activation": false, "initializer_range": 0.1,'
    ' "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}\n')


def write_lines(path, lines):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def examples(task, data_dir, split="train"):
    return classifier_data.get_processor(task).get_examples(str(data_dir),
                                                            split)


# ---------------------------------------------------------------------------
# Processors.
# ---------------------------------------------------------------------------


def test_chnsenticorp_header_and_columns(tmp_path):
    write_lines(tmp_path / "dev.tsv",
                ["label\ttext_a", "1\t房间很干净，服务也好", "0\t太吵了\u2028不推荐"])
    result = examples("chnsenticorp", tmp_path, "dev")
    assert [e.label for e in result] == ["1", "0"]
    assert result[0].text_a == "房间很干净，服务也好"
    # U+2028 inside a text is not a line break.
    assert result[1].text_a == "太吵了\u2028不推荐"
    assert result[0].text_b is None
    assert result[0].guid == "dev-2"
    assert classifier_data.get_processor("ChnSentiCorp").get_labels() == [
        "0", "1"
    ]


def test_lcqmc_has_no_header(tmp_path):
    write_lines(tmp_path / "train.txt",
                ["喜欢打篮球的男生喜欢什么样的女生\t爱打篮球的男生喜欢什么样的女生\t1",
                 "我手机丢了，我想换个手机\t我想买个新手机，求推荐\t0"])
    result = examples("lcqmc", tmp_path)
    assert len(result) == 2  # The first line is data, not a header.
    assert result[0].text_b == "爱打篮球的男生喜欢什么样的女生"
    assert [e.label for e in result] == ["1", "0"]


def test_bqcorpus_skips_its_header(tmp_path):
    write_lines(tmp_path / "test.tsv",
                ["text_a\ttext_b\tlabel", "用微信都6年，微信没有微粒贷功能\t4。号码来微粒贷\t0",
                 "微信消费算吗\t还有多少钱没还\t0", "借款后多长时间给打电话\t借款后多久打电话啊\t1"])
    result = examples("bqcorpus", tmp_path, "test")
    assert [e.label for e in result] == ["0", "0", "1"]
    assert result[2].text_a == "借款后多长时间给打电话"
    assert result[2].text_b == "借款后多久打电话啊"


@pytest.mark.parametrize("task,file_name", [("bqcorpus", "train.tsv"),
                                            ("lcqmc", "train.txt")])
def test_pair_tasks_read_files_with_and_without_header(tmp_path, task,
                                                       file_name):
    rows = ["微信消费算吗\t还有多少钱没还\t0", "借款后多长时间给打电话\t借款后多久打电话啊\t1"]
    write_lines(tmp_path / "plain" / file_name, rows)
    write_lines(tmp_path / "header" / file_name, ["text_a\ttext_b\tlabel"] +
                rows)
    plain = examples(task, tmp_path / "plain")
    with_header = examples(task, tmp_path / "header")
    assert [(e.text_a, e.text_b, e.label) for e in plain] == [
        (e.text_a, e.text_b, e.label) for e in with_header]
    assert [e.label for e in plain] == ["0", "1"]


def test_a_later_bad_label_is_an_error_naming_file_and_line(tmp_path):
    write_lines(tmp_path / "train.tsv", ["微信消费算吗\t还有多少钱没还\t0",
                                         "text_a\ttext_b\tlabel"])
    with pytest.raises(ValueError, match=r"train.tsv:2: label 'label' is "
                       "not one of the task's labels"):
        examples("bqcorpus", tmp_path)


def test_xnli_train_maps_contradictory(tmp_path):
    write_lines(tmp_path / "multinli" / "multinli.train.zh.tsv", [
        "premise\thypo\tlabel", "他说，妈妈，我回来了。\t他一放学就给他妈打电话。\tneutral",
        "他说，妈妈，我回来了。\t他没说一句话。\tcontradictory",
        "他说，妈妈，我回来了。\t他告诉他的妈妈他已经回到家了。\tentailment"
    ])
    result = examples("xnli", tmp_path)
    assert [e.label for e in result] == [
        "neutral", "contradiction", "entailment"
    ]
    assert result[1].text_b == "他没说一句话。"
    assert classifier_data.get_processor("xnli").get_labels() == [
        "contradiction", "entailment", "neutral"
    ]


def xnli_row(language, label, sentence1, sentence2):
    # language, gold_label, 4 parse columns, sentence1, sentence2, ids.
    return "\t".join([language, label, "(a)", "(b)", "(c)", "(d)", sentence1,
                      sentence2, "31193", "31193.0"])


def test_xnli_dev_keeps_chinese_rows(tmp_path):
    header = "\t".join(["language", "gold_label", "sentence1_binary_parse",
                        "sentence2_binary_parse", "sentence1_parse",
                        "sentence2_parse", "sentence1", "sentence2",
                        "promptID", "pairID"])
    write_lines(tmp_path / "xnli.dev.tsv", [
        header,
        xnli_row("en", "neutral", "He said hi.", "He left."),
        xnli_row("zh", "entailment", "他说你好。", "他打了招呼。"),
        xnli_row("fr", "neutral", "Il a dit.", "Il est parti."),
        xnli_row("zh", "contradiction", "天很热。", "天很冷。"),
    ])
    result = examples("xnli", tmp_path, "dev")
    assert [(e.text_a, e.text_b, e.label) for e in result] == [
        ("他说你好。", "他打了招呼。", "entailment"),
        ("天很热。", "天很冷。", "contradiction"),
    ]
    assert [e.guid for e in result] == ["dev-3", "dev-5"]


# ---------------------------------------------------------------------------
# Bad input.
# ---------------------------------------------------------------------------


def test_short_row_names_file_and_line(tmp_path):
    write_lines(tmp_path / "train.tsv", ["label\ttext_a", "1\t好", "0"])
    with pytest.raises(ValueError) as error:
        examples("chnsenticorp", tmp_path)
    message = str(error.value)
    assert os.path.join(str(tmp_path), "train.tsv") + ":3:" in message
    assert "expected at least 2 tab-separated columns" in message
    assert "got 1" in message


def test_unknown_label_names_file_line_and_labels(tmp_path):
    write_lines(tmp_path / "dev.txt", ["好\t不好\t1", "好\t不好\t2"])
    with pytest.raises(ValueError,
                       match=r"dev.txt:2: label '2' is not one of the "
                       r"task's labels 0, 1"):
        examples("lcqmc", tmp_path, "dev")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError,
                       match=r"multinli.train.zh.tsv \(--data_dir\): data "
                       r"file not found"):
        examples("xnli", tmp_path)


def test_unknown_task_lists_known_ones():
    with pytest.raises(ValueError,
                       match=r"unknown task 'sst9'; expected one of "
                       r"bqcorpus, chnsenticorp, lcqmc, xnli"):
        classifier_data.get_processor("sst9")


# ---------------------------------------------------------------------------
# Features and cache.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


def test_pair_features_layout(tokenizer):
    example = classifier_data.InputExample("x", "今天天气很好我们去公园散步吧",
                                           "明天下雨", "1")
    features = classifier_data.convert_single_example(example, {
        "0": 0,
        "1": 1
    }, 12, tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(features.input_ids)
    # 12 - 3 special tokens = 9: the longer text is cut down to 5.
    assert tokens == ["[CLS]", "今", "天", "天", "气", "很", "[SEP]", "明",
                      "天", "下", "雨", "[SEP]"]
    assert features.segment_ids == [0] * 7 + [1] * 5
    assert features.input_mask == [1] * 12
    assert features.label_id == 1


def test_single_features_are_padded(tokenizer):
    example = classifier_data.InputExample("x", "好", None, "0")
    features = classifier_data.convert_single_example(example, {
        "0": 0,
        "1": 1
    }, 6, tokenizer)
    assert tokenizer.convert_ids_to_tokens(features.input_ids[:3]) == [
        "[CLS]", "好", "[SEP]"
    ]
    assert features.input_ids[3:] == [0, 0, 0]
    assert features.input_mask == [1, 1, 1, 0, 0, 0]
    padding = classifier_data.convert_single_example(
        classifier_data.PaddingInputExample(), {}, 6, tokenizer)
    assert not padding.is_real_example and padding.input_mask == [0] * 6


def csc_fixture(path, rows):
    write_lines(path / "train.tsv",
                ["label\ttext_a"] + ["%d\t第%d条评论，很好" % (i % 2, i)
                                     for i in range(rows)])


def prepare(tokenizer, data_dir, cache_dir, max_seq_length=16,
            vocab_file=VOCAB, do_lower_case=True):
    return classifier_data.prepare_features(
        classifier_data.get_processor("chnsenticorp"), "chnsenticorp",
        "train", str(data_dir), tokenizer, max_seq_length, vocab_file, None,
        do_lower_case, str(data_dir / "out"), str(cache_dir))


def test_cache_is_reused_only_for_identical_settings(tmp_path, tokenizer,
                                                     monkeypatch):
    data, cache = tmp_path / "data", tmp_path / "cache"
    csc_fixture(data, 5)
    path, count = prepare(tokenizer, data, cache)
    assert count == 5 and os.path.isfile(path)
    records = classifier_data.read_features(path, 16)
    assert len(records) == 5 and records[0]["input_ids"].shape == (16,)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("features rebuilt although the cache matches")

    with monkeypatch.context() as patch:
        patch.setattr(classifier_data, "write_features", no_rebuild)
        assert prepare(tokenizer, data, cache) == (path, 5)

    calls = []
    real_write = classifier_data.write_features

    def counting_write(*args, **kwargs):
        calls.append(args[2])  # max_seq_length
        return real_write(*args, **kwargs)

    monkeypatch.setattr(classifier_data, "write_features", counting_write)
    # Another max length: rebuilt into another file.
    longer, count = prepare(tokenizer, data, cache, max_seq_length=24)
    assert longer != path and calls == [24] and count == 5
    assert classifier_data.read_features(longer, 24)[0]["input_ids"].shape == (
        24,)
    # The data file changes (same name, same size class): rebuilt.
    csc_fixture(data, 6)
    changed, count = prepare(tokenizer, data, cache)
    assert changed != path and count == 6 and len(calls) == 2
    # Lower-casing and vocabulary are part of the key too.
    prepare(tokenizer, data, cache, do_lower_case=False)
    other_vocab = tmp_path / "vocab.txt"
    shutil.copy(VOCAB, str(other_vocab))
    with open(str(other_vocab), "a", encoding="utf-8") as f:
        f.write("[unused_extra]\n")
    prepare(tokenizer, data, cache, vocab_file=str(other_vocab))
    assert len(calls) == 4
    assert len([n for n in os.listdir(str(cache))
                if n.endswith(".tf_record")]) == 5


def test_cache_rebuilds_when_content_changes_at_same_size(tmp_path,
                                                          tokenizer):
    data, cache = tmp_path / "data", tmp_path / "cache"
    write_lines(data / "train.tsv", ["label\ttext_a", "1\t很好"])
    first, _ = prepare(tokenizer, data, cache)
    write_lines(data / "train.tsv", ["label\ttext_a", "0\t很好"])
    second, _ = prepare(tokenizer, data, cache)
    assert first != second
    assert classifier_data.read_features(second, 16)[0]["label_ids"] == 0


# ---------------------------------------------------------------------------
# The scripts.
# ---------------------------------------------------------------------------


def script_text(script):
    """The script and the part of common.sh it uses (not run_squad_task)."""
    with open(os.path.join(FINETUNE, script), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(FINETUNE, "common.sh"), encoding="utf-8") as f:
        common = f.read()
    return text + common[:common.index("# run_squad_task")]


def script_flags(script):
    """`--name` of every flag a run script passes, ignoring comments."""
    names = set()
    for line in script_text(script).splitlines():
        if line.lstrip().startswith("#"):
            continue
        names.update(re.findall(r"(?<![\w-])--([a-z][a-z0-9_]*)", line))
    return names


def script_value(script, flag):
    return re.search(r"--%s=(\S+) " % flag, script_text(script)).group(1)


def task_arguments(script):
    """TASK, MAX_SEQ_LENGTH and EPOCHS the script hands run_classifier_task."""
    with open(os.path.join(FINETUNE, script), encoding="utf-8") as f:
        match = re.search(r"^run_classifier_task (\S+) (\S+) (\S+) \"\$@\"$",
                          f.read(), re.M)
    return match.groups()


@pytest.fixture(scope="module")
def defined_flags():
    """Names of every flag run_classifier.py accepts, from --helpfull.

    absl prints the help and exits with status 1.
    """
    out = subprocess.run([sys.executable, "run_classifier.py", "--helpfull"],
                         cwd=FINETUNE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         universal_newlines=True).stdout
    names = set(re.findall(r"^\s+--(?:\[no\])?([A-Za-z_0-9]+):", out,
                           re.M))
    assert "task_name" in names, out[-2000:]
    return names


@pytest.mark.parametrize("task", sorted(SCRIPTS))
def test_script_flags_exist_and_hyperparameters(task, defined_flags):
    script = SCRIPTS[task]
    flags_used = script_flags(script)
    assert {"task_name", "learning_rate", "use_tpu"} <= flags_used
    assert flags_used <= defined_flags, flags_used - defined_flags
    name, max_seq_length, epochs = task_arguments(script)
    assert name == task
    assert float(script_value(script, "learning_rate")) == 6e-5
    assert script_value(script, "train_batch_size") == "64"
    assert float(epochs) == (2.0 if task == "xnli" else 3.0)
    assert max_seq_length == ("256" if task == "chnsenticorp" else "128")
    subprocess.run(["bash", "-n", os.path.join(FINETUNE, script)], check=True)


def test_script_requires_data_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATA_DIR"}
    result = subprocess.run(
        ["bash", os.path.join(FINETUNE, "run.lcqmc.sh")], cwd=str(tmp_path),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    assert result.returncode != 0
    assert "DATA_DIR" in result.stderr


def test_unknown_task_through_the_script(tmp_path):
    result = subprocess.run(
        [sys.executable, "run_classifier.py", "--task_name=sst9",
         "--data_dir=" + str(tmp_path), "--vocab_file=" + VOCAB,
         "--bert_config_file=x.json", "--output_dir=" + str(tmp_path / "o"),
         "--do_eval"], cwd=FINETUNE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode != 0
    assert "unknown task 'sst9'" in result.stderr


# ---------------------------------------------------------------------------
# End to end on real ChnSentiCorp rows.
# ---------------------------------------------------------------------------


def real_subset(data_dir):
    with open(os.path.join(CSC, "train.tsv"), encoding="utf-8") as f:
        train = f.read().split("\n")
    with open(os.path.join(CSC, "dev.tsv"), encoding="utf-8") as f:
        dev = f.read().split("\n")
    write_lines(data_dir / "train.tsv", train[:201])
    write_lines(data_dir / "dev.tsv", dev[:101])
    write_lines(data_dir / "test.tsv", dev[:1] + dev[101:151])


def common_args(base):
    return [
        "--max_seq_length=%d" % SEQ, "--train_batch_size=16",
        "--eval_batch_size=32", "--predict_batch_size=32",
        "--num_train_epochs=1", "--learning_rate=2e-3", "--rand_seed=7",
        "--log_every_steps=4", "--tfrecord_dir=" + str(base / "features")
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Trains, evaluates, predicts, exports and runs TFLite in one go."""
    base = tmp_path_factory.mktemp("csc")
    real_subset(base / "data")
    (base / "tiny.json").write_text(TINY_CONFIG)
    env = dict(os.environ, DATA_DIR=str(base / "data"),
               BERT_CONFIG=str(base / "tiny.json"), VOCAB=VOCAB,
               OUTPUT_DIR=str(base / "out"), PYTHON=sys.executable,
               TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MODEL_DIR", None)
    env.pop("INIT_CKPT", None)
    env.pop("TPU_NAME", None)
    export_dir = base / "export"
    args = common_args(base) + [
        "--export_dir=" + str(export_dir), "--use_post_quantization",
        "--export_quantization=int8", "--representative_examples=64",
        "--lite_model_path=" + str(export_dir /
                                   tflite_util.TFLITE_NAMES["float"])
    ]
    result = run_ok(
        ["bash", os.path.join(FINETUNE, "run.chnsenticorp.sh")] + args,
        merge_stderr=True, cwd=str(base), env=env)
    return base, result.stdout


def read_results(path):
    with open(str(path)) as f:
        return dict(line.strip().split(" = ", 1) for line in f)


def read_probabilities(path):
    return np.loadtxt(str(path), delimiter="\t", ndmin=2)


@pytest.mark.slow
def test_training_logs_progress(trained):
    _, log = trained
    steps = re.findall(r"step (\d+) learning_rate=\S+ loss=\S+ "
                       r"examples/sec=\S+", log)
    assert steps and int(steps[-1]) <= 12
    assert "training from random weights" in log


@pytest.mark.slow
def test_eval_covers_every_dev_and_test_example(trained):
    base, _ = trained
    dev = read_results(base / "out" / "eval_results.txt")
    test = read_results(base / "out" / "test_eval_results.txt")
    # 200 examples / batch 16 = 12 steps.
    assert dev["global_step"] == "12"
    assert dev["eval_examples"] == "100" and test["eval_examples"] == "50"
    for results in (dev, test):
        assert 0.0 <= float(results["eval_accuracy"]) <= 1.0
        assert float(results["eval_loss"]) > 0.0


@pytest.mark.slow
def test_predict_writes_one_row_per_test_example(trained):
    base, _ = trained
    probabilities = read_probabilities(base / "out" / "test_results.tsv")
    assert probabilities.shape == (50, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_saved_model_serving_signature(trained):
    import tensorflow.compat.v1 as tf
    base, _ = trained
    exported = [d for d in os.listdir(str(base / "export")) if d.isdigit()]
    assert len(exported) == 1
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.loader.load(
            sess, [tf.saved_model.tag_constants.SERVING],
            str(base / "export" / exported[0]))
    signature = meta.signature_def["serving_default"]
    assert sorted(signature.inputs) == ["input_ids", "input_mask",
                                        "segment_ids"]
    for info in signature.inputs.values():
        assert info.dtype == tf.int32.as_datatype_enum
        assert [d.size for d in info.tensor_shape.dim] == [-1, SEQ]
    assert list(signature.outputs) == ["probabilities"]


def feature_file(base, split):
    names = [n for n in os.listdir(str(base / "features"))
             if n.startswith("chnsenticorp.%s." % split) and
             n.endswith(".tf_record")]
    assert len(names) == 1
    return str(base / "features" / names[0])


@pytest.mark.slow
def test_float_tflite_matches_estimator(trained):
    base, _ = trained
    expected = read_probabilities(base / "out" / "test_results.tsv")
    # The comparison means something only if the model is not constant.
    assert expected[:, 1].std() > 1e-3
    features = classifier_data.read_features(feature_file(base, "test"), SEQ)
    lite = tflite_util.run_tflite(
        str(base / "export" / tflite_util.TFLITE_NAMES["float"]), features)
    np.testing.assert_allclose(lite["probabilities"], expected, atol=1e-4)


@pytest.mark.slow
def test_lite_eval_reports_the_estimator_metrics(trained):
    base, _ = trained
    estimator = read_results(base / "out" / "eval_results.txt")
    lite = read_results(base / "out" / "lite_eval_results.txt")
    assert lite["eval_examples"] == "100"
    assert float(lite["eval_accuracy"]) == pytest.approx(
        float(estimator["eval_accuracy"]), abs=1e-6)
    assert float(lite["eval_loss"]) == pytest.approx(
        float(estimator["eval_loss"]), abs=1e-4)
    assert os.path.isfile(str(base / "out" / "lite_test_eval_results.txt"))


@pytest.mark.slow
def test_quantized_tflite_loads_and_runs(trained):
    base, _ = trained
    features = classifier_data.read_features(feature_file(base, "dev"),
                                             SEQ)[:8]
    lite = tflite_util.run_tflite(
        str(base / "export" / tflite_util.TFLITE_NAMES["dynamic"]), features)
    assert lite["probabilities"].shape == (8, 2)
    np.testing.assert_allclose(lite["probabilities"].sum(axis=1), 1.0,
                               atol=1e-4)


def read_verification(export_dir):
    with open(str(export_dir / export_util.VERIFICATION_FILE)) as f:
        return json.load(f)


@pytest.mark.slow
def test_int8_model_is_integer_and_agrees_with_float(trained):
    base, _ = trained
    path = str(base / "export" / tflite_util.TFLITE_NAMES["int8"])
    summary = tflite_util.model_summary(path, with_violations=True)
    kinds = {d["name"]: d["dtype"] for d in summary["tensors"]}
    # TFLite names the encoder's weights after their MatMul; the head's keep
    # the variable name. Float only at the mask cast and the output.
    assert kinds["output_weights"] == "int8"
    assert list(kinds.values()).count("float32") <= 2
    assert summary["violations"] == []
    report = read_verification(base / "export")
    assert set(report) == {"float", "dynamic", "int8"}
    estimator = read_results(base / "out" / "eval_results.txt")
    assert report["float"]["eval_accuracy"] == pytest.approx(
        float(estimator["eval_accuracy"]), abs=1e-6)
    assert report["int8"]["eval_examples"] == 100
    assert report["int8"]["label_agreement_with_float"] >= 0.95
    assert report["int8"]["size_bytes"] < 0.5 * report["float"]["size_bytes"]
    assert 0 < report["int8"]["max_probability_difference"] < 0.5


@pytest.fixture(scope="module")
def quantization_aware(trained):
    """Continues the trained classifier with fake quantization, exports."""
    base, _ = trained
    export_dir = base / "qat_export"
    args = [sys.executable, os.path.join(FINETUNE, "run_classifier.py"),
            "--task_name=chnsenticorp", "--data_dir=" + str(base / "data"),
            "--vocab_file=" + VOCAB,
            "--bert_config_file=" + str(base / "tiny.json"),
            "--init_checkpoint=" + str(base / "out"),
            "--output_dir=" + str(base / "qat"), "--do_train", "--do_eval",
            "--quantization_aware_training", "--export_dir=" + str(export_dir),
            "--representative_examples=64"] + common_args(base)
    result = run_ok(args, merge_stderr=True, cwd=REPO)
    return base, export_dir, result.stdout


@pytest.mark.slow
def test_quantization_aware_training_learns_ranges(quantization_aware):
    import tensorflow.compat.v1 as tf
    base, _, log = quantization_aware
    assert "training from random weights" not in log
    reader = tf.train.load_checkpoint(str(base / "qat"))
    ranges = {name: reader.get_tensor(name)
              for name in reader.get_variable_to_shape_map()
              if "/activation_quant/" in name}
    # Every dense layer and every normalization has its learnt range.
    assert ("bert/encoder/layer_1/output/bottleneck/FakeLayerNorm/"
            "activation_quant/max") in ranges
    assert ("bert/encoder/layer_0/attention/self/query/activation_quant/min"
            in ranges)
    maxima = [v for k, v in ranges.items() if k.endswith("/max")]
    minima = [v for k, v in ranges.items() if k.endswith("/min")]
    assert all(v > 0 for v in maxima) and all(v <= 0 for v in minima)


@pytest.mark.slow
def test_quantization_aware_int8_export_is_integer_and_scored(
        quantization_aware):
    base, export_dir, _ = quantization_aware
    path = str(export_dir / tflite_util.TFLITE_NAMES["int8"])
    summary = tflite_util.model_summary(path, with_violations=True)
    assert summary["violations"] == []
    kinds = [d["dtype"] for d in summary["tensors"]]
    assert kinds.count("int8") > 100 and kinds.count("float32") <= 2
    report = read_verification(export_dir)
    assert set(report) == {"float", "int8"}
    assert report["int8"]["eval_examples"] == 100
    assert report["int8"]["size_bytes"] < 0.5 * report["float"]["size_bytes"]


@pytest.mark.slow
def test_quantization_aware_int8_scores_like_the_qat_model(
        quantization_aware):
    # Twelve steps on the synthetic reviews leave the tiny model at chance,
    # where rounding flips labels; real reviews give it a margin.
    data_file("chnsenticorp", "train.tsv")
    base, export_dir, _ = quantization_aware
    report = read_verification(export_dir)
    # The int8 model is the fake-quantized graph's: its accuracy is the
    # QAT estimator's, up to the calibrated tensors' rounding.
    estimator = read_results(base / "qat" / "eval_results.txt")
    assert report["int8"]["eval_accuracy"] == pytest.approx(
        float(estimator["eval_accuracy"]), abs=0.03)
    assert report["int8"]["label_agreement_with_float"] >= 0.9


@pytest.mark.slow
def test_lite_model_of_another_task_or_length_is_named(trained):
    from finetune import run_classifier
    from finetune import run_squad
    base, _ = trained
    # The float model: loading it needs no TF 2 subprocess under TF 1.
    path = str(base / "export" / tflite_util.TFLITE_NAMES["float"])
    with pytest.raises(ValueError, match="2 classes, the task has 3"):
        run_classifier.lite_probabilities(path, [], 3, SEQ)
    with pytest.raises(ValueError,
                       match="length %d, --max_seq_length is 128" % SEQ):
        run_classifier.lite_probabilities(path, [], 2, 128)
    with pytest.raises(ValueError, match="a model of another task"):
        tflite_util.check_lite_model(path, run_squad.LOGIT_NAMES, SEQ,
                                     "--lite_model_path")


@pytest.mark.slow
@pytest.mark.skipif(not (onnx_export.has_onnx_runtime() or os.path.isfile(
    tflite_util.DEFAULT_CONVERTER_PYTHON)), reason="needs the modern stack "
    "(tf2onnx, onnxruntime)")
def test_onnx_export_is_verified_and_scored(trained):
    from finetune import run_classifier
    base, _ = trained
    export_dir = base / "onnx_export"
    run_ok([sys.executable, "run_classifier.py", "--task_name=chnsenticorp",
            "--data_dir=" + str(base / "data"), "--vocab_file=" + VOCAB,
            "--bert_config_file=" + str(base / "tiny.json"),
            "--output_dir=" + str(base / "out"),
            "--export_dir=" + str(export_dir), "--export_onnx",
            "--representative_examples=32",
            "--onnx_model_path=" + str(export_dir / "model_int8.onnx")] +
           common_args(base), merge_stderr=True, cwd=FINETUNE)
    report = read_verification(export_dir)
    assert set(report) == {"float", "onnx_float", "onnx_int8"}
    onnx_float, int8 = report["onnx_float"], report["onnx_int8"]
    assert onnx_float["max_difference_from_saved_model"] <= 1e-4
    assert onnx_float["eval_accuracy"] == report["float"]["eval_accuracy"]
    assert onnx_float["label_agreement_with_float"] == 1.0
    assert int8["label_agreement_with_float"] >= 0.9
    assert int8["eval_examples"] == report["float"]["eval_examples"]
    scored = read_results(base / "out" / "onnx_eval_results.txt")
    assert float(scored["eval_accuracy"]) == pytest.approx(
        int8["eval_accuracy"])
    with pytest.raises(ValueError, match="2 classes, the task has 3"):
        run_classifier.lite_probabilities(
            str(export_dir / "model.onnx"), [], 3, SEQ, "--onnx_model_path",
            onnx_export.run_checked)


@pytest.mark.slow
def test_rand_seed_repeats_a_cpu_run(trained):
    base, _ = trained
    args = [sys.executable, "run_classifier.py", "--task_name=chnsenticorp",
            "--data_dir=" + str(base / "data"), "--vocab_file=" + VOCAB,
            "--bert_config_file=" + str(base / "tiny.json"),
            "--output_dir=" + str(base / "again"), "--do_train",
            "--do_predict"] + common_args(base)
    result = run_ok(args, merge_stderr=True, cwd=FINETUNE)
    assert "Reusing cached features" in result.stdout
    np.testing.assert_array_equal(
        read_probabilities(base / "again" / "test_results.tsv"),
        read_probabilities(base / "out" / "test_results.tsv"))


@pytest.mark.slow
def test_mismatched_init_checkpoint_lists_the_variables(trained):
    base, _ = trained
    wider = base / "wider.json"
    wider.write_text(TINY_CONFIG.replace('"hidden_size": 32',
                                         '"hidden_size": 48'))
    args = [sys.executable, os.path.join(FINETUNE, "run_classifier.py"),
            "--task_name=chnsenticorp", "--data_dir=" + str(base / "data"),
            "--vocab_file=" + VOCAB, "--bert_config_file=" + str(wider),
            "--init_checkpoint=" + str(base / "out" / "model.ckpt-12.index"),
            "--output_dir=" + str(base / "wider"), "--do_train"
            ] + common_args(base)
    result = subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode != 0
    assert "does not fit this model's config" in result.stdout
    assert ("bert/embeddings/position_embeddings: graph shape [64, 48], "
            "checkpoint shape [64, 32]") in result.stdout


def test_tpu_style_eval_input_keeps_every_example(tmp_path, tokenizer):
    """Full batches only (TPU): padding of weight 0 fills the last one."""
    import tensorflow.compat.v1 as tf
    data, cache = tmp_path / "data", tmp_path / "cache"
    csc_fixture(data, 5)
    path, count = prepare(tokenizer, data, cache)
    num_padding, steps = classifier_data.padded_batches(count, 4, True)
    assert (num_padding, steps) == (3, 2)
    assert classifier_data.padded_batches(count, 4, False) == (0, None)
    input_fn = classifier_data.input_fn_builder(path, 16, False, True,
                                                num_padding=num_padding)
    with tf.Graph().as_default():
        batch = tf.data.make_one_shot_iterator(
            input_fn({"batch_size": 4})).get_next()
        with tf.Session() as sess:
            batches = [sess.run(batch) for _ in range(steps)]
            with pytest.raises(tf.errors.OutOfRangeError):
                sess.run(batch)
    real = np.concatenate([b["is_real_example"] for b in batches])
    labels = np.concatenate([b["label_ids"] for b in batches])
    masks = np.concatenate([b["input_mask"] for b in batches])
    assert real.tolist() == [1] * 5 + [0] * 3
    assert labels[:5].tolist() == [0, 1, 0, 1, 0]
    assert not masks[5:].any() and masks[:5].all(axis=0)[0]
    assert batches[0]["input_ids"].dtype == np.int32


def test_non_utf8_file_names_the_line(tmp_path):
    with open(str(tmp_path / "train.tsv"), "wb") as f:
        f.write("label\ttext_a\n1\t好\n".encode("utf-8") +
                "0\t差\n".encode("gbk"))
    with pytest.raises(ValueError, match=r"train.tsv \(--data_dir\), "
                       r"line 3: not valid UTF-8"):
        examples("chnsenticorp", tmp_path)
