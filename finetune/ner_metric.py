# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Entity-level precision, recall and F1 with conlleval's chunk rules.

An entity (chunk) is a run of tags that conlleval would group: it starts at
a B- or S- tag, at an I- or E- tag that follows O, E-, S- or a tag of
another type, and ends before a tag that cannot continue it. So BIO, BIOES
and IOB1 tags are all read correctly, and an I- tag without its B- starts
an entity, as conlleval does. A predicted entity is correct when its start,
end and type equal a gold entity's. Counts are summed over all sentences
(micro-average); each type gets its own row.

Also runnable alone on a `token gold pred` file:
  python finetune/ner_metric.py predictions.txt
"""

import argparse
import collections
import io

OUTSIDE = "O"


def split_tag(tag):
    """(prefix, type) of a tag: ("O", "") for O, ("B", "PER") for B-PER."""
    if tag == OUTSIDE or "-" not in tag:
        return OUTSIDE, ""
    prefix, kind = tag.split("-", 1)
    return prefix, kind


def chunk_ends(prev_prefix, prefix, prev_type, kind):
    """Whether a chunk ended with the previous tag (conlleval endOfChunk)."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE):
        return True
    return prev_prefix != OUTSIDE and prev_type != kind


def chunk_starts(prev_prefix, prefix, prev_type, kind):
    """Whether a chunk starts at this tag (conlleval startOfChunk)."""
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in ("E", "S", OUTSIDE):
        return True
    return prefix != OUTSIDE and prev_type != kind


def entities(tags):
    """The (start, end inclusive, type) chunks of one sentence's tags."""
    found = []
    start = None
    prev_prefix, prev_type = OUTSIDE, ""
    for index, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, kind = split_tag(tag)
        if start is not None and chunk_ends(prev_prefix, prefix, prev_type,
                                            kind):
            found.append((start, index - 1, prev_type))
            start = None
        if chunk_starts(prev_prefix, prefix, prev_type, kind):
            start = index
        prev_prefix, prev_type = prefix, kind
    return found


def ratio(numerator, denominator):
    """numerator / denominator, 0 for an empty denominator."""
    return numerator / denominator if denominator else 0.0


def scores(correct, predicted, gold):
    """precision, recall, f1 of counts."""
    precision = ratio(correct, predicted)
    recall = ratio(correct, gold)
    return {
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * precision * recall, precision + recall),
    }


def evaluate(gold_sentences, predicted_sentences):
    """Micro-averaged and per-type entity scores.

    Args:
      gold_sentences: list of lists of gold tags.
      predicted_sentences: list of lists of predicted tags, same lengths.

    Returns:
      {"precision", "recall", "f1" (fractions), "accuracy" (tokens),
       "gold_entities", "predicted_entities", "correct_entities", "tokens",
       "per_type": {type: {"precision", "recall", "f1", "gold",
       "predicted", "correct"}}}.

    Raises:
      ValueError: a sentence whose two tag lists differ in length.
    """
    counts = collections.defaultdict(collections.Counter)
    tokens = right = 0
    for index, (gold, predicted) in enumerate(zip(gold_sentences,
                                                  predicted_sentences)):
        if len(gold) != len(predicted):
            raise ValueError("sentence %d: %d gold tags, %d predicted" %
                             (index, len(gold), len(predicted)))
        tokens += len(gold)
        right += sum(g == p for g, p in zip(gold, predicted))
        gold_set, predicted_set = set(entities(gold)), set(entities(predicted))
        for _, _, kind in gold_set:
            counts[kind]["gold"] += 1
        for _, _, kind in predicted_set:
            counts[kind]["predicted"] += 1
        for _, _, kind in gold_set & predicted_set:
            counts[kind]["correct"] += 1
    totals = collections.Counter()
    for kind_counts in counts.values():
        totals.update(kind_counts)
    result = scores(totals["correct"], totals["predicted"], totals["gold"])
    result.update({
        "accuracy": ratio(right, tokens),
        "tokens": tokens,
        "gold_entities": totals["gold"],
        "predicted_entities": totals["predicted"],
        "correct_entities": totals["correct"],
        "per_type": {},
    })
    for kind in sorted(counts):
        row = scores(counts[kind]["correct"], counts[kind]["predicted"],
                     counts[kind]["gold"])
        row.update((k, counts[kind][k])
                   for k in ("gold", "predicted", "correct"))
        result["per_type"][kind] = row
    return result


def report_lines(result):
    """`key = value` lines of the totals, then a per-type table."""
    lines = ["%s = %s" % (key, result[key]) for key in sorted(result)
             if key != "per_type"]
    lines.append("")
    lines.append("%-12s %9s %9s %9s %7s %9s %7s" %
                 ("type", "precision", "recall", "f1", "gold", "predicted",
                  "correct"))
    for kind, row in sorted(result["per_type"].items()):
        lines.append("%-12s %9.4f %9.4f %9.4f %7d %9d %7d" %
                     (kind, row["precision"], row["recall"], row["f1"],
                      row["gold"], row["predicted"], row["correct"]))
    return lines


def read_prediction_file(path):
    """Gold and predicted tags of a `token gold pred` file."""
    gold, predicted, sentence_gold, sentence_predicted = [], [], [], []
    with io.open(path, encoding="utf-8-sig") as reader:
        for line_number, line in enumerate(reader, 1):
            fields = line.split()
            if not fields:
                if sentence_gold:
                    gold.append(sentence_gold)
                    predicted.append(sentence_predicted)
                sentence_gold, sentence_predicted = [], []
                continue
            if len(fields) < 3:
                raise ValueError("%s, line %d: expected `token gold pred`, "
                                 "got %r" % (path, line_number, line))
            sentence_gold.append(fields[-2])
            sentence_predicted.append(fields[-1])
    if sentence_gold:
        gold.append(sentence_gold)
        predicted.append(sentence_predicted)
    return gold, predicted


def main(argv=None):
    """Scores a predictions.txt file."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("predictions",
                        help="file of `token gold pred` lines")
    args = parser.parse_args(argv)
    print("\n".join(report_lines(evaluate(
        *read_prediction_file(args.predictions)))))


if __name__ == "__main__":
    main()
