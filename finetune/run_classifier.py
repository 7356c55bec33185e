# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Fine-tunes MobileBERT/BERT on a classification task (XNLI, ChnSentiCorp,
LCQMC, BQ Corpus), evaluates, predicts and exports it (SavedModel, TFLite).

Example (CPU):
  python finetune/run_classifier.py --task_name=chnsenticorp \\
    --data_dir=../shared/data/chnsenticorp --vocab_file=VOCAB \\
    --bert_config_file=config/student_base_f2.json --init_checkpoint=CKPT \\
    --output_dir=/tmp/csc --do_train --do_eval --max_seq_length=256 \\
    --train_batch_size=64 --learning_rate=6e-5 --num_train_epochs=3

Outputs in --output_dir: checkpoints, `eval_results.txt` (dev),
`test_eval_results.txt` (--do_test), `test_results.tsv` (--do_predict: one
row of class probabilities per test example), `lite_eval_results.txt` and
`lite_test_eval_results.txt` (--lite_model_path). --export_dir receives a
SavedModel, `model.tflite` and with --use_post_quantization
`model_quant.tflite`.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

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
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import modeling
from pretrain import optimization
from pretrain import tokenization

FLAGS = flags.FLAGS

flags.DEFINE_string("data_dir", None, "Directory holding the task's files.")
flags.DEFINE_string("bert_config_file", None, "Model config JSON.")
flags.DEFINE_string(
    "task_name", None,
    "Task: %s." % ", ".join(sorted(classifier_data.PROCESSORS)))
flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary file.")
flags.DEFINE_string("spm_model_file", None,
                    "Optional SentencePiece model (replaces WordPiece).")
flags.DEFINE_string("output_dir", None,
                    "Checkpoints, features and results go here.")
flags.DEFINE_string("init_checkpoint", None,
                    "Checkpoint to start from (prefix, .index or directory).")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the input text.")
flags.DEFINE_integer("max_seq_length", 128,
                     "Tokens per example after WordPiece, incl. [CLS]/[SEP].")
flags.DEFINE_bool("do_train", False, "Fine-tune on the train split.")
flags.DEFINE_bool("do_eval", False, "Evaluate on the dev split.")
flags.DEFINE_bool("do_test", False, "Evaluate on the test split.")
flags.DEFINE_bool("do_predict", False,
                  "Write test-split class probabilities to test_results.tsv.")
flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate of AdamW.")
flags.DEFINE_float("num_train_epochs", 3.0, "Training epochs.")
flags.DEFINE_float("warmup_proportion", 0.1,
                   "Fraction of the steps spent in linear warmup.")
flags.DEFINE_integer("save_checkpoints_steps", 1000,
                     "Steps between checkpoints.")
flags.DEFINE_integer("log_every_steps", 50,
                     "Steps between progress log lines.")
flags.DEFINE_string(
    "tfrecord_dir", None,
    "Feature cache directory; features are reused only when built from the "
    "same data file, vocabulary, max length, lower-casing and task.")
flags.DEFINE_integer("rand_seed", None,
                     "Graph and shuffle seed; makes a CPU run repeatable.")
flags.DEFINE_string(
    "export_dir", None,
    "Export a SavedModel and a float TFLite model (model.tflite) here.")
flags.DEFINE_bool("use_post_quantization", False,
                  "With --export_dir, also write model_quant.tflite "
                  "(dynamic-range post-training quantization).")
flags.DEFINE_string(
    "lite_model_path", None,
    "Evaluate this TFLite model on the dev split (and the test split with "
    "--do_test); writes lite_eval_results.txt.")
flags.DEFINE_bool("use_einsum", True,
                  "einsum or reshape+matmul layers for training/eval "
                  "(exports always use reshape+matmul).")
estimator_util.define_tpu_flags()

EVAL_FILES = {"dev": "eval_results.txt", "test": "test_eval_results.txt"}
LITE_EVAL_FILES = {
    "dev": "lite_eval_results.txt",
    "test": "lite_test_eval_results.txt",
}
PREDICT_FILE = "test_results.tsv"
CLASSIFIER_DROPOUT = 0.1


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids,
                 labels, num_labels, use_one_hot_embeddings, use_einsum):
    """Pooled output → dropout → linear layer → softmax cross entropy.

    Returns:
      (mean loss, per-example loss [B], logits [B, C], probabilities [B, C]).
    """
    model = modeling.BertModel(config=bert_config,
                               is_training=is_training,
                               input_ids=input_ids,
                               input_mask=input_mask,
                               token_type_ids=segment_ids,
                               use_one_hot_embeddings=use_one_hot_embeddings,
                               use_einsum=use_einsum)
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


def model_fn_builder(bert_config, num_labels, init_checkpoint, learning_rate,
                     num_train_steps, num_warmup_steps, use_tpu,
                     use_one_hot_embeddings, use_einsum, train_batch_size,
                     log_every_steps):
    """Returns the TPUEstimator model_fn of the classifier."""

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
            bert_config, is_training, input_ids, features["input_mask"],
            features["segment_ids"], label_ids, num_labels,
            use_one_hot_embeddings, use_einsum)
        scaffold_fn = checkpoints.restore_by_name(init_checkpoint, use_tpu,
                                                     tf.trainable_variables())
        if is_training:
            train_op, lr = optimization.create_optimizer(
                loss, learning_rate, num_train_steps, num_warmup_steps,
                use_tpu)
            hook = estimator_util.ProgressHook(
                {"loss": loss, "learning_rate": lr}, train_batch_size,
                log_every_steps)
            return tf.estimator.tpu.TPUEstimatorSpec(mode=mode,
                                                     loss=loss,
                                                     train_op=train_op,
                                                     training_hooks=[hook],
                                                     scaffold_fn=scaffold_fn)
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


def make_estimator(bert_config, num_labels, num_train_steps,
                   num_warmup_steps):
    """The TPUEstimator for training, evaluation and prediction."""
    run_config = estimator_util.make_run_config(
        FLAGS, FLAGS.output_dir, FLAGS.save_checkpoints_steps,
        tf_random_seed=FLAGS.rand_seed)
    model_fn = model_fn_builder(bert_config, num_labels, FLAGS.init_checkpoint,
                                FLAGS.learning_rate, num_train_steps,
                                num_warmup_steps, FLAGS.use_tpu, FLAGS.use_tpu,
                                FLAGS.use_einsum, FLAGS.train_batch_size,
                                FLAGS.log_every_steps)
    return tf.estimator.tpu.TPUEstimator(
        use_tpu=FLAGS.use_tpu,
        model_fn=model_fn,
        config=run_config,
        train_batch_size=FLAGS.train_batch_size,
        eval_batch_size=FLAGS.eval_batch_size,
        predict_batch_size=FLAGS.predict_batch_size)


def make_export_estimator(bert_config, num_labels):
    """A CPU estimator over --output_dir whose graph converts to TFLite."""
    model_fn = model_fn_builder(bert_config,
                                num_labels,
                                init_checkpoint=None,
                                learning_rate=0.0,
                                num_train_steps=0,
                                num_warmup_steps=0,
                                use_tpu=False,
                                use_one_hot_embeddings=False,
                                use_einsum=False,
                                train_batch_size=1,
                                log_every_steps=1)
    return tf.estimator.tpu.TPUEstimator(
        use_tpu=False,
        model_fn=model_fn,
        config=tf.estimator.tpu.RunConfig(model_dir=FLAGS.output_dir),
        train_batch_size=1,
        predict_batch_size=FLAGS.predict_batch_size,
        export_to_tpu=False)


def write_results(path, results, title):
    """Writes `key = value` lines (sorted) and logs them."""
    tf.logging.info("***** %s *****", title)
    with tf.io.gfile.GFile(path, "w") as writer:
        for key in sorted(results):
            tf.logging.info("  %s = %s", key, results[key])
            writer.write("%s = %s\n" % (key, results[key]))


class Classifier(object):
    """Runs the requested actions of one invocation."""

    def __init__(self):
        self.processor = classifier_data.get_processor(FLAGS.task_name)
        self.label_list = self.processor.get_labels()
        self.tokenizer = tokenization.FullTokenizer(
            vocab_file=FLAGS.vocab_file,
            do_lower_case=FLAGS.do_lower_case,
            spm_model_file=FLAGS.spm_model_file)
        self.bert_config = None
        if needs_model():
            self.bert_config = modeling.BertConfig.from_json_file(
                FLAGS.bert_config_file)
            self.bert_config.check_seq_length(FLAGS.max_seq_length)
            if len(self.tokenizer.vocab) > self.bert_config.vocab_size:
                raise ValueError(
                    "vocab_file: %d entries, more than the config's "
                    "vocab_size %d (%s)" %
                    (len(self.tokenizer.vocab), self.bert_config.vocab_size,
                     FLAGS.bert_config_file))

    def features(self, split):
        """(TFRecord path, number of examples) of a split."""
        return classifier_data.prepare_features(
            self.processor, FLAGS.task_name, split, FLAGS.data_dir,
            self.tokenizer, FLAGS.max_seq_length, FLAGS.vocab_file,
            FLAGS.spm_model_file, FLAGS.do_lower_case, FLAGS.output_dir,
            FLAGS.tfrecord_dir)

    def run(self):
        """Train, evaluate, predict, export, evaluate TFLite — as asked."""
        num_train_steps = num_warmup_steps = 0
        train_file = None
        if FLAGS.do_train:
            train_file, num_examples = self.features("train")
            num_train_steps = int(num_examples / FLAGS.train_batch_size *
                                  FLAGS.num_train_epochs)
            if num_train_steps < 1:
                raise ValueError(
                    "train: %d examples at batch size %d for %g epochs is "
                    "less than one step" %
                    (num_examples, FLAGS.train_batch_size,
                     FLAGS.num_train_epochs))
            num_warmup_steps = int(num_train_steps * FLAGS.warmup_proportion)
            tf.logging.info(
                "***** Training: %d examples, batch size %d, %d steps "
                "(%d warmup) *****", num_examples, FLAGS.train_batch_size,
                num_train_steps, num_warmup_steps)
        estimator = None
        if needs_estimator():
            estimator = make_estimator(self.bert_config, len(self.label_list),
                                       num_train_steps, num_warmup_steps)
        if FLAGS.do_train:
            input_fn = classifier_data.input_fn_builder(
                train_file,
                FLAGS.max_seq_length,
                is_training=True,
                drop_remainder=True,
                seed=FLAGS.rand_seed)
            estimator.train(input_fn=input_fn, max_steps=num_train_steps)
        if FLAGS.do_eval:
            self.evaluate(estimator, "dev")
        if FLAGS.do_test:
            self.evaluate(estimator, "test")
        if FLAGS.do_predict:
            self.predict(estimator)
        if FLAGS.export_dir:
            self.export()
        if FLAGS.lite_model_path:
            self.evaluate_lite("dev")
            if FLAGS.do_test:
                self.evaluate_lite("test")

    def padded_input(self, split, batch_size):
        """An input_fn over `split`, padded to whole batches on TPU.

        Returns:
          (input_fn, number of real examples, number of padding examples,
           steps that cover them all).
        """
        record_file, num_examples = self.features(split)
        num_padding, steps = classifier_data.padded_batches(
            num_examples, batch_size, FLAGS.use_tpu)
        input_fn = classifier_data.input_fn_builder(
            record_file,
            FLAGS.max_seq_length,
            is_training=False,
            drop_remainder=FLAGS.use_tpu,
            num_padding=num_padding)
        return input_fn, num_examples, num_padding, steps

    def evaluate(self, estimator, split):
        """Accuracy and loss of the newest checkpoint on every example."""
        input_fn, num_examples, num_padding, steps = self.padded_input(
            split, FLAGS.eval_batch_size)
        tf.logging.info("***** Evaluating on %s: %d examples (+%d padding) "
                        "*****", split, num_examples, num_padding)
        results = estimator.evaluate(input_fn=input_fn, steps=steps)
        results["eval_examples"] = num_examples
        write_results(os.path.join(FLAGS.output_dir, EVAL_FILES[split]),
                      results, "%s results" % split)
        return results

    def predict(self, estimator):
        """Writes one tab-separated row of probabilities per test example."""
        input_fn, num_examples, _, _ = self.padded_input(
            "test", FLAGS.predict_batch_size)
        path = os.path.join(FLAGS.output_dir, PREDICT_FILE)
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

    def export(self):
        """SavedModel and TFLite model(s) of the newest checkpoint."""
        estimator = make_export_estimator(self.bert_config,
                                          len(self.label_list))
        serving_fn = export_util.serving_input_receiver_fn_builder(
            FLAGS.max_seq_length)
        paths = export_util.export_models(estimator, serving_fn,
                                          FLAGS.export_dir,
                                          FLAGS.use_post_quantization)
        for kind, path in sorted(paths.items()):
            tf.logging.info("Exported %s: %s", kind, path)
        return paths

    def evaluate_lite(self, split):
        """Accuracy and loss of --lite_model_path on every example."""
        record_file, num_examples = self.features(split)
        examples = classifier_data.read_features(record_file,
                                                 FLAGS.max_seq_length)
        outputs = export_util.run_tflite(FLAGS.lite_model_path, examples)
        if "probabilities" not in outputs:
            raise ValueError(
                "%s: the model has no output named 'probabilities' (has %s)"
                % (FLAGS.lite_model_path, ", ".join(sorted(outputs))))
        labels = np.array([e["label_ids"] for e in examples])
        results = lite_metrics(outputs["probabilities"], labels)
        results["eval_examples"] = num_examples
        results["lite_model_path"] = FLAGS.lite_model_path
        write_results(os.path.join(FLAGS.output_dir, LITE_EVAL_FILES[split]),
                      results, "TFLite %s results" % split)
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


def needs_estimator():
    """Whether this run trains, evaluates or predicts with the estimator."""
    return FLAGS.do_train or FLAGS.do_eval or FLAGS.do_test or FLAGS.do_predict


def needs_model():
    """Whether this run builds the model graph (everything but TFLite)."""
    return needs_estimator() or bool(FLAGS.export_dir)


def validate_flags():
    """Raises ValueError naming the first missing or contradictory flag."""
    if not (needs_model() or FLAGS.lite_model_path):
        raise ValueError("Nothing to do: pass at least one of --do_train, "
                         "--do_eval, --do_test, --do_predict, --export_dir, "
                         "--lite_model_path")
    required = ["task_name", "output_dir"]
    if needs_estimator() or FLAGS.lite_model_path:
        required.append("data_dir")
    if needs_model():
        required.append("bert_config_file")
    for name in required:
        if not getattr(FLAGS, name):
            raise ValueError("--%s is required" % name)
    if not (FLAGS.vocab_file or FLAGS.spm_model_file):
        raise ValueError("--vocab_file (or --spm_model_file) is required")
    classifier_data.get_processor(FLAGS.task_name)
    if FLAGS.max_seq_length < 3:
        raise ValueError("--max_seq_length: %d is too short; [CLS] a [SEP] b "
                         "[SEP] needs at least 3 tokens" %
                         FLAGS.max_seq_length)
    if (FLAGS.lite_model_path and not FLAGS.export_dir and
            not tf.io.gfile.exists(FLAGS.lite_model_path)):
        raise ValueError("--lite_model_path: %s not found" %
                         FLAGS.lite_model_path)
    if FLAGS.use_post_quantization and not FLAGS.export_dir:
        raise ValueError("--use_post_quantization needs --export_dir")
    tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case,
                                                  FLAGS.init_checkpoint)


def main(_):
    tf.logging.set_verbosity(tf.logging.INFO)
    validate_flags()
    tf.io.gfile.makedirs(FLAGS.output_dir)
    Classifier().run()


if __name__ == "__main__":
    app.run(main)
