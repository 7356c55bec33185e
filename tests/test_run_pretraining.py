"""End-to-end pretraining on tiny models: teacher MLM, stage 1, stage 3.

Every run is a subprocess (absl flags are process-global and other test
modules define flags of the same names).
"""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, VARIABLES_DIR

SCRIPT = os.path.join(REPO, "pretrain", "run_pretraining.py")
SEQ, PREDS, VOCAB, MASK_ID = 32, 5, 200, 4

TEACHER = {
    "vocab_size": VOCAB, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 64,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64,
    "type_vocab_size": 2, "initializer_range": 0.02,
}
# The structure of config/student_base_f2.json at a tiny size.
STUDENT = {
    "vocab_size": VOCAB, "hidden_size": 32, "embedding_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 32, "intra_bottleneck_size": 16,
    "use_bottleneck": True, "use_bottleneck_attention": True,
    "num_feedforward_networks": 2, "normalization_type": "no_norm",
    "trigram_input": True, "hidden_act": "relu", "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64,
    "type_vocab_size": 2, "classifier_activation": False,
    "initializer_range": 0.02,
}


def make_example(rng):
    """A record with learnable structure: a Markov chain over ids 10..199."""
    length = rng.randint(SEQ // 2, SEQ + 1)
    tokens = [2]  # [CLS]-like
    for _ in range(length - 2):
        if len(tokens) > 1 and rng.rand() < 0.7:
            tokens.append((tokens[-1] * 7 + 3) % 190 + 10)
        else:
            tokens.append(10 + min(int(rng.zipf(1.5)) - 1, 189))
    tokens.append(3)  # [SEP]-like
    num_preds = rng.randint(3, PREDS + 1)
    positions = sorted(rng.choice(np.arange(1, length - 1), num_preds, False))
    input_ids = list(tokens)
    for p in positions:
        input_ids[p] = MASK_ID
    pad = SEQ - length
    segments = [0] * (length // 2) + [1] * (length - length // 2)
    features = {
        "input_ids": input_ids + [0] * pad,
        "input_mask": [1] * length + [0] * pad,
        "segment_ids": segments + [0] * pad,
        "masked_lm_positions": positions + [0] * (PREDS - num_preds),
        "masked_lm_ids": [tokens[p] for p in positions] +
                         [0] * (PREDS - num_preds),
        "next_sentence_labels": [0],
    }
    feature = {
        k: tf.train.Feature(int64_list=tf.train.Int64List(value=v))
        for k, v in features.items()
    }
    feature["masked_lm_weights"] = tf.train.Feature(
        float_list=tf.train.FloatList(value=[1.0] * num_preds + [0.0] *
                                      (PREDS - num_preds)))
    return tf.train.Example(features=tf.train.Features(feature=feature))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Configs and two shards of random-but-structured pretraining records."""
    root = tmp_path_factory.mktemp("pretrain")
    rng = np.random.RandomState(0)
    for shard in range(2):
        path = str(root / ("train-%d.tfrecord" % shard))
        with tf.io.TFRecordWriter(path) as writer:
            for _ in range(64):
                writer.write(make_example(rng).SerializeToString())
    for name, config in (("teacher", TEACHER), ("student", STUDENT)):
        (root / ("%s.json" % name)).write_text(json.dumps(config))
    wide = dict(TEACHER, hidden_size=48, num_attention_heads=4)
    (root / "wide_teacher.json").write_text(json.dumps(wide))
    narrow = dict(STUDENT, embedding_size=16)
    (root / "narrow_student.json").write_text(json.dumps(narrow))
    deep = dict(TEACHER, num_hidden_layers=3)
    (root / "deep_teacher.json").write_text(json.dumps(deep))
    return root


def run_pretraining(*args, check=True):
    """Runs the script; returns (return code, combined log)."""
    proc = subprocess.run([sys.executable, SCRIPT] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=REPO,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    if check and proc.returncode != 0:
        raise AssertionError("run_pretraining failed:\n" + proc.stdout[-5000:])
    return proc.returncode, proc.stdout


def common_flags(work, output_dir):
    return [
        "--input_file=%s" % (work / "train-*.tfrecord"),
        "--output_dir=%s" % output_dir,
        "--max_seq_length=%d" % SEQ,
        "--max_predictions_per_seq=%d" % PREDS,
        "--train_batch_size=8", "--eval_batch_size=8",
        "--iterations_per_loop=10",
    ]


def distill_flags(work, teacher_ckpt):
    return [
        "--bert_config_file=%s" % (work / "student.json"),
        "--bert_teacher_config_file=%s" % (work / "teacher.json"),
        "--init_checkpoint=%s" % teacher_ckpt,
        "--layer_wise_warmup", "--do_train",
        "--hidden_distill_factor=100", "--attention_distill_factor=1",
        "--beta_distill_factor=5000", "--gamma_distill_factor=5",
        "--distill_ground_truth_ratio=0.5",
    ]


def summary_values(summary_dir, tag):
    """{step: value} of a scalar written by --use_summary."""
    values = {}
    for path in glob.glob(os.path.join(summary_dir, "events.out.tfevents*")):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(
                        tf.make_ndarray(value.tensor)
                        if value.HasField("tensor") else value.simple_value)
    assert values, "no %r summaries in %s" % (tag, summary_dir)
    return values


def mean_over(values, steps):
    return np.mean([values[s] for s in steps])


def checkpoint_values(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()}


@pytest.fixture(scope="module")
def teacher(work):
    """A tiny teacher pretrained with plain MLM (r = 1.0).

    The first 20 of its 80 steps are a first round on one shard with a
    smaller batch.
    """
    out = work / "teacher_out"
    _, log = run_pretraining(*common_flags(work, out) + [
        "--bert_config_file=%s" % (work / "teacher.json"),
        "--do_train", "--num_train_steps=80", "--num_warmup_steps=0",
        "--learning_rate=2e-3", "--save_checkpoints_steps=80",
        "--first_input_file=%s" % (work / "train-1.tfrecord"),
        "--first_num_train_steps=20", "--first_train_batch_size=4",
        "--first_max_seq_length=%d" % SEQ, "--use_summary", "--rand_seed=1"
    ])
    (out / "run.log").write_text(log)
    return out


@pytest.fixture(scope="module")
def distilled(work, teacher):
    """Stage 1 (AdamW, layer-wise) and stage 3 against the tiny teacher."""
    out = work / "student_out"
    _, log = run_pretraining(*common_flags(work, out) + distill_flags(
        work, teacher / "model.ckpt-80.index") + [
            "--optimizer=adamw", "--learning_rate=1e-3",
            "--num_distill_steps=60", "--num_train_steps=60",
            "--num_warmup_steps=0", "--save_checkpoints_steps=30",
            "--use_summary", "--do_eval", "--max_eval_steps=4",
            "--rand_seed=1"
        ])
    return out, log


def fixed_batch(work, size=64):
    """The first `size` records of shard 0 as NumPy arrays."""
    lengths = {"input_ids": SEQ, "input_mask": SEQ, "segment_ids": SEQ}
    columns = {}
    for i, raw in enumerate(
            tf.io.tf_record_iterator(str(work / "train-0.tfrecord"))):
        if i == size:
            break
        feature = tf.train.Example.FromString(raw).features.feature
        for name in ("input_ids", "input_mask", "segment_ids",
                     "masked_lm_positions", "masked_lm_ids"):
            values = feature[name].int64_list.value
            assert len(values) == lengths.get(name, PREDS)
            columns.setdefault(name, []).append(values)
        columns.setdefault("masked_lm_weights", []).append(
            feature["masked_lm_weights"].float_list.value)
    return {k: np.array(v, np.float32 if k == "masked_lm_weights" else
                        np.int32) for k, v in columns.items()}


def fixed_batch_losses(work, checkpoints):
    """Per-layer stage-1 losses and the stage-3 loss of each checkpoint.

    Student and teacher run in inference mode on one fixed batch, so the
    numbers of different checkpoints are directly comparable.
    """
    from pretrain import distill_util
    from pretrain import modeling
    batch = fixed_batch(work)
    results = []
    with tf.Graph().as_default():
        f = {k: tf.constant(v) for k, v in batch.items()}
        models = {}
        for scope, name in (("", "student"), ("teacher", "teacher")):
            config = modeling.BertConfig.from_json_file(
                str(work / ("%s.json" % name)))
            with tf.variable_scope(scope):
                model = modeling.BertModel(config, False, f["input_ids"],
                                           f["input_mask"], f["segment_ids"],
                                           scope="bert")
                logits = modeling.masked_lm_logits(
                    config, model.get_sequence_output(),
                    model.get_embedding_table(), f["masked_lm_positions"])
            models[name] = (model, logits)
        (student, s_logits), (teacher, t_logits) = (models["student"],
                                                    models["teacher"])
        factors = distill_util.DistillFactors(100.0, 1.0, 5000.0, 5.0)
        per_layer = [
            distill_util.layer_wise_loss(
                teacher.get_all_encoder_layers()[1:],
                student.get_all_encoder_layers()[1:],
                teacher.get_all_attention_scores(),
                student.get_all_attention_scores(),
                [tf.constant(float(i == layer)) for i in range(2)],
                factors)["total_loss"] for layer in range(2)
        ]
        mlm, _ = distill_util.soft_target_mlm_loss(
            s_logits, f["masked_lm_ids"], f["masked_lm_weights"], t_logits,
            0.5)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            for path in checkpoints:
                saver.restore(sess, str(path))
                results.append(sess.run({"layers": per_layer, "mlm": mlm}))
    return results


@pytest.mark.slow
def test_teacher_mlm_loss_falls(teacher):
    losses = summary_values(str(teacher / "my_summary" / "main"), "mlm_loss")
    assert sorted(losses) == list(range(80))
    # Step 0 is the untrained model: close to a uniform guess.
    assert abs(losses[0] - np.log(VOCAB)) < 0.3
    early, late = mean_over(losses, range(5)), mean_over(losses, range(75, 80))
    assert late < early - 0.5, (early, late)
    assert not glob.glob(str(teacher / "warmup"))
    log = (teacher / "run.log").read_text()
    assert re.search(r"Stage first: steps 0 -> 20 .*batch 4", log)
    assert re.search(r"Stage main: steps 20 -> 80 .*batch 8, .*teacher no",
                     log)


@pytest.mark.slow
def test_stage1_loss_falls_in_every_phase(work, distilled):
    out, log = distilled
    warmup = out / "warmup"
    start, mid, end = fixed_batch_losses(
        work, [warmup / ("model.ckpt-%d" % s) for s in (0, 30, 60)])
    # P = 30 steps per layer: layer 0 learns in phase 0, layer 1 in phase 1.
    assert mid["layers"][0] < 0.8 * start["layers"][0], (start, mid)
    assert end["layers"][1] < 0.8 * mid["layers"][1], (mid, end)
    summary_dir = str(out / "my_summary" / "warmup")
    # The published TensorBoard tags.
    for term in ("feature_map_transfer_loss", "attention_transfer_loss",
                 "mean_transfer_loss", "variance_transfer_loss",
                 "total_loss", "learning_rate"):
        assert sorted(summary_values(summary_dir, term)) == list(range(60))
    assert re.search(r"step \d+ .*attention_transfer_loss=.*examples/sec=",
                     log)


@pytest.mark.slow
def test_stage3_loss_falls_and_eval_written(work, distilled):
    out, _ = distilled
    before, after = fixed_batch_losses(
        work, [out / "model.ckpt-0", out / "model.ckpt-60"])
    assert after["mlm"] < before["mlm"] - 0.05, (before, after)
    summary_dir = str(out / "my_summary" / "main")
    for term in ("distill_loss", "mlm_loss", "masked_lm_accuracy",
                 "learning_rate"):
        assert sorted(summary_values(summary_dir, term)) == list(range(60))
    results = dict(
        line.split(" = ")
        for line in (out / "eval_results.txt").read_text().splitlines())
    assert 0.0 < float(results["masked_lm_accuracy"]) <= 1.0
    assert float(results["masked_lm_loss"]) < np.log(VOCAB)
    assert int(results["global_step"]) == 60
    # With a teacher, `loss` is the soft-target loss (as published; a mean
    # of batch means), named again as distill_loss (a mean over
    # predictions); the hard-label loss is a different number.
    loss, soft, hard = (float(results[k])
                        for k in ("loss", "distill_loss", "masked_lm_loss"))
    assert abs(soft - hard) > 0.05, results
    assert abs(loss - soft) < 0.2 * abs(soft - hard), results


def student_outputs_twice(work, with_teacher, layer_wise=False):
    """The student's sequence output, evaluated twice on one batch in the
    TRAIN-mode graph of a stage (with the teacher or without)."""
    from pretrain import modeling
    from pretrain import pretraining_stages
    from pretrain import run_pretraining as rp
    batch = fixed_batch(work, size=4)
    stage = pretraining_stages.Stage(
        name="main", model_dir=None, input_files=[], max_seq_length=SEQ,
        batch_size=4, max_steps=1, schedule_steps=1, layer_wise=layer_wise,
        with_teacher=with_teacher, init=None)
    configs = [modeling.BertConfig.from_json_file(str(work / name))
               for name in ("student.json", "teacher.json")]
    with tf.Graph().as_default():
        features = {k: tf.constant(v) for k, v in batch.items()}
        models = rp.build_models(stage, features, True, configs[0],
                                 configs[1] if with_teacher else None, 1.0,
                                 False)
        output = models.student.get_sequence_output()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(output), sess.run(output)


@pytest.mark.parametrize("layer_wise", [True, False],
                         ids=["stage1", "stage3"])
def test_student_is_deterministic_whenever_a_teacher_is_built(work,
                                                              layer_wise):
    """The published recipe builds the student with is_training=False in
    the distillation stages; plain MLM keeps its attention dropout."""
    first, second = student_outputs_twice(work, with_teacher=True,
                                          layer_wise=layer_wise)
    np.testing.assert_array_equal(first, second)
    first, second = student_outputs_twice(work, with_teacher=False)
    assert np.any(first != second)


@pytest.mark.slow
def test_teacher_untouched_and_student_starts_from_teacher(
        teacher, distilled):
    out, _ = distilled
    original = checkpoint_values(str(teacher / "model.ckpt-80"))
    start = checkpoint_values(str(out / "warmup" / "model.ckpt-0"))
    end_warmup = checkpoint_values(str(out / "warmup" / "model.ckpt-60"))
    final = checkpoint_values(str(out / "model.ckpt-60"))
    student_params = [n for n in original
                      if n.startswith(("bert/", "cls/")) and "adam_" not in n]
    for name in student_params:
        for ckpt in (start, end_warmup, final):
            np.testing.assert_array_equal(ckpt["teacher/" + name],
                                          original[name], err_msg=name)
    # Stage 1 starts (its step-0 checkpoint is written before the first
    # update) from the teacher's non-encoder weights; AdamW then trains the
    # embeddings, which the head only sees from stage 3 on.
    for name in ("bert/embeddings/word_embeddings",
                 "bert/embeddings/position_embeddings",
                 "bert/embeddings/token_type_embeddings",
                 "cls/predictions/output_bias",
                 "cls/predictions/transform/dense/kernel"):
        np.testing.assert_array_equal(start[name], original[name])
    word = "bert/embeddings/word_embeddings"
    assert not np.array_equal(end_warmup[word], original[word])
    np.testing.assert_array_equal(end_warmup["cls/predictions/output_bias"],
                                  original["cls/predictions/output_bias"])
    assert not np.array_equal(final["cls/predictions/output_bias"],
                              original["cls/predictions/output_bias"])
    # Encoder layers are not copied (shapes differ) and do train.
    kernel = "bert/encoder/layer_1/attention/self/query/kernel"
    assert not np.array_equal(start[kernel], end_warmup[kernel])


def spec_names(config_name, num_layers):
    path = os.path.join(VARIABLES_DIR,
                        "%s.variables.txt" % config_name)
    names = set()
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            name = line.split("\t")[0]
            layer = re.search(r"/layer_(\d+)/", name)
            if layer is None or int(layer.group(1)) < num_layers:
                names.add(name)
    return names


@pytest.mark.slow
def test_checkpoints_hold_documented_names(distilled):
    out, _ = distilled
    names = set(tf.train.load_checkpoint(
        str(out / "model.ckpt-60")).get_variable_to_shape_map())
    student = {n for n in names
               if n.startswith(("bert/", "cls/")) and "adam_" not in n}
    teacher = {n[len("teacher/"):] for n in names
               if n.startswith("teacher/")}
    assert student == spec_names("student_base_f2", 2)
    teacher_spec = spec_names("roberta_wwm_ext", 2)
    assert teacher == teacher_spec
    for name in student:
        assert name + "/adam_m" in names and name + "/adam_v" in names
    assert not [n for n in teacher if "adam_" in n]
    assert "global_step" in names


@pytest.mark.slow
def test_resume_after_kill_skips_finished_work(work, teacher):
    out = work / "resume_out"
    args = [sys.executable, SCRIPT] + common_flags(work, out) + distill_flags(
        work, teacher / "model.ckpt-80") + [
            "--optimizer=lamb", "--num_distill_steps=10",
            "--num_train_steps=120", "--save_checkpoints_steps=40",
            "--learning_rate=1e-3"
        ]
    log_path = str(work / "resume_first.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                cwd=REPO)
        state = out / "checkpoint"
        # Generous: the loop ends at the first main-stage checkpoint, and a
        # loaded machine may take minutes to get there.
        deadline = time.time() + 900
        while time.time() < deadline and proc.poll() is None:
            if state.exists() and re.search(r"model\.ckpt-[1-9]\d*\"",
                                            state.read_text()):
                break
            time.sleep(0.02)
        exited = proc.poll()
        if exited is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with open(log_path) as log:
        assert exited is None and state.exists(), log.read()[-3000:]
    killed_step = int(tf.train.load_variable(str(out), "global_step"))
    assert 0 < killed_step < 120
    warmup_files = {
        p: os.path.getmtime(p) for p in glob.glob(str(out / "warmup" / "*"))
    }
    assert tf.train.load_variable(str(out / "warmup"), "global_step") == 10
    # LAMB's layer-wise multipliers froze everything outside the encoder.
    word = "bert/embeddings/word_embeddings"
    np.testing.assert_array_equal(
        tf.train.load_variable(str(out / "warmup"), word),
        tf.train.load_variable(str(teacher / "model.ckpt-80"), word))

    _, log = run_pretraining(*args[2:])
    assert "stage warmup is not run again" in log
    assert "Stage warmup:" not in log
    assert re.search(r"Stage main: steps %d -> 120" % killed_step, log)
    assert tf.train.load_variable(str(out), "global_step") == 120
    assert {p: os.path.getmtime(p) for p in warmup_files} == warmup_files
    assert sorted(glob.glob(str(out / "warmup" / "*"))) == sorted(warmup_files)


@pytest.mark.slow
def test_rand_seed_repeats_a_cpu_run(work):
    runs = []
    for name in ("seeded_a", "seeded_b"):
        out = work / name
        run_pretraining(*common_flags(work, out) + [
            "--bert_config_file=%s" % (work / "teacher.json"), "--do_train",
            "--num_train_steps=6", "--num_warmup_steps=0",
            "--learning_rate=2e-3", "--save_checkpoints_steps=6",
            "--rand_seed=7"
        ])
        runs.append(checkpoint_values(str(out / "model.ckpt-6")))
    assert sorted(runs[0]) == sorted(runs[1])
    for name, value in runs[0].items():
        np.testing.assert_array_equal(value, runs[1][name], err_msg=name)


@pytest.mark.slow
def test_shape_mismatch_is_reported_not_mapped(work, teacher):
    out = work / "narrow_out"
    _, log = run_pretraining(*common_flags(work, out) + distill_flags(
        work, teacher / "model.ckpt-80") + [
            "--bert_config_file=%s" % (work / "narrow_student.json"),
            "--num_distill_steps=2", "--num_train_steps=0",
            "--save_checkpoints_steps=2"
        ])
    assert re.search(
        r"Not restored .*bert/embeddings/word_embeddings: graph shape "
        r"\[200, 16\], checkpoint shape \[200, 32\]", log)
    start = checkpoint_values(str(out / "warmup" / "model.ckpt-0"))
    original = checkpoint_values(str(teacher / "model.ckpt-80"))
    assert start["bert/embeddings/word_embeddings"].shape == (VOCAB, 16)
    np.testing.assert_array_equal(
        start["bert/embeddings/position_embeddings"],
        original["bert/embeddings/position_embeddings"])


def embeddings_only_checkpoint(source, out_dir):
    """A checkpoint holding only the embeddings of the `source` teacher."""
    values = checkpoint_values(str(source))
    with tf.Graph().as_default():
        tvars = [tf.get_variable(n, initializer=v)
                 for n, v in values.items()
                 if n.startswith("bert/embeddings/")]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver(tvars).save(sess, str(out_dir / "model"))


@pytest.mark.parametrize("case", ["empty_glob", "deep_teacher", "wide_teacher",
                                  "no_teacher_vars"])
@pytest.mark.slow
def test_bad_input_gives_clear_error(work, teacher, case):
    out = work / ("bad_" + case)
    args = common_flags(work, out) + distill_flags(
        work, teacher / "model.ckpt-80") + [
            "--num_distill_steps=4", "--num_train_steps=4"
        ]
    if case == "empty_glob":
        args.append("--input_file=%s" % (work / "nothing-*.tfrecord"))
        expected = r"--input_file: .*nothing-\*\.tfrecord.* matched no files"
    elif case == "deep_teacher":
        args.append("--bert_teacher_config_file=%s" %
                    (work / "deep_teacher.json"))
        expected = r"num_hidden_layers: .*student has 2 layers.*teacher 3"
    elif case == "wide_teacher":
        args.append("--bert_teacher_config_file=%s" %
                    (work / "wide_teacher.json"))
        expected = r"hidden_size: .*student's hidden_size is 32.*teacher's 48"
    else:
        args.append("--init_checkpoint=%s" % embeddings_only_checkpoint(
            teacher / "model.ckpt-80", work / "embeddings_only"))
        expected = (r"cannot provide \d+ teacher variable\(s\)(.|\n)*"
                    r"missing: teacher/bert/encoder/layer_0/")
    code, log = run_pretraining(*args, check=False)
    assert code != 0
    assert re.search(expected, log), log[-3000:]
    assert not glob.glob(str(out / "warmup" / "*.index"))


def test_shard_truncated_after_its_first_record_is_named(work, tmp_path):
    """Damage past the checked first record fails inside TensorFlow's
    reader; the error line still names the file and flag."""
    shard = tmp_path / "truncated.tfrecord"
    data = (work / "train-0.tfrecord").read_bytes()
    # Cut inside a record (a cut that leaves only part of the next 12-byte
    # header reads as a clean end of file on both stacks).
    shard.write_bytes(data[:len(data) // 2 + 100])
    code, log = run_pretraining(
        "--input_file=%s" % shard, "--output_dir=%s" % (tmp_path / "out"),
        "--bert_config_file=%s" % (work / "teacher.json"),
        "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PREDS,
        "--train_batch_size=8", "--do_train", "--num_train_steps=20",
        "--num_warmup_steps=0", "--iterations_per_loop=20", check=False)
    assert code == 1
    assert re.match(r"ERROR: .*truncated\.tfrecord \(--input_file\): "
                    r"truncated or corrupt after its first \d+ records",
                    log.strip().splitlines()[-1]), log[-3000:]


def test_run_pretrain_sh_flags_exist():
    _, help_text = run_pretraining("--helpfull", check=False)
    defined = set(re.findall(r"^\s+--(?:\[no\])?(\w+)", help_text, re.M))
    with open(os.path.join(REPO, "pretrain", "run.pretrain.sh")) as f:
        script = f.read()
    passed = set(re.findall(r"--(\w+)=", script)) | set(
        re.findall(r"--(\w+)\b(?!=)", script))
    assert "layer_wise_warmup" in passed and "num_distill_steps" in passed
    assert passed <= defined, passed - defined
    # As the published runs: summaries on, every checkpoint kept.
    assert "--use_summary=true" in script
    assert re.search(r"--keep_checkpoint_max: [^\n]*\n\s+\(default: '0'\)",
                     help_text)


@pytest.mark.slow
def test_gradient_accumulation_counts_updates(work):
    out = work / "accumulated"
    _, log = run_pretraining(*common_flags(work, out) + [
        "--bert_config_file=%s" % (work / "teacher.json"), "--do_train",
        "--num_train_steps=4", "--num_warmup_steps=0",
        "--save_checkpoints_steps=4", "--gradient_accumulation_steps=2"
    ])
    assert re.search(r"Stage main: steps 0 -> 4 .*batch 8,", log)
    assert tf.train.load_variable(str(out), "global_step") == 4


@pytest.mark.slow
def test_plan_after_main_began(work, distilled):
    from pretrain import distill_util
    from pretrain import pretraining_stages as stages
    out, _ = distilled
    recipe = stages.Recipe(
        output_dir=str(out), input_file=str(work / "train-*.tfrecord"),
        first_input_file=str(work / "train-1.tfrecord"),
        init_checkpoint="unused", max_seq_length=SEQ,
        first_max_seq_length=SEQ, train_batch_size=8,
        first_train_batch_size=4, layer_wise_warmup=True,
        num_distill_steps=60, first_num_train_steps=20, num_train_steps=90)
    distill = stages.DistillSettings(
        factors=distill_util.DistillFactors(1.0, 0.0, 0.0, 0.0),
        ground_truth_ratio=0.5, temperature=1.0)
    plan = stages.plan_training_stages(recipe, distill)
    # Stage main began (step 60): no warmup and no initialisation again;
    # the first round is finished and will be skipped when trained.
    assert [s.name for s in plan] == [stages.FIRST, stages.MAIN]
    assert [s.init for s in plan] == [None, None]
    assert [(s.max_steps, s.schedule_steps) for s in plan] == [(20, 90),
                                                               (90, 90)]
    assert [s.batch_size for s in plan] == [4, 8]
    assert all(s.with_teacher and not s.layer_wise for s in plan)
    stages.check_teacher_checkpoint(plan)


def test_plan_of_a_fresh_run(work):
    from pretrain import checkpoints
    from pretrain import distill_util
    from pretrain import pretraining_stages as stages
    recipe = stages.Recipe(
        output_dir=str(work / "never_run"),
        input_file=str(work / "train-*.tfrecord"), first_input_file=None,
        init_checkpoint="teacher/", max_seq_length=SEQ,
        first_max_seq_length=SEQ, train_batch_size=8,
        first_train_batch_size=None, layer_wise_warmup=True,
        num_distill_steps=10, first_num_train_steps=0, num_train_steps=30)
    distill = stages.DistillSettings(
        factors=distill_util.DistillFactors(1.0, 0.0, 0.0, 0.0),
        ground_truth_ratio=1.0, temperature=1.0)
    warmup, main = stages.plan_training_stages(recipe, distill)
    assert (warmup.name, warmup.layer_wise, warmup.with_teacher) == (
        stages.WARMUP, True, True)
    assert warmup.init == checkpoints.InitPlan(
        "teacher/", checkpoints.InitSource.TEACHER_CHECKPOINT)
    assert warmup.model_dir == str(work / "never_run" / "warmup")
    # Plain MLM after the transfer: the student alone, from stage warmup.
    assert (main.name, main.layer_wise, main.with_teacher) == (
        stages.MAIN, False, False)
    assert main.init == checkpoints.InitPlan(
        warmup.model_dir, checkpoints.InitSource.DISTILLATION_CHECKPOINT)
    with pytest.raises(ValueError, match="--first_input_file is required"):
        stages.check_recipe(
            recipe._replace(first_num_train_steps=5), distill)


def test_flags_are_read_in_main_only():
    import ast
    with open(SCRIPT) as f:
        tree = ast.parse(f.read())
    readers = {
        node.name for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(n, ast.Name) and n.id == "FLAGS"
            for n in ast.walk(node))
    }
    assert readers == {"main"}, readers
