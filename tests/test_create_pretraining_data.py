# coding=utf-8
"""Tests for pretrain/create_pretraining_data.py on CMRC 2018 contexts.

The corpus is the CMRC 2018 trial set's contexts, one paragraph per document,
split into sentences after 。！？. Records are decoded with the protobuf
parser, independently of the writer.
"""

import gc
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import types

import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, TESTDATA, VOCAB, run_ok

from pretrain import create_pretraining_data as cpd
from pretrain import example_bytes
from pretrain import pretraining_instances
from pretrain import pretraining_text
from pretrain import estimator_util
from pretrain import tokenization

VOCAB_FILE = VOCAB
CMRC_TRIAL = os.path.join(TESTDATA, "cmrc2018", "cmrc2018_trial_head.json")
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
PACKING = pretraining_instances.PackingOptions(**OPTIONS)
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
    return pretraining_text.read_documents([corpus], tokenizer,
                                           do_whole_word_mask=True)


def example_encoder(tokenizer):
    return example_bytes.ExampleEncoder(MAX_SEQ_LENGTH, MAX_PREDICTIONS,
                              len(tokenizer.vocab))


def write_records(path, records):
    """Writes serialized records to one TFRecord file."""
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


@pytest.fixture(scope="module")
def wwm_instances(wwm_documents, tokenizer):
    """Whole-word-masked instances built from the pieces, seed SEED."""
    return pretraining_instances.create_training_instances(
        wwm_documents, cpd.special_ids(tokenizer), random.Random(SEED),
        PACKING)


@pytest.fixture(scope="module")
def wwm_records(workdir, wwm_instances, tokenizer):
    """`wwm_instances` written to one file."""
    encoder = example_encoder(tokenizer)
    return write_records(str(workdir / "wwm.tfrecord"),
                         [encoder.encode(instance)
                          for instance in wwm_instances])


# --------------------------------------------------------------------------
# Record format.


def test_records_have_the_documented_features(plain_records):
    path, count = plain_records
    records = read_records(path)
    # The CMRC 2018 trial slice gives about 700 instances.
    assert len(records) == count > 500
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
    documents = pretraining_text.read_documents([path], tokenizer, False)
    return pretraining_instances.create_training_instances(
        documents, cpd.special_ids(tokenizer), random.Random(7),
        pretraining_instances.PackingOptions(
            max_seq_length=16, max_predictions_per_seq=4, dupe_factor=3,
            masked_lm_prob=MASKED_LM_PROB, short_seq_prob=0.0))


def segment_documents(instance, segment_id, tokenizer):
    """The document characters in one segment of an unmasked instance."""
    token_ids = list(instance.input_ids)
    for position, label in zip(instance.masked_lm_positions,
                               instance.masked_lm_ids):
        token_ids[position] = label
    tokens = tokenizer.convert_ids_to_tokens(token_ids)
    return {token for token, segment in zip(tokens, instance.segment_ids)
            if segment == segment_id and token in DOCUMENT_CHARS}


def test_segment_b_is_random_exactly_when_labelled(labelled_instances,
                                                   tokenizer):
    kinds = set()
    for instance in labelled_instances:
        assert len(instance.input_ids) <= 16
        first = segment_documents(instance, 0, tokenizer)
        second = segment_documents(instance, 1, tokenizer)
        assert len(first) == 1 and len(second) == 1
        assert (first != second) == instance.is_random_next
        kinds.add(instance.is_random_next)
    assert kinds == {False, True}


def test_pairs_are_packed_up_to_the_maximum_length(labelled_instances):
    lengths = [len(instance.input_ids) for instance in labelled_instances]
    assert max(lengths) == 16
    assert sum(length >= 12 for length in lengths) > len(lengths) // 2


def test_truncation_trims_the_longer_segment_from_either_end():
    rng = random.Random(3)
    fronts = backs = 0
    for _ in range(50):
        (first_start, first_end), second = (
            pretraining_instances.truncate_seq_pair(10, 3, 8, rng))
        assert first_end - first_start == 5 and second == (0, 3)
        fronts += first_start > 0
        backs += first_end < 10
    assert fronts > 0 and backs > 0
    # Equal lengths: the second is trimmed first.
    assert pretraining_instances.truncate_seq_pair(4, 4, 7, rng)[0] == (0, 4)


def one_at_a_time_trimmed_counts(first_length, second_length,
                                 max_num_tokens):
    """Items BERT's loop removes from each sequence: always the longer one,
    the second when they are equally long."""
    lengths = [first_length, second_length]
    removed = [0, 0]
    while sum(lengths) > max_num_tokens:
        longer = 0 if lengths[0] > lengths[1] else 1
        lengths[longer] -= 1
        removed[longer] += 1
    return tuple(removed)


def test_truncation_removes_what_the_one_at_a_time_loop_removes():
    rng = random.Random(4)
    for first_length in range(25):
        for second_length in range(25):
            for max_num_tokens in range(0, 52, 3):
                first, second = pretraining_instances.truncate_seq_pair(
                    first_length, second_length, max_num_tokens, rng)
                removed = (first_length - (first[1] - first[0]),
                           second_length - (second[1] - second[0]))
                assert removed == one_at_a_time_trimmed_counts(
                    first_length, second_length, max_num_tokens)
                assert 0 <= first[0] <= first[1] <= first_length
                assert 0 <= second[0] <= second[1] <= second_length


def test_truncation_takes_each_item_from_either_end_with_even_odds():
    rng = random.Random(8)
    # 40 items come off the first sequence each time.
    fronts = [pretraining_instances.truncate_seq_pair(50, 5, 15, rng)[0][0]
              for _ in range(2000)]
    assert set(fronts) <= set(range(41))
    mean = sum(fronts) / len(fronts)
    variance = sum((front - mean) ** 2 for front in fronts) / len(fronts)
    # Binomial(40, 1/2): mean 20, variance 10.
    assert abs(mean - 20) < 0.3
    assert 8.5 < variance < 11.5


# --------------------------------------------------------------------------
# Whole-word masking.


def test_segment_words_follows_jieba_and_keeps_plain_tokens(tokenizer):
    text = "我们在北京大学读书，Tokenization。"
    sentence = pretraining_text.SentenceEncoder(tokenizer, True).encode(text)
    tokens = tokenizer.convert_ids_to_tokens(sentence.token_ids)
    assert tokens == tokenizer.tokenize(text)
    english = tokenizer.tokenize("Tokenization")
    assert len(english) > 1 and english[1].startswith("##")
    expected_words = ([["我", "们"], ["在"], ["北", "京", "大", "学"],
                       ["读", "书"], ["，"], english, ["。"]])
    assert [[tokens[i] for i in word]
            for word in words_of(sentence.continues_word)] == expected_words


# Text where a per-character shortcut could go wrong: a compatibility
# ideograph (NFD changes it), an accent after a CJK character, an
# extension-B character, brackets around SEP, controls, full-width and
# Latin text with accents and numbers.
TRICKY_LINES = ["\uf900\u8c48了\u0301é文\U00020000字[SEP]x\x00\t１２３",
                "Ｈｅｌｌｏ，naïve 中文ＡＢＣ\u3000的 token12 ¿qué? 魑魅",
                "〔注〕一二三；CJK\u2e80部首\u2f00与\ufa6b兼容字"]


def test_encoder_ids_are_the_tokenizers_on_every_line(corpus, tokenizer):
    with open(corpus, encoding="utf-8") as reader:
        lines = [line.strip() for line in reader if line.strip()][:150]
    for do_whole_word_mask in (False, True):
        encoder = pretraining_text.SentenceEncoder(tokenizer,
                                                   do_whole_word_mask)
        for line in lines + TRICKY_LINES:
            expected = tokenizer.convert_tokens_to_ids(
                tokenizer.tokenize(line))
            sentence = encoder.encode(line)
            assert list(sentence.token_ids) == expected, line
            assert len(sentence.continues_word) == len(expected)


def test_word_segmentation_never_changes_the_tokens(corpus, tokenizer,
                                                    wwm_documents):
    plain = pretraining_text.read_documents([corpus], tokenizer, False)
    words = wwm_documents
    assert any(any(s.continues_word) for document in words for s in document)
    assert [[s.token_ids for s in document] for document in plain] == [
        [s.token_ids for s in document] for document in words]
    assert not any(any(s.continues_word) for document in plain
                   for s in document)


def test_every_masked_word_is_masked_whole(wwm_instances, tokenizer):
    specials = set(tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"]))
    masked_multi_char_words = 0
    total_tokens = total_predictions = 0
    for instance in wwm_instances:
        masked = set(instance.masked_lm_positions)
        assert len(masked) <= MAX_PREDICTIONS
        for word in words_of(instance.continues_word):
            hits = masked.intersection(word)
            assert not hits or hits == set(word), (
                [instance.input_ids[i] for i in word], sorted(hits))
            masked_multi_char_words += len(word) > 1 and bool(hits)
        original = list(instance.input_ids)
        for position, label in zip(instance.masked_lm_positions,
                                   instance.masked_lm_ids):
            original[position] = label
        special_positions = [position for position, token_id
                             in enumerate(original) if token_id in specials]
        assert special_positions == [
            0, instance.segment_ids.index(1) - 1, len(original) - 1]
        for position in special_positions:
            assert not instance.continues_word[position]
            assert position not in masked
        total_tokens += len(instance.input_ids)
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
        assert features["input_ids"][:length] == instance.input_ids
        assert features["segment_ids"][:length] == instance.segment_ids
        assert (features["masked_lm_positions"][:count] ==
                instance.masked_lm_positions)
        assert features["masked_lm_ids"][:count] == instance.masked_lm_ids
        assert features["next_sentence_labels"] == [
            int(instance.is_random_next)]
        labels = [inv_vocab[i] for i in features["masked_lm_ids"][:count]]
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


def protobuf_example(instance):
    """The instance as a tf.train.Example built with the protobuf API."""
    def int64s(values, length):
        values = list(values) + [0] * (length - len(values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    count = len(instance.masked_lm_ids)
    features = {
        "input_ids": int64s(instance.input_ids, MAX_SEQ_LENGTH),
        "input_mask": int64s([1] * len(instance.input_ids), MAX_SEQ_LENGTH),
        "segment_ids": int64s(instance.segment_ids, MAX_SEQ_LENGTH),
        "masked_lm_positions": int64s(instance.masked_lm_positions,
                                      MAX_PREDICTIONS),
        "masked_lm_ids": int64s(instance.masked_lm_ids, MAX_PREDICTIONS),
        "masked_lm_weights": tf.train.Feature(float_list=tf.train.FloatList(
            value=[1.0] * count + [0.0] * (MAX_PREDICTIONS - count))),
        "next_sentence_labels": int64s([int(instance.is_random_next)], 1),
    }
    return tf.train.Example(features=tf.train.Features(feature=features))


def test_example_bytes_are_protobufs_deterministic_serialization(
        wwm_instances, tokenizer):
    encoder = example_encoder(tokenizer)
    lengths = set()
    for instance in wwm_instances[:300]:
        expected = protobuf_example(instance).SerializeToString(
            deterministic=True)
        assert encoder.encode(instance) == expected
        lengths.add(len(instance.masked_lm_ids))
    assert len(lengths) > 3  # Different numbers of predictions were seen.


class CountingRandom(random.Random):
    """A random.Random that counts its getrandbits calls."""

    draws = 0

    def getrandbits(self, num_bits):
        self.draws += 1
        return super().getrandbits(num_bits)


def test_random_order_yields_a_permutation_and_permutes_in_place():
    rng = random.Random(11)
    for length in list(range(20)) + [127, 128, 300]:
        items = list(range(length))
        order = list(pretraining_instances.in_random_order(items, rng))
        assert sorted(order) == list(range(length))
        assert items == order


def test_random_order_is_uniform():
    rng = random.Random(5)
    counts = {}
    for _ in range(6000):
        order = tuple(
            pretraining_instances.in_random_order(["a", "b", "c"], rng))
        counts[order] = counts.get(order, 0) + 1
    assert len(counts) == 6
    # Each of the 6 orders: expected 1000, standard deviation about 29.
    assert all(880 < count < 1120 for count in counts.values()), counts


def test_random_order_draws_only_for_the_items_taken():
    rng = CountingRandom(3)
    order = pretraining_instances.in_random_order(list(range(1000)), rng)
    first = [next(order) for _ in range(5)]
    assert len(set(first)) == 5
    # One draw per item, plus rejected draws (each fewer than 1 in 2).
    assert 5 <= rng.draws <= 15


# --------------------------------------------------------------------------
# Several input files, worker processes, interrupted runs.


MULTI_OPTIONS = dict(OPTIONS, dupe_factor=1)


@pytest.fixture(scope="module")
def three_texts():
    """Three small corpora (10, 10 and 20 CMRC trial contexts)."""
    with open(CMRC_TRIAL, encoding="utf-8") as reader:
        articles = json.load(reader)["data"]
    documents = [split_sentences(paragraph["context"])
                 for article in articles
                 for paragraph in article["paragraphs"]][:40]
    return [documents[:10], documents[10:20], documents[20:]]


@pytest.fixture(scope="module")
def three_files(workdir, three_texts):
    return [write_corpus(str(workdir / ("part-%d.txt" % index)), documents)
            for index, documents in enumerate(three_texts)]


@pytest.fixture(scope="module")
def three_file_shards(workdir, three_files, tokenizer):
    """Whole-word-masked records of `three_files` in two shards, one
    process."""
    shards = [str(workdir / "multi-0.tfrecord"),
              str(workdir / "multi-1.tfrecord")]
    cpd.build_records(three_files, shards, tokenizer, random_seed=SEED,
                      do_whole_word_mask=True, num_workers=1,
                      **MULTI_OPTIONS)
    return shards


def test_files_are_packed_apart_with_their_own_seed_and_dealt_in_order(
        three_files, three_file_shards, tokenizer):
    """The documented rule: file i is a run of its own with seed
    SEED + i * 2**32; the files' records, in order, are dealt round-robin."""
    encoder = example_encoder(tokenizer)
    sequence = []
    for index, path in enumerate(three_files):
        documents = pretraining_text.read_documents([path], tokenizer, True)
        rng = random.Random(SEED + index * 2**32)
        sequence.extend(pretraining_instances.create_training_instances(
            documents, cpd.special_ids(tokenizer), rng,
            pretraining_instances.PackingOptions(**MULTI_OPTIONS),
            make_record=encoder.encode))
    first, second = (read_records(path) for path in three_file_shards)
    assert first == sequence[0::2] and second == sequence[1::2]


def test_output_does_not_depend_on_the_number_of_workers(
        three_files, three_file_shards, tokenizer, workdir):
    shards = [str(workdir / "workers-0.tfrecord"),
              str(workdir / "workers-1.tfrecord")]
    cpd.build_records(three_files, shards, tokenizer, random_seed=SEED,
                      do_whole_word_mask=True, num_workers=2,
                      **MULTI_OPTIONS)
    assert [sha256(path) for path in shards] == [
        sha256(path) for path in three_file_shards]
    assert sorted(os.listdir(str(workdir))) == sorted(
        name for name in os.listdir(str(workdir)) if ".tmp." not in name)


def test_packing_runs_with_the_cyclic_gc_paused_and_restores_it(
        three_files, tokenizer, workdir, monkeypatch):
    gc_enabled_while_packing = []
    create_training_instances = pretraining_instances.create_training_instances

    def recording_gc_state(*args, **kwargs):
        gc_enabled_while_packing.append(gc.isenabled())
        return create_training_instances(*args, **kwargs)

    monkeypatch.setattr(pretraining_instances, "create_training_instances",
                        recording_gc_state)
    assert gc.isenabled()
    cpd.build_records(three_files, [str(workdir / "gc.tfrecord")],
                      tokenizer, random_seed=SEED, do_whole_word_mask=True,
                      num_workers=1, **MULTI_OPTIONS)
    assert gc_enabled_while_packing == [False] * len(three_files)
    assert gc.isenabled()


def test_paused_gc_comes_back_as_it_was_even_after_an_error():
    with pytest.raises(ValueError):
        with cpd.cyclic_gc_paused():
            assert not gc.isenabled()
            raise ValueError("packing failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with cpd.cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_failed_run_leaves_old_outputs_and_no_temporary_file(
        three_files, tokenizer, tmp_path):
    shards = [str(tmp_path / "out-0.tfrecord"),
              str(tmp_path / "out-1.tfrecord")]
    for path in shards:
        with open(path, "wb") as writer:
            writer.write(b"old")
    bad = str(tmp_path / "z-bad.txt")
    with open(bad, "wb") as writer:
        writer.write("第一句。\n\n第二句。\n".encode("utf-8") + b"caf\xe9\n")
    with pytest.raises(ValueError, match=re.escape(bad) +
                       r" \(--input_file\), line 4"):
        cpd.build_records(three_files[:1] + [bad], shards, tokenizer,
                          do_whole_word_mask=True, num_workers=2,
                          **MULTI_OPTIONS)
    assert sorted(os.listdir(str(tmp_path))) == [
        "out-0.tfrecord", "out-1.tfrecord", "z-bad.txt"]
    for path in shards:
        with open(path, "rb") as reader:
            assert reader.read() == b"old"


def test_killed_run_leaves_no_final_file_and_the_rerun_completes(
        three_texts, three_file_shards, tokenizer, tmp_path):
    """kill -9 (of the process group) while the last file is being read:
    no output under its final name; the same run then completes."""
    inputs = [str(tmp_path / ("part-%d.txt" % index)) for index in range(3)]
    for path, documents in zip(inputs[:2], three_texts):
        write_corpus(path, documents)
    os.mkfifo(inputs[2])  # Reading it blocks until it has a writer.
    shards = [str(tmp_path / "out-0.tfrecord"),
              str(tmp_path / "out-1.tfrecord")]
    command = [
        sys.executable, SCRIPT, "--input_file=" + ",".join(inputs),
        "--output_file=" + ",".join(shards), "--vocab_file=" + VOCAB_FILE,
        "--max_seq_length=%d" % MAX_SEQ_LENGTH,
        "--max_predictions_per_seq=%d" % MAX_PREDICTIONS,
        "--dupe_factor=1", "--random_seed=%d" % SEED, "--do_whole_word_mask",
        "--num_workers=2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE,
                               universal_newlines=True,
                               start_new_session=True)
    try:
        for line in process.stderr:
            if "File 1 of 3 done" in line:
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.stderr.close()
        process.wait()
    names = os.listdir(str(tmp_path))
    assert not set(names) & {"out-0.tfrecord", "out-1.tfrecord"}
    assert any(".tmp." in name for name in names)  # What was cut short.
    os.remove(inputs[2])
    write_corpus(inputs[2], three_texts[2])
    cpd.build_records(inputs, shards, tokenizer, random_seed=SEED,
                      do_whole_word_mask=True, num_workers=2,
                      **MULTI_OPTIONS)
    assert [sha256(path) for path in shards] == [
        sha256(path) for path in three_file_shards]


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
        pretraining_text.read_documents([path], tokenizer, False)


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
        pretraining_text.read_documents([corpus], sentencepiece_tokenizer,
                           do_whole_word_mask=True)


def test_vocabulary_without_mask_token_is_rejected(tmp_path, corpus):
    vocab = str(tmp_path / "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as writer:
        writer.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "的"]))
    small = tokenization.FullTokenizer(vocab)
    with pytest.raises(ValueError, match=re.escape("[MASK]")):
        cpd.build_records([corpus], [str(tmp_path / "out")], small,
                          **OPTIONS)
