# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Classification data: task processors, feature conversion, feature cache.

Processors read each task's files in the layout its publishers distribute:

  xnli          multinli/multinli.train.zh.tsv (premise, hypo, label; header),
                xnli.dev.tsv / xnli.test.tsv (language col 0, gold label col 1,
                sentence1 col 6, sentence2 col 7; header; only `zh` rows).
  chnsenticorp  train/dev/test.tsv, header `label<TAB>text_a`.
  lcqmc         train/dev/test.txt, `text_a<TAB>text_b<TAB>label`.
  bqcorpus      train/dev/test.tsv, `text_a<TAB>text_b<TAB>label`.

In every task a first row whose label field is not a label is a header
(skipped and logged): LCQMC and BQ Corpus circulate with and without one.
A test split without the label column is accepted for prediction. Files are
read through pretrain/file_io (UTF-8, BOM and CRLF accepted). Malformed rows
(too few or too many columns, an unknown label) and a split without examples
raise ValueError naming the file, the line and what was expected. Features
go to TFRecord files; with a cache directory they are reused only when their
fingerprint (data file content, vocabulary, SentencePiece model, max length,
lower-casing, task, split) matches and the entry is complete.
"""

import collections
import hashlib
import json
import os
import re

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io

# Bump when the feature format or conversion changes, so old caches die.
# 2: the sidecar records the record file's size and whether it has labels.
CACHE_FORMAT_VERSION = 2
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


# Where the fields of one split live in its file (0-based columns; label None
# in a file without labels). `language` is None or a (column, value) pair:
# rows whose column differs are skipped and counted.
Layout = collections.namedtuple(
    "Layout", ["file_name", "text_a", "text_b", "label", "language"])
# A header field: an ASCII column name (`text_a`, `sentence1`, `label`).
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DataProcessor(object):
    """A task's labels and file layouts; subclasses set the class fields."""

    labels = ()
    label_aliases = {}
    file_names = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    text_a_column = 0
    text_b_column = None
    label_column = 1

    def get_labels(self):
        """The label list; a label's index is its class id."""
        return list(self.labels)

    def layout(self, split):
        """The Layout of `split` ("train", "dev" or "test")."""
        check_split(split)
        return Layout(self.file_names[split], self.text_a_column,
                      self.text_b_column,
                      self.label_column, None)

    def data_file(self, data_dir, split):
        """Path of the file holding `split`."""
        return os.path.join(data_dir, self.layout(split).file_name)

    def get_examples(self, data_dir, split, require_labels=True):
        """Reads and checks every example of `split`.

        A first row whose label field is not one of the task's labels is a
        header: it is skipped and logged (copies of the files circulate with
        and without one). With `require_labels` False (prediction), a file
        whose rows lack the label column is read without labels; its first
        row is a header when every field is a column name (`text_a`).

        Returns:
          A non-empty list of InputExample (label None when unlabeled).

        Raises:
          ValueError: missing file, a row with too few or too many columns,
            an unknown label, or no example at all, naming file and line.
        """
        layout = self.layout(split)
        path = self.data_file(data_dir, split)
        rows = read_tsv(path)
        if not rows:
            raise ValueError("%s: empty file; expected %s rows" %
                             (path, describe_columns(layout)))
        if not require_labels and len(rows[0][1]) == columns_needed(
                layout) - 1:
            layout = without_labels(layout)
            tf.logging.info("%s: no label column; reading the rows without "
                            "labels (prediction only)", path)
        width = columns_needed(layout)
        if self.is_header(rows[0][1], layout):
            tf.logging.info("%s:%d: header row %r skipped", path, rows[0][0],
                            "\t".join(rows[0][1]))
            width = max(width, len(rows[0][1]))
            rows = rows[1:]
        examples = []
        other_language = 0
        for line_number, fields in rows:
            check_columns(path, line_number, fields, layout, width, split)
            if layout.language and (fields[layout.language[0]] !=
                                    layout.language[1]):
                other_language += 1
                continue
            label = (self.parse_label(path, line_number, fields[layout.label])
                     if layout.label is not None else None)
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
        if not examples:
            raise ValueError("%s: no examples (%d data rows%s); expected at "
                             "least one" %
                             (path, len(rows), ", none in language %r" %
                              layout.language[1] if layout.language else ""))
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

    def is_header(self, fields, layout):
        """Whether a first row is a header rather than data.

        Labeled: its label field is not a label of the task. Unlabeled:
        every field is a column name such as `text_a` (data is text).
        """
        if layout.label is not None:
            if len(fields) <= layout.label:
                return False  # Too short: check_columns names the line.
            value = fields[layout.label]
            return self.label_aliases.get(value, value) not in self.labels
        return all(_COLUMN_NAME.match(field) for field in fields)


class XnliProcessor(DataProcessor):
    """XNLI, Chinese part: MultiNLI zh for training, XNLI dev/test."""

    labels = ("contradiction", "entailment", "neutral")
    label_aliases = {"contradictory": "contradiction"}
    language = "zh"

    def layout(self, split):
        check_split(split)
        if split == "train":
            return Layout("multinli/multinli.train.%s.tsv" % self.language,
                          0, 1, 2, None)
        return Layout("xnli.%s.tsv" % split, 6, 7, 1, (0, self.language))


class ChnSentiCorpProcessor(DataProcessor):
    """ChnSentiCorp sentiment: `label<TAB>text_a`, header `label text_a`."""

    labels = ("0", "1")
    text_a_column = 1
    label_column = 0


class LcqmcProcessor(DataProcessor):
    """LCQMC question matching: `text_a<TAB>text_b<TAB>label`, `.txt`."""

    labels = ("0", "1")
    file_names = {"train": "train.txt", "dev": "dev.txt", "test": "test.txt"}
    text_a_column = 0
    text_b_column = 1
    label_column = 2


class BqCorpusProcessor(DataProcessor):
    """BQ Corpus question matching: LCQMC's columns, `.tsv`."""

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
    """Reads a tab-separated UTF-8 file (BOM and CRLF line ends accepted).

    Lines are split on "\\n" only (the text may contain U+2028). Blank
    lines are skipped and counted in the log.

    Returns:
      A list of (1-based line number, list of fields).

    Raises:
      ValueError: the file does not exist or is not UTF-8.
    """
    rows = []
    blank = 0
    for index, line in enumerate(
            file_io.read_lines(path, "data_dir", "data file")):
        if not line.strip():
            blank += 1
            continue
        rows.append((index + 1, line.split("\t")))
    if blank:
        tf.logging.warning("%s: skipped %d blank lines", path, blank)
    return rows


def named_columns(layout):
    """(name, column) of every column the layout reads, in column order."""
    named = [("text_a", layout.text_a), ("text_b", layout.text_b),
             ("label", layout.label)]
    if layout.language:
        named.append(("language", layout.language[0]))
    return sorted([(name, column) for name, column in named
                   if column is not None], key=lambda x: x[1])


def columns_needed(layout):
    """The number of columns a row needs to hold every field it reads."""
    return max(column for _, column in named_columns(layout)) + 1


def describe_columns(layout):
    """E.g. "2 tab-separated columns (label in column 1, text_a in ...)"."""
    columns = ", ".join("%s in column %d" % (name, column + 1)
                        for name, column in named_columns(layout))
    return "%d tab-separated columns (%s)" % (columns_needed(layout), columns)


def without_labels(layout):
    """The layout of the same file with its label column removed."""
    def shift(column):
        return column - 1 if column > layout.label else column
    return Layout(layout.file_name, shift(layout.text_a),
                  None if layout.text_b is None else shift(layout.text_b),
                  None, layout.language and (shift(layout.language[0]),
                                             layout.language[1]))


def check_columns(path, line_number, fields, layout, width, split):
    """Raises ValueError unless a row has the columns the layout reads.

    Args:
      width: the row's expected number of columns: the header's, or the
        layout's when the file has no header. More columns mean a tab inside
        a text field, which would cut the text without a word.
    """
    needed = columns_needed(layout)
    if len(fields) < needed:
        hint = ("; a test split without labels is accepted for --do_predict "
                "only" if split == "test" and layout.label is not None else
                "")
        raise ValueError(
            "%s:%d: expected at least %s, got %d%s" %
            (path, line_number, describe_columns(layout), len(fields), hint))
    if len(fields) > width:
        raise ValueError(
            "%s:%d: expected %d tab-separated columns, got %d (a tab inside "
            "a text field?)" % (path, line_number, width, len(fields)))


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
      InputFeatures with lists of length S (label id 0 for an unlabeled
      example: prediction ignores it).
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
                         label_id=(0 if example.label is None else
                                   label_map[example.label]))


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

    The file is written under a per-process temporary name and renamed at
    the end, so an interrupted run never leaves a truncated file behind and
    concurrent runs never write into each other's file.

    Returns:
      The number of examples written.
    """
    label_map = {label: index for index, label in enumerate(label_list)}
    with file_io.atomic_output(output_file) as temporary:
        with tf.io.TFRecordWriter(temporary) as writer:
            for index, example in enumerate(examples):
                features = convert_single_example(example, label_map,
                                                  max_seq_length, tokenizer)
                if index < log_examples:
                    log_features(example, features, tokenizer)
                if index and index % 10000 == 0:
                    tf.logging.info("Converted %d of %d examples", index,
                                    len(examples))
                writer.write(
                    features_to_tf_example(features).SerializeToString())
    return len(examples)


def log_features(example, features, tokenizer):
    """Logs one converted example for a visual check."""
    tokens = tokenizer.convert_ids_to_tokens(
        [i for i, m in zip(features.input_ids, features.input_mask) if m])
    tf.logging.info("*** Example %s ***", example.guid)
    tf.logging.info("tokens: %s", " ".join(tokens))
    tf.logging.info("segment_ids: %s",
                    " ".join(str(s) for s in features.segment_ids))
    tf.logging.info("label: %s (id = %d)", example.label or "(none)",
                    features.label_id)


# ---------------------------------------------------------------------------
# Feature cache.
# ---------------------------------------------------------------------------


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
        ("data_sha256", file_io.file_digest(data_file)),
        ("vocab_sha256", file_io.file_digest(vocab_file)),
        ("spm_model_sha256", file_io.file_digest(spm_model_file)),
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
                     do_lower_case, output_dir, tfrecord_dir=None,
                     require_labels=True):
    """Returns the TFRecord file of a split and its number of examples.

    Without `tfrecord_dir` the features are always rebuilt into
    `output_dir/<split>.tf_record`. With it, they live in
    `tfrecord_dir/<task>.<split>.<fingerprint>.tf_record` next to a JSON
    sidecar of the settings, example count and record file size. Both are
    written under per-process temporary names and renamed into place, the
    record file first: an entry is trusted only when its sidecar matches the
    fingerprint of every setting and the record file has the recorded size,
    so a killed run leaves no entry and two concurrent runs both succeed
    (the last rename wins with identical content).

    Args:
      require_labels: False for prediction: a file without a label column
        is accepted (see DataProcessor.get_examples).

    Returns:
      (record path, number of examples).

    Raises:
      ValueError: see get_examples; or `require_labels` and the cached
        features were built from a file without labels.
    """
    if not tfrecord_dir:
        path = os.path.join(output_dir, "%s.tf_record" % split)
        examples = processor.get_examples(data_dir, split, require_labels)
        tf.io.gfile.makedirs(output_dir)
        count = write_features(examples, processor.get_labels(),
                               max_seq_length, tokenizer, path)
        return path, count
    data_file = processor.data_file(data_dir, split)
    if not tf.io.gfile.exists(data_file):
        raise ValueError("%s: data file not found" %
                         file_io.source(data_file, "data_dir"))
    settings = feature_settings(task_name, split, data_file, vocab_file,
                                spm_model_file, max_seq_length, do_lower_case)
    stem = os.path.join(
        tfrecord_dir, "%s.%s.%s" %
        (task_name.lower(), split, settings["fingerprint"][:16]))
    path, sidecar = stem + ".tf_record", stem + ".json"
    cached = read_sidecar(sidecar)
    if cached_entry_complete(cached, settings, path):
        if require_labels and not cached.get("labeled", True):
            raise ValueError(
                "%s: has no label column; a test split without labels is "
                "accepted for --do_predict only" % data_file)
        tf.logging.info("Reusing cached features %s (%d examples)", path,
                        cached["num_examples"])
        return path, cached["num_examples"]
    tf.logging.info("Building features %s from %s", path, data_file)
    tf.io.gfile.makedirs(tfrecord_dir)
    examples = processor.get_examples(data_dir, split, require_labels)
    settings["num_examples"] = write_features(examples,
                                              processor.get_labels(),
                                              max_seq_length, tokenizer, path)
    settings["labeled"] = examples[0].label is not None
    settings["record_bytes"] = tf.io.gfile.stat(path).length
    file_io.write_text_atomically(sidecar,
                                  json.dumps(settings, indent=2) + "\n")
    return path, settings["num_examples"]


def cached_entry_complete(cached, settings, path):
    """Whether a cache entry was fully written with these settings."""
    if not cached or cached.get("fingerprint") != settings["fingerprint"]:
        return False
    if not tf.io.gfile.exists(path):
        return False
    size = tf.io.gfile.stat(path).length
    if size != cached.get("record_bytes"):
        tf.logging.warning("%s: %d bytes, its sidecar records %r; rebuilding",
                           path, size, cached.get("record_bytes"))
        return False
    return True


def read_sidecar(path):
    """The settings JSON next to a cached record file, or None."""
    if not tf.io.gfile.exists(path):
        return None
    try:
        return file_io.load_json(path, what="feature cache sidecar")
    except ValueError as error:
        tf.logging.warning("%s; rebuilding", error)
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
                     shuffle_buffer=10000,
                     skip_records=0):
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
      skip_records: training examples to skip (a resumed run).

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
            seed=seed, shuffle_buffer=shuffle_buffer,
            skip_records=skip_records)

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
