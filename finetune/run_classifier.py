# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Fine-tunes MobileBERT/BERT on a classification task (XNLI, ChnSentiCorp,
LCQMC, BQ Corpus), evaluates, predicts and exports it (SavedModel, TFLite).

Example (CPU):
  python finetune/run_classifier.py --task_name=chnsenticorp \\
    --data_dir=$DATA_DIR/chnsenticorp --vocab_file=VOCAB \\
    --bert_config_file=config/student_base_f2.json --init_checkpoint=CKPT \\
    --output_dir=/tmp/csc --do_train --do_eval --max_seq_length=256 \\
    --train_batch_size=64 --learning_rate=6e-5 --num_train_epochs=3

Outputs in --output_dir: checkpoints, `eval_results.txt` (dev),
`test_eval_results.txt` (--do_test), `test_results.tsv` (--do_predict: one
row of class probabilities per test example), `lite_eval_results.txt` and
`lite_test_eval_results.txt` (--lite_model_path), `onnx_eval_results.txt`
(--onnx_model_path). --export_dir receives a
SavedModel, `model_float.tflite`, with --use_post_quantization
`model_quant.tflite` (dynamic range), with --export_quantization=int8 or
--quantization_aware_training `model_int8.tflite` (full integer), and, when
--export_onnx `model.onnx` and `model_int8.onnx`, and, when
the dev split is at hand (--data_dir), `verification.json`: every exported
model's dev accuracy, size and agreement with the float model.
"""

import functools
import os
import sys

from absl import app
from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from finetune import classifier_data
from finetune import export_util
from finetune import finetune_util
from finetune import onnx_export
from finetune import onnx_flags
from finetune import tflite_util
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import file_io
from pretrain import modeling

FLAGS = flags.FLAGS

EVAL_FILES = {"dev": "eval_results.txt", "test": "test_eval_results.txt"}
LITE_EVAL_FILES = {
    "dev": "lite_eval_results.txt",
    "test": "lite_test_eval_results.txt",
}
ONNX_EVAL_FILES = {
    "dev": "onnx_eval_results.txt",
    "test": "onnx_test_eval_results.txt",
}
PREDICT_FILE = "test_results.tsv"
CLASSIFIER_DROPOUT = 0.1
# [CLS] a [SEP] b [SEP] needs room for its three special tokens.
MIN_SEQ_LENGTH = 3


def define_flags():
    """Defines the classification flags and the shared flag groups."""
    flags.DEFINE_string(
        "task_name", None,
        "Task: %s." % ", ".join(sorted(classifier_data.PROCESSORS)))
    flags.DEFINE_string("data_dir", None,
                        "Directory holding the task's files.")
    flags.DEFINE_integer(
        "max_seq_length", 128,
        "Tokens per example after WordPiece, incl. [CLS]/[SEP].")
    flags.DEFINE_bool("do_train", False, "Fine-tune on the train split.")
    flags.DEFINE_bool("do_eval", False, "Evaluate on the dev split.")
    flags.DEFINE_bool("do_test", False, "Evaluate on the test split.")
    flags.DEFINE_bool(
        "do_predict", False,
        "Write test-split class probabilities to test_results.tsv.")
    flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
    flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
    flags.DEFINE_string(
        "tfrecord_dir", None,
        "Feature cache directory; features are reused only when built from "
        "the same data file, vocabulary, max length, lower-casing and task.")
    flags.DEFINE_string(
        "lite_model_path", None,
        "Evaluate this TFLite model on the dev split (and the test split "
        "with --do_test); writes lite_eval_results.txt.")
    onnx_flags.define_flags()
    finetune_util.define_schedule_flags(learning_rate=5e-5,
                                        num_train_epochs=3.0)
    finetune_util.define_export_flags(
        "Export a SavedModel and a float TFLite model (model_float.tflite) "
        "here.")
    finetune_util.define_output_flags()
    estimator_util.define_model_flags(
        init_checkpoint_help="Checkpoint to start from (prefix, .index or "
        "directory).")
    estimator_util.define_vocab_flags()
    estimator_util.define_run_flags(keep_checkpoint_max=5, rand_seed=None)
    estimator_util.define_tpu_flags()
    estimator_util.define_accelerator_flags()
    # --helpshort lists the shared groups as this script's own flags.
    flags.adopt_module_key_flags(estimator_util)
    flags.adopt_module_key_flags(finetune_util)


# ---------------------------------------------------------------------------
# Model.
# ---------------------------------------------------------------------------


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids,
                 labels, num_labels, use_one_hot_embeddings, use_einsum,
                 fake_quantize=False, graph=None):
    """Pooled output → dropout → linear layer → softmax cross entropy.

    Args:
      fake_quantize: build encoder and head with fake-quantized weights and
        activations (quantization-aware training).
      graph: serving_graph.GraphOptions of an export (see
        finetune_util.encoder_model), or None.

    Returns:
      (mean loss, per-example loss [B], logits [B, C], probabilities [B, C]).
    """
    with finetune_util.fake_quantization_scope(fake_quantize, is_training):
        model = finetune_util.encoder_model(
            bert_config, is_training, input_ids, input_mask, segment_ids,
            use_one_hot_embeddings, use_einsum, graph)
        logits = modeling.classifier_logits(
            model.get_pooled_output(), num_labels,
            dropout_prob=CLASSIFIER_DROPOUT if is_training else 0.0)  # [B, C]
    with tf.variable_scope("loss"):
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        one_hot = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
        per_example_loss = -tf.reduce_sum(one_hot * log_probs, axis=-1)
        loss = tf.reduce_mean(per_example_loss)
    # Named so the SavedModel and TFLite outputs are called "probabilities".
    probabilities = tf.identity(tf.nn.softmax(logits, axis=-1),
                                name="probabilities")
    return loss, per_example_loss, logits, probabilities


def metric_fn(per_example_loss, label_ids, logits, is_real_example):
    """Accuracy and loss over real examples only (padding has weight 0)."""
    return estimator_util.accuracy_and_loss_metrics("eval", label_ids, logits,
                                                    per_example_loss,
                                                    is_real_example)


def model_fn_builder(bert_config, num_labels, options, use_einsum=True,
                     init_checkpoint=None, schedule=None,
                     fake_quantize=False, graph=None):
    """Returns the TPUEstimator model_fn of the classifier.

    Args:
      bert_config: modeling.BertConfig of the encoder.
      num_labels: number of classes of the task.
      options: estimator_util.RunOptions (TPU or not, accumulation, ...).
      use_einsum: einsum (True) or reshape+matmul layers; exports use
        reshape+matmul.
      init_checkpoint: pretrained (or fine-tuned) checkpoint whose
        variables initialise the model, or None.
      schedule: finetune_util.TrainSchedule of --do_train; None for a
        model_fn that only evaluates, predicts and exports.
      fake_quantize: quantization-aware graph (see create_model).
      graph: serving_graph.GraphOptions of an export's graph, or None
        (finetune_util.export_model_fns passes them).
    """

    def model_fn(features, labels, mode, params):
        """Builds the train, eval or predict graph."""
        del labels, params  # Labels travel in `features`; no params used.
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        input_ids = features["input_ids"]
        if "label_ids" in features:
            label_ids = features["label_ids"]
        else:  # Serving inputs carry no label.
            label_ids = tf.zeros_like(input_ids[:, 0])
        if "is_real_example" in features:
            is_real_example = tf.cast(features["is_real_example"], tf.float32)
        else:
            is_real_example = tf.ones_like(label_ids, dtype=tf.float32)
        loss, per_example_loss, logits, probabilities = create_model(
            bert_config,
            is_training,
            input_ids,
            features["input_mask"],
            features["segment_ids"],
            label_ids,
            num_labels,
            use_one_hot_embeddings=options.use_tpu,
            use_einsum=use_einsum,
            fake_quantize=fake_quantize,
            graph=graph)
        scaffold_fn = checkpoints.restore_by_name(init_checkpoint,
                                                  options.use_tpu,
                                                  tf.trainable_variables())
        if is_training:
            return finetune_util.train_spec(loss, schedule, options,
                                            scaffold_fn)
        if mode == tf.estimator.ModeKeys.EVAL:
            return tf.estimator.tpu.TPUEstimatorSpec(
                mode=mode,
                loss=loss,
                eval_metrics=(metric_fn, [
                    per_example_loss, label_ids, logits, is_real_example
                ]),
                scaffold_fn=scaffold_fn)
        return tf.estimator.tpu.TPUEstimatorSpec(
            mode=mode,
            predictions={"probabilities": probabilities},
            scaffold_fn=scaffold_fn)

    return model_fn


# ---------------------------------------------------------------------------
# Actions.
# ---------------------------------------------------------------------------


def padded_input_fn(record_file, num_examples, max_seq_length, batch_size,
                    use_tpu):
    """An input_fn over a split's features, padded to whole batches on TPU.

    Returns:
      (input_fn, number of padding examples, steps that cover them all).
    """
    num_padding, steps = classifier_data.padded_batches(
        num_examples, batch_size, use_tpu)
    input_fn = classifier_data.input_fn_builder(record_file,
                                                max_seq_length,
                                                is_training=False,
                                                drop_remainder=use_tpu,
                                                num_padding=num_padding)
    return input_fn, num_padding, steps


def evaluate(estimator, split, record_file, num_examples, max_seq_length,
             eval_batch_size, use_tpu, output_dir):
    """Accuracy and loss of the newest checkpoint on every example.

    Writes them to `output_dir`/EVAL_FILES[split] and returns them.
    """
    input_fn, num_padding, steps = padded_input_fn(record_file, num_examples,
                                                   max_seq_length,
                                                   eval_batch_size, use_tpu)
    tf.logging.info("***** Evaluating on %s: %d examples (+%d padding) "
                    "*****", split, num_examples, num_padding)
    results = estimator.evaluate(input_fn=input_fn, steps=steps)
    results["eval_examples"] = num_examples
    write_results(os.path.join(output_dir, EVAL_FILES[split]), results,
                  "%s results" % split)
    return results


def predict(estimator, record_file, num_examples, max_seq_length,
            predict_batch_size, use_tpu, output_dir):
    """Writes one tab-separated row of probabilities per test example."""
    input_fn, _, _ = padded_input_fn(record_file, num_examples,
                                     max_seq_length, predict_batch_size,
                                     use_tpu)
    path = os.path.join(output_dir, PREDICT_FILE)
    written = 0
    with tf.io.gfile.GFile(path, "w") as writer:
        for prediction in estimator.predict(input_fn=input_fn,
                                            yield_single_examples=True):
            if written == num_examples:
                break  # The rest is TPU padding.
            writer.write("\t".join(
                "%.8f" % p for p in prediction["probabilities"]) + "\n")
            written += 1
    if written != num_examples:
        raise RuntimeError("predict: got %d predictions for %d examples" %
                           (written, num_examples))
    tf.logging.info("Wrote %d rows of probabilities to %s", written, path)


def lite_probabilities(lite_model_path, examples, num_labels,
                       max_seq_length, flag="--lite_model_path",
                       run_checked=tflite_util.run_checked):
    """Class probabilities [N, C] of a TFLite (or, with onnx_export's
    `run_checked`, ONNX) classifier.

    Raises:
      ValueError: the model belongs to another task, sequence length or
        label set.
    """
    shapes, outputs = run_checked(lite_model_path, examples,
                                  ["probabilities"], max_seq_length, flag)
    if shapes and shapes["probabilities"][-1] != num_labels:
        raise ValueError(
            "%s %s: a classifier of %d classes, the task has %d" %
            (flag, lite_model_path, shapes["probabilities"][-1], num_labels))
    return outputs["probabilities"]


def verify_exports(paths, record_file, num_labels, max_seq_length,
                   export_dir):
    """Scores every exported TFLite model on dev and against the float one.

    Writes export_dir/verification.json: per model its dev accuracy and
    loss, file size, the share of dev examples whose predicted label equals
    the float model's, and the largest probability difference.

    Returns:
      The report, {quantization: {name: value}}.
    """
    examples = classifier_data.read_features(record_file, max_seq_length)
    labels = np.array([e["label_ids"] for e in examples])
    report = {}
    reference = None
    for quantization in (tflite_util.QUANTIZATIONS +
                         onnx_flags.VERIFIED_KINDS):
        if quantization not in paths:
            continue
        # --- ONNX / bf16 hook (onnx_flags): runs those models instead.
        run_checked = (functools.partial(onnx_flags.run_kind, quantization)
                       if quantization in onnx_flags.VERIFIED_KINDS
                       else tflite_util.run_checked)
        probabilities = lite_probabilities(paths[quantization], examples,
                                           num_labels, max_seq_length,
                                           flag="--export_dir",
                                           run_checked=run_checked)
        if reference is None:  # "float" comes first.
            reference = probabilities
        results = lite_metrics(probabilities, labels)
        results.update(onnx_flags.check_float(
            quantization, paths, {"probabilities": probabilities}, examples))
        results.update({
            "eval_examples": len(examples),
            "size_bytes": onnx_flags.size_bytes(quantization,
                                                paths[quantization]),
            "label_agreement_with_float": float(np.mean(
                np.argmax(probabilities, -1) == np.argmax(reference, -1))),
            "max_probability_difference": float(
                np.max(np.abs(probabilities - reference))),
        })
        report[quantization] = results
    export_util.write_verification(export_dir, report)
    return report


def evaluate_lite(lite_model_path, split, record_file, num_examples,
                  num_labels, max_seq_length, output_dir, onnx=False):
    """Accuracy and loss of a TFLite model on every example of a split.

    Writes them to `output_dir`/LITE_EVAL_FILES[split] and returns them;
    with `onnx`, an ONNX model's (--onnx_model_path) to ONNX_EVAL_FILES.
    """
    examples = classifier_data.read_features(record_file, max_seq_length)
    flag = "--onnx_model_path" if onnx else "--lite_model_path"
    probabilities = lite_probabilities(
        lite_model_path, examples, num_labels, max_seq_length, flag,
        onnx_export.run_checked if onnx else tflite_util.run_checked)
    labels = np.array([e["label_ids"] for e in examples])
    results = lite_metrics(probabilities, labels)
    results["eval_examples"] = num_examples
    results[flag[2:]] = lite_model_path
    files = ONNX_EVAL_FILES if onnx else LITE_EVAL_FILES
    write_results(os.path.join(output_dir, files[split]), results,
                  "%s %s results" % ("ONNX" if onnx else "TFLite", split))
    return results


def lite_metrics(probabilities, labels):
    """eval_accuracy and eval_loss (mean cross entropy) from probabilities.

    Probabilities are floored at 1e-12 before the log, so a confidently
    wrong float prediction gives a large finite loss.
    """
    picked = probabilities[np.arange(len(labels)), labels]
    return {
        "eval_accuracy":
            float(np.mean(np.argmax(probabilities, axis=-1) == labels)),
        "eval_loss":
            float(np.mean(-np.log(np.maximum(picked, 1e-12)))),
    }


def write_results(path, results, title):
    """Writes `key = value` lines (sorted) and logs them."""
    tf.logging.info("***** %s *****", title)
    with tf.io.gfile.GFile(path, "w") as writer:
        for key in sorted(results):
            tf.logging.info("  %s = %s", key, results[key])
            writer.write("%s = %s\n" % (key, results[key]))


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def uses_estimator(flag_values):
    """Whether this run trains, evaluates or predicts with the estimator."""
    return (flag_values.do_train or flag_values.do_eval or
            flag_values.do_test or flag_values.do_predict)


def builds_model(flag_values):
    """Whether this run builds the model graph (everything but TFLite)."""
    return uses_estimator(flag_values) or bool(flag_values.export_dir)


def validate_flags(flag_values):
    """Raises ValueError naming the first missing or contradictory flag."""
    scores_file = flag_values.lite_model_path or flag_values.onnx_model_path
    if not (builds_model(flag_values) or scores_file):
        raise ValueError("Nothing to do: pass at least one of --do_train, "
                         "--do_eval, --do_test, --do_predict, --export_dir, "
                         "--lite_model_path, --onnx_model_path")
    required = ["task_name", "output_dir"]
    if uses_estimator(flag_values) or scores_file:
        required.append("data_dir")
    if builds_model(flag_values):
        required.append("bert_config_file")
    estimator_util.require_flags(flag_values, required)
    if not (flag_values.vocab_file or flag_values.spm_model_file):
        raise ValueError("--vocab_file (or --spm_model_file) is required")
    classifier_data.get_processor(flag_values.task_name)
    if flag_values.max_seq_length < MIN_SEQ_LENGTH:
        raise ValueError("--max_seq_length: %d is too short; [CLS] a [SEP] b "
                         "[SEP] needs at least %d tokens" %
                         (flag_values.max_seq_length, MIN_SEQ_LENGTH))
    if (flag_values.lite_model_path and not flag_values.export_dir and
            not tf.io.gfile.exists(flag_values.lite_model_path)):
        raise ValueError("--lite_model_path: %s not found" %
                         flag_values.lite_model_path)
    finetune_util.validate_export_flags(flag_values)
    onnx_flags.validate_flags(flag_values, "data_dir")
    if (flag_values.export_quantization or
            flag_values.quantization_aware_training and
            flag_values.export_dir) and not flag_values.data_dir:
        raise ValueError("an int8 export needs --data_dir: its training "
                         "split calibrates the model")


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    validate_flags(FLAGS)
    options = estimator_util.run_options_from_flags(FLAGS)
    tokenizer = finetune_util.make_tokenizer(FLAGS.vocab_file,
                                             FLAGS.spm_model_file,
                                             FLAGS.do_lower_case,
                                             FLAGS.init_checkpoint)
    file_io.check_writable_dir(FLAGS.output_dir, "output_dir")
    processor = classifier_data.get_processor(FLAGS.task_name)
    num_labels = len(processor.get_labels())
    if FLAGS.do_train:
        finetune_util.check_train_settings(
            FLAGS.output_dir,
            finetune_util.train_settings(
                FLAGS, processor.data_file(FLAGS.data_dir, "train"),
                task_name=FLAGS.task_name.lower()),
            FLAGS.overwrite_output_dir)
    if FLAGS.tfrecord_dir:
        file_io.check_writable_dir(FLAGS.tfrecord_dir, "tfrecord_dir")

    def split_features(split, require_labels=True):
        """(TFRecord file, number of examples) of a split's features."""
        return classifier_data.prepare_features(
            processor, FLAGS.task_name, split, FLAGS.data_dir, tokenizer,
            FLAGS.max_seq_length, FLAGS.vocab_file, FLAGS.spm_model_file,
            FLAGS.do_lower_case, FLAGS.output_dir, FLAGS.tfrecord_dir,
            require_labels=require_labels)

    bert_config = None
    if builds_model(FLAGS):
        bert_config = finetune_util.load_bert_config(FLAGS.bert_config_file,
                                                     FLAGS.max_seq_length,
                                                     tokenizer)
    schedule = None
    if FLAGS.do_train:
        train_file, num_train_examples = split_features("train")
        schedule = finetune_util.train_schedule(
            num_train_examples,
            FLAGS.train_batch_size,
            FLAGS.num_train_epochs,
            FLAGS.warmup_proportion,
            learning_rate=FLAGS.learning_rate)
    if uses_estimator(FLAGS):
        model_fn = model_fn_builder(
            bert_config, num_labels, options,
            use_einsum=FLAGS.use_einsum,
            init_checkpoint=FLAGS.init_checkpoint,
            schedule=schedule,
            fake_quantize=FLAGS.quantization_aware_training)
        estimator = estimator_util.make_estimator(
            model_fn, FLAGS.output_dir, options, FLAGS.train_batch_size,
            eval_batch_size=FLAGS.eval_batch_size,
            predict_batch_size=FLAGS.predict_batch_size)
    if FLAGS.do_train:
        finetune_util.train(estimator, classifier_data.input_fn_builder,
                            train_file, FLAGS.max_seq_length, schedule,
                            seed=FLAGS.rand_seed, options=options)
    if not estimator_util.continues_after_training(options):
        return
    for split, requested in (("dev", FLAGS.do_eval), ("test", FLAGS.do_test)):
        if requested:
            record_file, num_examples = split_features(split)
            evaluate(estimator, split, record_file, num_examples,
                     FLAGS.max_seq_length, FLAGS.eval_batch_size,
                     options.use_tpu, FLAGS.output_dir)
    if FLAGS.do_predict:
        record_file, num_examples = split_features(
            "test", require_labels=False)
        predict(estimator, record_file, num_examples, FLAGS.max_seq_length,
                FLAGS.predict_batch_size, options.use_tpu, FLAGS.output_dir)
    if FLAGS.export_dir:
        quantizations = finetune_util.export_quantizations(FLAGS)
        representative = None
        if "int8" in quantizations or (FLAGS.export_onnx and
                                       FLAGS.data_dir):
            representative = finetune_util.representative_sample(
                classifier_data.read_features(split_features("train")[0],
                                              FLAGS.max_seq_length),
                FLAGS.representative_examples, FLAGS.rand_seed)
        paths = finetune_util.export_newest(
            functools.partial(model_fn_builder, bert_config, num_labels),
            options, FLAGS, quantizations, representative)
        paths = onnx_flags.export(FLAGS, paths, representative)
        if FLAGS.data_dir:
            verify_exports(paths, split_features("dev")[0], num_labels,
                           FLAGS.max_seq_length, FLAGS.export_dir)
    lite_splits = ["dev", "test"] if FLAGS.do_test else ["dev"]
    for path, onnx in ((FLAGS.lite_model_path, False),
                       (FLAGS.onnx_model_path, True)):
        for split in (lite_splits if path else []):
            record_file, num_examples = split_features(split)
            evaluate_lite(path, split, record_file, num_examples, num_labels,
                          FLAGS.max_seq_length, FLAGS.output_dir, onnx)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
