# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Every stage of the base-f2 recipe at full size, a few steps each.

Run through scripts/smoke_full_size.sh.  Writes a random teacher of
RoBERTa-wwm-ext's size in the released layout (bert_model.ckpt.*,
bert_config.json, vocab.txt), pretraining records of length 128, then runs
pretrain/run.pretrain.sh (the published recipe) stage by stage at batch 8 —
layer-wise transfer (one step per layer), a first round, pretraining
distillation and its evaluation — and finetune/run.chnsenticorp.sh from the
distilled student with an export (SavedModel, TFLite).  With --workers 2
every training stage runs on two local worker processes
(--distribution_strategy=multi_worker, same global batch).

Prints, and writes to WORK/smoke_table.md, one row per stage: steps,
median seconds per step, peak resident memory (largest process) and wall
time.
"""

import argparse
import collections
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BATCH = 8
SEQ = 128
PREDS = 20
VOCAB = os.path.join(ROOT, "tests", "testdata", "vocab",
                     "chinese_vocab.txt")
SENTIMENT = os.path.join(ROOT, "scripts", "demo_data", "sentiment")
TEACHER_CONFIG = os.path.join(ROOT, "config", "roberta_wwm_ext.json")
STUDENT_CONFIG = os.path.join(ROOT, "config", "student_base_f2.json")
LAUNCHER = os.path.join(ROOT, "scripts", "launch_local_workers.sh")

# Steps of each stage: the layer-wise transfer gives each of the 12 layers
# one step; the first round and the distillation four each (a process's
# first logged step includes its warm-up and is not counted).
WARMUP_STEPS = 12
FIRST_STEPS = 4
MAIN_STEPS = 8  # Counts the first round's.
FINETUNE_EPOCHS = 0.04  # 800 reviews: 4 steps at batch 8.

# One measured stage.
StageResult = collections.namedtuple(
    "StageResult", ["name", "steps", "seconds_per_step", "peak_rss_gib",
                    "wall_seconds"])


def log(message):
    print("[smoke %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def write_teacher(folder):
    """A random RoBERTa-wwm-ext-sized teacher in the released layout."""
    from pretrain import modeling
    from scripts import export_checkpoint
    os.makedirs(folder, exist_ok=True)
    shutil.copy(TEACHER_CONFIG, os.path.join(folder, "bert_config.json"))
    shutil.copy(VOCAB, os.path.join(folder, "vocab.txt"))
    export_checkpoint.save_random_model(
        modeling.BertConfig.from_json_file(TEACHER_CONFIG),
        os.path.join(folder, "bert_model.ckpt"))


def seconds_per_step(log_text):
    """Median seconds per step from the progress lines (batch 8 global);
    the first logged interval, which includes the process's warm-up (tens
    of seconds at full size), is left out when there are more."""
    rates = [float(r) for r in re.findall(
        r"step \d+ .*examples/sec=([0-9.e+]+)", log_text)]
    if len(rates) > 1:
        rates = rates[1:]
    if not rates:
        return float("nan")
    return statistics.median(BATCH / max(r, 1e-9) for r in rates)


def peak_rss_gib(rss_file):
    """Largest "maximum resident set size" (KiB) GNU time appended."""
    with open(rss_file) as f:
        values = [int(line) for line in f if line.strip().isdigit()]
    return max(values) / 1024.0 / 1024.0 if values else float("nan")


def run_stage(name, command, env, work, workers, steps):
    """Runs `command` (on `workers` local workers); returns StageResult."""
    rss_file = os.path.join(work, "rss_%s.txt" % name)
    log_dir = os.path.join(work, "logs_%s" % name)
    os.makedirs(log_dir, exist_ok=True)
    timed = ["/usr/bin/time", "-a", "-o", rss_file, "-f", "%M"] + command
    if workers > 1:
        timed = (["bash", LAUNCHER, str(workers), "--log_dir", log_dir, "--"]
                 + timed + ["--distribution_strategy=multi_worker"])
    log("stage %s: %s" % (name, " ".join(command[:3])))
    start = time.time()
    with open(os.path.join(log_dir, "run.log"), "w") as out:
        status = subprocess.call(timed, stdout=out, stderr=subprocess.STDOUT,
                                 env=env, cwd=work)
    wall = time.time() - start
    chief_log = os.path.join(log_dir,
                             "worker_0.log" if workers > 1 else "run.log")
    with open(chief_log) as f:
        text = f.read()
    if status != 0:
        sys.stderr.write(text[-4000:])
        raise SystemExit("smoke: stage %s failed (status %d); log: %s" %
                         (name, status, chief_log))
    result = StageResult(name, steps, seconds_per_step(text),
                         peak_rss_gib(rss_file), wall)
    log("stage %s: %.2f s/step, peak %.2f GiB, %.0f s" %
        (name, result.seconds_per_step, result.peak_rss_gib, wall))
    return result


def pretrain_flags(data, first_steps, main_steps, do_eval):
    """run.pretrain.sh overrides: length 128, batch 8, a few steps."""
    flags = [
        "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PREDS,
        "--train_batch_size=%d" % BATCH, "--eval_batch_size=%d" % BATCH,
        "--num_distill_steps=%d" % WARMUP_STEPS,
        "--num_train_steps=%d" % main_steps, "--num_warmup_steps=1",
        "--save_checkpoints_steps=1000", "--iterations_per_loop=1",
        "--log_every_steps=1", "--use_summary=false", "--rand_seed=1",
        "--do_eval=%s" % ("true" if do_eval else "false"),
        "--max_eval_steps=2"
    ]
    if first_steps:
        flags += ["--first_input_file=" + data,
                  "--first_max_seq_length=%d" % SEQ,
                  "--first_num_train_steps=%d" % first_steps]
    return flags


def run_all(work, workers, python):
    """Data, teacher, the pretraining stages and fine-tuning + export."""
    data = os.path.join(work, "data", "train.tfrecord")
    log("pretraining records (length %d) from the demo corpus" % SEQ)
    subprocess.check_call([
        python, os.path.join(ROOT, "pretrain", "create_pretraining_data.py"),
        "--input_file=" + os.path.join(ROOT, "scripts", "demo_data",
                                       "corpus.txt"),
        "--output_file=" + data, "--vocab_file=" + VOCAB,
        "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PREDS,
        "--dupe_factor=1", "--do_whole_word_mask"
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log("random RoBERTa-wwm-ext-sized teacher (released layout)")
    write_teacher(os.path.join(work, "teacher"))
    env = dict(os.environ, PYTHON=python, TF_CPP_MIN_LOG_LEVEL="2",
               DATA_GLOB=data, TEACHER_DIR=os.path.join(work, "teacher"),
               OUTPUT_DIR=os.path.join(work, "student"))
    pretrain = ["bash", os.path.join(ROOT, "pretrain", "run.pretrain.sh")]
    results = [
        run_stage("layer-wise transfer", pretrain +
                  pretrain_flags(data, 0, 0, False), env, work, workers,
                  WARMUP_STEPS),
        run_stage("first round", pretrain +
                  pretrain_flags(data, FIRST_STEPS, FIRST_STEPS, False), env,
                  work, workers, FIRST_STEPS),
        run_stage("distillation + eval", pretrain +
                  pretrain_flags(data, FIRST_STEPS, MAIN_STEPS, True), env,
                  work, workers, MAIN_STEPS - FIRST_STEPS),
    ]
    env = dict(env, DATA_DIR=SENTIMENT, BERT_CONFIG=STUDENT_CONFIG,
               VOCAB=VOCAB, INIT_CKPT=os.path.join(work, "student"),
               OUTPUT_DIR=os.path.join(work, "finetune"), DO_TEST="false")
    env.pop("MODEL_DIR", None)
    env.pop("TPU_NAME", None)
    results.append(run_stage(
        "fine-tune + eval + export",
        ["bash", os.path.join(ROOT, "finetune", "run.chnsenticorp.sh"),
         "--max_seq_length=%d" % SEQ, "--train_batch_size=%d" % BATCH,
         "--eval_batch_size=%d" % BATCH, "--predict_batch_size=%d" % BATCH,
         "--num_train_epochs=%g" % FINETUNE_EPOCHS, "--log_every_steps=1",
         "--rand_seed=1", "--export_dir=" + os.path.join(work, "export")],
        env, work, workers, int(800 * FINETUNE_EPOCHS / BATCH)))
    for name in ("saved_model.pb", "model_float.tflite"):
        found = [r for r, _, files in os.walk(os.path.join(work, "export"))
                 if name in files]
        if not found:
            raise SystemExit("smoke: the export holds no %s" % name)
    return results


def table(results, workers, total):
    """The markdown table of the results."""
    lines = [
        "| stage (%s) | steps | s/step | peak memory (GiB) | wall (s) |" %
        ("1 process" if workers == 1 else "%d workers" % workers),
        "|---|---:|---:|---:|---:|"
    ]
    for r in results:
        lines.append("| %s | %d | %.2f | %.2f | %.0f |" %
                     (r.name, r.steps, r.seconds_per_step, r.peak_rss_gib,
                      r.wall_seconds))
    lines.append("| total (with data and teacher) | | | | %.0f |" % total)
    return "\n".join(lines)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work_dir", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    if os.path.exists(args.work_dir) and os.listdir(args.work_dir):
        raise SystemExit("smoke: --work_dir %s is not empty" % args.work_dir)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    results = run_all(os.path.abspath(args.work_dir), args.workers,
                      args.python)
    total = time.time() - start
    text = table(results, args.workers, total)
    header = ("Full-size smoke, %s, %d CPU cores (%s), stack %s:" %
              (cpu_name(), os.cpu_count(), platform.machine(),
               subprocess.check_output([
                   args.python, "-c",
                   "import tensorflow as tf; print(tf.__version__)"
               ], stderr=subprocess.DEVNULL).decode().strip()))
    with open(os.path.join(args.work_dir, "smoke_table.md"), "w") as f:
        f.write(header + "\n\n" + text + "\n")
    print(header + "\n\n" + text)


if __name__ == "__main__":
    main()
