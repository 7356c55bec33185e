# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Turns raw text into masked-LM pretraining examples (sharded TFRecords).

Input files hold one sentence per line, with blank lines between documents.
The algorithm is BERT's: documents are shuffled; every document is cut, once
per `dupe_factor`, into chunks of whole sentences that fill `max_seq_length`
(sometimes a shorter random length, `short_seq_prob`); each chunk becomes
`[CLS] A [SEP] B [SEP]` where B is either the rest of the chunk or, half of the
time (always for a one-sentence chunk), text taken from another document; the
longer side is trimmed at a random end until the pair fits; then about
`masked_lm_prob` of the tokens are chosen for prediction and replaced 80% by
`[MASK]`, 10% by themselves and 10% by a random vocabulary token.

With `--do_whole_word_mask` the units chosen for masking are whole words:
Chinese text is segmented with jieba and every character after the first of
a multi-character word (and every WordPiece `##` continuation) is masked
together with the start of its word. The written ids stay the plain
characters' ids.

Each example has the features `input_ids`, `input_mask`, `segment_ids`
(int64 x max_seq_length, zero padded), `masked_lm_positions`, `masked_lm_ids`
(int64 x max_predictions_per_seq, zero padded), `masked_lm_weights` (float x
max_predictions_per_seq, 1.0 for a real prediction) and `next_sentence_labels`
(int64 x 1, 1 when B comes from another document).

Usage:
    python pretrain/create_pretraining_data.py \\
      --input_file='corpus/*.txt' \\
      --output_file=data/train-0.tfrecord,data/train-1.tfrecord \\
      --vocab_file=chinese_vocab.txt --max_seq_length=512 \\
      --max_predictions_per_seq=75 --do_whole_word_mask
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import functools
import itertools
import logging
import os
import random
import sys

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import jieba
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io
from pretrain import tokenization

CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
REQUIRED_TOKENS = (CLS_TOKEN, SEP_TOKEN, MASK_TOKEN)

# "[CLS] A [SEP] B [SEP]" with non-empty A and B needs this many positions.
MIN_SEQ_LENGTH = 5
# How many documents / instances between two progress messages.
LOG_EVERY_DOCUMENTS = 10000
LOG_EVERY_INSTANCES = 100000
# How many written examples are logged in full.
NUM_LOGGED_EXAMPLES = 5

FLAGS = flags.FLAGS

# One input line: its tokens and, per token, whether the token continues the
# word started by the token before it (whole-word masking units).
Sentence = collections.namedtuple("Sentence", ["tokens", "continues_word"])

MaskedLmPrediction = collections.namedtuple("MaskedLmPrediction",
                                            ["index", "label"])


class TrainingInstance(object):
    """One packed and masked sentence pair, before conversion to ids.

    Attributes:
        tokens: `[CLS] A [SEP] B [SEP]` with the masked replacements applied.
        segment_ids: 0 for `[CLS]`, A and the first `[SEP]`; 1 for B and the
          last `[SEP]`.
        is_random_next: Whether B was taken from another document.
        masked_lm_positions: Sorted indexes of the positions to predict.
        masked_lm_labels: The original tokens at those positions.
        continues_word: Per token, True if it belongs to the same word as the
          token before it (never True for `[CLS]`, `[SEP]` or the first token
          of a segment). All False without whole-word masking.
    """

    def __init__(self, tokens, segment_ids, is_random_next,
                 masked_lm_positions, masked_lm_labels, continues_word):
        self.tokens = tokens
        self.segment_ids = segment_ids
        self.is_random_next = is_random_next
        self.masked_lm_positions = masked_lm_positions
        self.masked_lm_labels = masked_lm_labels
        self.continues_word = continues_word


# ---------------------------------------------------------------------------
# Options and file lists.


def validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob):
    """Rejects option values the algorithm cannot work with.

    Raises:
        ValueError: Naming the option and the accepted range.
    """
    if max_seq_length < MIN_SEQ_LENGTH:
        raise ValueError(
            "max_seq_length is %d; it must be at least %d to hold "
            "[CLS] A [SEP] B [SEP] with one token in A and in B." %
            (max_seq_length, MIN_SEQ_LENGTH))
    if max_predictions_per_seq < 1:
        raise ValueError("max_predictions_per_seq is %d; it must be at "
                         "least 1." % max_predictions_per_seq)
    if dupe_factor < 1:
        raise ValueError("dupe_factor is %d; it must be at least 1." %
                         dupe_factor)
    if not 0.0 < masked_lm_prob <= 1.0:
        raise ValueError("masked_lm_prob is %r; it must be in (0, 1]." %
                         masked_lm_prob)
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError("short_seq_prob is %r; it must be in [0, 1]." %
                         short_seq_prob)


def validate_vocab(tokenizer):
    """Checks that the vocabulary has the tokens the examples need.

    Raises:
        ValueError: Naming the missing tokens.
    """
    missing = [token for token in REQUIRED_TOKENS
               if token not in tokenizer.vocab]
    if missing:
        raise ValueError("The vocabulary lacks %s; pretraining examples "
                         "need %s." % (", ".join(missing),
                                       ", ".join(REQUIRED_TOKENS)))


# ---------------------------------------------------------------------------
# Tokenization and word segmentation.


@functools.lru_cache(maxsize=None)
def _word_segmenter():
    """Returns a private, initialised jieba tokenizer (created once).

    A private instance keeps words that other code adds to jieba's global
    dictionary from changing the segmentation, so output stays reproducible.
    """
    jieba.setLogLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    return segmenter


def _cjk_runs(text):
    """Splits `text` into maximal runs of CJK / non-CJK characters.

    Yields:
        (run, is_cjk) pairs whose runs concatenate to `text`.
    """
    groups = itertools.groupby(
        text, key=lambda char: tokenization.is_chinese_char(ord(char)))
    for is_cjk, chars in groups:
        yield "".join(chars), is_cjk


def segment_words(text, tokenizer):
    """Tokenizes one line and marks the tokens that continue a word.

    The tokenizer isolates every CJK ideograph, so a line tokenizes to the
    tokens of its CJK and non-CJK runs one after the other. CJK runs are
    segmented into words with jieba; each character after the first of a
    word continues it. In other runs a WordPiece `##` piece continues the
    word before it. The tokens are exactly `tokenizer.tokenize(text)`.

    Args:
        text: One line of text.
        tokenizer: A WordPiece `tokenization.FullTokenizer`.

    Returns:
        A `Sentence`.
    """
    tokens = []
    continues_word = []
    for run, is_cjk in _cjk_runs(text):
        if is_cjk:
            for word in _word_segmenter().lcut(run):
                pieces = tokenizer.tokenize(word)  # One token per character.
                tokens.extend(pieces)
                continues_word.extend(index > 0
                                      for index in range(len(pieces)))
        else:
            pieces = tokenizer.tokenize(run)
            tokens.extend(pieces)
            continues_word.extend(piece.startswith("##") for piece in pieces)
    return Sentence(tuple(tokens), tuple(continues_word))


def tokenize_sentence(text, tokenizer):
    """Tokenizes one line with every token its own masking unit."""
    tokens = tuple(tokenizer.tokenize(text))
    return Sentence(tokens, (False,) * len(tokens))


def _decode_line(raw_line, path, line_number):
    """Decodes one UTF-8 input line (the file's BOM dropped), naming the file
    and line on failure."""
    return file_io.decode_utf8(raw_line, path, "input_file", line_number)


def read_file_documents(path, sentence_fn):
    """Reads the documents of one text file.

    Args:
        path: A text file, one sentence per line, blank lines between
          documents.
        sentence_fn: Maps a stripped, non-blank line to a `Sentence`.

    Returns:
        A list of documents, each a non-empty list of `Sentence`s.

    Raises:
        ValueError: If a line is not UTF-8 or the file holds no document.
    """
    documents = [[]]
    skipped_lines = 0
    with tf.io.gfile.GFile(path, "rb") as reader:
        for line_number, raw_line in enumerate(reader, start=1):
            line = _decode_line(raw_line, path, line_number).strip()
            if not line:
                if documents[-1]:
                    documents.append([])
                continue
            sentence = sentence_fn(line)
            if not sentence.tokens:
                skipped_lines += 1
                continue
            starts_document = not documents[-1]
            if starts_document and len(documents) % LOG_EVERY_DOCUMENTS == 0:
                tf.logging.info("%s: reading document %d", path,
                                len(documents))
            documents[-1].append(sentence)
    if skipped_lines:
        tf.logging.warning("%s: skipped %d non-blank lines that have no "
                           "tokens.", path, skipped_lines)
    documents = [document for document in documents if document]
    if not documents:
        raise ValueError(
            "%s holds no documents: expected text with one sentence per line "
            "and blank lines between documents." % path)
    return documents


def read_documents(input_files, tokenizer, do_whole_word_mask):
    """Reads and tokenizes every document of the input files, in order.

    Args:
        input_files: List of text files.
        tokenizer: A `tokenization.FullTokenizer`.
        do_whole_word_mask: Whether to record word boundaries (jieba for
          Chinese, `##` for WordPiece continuations).

    Returns:
        A list of documents, each a list of `Sentence`s.

    Raises:
        ValueError: If a file holds no document, or whole-word masking is
          asked for with a SentencePiece tokenizer.
    """
    if do_whole_word_mask and tokenizer.sp_model:
        raise ValueError(
            "--do_whole_word_mask segments Chinese words with jieba over "
            "WordPiece tokens; it cannot be combined with --spm_model_file, "
            "whose pieces already span words.")
    if do_whole_word_mask:
        sentence_fn = functools.partial(segment_words, tokenizer=tokenizer)
    else:
        sentence_fn = functools.partial(tokenize_sentence,
                                        tokenizer=tokenizer)
    documents = []
    for path in input_files:
        file_documents = read_file_documents(path, sentence_fn)
        documents.extend(file_documents)
        tf.logging.info("Read %d documents from %s (%d in total).",
                        len(file_documents), path, len(documents))
    return documents


# ---------------------------------------------------------------------------
# Sentence-pair packing.


def _concat_sentences(sentences):
    """Returns the (token, continues_word) pairs of `sentences`, in order."""
    pairs = []
    for sentence in sentences:
        pairs.extend(zip(sentence.tokens, sentence.continues_word))
    return pairs


def _random_segment(documents, document_index, target_length, rng):
    """Takes sentences from a random other document, from a random start.

    At least one sentence is taken, then more until `target_length` tokens.

    Returns:
        A list of (token, continues_word) pairs.
    """
    other_index = rng.randint(0, len(documents) - 2)
    if other_index >= document_index:
        other_index += 1
    other_document = documents[other_index]
    start = rng.randint(0, len(other_document) - 1)
    pairs = []
    for sentence in other_document[start:]:
        pairs.extend(zip(sentence.tokens, sentence.continues_word))
        if len(pairs) >= target_length:
            break
    return pairs


def truncate_seq_pair(first, second, max_num_tokens, rng):
    """Trims the longer of two lists, one item at a time, until they fit.

    Each removed item comes from the front or the back at random, so the
    model does not learn that sequences always end at a sentence boundary.

    Args:
        first: List, changed in place.
        second: List, changed in place.
        max_num_tokens: Largest allowed `len(first) + len(second)`.
        rng: `random.Random`.
    """
    while len(first) + len(second) > max_num_tokens:
        longer = first if len(first) > len(second) else second
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _segment_continuations(pairs):
    """Returns the continues_word flags of a segment; its first is False."""
    return [index > 0 and continues
            for index, (_, continues) in enumerate(pairs)]


def _masking_units(tokens, continues_word):
    """Groups token indexes into masking units (words), skipping specials.

    Returns:
        A list of lists of consecutive indexes.
    """
    units = []
    for index, token in enumerate(tokens):
        if token in (CLS_TOKEN, SEP_TOKEN):
            continue
        if continues_word[index] and units and units[-1][-1] == index - 1:
            units[-1].append(index)
        else:
            units.append([index])
    return units


def _replacement_token(token, vocab_words, rng):
    """80% `[MASK]`, 10% the token itself, 10% a random vocabulary token."""
    if rng.random() < 0.8:
        return MASK_TOKEN
    if rng.random() < 0.5:
        return token
    return vocab_words[rng.randint(0, len(vocab_words) - 1)]


def create_masked_lm_predictions(tokens, continues_word, masked_lm_prob,
                                 max_predictions_per_seq, vocab_words, rng):
    """Chooses the positions to predict and applies the replacements.

    Units (single tokens, or whole words when `continues_word` links them)
    are visited in random order and taken whole while they fit into
    `min(max_predictions_per_seq, max(1, round(len(tokens) *
    masked_lm_prob)))` predictions; a unit that would exceed it is skipped.

    Args:
        tokens: `[CLS] A [SEP] B [SEP]` tokens.
        continues_word: Per token, whether it continues the previous word.
        masked_lm_prob: Fraction of tokens to predict.
        max_predictions_per_seq: Cap on the number of predictions.
        vocab_words: List of vocabulary tokens for random replacement.
        rng: `random.Random`.

    Returns:
        (output_tokens, masked_lm_positions, masked_lm_labels), positions
        sorted.
    """
    units = _masking_units(tokens, continues_word)
    rng.shuffle(units)
    num_to_predict = min(max_predictions_per_seq,
                         max(1, int(round(len(tokens) * masked_lm_prob))))
    output_tokens = list(tokens)
    predictions = []
    for unit in units:
        if len(predictions) >= num_to_predict:
            break
        if len(predictions) + len(unit) > num_to_predict:
            continue
        for index in unit:
            output_tokens[index] = _replacement_token(tokens[index],
                                                      vocab_words, rng)
            predictions.append(MaskedLmPrediction(index, tokens[index]))
    predictions.sort(key=lambda prediction: prediction.index)
    positions = [prediction.index for prediction in predictions]
    labels = [prediction.label for prediction in predictions]
    return output_tokens, positions, labels


def _make_instance(first, second, is_random_next, masked_lm_prob,
                   max_predictions_per_seq, vocab_words, rng):
    """Builds `[CLS] A [SEP] B [SEP]` from two segments and masks it."""
    tokens = ([CLS_TOKEN] + [token for token, _ in first] + [SEP_TOKEN] +
              [token for token, _ in second] + [SEP_TOKEN])
    segment_ids = [0] * (len(first) + 2) + [1] * (len(second) + 1)
    continues_word = ([False] + _segment_continuations(first) + [False] +
                      _segment_continuations(second) + [False])
    output_tokens, positions, labels = create_masked_lm_predictions(
        tokens, continues_word, masked_lm_prob, max_predictions_per_seq,
        vocab_words, rng)
    return TrainingInstance(output_tokens, segment_ids, is_random_next,
                            positions, labels, continues_word)


def _target_seq_length(max_num_tokens, short_seq_prob, rng):
    """Usually `max_num_tokens`; with `short_seq_prob` a shorter length."""
    if rng.random() < short_seq_prob:
        return rng.randint(2, max_num_tokens)
    return max_num_tokens


def create_instances_from_document(documents, document_index,
                                   max_seq_length, short_seq_prob,
                                   masked_lm_prob, max_predictions_per_seq,
                                   vocab_words, rng):
    """Packs one document into masked sentence-pair instances.

    Whole sentences are gathered into a chunk until it reaches the target
    length (or the document ends). A random number of them form segment A;
    segment B is the rest of the chunk, or, with probability 0.5 (always
    when the chunk has a single sentence), text from another document, in
    which case the chunk's unused sentences are put back for the next chunk.

    Args:
        documents: All documents (at least two), each a list of `Sentence`s.
        document_index: Index of the document to pack.
        max_seq_length: Length of the packed sequence with specials.
        short_seq_prob: Probability of a shorter target length for the
          document.
        masked_lm_prob: Fraction of tokens to predict.
        max_predictions_per_seq: Cap on the predictions per instance.
        vocab_words: List of vocabulary tokens for random replacement.
        rng: `random.Random`.

    Returns:
        A list of `TrainingInstance`s.
    """
    document = documents[document_index]
    max_num_tokens = max_seq_length - 3  # Room for [CLS] and two [SEP].
    target_length = _target_seq_length(max_num_tokens, short_seq_prob, rng)
    instances = []
    chunk = []
    chunk_length = 0
    index = 0
    while index < len(document):
        chunk.append(document[index])
        chunk_length += len(document[index].tokens)
        if index == len(document) - 1 or chunk_length >= target_length:
            a_end = 1 if len(chunk) < 2 else rng.randint(1, len(chunk) - 1)
            first = _concat_sentences(chunk[:a_end])
            is_random_next = len(chunk) == 1 or rng.random() < 0.5
            if is_random_next:
                second = _random_segment(documents, document_index,
                                         target_length - len(first), rng)
                index -= len(chunk) - a_end  # Reuse the unused sentences.
            else:
                second = _concat_sentences(chunk[a_end:])
            truncate_seq_pair(first, second, max_num_tokens, rng)
            instances.append(_make_instance(
                first, second, is_random_next, masked_lm_prob,
                max_predictions_per_seq, vocab_words, rng))
            chunk = []
            chunk_length = 0
        index += 1
    return instances


def create_training_instances(documents, vocab_words, rng, max_seq_length,
                              dupe_factor, short_seq_prob, masked_lm_prob,
                              max_predictions_per_seq):
    """Shuffles the documents and packs them `dupe_factor` times.

    Every pass masks the text differently. The instances are shuffled.

    Args:
        documents: List of documents, each a list of `Sentence`s (not
          modified).
        vocab_words: List of vocabulary tokens for random replacement.
        rng: `random.Random`, the only source of randomness.
        max_seq_length: Length of each sequence with its special tokens.
        dupe_factor: Number of passes over the corpus.
        short_seq_prob: Probability of a shorter target length.
        masked_lm_prob: Fraction of tokens to predict.
        max_predictions_per_seq: Cap on the predictions per instance.

    Returns:
        A list of `TrainingInstance`s.

    Raises:
        ValueError: If there are fewer than two documents (segment B is
          sometimes drawn from another document).
    """
    if len(documents) < 2:
        raise ValueError(
            "Found %d document(s); at least 2 are needed because segment B "
            "is sometimes taken from another document. Separate documents "
            "with blank lines." % len(documents))
    documents = list(documents)
    rng.shuffle(documents)
    instances = []
    for pass_index in range(dupe_factor):
        for document_index in range(len(documents)):
            previous_total = len(instances)
            instances.extend(create_instances_from_document(
                documents, document_index, max_seq_length, short_seq_prob,
                masked_lm_prob, max_predictions_per_seq, vocab_words, rng))
            if len(instances) // LOG_EVERY_INSTANCES > (
                    previous_total // LOG_EVERY_INSTANCES):
                tf.logging.info("Instances created so far: %d",
                                len(instances))
        tf.logging.info("Pass %d of %d done: %d instances.", pass_index + 1,
                        dupe_factor, len(instances))
    rng.shuffle(instances)
    return instances


# ---------------------------------------------------------------------------
# Writing.


def _float_feature(values):
    """Wraps numbers as a float-list feature."""
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _padded(values, length):
    """Returns `values` followed by zeros up to `length`."""
    return list(values) + [0] * (length - len(values))


def instance_to_example(instance, tokenizer, max_seq_length,
                        max_predictions_per_seq):
    """Converts an instance to a `tf.train.Example` of the documented features.

    Raises:
        ValueError: If the instance does not fit the lengths.
    """
    if len(instance.tokens) > max_seq_length:
        raise ValueError("Instance has %d tokens; max_seq_length is %d." %
                         (len(instance.tokens), max_seq_length))
    if len(instance.masked_lm_positions) > max_predictions_per_seq:
        raise ValueError(
            "Instance has %d predictions; max_predictions_per_seq is %d." %
            (len(instance.masked_lm_positions), max_predictions_per_seq))
    input_ids = tokenizer.convert_tokens_to_ids(instance.tokens)
    masked_lm_ids = tokenizer.convert_tokens_to_ids(instance.masked_lm_labels)
    num_predictions = len(masked_lm_ids)
    features = collections.OrderedDict()
    features["input_ids"] = estimator_util.int64_feature(
        _padded(input_ids, max_seq_length))
    features["input_mask"] = estimator_util.int64_feature(
        _padded([1] * len(input_ids), max_seq_length))
    features["segment_ids"] = estimator_util.int64_feature(
        _padded(instance.segment_ids, max_seq_length))
    features["masked_lm_positions"] = estimator_util.int64_feature(
        _padded(instance.masked_lm_positions, max_predictions_per_seq))
    features["masked_lm_ids"] = estimator_util.int64_feature(
        _padded(masked_lm_ids, max_predictions_per_seq))
    features["masked_lm_weights"] = _float_feature(
        [1.0] * num_predictions +
        [0.0] * (max_predictions_per_seq - num_predictions))
    features["next_sentence_labels"] = estimator_util.int64_feature(
        [1 if instance.is_random_next else 0])
    return tf.train.Example(features=tf.train.Features(feature=features))


def _log_example(example, tokenizer):
    """Logs an example decoded back to tokens."""
    feature = example.features.feature
    length = sum(feature["input_mask"].int64_list.value)
    num_predictions = int(sum(feature["masked_lm_weights"].float_list.value))
    input_ids = feature["input_ids"].int64_list.value[:length]
    masked_ids = feature["masked_lm_ids"].int64_list.value[:num_predictions]
    tf.logging.info("*** Example ***")
    tf.logging.info("tokens: %s", " ".join(
        tokenization.printable_text(token)
        for token in tokenizer.convert_ids_to_tokens(input_ids)))
    tf.logging.info("segment_ids: %s", " ".join(
        str(x) for x in feature["segment_ids"].int64_list.value[:length]))
    tf.logging.info("masked_lm_positions: %s", " ".join(
        str(x) for x in
        feature["masked_lm_positions"].int64_list.value[:num_predictions]))
    tf.logging.info("masked_lm_labels: %s", " ".join(
        tokenization.printable_text(token)
        for token in tokenizer.convert_ids_to_tokens(masked_ids)))
    tf.logging.info("next_sentence_labels: %d",
                    feature["next_sentence_labels"].int64_list.value[0])


def write_instances_to_example_files(instances, tokenizer, max_seq_length,
                                     max_predictions_per_seq, output_files):
    """Writes the instances round-robin into the output TFRecord files.

    Args:
        instances: List of `TrainingInstance`s.
        tokenizer: The `tokenization.FullTokenizer` that made them.
        max_seq_length: Padded length of the per-token features.
        max_predictions_per_seq: Padded length of the prediction features.
        output_files: List of output paths (shards); parent directories are
          created.

    Returns:
        The number of examples written.
    """
    writers = []
    for path in output_files:
        directory = os.path.dirname(path)
        if directory:
            tf.io.gfile.makedirs(directory)
        writers.append(tf.io.TFRecordWriter(path))
    try:
        for count, instance in enumerate(instances):
            example = instance_to_example(instance, tokenizer, max_seq_length,
                                          max_predictions_per_seq)
            # Deterministic serialization orders the feature map by name, so
            # the same instances always give the same bytes.
            writers[count % len(writers)].write(
                example.SerializeToString(deterministic=True))
            if count < NUM_LOGGED_EXAMPLES:
                _log_example(example, tokenizer)
            if (count + 1) % LOG_EVERY_INSTANCES == 0:
                tf.logging.info("Examples written so far: %d", count + 1)
    finally:
        for writer in writers:
            writer.close()
    tf.logging.info("Wrote %d examples to %d file(s).", len(instances),
                    len(writers))
    return len(instances)


def build_records(input_files, output_files, tokenizer, max_seq_length=128,
                  max_predictions_per_seq=20, random_seed=12345,
                  dupe_factor=10, masked_lm_prob=0.15, short_seq_prob=0.1,
                  do_whole_word_mask=False):
    """Reads text files and writes pretraining TFRecords (the whole tool).

    Args:
        input_files: List of text files (see
            `estimator_util.expand_input_files`).
        output_files: List of output TFRecord paths (shards).
        tokenizer: A `tokenization.FullTokenizer`.
        max_seq_length: Length of each sequence with its special tokens.
        max_predictions_per_seq: Cap on the predictions per sequence.
        random_seed: Seed of the one `random.Random` used throughout.
        dupe_factor: Number of passes over the corpus.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: Probability of a shorter target length.
        do_whole_word_mask: Mask whole (jieba) words instead of tokens.

    Returns:
        The number of examples written.

    Raises:
        ValueError: On bad options, an empty output list, a vocabulary
          without the special tokens or unusable input files.
    """
    validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob)
    validate_vocab(tokenizer)
    if not output_files:
        raise ValueError("No output file given: pass --output_file as a "
                         "comma list of TFRecord paths.")
    documents = read_documents(input_files, tokenizer, do_whole_word_mask)
    rng = random.Random(random_seed)
    instances = create_training_instances(
        documents, list(tokenizer.vocab.keys()), rng, max_seq_length,
        dupe_factor, short_seq_prob, masked_lm_prob, max_predictions_per_seq)
    return write_instances_to_example_files(
        instances, tokenizer, max_seq_length, max_predictions_per_seq,
        output_files)


# ---------------------------------------------------------------------------
# Command line.


def define_flags():
    """Defines the command-line flags (only when run as a script)."""
    flags.DEFINE_string("input_file", None,
                        "Comma list of input text files and/or glob patterns: "
                        "one sentence per line, blank lines between "
                        "documents.")
    flags.DEFINE_string("output_file", None,
                        "Comma list of output TFRecord files (shards, filled "
                        "round-robin).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary file.")
    flags.DEFINE_bool("do_lower_case", True,
                      "Whether to lower-case the input text.")
    flags.DEFINE_string("spm_model_file", None,
                        "Optional SentencePiece model to tokenize with.")
    flags.DEFINE_integer("max_seq_length", 128,
                         "Maximum sequence length, special tokens included.")
    flags.DEFINE_integer("max_predictions_per_seq", 20,
                         "Maximum number of masked-LM predictions per "
                         "sequence.")
    flags.DEFINE_integer("random_seed", 12345, "Random seed.")
    flags.DEFINE_integer("dupe_factor", 10,
                         "Number of times to pack the corpus, each time with "
                         "different masks.")
    flags.DEFINE_float("masked_lm_prob", 0.15,
                       "Fraction of tokens to predict.")
    flags.DEFINE_float("short_seq_prob", 0.1,
                       "Probability of packing a document into sequences "
                       "shorter than the maximum length.")
    flags.DEFINE_bool("do_whole_word_mask", False,
                      "Mask whole words: jieba words for Chinese, WordPiece "
                      "'##' continuations otherwise.")
    flags.mark_flags_as_required(["input_file", "output_file"])


def main(_):
    """Builds the tokenizer and file lists from the flags and runs the tool."""
    tf.logging.set_verbosity(tf.logging.INFO)
    if not FLAGS.vocab_file and not FLAGS.spm_model_file:
        raise ValueError("Pass --vocab_file (or --spm_model_file).")
    tokenizer = tokenization.FullTokenizer(
        vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case,
        spm_model_file=FLAGS.spm_model_file)
    input_files = estimator_util.expand_input_files(FLAGS.input_file)
    output_files = estimator_util.split_comma_list(FLAGS.output_file)
    tf.logging.info("*** Reading from %d input file(s) ***", len(input_files))
    for path in input_files:
        tf.logging.info("  %s", path)
    tf.logging.info("*** Writing to %d output file(s) ***", len(output_files))
    for path in output_files:
        tf.logging.info("  %s", path)
    build_records(
        input_files, output_files, tokenizer,
        max_seq_length=FLAGS.max_seq_length,
        max_predictions_per_seq=FLAGS.max_predictions_per_seq,
        random_seed=FLAGS.random_seed, dupe_factor=FLAGS.dupe_factor,
        masked_lm_prob=FLAGS.masked_lm_prob,
        short_seq_prob=FLAGS.short_seq_prob,
        do_whole_word_mask=FLAGS.do_whole_word_mask)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
