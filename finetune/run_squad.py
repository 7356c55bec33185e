# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Span-extraction fine-tuning for CMRC 2018 and DRCD (SQuAD v1.1 format).

Example (CPU):

    python finetune/run_squad.py \\
      --vocab_file=$MODEL_DIR/vocab.txt \\
      --bert_config_file=$MODEL_DIR/bert_config.json \\
      --init_checkpoint=$MODEL_DIR/bert_model.ckpt \\
      --do_train --train_file=$DATA_DIR/cmrc2018_train.json \\
      --do_predict --predict_file=$DATA_DIR/cmrc2018_dev.json \\
      --output_dir=/tmp/cmrc2018

`output_dir` receives the checkpoints, `predictions.json` (question id ->
answer text), `nbest_predictions.json` and, when the predict file has
reference answers, `eval_results.json` with the CMRC 2018 metric (also
printed). --lite_model_path scores a TFLite model the same way
(`lite_predictions.json`, `lite_eval_results.json`), --onnx_model_path an
ONNX model (`onnx_predictions.json`, `onnx_eval_results.json`).
--export_dir receives
a SavedModel, `model_float.tflite`, `model_quant.tflite`
(--use_post_quantization), `model_int8.tflite` (--export_quantization=int8
or --quantization_aware_training, calibrated on training windows),
`model.onnx` and `model_int8.onnx` (--export_onnx) and, with
--predict_file, `verification.json`: each exported model's CMRC 2018 score,
size and agreement with the float model. How contexts are split and answers
mapped back is described in squad_data.py.
"""

import functools
import json
import os
import random
import sys

# Bootstrap: when this file runs as a script (from the repository root or
# from its own folder), put the repository root on the path so that the
# package imports below (`from pretrain import modeling`) resolve.
if not __package__:
    sys.path.insert(
        0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

from finetune import cmrc2018_evaluate
from finetune import export_util
from finetune import finetune_util
from finetune import onnx_export
from finetune import onnx_flags
from finetune import squad_data
from finetune import squad_predictions
from finetune import tflite_util
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import file_io
from pretrain import modeling

FLAGS = flags.FLAGS

TRAIN_RECORD = "train.tf_record"
PREDICT_RECORD = "predict.tf_record"
PREDICTIONS_FILE = "predictions.json"
NBEST_FILE = "nbest_predictions.json"
EVAL_RESULTS_FILE = "eval_results.json"
LITE_PREDICTIONS_FILE = "lite_predictions.json"
LITE_EVAL_RESULTS_FILE = "lite_eval_results.json"
ONNX_PREDICTIONS_FILE = "onnx_predictions.json"
ONNX_EVAL_RESULTS_FILE = "onnx_eval_results.json"
LOGIT_NAMES = ("start_logits", "end_logits")
# [CLS] question [SEP] context [SEP] needs room for at least one context
# token besides its three special tokens.
SPECIAL_TOKENS = 3
PREDICT_LOG_EVERY = 1000


def define_flags():
    """Defines the span-extraction flags and the shared flag groups."""
    flags.DEFINE_string(
        "train_file", None,
        "Training JSON (CMRC 2018 / DRCD / SQuAD v1.1 format).")
    flags.DEFINE_string("predict_file", None,
                        "JSON to predict; scored when it has answers.")
    flags.DEFINE_integer("max_seq_length", 512,
                         "Tokens per window, [CLS] and [SEP] included.")
    flags.DEFINE_integer("doc_stride", 128,
                         "Tokens between the starts of two context windows.")
    flags.DEFINE_integer("max_query_length", 64,
                         "Question tokens kept; longer questions are cut.")
    flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
    flags.DEFINE_bool("do_predict", False,
                      "Predict (and score) --predict_file.")
    flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
    flags.DEFINE_integer(
        "n_best_size", 20,
        "Candidates per question in nbest_predictions.json.")
    flags.DEFINE_integer("max_answer_length", 30,
                         "Longest answer, in sub-tokens.")
    finetune_util.define_schedule_flags(learning_rate=3e-5,
                                        num_train_epochs=2.0)
    finetune_util.define_export_flags(
        "After training, write a SavedModel (inputs input_ids, input_mask, "
        "segment_ids; outputs start_logits, end_logits) and a TFLite model "
        "here.")
    flags.DEFINE_string(
        "lite_model_path", None,
        "Score this TFLite model on --predict_file with the CMRC 2018 "
        "metric; writes lite_predictions.json and lite_eval_results.json.")
    onnx_flags.define_flags()
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


def create_model(bert_config, is_training, input_ids, input_mask,
                 segment_ids, use_one_hot_embeddings, use_einsum,
                 fake_quantize=False, graph=None):
    """Encoder plus the span head `cls/squad`.

    Args:
      fake_quantize: build it with fake-quantized weights and activations
        (quantization-aware training).
      graph: serving_graph.GraphOptions of an export (see
        finetune_util.encoder_model), or None.

    Returns:
      (start_logits, end_logits), each float32 [B, S].
    """
    with finetune_util.fake_quantization_scope(fake_quantize, is_training):
        model = finetune_util.encoder_model(
            bert_config, is_training, input_ids, input_mask, segment_ids,
            use_one_hot_embeddings, use_einsum, graph)
        return modeling.squad_logits(bert_config,
                                     model.get_sequence_output())


def span_loss(start_logits, end_logits, start_positions, end_positions):
    """Mean of the start and end softmax cross entropies."""

    def position_loss(logits, positions):
        seq_length = modeling.get_shape_list(logits, expected_rank=2)[1]
        log_probs = tf.nn.log_softmax(logits, axis=-1)  # [B, S]
        one_hot = tf.one_hot(positions, depth=seq_length, dtype=tf.float32)
        return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))

    return (position_loss(start_logits, start_positions) +
            position_loss(end_logits, end_positions)) / 2.0


def model_fn_builder(bert_config, options, use_einsum=True,
                     init_checkpoint=None, schedule=None,
                     fake_quantize=False, graph=None):
    """Returns the TPUEstimator model_fn of the span extractor.

    Args:
      bert_config: the encoder's modeling.BertConfig.
      options: estimator_util.RunOptions of this run.
      use_einsum: einsum (True) or reshape+matmul layers (TFLite needs the
        latter).
      init_checkpoint: checkpoint to start from, or None.
      schedule: finetune_util.TrainSchedule when training; without one the
        model_fn can only predict.
      fake_quantize: quantization-aware graph (see create_model).
      graph: serving_graph.GraphOptions of an export's graph, or None
        (finetune_util.export_model_fns passes them).
    """

    def model_fn(features, labels, mode, params):
        """Builds the TRAIN or PREDICT graph."""
        del labels, params  # Positions travel in `features`; no params used.
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        start_logits, end_logits = create_model(
            bert_config,
            is_training,
            features["input_ids"],
            features["input_mask"],
            features["segment_ids"],
            use_one_hot_embeddings=options.use_tpu,
            use_einsum=use_einsum,
            fake_quantize=fake_quantize,
            graph=graph)
        # Trainable variables only: the ranges of quantization-aware
        # training are not in a released checkpoint.
        scaffold_fn = checkpoints.restore_by_name(init_checkpoint,
                                                  options.use_tpu,
                                                  tf.trainable_variables())
        if is_training:
            loss = span_loss(start_logits, end_logits,
                             features["start_positions"],
                             features["end_positions"])
            return finetune_util.train_spec(loss, schedule, options,
                                            scaffold_fn)
        if mode != tf.estimator.ModeKeys.PREDICT:
            raise ValueError("run_squad supports TRAIN and PREDICT, not %s" %
                             mode)
        predictions = {
            "start_logits": tf.identity(start_logits, name="start_logits"),
            "end_logits": tf.identity(end_logits, name="end_logits"),
        }
        if "unique_ids" in features:  # Absent from the serving graph.
            predictions["unique_ids"] = features["unique_ids"]
        return tf.estimator.tpu.TPUEstimatorSpec(mode=mode,
                                                 predictions=predictions,
                                                 scaffold_fn=scaffold_fn)

    return model_fn


# ---------------------------------------------------------------------------
# Actions.
# ---------------------------------------------------------------------------


def read_train_examples(train_file, tokenizer, seed):
    """The training questions of `train_file`, shuffled with `seed`.

    Raises:
      ValueError: no question has a usable answer.
    """
    examples, _ = squad_data.read_squad_examples(train_file, tokenizer,
                                                 is_training=True)
    if not examples:
        raise ValueError("%s: no usable training question (every answer was "
                         "dropped, see the log)" % train_file)
    # Shuffled up front so that the small shuffle buffer of the input
    # pipeline still mixes paragraphs.
    random.Random(seed).shuffle(examples)
    return examples


def predict(estimator, record_file, num_windows, max_seq_length):
    """Start and end logits of every window of a feature file.

    Returns:
      A list of squad_predictions.RawResult, in file order.
    """
    input_fn = squad_data.input_fn_builder(record_file,
                                           max_seq_length,
                                           is_training=False,
                                           drop_remainder=False)
    results = []
    for prediction in estimator.predict(input_fn=input_fn,
                                        yield_single_examples=True):
        results.append(
            squad_predictions.RawResult(int(prediction["unique_ids"]),
                                        prediction["start_logits"].tolist(),
                                        prediction["end_logits"].tolist()))
        if len(results) % PREDICT_LOG_EVERY == 0:
            tf.logging.info("Predicted %d of %d windows", len(results),
                            num_windows)
    return results


def write_predictions(examples, features, results, n_best_size,
                      max_answer_length, output_dir):
    """Writes predictions.json and nbest_predictions.json.

    Returns:
      {question id: answer text}.
    """
    predictions, nbest, unanswered = squad_predictions.make_predictions(
        examples, features, results, n_best_size, max_answer_length)
    tf.logging.info("%d of %d questions got no valid span (predicted \"\")",
                    unanswered, len(examples))
    write_json(os.path.join(output_dir, PREDICTIONS_FILE), predictions)
    write_json(os.path.join(output_dir, NBEST_FILE), nbest)
    return predictions


def write_json(path, value):
    """Writes UTF-8 JSON with the Chinese characters kept readable."""
    with tf.io.gfile.GFile(path, "w") as writer:
        writer.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    tf.logging.info("Wrote %s", path)


def score_predictions(predict_file, predictions, output_dir,
                      predictions_file=PREDICTIONS_FILE,
                      results_file=EVAL_RESULTS_FILE):
    """Scores the predictions with the CMRC 2018 metric when possible.

    Writes `results_file` and prints the result, unless some question of
    `predict_file` has no reference answer.

    Returns:
      The result dict, or None without references.
    """
    dataset = squad_data.load_dataset(predict_file)
    if not squad_data.dataset_has_answers(dataset, predict_file):
        tf.logging.info("%s has questions without answers: no metric",
                        predict_file)
        return None
    f1, em, total, skip = cmrc2018_evaluate.evaluate(
        dataset, predictions, source=predict_file,
        predictions_source=os.path.join(output_dir, predictions_file))
    result = cmrc2018_evaluate.format_result(
        f1, em, total, skip, os.path.join(output_dir, predictions_file))
    write_json(os.path.join(output_dir, results_file), result)
    print(json.dumps(result))
    return result


def window_dicts(features):
    """squad_data.InputFeatures as the input dicts of run_tflite."""
    return [{name: getattr(f, name) for name in
             export_util.DEFAULT_FEATURE_NAMES} for f in features]


def lite_predict(lite_model_path, examples, features, n_best_size,
                 max_answer_length, max_seq_length, flag,
                 run_checked=tflite_util.run_checked):
    """Answers of a TFLite span extractor (ONNX with onnx_export's
    `run_checked`).

    Returns:
      ({question id: answer text}, run_tflite outputs).

    Raises:
      ValueError: the model belongs to another task or sequence length.
    """
    _, outputs = run_checked(lite_model_path, window_dicts(features),
                             LOGIT_NAMES, max_seq_length, flag)
    results = [
        squad_predictions.RawResult(f.unique_id, start.tolist(), end.tolist())
        for f, start, end in zip(features, outputs["start_logits"],
                                 outputs["end_logits"])
    ]
    predictions, _, _ = squad_predictions.make_predictions(
        examples, features, results, n_best_size, max_answer_length)
    return predictions, outputs


def evaluate_lite(lite_model_path, predict_file, examples, features,
                  n_best_size, max_answer_length, max_seq_length,
                  output_dir, onnx=False):
    """Writes lite_predictions.json and scores it like the estimator's
    (with `onnx`, an ONNX model's: onnx_predictions.json)."""
    predictions, _ = lite_predict(
        lite_model_path, examples, features, n_best_size, max_answer_length,
        max_seq_length, "--onnx_model_path" if onnx else "--lite_model_path",
        onnx_export.run_checked if onnx else tflite_util.run_checked)
    names = ((ONNX_PREDICTIONS_FILE, ONNX_EVAL_RESULTS_FILE) if onnx else
             (LITE_PREDICTIONS_FILE, LITE_EVAL_RESULTS_FILE))
    write_json(os.path.join(output_dir, names[0]), predictions)
    return score_predictions(predict_file, predictions, output_dir, *names)


def verify_exports(paths, predict_file, examples, features, n_best_size,
                   max_answer_length, max_seq_length, export_dir):
    """Scores every exported TFLite model and compares it with the float one.

    Writes export_dir/verification.json: per model the CMRC 2018 EM and F1
    (when the file has answers), file size, the share of questions whose
    answer equals the float model's and the largest logit difference.
    """
    dataset = squad_data.load_dataset(predict_file)
    has_answers = squad_data.dataset_has_answers(dataset, predict_file)
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
        predictions, outputs = lite_predict(paths[quantization], examples,
                                            features, n_best_size,
                                            max_answer_length, max_seq_length,
                                            "--export_dir", run_checked)
        if reference is None:  # "float" comes first.
            reference = (predictions, outputs)
        same = [predictions[k] == reference[0][k] for k in predictions]
        results = onnx_flags.check_float(quantization, paths, outputs,
                                         window_dicts(features))
        results.update({
            "questions": len(predictions),
            "size_bytes": onnx_flags.size_bytes(quantization,
                                                paths[quantization]),
            "answer_agreement_with_float": float(sum(same)) / len(same),
            "max_logit_difference": export_util.max_abs_difference(
                reference[1], outputs),
        })
        if has_answers:
            f1, em, _, _ = cmrc2018_evaluate.evaluate(dataset, predictions,
                                                      source=predict_file)
            results.update({"f1": f1, "em": em})
        report[quantization] = results
    export_util.write_verification(export_dir, report)
    return report


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def validate_flags(flag_values):
    """Checks flag combinations before any data is read.

    Raises:
      ValueError: naming the flag that is missing or inconsistent.
    """
    estimator_util.require_flags(flag_values,
                                 ["bert_config_file", "output_dir"])
    if not (flag_values.vocab_file or flag_values.spm_model_file):
        raise ValueError("--vocab_file (or --spm_model_file) is required")
    if not (flag_values.do_train or flag_values.do_predict or
            flag_values.export_dir or flag_values.lite_model_path or
            flag_values.onnx_model_path):
        raise ValueError("Nothing to do: pass at least one of --do_train, "
                         "--do_predict, --export_dir, --lite_model_path, "
                         "--onnx_model_path.")
    finetune_util.validate_export_flags(flag_values)
    onnx_flags.validate_flags(flag_values, "train_file")
    if flag_values.onnx_model_path and not flag_values.predict_file:
        raise ValueError("--onnx_model_path needs --predict_file to score "
                         "the model on.")
    if ("int8" in finetune_util.export_quantizations(flag_values) and
            flag_values.export_dir and not flag_values.train_file):
        raise ValueError("an int8 export needs --train_file: its windows "
                         "calibrate the model")
    if flag_values.lite_model_path and not flag_values.predict_file:
        raise ValueError("--lite_model_path needs --predict_file to score "
                         "the model on.")
    if (flag_values.lite_model_path and not flag_values.export_dir and
            not tf.io.gfile.exists(flag_values.lite_model_path)):
        raise ValueError("--lite_model_path: %s not found" %
                         flag_values.lite_model_path)
    if flag_values.do_train and not flag_values.train_file:
        raise ValueError("--do_train needs --train_file.")
    if flag_values.do_predict and not flag_values.predict_file:
        raise ValueError("--do_predict needs --predict_file.")
    if (flag_values.export_dir and not flag_values.do_train and
            not tf.train.latest_checkpoint(flag_values.output_dir)):
        raise ValueError("--export_dir exports the newest checkpoint of "
                         "--output_dir: add --do_train or train first.")
    if (flag_values.max_seq_length <=
            flag_values.max_query_length + SPECIAL_TOKENS):
        raise ValueError(
            "--max_seq_length (%d) must exceed --max_query_length (%d) + %d"
            % (flag_values.max_seq_length, flag_values.max_query_length,
               SPECIAL_TOKENS))
    if flag_values.doc_stride < 1:
        raise ValueError("--doc_stride must be positive, got %d" %
                         flag_values.doc_stride)


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
    if FLAGS.do_train:
        finetune_util.check_train_settings(
            FLAGS.output_dir,
            finetune_util.train_settings(FLAGS, FLAGS.train_file,
                                         doc_stride=FLAGS.doc_stride,
                                         max_query_length=(
                                             FLAGS.max_query_length)),
            FLAGS.overwrite_output_dir)

    def write_windows(examples, file_name, is_training):
        """Writes the examples' windows to `file_name` in --output_dir."""
        return squad_data.write_features(
            examples, tokenizer, os.path.join(FLAGS.output_dir, file_name),
            FLAGS.max_seq_length, FLAGS.doc_stride, FLAGS.max_query_length,
            is_training=is_training)

    schedule = None
    train_features = None
    if FLAGS.do_train:
        train_examples = read_train_examples(FLAGS.train_file, tokenizer,
                                             seed=FLAGS.rand_seed)
        train_features = write_windows(train_examples, TRAIN_RECORD,
                                       is_training=True)
        # An epoch is counted in questions, as BERT's run_squad.py counts
        # it (the published schedules); training still iterates over every
        # window, so a pass over the windows takes more steps than that.
        tf.logging.info(
            "Training on %d questions in %d windows: an epoch is %d steps "
            "counted in questions (%d steps would pass over every window)",
            len(train_examples), len(train_features),
            len(train_examples) // FLAGS.train_batch_size,
            len(train_features) // FLAGS.train_batch_size)
        schedule = finetune_util.train_schedule(
            len(train_examples),
            FLAGS.train_batch_size,
            FLAGS.num_train_epochs,
            FLAGS.warmup_proportion,
            learning_rate=FLAGS.learning_rate,
            unit="questions")
    model_fn = model_fn_builder(
        bert_config, options,
        use_einsum=FLAGS.use_einsum,
        init_checkpoint=FLAGS.init_checkpoint,
        schedule=schedule,
        fake_quantize=FLAGS.quantization_aware_training)
    estimator = estimator_util.make_estimator(
        model_fn, FLAGS.output_dir, options, FLAGS.train_batch_size,
        predict_batch_size=FLAGS.predict_batch_size)
    if FLAGS.do_train:
        finetune_util.train(estimator, squad_data.input_fn_builder,
                            os.path.join(FLAGS.output_dir, TRAIN_RECORD),
                            FLAGS.max_seq_length, schedule,
                            seed=FLAGS.rand_seed, options=options)
    if not estimator_util.continues_after_training(options):
        return
    if FLAGS.predict_file:
        examples, _ = squad_data.read_squad_examples(FLAGS.predict_file,
                                                     tokenizer,
                                                     is_training=False)
        features = write_windows(examples, PREDICT_RECORD, is_training=False)
    if FLAGS.do_predict:
        tf.logging.info("***** Predicting %d questions in %d windows, batch "
                        "size %d *****", len(examples), len(features),
                        FLAGS.predict_batch_size)
        results = predict(estimator,
                          os.path.join(FLAGS.output_dir, PREDICT_RECORD),
                          len(features), FLAGS.max_seq_length)
        predictions = write_predictions(examples, features, results,
                                        FLAGS.n_best_size,
                                        FLAGS.max_answer_length,
                                        FLAGS.output_dir)
        score_predictions(FLAGS.predict_file, predictions, FLAGS.output_dir)
    if FLAGS.export_dir:
        quantizations = finetune_util.export_quantizations(FLAGS)
        representative = None
        if "int8" in quantizations or (FLAGS.export_onnx and
                                       FLAGS.train_file):
            if train_features is None:
                train_features = write_windows(
                    read_train_examples(FLAGS.train_file, tokenizer,
                                        seed=FLAGS.rand_seed),
                    TRAIN_RECORD, is_training=True)
            representative = window_dicts(
                finetune_util.representative_sample(
                    train_features, FLAGS.representative_examples,
                    FLAGS.rand_seed))
        paths = finetune_util.export_newest(
            functools.partial(model_fn_builder, bert_config), options,
            FLAGS, quantizations, representative)
        paths = onnx_flags.export(FLAGS, paths, representative)
        if FLAGS.predict_file:
            verify_exports(paths, FLAGS.predict_file, examples, features,
                           FLAGS.n_best_size, FLAGS.max_answer_length,
                           FLAGS.max_seq_length, FLAGS.export_dir)
    for path, onnx in ((FLAGS.lite_model_path, False),
                       (FLAGS.onnx_model_path, True)):
        if path:
            evaluate_lite(path, FLAGS.predict_file, examples, features,
                          FLAGS.n_best_size, FLAGS.max_answer_length,
                          FLAGS.max_seq_length, FLAGS.output_dir, onnx)


if __name__ == "__main__":
    define_flags()
    app.run(file_io.report_errors(main))
