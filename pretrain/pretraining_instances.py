# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Sentence pairs for masked-LM pretraining: packing, then masking.

BERT's algorithm: documents are shuffled; every document is cut, once per
`dupe_factor`, into chunks of whole sentences that fill `max_seq_length`
(sometimes a shorter random length, `short_seq_prob`); each chunk becomes
`[CLS] A [SEP] B [SEP]` where B is either the rest of the chunk or, half of
the time (always for a one-sentence chunk), text taken from another
document; the longer side is trimmed at a random end until the pair fits;
then about `masked_lm_prob` of the tokens (whole words with whole-word
masking) are chosen for prediction and replaced 80% by `[MASK]`, 10% by
themselves and 10% by a random vocabulary token.
"""

import collections
import itertools

import tensorflow.compat.v1 as tf

from pretrain.pretraining_text import CONTINUES, STARTS

# "[CLS] A [SEP] B [SEP]" with non-empty A and B needs this many positions.
MIN_SEQ_LENGTH = 5
# How many instances between two progress messages.
LOG_EVERY_INSTANCES = 100000
# Maps continues_word flags to word-start flags.
_WORD_STARTS = bytes.maketrans(STARTS + CONTINUES, CONTINUES + STARTS)

# What packing needs besides the documents and the random generator.
PackingOptions = collections.namedtuple("PackingOptions", [
    "max_seq_length", "max_predictions_per_seq", "dupe_factor",
    "masked_lm_prob", "short_seq_prob"])

# Ids the masking needs: `vocab_ids` are the random replacements.
SpecialIds = collections.namedtuple("SpecialIds",
                                    ["cls", "sep", "mask", "vocab_ids"])


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
