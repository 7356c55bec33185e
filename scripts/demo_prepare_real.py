# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Lays out the real data sets for `DEMO_DATA=... bash scripts/demo.sh`.

From a folder holding cmrc2018/ and chnsenticorp/ (the public data sets), it
writes into --output_dir:
  corpus.txt         pretraining text: CMRC 2018 trial + dev contexts and the
                     ChnSentiCorp training reviews, one sentence per line, a
                     blank line between documents;
  sentiment/         ChnSentiCorp train.tsv and dev.tsv, unchanged;
  mrc/train.json     the CMRC 2018 trial set;
  mrc/dev.json       the first --dev_paragraphs paragraphs of CMRC 2018 dev.
"""

import argparse
import io
import json
import os
import re
import shutil
import sys

SENTENCE_END = re.compile(u"(?<=[。！？!?])")


def split_sentences(text):
    """Splits Chinese text after sentence-final punctuation."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def cmrc_contexts(path):
    """Yields every paragraph context of a squad-style file."""
    with io.open(path, encoding="utf-8") as f:
        data = json.load(f)
    if "data" not in data:
        raise ValueError("%s: expected a JSON object with 'data'" % path)
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            yield paragraph["context"]


def review_texts(path):
    """Yields the text column of a ChnSentiCorp TSV (header label, text_a)."""
    with io.open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if line_number == 1:
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise ValueError("%s:%d: expected label<TAB>text_a" %
                                 (path, line_number))
            yield fields[1]


def write_corpus(documents, path):
    """Writes documents (lists of sentences); returns (documents, lines)."""
    count = lines = 0
    with io.open(path, "w", encoding="utf-8") as f:
        for sentences in documents:
            if not sentences:
                continue
            f.write(u"\n".join(sentences) + u"\n\n")
            count += 1
            lines += len(sentences)
    return count, lines


def split_paragraphs(dataset, count):
    """(first `count` paragraphs, the others) of a squad-style dataset.

    Both keep the article structure; `count` None keeps every paragraph in
    the first part.
    """
    first, rest = [], []
    left = float("inf") if count is None else count
    for article in dataset["data"]:
        paragraphs = article["paragraphs"]
        taken = int(min(left, len(paragraphs)))
        left -= taken
        if taken:
            first.append(dict(article, paragraphs=paragraphs[:taken]))
        if taken < len(paragraphs):
            rest.append(dict(article, paragraphs=paragraphs[taken:]))
    return dict(dataset, data=first), dict(dataset, data=rest)


def question_count(dataset):
    """Questions of a squad-style dataset."""
    return sum(len(p["qas"]) for a in dataset["data"] for p in a["paragraphs"])


def slice_dataset(path, paragraphs, out_path):
    """Writes the first `paragraphs` paragraphs of a squad-style file.

    Returns:
      Their number of questions.
    """
    with io.open(path, encoding="utf-8") as f:
        first, _ = split_paragraphs(json.load(f), paragraphs)
    with io.open(out_path, "w", encoding="utf-8") as f:
        json.dump(first, f, ensure_ascii=False)
    return question_count(first)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--dev_paragraphs", type=int, default=100)
    args = parser.parse_args(argv)

    cmrc = os.path.join(args.data_dir, "cmrc2018")
    senti = os.path.join(args.data_dir, "chnsenticorp")
    for sub in ("sentiment", "mrc"):
        os.makedirs(os.path.join(args.output_dir, sub), exist_ok=True)

    documents = [split_sentences(c) for name in ("cmrc2018_trial.json",
                                                 "cmrc2018_dev.json")
                 for c in cmrc_contexts(os.path.join(cmrc, name))]
    documents += [split_sentences(t) for t in
                  review_texts(os.path.join(senti, "train.tsv"))]
    docs, lines = write_corpus(documents,
                               os.path.join(args.output_dir, "corpus.txt"))
    for name in ("train.tsv", "dev.tsv"):
        shutil.copyfile(os.path.join(senti, name),
                        os.path.join(args.output_dir, "sentiment", name))
    shutil.copyfile(os.path.join(cmrc, "cmrc2018_trial.json"),
                    os.path.join(args.output_dir, "mrc", "train.json"))
    questions = slice_dataset(os.path.join(cmrc, "cmrc2018_dev.json"),
                              args.dev_paragraphs,
                              os.path.join(args.output_dir, "mrc",
                                           "dev.json"))
    sys.stdout.write("real data: corpus %d documents / %d sentences; "
                     "MRC dev slice %d questions\n" % (docs, lines, questions))


if __name__ == "__main__":
    main()
