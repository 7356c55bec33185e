# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Span-extraction answers: from the windows' start/end logits to text.

Every window of a question proposes its `n_best_size` best start and end
positions; a candidate span must lie inside the context, start before it
ends, be at most `max_answer_length` tokens long and start at a token whose
window gives it maximal context (the feature's `token_is_max_context`).
The candidates of all windows are ranked by the sum of their logits; the
answer text is the context substring under the span (the example's
TokenizedContext), never re-joined from tokens.
"""

import collections
import math

import tensorflow.compat.v1 as tf

RawResult = collections.namedtuple("RawResult",
                                   ["unique_id", "start_logits", "end_logits"])

NbestEntry = collections.namedtuple(
    "NbestEntry",
    ["text", "char_start", "char_end", "start_logit", "end_logit"])


def top_indexes(logits, n_best_size):
    """Indexes of the `n_best_size` largest logits, largest first."""
    ranked = sorted(enumerate(logits), key=lambda pair: pair[1], reverse=True)
    return [index for index, _ in ranked[:n_best_size]]


def window_candidates(feature, result, n_best_size, max_answer_length):
    """Valid (start, end) position pairs of one window with their logits.

    A candidate starts and ends on context tokens, starts on a token this
    window gives maximal context, has end >= start and at most
    `max_answer_length` tokens.

    Returns:
      A list of (start position, end position, start logit, end logit).
    """
    candidates = []
    for start in top_indexes(result.start_logits, n_best_size):
        if not feature.token_is_max_context.get(start, False):
            continue
        for end in top_indexes(result.end_logits, n_best_size):
            if end not in feature.token_to_context or end < start:
                continue
            if end - start + 1 > max_answer_length:
                continue
            candidates.append((start, end, result.start_logits[start],
                               result.end_logits[end]))
    return candidates


def nbest_for_example(example, features, results_by_id, n_best_size,
                      max_answer_length):
    """The n best distinct answer texts of one example, best first.

    Args:
      example: the SquadExample.
      features: its InputFeatures (all windows).
      results_by_id: {unique_id: RawResult}.
      n_best_size: answers to keep.
      max_answer_length: longest answer, in sub-tokens.

    Returns:
      A list of NbestEntry, possibly empty (no valid span in any window).
    """
    scored = []
    for feature in features:
        result = results_by_id.get(feature.unique_id)
        if result is None:
            continue
        for start, end, start_logit, end_logit in window_candidates(
                feature, result, n_best_size, max_answer_length):
            first = feature.token_to_context[start]
            last = feature.token_to_context[end]
            scored.append((start_logit + end_logit, first, last, start_logit,
                           end_logit))
    scored.sort(key=lambda item: item[0], reverse=True)
    nbest = []
    seen_texts = set()
    for _, first, last, start_logit, end_logit in scored:
        char_start, char_end = example.context.token_span_chars(first, last)
        text = example.context.text[char_start:char_end]
        if text in seen_texts:
            continue
        seen_texts.add(text)
        nbest.append(NbestEntry(text, char_start, char_end, start_logit,
                                end_logit))
        if len(nbest) >= n_best_size:
            break
    return nbest


def softmax(scores):
    """Probabilities of a list of scores (stable)."""
    if not scores:
        return []
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def make_predictions(examples, features, results, n_best_size,
                     max_answer_length):
    """Best answer and n-best list for every example.

    Args:
      examples: the SquadExamples.
      features: all their InputFeatures.
      results: RawResults for the features.
      n_best_size: n-best entries kept per question.
      max_answer_length: longest answer, in sub-tokens.

    Returns:
      (predictions, nbest_json, unanswered): OrderedDicts id -> answer text
      and id -> list of {text, probability, start_logit, end_logit,
      char_start, char_end}; `unanswered` counts questions that had no valid
      span (their prediction is "").
    """
    features_by_example = collections.defaultdict(list)
    for feature in features:
        features_by_example[feature.example_index].append(feature)
    results_by_id = {result.unique_id: result for result in results}
    predictions = collections.OrderedDict()
    nbest_json = collections.OrderedDict()
    unanswered = 0
    for example_index, example in enumerate(examples):
        nbest = nbest_for_example(example,
                                  features_by_example[example_index],
                                  results_by_id, n_best_size,
                                  max_answer_length)
        if not nbest:
            unanswered += 1
            tf.logging.warning("No valid answer span for question %s",
                               example.qas_id)
        probabilities = softmax(
            [entry.start_logit + entry.end_logit for entry in nbest])
        nbest_json[example.qas_id] = [
            collections.OrderedDict([
                ("text", entry.text),
                ("probability", probability),
                ("start_logit", float(entry.start_logit)),
                ("end_logit", float(entry.end_logit)),
                ("char_start", entry.char_start),
                ("char_end", entry.char_end),
            ]) for entry, probability in zip(nbest, probabilities)
        ]
        predictions[example.qas_id] = nbest[0].text if nbest else ""
    return predictions, nbest_json, unanswered
