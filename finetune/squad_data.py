# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Span-extraction data: reading, windows and feature files.

CMRC 2018 and DRCD use the SQuAD v1.1 JSON layout
(``data`` -> ``paragraphs`` -> ``context`` + ``qas``). Chinese text has no
spaces between words, so a context is not split on whitespace as in English
BERT but into *units*:

* every CJK character and every punctuation character is a unit of its own;
* whitespace separates units and belongs to none;
* any other run of characters (a Latin word, a number such as ``2V2`` or
  ``1786``) is one unit, which WordPiece may split into several pieces.

Each context character knows its unit and each sub-token knows its unit and
the characters it covers, so a span of sub-tokens always maps back to a
substring of the original context: answers are never re-joined from tokens.

The windows of a file are written to a TFRecord file (write_features) that
input_fn_builder reads back for the estimator; squad_predictions turns the
windows' logits back into answer text.
"""

import collections

import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io
from pretrain import tokenization

# Marks of a continuation piece (WordPiece) and of a word start
# (SentencePiece); neither corresponds to a character of the text.
_PIECE_MARKS = ("##", u"\u2581")


# ---------------------------------------------------------------------------
# Context units and sub-tokens.
# ---------------------------------------------------------------------------


# The tokenizer's own character classes, so units agree with its splits.
# pylint: disable=protected-access
_is_punctuation = tokenization._is_punctuation
_is_whitespace = tokenization._is_whitespace
# pylint: enable=protected-access


def is_single_char_unit(char):
    """True for characters that always form a unit alone (CJK, punctuation)."""
    return tokenization.is_chinese_char(ord(char)) or _is_punctuation(char)


def split_units(text):
    """Splits a context into units.

    Args:
      text: the context string.

    Returns:
      A list of (start, end) character offsets, end exclusive, in order.
    """
    spans = []
    run_start = None
    for index, char in enumerate(text):
        if _is_whitespace(char):
            if run_start is not None:
                spans.append((run_start, index))
            run_start = None
        elif is_single_char_unit(char):
            if run_start is not None:
                spans.append((run_start, index))
            run_start = None
            spans.append((index, index + 1))
        elif run_start is None:
            run_start = index
    if run_start is not None:
        spans.append((run_start, len(text)))
    return spans


def char_to_unit_map(text_length, unit_spans):
    """Maps every character to its unit index (-1 for whitespace)."""
    char_to_unit = [-1] * text_length
    for unit_index, (start, end) in enumerate(unit_spans):
        for char_index in range(start, end):
            char_to_unit[char_index] = unit_index
    return char_to_unit


def piece_char_spans(unit_start, unit_text, pieces, unk_token):
    """Character spans of the sub-tokens of one unit.

    A piece covers exactly its own characters when the pieces, without their
    "##" or word-start marks, add up to the unit's length and none is the
    unknown token; otherwise (an [UNK], accents removed by lower-casing, ...)
    every piece is given the whole unit.

    Args:
      unit_start: offset of the unit in the context.
      unit_text: the unit's characters.
      pieces: the unit's sub-tokens.
      unk_token: the tokenizer's unknown token.

    Returns:
      One (start, end) context span per piece.
    """
    lengths = [len(_strip_piece_mark(piece)) for piece in pieces]
    exact = (sum(lengths) == len(unit_text) and all(lengths) and
             unk_token not in pieces)
    if not exact:
        return [(unit_start, unit_start + len(unit_text))] * len(pieces)
    spans = []
    offset = unit_start
    for length in lengths:
        spans.append((offset, offset + length))
        offset += length
    return spans


def _strip_piece_mark(piece):
    for mark in _PIECE_MARKS:
        if piece.startswith(mark):
            return piece[len(mark):]
    return piece


class TokenizedContext(object):
    """A context with its units and sub-tokens and the maps between them.

    Attributes:
      text: the original context string.
      unit_spans: (start, end) characters of each unit.
      char_to_unit: unit index of each character (-1 for whitespace).
      tokens: the context's sub-tokens.
      token_to_unit: unit index of each sub-token.
      token_spans: (start, end) characters each sub-token covers.
    """

    def __init__(self, text, tokenizer):
        """Splits and tokenizes `text` with a tokenization.FullTokenizer."""
        self.text = text
        self.unit_spans = split_units(text)
        self.char_to_unit = char_to_unit_map(len(text), self.unit_spans)
        self.tokens = []
        self.token_to_unit = []
        self.token_spans = []
        for unit_index, (start, end) in enumerate(self.unit_spans):
            pieces = tokenizer.tokenize(text[start:end])
            self.tokens.extend(pieces)
            self.token_to_unit.extend([unit_index] * len(pieces))
            self.token_spans.extend(
                piece_char_spans(start, text[start:end], pieces,
                                 tokenizer.unk_token))

    def char_span_to_tokens(self, start, end):
        """Sub-tokens covering the characters [start, end).

        Args:
          start: first character of the span.
          end: one past its last character.

        Returns:
          (first token, last token) inclusive, or None when no sub-token
          overlaps the span (it is whitespace or characters the tokenizer
          drops).
        """
        overlapping = [
            index
            for index, (tok_start, tok_end) in enumerate(self.token_spans)
            if tok_start < end and tok_end > start
        ]
        if not overlapping:
            return None
        return overlapping[0], overlapping[-1]

    def token_span_chars(self, first, last):
        """Character span [start, end) of sub-tokens first..last inclusive."""
        return self.token_spans[first][0], self.token_spans[last][1]

    def token_span_text(self, first, last):
        """The original context substring of sub-tokens first..last."""
        start, end = self.token_span_chars(first, last)
        return self.text[start:end]


# ---------------------------------------------------------------------------
# Reading the JSON files.
# ---------------------------------------------------------------------------


class SquadExample(object):
    """One question over a tokenized context.

    Attributes:
      qas_id: the question id (stripped string, as the metric reads it).
      question_text: the question.
      context: the paragraph's TokenizedContext (shared between questions).
      answer_text: training only: the answer text.
      start_token, end_token: training only: the answer's sub-tokens within
        the context, inclusive.
    """

    def __init__(self, qas_id, question_text, context, answer_text=None,
                 start_token=None, end_token=None):
        self.qas_id = qas_id
        self.question_text = question_text
        self.context = context
        self.answer_text = answer_text
        self.start_token = start_token
        self.end_token = end_token

    def __repr__(self):
        return "SquadExample(qas_id=%r, question=%r, answer=%r)" % (
            self.qas_id, self.question_text, self.answer_text)


# Outcomes of locating a training answer in its context.
ANSWER_AT_START = "at_start"
ANSWER_MOVED = "moved"
ANSWER_NOT_FOUND = "not_found"


def locate_answer(context, answer_text, answer_start):
    """Finds the character offset of a training answer.

    Args:
      context: the context string.
      answer_text: the answer string.
      answer_start: the offset the dataset gives (may be wrong).

    Returns:
      (offset, outcome): the offset at `answer_start` when the text is there
      (ANSWER_AT_START), else the occurrence closest to it (ANSWER_MOVED),
      else (None, ANSWER_NOT_FOUND), as for a blank answer.
    """
    if not answer_text.strip():
        return None, ANSWER_NOT_FOUND
    if (isinstance(answer_start, int) and answer_start >= 0 and
            context[answer_start:answer_start + len(answer_text)] ==
            answer_text):
        return answer_start, ANSWER_AT_START
    occurrences = []
    found = context.find(answer_text)
    while found >= 0:
        occurrences.append(found)
        found = context.find(answer_text, found + 1)
    if not occurrences:
        return None, ANSWER_NOT_FOUND
    target = answer_start if isinstance(answer_start, int) else 0
    return min(occurrences, key=lambda offset: abs(offset - target)), \
        ANSWER_MOVED


def load_dataset(input_file):
    """Reads a squad-style JSON file and checks its top-level shape.

    Raises:
      ValueError: the file is not JSON or has no `data` list.
    """
    dataset = file_io.load_json(input_file, what="squad-style dataset")
    if "data" not in dataset:
        raise ValueError(
            "%s: expected a JSON object with a \"data\" key (squad-style "
            "dataset)" % input_file)
    if not isinstance(dataset["data"], list):
        raise ValueError("%s: \"data\" must be a list of articles" %
                         input_file)
    return dataset


def _require(record, key, kind, where):
    """Returns record[key], raising a ValueError naming `where` otherwise."""
    value = record.get(key) if isinstance(record, dict) else None
    if not isinstance(value, kind):
        names = {list: "list", dict: "object"}
        expected = names.get(kind, "string")
        raise ValueError("%s: expected a %s field \"%s\"" %
                         (where, expected, key))
    return value


def iter_paragraphs(dataset, input_file):
    """Yields (where, context string, qas list) for every paragraph."""
    for article_index, article in enumerate(dataset["data"]):
        where = "%s: article %d" % (input_file, article_index)
        paragraphs = _require(article, "paragraphs", list, where)
        for paragraph_index, paragraph in enumerate(paragraphs):
            where_p = "%s, paragraph %d" % (where, paragraph_index)
            context = _require(paragraph, "context", str, where_p)
            qas = _require(paragraph, "qas", list, where_p)
            yield where_p, context, qas


class ReadStats(object):
    """Counts of what reading a file did with the questions and answers."""

    def __init__(self):
        self.questions = 0
        self.answers_at_start = 0
        self.answers_moved = 0
        self.answers_widened = 0
        self.answers_dropped = 0

    def __repr__(self):
        return ("questions=%d answers_at_start=%d answers_moved=%d "
                "answers_widened=%d answers_dropped=%d" %
                (self.questions, self.answers_at_start, self.answers_moved,
                 self.answers_widened, self.answers_dropped))


def read_squad_examples(input_file, tokenizer, is_training):
    """Reads a CMRC 2018 / DRCD / SQuAD v1.1 file into SquadExamples.

    Training uses each question's first answer: at its `answer_start` when
    the text is there, else at the occurrence closest to it; a question whose
    answer is nowhere in the context is dropped. Every moved and dropped
    answer is logged and counted, and so is every answer whose sub-tokens
    cover more than its text (a boundary inside a WordPiece piece, e.g.
    "4个" in "34个"; surrounding whitespace does not count).

    Args:
      input_file: the JSON file.
      tokenizer: a tokenization.FullTokenizer.
      is_training: locate answers (else answers are ignored).

    Returns:
      (examples, ReadStats).

    Raises:
      ValueError: a structural problem (no `data`, a question without `id`
        or `question`, a training question without answers, a duplicate
        id); the message names the file and the record.
    """
    dataset = load_dataset(input_file)
    examples = []
    stats = ReadStats()
    seen_ids = {}
    for where_p, context_text, qas in iter_paragraphs(dataset, input_file):
        context = TokenizedContext(context_text, tokenizer)
        for question_index, question in enumerate(qas):
            where = "%s, question %d" % (where_p, question_index)
            qas_id = _question_id(question, where)
            if qas_id in seen_ids:
                raise ValueError("%s: duplicate question id %r (first at %s)"
                                 % (where, qas_id, seen_ids[qas_id]))
            seen_ids[qas_id] = where
            question_text = _require(question, "question", str, where)
            stats.questions += 1
            if not is_training:
                examples.append(SquadExample(qas_id, question_text, context))
                continue
            example = _training_example(qas_id, question_text, context,
                                        question, where, stats)
            if example is not None:
                examples.append(example)
    if not stats.questions:
        raise ValueError("%s: the dataset has no questions" % input_file)
    if is_training:
        tf.logging.info("Read %s: %s", input_file, stats)
    else:
        tf.logging.info("Read %s: %d questions", input_file, stats.questions)
    return examples, stats


def _question_id(question, where):
    if not isinstance(question, dict) or question.get("id") in (None, ""):
        raise ValueError("%s: question has no \"id\"" % where)
    return str(question["id"]).strip()


def _training_example(qas_id, question_text, context, question, where, stats):
    """Builds a training example from a question's first answer.

    Returns:
      The SquadExample, or None (logged, counted) when the answer cannot be
      found in the context.
    """
    answers = _require(question, "answers", list, where)
    if not answers:
        raise ValueError("%s (id %s): a training question needs at least one "
                         "answer" % (where, qas_id))
    answer_text = _require(answers[0], "text", str, where + ", answer 0")
    answer_start = answers[0].get("answer_start")
    offset, outcome = locate_answer(context.text, answer_text, answer_start)
    token_span = None
    if outcome != ANSWER_NOT_FOUND:
        token_span = context.char_span_to_tokens(offset,
                                                 offset + len(answer_text))
    if token_span is None:
        stats.answers_dropped += 1
        tf.logging.warning(
            "Dropped %s (id %s): answer %r is not in the context%s", where,
            qas_id, answer_text,
            "" if outcome == ANSWER_NOT_FOUND else " as tokens")
        return None
    if outcome == ANSWER_MOVED:
        stats.answers_moved += 1
        tf.logging.info("Moved answer of %s (id %s): answer_start %r -> %d",
                        where, qas_id, answer_start, offset)
    else:
        stats.answers_at_start += 1
    covered = context.token_span_text(*token_span)
    if covered != answer_text.strip():
        stats.answers_widened += 1
        tf.logging.info("Widened answer of %s (id %s): %r -> %r", where,
                        qas_id, answer_text, covered)
    return SquadExample(qas_id, question_text, context, answer_text,
                        token_span[0], token_span[1])


def dataset_has_answers(dataset, input_file):
    """True when every question has a non-empty answers list.

    Args:
      dataset: the parsed file (see load_dataset).
      input_file: its path, for error messages.
    """
    for _, _, qas in iter_paragraphs(dataset, input_file):
        for question in qas:
            if not (isinstance(question, dict) and question.get("answers")):
                return False
    return True


# ---------------------------------------------------------------------------
# Windows and features.
# ---------------------------------------------------------------------------

DocSpan = collections.namedtuple("DocSpan", ["start", "length"])


def doc_spans(num_tokens, max_tokens_for_doc, doc_stride):
    """Sliding windows over the context tokens.

    Windows start every `doc_stride` tokens and hold up to
    `max_tokens_for_doc`; the last one reaches the end of the context.
    """
    spans = []
    start = 0
    while start < num_tokens:
        length = min(num_tokens - start, max_tokens_for_doc)
        spans.append(DocSpan(start, length))
        if start + length == num_tokens:
            break
        start += min(length, doc_stride)
    return spans


def is_max_context(spans, span_index, position):
    """Whether window `span_index` gives token `position` its best context.

    A token in several windows is scored in each by
    min(tokens to its left, tokens to its right) + 0.01 * window length;
    only the best-scoring window (the first one on ties) may predict it.
    """
    best_score = None
    best_index = None
    for index, span in enumerate(spans):
        end = span.start + span.length - 1
        if position < span.start or position > end:
            continue
        score = min(position - span.start, end - position) + 0.01 * span.length
        if best_score is None or score > best_score:
            best_score = score
            best_index = index
    return span_index == best_index


class InputFeatures(object):
    """One window of one example, ready for the model.

    Attributes:
      unique_id: identifies the window in the model's results.
      example_index: index of the example in the example list.
      doc_span_index: index of the window within the example.
      tokens: [CLS] question [SEP] context-window [SEP].
      token_to_context: {position: context sub-token index} for the
        window's context tokens.
      token_is_max_context: {position: bool} for the same positions.
      input_ids, input_mask, segment_ids: int lists of max_seq_length.
      start_position, end_position: training: the answer's positions, or 0
        (the [CLS] token) when the answer is outside the window.
    """

    def __init__(self, unique_id, example_index, doc_span_index, tokens,
                 token_to_context, token_is_max_context, input_ids,
                 input_mask, segment_ids, start_position=None,
                 end_position=None):
        self.unique_id = unique_id
        self.example_index = example_index
        self.doc_span_index = doc_span_index
        self.tokens = tokens
        self.token_to_context = token_to_context
        self.token_is_max_context = token_is_max_context
        self.input_ids = input_ids
        self.input_mask = input_mask
        self.segment_ids = segment_ids
        self.start_position = start_position
        self.end_position = end_position


FIRST_UNIQUE_ID = 1000000000


def convert_examples_to_features(examples, tokenizer, max_seq_length,
                                 doc_stride, max_query_length, is_training,
                                 output_fn):
    """Cuts every example into windows and passes each to `output_fn`.

    A training window that does not contain the whole answer keeps
    start = end = 0 (the [CLS] token), as BERT does for SQuAD v1.1.

    Args:
      examples: SquadExamples.
      tokenizer: the FullTokenizer that tokenized the contexts.
      max_seq_length: tokens per window, [CLS]/[SEP] included.
      doc_stride: tokens between window starts.
      max_query_length: question tokens kept (the rest is cut).
      is_training: fill start/end positions.
      output_fn: called with each InputFeatures.

    Returns:
      The number of features produced.

    Raises:
      ValueError: max_seq_length leaves no room for context tokens.
    """
    if max_seq_length <= max_query_length + 3:
        raise ValueError(
            "max_seq_length (%d) must exceed max_query_length (%d) + 3" %
            (max_seq_length, max_query_length))
    unique_id = FIRST_UNIQUE_ID
    for example_index, example in enumerate(examples):
        query_tokens = tokenizer.tokenize(
            example.question_text)[:max_query_length]
        # Windows are cut for the question's real length, so a short
        # question leaves more room for context.
        room = max_seq_length - len(query_tokens) - 3
        spans = doc_spans(len(example.context.tokens), room, doc_stride)
        for span_index, span in enumerate(spans):
            output_fn(
                window_features(unique_id, example_index, example, tokenizer,
                                query_tokens, spans, span_index,
                                max_seq_length, is_training))
            unique_id += 1
    return unique_id - FIRST_UNIQUE_ID


def window_features(unique_id, example_index, example, tokenizer,
                    query_tokens, spans, span_index, max_seq_length,
                    is_training):
    """Builds the InputFeatures of window `span_index` of an example."""
    span = spans[span_index]
    tokens = ["[CLS]"] + list(query_tokens) + ["[SEP]"]
    segment_ids = [0] * len(tokens)
    token_to_context = {}
    token_is_max_context = {}
    for offset in range(span.length):
        context_index = span.start + offset
        token_to_context[len(tokens)] = context_index
        token_is_max_context[len(tokens)] = is_max_context(
            spans, span_index, context_index)
        tokens.append(example.context.tokens[context_index])
        segment_ids.append(1)
    tokens.append("[SEP]")
    segment_ids.append(1)
    input_ids = tokenizer.convert_tokens_to_ids(tokens)
    input_mask = [1] * len(input_ids)
    padding = max_seq_length - len(input_ids)
    input_ids += [0] * padding
    input_mask += [0] * padding
    segment_ids += [0] * padding
    start_position = end_position = None
    if is_training:
        start_position, end_position = window_answer_positions(
            example, span, len(query_tokens) + 2)
    return InputFeatures(unique_id, example_index, span_index, tokens,
                         token_to_context, token_is_max_context, input_ids,
                         input_mask, segment_ids, start_position,
                         end_position)


def window_answer_positions(example, span, context_offset):
    """Answer positions in a window, or (0, 0) when it is not inside.

    Args:
      example: a training SquadExample.
      span: the window's DocSpan.
      context_offset: position of the window's first context token.
    """
    span_end = span.start + span.length - 1
    if example.start_token < span.start or example.end_token > span_end:
        return 0, 0
    return (example.start_token - span.start + context_offset,
            example.end_token - span.start + context_offset)


# ---------------------------------------------------------------------------
# Feature files and input pipeline.
# ---------------------------------------------------------------------------


def features_to_tf_example(feature, is_training):
    """Serializes one window's InputFeatures as a tf.train.Example.

    Args:
      feature: the InputFeatures.
      is_training: also write the answer's start and end positions.
    """
    int64_feature = estimator_util.int64_feature
    record = collections.OrderedDict([
        ("unique_ids", int64_feature([feature.unique_id])),
        ("input_ids", int64_feature(feature.input_ids)),
        ("input_mask", int64_feature(feature.input_mask)),
        ("segment_ids", int64_feature(feature.segment_ids)),
    ])
    if is_training:
        record["start_positions"] = int64_feature([feature.start_position])
        record["end_positions"] = int64_feature([feature.end_position])
    return tf.train.Example(features=tf.train.Features(feature=record))


def write_features(examples, tokenizer, output_file, max_seq_length,
                   doc_stride, max_query_length, is_training):
    """Cuts `examples` into windows and writes them to a TFRecord file.

    Args:
      examples: SquadExamples.
      tokenizer: the FullTokenizer that tokenized the contexts.
      output_file: the TFRecord file to write.
      max_seq_length: tokens per window, [CLS]/[SEP] included.
      doc_stride: tokens between window starts.
      max_query_length: question tokens kept.
      is_training: write the answer positions too.

    Returns:
      The InputFeatures of every window, in file order. The file is written
      under a per-process temporary name and renamed at the end: a killed
      run leaves no truncated file.
    """
    features = []
    with file_io.atomic_output(output_file) as temporary:
        with tf.io.TFRecordWriter(temporary) as writer:

            def write(feature):
                features.append(feature)
                writer.write(
                    features_to_tf_example(feature,
                                           is_training).SerializeToString())

            convert_examples_to_features(examples, tokenizer, max_seq_length,
                                         doc_stride, max_query_length,
                                         is_training, write)
    return features


def name_to_features(seq_length, is_training):
    """Parsing spec of the records written by write_features."""
    spec = {
        "unique_ids": tf.io.FixedLenFeature([], tf.int64),
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
    }
    if is_training:
        spec["start_positions"] = tf.io.FixedLenFeature([], tf.int64)
        spec["end_positions"] = tf.io.FixedLenFeature([], tf.int64)
    return spec


def input_fn_builder(input_file,
                     seq_length,
                     is_training,
                     drop_remainder,
                     seed=None,
                     shuffle_buffer=100,
                     skip_records=0):
    """An Estimator input_fn over a TFRecord file of windows.

    Args:
      input_file: TFRecord file from write_features.
      seq_length: the windows' sequence length.
      is_training: read answer positions, repeat forever and shuffle.
      drop_remainder: drop a partial last batch.
      seed: shuffle seed (repeatable runs).
      shuffle_buffer: shuffle buffer size in windows (the examples are
        shuffled before their windows are written).
      skip_records: training windows to skip (a resumed run).

    Returns:
      input_fn(params) with params["batch_size"].
    """
    spec = name_to_features(seq_length, is_training)

    def input_fn(params):
        return estimator_util.batch_records(
            tf.data.TFRecordDataset(input_file), spec, params["batch_size"],
            is_training, drop_remainder, seed=seed,
            shuffle_buffer=shuffle_buffer, skip_records=skip_records)

    return input_fn
