# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Speed and memory benchmark on the current machine (not a test).

Sections (--sections, comma list):
  inference    each config (--configs; the teacher and base students by
               default) exported as a SavedModel and as its frozen copy
               (graph_rewrites.write_frozen_saved_model), each loaded into a
               session with XLA JIT off and on, the frozen one also with
               grappler's remapper off (SESSION_SETTINGS); weights are
               random, biases and norm parameters included
               (initialize_like_trained): latency at batch 1 x 128
               with one thread and with every core, throughput at batch
               32 x 128 with every core, on every stack whose environment
               exists (.venv: TF 1.15, .venv-tf2: TF 2.15; each stack and
               thread count in its own process); then the frozen graphs
               with as many row groups as cores (--row_groups), one
               intra-op thread per op and one inter-op thread per group;
  tflite       the same encoders as float TFLite, batch 1, one thread, on
               every stack;
  pytorch      student_base_f2 as our SavedModels against Hugging Face's
               MobileBertModel on the same converted weights, in .venv-tf2,
               with the same number of threads (one, and every core; with
               every core also our frozen graph with row groups, as the
               inference section serves it);
  distill      one full-size distillation training step (seconds, memory);
  preprocess   preprocessing throughput for CMRC 2018 dev, ChnSentiCorp,
               and pretraining-data creation (whole-word masking) in
               characters/sec and per CPU second, with 1 and 2 workers;
               then, on every stack, today's pretraining-data code and
               that of --preprocess_baseline (the code before the speed
               work) in turn on the same files: characters per CPU second
               of each, and their ratio;
  train_speed  training steps/sec of tiny configs on each stack;
  gpu          full-size training per precision (scripts/gpu_check.sh);
  onnx         teacher and base students in ONNX Runtime float32 and int8
               (1 and 2 threads) beside the TF frozen graph at its best
               setting and its bfloat16 rewrite, in one .venv-tf2 process
               (scripts/benchmark_onnx.py).
Then every speed ratio side by side with the level aimed at: the
inference ones at each thread count and with each model at its fastest
setting, and the pretraining-data one.
Timings of one process are taken round-robin over its sessions, and ratios
use the minimum of the runs: on a shared machine the least disturbed.
--json writes all results; --markdown writes the results page (every
table, see scripts/benchmark_report.py) and --plot the PNG beside it (per
model, the best batch-1 latency of each runtime; --plot_from redraws it
from a --json file).

Usage:
  .venv-tf2/bin/python scripts/benchmark.py [--iterations 20] \
      [--sections inference,tflite,pytorch] [--json docs/benchmark.json] \
      [--markdown docs/benchmark.md --plot docs/benchmark.png]
"""

import argparse
import json
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow.compat.v1 as tf

from scripts import benchmark_preprocess as preprocess
from scripts import benchmark_report
from scripts import benchmark_serving as serving
from scripts import benchmark_training as training
from scripts.benchmark_report import RATIO_CONFIGS

PUBLISHED = ("student_base_f2", "student_base_f4", "student_large_f2",
             "student_large_f4", "roberta_wwm_ext", "roberta_wwm_large_ext")


SEQ_LENGTH = 128


def machine_description():
    """One line describing the CPU, cores and memory."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except IOError:
        pass
    mem_gb = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") /
              1024.0**3)
    return "%s, %d cores, %.0f GB RAM, TensorFlow %s, Python %s" % (
        cpu, os.cpu_count(), mem_gb, tf.__version__, platform.python_version())


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20,
                        help="timed batch-1 runs per measurement (a quarter "
                        "of them at the throughput batch)")
    parser.add_argument("--throughput_batch", type=int, default=32,
                        help="batch of the throughput rows (timed with "
                        "every core)")
    parser.add_argument("--threads", default="1,%d" % os.cpu_count(),
                        help="comma list of thread counts for the "
                        "inference and pytorch sections (a worker's: one)")
    parser.add_argument("--row_groups",
                        default=str(os.cpu_count()) if os.cpu_count() > 1
                        else "",
                        help="comma list of row-group counts G for the "
                        "inference and pytorch sections: each a worker "
                        "serving frozen graphs with G row groups on one "
                        "intra-op and G inter-op threads ('' for none; a "
                        "worker's: one)")
    parser.add_argument("--configs", default=",".join(RATIO_CONFIGS),
                        help="comma list of configs for inference and "
                        "tflite (published: %s)" % ",".join(PUBLISHED))
    parser.add_argument("--sections",
                        default="inference,tflite,pytorch,distill,preprocess,"
                        "train_speed",
                        help="comma list of inference, tflite, pytorch, "
                        "distill, preprocess, train_speed, gpu (full-size "
                        "training per precision, for scripts/gpu_check.sh), "
                        "onnx (ONNX Runtime fp32/int8 and TF bf16 beside "
                        "TF fp32)")
    parser.add_argument("--shared_data",
                        default=os.environ.get("DATA_DIR") or os.path.join(
                            REPO, os.pardir, "shared", "data"),
                        help="folder with cmrc2018/, chnsenticorp/, vocab/ "
                             "[$DATA_DIR]")
    parser.add_argument("--preprocess_baseline",
                        default=preprocess.PREPROCESS_BASELINE,
                        help="git revision whose create_pretraining_data "
                        "the preprocess section times beside today's "
                        "(default: the code before the speed work; '' to "
                        "skip)")
    parser.add_argument("--preprocess_rounds", type=int, default=3,
                        help="runs of each code tree per stack in that "
                        "comparison, taken in turn")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--markdown",
                        help="write the results page (tables, and the plot "
                             "of --plot) here, e.g. docs/benchmark.md")
    parser.add_argument("--plot", help="write the latency plot (PNG) here")
    parser.add_argument("--plot_from",
                        help="only redraw --plot from this --json file")
    parser.add_argument("--worker", choices=WORKERS,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.preprocess_rounds < 1:
        parser.error("--preprocess_rounds must be at least 1, got %d." %
                     args.preprocess_rounds)
    return args


# Sections that run in each stack's own interpreter; --worker NAME prints
# the section's results as one JSON line.
WORKERS = ("inference", "tflite", "pytorch", "distill", "train_speed",
           "onnx")


# Workers that run once per thread count (--threads).
THREADED_WORKERS = ("inference", "pytorch")


def worker_results(args):
    """Results of the section `args.worker` in this process."""
    names = args.configs.split(",")
    threads = int(args.threads)
    row_groups = int(args.row_groups or 1)
    if args.worker in THREADED_WORKERS:
        serving.pin_thread_pools(threads, row_groups)
    if args.worker == "inference":
        return serving.serving_rows(names, args.iterations,
                            args.throughput_batch or None, threads,
                            row_groups)
    if args.worker == "tflite":
        return serving.tflite_rows(names, args.iterations)
    if args.worker == "pytorch":
        return serving.pytorch_rows("student_base_f2", args.iterations,
                            args.throughput_batch or None, args.shared_data,
                            threads, row_groups)
    if args.worker == "distill":
        return training.distill_step_stats(args.iterations)
    if args.worker == "onnx":  # --- onnx section (scripts/benchmark_onnx.py)
        from scripts import benchmark_onnx
        return benchmark_onnx.onnx_rows(names, args.iterations)
    return training.train_speed_stats(args.iterations)


def json_from_subprocess(python, args, worker, iterations, threads=None,
                         row_groups=1):
    """Runs section `worker` in `python`; the JSON line it prints last.

    With `threads` the worker's pools have that many threads, and it times
    the throughput batch only when that is every core.  An inference worker
    with `row_groups` above 1 serves graphs with that many row groups.
    """
    threads = threads or os.cpu_count()
    env = dict(os.environ)
    if worker == "inference":
        env["TF_XLA_FLAGS"] = " ".join(
            filter(None, [env.get("TF_XLA_FLAGS"), serving.XLA_CPU_FLAG]))
    throughput = args.throughput_batch if threads == os.cpu_count() else 0
    out = subprocess.check_output([
        python,
        os.path.abspath(__file__), "--worker", worker, "--iterations",
        str(iterations), "--configs", args.configs, "--throughput_batch",
        str(throughput), "--threads", str(threads), "--row_groups",
        str(row_groups), "--shared_data", args.shared_data
    ], env=env)
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])


def thread_counts(args):
    """The distinct thread counts of --threads, in order."""
    return sorted({int(t) for t in args.threads.split(",")})


def row_group_counts(args):
    """The distinct row-group counts above 1 of --row_groups, in order."""
    return sorted({int(g) for g in args.row_groups.split(",") if g} - {1})


def worker_settings(args):
    """(threads, row groups) of each run of a threaded worker.

    One run per thread count of --threads, and one more per row-group count
    of --row_groups, on as many threads.
    """
    return ([(threads, 1) for threads in thread_counts(args)] +
            [(groups, groups) for groups in row_group_counts(args)])


def per_stack(args, worker, iterations):
    """{stack: results of `worker`} for each installed stack.

    A threaded worker runs once per worker_settings entry; the rows are
    joined.
    """
    results = {}
    for stack, python in sorted(serving.stack_pythons().items()):
        if worker in THREADED_WORKERS:
            results[stack] = []
            for threads, groups in worker_settings(args):
                results[stack].extend(json_from_subprocess(
                    python, args, worker, iterations, threads, groups))
        else:
            results[stack] = json_from_subprocess(python, args, worker,
                                                  iterations)
        sys.stderr.write("done %s on %s\n" % (worker, stack))
    return results


def print_lines(lines):
    """Prints a table's lines after a blank line."""
    if lines:
        print("\n" + "\n".join(lines))


def main(argv=None):
    args = parse_args(argv)
    tf.logging.set_verbosity(tf.logging.ERROR)
    if args.worker:
        print(json.dumps(worker_results(args)))
        return
    if args.plot_from:
        with open(args.plot_from) as f:
            benchmark_report.plot_best_latency(json.load(f),
                                               args.plot or "latency.png")
        return
    sections = args.sections.split(",")
    batch = args.throughput_batch
    results = {"machine": machine_description(), "throughput_batch": batch,
               "command": " ".join(["python scripts/benchmark.py"] +
                                   list(argv if argv is not None
                                        else sys.argv[1:]))}
    print("# Benchmark on %s" % results["machine"])
    print("Stacks: %s" % ", ".join(
        "%s (%s)" % (k, v)
        for k, v in sorted(serving.stack_pythons().items())))
    if "inference" in sections:
        results["serving"] = per_stack(args, "inference", args.iterations)
        print_lines(benchmark_report.serving_table(results["serving"], batch))
    if "tflite" in sections:
        results["tflite"] = per_stack(args, "tflite", args.iterations)
        print_lines(benchmark_report.tflite_table(results["tflite"]))
    if "pytorch" in sections and "tf2" in serving.stack_pythons():
        results["pytorch"] = []
        for threads, groups in worker_settings(args):
            results["pytorch"].extend(json_from_subprocess(
                serving.stack_pythons()["tf2"], args, "pytorch",
                args.iterations, threads, groups))
        print_lines(benchmark_report.pytorch_table(results["pytorch"]))
    if "distill" in sections:
        results["distill"] = json_from_subprocess(
            sys.executable, args, "distill", max(2, args.iterations // 8))
        print_lines(benchmark_report.distill_table(results["distill"]))
    if "train_speed" in sections:
        results["train_speed"] = per_stack(args, "train_speed",
                                           max(5, args.iterations // 4))
        print_lines(benchmark_report.train_speed_table(
            results["train_speed"], training.SPEED_BATCH))
    if "preprocess" in sections:
        results.update(preprocess.preprocess_results(args))
        print_lines(benchmark_report.preprocessing_table(
            results["preprocess"]))
        print_lines(benchmark_report.pretraining_data_table(
            results["pretraining_data"]))
        print_lines(benchmark_report.pretraining_data_comparison_table(
            results.get("pretraining_data_comparison", [])))
    if "gpu" in sections:
        results["gpu"] = training.gpu_rows(args.iterations)
        training.print_gpu_table(results["gpu"])
    if "onnx" in sections and "tf2" in serving.stack_pythons():
        # ONNX Runtime runs in the modern stack only.
        results["onnx"] = json_from_subprocess(
            serving.stack_pythons()["tf2"], args, "onnx", args.iterations)
        print_lines(benchmark_report.onnx_table(results["onnx"]))
    results["ratios"] = benchmark_report.ratio_rows(results)
    if results["ratios"]:
        print_lines(benchmark_report.ratio_table(results["ratios"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    if args.markdown:
        benchmark_report.write_report(results, args.markdown, args.plot,
                                      results["command"])
        print("\nPage written to %s" % args.markdown)
    elif args.plot:
        benchmark_report.plot_best_latency(results, args.plot)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
