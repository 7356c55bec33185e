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
printed). How contexts are split and answers mapped back is described in
squad_data.py.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
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
from finetune import squad_data
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import modeling
from pretrain import optimization
from pretrain import tokenization

FLAGS = flags.FLAGS

flags.DEFINE_string("bert_config_file", None,
                    "Model config JSON (e.g. config/student_base_f2.json).")
flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary file.")
flags.DEFINE_string("spm_model_file", None,
                    "Optional SentencePiece model (replaces WordPiece).")
flags.DEFINE_string("output_dir", None,
                    "Checkpoints, features and predictions go here.")
flags.DEFINE_string("train_file", None,
                    "Training JSON (CMRC 2018 / DRCD / SQuAD v1.1 format).")
flags.DEFINE_string("predict_file", None,
                    "JSON to predict; scored when it has answers.")
flags.DEFINE_string("init_checkpoint", None,
                    "Checkpoint to start from (prefix, .index or directory).")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the input text.")
flags.DEFINE_integer("max_seq_length", 512,
                     "Tokens per window, [CLS] and [SEP] included.")
flags.DEFINE_integer("doc_stride", 128,
                     "Tokens between the starts of two context windows.")
flags.DEFINE_integer("max_query_length", 64,
                     "Question tokens kept; longer questions are cut.")
flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
flags.DEFINE_bool("do_predict", False, "Predict (and score) --predict_file.")
flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
flags.DEFINE_float("learning_rate", 3e-5, "Peak AdamW learning rate.")
flags.DEFINE_float("num_train_epochs", 2.0,
                   "Passes over the training windows.")
flags.DEFINE_float("warmup_proportion", 0.1,
                   "Fraction of the steps with linear learning-rate warmup.")
flags.DEFINE_integer("save_checkpoints_steps", 1000,
                     "Steps between checkpoints.")
flags.DEFINE_integer("n_best_size", 20,
                     "Candidates per question in nbest_predictions.json.")
flags.DEFINE_integer("max_answer_length", 30,
                     "Longest answer, in sub-tokens.")
flags.DEFINE_integer("rand_seed", 12345,
                     "Seed of the example shuffling and TF initialisation.")
flags.DEFINE_bool("use_einsum", True,
                  "einsum (True) or reshape+matmul layers; same numbers.")
flags.DEFINE_string("export_dir", None,
                    "After training, write a SavedModel (inputs input_ids, "
                    "input_mask, segment_ids; outputs start_logits, "
                    "end_logits) and a TFLite model here.")
flags.DEFINE_bool("use_post_quantization", False,
                  "With --export_dir, also write a dynamic-range quantized "
                  "TFLite model.")
estimator_util.define_tpu_flags()

TRAIN_RECORD = "train.tf_record"
PREDICT_RECORD = "predict.tf_record"
PREDICTIONS_FILE = "predictions.json"
NBEST_FILE = "nbest_predictions.json"
EVAL_RESULTS_FILE = "eval_results.json"


# ---------------------------------------------------------------------------
# Model.
# ---------------------------------------------------------------------------


def create_model(bert_config, is_training, input_ids, input_mask,
                 segment_ids, use_one_hot_embeddings, use_einsum):
    """Encoder plus the span head `cls/squad`.

    Returns:
      (start_logits, end_logits), each float32 [B, S].
    """
    model = modeling.BertModel(config=bert_config,
                               is_training=is_training,
                               input_ids=input_ids,
                               input_mask=input_mask,
                               token_type_ids=segment_ids,
                               use_one_hot_embeddings=use_one_hot_embeddings,
                               use_einsum=use_einsum)
    return modeling.squad_logits(bert_config, model.get_sequence_output())


def span_loss(start_logits, end_logits, start_positions, end_positions):
    """Mean of the start and end softmax cross entropies."""

    def position_loss(logits, positions):
        seq_length = modeling.get_shape_list(logits, expected_rank=2)[1]
        log_probs = tf.nn.log_softmax(logits, axis=-1)  # [B, S]
        one_hot = tf.one_hot(positions, depth=seq_length, dtype=tf.float32)
        return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))

    return (position_loss(start_logits, start_positions) +
            position_loss(end_logits, end_positions)) / 2.0


def model_fn_builder(bert_config, init_checkpoint, learning_rate,
                     num_train_steps, num_warmup_steps, use_tpu,
                     use_one_hot_embeddings, use_einsum, train_batch_size,
                     log_every_n_steps):
    """Returns a TPUEstimator model_fn for training and prediction."""

    # pylint: disable=unused-argument
    def model_fn(features, labels, mode, params):
        """Builds the TRAIN or PREDICT graph."""
        is_training = mode == tf.estimator.ModeKeys.TRAIN
        start_logits, end_logits = create_model(
            bert_config, is_training, features["input_ids"],
            features["input_mask"], features["segment_ids"],
            use_one_hot_embeddings, use_einsum)
        scaffold_fn = checkpoints.restore_by_name(init_checkpoint,
                                                     use_tpu)
        if is_training:
            loss = span_loss(start_logits, end_logits,
                             features["start_positions"],
                             features["end_positions"])
            train_op, lr = optimization.create_optimizer(
                loss, learning_rate, num_train_steps, num_warmup_steps,
                use_tpu)
            # Tensors inside a TPU loop cannot be fetched by a host hook;
            # on TPU the estimator logs the loss once per loop instead.
            hooks = [] if use_tpu else [
                estimator_util.ProgressHook({
                    "loss": loss,
                    "learning_rate": lr
                }, train_batch_size, log_every_n_steps)
            ]
            return tf.estimator.tpu.TPUEstimatorSpec(mode=mode,
                                                     loss=loss,
                                                     train_op=train_op,
                                                     training_hooks=hooks,
                                                     scaffold_fn=scaffold_fn)
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
# Feature files.
# ---------------------------------------------------------------------------


class FeatureWriter(object):
    """Writes InputFeatures to a TFRecord file."""

    def __init__(self, filename, is_training):
        self.filename = filename
        self.is_training = is_training
        self.num_features = 0
        self._writer = tf.io.TFRecordWriter(filename)

    def process_feature(self, feature):
        """Serialises one InputFeatures."""
        self.num_features += 1
        values = collections.OrderedDict()
        values["unique_ids"] = _int_feature([feature.unique_id])
        values["input_ids"] = _int_feature(feature.input_ids)
        values["input_mask"] = _int_feature(feature.input_mask)
        values["segment_ids"] = _int_feature(feature.segment_ids)
        if self.is_training:
            values["start_positions"] = _int_feature([feature.start_position])
            values["end_positions"] = _int_feature([feature.end_position])
        example = tf.train.Example(features=tf.train.Features(
            feature=values))
        self._writer.write(example.SerializeToString())

    def close(self):
        self._writer.close()


def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(
        value=list(values)))


def input_fn_builder(input_file, seq_length, is_training, drop_remainder,
                     seed):
    """Returns an input_fn reading a FeatureWriter file."""
    name_to_features = {
        "unique_ids": tf.io.FixedLenFeature([], tf.int64),
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
    }
    if is_training:
        name_to_features["start_positions"] = tf.io.FixedLenFeature([],
                                                                    tf.int64)
        name_to_features["end_positions"] = tf.io.FixedLenFeature([],
                                                                  tf.int64)

    def input_fn(params):
        dataset = tf.data.TFRecordDataset(input_file)
        if is_training:
            dataset = dataset.repeat().shuffle(buffer_size=100, seed=seed)
        dataset = dataset.map(
            lambda record: estimator_util.decode_record(record,
                                                        name_to_features))
        return dataset.batch(params["batch_size"],
                             drop_remainder=drop_remainder)

    return input_fn


def write_features(examples, tokenizer, filename, is_training):
    """Converts examples to windows and writes them; returns the list."""
    writer = FeatureWriter(filename, is_training)
    features = []

    def keep(feature):
        features.append(feature)
        writer.process_feature(feature)

    squad_data.convert_examples_to_features(examples, tokenizer,
                                            FLAGS.max_seq_length,
                                            FLAGS.doc_stride,
                                            FLAGS.max_query_length,
                                            is_training, keep)
    writer.close()
    return features


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def validate_flags(bert_config):
    """Checks flag combinations before any data is read.

    Raises:
      ValueError: naming the flag that is missing or inconsistent.
    """
    if not FLAGS.do_train and not FLAGS.do_predict:
        raise ValueError("At least one of --do_train and --do_predict must "
                         "be set.")
    if FLAGS.do_train and not FLAGS.train_file:
        raise ValueError("--do_train needs --train_file.")
    if FLAGS.do_predict and not FLAGS.predict_file:
        raise ValueError("--do_predict needs --predict_file.")
    if (FLAGS.export_dir and not FLAGS.do_train and
            not tf.train.latest_checkpoint(FLAGS.output_dir)):
        raise ValueError("--export_dir exports the newest checkpoint of "
                         "--output_dir: add --do_train or train first.")
    bert_config.check_seq_length(FLAGS.max_seq_length)
    if FLAGS.max_seq_length <= FLAGS.max_query_length + 3:
        raise ValueError(
            "--max_seq_length (%d) must exceed --max_query_length (%d) + 3" %
            (FLAGS.max_seq_length, FLAGS.max_query_length))
    if FLAGS.doc_stride < 1:
        raise ValueError("--doc_stride must be positive, got %d" %
                         FLAGS.doc_stride)


def make_estimator(bert_config, num_train_steps, num_warmup_steps,
                   use_einsum, use_tpu):
    """A TPUEstimator (CPU/GPU fallback) for this task."""
    run_config = estimator_util.make_run_config(
        FLAGS, FLAGS.output_dir, FLAGS.save_checkpoints_steps,
        tf_random_seed=FLAGS.rand_seed)
    model_fn = model_fn_builder(bert_config=bert_config,
                                init_checkpoint=FLAGS.init_checkpoint,
                                learning_rate=FLAGS.learning_rate,
                                num_train_steps=num_train_steps,
                                num_warmup_steps=num_warmup_steps,
                                use_tpu=use_tpu,
                                use_one_hot_embeddings=use_tpu,
                                use_einsum=use_einsum,
                                train_batch_size=FLAGS.train_batch_size,
                                log_every_n_steps=FLAGS.iterations_per_loop)
    return tf.estimator.tpu.TPUEstimator(
        use_tpu=use_tpu,
        model_fn=model_fn,
        config=run_config,
        train_batch_size=FLAGS.train_batch_size,
        predict_batch_size=FLAGS.predict_batch_size,
        export_to_tpu=False)


def train(bert_config, tokenizer):
    """Reads --train_file, writes its features and fine-tunes."""
    examples, _ = squad_data.read_squad_examples(FLAGS.train_file, tokenizer,
                                                 is_training=True)
    if not examples:
        raise ValueError("%s: no usable training question (every answer was "
                         "dropped, see the log)" % FLAGS.train_file)
    # Shuffled up front so that the small shuffle buffer of the input
    # pipeline still mixes paragraphs.
    random.Random(FLAGS.rand_seed).shuffle(examples)
    features = write_features(examples, tokenizer,
                              os.path.join(FLAGS.output_dir, TRAIN_RECORD),
                              is_training=True)
    # An epoch is one pass over the windows (BERT counted questions).
    num_train_steps = int(
        len(features) / FLAGS.train_batch_size * FLAGS.num_train_epochs)
    if num_train_steps < 1:
        raise ValueError(
            "--num_train_epochs %g over %d windows at --train_batch_size %d "
            "gives no training step" % (FLAGS.num_train_epochs,
                                        len(features),
                                        FLAGS.train_batch_size))
    num_warmup_steps = int(num_train_steps * FLAGS.warmup_proportion)
    tf.logging.info("***** Running training *****")
    tf.logging.info("  Questions = %d, windows = %d", len(examples),
                    len(features))
    tf.logging.info("  Batch size = %d, steps = %d (warmup %d)",
                    FLAGS.train_batch_size, num_train_steps,
                    num_warmup_steps)
    estimator = make_estimator(bert_config, num_train_steps,
                               num_warmup_steps, FLAGS.use_einsum,
                               FLAGS.use_tpu)
    estimator.train(input_fn=input_fn_builder(
        os.path.join(FLAGS.output_dir, TRAIN_RECORD), FLAGS.max_seq_length,
        is_training=True, drop_remainder=True, seed=FLAGS.rand_seed),
                    max_steps=num_train_steps)


def predict(bert_config, tokenizer):
    """Predicts --predict_file; writes predictions and the metric."""
    examples, _ = squad_data.read_squad_examples(FLAGS.predict_file,
                                                 tokenizer,
                                                 is_training=False)
    record = os.path.join(FLAGS.output_dir, PREDICT_RECORD)
    features = write_features(examples, tokenizer, record, is_training=False)
    tf.logging.info("***** Running predictions *****")
    tf.logging.info("  Questions = %d, windows = %d, batch size = %d",
                    len(examples), len(features), FLAGS.predict_batch_size)
    estimator = make_estimator(bert_config, 0, 0, FLAGS.use_einsum,
                               FLAGS.use_tpu)
    results = []
    for prediction in estimator.predict(input_fn_builder(
            record, FLAGS.max_seq_length, is_training=False,
            drop_remainder=False, seed=FLAGS.rand_seed),
                                        yield_single_examples=True):
        results.append(
            squad_data.RawResult(int(prediction["unique_ids"]),
                                 prediction["start_logits"].tolist(),
                                 prediction["end_logits"].tolist()))
        if len(results) % 1000 == 0:
            tf.logging.info("Predicted %d of %d windows", len(results),
                            len(features))
    predictions, nbest, unanswered = squad_data.make_predictions(
        examples, features, results, FLAGS.n_best_size,
        FLAGS.max_answer_length)
    tf.logging.info("%d of %d questions got no valid span (predicted \"\")",
                    unanswered, len(examples))
    write_json(os.path.join(FLAGS.output_dir, PREDICTIONS_FILE), predictions)
    write_json(os.path.join(FLAGS.output_dir, NBEST_FILE), nbest)
    score_predictions(predictions)


def write_json(path, value):
    """Writes UTF-8 JSON with the Chinese characters kept readable."""
    with tf.io.gfile.GFile(path, "w") as writer:
        writer.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    tf.logging.info("Wrote %s", path)


def score_predictions(predictions):
    """Scores the predictions with the CMRC 2018 metric when possible."""
    dataset = squad_data.load_dataset(FLAGS.predict_file)
    if not squad_data.dataset_has_answers(dataset, FLAGS.predict_file):
        tf.logging.info("%s has questions without answers: no metric",
                        FLAGS.predict_file)
        return
    f1, em, total, skip = cmrc2018_evaluate.evaluate(
        dataset, predictions, source=FLAGS.predict_file)
    result = cmrc2018_evaluate.format_result(
        f1, em, total, skip, os.path.join(FLAGS.output_dir, PREDICTIONS_FILE))
    write_json(os.path.join(FLAGS.output_dir, EVAL_RESULTS_FILE), result)
    print(json.dumps(result))


def export(bert_config):
    """SavedModel and TFLite models of the newest checkpoint in output_dir."""
    # TFLite has no Einsum kernel: the serving graph uses matmuls.
    estimator = make_estimator(bert_config, 0, 0, use_einsum=False,
                               use_tpu=False)
    paths = export_util.export_models(
        estimator,
        export_util.serving_input_receiver_fn_builder(FLAGS.max_seq_length),
        FLAGS.export_dir,
        use_post_quantization=FLAGS.use_post_quantization)
    tf.logging.info("Exported: %s", paths)


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    for name in ("bert_config_file", "output_dir"):
        if not getattr(FLAGS, name):
            raise ValueError("--%s is required" % name)
    if not FLAGS.vocab_file and not FLAGS.spm_model_file:
        raise ValueError("--vocab_file (or --spm_model_file) is required")
    bert_config = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
    validate_flags(bert_config)
    tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case,
                                                  FLAGS.init_checkpoint)
    tokenizer = tokenization.FullTokenizer(
        vocab_file=FLAGS.vocab_file,
        do_lower_case=FLAGS.do_lower_case,
        spm_model_file=FLAGS.spm_model_file)
    tf.io.gfile.makedirs(FLAGS.output_dir)
    if FLAGS.do_train:
        train(bert_config, tokenizer)
    if FLAGS.do_predict:
        predict(bert_config, tokenizer)
    if FLAGS.export_dir:
        export(bert_config)


if __name__ == "__main__":
    app.run(main)
