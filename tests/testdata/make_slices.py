"""Cuts the small real-data slices in this folder from the full data sets.

Usage: python tests/testdata/make_slices.py --data_dir DIR

DIR holds the public data sets in the layout of tests/testdata/README.md.
Each slice keeps the first paragraphs (or, for the NER files, the first
sentences) of its data set, in order and unchanged, so that it stays well
under 200 KB.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
# (source below --data_dir, slice in this folder, paragraphs kept)
SQUAD_SLICES = (
    ("cmrc2018/cmrc2018_trial.json", "cmrc2018/cmrc2018_trial_head.json", 48),
    ("cmrc2018/cmrc2018_dev.json", "cmrc2018/cmrc2018_dev_head.json", 40),
    ("drcd/DRCD_dev.json", "drcd/DRCD_dev_head.json", 40),
)
# (source below --data_dir, slice in this folder, sentences kept)
NER_SLICES = (
    ("ner/peoples_daily/example.dev", "ner/peoples_daily_dev_head.txt", 300),
    ("ner/weibo/weiboNER_2nd_conll.train", "ner/weibo_train_head.txt", 150),
    ("ner/weibo/weiboNER_2nd_conll.dev", "ner/weibo_dev_head.txt", 60),
)


def first_paragraphs(dataset, count):
    """The squad-style `dataset` cut to its first `count` paragraphs."""
    kept, articles = 0, []
    for article in dataset["data"]:
        if kept >= count:
            break
        paragraphs = article["paragraphs"][:count - kept]
        kept += len(paragraphs)
        articles.append(dict(article, paragraphs=paragraphs))
    return dict(dataset, data=articles)


def first_sentences(raw, count):
    """The bytes of a CoNLL-style file up to its `count`-th blank line."""
    lines = raw.splitlines(True)
    kept, sentences, inside = [], 0, False
    for line in lines:
        blank = not line.strip()
        if blank and inside:
            sentences += 1
        inside = not blank
        kept.append(line)
        if sentences == count:
            break
    return b"".join(kept)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    args = parser.parse_args()
    for source, target, count in SQUAD_SLICES:
        with open(os.path.join(args.data_dir, source), encoding="utf-8") as f:
            dataset = json.load(f)
        with open(os.path.join(HERE, target), "w", encoding="utf-8") as f:
            json.dump(first_paragraphs(dataset, count), f, ensure_ascii=False)
        print(target, os.path.getsize(os.path.join(HERE, target)), "bytes")
    for source, target, count in NER_SLICES:
        with open(os.path.join(args.data_dir, source), "rb") as f:
            raw = f.read()
        path = os.path.join(HERE, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(first_sentences(raw, count))
        print(target, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
