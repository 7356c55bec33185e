# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Sequence-labelling data for run_ner.py: reading, alignment, windows.

Input files hold one character (or token) per line followed by its tag,
and a blank line between sentences (CoNLL style):

    中 B-ORG          People's Daily: separated by a space
    中<TAB>B-ORG      MSRA: separated by a TAB
    中0<TAB>B-ORG.NAM Weibo: the token carries a word-position digit that is
                      not part of the text ("weibo" format)

Files may be UTF-8 with or without a byte-order mark, with LF or CRLF line
ends. A file for prediction may leave the tag out (token only). Tags follow
BIO, BIOES or IOB1: `O`, or a prefix B/I/E/S, a hyphen and any type
(`PER`, `PER.NAM`, ...).

Every token maps to its WordPiece tokens; a token the vocabulary lacks (or
one the tokenizer removes entirely, such as U+FFFD) becomes `[UNK]` and
keeps its tag. A token of several pieces is labelled on its first piece;
the others carry label weight 0. A sentence longer than the model's
sequence length is cut into overlapping windows (`doc_stride` tokens
apart); when the windows' predictions are merged, every token takes its
tag from the window where it has the most context on both sides, so every
input token gets exactly one prediction.
"""

import collections
import re

import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io

OUTSIDE = "O"
TAG_PATTERN = re.compile(r"^[BIES]-\S+$")
# A Weibo token: its text, then the word-position digits.
WEIBO_TOKEN = re.compile(r"^(.+?)(\d+)$")
FORMATS = ("auto", "conll", "weibo")
FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "label_ids",
                 "label_weights")
# Label files saved next to the model.
LABEL_LIST_FILE = "label_list.txt"

Sentence = collections.namedtuple("Sentence",
                                  ["tokens", "tags", "line_numbers"])
Window = collections.namedtuple("Window", [
    "sentence_index", "start", "end", "input_ids", "input_mask",
    "segment_ids", "label_ids", "label_weights", "first_positions"
])


# ---------------------------------------------------------------------------
# Reading.
# ---------------------------------------------------------------------------


def split_line(line):
    """The fields of a non-blank line: (token,) or (token, tag).

    A TAB separates the fields when the line has one; otherwise runs of
    spaces do.
    """
    if "\t" in line:
        return tuple(field.strip(" ") for field in line.split("\t"))
    return tuple(line.split())


def check_tag(tag, path, line_number):
    """Raises ValueError unless `tag` is O or a prefixed, typed tag."""
    if tag != OUTSIDE and not TAG_PATTERN.match(tag):
        raise ValueError(
            "%s, line %d: tag %r is not a tag of the BIO, BIOES or IOB1 "
            "schemes; expected O or B-, I-, E-, S- followed by a type "
            "(e.g. B-PER)" % (path, line_number, tag))


def detect_format(token_fields):
    """"weibo" when every token ends in a position digit after its text."""
    if token_fields and all(WEIBO_TOKEN.match(t) for t in token_fields):
        return "weibo"
    return "conll"


def strip_position(token, path, line_number):
    """A Weibo token without its word-position digits."""
    match = WEIBO_TOKEN.match(token)
    if not match:
        raise ValueError(
            "%s, line %d: token %r has no word-position digit; the weibo "
            "format expects a character followed by its position (e.g. "
            "中0)" % (path, line_number, token))
    return match.group(1)


def read_sentences(path, input_format="auto", flag=None):
    """Reads a tagged (or token-only) file into sentences.

    Args:
      path: the file.
      input_format: "conll" (token, tag), "weibo" (token with its position
        digit, tag) or "auto" (weibo when every token of the file ends in
        digits after its text, else conll).
      flag: the flag that named the file, for messages.

    Returns:
      (list of Sentence, has_tags); a token-only file has tags None.

    Raises:
      ValueError: naming the file and line: too many fields, a bad tag, a
        file mixing tagged and untagged lines, or no sentence at all.
    """
    if input_format not in FORMATS:
        raise ValueError("input format %r: expected one of %s" %
                         (input_format, ", ".join(FORMATS)))
    name = file_io.source(path, flag)
    rows, widths = [], set()
    for line_number, line in enumerate(
            file_io.read_lines(path, flag, "tagged text file"), 1):
        if not line.strip():
            rows.append(None)
            continue
        fields = split_line(line)
        if len(fields) > 2 or not fields[0]:
            raise ValueError(
                "%s, line %d: %r has %d fields; expected a token and its "
                "tag separated by a space or a TAB" %
                (name, line_number, line, len(fields)))
        if widths and len(fields) not in widths:
            raise ValueError(
                "%s, line %d: %r has %d field(s) where earlier lines have "
                "%d; a file is either tagged throughout or untagged" %
                (name, line_number, line, len(fields), widths.pop()))
        widths.add(len(fields))
        if len(fields) == 2:
            check_tag(fields[1], name, line_number)
        rows.append((line_number, fields))
    if input_format == "auto":
        input_format = detect_format([r[1][0] for r in rows if r])
    sentences = group_sentences(rows, input_format, name)
    if not sentences:
        raise ValueError("%s: no sentence; expected one token and its tag "
                         "per line, a blank line between sentences" % name)
    return sentences, widths == {2}


def group_sentences(rows, input_format, name):
    """Sentences from (line number, fields) rows, None at blank lines."""
    sentences, tokens, tags, lines = [], [], [], []
    for row in rows + [None]:
        if row is None:
            if tokens:
                sentences.append(Sentence(
                    tokens, tags if len(tags) == len(tokens) else None,
                    lines))
            tokens, tags, lines = [], [], []
            continue
        line_number, fields = row
        token = fields[0]
        if input_format == "weibo":
            token = strip_position(token, name, line_number)
        tokens.append(token)
        lines.append(line_number)
        if len(fields) == 2:
            tags.append(fields[1])
    return sentences


def tag_sort_key(tag):
    """O first, then by type and by the prefix order B, I, E, S."""
    if tag == OUTSIDE:
        return (0, "", "")
    return (1, tag[2:], tag[0])


def labels_of(sentences):
    """The sorted label list of tagged sentences (O first)."""
    tags = set([OUTSIDE])
    for sentence in sentences:
        tags.update(sentence.tags)
    return sorted(tags, key=tag_sort_key)


def check_labels(sentences, label_list, name):
    """Raises ValueError at the first tag outside `label_list`."""
    known = set(label_list)
    for sentence in sentences:
        for tag, line_number in zip(sentence.tags or (),
                                    sentence.line_numbers):
            if tag not in known:
                raise ValueError(
                    "%s, line %d: tag %r is not in the label list (%s)" %
                    (name, line_number, tag, ", ".join(label_list)))


def parse_label_list(text, source):
    """A label list from comma-separated or one-per-line text.

    Raises:
      ValueError: empty, duplicated, without O, or with a malformed tag.
    """
    labels = [t.strip() for t in re.split(r"[,\n]", text) if t.strip()]
    for index, tag in enumerate(labels, 1):
        check_tag(tag, source, index)
    if OUTSIDE not in labels:
        raise ValueError("%s: the label list %s lacks the tag O" %
                         (source, ",".join(labels)))
    if len(set(labels)) != len(labels):
        raise ValueError("%s: the label list %s names a tag twice" %
                         (source, ",".join(labels)))
    return labels


# ---------------------------------------------------------------------------
# Alignment and windows.
# ---------------------------------------------------------------------------


def token_pieces(tokens, tokenizer):
    """WordPiece tokens of each input token; [UNK] for one without any."""
    pieces = []
    for token in tokens:
        wordpieces = tokenizer.tokenize(token)
        pieces.append(wordpieces or [tokenizer.unk_token])
    return pieces


def window_spans(piece_counts, max_pieces, doc_stride):
    """[start, end) token spans covering a sentence, in order.

    Each span holds as many tokens as fit in `max_pieces` pieces (at least
    one: a longer token is cut to its first pieces); the next span starts
    `doc_stride` tokens later, or where the previous one ended if sooner.
    """
    spans, start, count = [], 0, len(piece_counts)
    while True:
        end, used = start, 0
        while end < count and used + piece_counts[end] <= max_pieces:
            used += piece_counts[end]
            end += 1
        end = max(end, start + 1)
        spans.append((start, end))
        if end >= count:
            return spans
        start = min(start + doc_stride, end)


def make_windows(sentence_index, sentence, tokenizer, label_map,
                 max_seq_length, doc_stride):
    """The model windows of one sentence.

    Args:
      sentence_index: position of the sentence in its file.
      sentence: Sentence (tags None for prediction: labels are 0).
      tokenizer: tokenization.FullTokenizer.
      label_map: {tag: id}.
      max_seq_length: pieces per window incl. [CLS] and [SEP].
      doc_stride: tokens between the starts of consecutive windows.

    Returns:
      list of Window; `first_positions[i]` is the position of the first
      piece of token `start + i`.
    """
    pieces = token_pieces(sentence.tokens, tokenizer)
    max_pieces = max_seq_length - 2
    windows = []
    for start, end in window_spans([len(p) for p in pieces], max_pieces,
                                   doc_stride):
        tokens, label_ids, weights, firsts = ["[CLS]"], [0], [0], []
        for index in range(start, end):
            firsts.append(len(tokens))
            own = pieces[index][:max_pieces]
            tokens.extend(own)
            label = label_map[sentence.tags[index]] if sentence.tags else 0
            label_ids.extend([label] + [0] * (len(own) - 1))
            weights.extend([1] + [0] * (len(own) - 1))
        tokens.append("[SEP]")
        label_ids.append(0)
        weights.append(0)
        input_ids = tokenizer.convert_tokens_to_ids(tokens)
        padding = [0] * (max_seq_length - len(input_ids))
        windows.append(Window(
            sentence_index, start, end, input_ids + padding,
            [1] * len(input_ids) + padding, [0] * max_seq_length,
            label_ids + padding, weights + padding, firsts))
    return windows


def sentences_to_windows(sentences, tokenizer, label_list, max_seq_length,
                         doc_stride):
    """Windows of every sentence, in order, and how many sentences split."""
    label_map = {tag: index for index, tag in enumerate(label_list)}
    windows, split = [], 0
    for index, sentence in enumerate(sentences):
        own = make_windows(index, sentence, tokenizer, label_map,
                           max_seq_length, doc_stride)
        split += len(own) > 1
        windows.extend(own)
    tf.logging.info("%d sentences -> %d windows (%d sentences longer than "
                    "one window)", len(sentences), len(windows), split)
    return windows


def merge_window_predictions(sentences, windows, window_label_ids):
    """One predicted label id per input token, from overlapping windows.

    A token covered by several windows takes the prediction of the window
    where min(tokens before it, tokens after it) is largest (the earlier
    window on a tie).

    Args:
      sentences: the sentences the windows came from.
      windows: their Windows, in order.
      window_label_ids: per window, the predicted label id of every
        position [S].

    Returns:
      list (per sentence) of lists of label ids, one per token.

    Raises:
      ValueError: a token no window covers (windows of other sentences).
    """
    merged = [[None] * len(s.tokens) for s in sentences]
    context = [[-1] * len(s.tokens) for s in sentences]
    for window, predicted in zip(windows, window_label_ids):
        best = context[window.sentence_index]
        out = merged[window.sentence_index]
        for offset, position in enumerate(window.first_positions):
            index = window.start + offset
            score = min(offset, window.end - 1 - index)
            if score > best[index]:
                best[index] = score
                out[index] = int(predicted[position])
    for index, labels in enumerate(merged):
        if None in labels:
            raise ValueError("sentence %d: token %d has no window" %
                             (index, labels.index(None)))
    return merged


# ---------------------------------------------------------------------------
# TFRecord features and the input pipeline.
# ---------------------------------------------------------------------------


def window_to_tf_example(window):
    """Serializes a Window's model inputs as a tf.train.Example."""
    feature = collections.OrderedDict(
        (name, estimator_util.int64_feature(getattr(window, name)))
        for name in FEATURE_NAMES)
    return tf.train.Example(features=tf.train.Features(feature=feature))


def padding_window(max_seq_length):
    """An all-zero window (label weight 0) that fills a TPU batch."""
    zeros = [0] * max_seq_length
    return Window(-1, 0, 0, zeros, zeros, zeros, zeros, zeros, [])


def write_windows(windows, output_file):
    """Writes the windows' features to a TFRecord file (atomically)."""
    with file_io.atomic_output(output_file) as temporary:
        with tf.io.TFRecordWriter(temporary) as writer:
            for window in windows:
                writer.write(window_to_tf_example(window).SerializeToString())
    return len(windows)


def name_to_features(seq_length):
    """Parsing spec of the records written by write_windows."""
    return {name: tf.io.FixedLenFeature([seq_length], tf.int64)
            for name in FEATURE_NAMES}


def input_fn_builder(input_file, seq_length, is_training, drop_remainder,
                     num_padding=0, seed=None, shuffle_buffer=10000,
                     skip_records=0):
    """An Estimator input_fn over a TFRecord file of windows.

    Args:
      input_file: TFRecord file from write_windows.
      seq_length: the windows' sequence length.
      is_training: repeat forever and shuffle.
      drop_remainder: drop a partial last batch.
      num_padding: all-zero windows appended (TPU batches).
      seed, shuffle_buffer, skip_records: see estimator_util.batch_records.

    Returns:
      input_fn(params) with params["batch_size"].
    """
    spec = name_to_features(seq_length)
    padding_record = window_to_tf_example(
        padding_window(seq_length)).SerializeToString()

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


def window_feature_dicts(windows):
    """The windows' model inputs as {name: np.ndarray [S]} dicts."""
    return [{name: np.asarray(getattr(w, name), np.int32)
             for name in ("input_ids", "input_mask", "segment_ids")}
            for w in windows]


# ---------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------


def prediction_lines(sentences, predicted_tags):
    """`token gold pred` (or `token pred`) lines, a blank line between
    sentences, in the input's order."""
    lines = []
    for sentence, tags in zip(sentences, predicted_tags):
        gold = sentence.tags or [None] * len(sentence.tokens)
        for token, gold_tag, tag in zip(sentence.tokens, gold, tags):
            fields = [token] + ([gold_tag] if gold_tag else []) + [tag]
            lines.append(" ".join(fields))
        lines.append("")
    return lines
