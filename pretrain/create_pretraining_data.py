# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Turns raw text into masked-LM pretraining examples (sharded TFRecords).

Input files hold one sentence per line, with blank lines between documents.
The algorithm is BERT's: documents are shuffled; every document is cut, once
per `dupe_factor`, into chunks of whole sentences that fill `max_seq_length`
(sometimes a shorter random length, `short_seq_prob`); each chunk becomes
`[CLS] A [SEP] B [SEP]` where B is either the rest of the chunk or, half of the
time (always for a one-sentence chunk), text taken from another document; the
longer side is trimmed at a random end until the pair fits; then about
`masked_lm_prob` of the tokens are chosen for prediction and replaced 80% by
`[MASK]`, 10% by themselves and 10% by a random vocabulary token.

With `--do_whole_word_mask` the units chosen for masking are whole words:
Chinese text is segmented into jieba's words (`word_segmentation`: jieba's
algorithm in C) and every character after the first of a multi-character
word (and every WordPiece `##` continuation) is masked together with the
start of its word. The written ids stay the plain characters' ids. Every
sentence is tokenized and segmented once, however large `dupe_factor` is.

Each input file is packed on its own, as one run of BERT's tool over that
file alone: its documents are shuffled, B segments are drawn from its other
documents, and its instances are shuffled, with the random generator
`random.Random(random_seed + i * 2**32)` for the file at position i of the
input list (after glob expansion). File 0 thus uses `random_seed` itself:
a one-file run gives exactly the records of one `random.Random(random_seed)`
pass over that file, and for seeds below 2**32 every (seed, file) pair has its
own generator key. The files' records are then laid one after the other, in
input order, and dealt round-robin into the output files (record k of that
sequence goes to output k mod the number of outputs). So the output depends
only on the input list, the seed and the options; `--num_workers` processes
(each packs whole files) change how fast it is made, never a byte of it.

Outputs are written under per-process temporary names
(`file_io.atomic_output`: `<output>.tmp.<host>.<pid>.<random>`, and that name
plus `.part-<file>` for one file's share) and renamed to their final names
only when all are complete: a run that is killed leaves no truncated file
under a final name (at most stale `.tmp.` files, which are never read);
running the same command again completes.

Each example has the features `input_ids`, `input_mask`, `segment_ids`
(int64 x max_seq_length, zero padded), `masked_lm_positions`, `masked_lm_ids`
(int64 x max_predictions_per_seq, zero padded), `masked_lm_weights` (float x
max_predictions_per_seq, 1.0 for a real prediction) and `next_sentence_labels`
(int64 x 1, 1 when B comes from another document).

Usage:
    python pretrain/create_pretraining_data.py \\
      --input_file='corpus/*.txt' \\
      --output_file=data/train-0.tfrecord,data/train-1.tfrecord \\
      --vocab_file=chinese_vocab.txt --max_seq_length=512 \\
      --max_predictions_per_seq=75 --do_whole_word_mask --num_workers=2
"""

import collections
import contextlib
import gc
import multiprocessing
import os
import random
import shutil
import sys
import time

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

from pretrain import estimator_util
from pretrain import example_bytes
from pretrain import file_io
from pretrain import pretraining_instances
from pretrain import pretraining_text
from pretrain import tokenization

CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
REQUIRED_TOKENS = (CLS_TOKEN, SEP_TOKEN, MASK_TOKEN)

# File i is packed with random.Random(random_seed + i * FILE_SEED_STRIDE).
FILE_SEED_STRIDE = 2**32
# Bytes per read when a file's share is appended to an output.
COPY_BUFFER_BYTES = 2**22

FLAGS = flags.FLAGS

# What one input file gave: its characters, records and per-output shares.
FileResult = collections.namedtuple(
    "FileResult", ["path", "num_characters", "num_records", "part_files"])


# ---------------------------------------------------------------------------
# Options and file lists.


def validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob, random_seed=0,
                     num_workers=1):
    """Rejects option values the algorithm cannot work with.

    Raises:
        ValueError: Naming the option and the accepted range.
    """
    if max_seq_length < pretraining_instances.MIN_SEQ_LENGTH:
        raise ValueError(
            "max_seq_length is %d; it must be at least %d to hold "
            "[CLS] A [SEP] B [SEP] with one token in A and in B." %
            (max_seq_length, pretraining_instances.MIN_SEQ_LENGTH))
    if max_predictions_per_seq < 1:
        raise ValueError("max_predictions_per_seq is %d; it must be at "
                         "least 1." % max_predictions_per_seq)
    if dupe_factor < 1:
        raise ValueError("dupe_factor is %d; it must be at least 1." %
                         dupe_factor)
    if not 0.0 < masked_lm_prob <= 1.0:
        raise ValueError("masked_lm_prob is %r; it must be in (0, 1]." %
                         masked_lm_prob)
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError("short_seq_prob is %r; it must be in [0, 1]." %
                         short_seq_prob)
    if not 0 <= random_seed < FILE_SEED_STRIDE:
        raise ValueError(
            "random_seed is %d; it must be in [0, 2**32): input file i is "
            "packed with the seed random_seed + i * 2**32." % random_seed)
    if num_workers < 1:
        raise ValueError("num_workers is %d; it must be at least 1." %
                         num_workers)


def validate_vocab(tokenizer):
    """Checks that the vocabulary has the tokens the examples need.

    Raises:
        ValueError: Naming the missing tokens.
    """
    missing = [token for token in REQUIRED_TOKENS
               if token not in tokenizer.vocab]
    if missing:
        raise ValueError("The vocabulary lacks %s; pretraining examples "
                         "need %s." % (", ".join(missing),
                                       ", ".join(REQUIRED_TOKENS)))


def validate_output_files(output_files):
    """Rejects an empty or repeating list of output files.

    Raises:
        ValueError: Naming the problem and the flag.
    """
    if not output_files:
        raise ValueError("No output file given: pass --output_file as a "
                         "comma list of TFRecord paths.")
    repeated = sorted(path for path, count in
                      collections.Counter(output_files).items() if count > 1)
    if repeated:
        raise ValueError("--output_file names %s more than once; every "
                         "output file must be different." %
                         ", ".join(repeated))


def file_seed(random_seed, file_index):
    """The seed of the file at `file_index` of the input list."""
    return random_seed + file_index * FILE_SEED_STRIDE


def special_ids(tokenizer):
    """The `SpecialIds` of a tokenizer's vocabulary."""
    vocab = tokenizer.vocab
    return pretraining_instances.SpecialIds(
        vocab[CLS_TOKEN], vocab[SEP_TOKEN], vocab[MASK_TOKEN],
        list(vocab.values()))


# ---------------------------------------------------------------------------
# One input file.


def _remove_quietly(paths):
    """Removes the files that exist among `paths`."""
    for path in paths:
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pauses Python's cyclic garbage collector inside the block.

    Packing allocates millions of lists, tuples and bytes that never form
    reference cycles, so reference counting frees all of them; the cyclic
    collector would only rescan them (about a tenth of the packing time on
    Python 3.11). Its previous state is restored on leaving, and it then
    collects any cycle made meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class FilePacker(object):
    """Packs one input file into its records and writes its output shares.

    Everything a file's records depend on is fixed at construction, so
    packing a file gives the same bytes in any process. A file's shares are
    named after the run's temporary outputs, whichever worker writes them.
    """

    def __init__(self, tokenizer, temporary_outputs, options, random_seed,
                 do_whole_word_mask):
        """Creates the packer.

        Args:
            tokenizer: A `tokenization.FullTokenizer`.
            temporary_outputs: The run's temporary output paths; a file's
              share for output k is written next to output k.
            options: `PackingOptions`.
            random_seed: The run's seed (see `file_seed`).
            do_whole_word_mask: Mask whole (jieba) words instead of tokens.
        """
        self.tokenizer = tokenizer
        self.temporary_outputs = temporary_outputs
        self.options = options
        self.random_seed = random_seed
        self.encoder = pretraining_text.SentenceEncoder(tokenizer,
                                                        do_whole_word_mask)
        self.ids = special_ids(tokenizer)
        self.example_encoder = example_bytes.ExampleEncoder(
            options.max_seq_length, options.max_predictions_per_seq,
            len(tokenizer.vocab))

    def __call__(self, task):
        """Packs input file `task` = (file_index, path).

        Record k of the file's shuffled records goes to share k mod the
        number of outputs; the shares are TFRecord files under temporary
        names of this process.

        Returns:
            A `FileResult`.
        """
        file_index, path = task
        start = time.time()
        with cyclic_gc_paused():
            documents, num_characters = pretraining_text.read_file_documents(
                path, self.encoder.encode)
            tf.logging.info("%s: %d documents, %d characters read in %.1f s.",
                            path, len(documents), num_characters,
                            time.time() - start)
            records = pretraining_instances.create_training_instances(
                documents, self.ids,
                random.Random(file_seed(self.random_seed, file_index)),
                self.options, make_record=self.example_encoder.encode,
                source=path)
            del documents
        if file_index == 0:
            for record in records[:example_bytes.NUM_LOGGED_EXAMPLES]:
                example_bytes.log_example(record, self.tokenizer)
        part_files = self.part_files(file_index)
        try:
            for share, part_file in enumerate(part_files):
                with tf.io.TFRecordWriter(part_file) as writer:
                    for record in records[share::len(part_files)]:
                        writer.write(record)
        except BaseException:
            _remove_quietly(part_files)
            raise
        return FileResult(path, num_characters, len(records), part_files)

    def part_files(self, file_index):
        """The temporary shares of input file `file_index`, one per output."""
        return ["%s.part-%d" % (temporary, file_index)
                for temporary in self.temporary_outputs]


# The packer of a worker process, set by `_start_worker`.
_WORKER_PACKER = None


def _start_worker(packer):
    """Pool initializer: keeps the (inherited) packer for `_pack_in_worker`."""
    global _WORKER_PACKER
    _WORKER_PACKER = packer


def _pack_in_worker(task):
    """Packs one file with the worker's packer."""
    return _WORKER_PACKER(task)


# ---------------------------------------------------------------------------
# Writing.


class OutputShards(object):
    """The run's temporary outputs, filled with the files' shares in order.

    The share k of a file whose records start at position `offset` of the
    whole sequence goes to output (k + offset) mod the number of outputs, so
    every output receives the records of the sequence dealt round-robin.
    """

    def __init__(self, temporary_outputs):
        """Opens the temporary outputs for writing."""
        self.num_records = 0
        self._writers = [tf.io.gfile.GFile(path, "wb")
                         for path in temporary_outputs]

    def append(self, result):
        """Appends one file's shares and removes them."""
        try:
            for share, part_file in enumerate(result.part_files):
                writer = self._writers[(share + self.num_records) %
                                       len(self._writers)]
                with tf.io.gfile.GFile(part_file, "rb") as reader:
                    shutil.copyfileobj(reader, writer, COPY_BUFFER_BYTES)
        finally:
            _remove_quietly(result.part_files)
        self.num_records += result.num_records

    def close(self):
        """Closes the outputs."""
        for writer in self._writers:
            writer.close()


def _pack_files(packer, tasks, num_workers):
    """Yields the `FileResult` of every task, in order.

    With more than one worker the files are packed by a pool of processes
    (forked where the platform allows, so they share the loaded tokenizer
    and word segmenter).
    """
    if num_workers == 1:
        for task in tasks:
            yield packer(task)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods
                                          else None)
    with context.Pool(num_workers, initializer=_start_worker,
                      initargs=(packer,)) as pool:
        for result in pool.imap(_pack_in_worker, tasks):
            yield result


def _write_files(packer, outputs, input_files, num_workers):
    """Packs the input files and appends their shares to `outputs`."""
    start = time.time()
    num_characters = 0
    results = _pack_files(packer, list(enumerate(input_files)),
                          min(num_workers, len(input_files)))
    try:
        for number, result in enumerate(results, start=1):
            outputs.append(result)
            num_characters += result.num_characters
            elapsed = max(time.time() - start, 1e-9)
            tf.logging.info(
                "File %d of %d done (%s: %d records); %d examples, %d "
                "characters so far, %.0f characters/sec.", number,
                len(input_files), result.path, result.num_records,
                outputs.num_records, num_characters,
                num_characters / elapsed)
    finally:
        results.close()  # Stops the workers.


def build_records(input_files, output_files, tokenizer, max_seq_length=128,
                  max_predictions_per_seq=20, random_seed=12345,
                  dupe_factor=10, masked_lm_prob=0.15, short_seq_prob=0.1,
                  do_whole_word_mask=False, num_workers=1):
    """Reads text files and writes pretraining TFRecords (the whole tool).

    Args:
        input_files: List of text files (see
            `estimator_util.expand_input_files`).
        output_files: List of output TFRecord paths (shards).
        tokenizer: A `tokenization.FullTokenizer`.
        max_seq_length: Length of each sequence with its special tokens.
        max_predictions_per_seq: Cap on the predictions per sequence.
        random_seed: The seed; input file i uses `file_seed(random_seed, i)`.
        dupe_factor: Number of passes over each file.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: Probability of a shorter target length.
        do_whole_word_mask: Mask whole (jieba) words instead of tokens.
        num_workers: Processes packing input files at the same time (the
          output does not depend on it).

    Returns:
        The number of examples written.

    Raises:
        ValueError: On bad options, an empty or repeating output list, a
          vocabulary without the special tokens or unusable input files.
    """
    validate_options(max_seq_length, max_predictions_per_seq, dupe_factor,
                     masked_lm_prob, short_seq_prob, random_seed, num_workers)
    validate_vocab(tokenizer)
    validate_output_files(output_files)
    for directory in sorted(set(os.path.dirname(path) or "."
                                for path in output_files)):
        file_io.check_writable_dir(directory, "output_file")
    options = pretraining_instances.PackingOptions(
        max_seq_length, max_predictions_per_seq, dupe_factor, masked_lm_prob,
        short_seq_prob)
    with contextlib.ExitStack() as renames:
        # Each output is renamed into place when the block ends without an
        # error, and removed otherwise.
        temporary_outputs = [
            renames.enter_context(file_io.atomic_output(path))
            for path in output_files]
        packer = FilePacker(tokenizer, temporary_outputs, options,
                            random_seed, do_whole_word_mask)
        outputs = OutputShards(temporary_outputs)
        try:
            _write_files(packer, outputs, input_files, num_workers)
        except BaseException:
            for file_index in range(len(input_files)):
                _remove_quietly(packer.part_files(file_index))
            raise
        finally:
            outputs.close()
    tf.logging.info("Wrote %d examples to %d file(s).", outputs.num_records,
                    len(output_files))
    return outputs.num_records


# ---------------------------------------------------------------------------
# Command line.


def define_flags():
    """Defines the command-line flags (only when run as a script)."""
    flags.DEFINE_string("input_file", None,
                        "Comma list of input text files and/or glob patterns: "
                        "one sentence per line, blank lines between "
                        "documents.")
    flags.DEFINE_string("output_file", None,
                        "Comma list of output TFRecord files (shards, filled "
                        "round-robin).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary file.")
    flags.DEFINE_bool("do_lower_case", True,
                      "Whether to lower-case the input text.")
    flags.DEFINE_string("spm_model_file", None,
                        "Optional SentencePiece model to tokenize with.")
    flags.DEFINE_integer("max_seq_length", 128,
                         "Maximum sequence length, special tokens included.")
    flags.DEFINE_integer("max_predictions_per_seq", 20,
                         "Maximum number of masked-LM predictions per "
                         "sequence.")
    flags.DEFINE_integer("random_seed", 12345,
                         "Random seed, in [0, 2**32); input file i is packed "
                         "with random_seed + i * 2**32.")
    flags.DEFINE_integer("dupe_factor", 10,
                         "Number of times to pack the corpus, each time with "
                         "different masks.")
    flags.DEFINE_float("masked_lm_prob", 0.15,
                       "Fraction of tokens to predict.")
    flags.DEFINE_float("short_seq_prob", 0.1,
                       "Probability of packing a document into sequences "
                       "shorter than the maximum length.")
    flags.DEFINE_bool("do_whole_word_mask", False,
                      "Mask whole words: jieba words for Chinese, WordPiece "
                      "'##' continuations otherwise.")
    flags.DEFINE_integer("num_workers", 1,
                         "Processes packing input files at the same time; "
                         "the output is the same for any value.")
    flags.mark_flags_as_required(["input_file", "output_file"])


def main(_):
    """Builds the tokenizer and file lists from the flags and runs the tool."""
    tf.logging.set_verbosity(tf.logging.INFO)
    if not FLAGS.vocab_file and not FLAGS.spm_model_file:
        raise ValueError("Pass --vocab_file (or --spm_model_file).")
    tokenizer = tokenization.FullTokenizer(
        vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case,
        spm_model_file=FLAGS.spm_model_file)
    input_files = estimator_util.expand_input_files(FLAGS.input_file)
    output_files = estimator_util.split_comma_list(FLAGS.output_file)
    tf.logging.info("*** Reading from %d input file(s) ***", len(input_files))
    for path in input_files:
        tf.logging.info("  %s", path)
    tf.logging.info("*** Writing to %d output file(s) ***", len(output_files))
    for path in output_files:
        tf.logging.info("  %s", path)
    build_records(
        input_files, output_files, tokenizer,
        max_seq_length=FLAGS.max_seq_length,
        max_predictions_per_seq=FLAGS.max_predictions_per_seq,
        random_seed=FLAGS.random_seed, dupe_factor=FLAGS.dupe_factor,
        masked_lm_prob=FLAGS.masked_lm_prob,
        short_seq_prob=FLAGS.short_seq_prob,
        do_whole_word_mask=FLAGS.do_whole_word_mask,
        num_workers=FLAGS.num_workers)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
