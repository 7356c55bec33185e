# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Fine-tunes MobileBERT/BERT for Chinese named-entity recognition
(People's Daily, MSRA, Weibo), evaluates, predicts and exports it.

Example (CPU):
  python finetune/run_ner.py \\
    --train_file=DATA/peoples_daily/example.train \\
    --eval_file=DATA/peoples_daily/example.dev --vocab_file=VOCAB \\
    --bert_config_file=config/student_base_f2.json --init_checkpoint=CKPT \\
    --output_dir=/tmp/ner --do_train --do_eval --max_seq_length=128 \\
    --train_batch_size=32 --learning_rate=3e-5 --num_train_epochs=3

Input files hold one character and its tag per line (space or TAB), a
blank line between sentences (see finetune/ner_data.py). The label list
comes from --label_list, or from the training file; it is saved as
`label_list.txt` in --output_dir, so prediction with a trained
--output_dir needs no training file.

Outputs in --output_dir: checkpoints, `label_list.txt`,
`eval_results.txt` and `eval_predictions.txt` (--do_eval),
`predict_results.txt` and `predictions.txt` (--do_predict; scored when
the file has tags). A predictions file repeats the input, one `token gold
pred` line per character (`token pred` without gold), same sentences in
the same order. --export_dir receives the SavedModel (input_ids,
input_mask, segment_ids -> probabilities [B, S, tags]), its frozen copy,
`model_float.tflite` (and the quantized models asked for) and, with an
--eval_file or --predict_file, `verification.json`: every TFLite model's
entity F1 on it and its agreement with the float model.
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
from finetune import ner_data
from finetune import ner_metric
from finetune import tflite_util
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import file_io
from pretrain import modeling

FLAGS = flags.FLAGS

RECORD_FILES = {"train": "train.tf_record", "eval": "eval.tf_record",
                "predict": "predict.tf_record"}
RESULT_FILES = {"eval": "eval_results.txt", "predict": "predict_results.txt"}
PREDICTION_FILES = {"eval": "eval_predictions.txt",
                    "predict": "predictions.txt"}
TAGGER_DROPOUT = 0.1
PREDICT_LOG_EVERY = 1000
# [CLS] token [SEP].
MIN_SEQ_LENGTH = 3


def define_flags():
    """Defines the NER flags and the shared flag groups."""
    flags.DEFINE_string("train_file", None, "Tagged training file.")
    flags.DEFINE_string("eval_file", None,
                        "Tagged file scored by --do_eval.")
    flags.DEFINE_string(
        "predict_file", None,
        "File tagged by --do_predict (tags optional; scored when present).")
    flags.DEFINE_enum(
        "input_format", "auto", list(ner_data.FORMATS),
        "conll: token and tag per line (space or TAB); weibo: the token "
        "ends in a word-position digit that is not text; auto: weibo when "
        "every token of a file ends in digits after its text.")
    flags.DEFINE_string(
        "label_list", None,
        "Tags, comma-separated, or a file with one tag per line (default: "
        "label_list.txt of --output_dir, else the training file's tags).")
    flags.DEFINE_integer(
        "max_seq_length", 128,
        "Tokens per window after WordPiece, incl. [CLS]/[SEP]; longer "
        "sentences are split into overlapping windows.")
    flags.DEFINE_integer("doc_stride", 64,
                         "Characters between the starts of two windows of "
                         "one sentence.")
    flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
    flags.DEFINE_bool("do_eval", False, "Score --eval_file.")
    flags.DEFINE_bool("do_predict", False, "Tag --predict_file.")
    flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
    flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
    finetune_util.define_schedule_flags(learning_rate=3e-5,
                                        num_train_epochs=3.0)
    finetune_util.define_export_flags(
        "Export a SavedModel (output probabilities [B, S, tags]) and a float "
        "TFLite model (model_float.tflite) here.")
    finetune_util.define_output_flags()
    estimator_util.define_model_flags(
        init_checkpoint_help="Checkpoint to start from (prefix, .index or "
        "directory).")
    estimator_util.define_vocab_flags()
    estimator_util.define_run_flags(keep_checkpoint_max=5, rand_seed=12345)
    estimator_util.define_tpu_flags()
    estimator_util.define_accelerator_flags()
    # --helpshort lists the shared groups as this script's own flags.
    flags.adopt_module_key_flags(estimator_util)
    flags.adopt_module_key_flags(finetune_util)


# ---------------------------------------------------------------------------
# Model.
# ---------------------------------------------------------------------------


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids,
                 label_ids, label_weights, num_labels, use_one_hot_embeddings,
                 use_einsum, fake_quantize=False, graph=None):
    """Sequence output -> dropout -> per-position linear layer -> softmax.

    The loss is the cross entropy of the labelled positions (the first
    piece of every character; label_weights 1), averaged over them.

    Args:
      graph: serving_graph.GraphOptions of an export (see
        finetune_util.encoder_model), or None.

    Returns:
      (mean loss, probabilities [B, S, C]).
    """
    with finetune_util.fake_quantization_scope(fake_quantize, is_training):
        model = finetune_util.encoder_model(
            bert_config, is_training, input_ids, input_mask, segment_ids,
            use_one_hot_embeddings, use_einsum, graph)
        logits = modeling.token_classifier_logits(
            bert_config, model.get_sequence_output(), num_labels,
            dropout_prob=TAGGER_DROPOUT if is_training else 0.0)
    with tf.variable_scope("loss"):
        log_probs = tf.nn.log_softmax(logits, axis=-1)  # [B, S, C]
        one_hot = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
        per_position = -tf.reduce_sum(one_hot * log_probs, axis=-1)
        weights = tf.cast(label_weights, tf.float32)  # [B, S]
        loss = tf.reduce_sum(per_position * weights) / tf.maximum(
            tf.reduce_sum(weights), 1.0)
    # Named so the SavedModel and TFLite outputs are called "probabilities".
    probabilities = tf.identity(tf.nn.softmax(logits, axis=-1),
                                name="probabilities")
    return loss, probabilities


def model_fn_builder(bert_config, num_labels, options, use_einsum=True,
                     init_checkpoint=None, schedule=None,
                     fake_quantize=False, graph=None):
    """Returns the TPUEstimator model_fn of the tagger.

    Args:
      bert_config: modeling.BertConfig of the encoder.
      num_labels: number of tags.
      options: estimator_util.RunOptions.
      use_einsum: einsum (True) or reshape+matmul layers (exports).
      init_checkpoint: checkpoint whose variables initialise the model.
      schedule: finetune_util.TrainSchedule of --do_train; None for a
        model_fn that only predicts and exports.
      fake_quantize: quantization-aware graph.
      graph: serving_graph.GraphOptions of an export's graph, or None
        (finetune_util.export_model_fns passes them).
    """

    def model_fn(features, labels, mode, params):
        """Builds the train or predict graph."""
        del labels, params  # Labels travel in `features`.
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        input_ids = features["input_ids"]
        label_ids = features.get("label_ids", tf.zeros_like(input_ids))
        label_weights = features.get("label_weights",
                                     tf.zeros_like(input_ids))
        loss, probabilities = create_model(
            bert_config, is_training, input_ids, features["input_mask"],
            features["segment_ids"], label_ids, label_weights, num_labels,
            use_one_hot_embeddings=options.use_tpu, use_einsum=use_einsum,
            fake_quantize=fake_quantize, graph=graph)
        scaffold_fn = checkpoints.restore_by_name(init_checkpoint,
                                                  options.use_tpu,
                                                  tf.trainable_variables())
        if is_training:
            return finetune_util.train_spec(loss, schedule, options,
                                            scaffold_fn)
        if mode != tf.estimator.ModeKeys.PREDICT:
            raise ValueError("run_ner's model_fn trains and predicts; it "
                             "scores predictions outside the graph")
        return tf.estimator.tpu.TPUEstimatorSpec(
            mode=mode, predictions={"probabilities": probabilities},
            scaffold_fn=scaffold_fn)

    return model_fn


# ---------------------------------------------------------------------------
# Labels and data.
# ---------------------------------------------------------------------------


def saved_label_list_path(output_dir, init_checkpoint):
    """label_list.txt of --output_dir, else of --init_checkpoint's folder."""
    folders = [output_dir]
    if init_checkpoint:
        folders.append(init_checkpoint if tf.io.gfile.isdir(init_checkpoint)
                       else os.path.dirname(init_checkpoint))
    for folder in folders:
        path = os.path.join(folder, ner_data.LABEL_LIST_FILE)
        if tf.io.gfile.exists(path):
            return path
    return os.path.join(output_dir, ner_data.LABEL_LIST_FILE)


def resolve_label_list(label_list_flag, saved_path, train_sentences):
    """The tags of the model: --label_list, the saved list or the data's.

    Args:
      label_list_flag: --label_list (tags or a file), or None.
      saved_path: label_list.txt saved with a trained model (may not
        exist).
      train_sentences: the training sentences of --do_train, or None.

    Raises:
      ValueError: none of the three is at hand, or a saved list differs
        from --label_list.
    """
    saved = None
    if tf.io.gfile.exists(saved_path):
        saved = ner_data.parse_label_list(
            file_io.read_text(saved_path, what="label list"), saved_path)
    if label_list_flag:
        if tf.io.gfile.exists(label_list_flag):
            labels = ner_data.parse_label_list(
                file_io.read_text(label_list_flag, "label_list",
                                  "label list"), label_list_flag)
        else:
            labels = ner_data.parse_label_list(label_list_flag,
                                               "--label_list")
    elif train_sentences is not None:
        labels = ner_data.labels_of(train_sentences)
    elif saved is not None:
        return saved
    else:
        raise ValueError(
            "no label list: pass --label_list, --do_train with a "
            "--train_file, or the --output_dir (or --init_checkpoint) of a "
            "trained model (it holds %s)" % ner_data.LABEL_LIST_FILE)
    if saved is not None and saved != labels and train_sentences is None:
        raise ValueError(
            "%s: the model was trained with the tags %s, --label_list "
            "gives %s" % (saved_path, ",".join(saved), ",".join(labels)))
    return labels


def save_label_list(labels, output_dir):
    """Writes the tags, one per line, to output_dir/label_list.txt."""
    file_io.write_text_atomically(
        os.path.join(output_dir, ner_data.LABEL_LIST_FILE),
        "\n".join(labels) + "\n")


def read_split(path, flag, input_format, labels=None):
    """Sentences of a file, their tags checked against `labels`."""
    sentences, tagged = ner_data.read_sentences(path, input_format, flag)
    if labels is not None and tagged:
        ner_data.check_labels(sentences, labels,
                              file_io.source(path, flag))
    tf.logging.info("%s: %d sentences, %d characters%s", path,
                    len(sentences), sum(len(s.tokens) for s in sentences),
                    "" if tagged else " (no tags)")
    return sentences, tagged


# ---------------------------------------------------------------------------
# Actions.
# ---------------------------------------------------------------------------


def predict_windows(estimator, record_file, num_windows, max_seq_length,
                    batch_size, use_tpu):
    """Predicted label id of every position of every window [N, S]."""
    num_padding, _ = classifier_data.padded_batches(num_windows, batch_size,
                                                    use_tpu)
    input_fn = ner_data.input_fn_builder(record_file, max_seq_length,
                                         is_training=False,
                                         drop_remainder=use_tpu,
                                         num_padding=num_padding)
    predicted = []
    for prediction in estimator.predict(input_fn=input_fn,
                                        yield_single_examples=True):
        if len(predicted) == num_windows:
            break  # The rest is TPU padding.
        predicted.append(np.argmax(prediction["probabilities"], axis=-1))
        if len(predicted) % PREDICT_LOG_EVERY == 0:
            tf.logging.info("Predicted %d of %d windows", len(predicted),
                            num_windows)
    if len(predicted) != num_windows:
        raise RuntimeError("predict: got %d predictions for %d windows" %
                           (len(predicted), num_windows))
    return predicted


def sentence_tags(sentences, windows, window_label_ids, labels):
    """Merged predicted tags, one per input character, per sentence."""
    merged = ner_data.merge_window_predictions(sentences, windows,
                                               window_label_ids)
    return [[labels[i] for i in ids] for ids in merged]


def score_and_write(kind, sentences, tagged, predicted_tags, output_dir):
    """Writes the predictions file and the results file of `kind`.

    Returns:
      The ner_metric.evaluate result (None for an untagged file).
    """
    prediction_path = os.path.join(output_dir, PREDICTION_FILES[kind])
    file_io.write_text_atomically(
        prediction_path,
        "\n".join(ner_data.prediction_lines(sentences, predicted_tags)) +
        "\n")
    tf.logging.info("Wrote %d sentences of predictions to %s",
                    len(sentences), prediction_path)
    result = None
    if tagged:
        result = ner_metric.evaluate([s.tags for s in sentences],
                                     predicted_tags)
        lines = ner_metric.report_lines(result)
    else:
        lines = ["tokens = %d" % sum(len(t) for t in predicted_tags)]
    lines.insert(0, "sentences = %d" % len(sentences))
    path = os.path.join(output_dir, RESULT_FILES[kind])
    file_io.write_text_atomically(path, "\n".join(lines) + "\n")
    tf.logging.info("***** %s results (%s) *****\n%s", kind, path,
                    "\n".join(lines))
    return result


def verify_exports(paths, sentences, tagged, windows, labels,
                   max_seq_length, export_dir):
    """Tags `sentences` with every exported TFLite model.

    Writes export_dir/verification.json: per model its entity precision,
    recall and F1 (tagged sentences), file size, the share of characters
    tagged as the float model tags them and the largest probability
    difference from it.

    Returns:
      The report, {quantization: {name: value}}.
    """
    features = ner_data.window_feature_dicts(windows)
    report, reference = {}, None
    for quantization in tflite_util.QUANTIZATIONS:
        if quantization not in paths:
            continue
        shapes, outputs = tflite_util.run_checked(
            paths[quantization], features, ["probabilities"],
            max_seq_length, "--export_dir")
        if shapes["probabilities"][-1] != len(labels):
            raise ValueError("--export_dir %s: %d tags, the model has %d" %
                             (paths[quantization], len(labels),
                              shapes["probabilities"][-1]))
        probabilities = outputs["probabilities"]
        tags = sentence_tags(sentences, windows,
                             np.argmax(probabilities, axis=-1), labels)
        if reference is None:  # "float" comes first.
            reference = (probabilities, tags)
        flat = [t for s in tags for t in s]
        flat_reference = [t for s in reference[1] for t in s]
        results = {
            "sentences": len(sentences),
            "size_bytes": os.path.getsize(paths[quantization]),
            "tag_agreement_with_float": float(np.mean(
                [a == b for a, b in zip(flat, flat_reference)])),
            "max_probability_difference": float(
                np.max(np.abs(probabilities - reference[0]))),
        }
        if tagged:
            scored = ner_metric.evaluate([s.tags for s in sentences], tags)
            results.update((k, scored[k]) for k in ("precision", "recall",
                                                    "f1"))
        report[quantization] = results
    export_util.write_verification(export_dir, report)
    return report


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def validate_flags(flag_values):
    """Raises ValueError naming the first missing or contradictory flag."""
    estimator_util.require_flags(flag_values,
                                 ["bert_config_file", "output_dir"])
    if not (flag_values.vocab_file or flag_values.spm_model_file):
        raise ValueError("--vocab_file (or --spm_model_file) is required")
    if not (flag_values.do_train or flag_values.do_eval or
            flag_values.do_predict or flag_values.export_dir):
        raise ValueError("Nothing to do: pass at least one of --do_train, "
                         "--do_eval, --do_predict, --export_dir")
    for action, file_flag in (("do_train", "train_file"),
                              ("do_eval", "eval_file"),
                              ("do_predict", "predict_file")):
        if flag_values[action].value and not flag_values[file_flag].value:
            raise ValueError("--%s needs --%s" % (action, file_flag))
    if flag_values.max_seq_length < MIN_SEQ_LENGTH:
        raise ValueError("--max_seq_length: %d is too short; [CLS] token "
                         "[SEP] needs at least %d" %
                         (flag_values.max_seq_length, MIN_SEQ_LENGTH))
    if flag_values.doc_stride < 1:
        raise ValueError("--doc_stride must be positive, got %d" %
                         flag_values.doc_stride)
    finetune_util.validate_export_flags(flag_values)
    if ("int8" in finetune_util.export_quantizations(flag_values) and
            flag_values.export_dir and not flag_values.train_file):
        raise ValueError("an int8 export needs --train_file: its windows "
                         "calibrate the model")
    if (flag_values.export_dir and not flag_values.do_train and
            not tf.train.latest_checkpoint(flag_values.output_dir)):
        raise ValueError("--export_dir exports the newest checkpoint of "
                         "--output_dir: add --do_train or train first")


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    validate_flags(FLAGS)
    options = estimator_util.run_options_from_flags(FLAGS)
    tokenizer = finetune_util.make_tokenizer(FLAGS.vocab_file,
                                             FLAGS.spm_model_file,
                                             FLAGS.do_lower_case,
                                             FLAGS.init_checkpoint)
    bert_config = finetune_util.load_bert_config(FLAGS.bert_config_file,
                                                 FLAGS.max_seq_length,
                                                 tokenizer)
    file_io.check_writable_dir(FLAGS.output_dir, "output_dir")
    train_sentences = None
    if FLAGS.train_file and (FLAGS.do_train or
                             FLAGS.export_quantization == "int8" or
                             FLAGS.quantization_aware_training):
        train_sentences, _ = read_split(FLAGS.train_file, "train_file",
                                        FLAGS.input_format)
    labels = resolve_label_list(
        FLAGS.label_list,
        saved_label_list_path(FLAGS.output_dir, FLAGS.init_checkpoint),
        train_sentences if FLAGS.do_train else None)
    if train_sentences is not None:
        ner_data.check_labels(train_sentences, labels,
                              file_io.source(FLAGS.train_file, "train_file"))
    tf.logging.info("%d tags: %s", len(labels), " ".join(labels))

    def windows_of(sentences, kind):
        """The windows of `sentences`, written to their record file."""
        windows = ner_data.sentences_to_windows(
            sentences, tokenizer, labels, FLAGS.max_seq_length,
            FLAGS.doc_stride)
        ner_data.write_windows(windows, os.path.join(FLAGS.output_dir,
                                                     RECORD_FILES[kind]))
        return windows

    schedule = None
    if FLAGS.do_train:
        finetune_util.check_train_settings(
            FLAGS.output_dir,
            finetune_util.train_settings(FLAGS, FLAGS.train_file,
                                         doc_stride=FLAGS.doc_stride,
                                         label_list=labels,
                                         input_format=FLAGS.input_format),
            FLAGS.overwrite_output_dir)
        save_label_list(labels, FLAGS.output_dir)
        train_windows = windows_of(train_sentences, "train")
        schedule = finetune_util.train_schedule(
            len(train_windows), FLAGS.train_batch_size,
            FLAGS.num_train_epochs, FLAGS.warmup_proportion,
            learning_rate=FLAGS.learning_rate, unit="windows")
    estimator = None
    if FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict:
        model_fn = model_fn_builder(
            bert_config, len(labels), options,
            use_einsum=FLAGS.use_einsum,
            init_checkpoint=FLAGS.init_checkpoint, schedule=schedule,
            fake_quantize=FLAGS.quantization_aware_training)
        estimator = estimator_util.make_estimator(
            model_fn, FLAGS.output_dir, options, FLAGS.train_batch_size,
            eval_batch_size=FLAGS.eval_batch_size,
            predict_batch_size=FLAGS.predict_batch_size)
    if FLAGS.do_train:
        finetune_util.train(estimator, ner_data.input_fn_builder,
                            os.path.join(FLAGS.output_dir,
                                         RECORD_FILES["train"]),
                            FLAGS.max_seq_length, schedule,
                            seed=FLAGS.rand_seed, options=options)
    scored = None  # (sentences, tagged, windows) to verify exports on.
    for kind, requested, batch_size in (
            ("eval", FLAGS.do_eval, FLAGS.eval_batch_size),
            ("predict", FLAGS.do_predict, FLAGS.predict_batch_size)):
        path = FLAGS.eval_file if kind == "eval" else FLAGS.predict_file
        if not path or not (requested or FLAGS.export_dir):
            continue
        sentences, tagged = read_split(path, "%s_file" % kind,
                                       FLAGS.input_format, labels)
        windows = windows_of(sentences, kind)
        scored = scored or (sentences, tagged, windows)
        if not requested:
            continue
        tf.logging.info("***** %s: %d windows, batch size %d *****", kind,
                        len(windows), batch_size)
        predicted = predict_windows(
            estimator, os.path.join(FLAGS.output_dir, RECORD_FILES[kind]),
            len(windows), FLAGS.max_seq_length, batch_size, options.use_tpu)
        score_and_write(kind, sentences, tagged,
                        sentence_tags(sentences, windows, predicted, labels),
                        FLAGS.output_dir)
    if FLAGS.export_dir:
        quantizations = finetune_util.export_quantizations(FLAGS)
        representative = None
        if "int8" in quantizations:
            representative = ner_data.window_feature_dicts(
                finetune_util.representative_sample(
                    ner_data.sentences_to_windows(
                        train_sentences, tokenizer, labels,
                        FLAGS.max_seq_length, FLAGS.doc_stride),
                    FLAGS.representative_examples, FLAGS.rand_seed))
        paths = finetune_util.export_newest(
            functools.partial(model_fn_builder, bert_config, len(labels)),
            options, FLAGS, quantizations, representative)
        if scored:
            verify_exports(paths, scored[0], scored[1], scored[2], labels,
                           FLAGS.max_seq_length, FLAGS.export_dir)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
