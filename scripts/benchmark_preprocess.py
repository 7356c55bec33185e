# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The benchmark's preprocessing section: text to features for the
fine-tuning sets, pretraining-data creation with 1 and 2 workers, and
today's pretraining-data code beside an older revision's on the same files.
"""

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time


from scripts import benchmark_serving
from scripts.benchmark_serving import REPO


# The pretraining-data code before the speed work: the preprocess section's
# ratio is today's characters per CPU second over this revision's.
PREPROCESS_BASELINE = "d74c10e"


def preprocessing_rows(shared_data):
    """Examples/sec of text → features on the two real data sets.

    Times the project's own converters: run_squad's reader and windowing
    (max length 512, stride 128, as published) on CMRC 2018 dev, and
    run_classifier's conversion (max length 256) on ChnSentiCorp train.
    """
    from finetune import classifier_data
    from finetune import squad_data
    from pretrain import tokenization
    tokenizer = tokenization.FullTokenizer(
        os.path.join(shared_data, "vocab", "chinese_vocab.txt"), True)
    rows = []

    start = time.time()
    examples, _ = squad_data.read_squad_examples(
        os.path.join(shared_data, "cmrc2018", "cmrc2018_dev.json"), tokenizer,
        is_training=False)
    features = []
    squad_data.convert_examples_to_features(examples, tokenizer, 512, 128, 64,
                                            False, features.append)
    rows.append({"name": "CMRC 2018 dev (len 512, stride 128)",
                 "examples": len(examples), "features": len(features),
                 "seconds": time.time() - start})

    start = time.time()
    processor = classifier_data.get_processor("chnsenticorp")
    examples = processor.get_examples(
        os.path.join(shared_data, "chnsenticorp"), "train")
    label_map = {label: i for i, label in enumerate(processor.get_labels())}
    converted = [classifier_data.convert_single_example(e, label_map, 256,
                                                        tokenizer)
                 for e in examples]
    rows.append({"name": "ChnSentiCorp train (len 256)",
                 "examples": len(examples), "features": len(converted),
                 "seconds": time.time() - start})
    return rows


def write_pretraining_corpus(shared_data, workdir, num_files=4,
                             max_characters=300000):
    """Writes the pretraining-data benchmark's text files into `workdir`.

    The corpus is the start of the demo's real pretraining text (CMRC 2018
    contexts and ChnSentiCorp reviews, scripts/demo_prepare_real.py), cut
    into `num_files` files of about `max_characters / num_files`
    characters.

    Returns:
        (paths of the files, number of characters in them).
    """
    from scripts import demo_prepare_real
    documents = [demo_prepare_real.split_sentences(text) for text in
                 demo_prepare_real.cmrc_contexts(os.path.join(
                     shared_data, "cmrc2018", "cmrc2018_dev.json"))]
    documents += [demo_prepare_real.split_sentences(text) for text in
                  demo_prepare_real.review_texts(os.path.join(
                      shared_data, "chnsenticorp", "train.tsv"))]
    files = [[] for _ in range(num_files)]
    size = 0
    for document in (d for d in documents if d):
        files[min(size * num_files // max_characters, num_files - 1)].append(
            document)
        size += sum(len(sentence) + 1 for sentence in document) + 1
        if size >= max_characters:
            break
    inputs = []
    for index, file_documents in enumerate(files):
        path = os.path.join(workdir, "part-%d.txt" % index)
        demo_prepare_real.write_corpus(file_documents, path)
        inputs.append(path)
    num_characters = sum(len(io.open(path, encoding="utf-8").read())
                         for path in inputs)
    return inputs, num_characters


def pretraining_data_rows(shared_data, inputs, num_characters, workdir):
    """Characters/sec of create_pretraining_data with whole-word masking.

    The tool runs on the files `inputs` (write_pretraining_corpus) with its
    defaults (max length 128, dupe factor 10), with 1 and with 2 worker
    processes. CPU seconds include the workers', so characters per CPU
    second is the rate per core.
    """
    from pretrain import create_pretraining_data
    from pretrain import pretraining_text
    from pretrain import tokenization
    tokenizer = tokenization.FullTokenizer(
        os.path.join(shared_data, "vocab", "chinese_vocab.txt"), True)
    pretraining_text.word_segmenter()  # Loaded once, not timed.
    rows = []
    for num_workers in (1, 2):
        cpu_start = _cpu_seconds()
        start = time.time()
        create_pretraining_data.build_records(
            inputs, [os.path.join(workdir, "out-%d.tfrecord" % num_workers)],
            tokenizer, do_whole_word_mask=True, num_workers=num_workers)
        rows.append({"workers": num_workers, "characters": num_characters,
                     "files": len(inputs), "seconds": time.time() - start,
                     "cpu_seconds": _cpu_seconds() - cpu_start})
    return rows


def export_revision(revision, directory):
    """Writes `revision`'s pretrain/ package into `directory` (git archive).

    Returns:
        `directory`, or None (with a message) where this checkout cannot
        give that revision (no git, or history without it).
    """
    try:
        archive = subprocess.check_output(
            ["git", "-C", REPO, "archive", "--format=tar", revision,
             "pretrain"], stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as error:
        reason = error.stderr.decode("utf-8", "replace").strip()
    except OSError as error:
        reason = str(error)
    else:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(directory)
        return directory
    sys.stderr.write(
        "Skipping the pretraining-data comparison: this checkout cannot give "
        "revision %s of pretrain/ (git archive: %s); it needs the "
        "repository's git history (--preprocess_baseline).\n" %
        (revision, reason))
    return None


def pretraining_data_comparison(args, inputs, num_characters, workdir):
    """Today's pretraining-data code against --preprocess_baseline's.

    On every installed stack, both code trees pack the same files
    (scripts/time_pretraining_data.py, one worker, whole-word masking) in
    turn, --preprocess_rounds times, so that the machine's drift falls on
    both alike; the CPU seconds of each are added up.

    Returns:
        One row per stack, or [] where the baseline is unavailable.
    """
    baseline = export_revision(args.preprocess_baseline,
                               os.path.join(workdir, "baseline"))
    if not baseline:
        return []
    pythons = benchmark_serving.stack_pythons()
    totals = {(stack, tree): {"cpu_seconds": 0.0, "records": 0}
              for stack in pythons for tree in ("baseline", "now")}
    for _ in range(args.preprocess_rounds):
        for stack, python in sorted(pythons.items()):
            for tree, root in (("baseline", baseline), ("now", REPO)):
                out = subprocess.check_output([
                    python,
                    os.path.join(REPO, "scripts", "time_pretraining_data.py"),
                    "--code_root", root, "--vocab_file",
                    os.path.join(args.shared_data, "vocab",
                                 "chinese_vocab.txt"),
                    "--input_file", ",".join(inputs), "--output_file",
                    os.path.join(workdir, "%s-%s.tfrecord" % (stack, tree))
                ], cwd=root)
                run = json.loads(out.decode("utf-8").strip().splitlines()[-1])
                totals[stack, tree]["cpu_seconds"] += run["cpu_seconds"]
                totals[stack, tree]["records"] = run["records"]
    return [{"stack": stack, "baseline": args.preprocess_baseline,
             "rounds": args.preprocess_rounds,
             "characters": num_characters,
             "baseline_cpu_seconds": totals[stack, "baseline"]["cpu_seconds"],
             "baseline_records": totals[stack, "baseline"]["records"],
             "cpu_seconds": totals[stack, "now"]["cpu_seconds"],
             "records": totals[stack, "now"]["records"]}
            for stack in sorted(pythons)]


def preprocess_results(args):
    """Results of the preprocess section (see the module docstring)."""
    results = {"preprocess": preprocessing_rows(args.shared_data)}
    workdir = tempfile.mkdtemp(prefix="benchmark_pretraining_data_")
    try:
        inputs, num_characters = write_pretraining_corpus(args.shared_data,
                                                          workdir)
        results["pretraining_data"] = pretraining_data_rows(
            args.shared_data, inputs, num_characters, workdir)
        if args.preprocess_baseline:
            results["pretraining_data_comparison"] = (
                pretraining_data_comparison(args, inputs, num_characters,
                                            workdir))
    finally:
        shutil.rmtree(workdir)
    return results


def _cpu_seconds():
    """User + system CPU seconds of this process and its ended children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total
