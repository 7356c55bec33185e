# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Classification data: task processors, feature conversion, feature cache.

Processors read each task's files in the layout its publishers distribute:

  xnli          multinli/multinli.train.zh.tsv (premise, hypo, label; header),
                xnli.dev.tsv / xnli.test.tsv (language col 0, gold label col 1,
                sentence1 col 6, sentence2 col 7; header; only `zh` rows).
  chnsenticorp  train/dev/test.tsv, header `label<TAB>text_a`.
  lcqmc         train/dev/test.txt, `text_a<TAB>text_b<TAB>label`, no header.
  bqcorpus      train/dev/test.tsv, `text_a<TAB>text_b<TAB>label`, header.

Malformed rows raise ValueError naming the file, the line and what was
expected. Features go to TFRecord files; with a cache directory they are
reused only when their fingerprint (data file content, vocabulary,
SentencePiece model, max length, lower-casing, task, split) matches.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import hashlib
import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util

# Bump when the feature format or conversion changes, so old caches die.
CACHE_FORMAT_VERSION = 1
SPLITS = ("train", "dev", "test")
FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "label_ids",
                 "is_real_example")


class InputExample(object):
    """One classification example."""

    def __init__(self, guid, text_a, text_b=None, label=None):
        """Args: guid unique id; text_a, text_b (None for single-sentence
        tasks) raw text; label one of the processor's labels."""
        self.guid = guid
        self.text_a = text_a
        self.text_b = text_b
        self.label = label


class PaddingInputExample(object):
    """A fake example that fills up the last batch on TPU (weight 0)."""


class InputFeatures(object):
    """Model inputs of one example."""

    def __init__(self, input_ids, input_mask, segment_ids, label_id,
                 is_real_example=True):
        self.input_ids = input_ids
        self.input_mask = input_mask
        self.segment_ids = segment_ids
        self.label_id = label_id
        self.is_real_example = is_real_example


# Where the fields of one split live in its file. `language` is None or a
# (column, value) pair: rows whose column differs are skipped and counted.
Layout = collections.namedtuple(
    "Layout",
    ["file_name", "has_header", "text_a", "text_b", "label", "language"])


class DataProcessor(object):
    """A task's labels and file layouts; subclasses set the class fields."""

    labels = ()
    label_aliases = {}
    file_names = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    has_header = True
    text_a_column = 0
    text_b_column = None
    label_column = 1

    def get_labels(self):
        """The label list; a label's index is its class id."""
        return list(self.labels)

    def layout(self, split):
        """The Layout of `split` ("train", "dev" or "test")."""
        check_split(split)
        return Layout(self.file_names[split], self.has_header,
                      self.text_a_column, self.text_b_column,
                      self.label_column, None)

    def data_file(self, data_dir, split):
        """Path of the file holding `split`."""
        return os.path.join(data_dir, self.layout(split).file_name)

    def get_examples(self, data_dir, split):
        """Reads and checks every example of `split`.

        Raises:
          ValueError: missing file, short row, unknown label or missing
            header, naming the file and line.
        """
        layout = self.layout(split)
        path = self.data_file(data_dir, split)
        rows = read_tsv(path)
        if layout.has_header:
            rows = self.drop_header(path, rows, layout)
        examples = []
        other_language = 0
        for line_number, fields in rows:
            check_columns(path, line_number, fields, layout)
            if layout.language and (fields[layout.language[0]] !=
                                    layout.language[1]):
                other_language += 1
                continue
            label = self.parse_label(path, line_number,
                                     fields[layout.label])
            text_b = (fields[layout.text_b]
                      if layout.text_b is not None else None)
            examples.append(
                InputExample(guid="%s-%d" % (split, line_number),
                             text_a=fields[layout.text_a],
                             text_b=text_b,
                             label=label))
        if other_language:
            tf.logging.info("%s: kept %d rows in language %r, skipped %d rows "
                            "in other languages", path, len(examples),
                            layout.language[1], other_language)
        tf.logging.info("%s: %d examples", path, len(examples))
        return examples

    def parse_label(self, path, line_number, value):
        """Maps a label field to one of `labels` (applying aliases)."""
        label = self.label_aliases.get(value, value)
        if label not in self.labels:
            raise ValueError(
                "%s:%d: label %r is not one of the task's labels %s" %
                (path, line_number, value, ", ".join(self.labels)))
        return label

    def drop_header(self, path, rows, layout):
        """Removes the header row, refusing a first row that is data."""
        if not rows:
            raise ValueError("%s: empty file; expected a header row and data" %
                             path)
        line_number, fields = rows[0]
        if (len(fields) > layout.label and self.label_aliases.get(
                fields[layout.label], fields[layout.label]) in self.labels):
            raise ValueError(
                "%s:%d: expected a header row, found a data row (label %r); "
                "this task's files start with a header" %
                (path, line_number, fields[layout.label]))
        return rows[1:]


class XnliProcessor(DataProcessor):
    """XNLI, Chinese part: MultiNLI zh for training, XNLI dev/test."""

    labels = ("contradiction", "entailment", "neutral")
    label_aliases = {"contradictory": "contradiction"}
    language = "zh"

    def layout(self, split):
        check_split(split)
        if split == "train":
            return Layout("multinli/multinli.train.%s.tsv" % self.language,
                          True, 0, 1, 2, None)
        return Layout("xnli.%s.tsv" % split, True, 6, 7, 1,
                      (0, self.language))


class ChnSentiCorpProcessor(DataProcessor):
    """ChnSentiCorp sentiment: `label<TAB>text_a` with a header."""

    labels = ("0", "1")
    text_a_column = 1
    label_column = 0


class LcqmcProcessor(DataProcessor):
    """LCQMC question matching: `text_a<TAB>text_b<TAB>label`, no header."""

    labels = ("0", "1")
    file_names = {"train": "train.txt", "dev": "dev.txt", "test": "test.txt"}
    has_header = False
    text_a_column = 0
    text_b_column = 1
    label_column = 2


class BqCorpusProcessor(DataProcessor):
    """BQ Corpus question matching: LCQMC's columns, `.tsv` with a header."""

    labels = ("0", "1")
    text_a_column = 0
    text_b_column = 1
    label_column = 2


PROCESSORS = {
    "xnli": XnliProcessor,
    "chnsenticorp": ChnSentiCorpProcessor,
    "lcqmc": LcqmcProcessor,
    "bqcorpus": BqCorpusProcessor,
}


def get_processor(task_name):
    """The processor of `task_name` (case-insensitive).

    Raises:
      ValueError: unknown task, listing the known ones.
    """
    key = task_name.lower() if task_name else task_name
    if key not in PROCESSORS:
        raise ValueError("task_name: unknown task %r; expected one of %s" %
                         (task_name, ", ".join(sorted(PROCESSORS))))
    return PROCESSORS[key]()


def check_split(split):
    """Raises ValueError unless `split` is train, dev or test."""
    if split not in SPLITS:
        raise ValueError("split: %r is not one of %s" %
                         (split, ", ".join(SPLITS)))


def read_tsv(path):
    """Reads a tab-separated UTF-8 file.

    Lines are split on "\\n" only (the text may contain U+2028); a trailing
    "\\r" is removed. Blank lines are skipped and counted in the log.

    Returns:
      A list of (1-based line number, list of fields).

    Raises:
      ValueError: the file does not exist or is not UTF-8.
    """
    if not tf.io.gfile.exists(path):
        raise ValueError("%s: data file not found" % path)
    with tf.io.gfile.GFile(path, "rb") as reader:
        raw = reader.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line_number = raw[:e.start].count(b"\n") + 1
        raise ValueError("%s:%d: not valid UTF-8 (%s)" %
                         (path, line_number, e.reason))
    rows = []
    blank = 0
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()  # The newline that ends the last line.
    for index, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line.strip():
            blank += 1
            continue
        rows.append((index + 1, line.split("\t")))
    if blank:
        tf.logging.warning("%s: skipped %d blank lines", path, blank)
    return rows


def check_columns(path, line_number, fields, layout):
    """Raises ValueError when a row lacks a column the layout reads."""
    named = [("text_a", layout.text_a), ("text_b", layout.text_b),
             ("label", layout.label)]
    if layout.language:
        named.append(("language", layout.language[0]))
    named = [(name, column) for name, column in named if column is not None]
    needed = max(column for _, column in named) + 1
    if len(fields) < needed:
        raise ValueError(
            "%s:%d: expected at least %d tab-separated columns (%s), got %d" %
            (path, line_number, needed, ", ".join(
                "%s in column %d" % (name, column + 1)
                for name, column in sorted(named, key=lambda x: x[1])),
             len(fields)))


# ---------------------------------------------------------------------------
# Features.
# ---------------------------------------------------------------------------


def truncate_seq_pair(tokens_a, tokens_b, max_length):
    """Trims the longer of the two token lists until both fit together."""
    while len(tokens_a) + len(tokens_b) > max_length:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        longer.pop()


def convert_single_example(example, label_map, max_seq_length, tokenizer):
    """Tokenizes one example into `[CLS] a [SEP] (b [SEP])`, zero-padded.

    Args:
      example: InputExample or PaddingInputExample.
      label_map: {label: id}.
      max_seq_length: output length S.
      tokenizer: tokenization.FullTokenizer.

    Returns:
      InputFeatures with lists of length S.
    """
    if isinstance(example, PaddingInputExample):
        zeros = [0] * max_seq_length
        return InputFeatures(zeros, zeros, zeros, 0, is_real_example=False)
    tokens_a = tokenizer.tokenize(example.text_a)
    tokens_b = tokenizer.tokenize(example.text_b) if example.text_b else None
    if tokens_b is not None:
        truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)
    else:
        tokens_a = tokens_a[:max_seq_length - 2]
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
    segment_ids = [0] * len(tokens)
    if tokens_b is not None:
        tokens += tokens_b + ["[SEP]"]
        segment_ids += [1] * (len(tokens_b) + 1)
    input_ids = tokenizer.convert_tokens_to_ids(tokens)
    padding = [0] * (max_seq_length - len(input_ids))
    return InputFeatures(input_ids=input_ids + padding,
                         input_mask=[1] * len(input_ids) + padding,
                         segment_ids=segment_ids + padding,
                         label_id=label_map[example.label])


def features_to_tf_example(features):
    """Serializes InputFeatures as a tf.train.Example."""
    int64_feature = estimator_util.int64_feature
    record = collections.OrderedDict([
        ("input_ids", int64_feature(features.input_ids)),
        ("input_mask", int64_feature(features.input_mask)),
        ("segment_ids", int64_feature(features.segment_ids)),
        ("label_ids", int64_feature([features.label_id])),
        ("is_real_example", int64_feature([int(features.is_real_example)])),
    ])
    return tf.train.Example(features=tf.train.Features(feature=record))


def write_features(examples, label_list, max_seq_length, tokenizer,
                   output_file, log_examples=3):
    """Converts `examples` and writes them to a TFRecord file.

    The file is written under a temporary name and renamed at the end, so an
    interrupted run never leaves a truncated file behind.

    Returns:
      The number of examples written.
    """
    label_map = {label: index for index, label in enumerate(label_list)}
    partial = output_file + ".partial"
    with tf.io.TFRecordWriter(partial) as writer:
        for index, example in enumerate(examples):
            features = convert_single_example(example, label_map,
                                              max_seq_length, tokenizer)
            if index < log_examples:
                log_features(example, features, tokenizer)
            if index and index % 10000 == 0:
                tf.logging.info("Converted %d of %d examples", index,
                                len(examples))
            writer.write(features_to_tf_example(features).SerializeToString())
    tf.io.gfile.rename(partial, output_file, overwrite=True)
    return len(examples)


def log_features(example, features, tokenizer):
    """Logs one converted example for a visual check."""
    tokens = tokenizer.convert_ids_to_tokens(
        [i for i, m in zip(features.input_ids, features.input_mask) if m])
    tf.logging.info("*** Example %s ***", example.guid)
    tf.logging.info("tokens: %s", " ".join(tokens))
    tf.logging.info("segment_ids: %s",
                    " ".join(str(s) for s in features.segment_ids))
    tf.logging.info("label: %s (id = %d)", example.label, features.label_id)


# ---------------------------------------------------------------------------
# Feature cache.
# ---------------------------------------------------------------------------


def file_digest(path):
    """SHA-256 of a file's bytes (any tf.io.gfile path); "" for None."""
    if not path:
        return ""
    digest = hashlib.sha256()
    with tf.io.gfile.GFile(path, "rb") as reader:
        while True:
            chunk = reader.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def feature_settings(task_name, split, data_file, vocab_file, spm_model_file,
                     max_seq_length, do_lower_case):
    """Everything the features of one split depend on, with a fingerprint.

    Returns:
      A dict; its "fingerprint" is a SHA-256 over all other entries,
      including the content digests of the data, vocabulary and SentencePiece
      files.
    """
    settings = collections.OrderedDict([
        ("format_version", CACHE_FORMAT_VERSION),
        ("task", task_name.lower()),
        ("split", split),
        ("data_file", data_file),
        ("data_sha256", file_digest(data_file)),
        ("vocab_sha256", file_digest(vocab_file)),
        ("spm_model_sha256", file_digest(spm_model_file)),
        ("max_seq_length", max_seq_length),
        ("do_lower_case", bool(do_lower_case)),
    ])
    # The path itself does not change the features: a moved file is reused.
    keyed = {k: v for k, v in settings.items() if k != "data_file"}
    settings["fingerprint"] = hashlib.sha256(
        json.dumps(keyed, sort_keys=True).encode("utf-8")).hexdigest()
    return settings


def prepare_features(processor, task_name, split, data_dir, tokenizer,
                     max_seq_length, vocab_file, spm_model_file,
                     do_lower_case, output_dir, tfrecord_dir=None):
    """Returns the TFRecord file of a split and its number of examples.

    Without `tfrecord_dir` the features are always rebuilt into
    `output_dir/<split>.tf_record`. With it, they live in
    `tfrecord_dir/<task>.<split>.<fingerprint>.tf_record` next to a JSON
    sidecar of the settings and example count; a file is reused only when
    its name (the fingerprint of every setting) and sidecar match.

    Returns:
      (record path, number of examples).
    """
    data_file = processor.data_file(data_dir, split)
    if not tfrecord_dir:
        path = os.path.join(output_dir, "%s.tf_record" % split)
        examples = processor.get_examples(data_dir, split)
        tf.io.gfile.makedirs(output_dir)
        count = write_features(examples, processor.get_labels(),
                               max_seq_length, tokenizer, path)
        return path, count
    if not tf.io.gfile.exists(data_file):
        raise ValueError("%s: data file not found" % data_file)
    settings = feature_settings(task_name, split, data_file, vocab_file,
                                spm_model_file, max_seq_length, do_lower_case)
    stem = os.path.join(
        tfrecord_dir, "%s.%s.%s" %
        (task_name.lower(), split, settings["fingerprint"][:16]))
    path, sidecar = stem + ".tf_record", stem + ".json"
    cached = read_sidecar(sidecar)
    if (cached and cached.get("fingerprint") == settings["fingerprint"] and
            tf.io.gfile.exists(path)):
        tf.logging.info("Reusing cached features %s (%d examples)", path,
                        cached["num_examples"])
        return path, cached["num_examples"]
    tf.logging.info("Building features %s from %s", path, data_file)
    tf.io.gfile.makedirs(tfrecord_dir)
    examples = processor.get_examples(data_dir, split)
    settings["num_examples"] = write_features(examples,
                                              processor.get_labels(),
                                              max_seq_length, tokenizer, path)
    with tf.io.gfile.GFile(sidecar, "w") as writer:
        writer.write(json.dumps(settings, indent=2) + "\n")
    return path, settings["num_examples"]


def read_sidecar(path):
    """The settings JSON next to a cached record file, or None."""
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path, "r") as reader:
        try:
            return json.loads(reader.read())
        except ValueError:
            tf.logging.warning("%s: unreadable cache sidecar; rebuilding",
                               path)
            return None


# ---------------------------------------------------------------------------
# Input pipeline.
# ---------------------------------------------------------------------------


def name_to_features(seq_length):
    """Parsing spec of the records written by write_features."""
    return {
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "label_ids": tf.io.FixedLenFeature([], tf.int64),
        "is_real_example": tf.io.FixedLenFeature([], tf.int64),
    }


def input_fn_builder(input_file,
                     seq_length,
                     is_training,
                     drop_remainder,
                     num_padding=0,
                     seed=None,
                     shuffle_buffer=10000):
    """An Estimator input_fn over a TFRecord file of features.

    Args:
      input_file: TFRecord file from prepare_features.
      seq_length: the features' sequence length.
      is_training: repeat forever and shuffle.
      drop_remainder: drop a partial last batch (TPU needs static shapes;
        pass `num_padding` to fill it instead of losing examples).
      num_padding: PaddingInputExample records (weight 0) appended after the
        real ones.
      seed: shuffle seed (repeatable runs).
      shuffle_buffer: shuffle buffer size in examples.

    Returns:
      input_fn(params) with params["batch_size"].
    """
    spec = name_to_features(seq_length)
    padding_record = features_to_tf_example(
        convert_single_example(PaddingInputExample(), {}, seq_length,
                               None)).SerializeToString()

    def input_fn(params):
        dataset = tf.data.TFRecordDataset(input_file)
        if num_padding:
            dataset = dataset.concatenate(
                tf.data.Dataset.from_tensors(padding_record).repeat(
                    num_padding))
        return estimator_util.batch_records(
            dataset, spec, params["batch_size"], is_training, drop_remainder,
            seed=seed, shuffle_buffer=shuffle_buffer)

    return input_fn


def padded_batches(num_examples, batch_size, use_tpu):
    """Padding examples and steps to cover every example.

    On TPU every batch must be full: the last one is filled with
    PaddingInputExample records of weight 0. On CPU/GPU the last batch is
    simply smaller.

    Returns:
      (num_padding, steps or None for "until the data ends").
    """
    if not use_tpu:
        return 0, None
    num_padding = -num_examples % batch_size
    return num_padding, (num_examples + num_padding) // batch_size


def read_features(input_file, seq_length):
    """All records of a feature file as a list of {name: np.ndarray}."""
    spec = name_to_features(seq_length)
    result = []
    for record in tf.io.tf_record_iterator(input_file):
        example = tf.train.Example.FromString(record)
        result.append({
            name: np.array(example.features.feature[name].int64_list.value,
                           dtype=np.int64).reshape(spec[name].shape)
            for name in FEATURE_NAMES
        })
    return result
