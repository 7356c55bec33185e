"""Bad input and interruption: every reader names its source, nothing is
accepted silently, no half-written file is reused (issues 11 item 8, 12).

Readers are tested in process on tiny files; one subprocess checks that an
entry script ends an input error with one `ERROR:` line, not a traceback.
"""
import io
import json
import os
import re
import subprocess
import sys
import threading

import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, VOCAB
from finetune import classifier_data
from finetune import cmrc2018_evaluate
from finetune import finetune_util
from finetune import squad_data
from finetune import tflite_util
from pretrain import file_io
from pretrain import modeling
from pretrain import pretraining_text
from pretrain import tokenization

BOM = b"\xef\xbb\xbf"
TINY = {"vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 8}


def write_bytes(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "wb") as writer:
        writer.write(data)
    return str(path)


def utf8_file(path, lines, bom=False, newline="\n"):
    """Writes lines as UTF-8 with the given line end (and optional BOM)."""
    data = "".join(line + newline for line in lines).encode("utf-8")
    return write_bytes(path, (BOM if bom else b"") + data)


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


# ---------------------------------------------------------------------------
# Configs: types and unknown keys.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [("use_bottleneck", "false"),
                                         ("hidden_dropout_prob", "0.1"),
                                         ("hidden_act", 1),
                                         ("num_hidden_layers", 2.0)])
def test_config_field_of_the_wrong_type_names_file_and_field(
        tmp_path, field, value):
    path = write_bytes(tmp_path / "config.json",
                       json.dumps(dict(TINY, **{field: value})).encode())
    with pytest.raises(ValueError) as error:
        modeling.BertConfig.from_json_file(path, "bert_config_file")
    message = str(error.value)
    assert message.startswith(path + " (--bert_config_file): " + field + ":")
    assert repr(value) in message


def test_unknown_config_key_names_the_closest_known_one(tmp_path):
    path = write_bytes(tmp_path / "config.json",
                       json.dumps(dict(TINY, num_hiden_layers=4)).encode())
    with pytest.raises(ValueError,
                       match=r"num_hiden_layers: unknown config field; did "
                       r"you mean 'num_hidden_layers'\?"):
        modeling.BertConfig.from_json_file(path)


def test_published_teacher_extras_are_accepted():
    config = modeling.BertConfig.from_dict(
        dict(TINY, directionality="bidi", pooler_fc_size=8,
             pooler_type="first_token_transform"))
    assert config.num_hidden_layers == 1


# ---------------------------------------------------------------------------
# Classification files.
# ---------------------------------------------------------------------------


def lcqmc_examples(data_dir, split="dev", require_labels=True):
    return classifier_data.get_processor("lcqmc").get_examples(
        str(data_dir), split, require_labels)


def test_header_only_split_is_an_error(tmp_path):
    utf8_file(tmp_path / "dev.txt", ["text_a\ttext_b\tlabel"])
    with pytest.raises(ValueError, match=r"dev.txt: no examples"):
        lcqmc_examples(tmp_path)


def test_row_with_an_embedded_tab_names_file_and_line(tmp_path):
    utf8_file(tmp_path / "dev.txt", ["好\t不好\t1", "好\t不\t好\t0"])
    with pytest.raises(ValueError, match=r"dev.txt:2: expected 3 "
                       r"tab-separated columns, got 4"):
        lcqmc_examples(tmp_path)


def test_header_row_fixes_the_column_count(tmp_path):
    utf8_file(tmp_path / "train.tsv",
              ["label\ttext_a", "1\t好", "0\t不\t好"])
    with pytest.raises(ValueError, match=r"train.tsv:3: expected 2 "):
        classifier_data.get_processor("chnsenticorp").get_examples(
            str(tmp_path), "train")


@pytest.mark.parametrize("header", [[], ["text_a\ttext_b"]])
def test_unlabeled_test_split_reads_for_prediction_only(tmp_path, header):
    utf8_file(tmp_path / "test.txt", header + ["今天\t明天", "好\t不好"])
    result = lcqmc_examples(tmp_path, "test", require_labels=False)
    assert [(e.text_a, e.text_b, e.label) for e in result] == [
        ("今天", "明天", None), ("好", "不好", None)]
    with pytest.raises(ValueError, match=r"test.txt:1: expected at least 3 "
                       r".*--do_predict only"):
        lcqmc_examples(tmp_path, "test")


def test_unlabeled_cached_features_are_refused_for_evaluation(
        tmp_path, tokenizer):
    utf8_file(tmp_path / "test.txt", ["今天\t明天"])
    processor = classifier_data.get_processor("lcqmc")

    def prepare(require_labels):
        return classifier_data.prepare_features(
            processor, "lcqmc", "test", str(tmp_path), tokenizer, 8, VOCAB,
            None, True, str(tmp_path / "out"), str(tmp_path / "cache"),
            require_labels=require_labels)

    path, count = prepare(require_labels=False)
    assert count == 1
    assert classifier_data.read_features(path, 8)[0]["label_ids"] == 0
    with pytest.raises(ValueError, match=r"test.txt: has no label column"):
        prepare(require_labels=True)


@pytest.mark.parametrize("bom,newline", [(True, "\n"), (False, "\r\n"),
                                         (True, "\r\n")])
def test_tsv_with_bom_and_crlf_reads_like_plain_utf8(tmp_path, bom, newline):
    utf8_file(tmp_path / "plain" / "dev.tsv",
              ["text_a\ttext_b\tlabel", "好\t不好\t1"])
    utf8_file(tmp_path / "variant" / "dev.tsv",
              ["text_a\ttext_b\tlabel", "好\t不好\t1"], bom, newline)
    processor = classifier_data.get_processor("bqcorpus")
    plain, variant = [[(e.text_a, e.text_b, e.label)
                       for e in processor.get_examples(str(tmp_path / d),
                                                       "dev")]
                      for d in ("plain", "variant")]
    assert variant == plain == [("好", "不好", "1")]


# ---------------------------------------------------------------------------
# JSON, vocabularies, pretraining text.
# ---------------------------------------------------------------------------


def squad_json(question_id="Q1"):
    return {"data": [{"paragraphs": [{
        "context": "北京大学在北京。",
        "qas": [{"id": question_id, "question": "在哪里？",
                 "answers": [{"text": "北京", "answer_start": 5}]}]}]}]}


def test_json_with_bom_and_crlf(tmp_path):
    text = json.dumps(squad_json(), ensure_ascii=False, indent=1)
    path = write_bytes(tmp_path / "d.json",
                       BOM + text.replace("\n", "\r\n").encode("utf-8"))
    assert squad_data.load_dataset(path) == squad_json()


@pytest.mark.parametrize("data,expected", [
    (b"\xff\xfe{}", r"d.json, line 1: not valid UTF-8"),
    (b"[" * 100000 + b"]" * 100000, r"d.json: JSON nested too deep"),
    (b"[1, 2]", r"d.json: the top-level value is a JSON array; expected a "
     r"JSON object"),
    (b'{"data": [', r"d.json: not valid JSON \(.*line 1"),
], ids=["not_utf8", "too_deep", "array", "truncated"])
def test_json_readers_name_the_file(tmp_path, data, expected):
    path = write_bytes(tmp_path / "d.json", data)
    with pytest.raises(ValueError, match=expected):
        squad_data.load_dataset(path)
    with pytest.raises(ValueError, match=expected):
        cmrc2018_evaluate.evaluate_files(path, path)


def test_missing_vocab_file_names_file_and_flag(tmp_path):
    missing = str(tmp_path / "vocab.txt")
    with pytest.raises(ValueError, match=r"vocab.txt \(--vocab_file\): "
                       r"vocabulary file not found"):
        tokenization.FullTokenizer(missing)


def test_vocab_with_bom_and_crlf(tmp_path):
    path = utf8_file(tmp_path / "vocab.txt", ["[UNK]", "好"], bom=True,
                     newline="\r\n")
    assert list(tokenization.load_vocab(path)) == ["[UNK]", "好"]


def test_pretraining_text_with_bom_and_crlf(tmp_path):
    path = utf8_file(tmp_path / "text.txt", ["好", "", "不好"], bom=True,
                     newline="\r\n")
    documents, _ = pretraining_text.read_file_documents(
        path, lambda line: pretraining_text.Sentence(
            tuple(line), (False,) * len(line)))
    assert [[s.token_ids for s in d] for d in documents] == [[("好",)],
                                                             [("不", "好")]]


# ---------------------------------------------------------------------------
# The CMRC 2018 metric.
# ---------------------------------------------------------------------------


def test_metric_refuses_non_string_answers_naming_file_and_id(tmp_path):
    with pytest.raises(ValueError, match=r"^pred.json: the answer of question "
                       r"'Q1' is 2017; expected a string"):
        cmrc2018_evaluate.evaluate(squad_json(), {"Q1": 2017},
                                   predictions_source="pred.json")
    dataset = tmp_path / "dev.json"
    dataset.write_text(json.dumps(squad_json()), encoding="utf-8")
    predictions = tmp_path / "predictions.json"
    predictions.write_text('{"Q1": 7}', encoding="utf-8")
    expected = ("^%s: the answer of question 'Q1' is 7; expected a string"
                % re.escape(str(predictions)))
    with pytest.raises(ValueError, match=expected):
        cmrc2018_evaluate.evaluate_files(str(dataset), str(predictions))


def test_metric_counts_foreign_ids_and_refuses_a_foreign_file(capsys):
    f1, _, total, skip = cmrc2018_evaluate.evaluate(
        squad_json(), {"Q1": "北京", "X9": "a"})
    assert (f1, total, skip) == (100.0, 1, 0)
    assert "1 of 2 prediction ids are not questions" in capsys.readouterr(
    ).err
    with pytest.raises(ValueError, match=r"^pred.json: none of its 1 "
                       r"prediction ids \(e.g. 'X9'\) is a question of "
                       r"dev.json"):
        cmrc2018_evaluate.evaluate(squad_json(), {"X9": "北京"},
                                   source="dev.json",
                                   predictions_source="pred.json")
    # Said before anything else: no "Unanswered question" line first.
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------
# TFLite and TFRecord files.
# ---------------------------------------------------------------------------


def test_a_file_that_is_not_a_tflite_model(tmp_path):
    path = write_bytes(tmp_path / "model.tflite", b"\x00" * 64)
    with pytest.raises(ValueError, match=r"model.tflite \(--lite_model_path"
                       r"\): not a TFLite model"):
        tflite_util.read_tflite_model(path)


# ---------------------------------------------------------------------------
# Feature cache: atomic, complete, concurrent.
# ---------------------------------------------------------------------------


def csc_data(path, rows):
    utf8_file(path / "train.tsv", ["label\ttext_a"] +
              ["%d\t第%d条评论" % (i % 2, i) for i in range(rows)])


def prepare_csc(tokenizer, data_dir, cache_dir):
    return classifier_data.prepare_features(
        classifier_data.get_processor("chnsenticorp"), "chnsenticorp",
        "train", str(data_dir), tokenizer, 8, VOCAB, None, True,
        str(data_dir / "out"), str(cache_dir))


def test_killed_cache_write_leaves_no_entry(tmp_path, tokenizer,
                                            monkeypatch):
    csc_data(tmp_path, 5)
    cache = tmp_path / "cache"
    real = classifier_data.features_to_tf_example
    calls = []

    def dies_on_the_third(features):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the file.
        return real(features)

    monkeypatch.setattr(classifier_data, "features_to_tf_example",
                        dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        prepare_csc(tokenizer, tmp_path, cache)
    assert os.listdir(str(cache)) == []
    monkeypatch.setattr(classifier_data, "features_to_tf_example", real)
    path, count = prepare_csc(tokenizer, tmp_path, cache)
    assert count == 5 and len(classifier_data.read_features(path, 8)) == 5


def test_truncated_cache_entry_with_valid_sidecar_is_rebuilt(tmp_path,
                                                             tokenizer):
    csc_data(tmp_path, 5)
    cache = tmp_path / "cache"
    path, _ = prepare_csc(tokenizer, tmp_path, cache)
    with open(path, "rb") as reader:
        data = reader.read()
    write_bytes(path, data[:len(data) // 2])
    again, count = prepare_csc(tokenizer, tmp_path, cache)
    assert again == path and count == 5
    assert len(classifier_data.read_features(path, 8)) == 5


def test_concurrent_runs_on_one_cache_both_succeed(tmp_path, tokenizer):
    csc_data(tmp_path, 300)
    cache = tmp_path / "cache"
    results, errors = [], []

    def run():
        try:
            results.append(prepare_csc(tokenizer, tmp_path, cache))
        except Exception as error:  # pylint: disable=broad-except
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 2 and results[0] == results[1]
    assert len(classifier_data.read_features(results[0][0], 8)) == 300
    assert sorted(os.listdir(str(cache))) == sorted(
        os.path.basename(results[0][0])[:-len("tf_record")] + ext
        for ext in ("tf_record", "json"))


# ---------------------------------------------------------------------------
# Output folders: settings record, read-only folders.
# ---------------------------------------------------------------------------


def test_training_settings_are_recorded_and_compared(tmp_path):
    out = str(tmp_path / "out")
    os.makedirs(out)
    settings = {"learning_rate": 5e-5, "num_train_epochs": 3.0}
    finetune_util.check_train_settings(out, settings, overwrite=False)
    finetune_util.check_train_settings(out, settings, overwrite=False)
    with pytest.raises(ValueError) as error:
        finetune_util.check_train_settings(
            out, dict(settings, learning_rate=1e-4), overwrite=False)
    assert "learning_rate: 5e-05 there, 0.0001 now" in str(error.value)
    assert "--overwrite_output_dir" in str(error.value)
    utf8_file(tmp_path / "out" / "checkpoint", ["x"])
    finetune_util.check_train_settings(
        out, dict(settings, learning_rate=1e-4), overwrite=True)
    assert os.listdir(out) == [finetune_util.SETTINGS_FILE]


def test_checkpoint_without_settings_record_is_refused(tmp_path):
    out = tmp_path / "out"
    utf8_file(out / "checkpoint",
              ['model_checkpoint_path: "model.ckpt-10"'])
    utf8_file(out / "model.ckpt-10.index", [""])
    with pytest.raises(ValueError, match=r"holds a checkpoint but no "
                       r"train_settings.json"):
        finetune_util.check_train_settings(str(out), {}, overwrite=False)


def test_output_folder_that_cannot_be_written(tmp_path, monkeypatch):
    blocker = write_bytes(tmp_path / "file", b"")
    with pytest.raises(ValueError, match=r"file/out \(--output_dir\): "
                       r"cannot create the folder"):
        file_io.check_writable_dir(blocker + "/out", "output_dir")
    real_open = io.open

    def read_only(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(file_io.io, "open", read_only)
    with pytest.raises(ValueError, match=r"out \(--output_dir\): the folder "
                       r"is not writable \(Permission denied\)"):
        file_io.check_writable_dir(str(tmp_path / "out"), "output_dir")


# ---------------------------------------------------------------------------
# Entry scripts: one ERROR line, exit status 1.
# ---------------------------------------------------------------------------


def test_entry_script_ends_an_input_error_with_one_line(tmp_path):
    config = write_bytes(tmp_path / "config.json",
                         json.dumps(dict(TINY, use_bottleneck="false"))
                         .encode())
    run = subprocess.run(
        [sys.executable, os.path.join(REPO, "finetune", "run_classifier.py"),
         "--task_name=lcqmc", "--data_dir=" + str(tmp_path),
         "--vocab_file=" + VOCAB, "--bert_config_file=" + config,
         "--output_dir=" + str(tmp_path / "out"), "--do_eval"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, cwd=REPO)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last == ("ERROR: %s (--bert_config_file): use_bottleneck: "
                    "expected true or false, got 'false'" % config)
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------------------
# Resumed fine-tuning continues the input order.
# ---------------------------------------------------------------------------


def test_resumed_input_continues_the_uninterrupted_order():
    from pretrain import estimator_util
    records = [tf.train.Example(features=tf.train.Features(feature={
        "x": estimator_util.int64_feature([i])})).SerializeToString()
               for i in range(10)]
    spec = {"x": tf.io.FixedLenFeature([], tf.int64)}

    def batches(skip_records, count):
        with tf.Graph().as_default():
            dataset = estimator_util.batch_records(
                tf.data.Dataset.from_tensor_slices(records), spec, 4,
                is_training=True, drop_remainder=True, seed=3,
                shuffle_buffer=10, skip_records=skip_records)
            batch = tf.data.make_one_shot_iterator(dataset).get_next()
            with tf.Session() as sess:
                return [list(sess.run(batch["x"])) for _ in range(count)]

    uninterrupted = batches(0, 6)
    assert batches(3 * 4, 3) == uninterrupted[3:]
    assert batches(0, 3) != uninterrupted[3:]
