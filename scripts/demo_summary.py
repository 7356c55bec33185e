# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Prints the demo's closing table: stage, metric, wall time, output.

Reads `stages.tsv` (written by scripts/demo.sh: name, seconds, output
path) and each stage's own result file.
"""

import argparse
import io
import json
import os


def read_key_values(path):
    """Parses BERT-style `key = value` result files into a dict."""
    values = {}
    with io.open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def count_records(path):
    """Number of records in a TFRecord file."""
    import tensorflow.compat.v1 as tf
    tf.logging.set_verbosity(tf.logging.ERROR)
    return sum(1 for _ in tf.io.tf_record_iterator(path))


def mlm_metric(output):
    values = read_key_values(os.path.join(output, "eval_results.txt"))
    return "MLM accuracy %.3f, loss %.3f" % (
        float(values["masked_lm_accuracy"]), float(values["masked_lm_loss"]))


def classification_metric(output, name="eval_results.txt"):
    values = read_key_values(os.path.join(output, name))
    return "dev accuracy %.3f (%s examples)" % (
        float(values["eval_accuracy"]), values.get("eval_examples", "?"))


def mrc_metric(output):
    with io.open(os.path.join(output, "eval_results.json"),
                 encoding="utf-8") as f:
        values = json.load(f)
    return "dev EM %s / F1 %s (%s questions)" % (values["EM"], values["F1"],
                                                 values["TOTAL"])


def ner_metric(output):
    values = read_key_values(os.path.join(output, "eval_results.txt"))
    return "dev entity F1 %.3f (P %.3f, R %.3f; %s sentences)" % (
        float(values["f1"]), float(values["precision"]),
        float(values["recall"]), values.get("sentences", "?"))


def export_metric(output):
    sizes = []
    for name in ("model_float.tflite", "model_quant.tflite"):
        path = os.path.join(output, name)
        sizes.append("%s %.2f MB" % (name, os.path.getsize(path) / 1e6))
    return ", ".join(sizes)


def stage_metric(name, output):
    """The headline number of one stage (names as scripts/demo.sh writes)."""
    if name == "pretraining_data":
        return "%d instances" % count_records(
            os.path.join(output, "train.tfrecord"))
    if name in ("teacher_mlm", "student_distillation", "baseline_mlm"):
        return mlm_metric(output)
    if name.startswith("classification_"):
        return classification_metric(output)
    if name.startswith("reading_comprehension_"):
        return mrc_metric(output)
    if name.startswith("ner_"):
        return ner_metric(output)
    if name == "tflite_export":
        return export_metric(output)
    if name == "tflite_eval":
        return "TFLite " + classification_metric(os.path.dirname(
            os.path.dirname(output)), "lite_eval_results.txt")
    raise ValueError("stages.tsv: unknown stage %r" % name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--total_seconds", type=int, default=0)
    args = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    with io.open(os.path.join(args.output_dir, "stages.tsv"),
                 encoding="utf-8") as f:
        for line in f:
            name, seconds, output = line.rstrip("\n").split("\t")
            rows.append((name, stage_metric(name, output), int(seconds),
                         os.path.relpath(output, root)))
    print("\n| stage | metric | wall time (s) | output |")
    print("|---|---|---:|---|")
    for row in rows:
        print("| %s | %s | %d | %s |" % row)
    print("\nTotal: %d s" % args.total_seconds)


if __name__ == "__main__":
    main()
