# coding=utf-8
"""Tests for pretrain/create_pretraining_data.py on CMRC 2018 contexts.

The corpus is the CMRC 2018 trial set's contexts, one paragraph per document,
split into sentences after 。！？. Records are decoded with the protobuf
parser, independently of the writer.
"""

import hashlib
import json
import os
import random
import re
import sys
import types

import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, SHARED, run_ok

from pretrain import create_pretraining_data as cpd
from pretrain import estimator_util
from pretrain import tokenization

VOCAB_FILE = os.path.join(SHARED, "data", "vocab", "chinese_vocab.txt")
CMRC_TRIAL = os.path.join(SHARED, "data", "cmrc2018", "cmrc2018_trial.json")
SCRIPT = os.path.join(REPO, "pretrain", "create_pretraining_data.py")

MAX_SEQ_LENGTH = 64
MAX_PREDICTIONS = 20
MASKED_LM_PROB = 0.15
DUPE_FACTOR = 2
SEED = 12345
OPTIONS = dict(max_seq_length=MAX_SEQ_LENGTH,
               max_predictions_per_seq=MAX_PREDICTIONS,
               dupe_factor=DUPE_FACTOR, masked_lm_prob=MASKED_LM_PROB,
               short_seq_prob=0.1)
INT_FEATURES = {
    "input_ids": MAX_SEQ_LENGTH,
    "input_mask": MAX_SEQ_LENGTH,
    "segment_ids": MAX_SEQ_LENGTH,
    "masked_lm_positions": MAX_PREDICTIONS,
    "masked_lm_ids": MAX_PREDICTIONS,
    "next_sentence_labels": 1,
}
FLOAT_FEATURES = {"masked_lm_weights": MAX_PREDICTIONS}


# --------------------------------------------------------------------------
# Helpers and shared fixtures.


def split_sentences(paragraph):
    """Splits a paragraph after 。！？ into stripped, non-empty sentences."""
    pieces = re.findall(r"[^。！？]+[。！？]?", paragraph)
    return [piece.strip() for piece in pieces if piece.strip()]


def write_corpus(path, documents):
    """Writes documents (lists of sentences) with blank lines between."""
    with open(path, "w", encoding="utf-8") as writer:
        writer.write("\n\n".join("\n".join(document)
                                 for document in documents) + "\n")
    return path


def sha256(path):
    """Hex SHA-256 digest of a file's bytes."""
    with open(path, "rb") as reader:
        return hashlib.sha256(reader.read()).hexdigest()


def read_records(path):
    """Returns the raw serialized records of a TFRecord file."""
    return list(tf.io.tf_record_iterator(path))


def decode(record):
    """Decodes a serialized example into {name: (value kind, values)}."""
    example = tf.train.Example.FromString(record)
    decoded = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        decoded[name] = (kind, list(getattr(feature, kind).value))
    return decoded


def decode_values(record):
    """Decodes a serialized example into {name: list of values}."""
    return {name: values for name, (_, values) in decode(record).items()}


def original_ids(features):
    """The input ids with every masked position restored to its label."""
    ids = list(features["input_ids"])
    count = int(sum(features["masked_lm_weights"]))
    for position, label in zip(features["masked_lm_positions"][:count],
                               features["masked_lm_ids"][:count]):
        ids[position] = label
    return ids


def words_of(continues_word):
    """Groups token indexes into words from the continues_word flags."""
    words = []
    for index, continues in enumerate(continues_word):
        if continues:
            words[-1].append(index)
        else:
            words.append([index])
    return words


@pytest.fixture(scope="module")
def tokenizer():
    return tokenization.FullTokenizer(VOCAB_FILE, do_lower_case=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("pretraining_data")


@pytest.fixture(scope="module")
def corpus(workdir):
    with open(CMRC_TRIAL, encoding="utf-8") as reader:
        articles = json.load(reader)["data"]
    documents = [split_sentences(paragraph["context"])
                 for article in articles
                 for paragraph in article["paragraphs"]]
    return write_corpus(str(workdir / "cmrc_trial.txt"), documents)


@pytest.fixture(scope="module")
def plain_records(workdir, corpus, tokenizer):
    """Token-level masking, seed SEED, one output file."""
    path = str(workdir / "plain.tfrecord")
    count = cpd.build_records([corpus], [path], tokenizer, random_seed=SEED,
                              **OPTIONS)
    return path, count


@pytest.fixture(scope="module")
def wwm_documents(corpus, tokenizer):
    """The corpus read with word boundaries."""
    return cpd.read_documents([corpus], tokenizer, do_whole_word_mask=True)


@pytest.fixture(scope="module")
def wwm_instances(wwm_documents, tokenizer):
    """Whole-word-masked instances built from the pieces, seed SEED."""
    return cpd.create_training_instances(
        wwm_documents, list(tokenizer.vocab.keys()), random.Random(SEED),
        MAX_SEQ_LENGTH, DUPE_FACTOR, OPTIONS["short_seq_prob"],
        MASKED_LM_PROB, MAX_PREDICTIONS)


@pytest.fixture(scope="module")
def wwm_records(workdir, wwm_instances, tokenizer):
    """`wwm_instances` written to one file."""
    path = str(workdir / "wwm.tfrecord")
    cpd.write_instances_to_example_files(wwm_instances, tokenizer,
                                         MAX_SEQ_LENGTH, MAX_PREDICTIONS,
                                         [path])
    return path


# --------------------------------------------------------------------------
# Record format.


def test_records_have_the_documented_features(plain_records):
    path, count = plain_records
    records = read_records(path)
    assert len(records) == count > 1000
    for record in records:
        decoded = decode(record)
        assert set(decoded) == set(INT_FEATURES) | set(FLOAT_FEATURES)
        for name, length in INT_FEATURES.items():
            kind, values = decoded[name]
            assert kind == "int64_list" and len(values) == length, name
        for name, length in FLOAT_FEATURES.items():
            kind, values = decoded[name]
            assert kind == "float_list" and len(values) == length, name


def test_special_tokens_segment_ids_and_mask(plain_records, tokenizer):
    cls_id, sep_id = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
    labels = set()
    for record in read_records(plain_records[0]):
        features = decode_values(record)
        mask = features["input_mask"]
        length = sum(mask)
        assert mask == [1] * length + [0] * (MAX_SEQ_LENGTH - length)
        assert features["input_ids"][length:] == [0] * (
            MAX_SEQ_LENGTH - length)
        ids = original_ids(features)[:length]
        sep_positions = [i for i, token_id in enumerate(ids)
                         if token_id == sep_id]
        assert ids[0] == cls_id and cls_id not in ids[1:]
        assert len(sep_positions) == 2 and sep_positions[1] == length - 1
        first_sep = sep_positions[0]
        assert 2 <= first_sep <= length - 3  # A and B are not empty.
        assert features["segment_ids"] == (
            [0] * (first_sep + 1) + [1] * (length - first_sep - 1) +
            [0] * (MAX_SEQ_LENGTH - length))
        labels.add(features["next_sentence_labels"][0])
    assert labels == {0, 1}


def test_masked_positions_count_ratio_and_labels(plain_records, tokenizer):
    specials = set(tokenizer.convert_tokens_to_ids(
        ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]))
    mask_id = tokenizer.vocab["[MASK]"]
    total_tokens = total_predictions = shown_as_mask = kept = 0
    for record in read_records(plain_records[0]):
        features = decode_values(record)
        length = sum(features["input_mask"])
        weights = features["masked_lm_weights"]
        count = int(sum(weights))
        assert 1 <= count <= MAX_PREDICTIONS
        assert weights == [1.0] * count + [0.0] * (MAX_PREDICTIONS - count)
        positions = features["masked_lm_positions"]
        labels = features["masked_lm_ids"]
        assert positions[count:] == [0] * (MAX_PREDICTIONS - count)
        assert labels[count:] == [0] * (MAX_PREDICTIONS - count)
        positions, labels = positions[:count], labels[:count]
        assert positions == sorted(set(positions))
        assert all(0 < position < length - 1 for position in positions)
        assert not specials & set(labels)
        assert all(0 <= label < len(tokenizer.vocab) for label in labels)
        shown = [features["input_ids"][position] for position in positions]
        shown_as_mask += sum(token_id == mask_id for token_id in shown)
        kept += sum(a == b for a, b in zip(shown, labels))
        total_tokens += length
        total_predictions += count
    assert abs(total_predictions / total_tokens - MASKED_LM_PROB) < 0.01
    assert abs(shown_as_mask / total_predictions - 0.8) < 0.02
    assert abs(kept / total_predictions - 0.1) < 0.02


def test_shards_are_filled_round_robin_by_the_command_line(
        wwm_records, corpus, workdir):
    """The script (`build_records` in a new process) with two shards
    reproduces the single file written from the pieces."""
    shards = [str(workdir / "cli-0.tfrecord"), str(workdir / "cli-1.tfrecord")]
    command = [
        sys.executable, SCRIPT, "--input_file=" + corpus,
        "--output_file=" + ",".join(shards), "--vocab_file=" + VOCAB_FILE,
        "--max_seq_length=%d" % MAX_SEQ_LENGTH,
        "--max_predictions_per_seq=%d" % MAX_PREDICTIONS,
        "--dupe_factor=%d" % DUPE_FACTOR, "--random_seed=%d" % SEED,
        "--do_whole_word_mask"]
    result = run_ok(command, merge_stderr=True)
    assert "*** Example ***" in result.stdout
    assert "masked_lm_labels: " in result.stdout
    first, second = read_records(shards[0]), read_records(shards[1])
    single = read_records(wwm_records)
    assert len(first) - len(second) in (0, 1)
    assert single[0::2] == first and single[1::2] == second


# --------------------------------------------------------------------------
# Sentence-pair packing on a corpus whose documents are told apart by their
# characters.


DOCUMENT_CHARS = "甲乙丙丁戊己"


@pytest.fixture(scope="module")
def labelled_instances(workdir, tokenizer):
    documents = [[char * (3 + (index + number) % 5) + "。"
                  for index in range(8)]
                 for number, char in enumerate(DOCUMENT_CHARS)]
    path = write_corpus(str(workdir / "labelled.txt"), documents)
    documents = cpd.read_documents([path], tokenizer, False)
    return cpd.create_training_instances(
        documents, list(tokenizer.vocab.keys()), random.Random(7),
        max_seq_length=16, dupe_factor=3, short_seq_prob=0.0,
        masked_lm_prob=MASKED_LM_PROB, max_predictions_per_seq=4)


def segment_documents(instance, segment_id):
    """The document characters in one segment of an unmasked instance."""
    tokens = list(instance.tokens)
    for position, label in zip(instance.masked_lm_positions,
                               instance.masked_lm_labels):
        tokens[position] = label
    return {token for token, segment in zip(tokens, instance.segment_ids)
            if segment == segment_id and token in DOCUMENT_CHARS}


def test_segment_b_is_random_exactly_when_labelled(labelled_instances):
    kinds = set()
    for instance in labelled_instances:
        assert len(instance.tokens) <= 16
        first = segment_documents(instance, 0)
        second = segment_documents(instance, 1)
        assert len(first) == 1 and len(second) == 1
        assert (first != second) == instance.is_random_next
        kinds.add(instance.is_random_next)
    assert kinds == {False, True}


def test_pairs_are_packed_up_to_the_maximum_length(labelled_instances):
    lengths = [len(instance.tokens) for instance in labelled_instances]
    assert max(lengths) == 16
    assert sum(length >= 12 for length in lengths) > len(lengths) // 2


def test_truncation_trims_the_longer_segment_from_either_end():
    rng = random.Random(3)
    fronts = backs = 0
    for _ in range(50):
        first, second = list(range(10)), list(range(100, 103))
        cpd.truncate_seq_pair(first, second, 8, rng)
        assert len(first) == 5 and second == [100, 101, 102]
        assert first == list(range(first[0], first[0] + 5))
        fronts += first[0] > 0
        backs += first[-1] < 9
    assert fronts > 0 and backs > 0


# --------------------------------------------------------------------------
# Whole-word masking.


def test_segment_words_follows_jieba_and_keeps_plain_tokens(tokenizer):
    text = "我们在北京大学读书，Tokenization。"
    sentence = cpd.segment_words(text, tokenizer)
    assert list(sentence.tokens) == tokenizer.tokenize(text)
    english = tokenizer.tokenize("Tokenization")
    assert len(english) > 1 and english[1].startswith("##")
    expected_words = ([["我", "们"], ["在"], ["北", "京", "大", "学"],
                       ["读", "书"], ["，"], english, ["。"]])
    tokens = list(sentence.tokens)
    assert [[tokens[i] for i in word]
            for word in words_of(sentence.continues_word)] == expected_words


def test_word_segmentation_never_changes_the_tokens(corpus, tokenizer,
                                                    wwm_documents):
    plain = cpd.read_documents([corpus], tokenizer, False)
    words = wwm_documents
    assert any(any(s.continues_word) for document in words for s in document)
    assert [[s.tokens for s in document] for document in plain] == [
        [s.tokens for s in document] for document in words]
    assert not any(any(s.continues_word) for document in plain
                   for s in document)


def test_every_masked_word_is_masked_whole(wwm_instances):
    masked_multi_char_words = 0
    total_tokens = total_predictions = 0
    for instance in wwm_instances:
        masked = set(instance.masked_lm_positions)
        assert len(masked) <= MAX_PREDICTIONS
        for word in words_of(instance.continues_word):
            hits = masked.intersection(word)
            assert not hits or hits == set(word), (
                [instance.tokens[i] for i in word], sorted(hits))
            masked_multi_char_words += len(word) > 1 and bool(hits)
        for position, token in enumerate(instance.tokens):
            if token in ("[CLS]", "[SEP]"):
                assert not instance.continues_word[position]
                assert position not in masked
        total_tokens += len(instance.tokens)
        total_predictions += len(masked)
    assert masked_multi_char_words > 1000
    assert 0.12 < total_predictions / total_tokens <= MASKED_LM_PROB + 0.01


def test_written_wwm_records_match_the_instances(wwm_instances, wwm_records,
                                                 tokenizer):
    """The records hold exactly the instances, with plain char ids."""
    records = read_records(wwm_records)
    assert len(records) == len(wwm_instances)
    inv_vocab = tokenizer.inv_vocab
    for record, instance in zip(records, wwm_instances):
        features = decode_values(record)
        length = sum(features["input_mask"])
        count = int(sum(features["masked_lm_weights"]))
        input_tokens = [inv_vocab[i] for i in features["input_ids"][:length]]
        assert input_tokens == instance.tokens
        assert features["segment_ids"][:length] == instance.segment_ids
        assert (features["masked_lm_positions"][:count] ==
                instance.masked_lm_positions)
        labels = [inv_vocab[i] for i in features["masked_lm_ids"][:count]]
        assert labels == instance.masked_lm_labels
        for token in labels:  # The original tokens at masked positions.
            assert not (token.startswith("##") and len(token) == 3 and
                        tokenization.is_chinese_char(ord(token[2])))


# --------------------------------------------------------------------------
# Determinism.


def test_same_seed_gives_identical_bytes(plain_records, corpus, tokenizer,
                                         workdir):
    again = str(workdir / "plain-again.tfrecord")
    cpd.build_records([corpus], [again], tokenizer, random_seed=SEED,
                      **OPTIONS)
    assert sha256(again) == sha256(plain_records[0])


def test_different_seed_gives_different_bytes(plain_records, corpus,
                                              tokenizer, workdir):
    other = str(workdir / "plain-other-seed.tfrecord")
    cpd.build_records([corpus], [other], tokenizer, random_seed=SEED + 1,
                      **OPTIONS)
    assert sha256(other) != sha256(plain_records[0])


# --------------------------------------------------------------------------
# Bad input.


def test_empty_glob_names_the_pattern(tmp_path, corpus):
    pattern = str(tmp_path / "missing-*.txt")
    with pytest.raises(ValueError, match=re.escape(pattern)):
        estimator_util.expand_input_files("%s,%s" % (corpus, pattern))
    in_missing_directory = str(tmp_path / "missing" / "*.txt")
    with pytest.raises(ValueError, match=re.escape(in_missing_directory)):
        estimator_util.expand_input_files(in_missing_directory)
    with pytest.raises(ValueError, match="No input file"):
        estimator_util.expand_input_files(" , ")


def test_glob_and_comma_list_are_expanded_in_sorted_order(tmp_path):
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text("x\n")
    files = estimator_util.expand_input_files("%s,%s" % (tmp_path / "c.md",
                                              tmp_path / "*.txt"))
    assert files == [str(tmp_path / name)
                     for name in ("c.md", "a.txt", "b.txt")]


def test_file_without_documents_is_named(tmp_path, corpus, tokenizer):
    empty = str(tmp_path / "blank.txt")
    with open(empty, "w") as writer:
        writer.write("\n \n\t\n")
    with pytest.raises(ValueError, match=re.escape(empty) + ".*no documents"):
        cpd.build_records([corpus, empty], [str(tmp_path / "out")],
                          tokenizer, **OPTIONS)


def test_invalid_utf8_names_file_and_line(tmp_path, tokenizer):
    path = str(tmp_path / "latin1.txt")
    with open(path, "wb") as writer:
        writer.write("第一句。\n".encode("utf-8") + b"caf\xe9\n")
    with pytest.raises(ValueError,
                       match=re.escape(path) + r" \(--input_file\), line 2"):
        cpd.read_documents([path], tokenizer, False)


def test_single_document_is_rejected(tmp_path, tokenizer):
    path = write_corpus(str(tmp_path / "one.txt"), [["一句。", "两句。"]])
    with pytest.raises(ValueError, match="at least 2"):
        cpd.build_records([path], [str(tmp_path / "out")], tokenizer,
                          **OPTIONS)


@pytest.mark.parametrize("option, value, message", [
    ("max_seq_length", 4, "max_seq_length"),
    ("max_predictions_per_seq", 0, "max_predictions_per_seq"),
    ("dupe_factor", 0, "dupe_factor"),
    ("masked_lm_prob", 0.0, "masked_lm_prob"),
    ("short_seq_prob", 1.5, "short_seq_prob"),
])
def test_bad_options_are_rejected(option, value, message, corpus, tokenizer,
                                  tmp_path):
    options = dict(OPTIONS, **{option: value})
    with pytest.raises(ValueError, match=message):
        cpd.build_records([corpus], [str(tmp_path / "out")], tokenizer,
                          **options)
    assert not os.path.exists(str(tmp_path / "out"))


def test_whole_word_masking_with_sentencepiece_is_rejected(corpus):
    sentencepiece_tokenizer = types.SimpleNamespace(sp_model=object())
    with pytest.raises(ValueError, match="spm_model_file"):
        cpd.read_documents([corpus], sentencepiece_tokenizer,
                           do_whole_word_mask=True)


def test_vocabulary_without_mask_token_is_rejected(tmp_path, corpus):
    vocab = str(tmp_path / "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as writer:
        writer.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "的"]))
    small = tokenization.FullTokenizer(vocab)
    with pytest.raises(ValueError, match=re.escape("[MASK]")):
        cpd.build_records([corpus], [str(tmp_path / "out")], small,
                          **OPTIONS)
