# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""CPU seconds of one create_pretraining_data run of a given code tree.

`scripts/benchmark.py --sections preprocess` runs this once per code tree
(today's and an older revision's, exported with `git archive`) and per
stack, in turn, so that both versions are timed side by side on the same
text. The tree's `pretrain` package is imported instead of this
repository's; its `build_records` packs the input files with whole-word
masking and the tool's defaults (max length 128, dupe factor 10), in this
process (one worker). jieba's dictionary is loaded before timing.

Prints one JSON line: {"cpu_seconds", "seconds", "records", "characters"}.

Usage:
  .venv-tf2/bin/python scripts/time_pretraining_data.py \
      --code_root /tmp/old_tree --vocab_file vocab.txt \
      --input_file a.txt,b.txt --output_file /tmp/out.tfrecord
"""

import argparse
import importlib
import io
import json
import os
import sys
import time


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code_root", required=True,
                        help="folder holding the pretrain/ package to time")
    parser.add_argument("--vocab_file", required=True)
    parser.add_argument("--input_file", required=True,
                        help="comma list of text files")
    parser.add_argument("--output_file", required=True,
                        help="TFRecord to write (overwritten)")
    return parser.parse_args(argv)


def import_tree(code_root):
    """(create_pretraining_data, tokenization) modules of `code_root`."""
    if not os.path.isfile(os.path.join(code_root, "pretrain",
                                       "create_pretraining_data.py")):
        raise ValueError("--code_root=%s has no "
                         "pretrain/create_pretraining_data.py." % code_root)
    sys.path.insert(0, os.path.abspath(code_root))
    return (importlib.import_module("pretrain.create_pretraining_data"),
            importlib.import_module("pretrain.tokenization"))


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    packing, tokenization = import_tree(args.code_root)
    packing.tf.logging.set_verbosity(packing.tf.logging.WARN)
    tokenizer = tokenization.FullTokenizer(args.vocab_file, True)
    # jieba's dictionary: loaded, not timed (older trees kept the loader
    # in create_pretraining_data itself).
    load_segmenter = getattr(packing, "_word_segmenter", None) or (
        importlib.import_module("pretrain.pretraining_text").word_segmenter)
    load_segmenter()
    inputs = args.input_file.split(",")
    cpu_start = time.process_time()
    start = time.time()
    records = packing.build_records(inputs, [args.output_file], tokenizer,
                                    do_whole_word_mask=True)
    result = {"cpu_seconds": time.process_time() - cpu_start,
              "seconds": time.time() - start, "records": records,
              "characters": sum(len(io.open(path, encoding="utf-8").read())
                                for path in inputs)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
