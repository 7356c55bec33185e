# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Tests for the bundled demo data and its generator."""

import collections
import io
import json
import os

import pytest

from conftest import REPO
from finetune import cmrc2018_evaluate
from pretrain import modeling
from pretrain import tokenization
from scripts import make_demo_data

DEMO_DIR = os.path.join(REPO, "scripts", "demo_data")
SPLITS = ("train", "dev")


def read_text(relative_path):
    with io.open(os.path.join(DEMO_DIR, relative_path), encoding="utf-8",
                 newline="") as reader:
        return reader.read()


def read_sentiment(split):
    lines = read_text("sentiment/%s.tsv" % split).split("\n")
    assert lines[-1] == "", "file must end with one newline"
    return lines[0], [line.split("\t") for line in lines[1:-1]]


def read_mrc(split):
    return json.loads(read_text("mrc/%s.json" % split))


def iter_qas(dataset):
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield paragraph, qa


def all_texts():
    documents = read_text("corpus.txt").split("\n\n")
    texts = [line for document in documents for line in document.split("\n")]
    for split in SPLITS:
        texts.extend(text for _, text in read_sentiment(split)[1])
        texts.extend(make_demo_data.mrc_texts(read_mrc(split)))
    return texts


def test_corpus_is_bert_pretraining_format():
    text = read_text("corpus.txt")
    assert text.endswith("\n") and not text.endswith("\n\n")
    documents = text[:-1].split("\n\n")
    assert 150 <= len(documents) <= 300
    for number, document in enumerate(documents):
        sentences = document.split("\n")
        assert 3 <= len(sentences) <= 8, "document %d" % number
        for sentence in sentences:
            assert sentence and sentence == sentence.strip()
            assert sentence[-1] in "。！？", sentence
    assert len(set(text)) > 600, "the vocabulary should be varied"


def test_sentiment_tsv_layout_and_balance():
    texts = {}
    for split in SPLITS:
        header, rows = read_sentiment(split)
        assert header == "label\ttext_a"
        assert all(len(row) == 2 for row in rows)
        labels = collections.Counter(row[0] for row in rows)
        assert set(labels) == {"0", "1"}
        assert labels["0"] == labels["1"]
        texts[split] = [row[1] for row in rows]
        assert len(set(texts[split])) == len(texts[split]), "duplicates"
    assert 700 <= len(texts["train"]) <= 900
    assert 150 <= len(texts["dev"]) <= 250
    assert not set(texts["train"]) & set(texts["dev"])


def test_sentiment_has_turning_reviews_of_both_labels():
    _, rows = read_sentiment("train")
    turning = collections.Counter(label for label, text in rows
                                  if "但是" in text)
    assert turning["0"] >= 20 and turning["1"] >= 20


def test_mrc_answers_point_at_their_text():
    for split in SPLITS:
        dataset = read_mrc(split)
        assert "version" in dataset
        for article in dataset["data"]:
            assert article["title"] and article["id"]
        for paragraph, qa in iter_qas(dataset):
            context = paragraph["context"]
            assert qa["question"].endswith("？")
            assert qa["id"].startswith(paragraph["id"] + "_QUERY_")
            for answer in qa["answers"]:
                start = answer["answer_start"]
                assert isinstance(start, int)
                end = start + len(answer["text"])
                assert context[start:end] == answer["text"], qa["id"]


def test_mrc_sizes_references_and_splits():
    train, dev = read_mrc("train"), read_mrc("dev")
    train_qas = [qa for _, qa in iter_qas(train)]
    dev_qas = [qa for _, qa in iter_qas(dev)]
    assert 120 <= len(train_qas) <= 200 and 40 <= len(dev_qas) <= 70
    assert all(len(qa["answers"]) == 1 for qa in train_qas)
    counts = collections.Counter(len(qa["answers"]) for qa in dev_qas)
    assert set(counts) == {1, 2, 3}
    ids = [qa["id"] for qa in train_qas + dev_qas]
    assert len(set(ids)) == len(ids)
    contexts = [{paragraph["context"] for paragraph, _ in iter_qas(dataset)}
                for dataset in (train, dev)]
    assert not contexts[0] & contexts[1]
    assert any(any(char.isascii() and char.isalpha() for char in
                   qa["answers"][0]["text"]) for qa in train_qas)


def test_mrc_dev_scores_perfectly_against_itself():
    dev = read_mrc("dev")
    predictions = {qa["id"]: qa["answers"][-1]["text"]
                   for _, qa in iter_qas(dev)}
    f1, em, total, skip = cmrc2018_evaluate.evaluate(dev, predictions)
    assert (f1, em, total, skip) == (100.0, 100.0, len(predictions), 0)


def test_vocab_covers_every_demo_text():
    vocab_file = os.path.join(DEMO_DIR, "vocab.txt")
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
    assert list(tokenizer.vocab)[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                         "[MASK]"]
    unknown = [text for text in all_texts()
               if "[UNK]" in tokenizer.tokenize(text)]
    assert not unknown, unknown[:3]
    assert tokenizer.tokenize("Lumo Pro 3") == ["lumo", "pro", "3"]
    assert tokenizer.tokenize("qx7") == ["q", "##x", "##7"]


def test_demo_configs_match_the_vocab():
    vocab_size = len(tokenization.load_vocab(
        os.path.join(DEMO_DIR, "vocab.txt")))
    teacher = modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", "demo_teacher.json"))
    student = modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", "demo_student.json"))
    assert teacher.vocab_size == student.vocab_size == vocab_size
    assert student.hidden_size == teacher.hidden_size
    assert student.embedding_size == teacher.hidden_size
    assert student.num_hidden_layers == teacher.num_hidden_layers
    assert student.num_attention_heads == teacher.num_attention_heads
    assert student.use_bottleneck and not teacher.use_bottleneck


def test_data_is_small():
    total = sum(os.path.getsize(os.path.join(root, name))
                for root, _, names in os.walk(DEMO_DIR) for name in names)
    assert total < 512 * 1024


def test_regeneration_is_byte_identical(tmp_path):
    files = make_demo_data.write_demo_data(str(tmp_path))
    committed = sorted(
        os.path.relpath(os.path.join(root, name), DEMO_DIR)
        for root, _, names in os.walk(DEMO_DIR) for name in names)
    assert sorted(files) == committed
    for relative_path in files:
        with open(os.path.join(DEMO_DIR, relative_path), "rb") as reader:
            expected = reader.read()
        with open(os.path.join(str(tmp_path), relative_path), "rb") as reader:
            assert reader.read() == expected, relative_path


def test_another_seed_gives_other_data():
    assert (make_demo_data.generate_files(1)["corpus.txt"] !=
            make_demo_data.generate_files(2)["corpus.txt"])


def test_template_slot_without_bank_is_named():
    with pytest.raises(KeyError, match="nowhere_slot"):
        make_demo_data.check_templates(["去{nowhere_slot}旅行。"],
                                       make_demo_data.CORPUS_BANKS)


def test_answer_variant_must_be_part_of_the_phrase():
    with pytest.raises(ValueError, match="1988"):
        make_demo_data.Phrase("1987年", ["1988"])


def test_ner_files_are_tagged_sentences_in_the_vocab():
    from finetune import ner_data
    tokenizer = tokenization.FullTokenizer(
        os.path.join(DEMO_DIR, "vocab.txt"), do_lower_case=True)
    texts = {}
    for split, count in make_demo_data.NER_SENTENCES.items():
        path = os.path.join(DEMO_DIR, "ner", "%s.txt" % split)
        sentences, tagged = ner_data.read_sentences(path)
        assert tagged and len(sentences) == count
        assert ner_data.labels_of(sentences) == [
            "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
        for sentence in sentences:
            for token, tag in zip(sentence.tokens, sentence.tags):
                assert tokenizer.tokenize(token) == [token], token
                if tag != "O":
                    assert tag[2:] in make_demo_data.NER_BANKS
        texts[split] = set("".join(s.tokens) for s in sentences)
        assert len(texts[split]) == count, "duplicates"
    assert not texts["train"] & texts["dev"]


def test_ner_characters_outside_the_vocab_are_named():
    ner = {"train": [[("鑫", "B-PER"), ("。", "O")]], "dev": []}
    with pytest.raises(ValueError, match="vocabulary: 鑫"):
        make_demo_data.check_ner_characters(ner, ["。"])
