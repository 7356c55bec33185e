# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Does distillation help?  Teacher vs distilled student vs plain-MLM student.

On real Chinese text (--data_dir), through the project's
own entry scripts:

  1. data: a pretraining corpus (CMRC 2018 trial contexts, the CMRC 2018 dev
     contexts that are not evaluated, ChnSentiCorp training reviews), every
     --heldout_every-th document held out for masked-LM evaluation; the
     fine-tuning sets; a vocabulary restricted to the WordPiece tokens this
     text produces (the full 21,128-entry vocabulary with --full_vocab);
     whole-word-masked records (create_pretraining_data.py);
  2. teacher: BERT (config/tiny_teacher.json, its feed-forward width set
     to teacher_intermediate_size) pretrained with plain MLM;
  3. distilled: MobileBERT (config/tiny_student_f2.json) with the published
     recipe's structure: layer-wise knowledge transfer, then soft-target
     distillation at ground-truth ratio 0.5 (run_pretraining.py);
  4. baseline: the same student architecture with plain MLM for as many
     steps as the distilled student trained in both stages;
  5. masked-LM accuracy of each on the held-out records;
  6. fine-tuning of each on ChnSentiCorp (run_classifier.py) and CMRC 2018
     (run_squad.py: trained on the trial set and the dev paragraphs that
     are not evaluated, evaluated on the first mrc_dev_paragraphs dev
     paragraphs), once per seed.

Writes into --output_dir (default $EXPERIMENT_OUT or experiment_output/):
results.json, results.md (the table), pretraining_curves.png,
finetuning_scores.png, logs/ and every model folder.

Optional ablations (--ablations): `no_layer_wise` (soft-target distillation
for all the steps, no layer-wise transfer) and `ratio_1.0` (layer-wise
transfer, then plain MLM instead of soft targets).
"""

import argparse
import collections
import concurrent.futures
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Bootstrap: run as a script, the repository root must be on the path for
# the package imports below.
if not __package__:
    sys.path.insert(0, REPO)

from pretrain import tokenization  # pylint: disable=wrong-import-position
from scripts import demo_prepare_real  # pylint: disable=wrong-import-position
from scripts import experiment_plots  # pylint: disable=wrong-import-position

MODELS = ("teacher", "distilled", "baseline")
ABLATIONS = ("no_layer_wise", "ratio_1.0")
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SCORES = ("chnsenticorp_dev_accuracy", "cmrc2018_dev_f1", "cmrc2018_dev_em")

# The experiment's numbers.  FULL is sized for <= 60 minutes on 2 CPU cores;
# QUICK only exercises every stage (seconds per stage, meaningless scores).
Settings = collections.namedtuple("Settings", [
    "max_documents", "heldout_every", "seq_length", "max_predictions",
    "dupe_factor", "batch_size", "teacher_intermediate_size",
    "teacher_steps", "teacher_lr", "teacher_warmup", "layer_wise_steps",
    "distill_steps", "student_lr", "student_warmup", "sentiment_train_rows",
    "sentiment_dev_rows", "cls_seq_length", "cls_epochs", "cls_lr",
    "mrc_train_paragraphs", "mrc_train_dev_paragraphs", "mrc_dev_paragraphs",
    "mrc_seq_length", "mrc_epochs", "mrc_lr", "heldout_eval_batches", "seeds"
])

FULL = Settings(max_documents=None, heldout_every=20, seq_length=128,
                max_predictions=20, dupe_factor=2, batch_size=32,
                teacher_intermediate_size=256, teacher_steps=6000,
                teacher_lr=1e-3, teacher_warmup=600,
                layer_wise_steps=600, distill_steps=1400, student_lr=1e-3,
                student_warmup=100, sentiment_train_rows=None,
                sentiment_dev_rows=None, cls_seq_length=128, cls_epochs=1.0,
                cls_lr=5e-4, mrc_train_paragraphs=None,
                mrc_train_dev_paragraphs=None, mrc_dev_paragraphs=100,
                mrc_seq_length=128, mrc_epochs=4.0, mrc_lr=5e-4,
                heldout_eval_batches=1000, seeds=(1, 2, 3))

QUICK = FULL._replace(max_documents=200, heldout_every=10, seq_length=64,
                      max_predictions=10, dupe_factor=1, batch_size=8,
                      teacher_steps=20, teacher_warmup=2, layer_wise_steps=10,
                      distill_steps=10, student_warmup=2,
                      sentiment_train_rows=64, sentiment_dev_rows=32,
                      cls_seq_length=64, mrc_train_paragraphs=4,
                      mrc_train_dev_paragraphs=2, mrc_dev_paragraphs=2,
                      mrc_seq_length=64,
                      heldout_eval_batches=5, seeds=(1,))

# The published recipe's distillation weights (run.pretrain.sh).
DISTILL_FLAGS = ("--attention_distill_factor=1", "--hidden_distill_factor=100",
                 "--beta_distill_factor=5000", "--gamma_distill_factor=5",
                 "--distill_temperature=1.0", "--optimizer=adamw")

PROGRESS_LINE = re.compile(r"\bstep (\d+) (\S+=.*) examples/sec=")
STAGE_LINE = re.compile(r"Stage (\w+):")


# ---------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------


def read_tsv_rows(path, limit):
    """The header and the first `limit` rows of a TSV (all rows for None)."""
    with io.open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError("%s: empty file, expected a header line" % path)
    rows = lines[1:] if limit is None else lines[1:1 + limit]
    return lines[0], rows


def write_lines(path, lines):
    with io.open(path, "w", encoding="utf-8") as f:
        f.write(u"".join(line + u"\n" for line in lines))


def load_json(path):
    with io.open(path, encoding="utf-8") as f:
        return json.load(f)


def paragraphs_of(dataset):
    return [p for article in dataset["data"] for p in article["paragraphs"]]


def mrc_texts(dataset):
    """Contexts, questions and answers of a squad-style dataset."""
    for paragraph in paragraphs_of(dataset):
        yield paragraph["context"]
        for qa in paragraph["qas"]:
            yield qa["question"]
            for answer in qa.get("answers", []):
                yield answer["text"]


def pretraining_documents(data_dir, settings):
    """Documents (lists of sentences) of the pretraining corpus.

    The CMRC 2018 dev paragraphs that the experiment evaluates on are left
    out, so no model has seen the evaluated contexts.
    """
    cmrc = os.path.join(data_dir, "cmrc2018")
    contexts = list(demo_prepare_real.cmrc_contexts(
        os.path.join(cmrc, "cmrc2018_trial.json")))
    dev_contexts = list(demo_prepare_real.cmrc_contexts(
        os.path.join(cmrc, "cmrc2018_dev.json")))
    contexts += dev_contexts[settings.mrc_dev_paragraphs:]
    documents = [demo_prepare_real.split_sentences(c) for c in contexts]
    documents += [
        demo_prepare_real.split_sentences(t)
        for t in demo_prepare_real.review_texts(
            os.path.join(data_dir, "chnsenticorp", "train.tsv"))
    ]
    documents = [d for d in documents if d]
    if settings.max_documents is not None:
        documents = documents[:settings.max_documents]
    return documents


def restricted_vocabulary(full_vocab_file, texts):
    """The full vocabulary's tokens that `texts` tokenize into, in its order.

    WordPiece is greedy longest-match-first, so the restricted vocabulary
    tokenizes these texts exactly as the full one does.
    """
    tokenizer = tokenization.FullTokenizer(full_vocab_file,
                                           do_lower_case=True)
    used = set(SPECIAL_TOKENS)
    for text in texts:
        used.update(tokenizer.tokenize(text))
    return [t for t in tokenizer.vocab if t in used]


def write_mrc_sets(cmrc_dir, settings, train_path, dev_path):
    """CMRC 2018 fine-tuning sets; returns their question counts.

    dev: the first --mrc_dev_paragraphs paragraphs of the dev set.  train:
    the trial set and the dev paragraphs that are not evaluated (each
    limited by its Settings field).
    """
    trial = load_json(os.path.join(cmrc_dir, "cmrc2018_trial.json"))
    dev, unevaluated = demo_prepare_real.split_paragraphs(
        load_json(os.path.join(cmrc_dir, "cmrc2018_dev.json")),
        settings.mrc_dev_paragraphs)
    train = dict(trial, data=(
        demo_prepare_real.split_paragraphs(
            trial, settings.mrc_train_paragraphs)[0]["data"] +
        demo_prepare_real.split_paragraphs(
            unevaluated, settings.mrc_train_dev_paragraphs)[0]["data"]))
    for dataset, path in ((train, train_path), (dev, dev_path)):
        with io.open(path, "w", encoding="utf-8") as f:
            json.dump(dataset, f, ensure_ascii=False)
    return (demo_prepare_real.question_count(train),
            demo_prepare_real.question_count(dev))


def prepare_data(data_dir, out, settings, full_vocab):
    """Writes corpus, held-out corpus, fine-tuning sets and vocabulary.

    Returns:
      dict of paths (train_corpus, heldout_corpus, sentiment_dir, mrc_train,
      mrc_dev, vocab) and counts.
    """
    data = os.path.join(out, "data")
    os.makedirs(os.path.join(data, "sentiment"), exist_ok=True)
    documents = pretraining_documents(data_dir, settings)
    heldout = documents[settings.heldout_every - 1::settings.heldout_every]
    train = [d for i, d in enumerate(documents)
             if (i + 1) % settings.heldout_every]
    paths = {
        "train_corpus": os.path.join(data, "corpus_train.txt"),
        "heldout_corpus": os.path.join(data, "corpus_heldout.txt"),
        "sentiment_dir": os.path.join(data, "sentiment"),
        "mrc_train": os.path.join(data, "mrc_train.json"),
        "mrc_dev": os.path.join(data, "mrc_dev.json"),
        "features": os.path.join(out, "features"),
    }
    counts = {}
    counts["train_documents"], counts["train_sentences"] = (
        demo_prepare_real.write_corpus(train, paths["train_corpus"]))
    counts["heldout_documents"], counts["heldout_sentences"] = (
        demo_prepare_real.write_corpus(heldout, paths["heldout_corpus"]))

    texts = [s for d in documents for s in d]
    senti = os.path.join(data_dir, "chnsenticorp")
    for name, limit in (("train.tsv", settings.sentiment_train_rows),
                        ("dev.tsv", settings.sentiment_dev_rows)):
        header, rows = read_tsv_rows(os.path.join(senti, name), limit)
        write_lines(os.path.join(paths["sentiment_dir"], name),
                    [header] + rows)
        texts += [r.split("\t", 1)[-1] for r in rows]
        counts["sentiment_" + name.split(".")[0]] = len(rows)
    counts["mrc_train_questions"], counts["mrc_dev_questions"] = (
        write_mrc_sets(os.path.join(data_dir, "cmrc2018"), settings,
                       paths["mrc_train"], paths["mrc_dev"]))
    for name in ("mrc_train", "mrc_dev"):
        texts += list(mrc_texts(load_json(paths[name])))

    full_vocab_file = os.path.join(data_dir, "vocab", "chinese_vocab.txt")
    if full_vocab:
        paths["vocab"] = full_vocab_file
    else:
        paths["vocab"] = os.path.join(data, "vocab.txt")
        write_lines(paths["vocab"],
                    restricted_vocabulary(full_vocab_file, texts))
    counts["vocab_size"] = len(tokenization.load_vocab(paths["vocab"]))
    return paths, counts


def write_configs(out, vocab_size, settings):
    """tiny_teacher / tiny_student_f2 with the experiment's vocabulary size.

    The teacher's feed-forward width is the experiment's
    (teacher_intermediate_size): with tiny_teacher's 128 the teacher has
    about the student's capacity.
    """
    configs = {}
    os.makedirs(os.path.join(out, "configs"), exist_ok=True)
    for role, name in (("teacher", "tiny_teacher.json"),
                       ("student", "tiny_student_f2.json")):
        config = load_json(os.path.join(REPO, "config", name))
        config["vocab_size"] = vocab_size
        if role == "teacher":
            config["intermediate_size"] = settings.teacher_intermediate_size
        configs[role] = os.path.join(out, "configs", name)
        with io.open(configs[role], "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
    return configs


# ---------------------------------------------------------------------------
# Running the entry scripts.
# ---------------------------------------------------------------------------


class Runner(object):
    """Runs entry scripts with one interpreter, one log file per job."""

    def __init__(self, python, log_dir, resume):
        self.python = python
        self.log_dir = log_dir
        self.resume = resume
        self.seconds = collections.OrderedDict()
        os.makedirs(log_dir, exist_ok=True)

    def log_path(self, name):
        return os.path.join(self.log_dir, name + ".log")

    def __call__(self, name, script, flags):
        """Runs REPO/script with flags; raises with the log's tail on failure.

        With `resume`, a job that finished in an earlier run is not rerun.
        """
        done_marker = self.log_path(name) + ".done"
        if self.resume and os.path.exists(done_marker):
            self.seconds[name] = 0.0
            return
        start = time.time()
        sys.stdout.write("  start %s\n" % name)
        sys.stdout.flush()
        with io.open(self.log_path(name), "w", encoding="utf-8") as log:
            result = subprocess.run(
                [self.python, os.path.join(REPO, script)] + list(flags),
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO, check=False)
        self.seconds[name] = round(time.time() - start, 1)
        if result.returncode != 0:
            with io.open(self.log_path(name), encoding="utf-8") as log:
                tail = log.read()[-4000:]
            raise RuntimeError("%s failed (exit %d); end of %s:\n%s" %
                               (name, result.returncode,
                                self.log_path(name), tail))
        io.open(done_marker, "w").close()
        sys.stdout.write("  done  %s in %.0f s\n" %
                         (name, self.seconds[name]))
        sys.stdout.flush()


def run_parallel(jobs, tasks):
    """Runs callables `tasks` on `jobs` threads; re-raises the first error."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()


def pretraining_data_flags(corpus, output, vocab, settings, dupe_factor,
                           seed):
    return [
        "--input_file=" + corpus, "--output_file=" + output,
        "--vocab_file=" + vocab, "--do_lower_case=True",
        "--max_seq_length=%d" % settings.seq_length,
        "--max_predictions_per_seq=%d" % settings.max_predictions,
        "--dupe_factor=%d" % dupe_factor, "--masked_lm_prob=0.15",
        "--random_seed=%d" % seed, "--do_whole_word_mask"
    ]


def pretraining_flags(records, config, output_dir, settings):
    return [
        "--input_file=" + records, "--bert_config_file=" + config,
        "--output_dir=" + output_dir,
        "--max_seq_length=%d" % settings.seq_length,
        "--max_predictions_per_seq=%d" % settings.max_predictions,
        "--train_batch_size=%d" % settings.batch_size,
        "--save_checkpoints_steps=100000", "--iterations_per_loop=100",
        "--log_every_steps=%d" % max(1, settings.teacher_steps // 40),
        "--rand_seed=12345", "--do_train"
    ]


def pretraining_jobs(records, configs, out, settings, ablations):
    """{model: run_pretraining.py flags} of every pretrained model."""
    student_steps = settings.layer_wise_steps + settings.distill_steps
    student = ["--learning_rate=%g" % settings.student_lr,
               "--num_warmup_steps=%d" % settings.student_warmup]
    teacher_args = ["--bert_teacher_config_file=" + configs["teacher"],
                    "--init_checkpoint=" + os.path.join(out, "teacher")]
    layer_wise = ["--layer_wise_warmup",
                  "--num_distill_steps=%d" % settings.layer_wise_steps,
                  "--num_train_steps=%d" % settings.distill_steps]

    def base(model, config):
        return pretraining_flags(records, configs[config],
                                 os.path.join(out, model), settings)

    jobs = collections.OrderedDict()
    jobs["teacher"] = base("teacher", "teacher") + [
        "--learning_rate=%g" % settings.teacher_lr,
        "--num_warmup_steps=%d" % settings.teacher_warmup,
        "--num_train_steps=%d" % settings.teacher_steps,
        "--distill_ground_truth_ratio=1.0"
    ]
    jobs["baseline"] = base("baseline", "student") + student + [
        "--num_train_steps=%d" % student_steps,
        "--distill_ground_truth_ratio=1.0"
    ]
    jobs["distilled"] = (base("distilled", "student") + student +
                         teacher_args + layer_wise + list(DISTILL_FLAGS) +
                         ["--distill_ground_truth_ratio=0.5"])
    if "no_layer_wise" in ablations:
        jobs["distilled_no_layer_wise"] = (
            base("distilled_no_layer_wise", "student") + student +
            teacher_args + list(DISTILL_FLAGS) +
            ["--num_train_steps=%d" % student_steps,
             "--distill_ground_truth_ratio=0.5"])
    if "ratio_1.0" in ablations:
        jobs["distilled_ratio_1.0"] = (
            base("distilled_ratio_1.0", "student") + student + teacher_args +
            layer_wise + list(DISTILL_FLAGS) +
            ["--distill_ground_truth_ratio=1.0"])
    return jobs


def heldout_eval_flags(records, config, model_dir, settings):
    return [
        "--input_file=" + records, "--bert_config_file=" + config,
        "--output_dir=" + model_dir,
        "--max_seq_length=%d" % settings.seq_length,
        "--max_predictions_per_seq=%d" % settings.max_predictions,
        "--eval_batch_size=32",
        "--max_eval_steps=%d" % settings.heldout_eval_batches, "--do_eval"
    ]


def classifier_flags(paths, config, model_dir, output_dir, seed, settings):
    return [
        "--task_name=chnsenticorp", "--data_dir=" + paths["sentiment_dir"],
        "--vocab_file=" + paths["vocab"], "--do_lower_case=True",
        "--bert_config_file=" + config, "--init_checkpoint=" + model_dir,
        "--output_dir=" + output_dir,
        "--tfrecord_dir=" + paths["features"],
        "--rand_seed=%d" % seed,
        "--max_seq_length=%d" % settings.cls_seq_length, "--do_train",
        "--do_eval", "--train_batch_size=32", "--eval_batch_size=64",
        "--learning_rate=%g" % settings.cls_lr,
        "--num_train_epochs=%g" % settings.cls_epochs,
        "--warmup_proportion=0.1", "--save_checkpoints_steps=100000",
        "--log_every_steps=100"
    ]


def squad_flags(paths, config, model_dir, output_dir, seed, settings):
    return [
        "--train_file=" + paths["mrc_train"],
        "--predict_file=" + paths["mrc_dev"],
        "--vocab_file=" + paths["vocab"], "--do_lower_case=True",
        "--bert_config_file=" + config, "--init_checkpoint=" + model_dir,
        "--output_dir=" + output_dir, "--do_train", "--do_predict",
        "--max_seq_length=%d" % settings.mrc_seq_length,
        "--doc_stride=%d" % (settings.mrc_seq_length // 2),
        "--max_query_length=32", "--train_batch_size=16",
        "--predict_batch_size=64", "--learning_rate=%g" % settings.mrc_lr,
        "--num_train_epochs=%g" % settings.mrc_epochs,
        "--warmup_proportion=0.1", "--save_checkpoints_steps=100000",
        "--rand_seed=%d" % seed, "--log_every_steps=100"
    ]


# ---------------------------------------------------------------------------
# Reading results.
# ---------------------------------------------------------------------------


def read_key_values(path):
    """`key = value` lines (eval_results.txt) as a dict of strings."""
    values = {}
    with io.open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if " = " not in line:
                raise ValueError("%s:%d: expected 'key = value'" %
                                 (path, line_number))
            key, value = line.rstrip("\n").split(" = ", 1)
            values[key] = value
    return values


def mean_std(runs):
    """{"mean", "std", "runs"}; std is the sample deviation (0 for one run)."""
    mean = sum(runs) / len(runs)
    std = (math.sqrt(sum((r - mean)**2 for r in runs) / (len(runs) - 1))
           if len(runs) > 1 else 0.0)
    return {"mean": mean, "std": std, "runs": list(runs)}


def training_curve(log_path, warmup_offset):
    """[(x, stage, {term: value})] from a run_pretraining.py log.

    x is the step counted from the start of pretraining: stage-3 steps of a
    run with layer-wise transfer come after its `warmup_offset` steps.
    """
    points, stage, seen = [], None, set()
    with io.open(log_path, encoding="utf-8") as f:
        for line in f:
            stage_match = STAGE_LINE.search(line)
            if stage_match:
                stage = stage_match.group(1)
                continue
            match = PROGRESS_LINE.search(line)
            # TensorFlow 1.15 prints each log line twice (absl and Python
            # logging handlers): keep one point per stage and step.
            if not match or (stage, match.group(1)) in seen:
                continue
            seen.add((stage, match.group(1)))
            terms = dict(part.split("=", 1) for part in match.group(2).split())
            step = int(match.group(1))
            x = step if stage == "warmup" else step + warmup_offset
            points.append((x, stage, {k: float(v) for k, v in terms.items()}))
    return points


def goal_check(models, score):
    """Share of the baseline->teacher gap the distilled student closes."""
    teacher, distilled, baseline = (models[m][score] for m in MODELS)
    gap = teacher["mean"] - baseline["mean"]
    gain = distilled["mean"] - baseline["mean"]
    spread = distilled["std"] + baseline["std"]
    closed = gain / gap if gap > 0 else None
    return {
        "gap": gap, "gain": gain, "closed": closed, "spread": spread,
        "met": bool(closed is not None and closed >= 0.5 and gain > spread)
    }


def format_score(score, digits):
    return "%.*f ± %.*f" % (digits, score["mean"], digits, score["std"])


def results_table(results, seconds):
    """The markdown report: table, goal check, phase timings."""
    models = results["models"]
    seeds = len(models["teacher"][SCORES[0]]["runs"])
    lines = [
        "| model | held-out MLM accuracy | ChnSentiCorp dev accuracy | "
        "CMRC 2018 dev F1 | CMRC 2018 dev EM |", "|---|---:|---:|---:|---:|"
    ]
    for name, model in models.items():
        lines.append("| %s | %.3f | %s | %s | %s |" % (
            name, model["mlm_heldout_accuracy"],
            format_score(model["chnsenticorp_dev_accuracy"], 3),
            format_score(model["cmrc2018_dev_f1"], 2),
            format_score(model["cmrc2018_dev_em"], 2)))
    lines += ["", "Mean ± sample standard deviation over %d fine-tuning "
              "seed(s)." % seeds, ""]
    for score in ("chnsenticorp_dev_accuracy", "cmrc2018_dev_f1"):
        check = goal_check(models, score)
        closed = ("%.0f%%" % (100 * check["closed"])
                  if check["closed"] is not None else
                  "undefined (the teacher is not above the baseline)")
        lines.append(
            "- %s: teacher − baseline %.4g, distilled − baseline %.4g "
            "(gap closed: %s; seeds' spread, std distilled + std baseline: "
            "%.4g) → goal %s" % (score, check["gap"], check["gain"], closed,
                                 check["spread"],
                                 "met" if check["met"] else "not met"))
    lines += ["", "| phase | wall time (s) |", "|---|---:|"]
    lines += ["| %s | %.0f |" % item for item in seconds.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir",
                        default=os.path.join(REPO, os.pardir, "shared",
                                             "data"),
                        help="folder with vocab/, cmrc2018/, chnsenticorp/")
    parser.add_argument("--output_dir",
                        default=os.environ.get(
                            "EXPERIMENT_OUT",
                            os.path.join(REPO, "experiment_output")),
                        help="emptied first [$EXPERIMENT_OUT or "
                        "experiment_output/]")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: checks the pipeline, not scores")
    parser.add_argument("--ablations", default="",
                        help="comma list of %s" % ", ".join(ABLATIONS))
    parser.add_argument("--full_vocab", action="store_true",
                        help="the full 21,128-entry vocabulary instead of "
                        "the tokens the text uses")
    parser.add_argument("--resume", action="store_true",
                        help="keep --output_dir and skip the jobs that "
                        "finished there")
    parser.add_argument("--jobs", type=int, default=2,
                        help="entry scripts run at once [2: the setting "
                        "the 60-minute budget was measured with]")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the entry scripts")
    args = parser.parse_args(argv)
    args.ablations = [a for a in args.ablations.split(",") if a]
    unknown = sorted(set(args.ablations) - set(ABLATIONS))
    if unknown:
        parser.error("--ablations: unknown %s (expected a comma list of %s)"
                     % (", ".join(unknown), ", ".join(ABLATIONS)))
    if args.jobs < 1:
        parser.error("--jobs: expected a positive number, got %d" % args.jobs)
    for sub in ("vocab/chinese_vocab.txt", "cmrc2018/cmrc2018_trial.json",
                "cmrc2018/cmrc2018_dev.json", "chnsenticorp/train.tsv",
                "chnsenticorp/dev.tsv"):
        if not os.path.isfile(os.path.join(args.data_dir, sub)):
            parser.error("--data_dir: %s has no %s" % (args.data_dir, sub))
    return args


def timed(seconds, phase, function, *args):
    start = time.time()
    sys.stdout.write("[%s]\n" % phase)
    sys.stdout.flush()
    value = function(*args)
    seconds[phase] = round(time.time() - start, 1)
    return value


def main(argv=None):
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    out = os.path.abspath(args.output_dir)
    if not args.resume:
        shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    run = Runner(args.python, os.path.join(out, "logs"), args.resume)
    seconds = collections.OrderedDict()
    total_start = time.time()

    def data_phase():
        paths, counts = prepare_data(args.data_dir, out, settings,
                                     args.full_vocab)
        records = {"train": os.path.join(out, "data", "train.tfrecord"),
                   "heldout": os.path.join(out, "data", "heldout.tfrecord")}
        run_parallel(args.jobs, [
            lambda: run("data_train", "pretrain/create_pretraining_data.py",
                        pretraining_data_flags(paths["train_corpus"],
                                               records["train"],
                                               paths["vocab"], settings,
                                               settings.dupe_factor, 12345)),
            lambda: run("data_heldout", "pretrain/create_pretraining_data.py",
                        pretraining_data_flags(paths["heldout_corpus"],
                                               records["heldout"],
                                               paths["vocab"], settings, 1,
                                               54321)),
        ])
        return paths, counts, records

    paths, counts, records = timed(seconds, "data", data_phase)
    configs = write_configs(out, counts["vocab_size"], settings)
    jobs = pretraining_jobs(records["train"], configs, out, settings,
                            args.ablations)
    config_of = {m: configs["teacher" if m == "teacher" else "student"]
                 for m in jobs}

    def pretrain(model):
        return lambda: run("pretrain_" + model, "pretrain/run_pretraining.py",
                           jobs[model])

    # The teacher and the baseline do not depend on each other; every
    # distilled student needs the finished teacher.
    timed(seconds, "pretrain_teacher_and_baseline", run_parallel, args.jobs,
          [pretrain("teacher"), pretrain("baseline")])
    timed(seconds, "pretrain_distilled", run_parallel, args.jobs,
          [pretrain(m) for m in jobs if m.startswith("distilled")])
    for model in jobs:
        seconds["pretrain_" + model] = run.seconds["pretrain_" + model]

    def evaluate_and_finetune():
        tasks = [
            lambda m=m: run("heldout_eval_" + m, "pretrain/run_pretraining.py",
                            heldout_eval_flags(records["heldout"],
                                               config_of[m],
                                               os.path.join(out, m),
                                               settings)) for m in jobs
        ]
        for model in jobs:
            for seed in settings.seeds:
                for task, script, flags in (
                        ("chnsenticorp", "finetune/run_classifier.py",
                         classifier_flags),
                        ("cmrc2018", "finetune/run_squad.py", squad_flags)):
                    name = "%s_%s_seed%d" % (task, model, seed)
                    tasks.append(lambda n=name, s=script, f=flags, m=model,
                                 seed=seed: run(n, s, f(
                                     paths, config_of[m],
                                     os.path.join(out, m),
                                     os.path.join(out, "finetune", n), seed,
                                     settings)))
        run_parallel(args.jobs, tasks)

    timed(seconds, "heldout_eval_and_finetuning", evaluate_and_finetune)
    seconds["total"] = round(time.time() - total_start, 1)

    results = collect_results(out, jobs, settings, counts, args, seconds)
    with io.open(os.path.join(out, "results.json"), "w",
                 encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
    table = results_table(results, seconds)
    with io.open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write(table)
    sys.stdout.write("\n" + table)
    offsets = {m: settings.layer_wise_steps if "--layer_wise_warmup" in
               jobs[m] else 0 for m in jobs}
    curves = collections.OrderedDict(
        (m, training_curve(run.log_path("pretrain_" + m), offsets[m]))
        for m in jobs)
    experiment_plots.plot_curves(curves, settings.layer_wise_steps,
                                 os.path.join(out, "pretraining_curves.png"))
    experiment_plots.plot_scores(results["models"], SCORES,
                                 os.path.join(out, "finetuning_scores.png"))
    sys.stdout.write("wrote %s/{results.json,results.md,"
                     "pretraining_curves.png,finetuning_scores.png}\n" % out)


def collect_results(out, jobs, settings, counts, args, seconds):
    """results.json's content from the models' and fine-tunings' outputs."""
    models = collections.OrderedDict()
    for model in list(MODELS) + [m for m in jobs if m not in MODELS]:
        heldout = read_key_values(
            os.path.join(out, model, "eval_results.txt"))
        runs = {score: [] for score in SCORES}
        for seed in settings.seeds:
            classifier = read_key_values(
                os.path.join(out, "finetune", "chnsenticorp_%s_seed%d" %
                             (model, seed), "eval_results.txt"))
            runs["chnsenticorp_dev_accuracy"].append(
                float(classifier["eval_accuracy"]))
            mrc = load_json(os.path.join(out, "finetune", "cmrc2018_%s_seed%d"
                                         % (model, seed), "eval_results.json"))
            runs["cmrc2018_dev_f1"].append(float(mrc["F1"]))
            runs["cmrc2018_dev_em"].append(float(mrc["EM"]))
        models[model] = collections.OrderedDict(
            [("mlm_heldout_accuracy",
              float(heldout["masked_lm_accuracy"]))] +
            [(score, mean_std(runs[score])) for score in SCORES])
    config = dict(settings._asdict(), quick=args.quick,
                  ablations=args.ablations, full_vocab=args.full_vocab,
                  data_dir=os.path.abspath(args.data_dir),
                  pretraining_flags=jobs, data=counts,
                  phase_seconds=seconds,
                  python=args.python)
    config["seeds"] = list(settings.seeds)
    return {"models": models, "config": config}


if __name__ == "__main__":
    main()
