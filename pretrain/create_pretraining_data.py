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
Chinese text is segmented into jieba's words (`word_segmentation`: jieba's
algorithm in C) and every character after the first of a multi-character
word (and every WordPiece `##` continuation) is masked together with the
start of its word. The written ids stay the plain characters' ids. Every
sentence is tokenized and segmented once, however large `dupe_factor` is.

Each input file is packed on its own, as one run of BERT's tool over that
file alone: its documents are shuffled, B segments are drawn from its other
documents, and its instances are shuffled, with the random generator
`random.Random(random_seed + i * 2**32)` for the file at position i of the
input list (after glob expansion). File 0 thus uses `random_seed` itself:
a one-file run gives exactly the records of one `random.Random(random_seed)`
pass over that file, and for seeds below 2**32 every (seed, file) pair has its
own generator key. The files' records are then laid one after the other, in
input order, and dealt round-robin into the output files (record k of that
sequence goes to output k mod the number of outputs). So the output depends
only on the input list, the seed and the options; `--num_workers` processes
(each packs whole files) change how fast it is made, never a byte of it.

Outputs are written under per-process temporary names
(`file_io.atomic_output`: `<output>.tmp.<host>.<pid>.<random>`, and that name
plus `.part-<file>` for one file's share) and renamed to their final names
only when all are complete: a run that is killed leaves no truncated file
under a final name (at most stale `.tmp.` files, which are never read);
running the same command again completes.

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
      --max_predictions_per_seq=75 --do_whole_word_mask --num_workers=2
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import contextlib
import functools
import gc
import itertools
import multiprocessing
import operator
import os
import random
import shutil
import struct
import sys
import time

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import file_io
from pretrain import tokenization
from pretrain import word_segmentation

CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
REQUIRED_TOKENS = (CLS_TOKEN, SEP_TOKEN, MASK_TOKEN)

# "[CLS] A [SEP] B [SEP]" with non-empty A and B needs this many positions.
MIN_SEQ_LENGTH = 5
# File i is packed with random.Random(random_seed + i * FILE_SEED_STRIDE).
FILE_SEED_STRIDE = 2**32
# How many documents / instances between two progress messages.
LOG_EVERY_DOCUMENTS = 10000
LOG_EVERY_INSTANCES = 100000
# How many written examples are logged in full.
NUM_LOGGED_EXAMPLES = 5
# Distinct non-CJK runs (punctuation, numbers, Latin words) whose token ids
# are remembered while reading.
RUN_CACHE_SIZE = 2**16
# Bytes per read when a file's share is appended to an output.
COPY_BUFFER_BYTES = 2**22

FLAGS = flags.FLAGS

# One input line: its token ids and, per token, whether the token continues
# the word started by the token before it (whole-word masking units), as
# bytes: 1 where it does, 0 where it starts a word. Flags are bytes all the
# way to the masking, where bytes.translate turns them into word starts in
# one C call (this runs for every instance).
Sentence = collections.namedtuple("Sentence", ["token_ids", "continues_word"])
CONTINUES = word_segmentation.CONTINUES
STARTS = word_segmentation.STARTS
# Maps continues_word flags to word-start flags.
_WORD_STARTS = bytes.maketrans(STARTS + CONTINUES, CONTINUES + STARTS)

# What packing needs besides the documents and the random generator.
PackingOptions = collections.namedtuple("PackingOptions", [
    "max_seq_length", "max_predictions_per_seq", "dupe_factor",
    "masked_lm_prob", "short_seq_prob"])

# Ids the masking needs: `vocab_ids` are the random replacements.
SpecialIds = collections.namedtuple("SpecialIds",
                                    ["cls", "sep", "mask", "vocab_ids"])

# What one input file gave: its characters, records and per-output shares.
FileResult = collections.namedtuple(
    "FileResult", ["path", "num_characters", "num_records", "part_files"])


class TrainingInstance(object):
    """One packed and masked sentence pair, as token ids.

    Attributes:
        input_ids: `[CLS] A [SEP] B [SEP]` with the masked replacements
          applied.
        segment_ids: 0 for `[CLS]`, A and the first `[SEP]`; 1 for B and the
          last `[SEP]`.
        is_random_next: Whether B was taken from another document.
        masked_lm_positions: Sorted indexes of the positions to predict.
        masked_lm_ids: The original ids at those positions.
        continues_word: Bytes, per token 1 if it belongs to the same word as
          the token before it (never for `[CLS]`, `[SEP]` or the first token
          of a segment), else 0. All 0 without whole-word masking.
    """

    def __init__(self, input_ids, segment_ids, is_random_next,
                 masked_lm_positions, masked_lm_ids, continues_word):
        self.input_ids = input_ids
        self.segment_ids = segment_ids
        self.is_random_next = is_random_next
        self.masked_lm_positions = masked_lm_positions
        self.masked_lm_ids = masked_lm_ids
        self.continues_word = continues_word


# ---------------------------------------------------------------------------
# Options and file lists.


def validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob, random_seed=0,
                     num_workers=1):
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
    if not 0 <= random_seed < FILE_SEED_STRIDE:
        raise ValueError(
            "random_seed is %d; it must be in [0, 2**32): input file i is "
            "packed with the seed random_seed + i * 2**32." % random_seed)
    if num_workers < 1:
        raise ValueError("num_workers is %d; it must be at least 1." %
                         num_workers)


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


def validate_output_files(output_files):
    """Rejects an empty or repeating list of output files.

    Raises:
        ValueError: Naming the problem and the flag.
    """
    if not output_files:
        raise ValueError("No output file given: pass --output_file as a "
                         "comma list of TFRecord paths.")
    repeated = sorted(path for path, count in
                      collections.Counter(output_files).items() if count > 1)
    if repeated:
        raise ValueError("--output_file names %s more than once; every "
                         "output file must be different." %
                         ", ".join(repeated))


def file_seed(random_seed, file_index):
    """The seed of the file at `file_index` of the input list."""
    return random_seed + file_index * FILE_SEED_STRIDE


def special_ids(tokenizer):
    """The `SpecialIds` of a tokenizer's vocabulary."""
    vocab = tokenizer.vocab
    return SpecialIds(vocab[CLS_TOKEN], vocab[SEP_TOKEN], vocab[MASK_TOKEN],
                      list(vocab.values()))


# ---------------------------------------------------------------------------
# Tokenization and word segmentation.


@functools.lru_cache(maxsize=None)
def _word_segmenter():
    """Returns the process's `word_segmentation.WordSegmenter` (created
    once, on first use: it loads jieba's dictionary)."""
    segmenter = word_segmentation.WordSegmenter()
    if not segmenter.is_native:
        tf.logging.warning(
            "%s is not built (scripts/setup_env.sh builds it): Chinese words "
            "are segmented by jieba's Python code, with the same words but "
            "several times slower.", word_segmentation.LIBRARY_PATH)
    return segmenter


def _text_runs(text):
    """Splits `text` into maximal runs of CJK / non-CJK characters.

    Yields:
        (run, is_cjk) pairs whose runs concatenate to `text`.
    """
    end = 0
    for match in tokenization.CJK_RUN_PATTERN.finditer(text):
        if match.start() > end:
            yield text[end:match.start()], False
        yield match.group(), True
        end = match.end()
    if end < len(text):
        yield text[end:], False


class SentenceEncoder(object):
    """Turns lines into `Sentence`s: the tokenizer's ids and word flags.

    The WordPiece tokenizer puts every CJK ideograph in a token of its own,
    so a line tokenizes to the tokens of its CJK and non-CJK runs one after
    the other, and a CJK character always gives the same single token. The
    encoder therefore looks CJK characters up one by one (remembering each
    character's id) and tokenizes each non-CJK run (remembering the most
    recent distinct runs); the ids are exactly those of
    `tokenizer.tokenize(text)`.

    With whole-word masking, CJK runs are segmented into words with jieba;
    each character after the first of a word continues it. In other runs a
    WordPiece `##` piece continues the word before it.
    """

    def __init__(self, tokenizer, do_whole_word_mask):
        """Creates the encoder.

        Args:
            tokenizer: A WordPiece `tokenization.FullTokenizer`.
            do_whole_word_mask: Whether to record word boundaries.

        Raises:
            ValueError: If whole-word masking is asked for with a
              SentencePiece tokenizer.
        """
        if do_whole_word_mask and tokenizer.sp_model:
            raise ValueError(
                "--do_whole_word_mask segments Chinese words with jieba over "
                "WordPiece tokens; it cannot be combined with "
                "--spm_model_file, whose pieces already span words.")
        self._tokenizer = tokenizer
        self._do_whole_word_mask = do_whole_word_mask
        self._cjk_ids = {}
        self._run_encoding = functools.lru_cache(maxsize=RUN_CACHE_SIZE)(
            self._encode_other_run)

    def encode(self, text):
        """Returns the `Sentence` of one line of text.

        Raises:
            ValueError: If a token is unknown and the vocabulary has no UNK
              token.
        """
        if self._tokenizer.sp_model:
            token_ids = tuple(self._tokenizer.convert_tokens_to_ids(
                self._tokenizer.tokenize(text)))
            return Sentence(token_ids, STARTS * len(token_ids))
        token_ids = []
        continues_word = bytearray()
        for run, is_cjk in _text_runs(text):
            if is_cjk:
                run_ids, run_continues = self._encode_cjk_run(run)
            else:
                run_ids, run_continues = self._run_encoding(run)
            token_ids.extend(run_ids)
            continues_word += run_continues
        return Sentence(tuple(token_ids), bytes(continues_word))

    def _encode_cjk_run(self, run):
        """Ids (one per character) and word flags of a CJK run."""
        cjk_ids = self._cjk_ids
        for char in run:
            if char not in cjk_ids:
                cjk_ids[char], = self._tokenizer.convert_tokens_to_ids(
                    self._tokenizer.tokenize(char))
        run_ids = [cjk_ids[char] for char in run]
        if not self._do_whole_word_mask:
            return run_ids, STARTS * len(run)
        return run_ids, _word_segmenter().continues_word(run)

    def _encode_other_run(self, run):
        """Ids and word flags of a run without CJK characters."""
        tokens = self._tokenizer.tokenize(run)
        run_ids = tuple(self._tokenizer.convert_tokens_to_ids(tokens))
        if not self._do_whole_word_mask:
            return run_ids, STARTS * len(tokens)
        return run_ids, b"".join(
            CONTINUES if token.startswith("##") else STARTS
            for token in tokens)


def _decode_line(raw_line, path, line_number):
    """Decodes one UTF-8 input line (the file's BOM dropped), naming the file
    and line on failure."""
    return file_io.decode_utf8(raw_line, path, "input_file", line_number)


def read_file_documents(path, sentence_fn):
    """Reads the documents of one text file.

    Args:
        path: A text file, one sentence per line, blank lines between
          documents.
        sentence_fn: Maps a stripped, non-blank line to a `Sentence`
          (e.g. `SentenceEncoder.encode`).

    Returns:
        (documents, num_characters): a list of documents, each a non-empty
        list of `Sentence`s, and the number of characters in the file.

    Raises:
        ValueError: If a line is not UTF-8 or cannot be tokenized, or the
          file holds no document.
    """
    documents = [[]]
    skipped_lines = 0
    num_characters = 0
    with tf.io.gfile.GFile(path, "rb") as reader:
        for line_number, raw_line in enumerate(reader, start=1):
            line = _decode_line(raw_line, path, line_number)
            num_characters += len(line)
            line = line.strip()
            if not line:
                if documents[-1]:
                    documents.append([])
                continue
            try:
                sentence = sentence_fn(line)
            except ValueError as error:
                raise ValueError("%s, line %d: %s" % (path, line_number,
                                                      error))
            if not sentence.token_ids:
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
    return documents, num_characters


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
    encoder = SentenceEncoder(tokenizer, do_whole_word_mask)
    documents = []
    for path in input_files:
        file_documents, _ = read_file_documents(path, encoder.encode)
        documents.extend(file_documents)
    return documents


# ---------------------------------------------------------------------------
# Sentence-pair packing.


def _concat_sentences(sentences):
    """Returns the token ids (a list) and continues_word flags (bytes) of
    `sentences`."""
    token_ids = []
    continues_word = bytearray()
    for sentence in sentences:
        token_ids.extend(sentence.token_ids)
        continues_word += sentence.continues_word
    return token_ids, continues_word


def _random_segment(documents, document_index, target_length, rng):
    """Takes sentences from a random other document, from a random start.

    At least one sentence is taken, then more until `target_length` tokens.

    Returns:
        (token_ids, continues_word): a list and bytes.
    """
    other_index = rng.randint(0, len(documents) - 2)
    if other_index >= document_index:
        other_index += 1
    other_document = documents[other_index]
    start = rng.randint(0, len(other_document) - 1)
    token_ids = []
    continues_word = bytearray()
    for sentence in other_document[start:]:
        token_ids.extend(sentence.token_ids)
        continues_word += sentence.continues_word
        if len(token_ids) >= target_length:
            break
    return token_ids, continues_word


def truncate_seq_pair(first_length, second_length, max_num_tokens, rng):
    """Trims the longer of two sequences, one item at a time, until they fit.

    Each removed item comes from the front or the back at random, so the
    model does not learn that sequences always end at a sentence boundary.

    Which sequence loses each item depends only on the lengths (the longer
    one; the second when they are equal), so the items each loses are
    counted first; how many of them come off its front is then one
    Binomial(count, 1/2) draw: the set bits of `count` random bits, the
    same distribution as a coin flip per item.

    Args:
        first_length: Length of the first sequence.
        second_length: Length of the second sequence.
        max_num_tokens: Largest allowed total length.
        rng: `random.Random`.

    Returns:
        ((first_start, first_end), (second_start, second_end)): the kept
        slice of each sequence.
    """
    first_cut, second_cut = _trimmed_counts(first_length, second_length,
                                            max_num_tokens)
    first_front = _coin_heads(first_cut, rng)
    second_front = _coin_heads(second_cut, rng)
    return ((first_front, first_length - first_cut + first_front),
            (second_front, second_length - second_cut + second_front))


def _trimmed_counts(first_length, second_length, max_num_tokens):
    """How many items truncate_seq_pair removes from each sequence.

    The longer sequence loses items until both are equally long (or the
    pair fits); from then on they lose one each in turn, the second first.
    """
    excess = max(0, first_length + second_length - max_num_tokens)
    first_cut = min(excess, max(0, first_length - second_length))
    second_cut = min(excess, max(0, second_length - first_length))
    alternating = excess - first_cut - second_cut
    return first_cut + alternating // 2, second_cut + (alternating + 1) // 2


def _coin_heads(num_flips, rng):
    """The number of heads in `num_flips` fair coin flips."""
    if num_flips == 0:
        return 0
    return bin(rng.getrandbits(num_flips)).count("1")


def _masking_units(continues_word, separator_position):
    """Finds the masking units (words) of `[CLS] A [SEP] B [SEP]`.

    Every position whose flag is False starts a unit that runs up to the
    next such position (the special tokens never continue a word, so they
    end every unit before them). The units of `[CLS]` (position 0) and of
    the `[SEP]` at `separator_position` are left out; the final `[SEP]`
    starts none.

    Returns:
        A list of (start, end) spans, one per unit, in order.
    """
    # translate, compress, zip and the slices run in C: this is done for
    # every instance.
    starts = list(itertools.compress(itertools.count(),
                                     continues_word.translate(_WORD_STARTS)))
    spans = list(zip(starts, starts[1:]))
    del spans[starts.index(separator_position)]
    del spans[0]
    return spans


def in_random_order(items, rng):
    """Yields the items of the list `items` in a uniformly random order.

    A Fisher-Yates shuffle run front to back and lazily: each step draws
    the next item from those not yet yielded (swapping it to the front of
    the rest, so `items` is permuted in place), and no draw is made for
    items that are never asked for. Masking visits only the first units of
    the order, usually a fraction of them, so this costs a fraction of a
    full shuffle. Each draw is a rejection sample from `rng.getrandbits`
    (as `random.Random` itself draws a bounded integer), inlined because
    this runs for every instance.
    """
    getrandbits = rng.getrandbits
    num_items = len(items)
    for index in range(num_items):
        bound = num_items - index
        num_bits = bound.bit_length()
        pick = getrandbits(num_bits)
        while pick >= bound:
            pick = getrandbits(num_bits)
        pick += index
        items[index], items[pick] = items[pick], items[index]
        yield items[index]


def create_masked_lm_predictions(input_ids, continues_word, separator_position,
                                 masked_lm_prob, max_predictions_per_seq, ids,
                                 rng):
    """Chooses the positions to predict and applies the replacements.

    Units (single tokens, or whole words when `continues_word` links them)
    are visited in random order and taken whole while they fit into
    `min(max_predictions_per_seq, max(1, round(len(input_ids) *
    masked_lm_prob)))` predictions; a unit that would exceed it is skipped.
    Each chosen token becomes `[MASK]` (80%), stays itself (10%) or becomes
    a random vocabulary token (10%).

    Args:
        input_ids: `[CLS] A [SEP] B [SEP]` token ids.
        continues_word: Bytes, per token 1 if it continues the previous word
          (never for the special tokens), else 0.
        separator_position: Position of the `[SEP]` after A.
        masked_lm_prob: Fraction of tokens to predict.
        max_predictions_per_seq: Cap on the number of predictions.
        ids: The vocabulary's `SpecialIds`.
        rng: `random.Random`.

    Returns:
        (output_ids, masked_lm_positions, masked_lm_ids), positions sorted.
    """
    spans = _masking_units(continues_word, separator_position)
    num_free = min(max_predictions_per_seq,
                   max(1, int(round(len(input_ids) * masked_lm_prob))))
    output_ids = list(input_ids)
    positions = []
    draw = rng.random
    mask_id = ids.mask
    for start, end in in_random_order(spans, rng):
        if end - start > num_free:
            continue
        num_free -= end - start
        for index in range(start, end):
            # One draw picks the replacement: [MASK] below 0.8, the token
            # itself from 0.8 to 0.9, a random token from 0.9.
            replacement = draw()
            if replacement < 0.8:
                output_ids[index] = mask_id
            elif replacement >= 0.9:
                output_ids[index] = rng.choice(ids.vocab_ids)
            positions.append(index)
        if not num_free:
            break
    positions.sort()
    return output_ids, positions, [input_ids[index] for index in positions]


def _make_instance(first, second, is_random_next, masked_lm_prob,
                   max_predictions_per_seq, ids, rng):
    """Builds `[CLS] A [SEP] B [SEP]` from two segments and masks it.

    Args:
        first: (token_ids, continues_word) of segment A, already trimmed.
        second: The same for segment B.
        is_random_next: Whether B comes from another document.
        masked_lm_prob: Fraction of tokens to predict.
        max_predictions_per_seq: Cap on the number of predictions.
        ids: The vocabulary's `SpecialIds`.
        rng: `random.Random`.
    """
    (first_ids, first_continues), (second_ids, second_continues) = (first,
                                                                    second)
    input_ids = [ids.cls] + first_ids + [ids.sep] + second_ids + [ids.sep]
    segment_ids = [0] * (len(first_ids) + 2) + [1] * (len(second_ids) + 1)
    # The first token of a segment starts a word, whatever it was before.
    continues_word = (STARTS * 2 + first_continues[1:] + STARTS * 2 +
                      second_continues[1:] + STARTS)
    output_ids, positions, labels = create_masked_lm_predictions(
        input_ids, continues_word, len(first_ids) + 1, masked_lm_prob,
        max_predictions_per_seq, ids, rng)
    return TrainingInstance(output_ids, segment_ids, is_random_next,
                            positions, labels, continues_word)


def _target_seq_length(max_num_tokens, short_seq_prob, rng):
    """Usually `max_num_tokens`; with `short_seq_prob` a shorter length."""
    if rng.random() < short_seq_prob:
        return rng.randint(2, max_num_tokens)
    return max_num_tokens


def _trimmed(segment, span):
    """The (token_ids, continues_word) of `segment` within `span`."""
    start, end = span
    return segment[0][start:end], segment[1][start:end]


def create_instances_from_document(documents, document_index, options, ids,
                                   rng):
    """Packs one document into masked sentence-pair instances.

    Whole sentences are gathered into a chunk until it reaches the target
    length (or the document ends). A random number of them form segment A;
    segment B is the rest of the chunk, or, with probability 0.5 (always
    when the chunk has a single sentence), text from another document, in
    which case the chunk's unused sentences are put back for the next chunk.

    Args:
        documents: All documents (at least two), each a list of `Sentence`s.
        document_index: Index of the document to pack.
        options: `PackingOptions`.
        ids: The vocabulary's `SpecialIds`.
        rng: `random.Random`.

    Returns:
        A list of `TrainingInstance`s.
    """
    document = documents[document_index]
    max_num_tokens = options.max_seq_length - 3  # [CLS] and two [SEP].
    target_length = _target_seq_length(max_num_tokens, options.short_seq_prob,
                                       rng)
    instances = []
    chunk = []
    chunk_length = 0
    index = 0
    while index < len(document):
        chunk.append(document[index])
        chunk_length += len(document[index].token_ids)
        if index == len(document) - 1 or chunk_length >= target_length:
            a_end = 1 if len(chunk) < 2 else rng.randint(1, len(chunk) - 1)
            first = _concat_sentences(chunk[:a_end])
            is_random_next = len(chunk) == 1 or rng.random() < 0.5
            if is_random_next:
                second = _random_segment(documents, document_index,
                                         target_length - len(first[0]), rng)
                index -= len(chunk) - a_end  # Reuse the unused sentences.
            else:
                second = _concat_sentences(chunk[a_end:])
            first_span, second_span = truncate_seq_pair(
                len(first[0]), len(second[0]), max_num_tokens, rng)
            instances.append(_make_instance(
                _trimmed(first, first_span), _trimmed(second, second_span),
                is_random_next, options.masked_lm_prob,
                options.max_predictions_per_seq, ids, rng))
            chunk = []
            chunk_length = 0
        index += 1
    return instances


def create_training_instances(documents, ids, rng, options,
                              make_record=None, source="the corpus"):
    """Shuffles the documents and packs them `dupe_factor` times.

    Every pass masks the text differently. The instances are shuffled.

    Args:
        documents: List of documents, each a list of `Sentence`s (not
          modified).
        ids: The vocabulary's `SpecialIds`.
        rng: `random.Random`, the only source of randomness.
        options: `PackingOptions`.
        make_record: Optional function applied to every instance as soon as
          it is made (e.g. `ExampleEncoder.encode`); its results are
          shuffled and returned instead of the instances.
        source: What the documents come from, for messages.

    Returns:
        A list of `TrainingInstance`s (or of `make_record` results).

    Raises:
        ValueError: If there are fewer than two documents (segment B is
          sometimes drawn from another document).
    """
    if len(documents) < 2:
        raise ValueError(
            "Found %d document(s) in %s; at least 2 are needed because "
            "segment B is sometimes taken from another document (of the same "
            "input file). Separate documents with blank lines." %
            (len(documents), source))
    documents = list(documents)
    rng.shuffle(documents)
    records = []
    for pass_index in range(options.dupe_factor):
        for document_index in range(len(documents)):
            previous_total = len(records)
            instances = create_instances_from_document(
                documents, document_index, options, ids, rng)
            if make_record:
                instances = [make_record(instance) for instance in instances]
            records.extend(instances)
            if len(records) // LOG_EVERY_INSTANCES > (
                    previous_total // LOG_EVERY_INSTANCES):
                tf.logging.info("%s: instances created so far: %d", source,
                                len(records))
        tf.logging.info("%s: pass %d of %d done: %d instances.", source,
                        pass_index + 1, options.dupe_factor, len(records))
    rng.shuffle(records)
    return records


# ---------------------------------------------------------------------------
# Serialization.


@functools.lru_cache(maxsize=None)
def _varint(value):
    """Protocol-buffer base-128 varint bytes of a non-negative integer."""
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(0x80 | (value & 0x7F))
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _length_delimited(field_tag, payload):
    """A length-delimited protocol-buffer field: tag, length, payload."""
    return field_tag + _varint(len(payload)) + payload


# Field tags (field number << 3 | wire type 2) of tf.train.Example's messages.
_FEATURES_FIELD = b"\x0a"   # Example.features; Features.feature (map entry)
_MAP_KEY = b"\x0a"          # the map entry's key
_MAP_VALUE = b"\x12"        # the map entry's value, a Feature
_FLOAT_LIST = b"\x12"       # Feature.float_list
_INT64_LIST = b"\x1a"       # Feature.int64_list
_PACKED_VALUES = b"\x0a"    # Int64List.value / FloatList.value (packed)


def _feature_entry(name, list_field, packed_values):
    """One `Features.feature` map entry: name -> Feature(list of values)."""
    feature = _length_delimited(
        list_field, _length_delimited(_PACKED_VALUES, packed_values))
    return _length_delimited(_FEATURES_FIELD, _length_delimited(
        _MAP_KEY, name.encode("utf-8")) + _length_delimited(_MAP_VALUE,
                                                            feature))


def _entry_prefix(name, list_field, num_bytes):
    """The bytes of a map entry before its `num_bytes` packed values."""
    entry = _feature_entry(name, list_field, b"\x00" * num_bytes)
    return entry[:len(entry) - num_bytes]


class ExampleEncoder(object):
    """Serializes instances as `tf.train.Example`s of the documented features.

    The bytes are written directly in the protocol-buffer wire format, with
    the feature map ordered by name: exactly what
    `tf.train.Example.SerializeToString(deterministic=True)` gives for the
    same features (tested), without building the message. The entries whose
    size is fixed (mask, segment ids, weights, labels) start with a
    precomputed prefix.
    """

    def __init__(self, max_seq_length, max_predictions_per_seq, vocab_size):
        """Creates the encoder.

        Args:
            max_seq_length: Padded length of the per-token features.
            max_predictions_per_seq: Padded length of the prediction
              features.
            vocab_size: Number of token ids.
        """
        self.max_seq_length = max_seq_length
        self.max_predictions_per_seq = max_predictions_per_seq
        # The varint of every id and position (a list beats a cache here).
        self._varints = [_varint(value)
                         for value in range(max(vocab_size, max_seq_length))]
        # 0 and 1 are one varint byte each; a float is 4 bytes.
        self._mask_prefix = _entry_prefix("input_mask", _INT64_LIST,
                                          max_seq_length)
        self._segment_prefix = _entry_prefix("segment_ids", _INT64_LIST,
                                             max_seq_length)
        self._weights_prefix = _entry_prefix(
            "masked_lm_weights", _FLOAT_LIST, 4 * max_predictions_per_seq)
        self._next_sentence_entries = [
            _feature_entry("next_sentence_labels", _INT64_LIST, label)
            for label in (b"\x00", b"\x01")]
        self._keys = {name: _length_delimited(_MAP_KEY, name.encode("utf-8"))
                      for name in ("input_ids", "masked_lm_ids",
                                   "masked_lm_positions")}
        self._float_one = struct.pack("<f", 1.0)
        self._float_zero = struct.pack("<f", 0.0)

    def _padded_entry(self, key, values, length):
        """The map entry of an int64 feature, `values` zero padded.

        Args:
            key: The entry's encoded key field (`self._keys[name]`).
            values: The non-negative ids or positions.
            length: The padded length.
        """
        # itemgetter looks every value up in one C call; the leading 0 (one
        # byte, cut off again) makes its result a tuple even for one value.
        packed = b"".join(operator.itemgetter(0, *values)(self._varints))
        packed = packed[1:] + b"\x00" * (length - len(values))
        int64_list = _PACKED_VALUES + _varint(len(packed)) + packed
        feature = _INT64_LIST + _varint(len(int64_list)) + int64_list
        entry = key + _MAP_VALUE + _varint(len(feature)) + feature
        return _FEATURES_FIELD + _varint(len(entry)) + entry

    def encode(self, instance):
        """Returns the serialized example of `instance`.

        Raises:
            ValueError: If the instance does not fit the lengths.
        """
        num_tokens = len(instance.input_ids)
        num_predictions = len(instance.masked_lm_positions)
        if num_tokens > self.max_seq_length:
            raise ValueError("Instance has %d tokens; max_seq_length is %d." %
                             (num_tokens, self.max_seq_length))
        if num_predictions > self.max_predictions_per_seq:
            raise ValueError(
                "Instance has %d predictions; max_predictions_per_seq is %d."
                % (num_predictions, self.max_predictions_per_seq))
        padding = b"\x00" * (self.max_seq_length - num_tokens)
        num_free = self.max_predictions_per_seq - num_predictions
        entries = (  # In the order of the names.
            self._padded_entry(self._keys["input_ids"], instance.input_ids,
                               self.max_seq_length),
            self._mask_prefix + b"\x01" * num_tokens + padding,
            self._padded_entry(self._keys["masked_lm_ids"],
                               instance.masked_lm_ids,
                               self.max_predictions_per_seq),
            self._padded_entry(self._keys["masked_lm_positions"],
                               instance.masked_lm_positions,
                               self.max_predictions_per_seq),
            self._weights_prefix + self._float_one * num_predictions +
            self._float_zero * num_free,
            self._next_sentence_entries[int(instance.is_random_next)],
            self._segment_prefix + bytes(instance.segment_ids) + padding,
        )
        return _length_delimited(_FEATURES_FIELD, b"".join(entries))


def _log_example(record, tokenizer):
    """Logs a serialized example decoded back to tokens."""
    feature = tf.train.Example.FromString(record).features.feature
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


# ---------------------------------------------------------------------------
# One input file.


def _remove_quietly(paths):
    """Removes the files that exist among `paths`."""
    for path in paths:
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pauses Python's cyclic garbage collector inside the block.

    Packing allocates millions of lists, tuples and bytes that never form
    reference cycles, so reference counting frees all of them; the cyclic
    collector would only rescan them (about a tenth of the packing time on
    Python 3.11). Its previous state is restored on leaving, and it then
    collects any cycle made meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class FilePacker(object):
    """Packs one input file into its records and writes its output shares.

    Everything a file's records depend on is fixed at construction, so
    packing a file gives the same bytes in any process. A file's shares are
    named after the run's temporary outputs, whichever worker writes them.
    """

    def __init__(self, tokenizer, temporary_outputs, options, random_seed,
                 do_whole_word_mask):
        """Creates the packer.

        Args:
            tokenizer: A `tokenization.FullTokenizer`.
            temporary_outputs: The run's temporary output paths; a file's
              share for output k is written next to output k.
            options: `PackingOptions`.
            random_seed: The run's seed (see `file_seed`).
            do_whole_word_mask: Mask whole (jieba) words instead of tokens.
        """
        self.tokenizer = tokenizer
        self.temporary_outputs = temporary_outputs
        self.options = options
        self.random_seed = random_seed
        self.encoder = SentenceEncoder(tokenizer, do_whole_word_mask)
        self.ids = special_ids(tokenizer)
        self.example_encoder = ExampleEncoder(options.max_seq_length,
                                              options.max_predictions_per_seq,
                                              len(tokenizer.vocab))

    def __call__(self, task):
        """Packs input file `task` = (file_index, path).

        Record k of the file's shuffled records goes to share k mod the
        number of outputs; the shares are TFRecord files under temporary
        names of this process.

        Returns:
            A `FileResult`.
        """
        file_index, path = task
        start = time.time()
        with cyclic_gc_paused():
            documents, num_characters = read_file_documents(
                path, self.encoder.encode)
            tf.logging.info("%s: %d documents, %d characters read in %.1f s.",
                            path, len(documents), num_characters,
                            time.time() - start)
            records = create_training_instances(
                documents, self.ids,
                random.Random(file_seed(self.random_seed, file_index)),
                self.options, make_record=self.example_encoder.encode,
                source=path)
            del documents
        if file_index == 0:
            for record in records[:NUM_LOGGED_EXAMPLES]:
                _log_example(record, self.tokenizer)
        part_files = self.part_files(file_index)
        try:
            for share, part_file in enumerate(part_files):
                with tf.io.TFRecordWriter(part_file) as writer:
                    for record in records[share::len(part_files)]:
                        writer.write(record)
        except BaseException:
            _remove_quietly(part_files)
            raise
        return FileResult(path, num_characters, len(records), part_files)

    def part_files(self, file_index):
        """The temporary shares of input file `file_index`, one per output."""
        return ["%s.part-%d" % (temporary, file_index)
                for temporary in self.temporary_outputs]


# The packer of a worker process, set by `_start_worker`.
_WORKER_PACKER = None


def _start_worker(packer):
    """Pool initializer: keeps the (inherited) packer for `_pack_in_worker`."""
    global _WORKER_PACKER
    _WORKER_PACKER = packer


def _pack_in_worker(task):
    """Packs one file with the worker's packer."""
    return _WORKER_PACKER(task)


# ---------------------------------------------------------------------------
# Writing.


class OutputShards(object):
    """The run's temporary outputs, filled with the files' shares in order.

    The share k of a file whose records start at position `offset` of the
    whole sequence goes to output (k + offset) mod the number of outputs, so
    every output receives the records of the sequence dealt round-robin.
    """

    def __init__(self, temporary_outputs):
        """Opens the temporary outputs for writing."""
        self.num_records = 0
        self._writers = [tf.io.gfile.GFile(path, "wb")
                         for path in temporary_outputs]

    def append(self, result):
        """Appends one file's shares and removes them."""
        try:
            for share, part_file in enumerate(result.part_files):
                writer = self._writers[(share + self.num_records) %
                                       len(self._writers)]
                with tf.io.gfile.GFile(part_file, "rb") as reader:
                    shutil.copyfileobj(reader, writer, COPY_BUFFER_BYTES)
        finally:
            _remove_quietly(result.part_files)
        self.num_records += result.num_records

    def close(self):
        """Closes the outputs."""
        for writer in self._writers:
            writer.close()


def _pack_files(packer, tasks, num_workers):
    """Yields the `FileResult` of every task, in order.

    With more than one worker the files are packed by a pool of processes
    (forked where the platform allows, so they share the loaded tokenizer
    and word segmenter).
    """
    if num_workers == 1:
        for task in tasks:
            yield packer(task)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods
                                          else None)
    with context.Pool(num_workers, initializer=_start_worker,
                      initargs=(packer,)) as pool:
        for result in pool.imap(_pack_in_worker, tasks):
            yield result


def _write_files(packer, outputs, input_files, num_workers):
    """Packs the input files and appends their shares to `outputs`."""
    start = time.time()
    num_characters = 0
    results = _pack_files(packer, list(enumerate(input_files)),
                          min(num_workers, len(input_files)))
    try:
        for number, result in enumerate(results, start=1):
            outputs.append(result)
            num_characters += result.num_characters
            elapsed = max(time.time() - start, 1e-9)
            tf.logging.info(
                "File %d of %d done (%s: %d records); %d examples, %d "
                "characters so far, %.0f characters/sec.", number,
                len(input_files), result.path, result.num_records,
                outputs.num_records, num_characters,
                num_characters / elapsed)
    finally:
        results.close()  # Stops the workers.


def build_records(input_files, output_files, tokenizer, max_seq_length=128,
                  max_predictions_per_seq=20, random_seed=12345,
                  dupe_factor=10, masked_lm_prob=0.15, short_seq_prob=0.1,
                  do_whole_word_mask=False, num_workers=1):
    """Reads text files and writes pretraining TFRecords (the whole tool).

    Args:
        input_files: List of text files (see
            `estimator_util.expand_input_files`).
        output_files: List of output TFRecord paths (shards).
        tokenizer: A `tokenization.FullTokenizer`.
        max_seq_length: Length of each sequence with its special tokens.
        max_predictions_per_seq: Cap on the predictions per sequence.
        random_seed: The seed; input file i uses `file_seed(random_seed, i)`.
        dupe_factor: Number of passes over each file.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: Probability of a shorter target length.
        do_whole_word_mask: Mask whole (jieba) words instead of tokens.
        num_workers: Processes packing input files at the same time (the
          output does not depend on it).

    Returns:
        The number of examples written.

    Raises:
        ValueError: On bad options, an empty or repeating output list, a
          vocabulary without the special tokens or unusable input files.
    """
    validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob, random_seed, num_workers)
    validate_vocab(tokenizer)
    validate_output_files(output_files)
    for directory in sorted(set(os.path.dirname(path) or "."
                                for path in output_files)):
        file_io.check_writable_dir(directory, "output_file")
    options = PackingOptions(max_seq_length, max_predictions_per_seq,
                             dupe_factor, masked_lm_prob, short_seq_prob)
    with contextlib.ExitStack() as renames:
        # Each output is renamed into place when the block ends without an
        # error, and removed otherwise.
        temporary_outputs = [
            renames.enter_context(file_io.atomic_output(path))
            for path in output_files]
        packer = FilePacker(tokenizer, temporary_outputs, options,
                            random_seed, do_whole_word_mask)
        outputs = OutputShards(temporary_outputs)
        try:
            _write_files(packer, outputs, input_files, num_workers)
        except BaseException:
            for file_index in range(len(input_files)):
                _remove_quietly(packer.part_files(file_index))
            raise
        finally:
            outputs.close()
    tf.logging.info("Wrote %d examples to %d file(s).", outputs.num_records,
                    len(output_files))
    return outputs.num_records


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
    flags.DEFINE_integer("random_seed", 12345,
                         "Random seed, in [0, 2**32); input file i is packed "
                         "with random_seed + i * 2**32.")
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
    flags.DEFINE_integer("num_workers", 1,
                         "Processes packing input files at the same time; "
                         "the output is the same for any value.")
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
        do_whole_word_mask=FLAGS.do_whole_word_mask,
        num_workers=FLAGS.num_workers)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
