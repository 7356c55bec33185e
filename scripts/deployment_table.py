# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The deployment table: TFLite (float, dynamic range, int8 PTQ and QAT),
ONNX (float, int8) and TF bfloat16.

For a ChnSentiCorp classifier and a CMRC 2018 span extractor (the tiny
real-data runs of the README, random initialisation) this script
  1. fine-tunes in float and exports model_float.tflite, model_quant.tflite
     (dynamic range) and model_int8.tflite (post-training, calibrated on
     training examples);
     and, with --export_onnx, model.onnx and model_int8.onnx (and, where
     the fine-tuning stack is tf2 and the CPU has bfloat16, the frozen
     SavedModel under oneDNN's bfloat16 rewrite, --verify_bfloat16);
  2. continues from that checkpoint with --quantization_aware_training for
     --qat_epochs and exports its model_int8.tflite;
  3. reads each export's verification.json (dev metric, agreement with the
     float model) and times batch-1 inference with one thread (TFLite
     interpreter; ONNX Runtime; TF session for bf16);
and prints one markdown table. Run it with the TF 2 interpreter (it times
int8 models, which TF 1.15's runtime cannot load); the fine-tuning runs use
--stack's environment:

  .venv-tf2/bin/python scripts/deployment_table.py --work_dir=/tmp/deploy
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Bootstrap: run as a script, the repository root must be on the path for
# the package import below.
if not __package__:
    sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from finetune import bf16_serving
from finetune import onnx_export
from finetune import tflite_util
from scripts import demo_prepare_real  # pylint: disable=wrong-import-position
SHARED_DATA = os.path.join(REPO, os.pardir, "shared", "data")
VOCAB = os.path.join(SHARED_DATA, "vocab", "chinese_vocab.txt")
CONFIG = os.path.join(REPO, "config", "tiny_student_f2.json")
STACKS = {"tf1": ".venv", "tf2": ".venv-tf2"}
ROWS = (("float", "float"), ("dynamic range", "dynamic"),
        ("int8 PTQ", "int8"))
# Rows of the float run's export beside the TFLite ones, where present.
EXTRA_ROWS = (("ONNX float (model.onnx)", "onnx_float"),
              ("ONNX int8 (model_int8.onnx)", "onnx_int8"),
              ("TF bf16 (frozen SavedModel)", "tf_bf16"))


def run(command, log_path):
    """Runs a fine-tuning command, its output to `log_path`; raises on
    failure with the log's tail."""
    print("+ %s  (log: %s)" % (" ".join(command[:2]), log_path), flush=True)
    start = time.time()
    with open(log_path, "w") as log:
        code = subprocess.call(command, cwd=REPO, stdout=log,
                               stderr=subprocess.STDOUT)
    if code != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise RuntimeError("%s failed (%d):\n%s" % (command[1], code, tail))
    print("  done in %.0f s" % (time.time() - start), flush=True)


def export_extras(python):
    """The float run's ONNX and (on tf2, where the CPU has it) bf16 flags."""
    extras = ["--export_onnx"]
    if python.endswith(os.path.join(STACKS["tf2"], "bin", "python")):
        try:
            bf16_serving.check_support()
            extras.append("--verify_bfloat16")
        except ValueError as error:
            print("no bf16 row: %s" % error)
    return extras


def fine_tuning_commands(python, script, common, work, epochs, qat_epochs,
                         learning_rates):
    """(float run, QAT run) command lines of one fine-tuning script.

    The float run trains from random weights, evaluates and exports every
    post-training variant; the QAT run continues from the float run's
    checkpoint with fake quantization and exports its int8 model.

    Args:
      python, script: the interpreter and the entry script.
      common: the task's flags, shared by both runs.
      work: the task's work folder (float/ and qat/ go there).
      epochs, qat_epochs: epochs of each run.
      learning_rates: (float run, QAT run) learning rates.
    """
    float_lr, qat_lr = learning_rates
    float_run = [python, script] + common + [
        "--output_dir=" + os.path.join(work, "float"), "--do_train",
        "--num_train_epochs=%g" % epochs, "--learning_rate=%g" % float_lr,
        "--export_dir=" + os.path.join(work, "float", "export"),
        "--use_post_quantization", "--export_quantization=int8",
    ] + export_extras(python)
    qat_run = [python, script] + common + [
        "--output_dir=" + os.path.join(work, "qat"), "--do_train",
        "--init_checkpoint=" + os.path.join(work, "float"),
        "--num_train_epochs=%g" % qat_epochs, "--learning_rate=%g" % qat_lr,
        "--quantization_aware_training",
        "--export_dir=" + os.path.join(work, "qat", "export"),
    ]
    return float_run, qat_run


def classifier_commands(python, work, epochs, qat_epochs, max_seq_length):
    """(float run, QAT run) command lines of run_classifier."""
    common = [
        "--task_name=chnsenticorp",
        "--data_dir=" + os.path.join(SHARED_DATA, "chnsenticorp"),
        "--vocab_file=" + VOCAB, "--bert_config_file=" + CONFIG,
        "--max_seq_length=%d" % max_seq_length, "--train_batch_size=32",
        "--eval_batch_size=64", "--rand_seed=12345", "--log_every_steps=100",
        "--tfrecord_dir=" + os.path.join(work, "features"), "--do_eval",
    ]
    return fine_tuning_commands(
        python, os.path.join(REPO, "finetune", "run_classifier.py"), common,
        work, epochs, qat_epochs, (5e-4, 1e-4))


def squad_commands(python, work, epochs, qat_epochs, max_seq_length,
                   predict_file):
    """(float run, QAT run) command lines of run_squad."""
    common = [
        "--vocab_file=" + VOCAB, "--bert_config_file=" + CONFIG,
        "--train_file=" + os.path.join(SHARED_DATA, "cmrc2018",
                                       "cmrc2018_trial.json"),
        "--predict_file=" + predict_file,
        "--max_seq_length=%d" % max_seq_length, "--doc_stride=64",
        "--max_query_length=32", "--train_batch_size=32",
        "--predict_batch_size=64", "--log_every_steps=100",
    ]
    return fine_tuning_commands(
        python, os.path.join(REPO, "finetune", "run_squad.py"), common, work,
        epochs, qat_epochs, (1e-3, 2e-4))


def latency_ms(model_path, iterations):
    """Median batch-1 latency (ms), TFLite interpreter with one thread."""
    import tensorflow as tf
    interpreter = tf.lite.Interpreter(model_path=model_path, num_threads=1)
    interpreter.allocate_tensors()
    rng = np.random.RandomState(0)
    for detail in interpreter.get_input_details():
        value = np.zeros(detail["shape"], np.int32)
        if detail["name"] in ("input_ids", "input_mask"):
            value[:] = rng.randint(1, 100, detail["shape"])
            if detail["name"] == "input_mask":
                value[:] = 1
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def onnx_latency_ms(model_path, iterations):
    """Median batch-1 latency (ms), ONNX Runtime with one thread."""
    sess = onnx_export.session(model_path, 1)
    feed = latency_feed([(value.name, value.shape[-1])
                         for value in sess.get_inputs()])
    return median_ms(lambda: sess.run(None, feed), iterations)


def bf16_latency_ms(saved_model_dir, iterations):
    """Median batch-1 latency (ms), TF session with the bfloat16 rewrite,
    one thread."""
    import tensorflow.compat.v1 as tf
    config = bf16_serving.session_config(tf.ConfigProto(
        intra_op_parallelism_threads=1, inter_op_parallelism_threads=1))
    graph = tf.Graph()
    sess = tf.Session(graph=graph, config=config)
    signature = tf.saved_model.loader.load(
        sess, [tf.saved_model.tag_constants.SERVING],
        saved_model_dir).signature_def["serving_default"]
    feed = latency_feed([(key, info.tensor_shape.dim[-1].size)
                         for key, info in signature.inputs.items()])
    fetches = [info.name for info in signature.outputs.values()]
    tensors = {signature.inputs[key].name: value
               for key, value in feed.items()}
    return median_ms(lambda: sess.run(fetches, tensors), iterations)


def latency_feed(inputs):
    """{name: int32 [1, length]} like latency_ms's TFLite inputs."""
    rng = np.random.RandomState(0)
    feed = {}
    for name, length in inputs:
        value = np.zeros((1, length), np.int32)
        if name == "input_ids":
            value[:] = rng.randint(1, 100, (1, length))
        elif name == "input_mask":
            value[:] = 1
        feed[name] = value
    return feed


def median_ms(run_once, iterations):
    """Median milliseconds of `iterations` calls after one warm-up."""
    run_once()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def model_latency_ms(directory, key, iterations):
    """Latency of one exported model of `directory` (an export dir)."""
    if key in onnx_export.ONNX_NAMES:
        return onnx_latency_ms(
            os.path.join(directory, onnx_export.ONNX_NAMES[key]), iterations)
    if key == "tf_bf16":
        frozen = os.path.join(directory, "frozen")
        return bf16_latency_ms(
            os.path.join(frozen, sorted(os.listdir(frozen))[-1]), iterations)
    return latency_ms(os.path.join(directory, tflite_util.TFLITE_NAMES[key]),
                      iterations)


def table_rows(work, metric_names, iterations):
    """One row per model: name, metrics, agreement, size, latency."""
    with open(os.path.join(work, "float", "export", "verification.json")) as f:
        ptq = json.load(f)
    with open(os.path.join(work, "qat", "export", "verification.json")) as f:
        qat = json.load(f)
    entries = [(label, ptq[key], os.path.join(work, "float", "export"), key)
               for label, key in ROWS]
    entries.append(("int8 QAT", qat["int8"],
                    os.path.join(work, "qat", "export"), "int8"))
    entries.extend((label, ptq[key], os.path.join(work, "float", "export"),
                    key) for label, key in EXTRA_ROWS if key in ptq)
    rows = []
    for label, report, directory, key in entries:
        agreement = [v for k, v in report.items() if k.endswith(
            "agreement_with_float")][0]
        rows.append([label] + [
            "%.2f" % (100.0 * report[m] if m == "eval_accuracy" else report[m])
            for m in metric_names
        ] + [
            "%.1f%%" % (100.0 * agreement),
            "%.2f" % (report["size_bytes"] / 1e6),
            "%.2f" % model_latency_ms(directory, key, iterations),
        ])
    return rows


def print_table(title, metric_headers, rows):
    headers = ["model"] + metric_headers + [
        "agreement with float", "size (MB)", "latency (ms, 1 thread)"]
    print("\n### %s\n" % title)
    print("| " + " | ".join(headers) + " |")
    print("|---|" + "---:|" * (len(headers) - 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work_dir", required=True)
    parser.add_argument("--stack", choices=sorted(STACKS), default="tf1",
                        help="environment of the fine-tuning runs")
    parser.add_argument("--tasks", default="chnsenticorp,cmrc2018")
    parser.add_argument("--epochs", type=float, default=3.0,
                        help="float fine-tuning epochs (ChnSentiCorp)")
    parser.add_argument("--qat_epochs", type=float, default=1.0)
    parser.add_argument("--squad_epochs", type=float, default=10.0)
    parser.add_argument("--squad_dev_paragraphs", type=int, default=80)
    parser.add_argument("--iterations", type=int, default=200,
                        help="timed invocations per model")
    args = parser.parse_args()
    python = os.path.join(REPO, STACKS[args.stack], "bin", "python")
    tasks = args.tasks.split(",")
    print("Fine-tuning with %s; timing with %s" % (python, sys.executable))
    results = []
    if "chnsenticorp" in tasks:
        work = os.path.join(args.work_dir, "chnsenticorp")
        os.makedirs(work, exist_ok=True)
        for name, command in zip(("float", "qat"), classifier_commands(
                python, work, args.epochs, args.qat_epochs, 128)):
            run(command, os.path.join(work, name + ".log"))
        results.append(("ChnSentiCorp dev (1,200 reviews), length 128",
                        ["accuracy (%)"],
                        table_rows(work, ["eval_accuracy"], args.iterations)))
    if "cmrc2018" in tasks:
        work = os.path.join(args.work_dir, "cmrc2018")
        os.makedirs(work, exist_ok=True)
        predict_file = os.path.join(work, "dev_first.json")
        demo_prepare_real.slice_dataset(
            os.path.join(SHARED_DATA, "cmrc2018", "cmrc2018_dev.json"),
            args.squad_dev_paragraphs, predict_file)
        for name, command in zip(("float", "qat"), squad_commands(
                python, work, args.squad_epochs, args.qat_epochs, 128,
                predict_file)):
            run(command, os.path.join(work, name + ".log"))
        results.append(("CMRC 2018 dev (first %d paragraphs), length 128" %
                        args.squad_dev_paragraphs, ["EM", "F1"],
                        table_rows(work, ["em", "f1"], args.iterations)))
    for title, headers, rows in results:
        print_table(title, headers, rows)


if __name__ == "__main__":
    main()
