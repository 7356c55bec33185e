"""Gradient accumulation, tf.distribute replicas and loss scaling.

Each equivalence test trains the same tiny MobileBERT classifier twice
through the project's estimator factory and optimizer and compares every
weight: N micro-batches against one batch N times larger, and two replicas
(two logical CPU devices) against one replica with the same global batch.
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO
from pretrain import checkpoints
from pretrain import estimator_util
from pretrain import modeling
from pretrain import optimization

SEQ = 16
NUM_EXAMPLES = 16
STEPS = 3
CPU_DEVICES = ["/cpu:0", "/cpu:1"]


def small_config(name):
    """config/<name>.json with one layer, 100 words and no dropout (so that
    runs are deterministic)."""
    config = modeling.BertConfig.from_json_file(REPO + "/config/%s.json" %
                                                name)
    config.attention_probs_dropout_prob = 0.0
    config.hidden_dropout_prob = 0.0
    config.num_hidden_layers = 1
    config.vocab_size = 100
    return config


def examples():
    rng = np.random.RandomState(7)
    features = {
        "input_ids": rng.randint(1, 100, (NUM_EXAMPLES, SEQ)).astype(np.int32),
        "input_mask": np.ones((NUM_EXAMPLES, SEQ), np.int32),
        "segment_ids": np.zeros((NUM_EXAMPLES, SEQ), np.int32),
    }
    labels = rng.randint(0, 2, NUM_EXAMPLES).astype(np.int32)
    return features, labels


def input_fn(params):
    """Examples in a fixed order, repeated; batches of params' size."""
    features, labels = examples()
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    return dataset.repeat().batch(params["batch_size"], drop_remainder=True)


def classifier_logits(features):
    """Tiny MobileBERT + classification head over a batch of features."""
    model = modeling.BertModel(config=small_config("tiny_student_f2"),
                               is_training=True,
                               input_ids=features["input_ids"],
                               input_mask=features["input_mask"],
                               token_type_ids=features["segment_ids"])
    return modeling.classifier_logits(model.get_pooled_output(), 2)


@pytest.fixture(scope="module")
def init_checkpoint(tmp_path_factory):
    """One set of initial weights for every run (initialisers differ
    between graphs of different structure, even with one seed)."""
    path = str(tmp_path_factory.mktemp("init") / "model.ckpt")
    with tf.Graph().as_default():
        features, _ = examples()
        classifier_logits({k: tf.constant(v) for k, v in features.items()})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, path)
    return path


def model_fn_builder(init_checkpoint, optimizer_name, accumulation_steps,
                     dynamic_loss_scale=False):
    """A classifier model_fn as the fine-tuning scripts build it."""

    def model_fn(features, labels, mode, params):
        del params
        logits = classifier_logits(features)
        checkpoints.restore_by_name(init_checkpoint, use_tpu=False)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                           logits=logits))
        train_op, _ = optimization.create_optimizer(
            loss,
            1e-3,
            num_train_steps=10,
            num_warmup_steps=2,
            use_tpu=False,
            optimizer_name=optimizer_name,
            accumulation_steps=accumulation_steps,
            dynamic_loss_scale=dynamic_loss_scale)
        return tf.estimator.tpu.TPUEstimatorSpec(mode,
                                                 loss=loss,
                                                 train_op=train_op)

    return model_fn


def run_options(**overrides):
    """Single-device options of these tests: seeded, few checkpoints."""
    values = dict(keep_checkpoint_max=1,
                  rand_seed=1,
                  iterations_per_loop=100,
                  log_every_steps=10)
    values.update(overrides)
    return estimator_util.single_device_options(**values)


def trained_weights(model_dir, options, model_fn, global_batch,
                    train_input_fn=input_fn):
    """Trains STEPS updates through the project's estimator factory."""
    estimator = estimator_util.make_estimator(model_fn, str(model_dir),
                                              options, global_batch)
    estimator.train(train_input_fn, max_steps=STEPS)
    reader = tf.train.load_checkpoint(str(model_dir))
    names = [n for n, _ in tf.train.list_variables(str(model_dir))]
    return {n: reader.get_tensor(n) for n in names}


def assert_same_weights(reference, other):
    model_names = [n for n in reference if n.startswith(("bert/", "output_"))]
    assert len(model_names) > 20
    for name in model_names:
        np.testing.assert_allclose(other[name],
                                   reference[name],
                                   rtol=1e-4,
                                   atol=2e-6,
                                   err_msg=name)
    assert reference["global_step"] == other["global_step"] == STEPS


@pytest.mark.slow
@pytest.mark.parametrize("optimizer_name", ["adamw", "lamb"])
def test_accumulated_micro_batches_update_like_one_large_batch(
        tmp_path, init_checkpoint, optimizer_name):
    model_fn = model_fn_builder(init_checkpoint, optimizer_name, 1)
    large = trained_weights(tmp_path / "large", run_options(), model_fn, 8)
    accumulated = trained_weights(
        tmp_path / "accumulated",
        run_options(gradient_accumulation_steps=4),
        model_fn_builder(init_checkpoint, optimizer_name, 4),
        8)
    assert_same_weights(large, accumulated)
    assert accumulated["gradient_accumulation/micro_step"] == 0
    # The weights moved by more than the comparison's tolerance: it is not
    # between initial states.
    initial = tf.train.load_variable(init_checkpoint, "output_weights")
    assert np.abs(initial - large["output_weights"]).max() > 1e-5


def test_global_batch_must_split_into_micro_batches():
    with pytest.raises(ValueError, match="must split into"):
        estimator_util.micro_batch_size(
            10, run_options(gradient_accumulation_steps=4))


def two_cpu_strategy():
    """MirroredStrategy over two logical CPU devices, reducing on one of
    them (the default cross-device ops of TF 2.15 hang on logical CPUs)."""
    return tf.distribute.MirroredStrategy(
        devices=CPU_DEVICES,
        cross_device_ops=tf.distribute.ReductionToOneDevice())


def mirrored_on_two_cpus(tmp_path, model_fn, global_batch,
                         accumulation_steps=1):
    """Trains with MirroredStrategy over two logical CPU devices."""
    strategy = two_cpu_strategy()
    assert strategy.num_replicas_in_sync == 2
    run_config = tf.estimator.RunConfig(
        model_dir=str(tmp_path),
        session_config=tf.ConfigProto(device_count={"CPU": 2}),
        train_distribute=strategy,
        tf_random_seed=1)
    micro_batch = global_batch // (2 * accumulation_steps)
    batch_sizes = {tf.estimator.ModeKeys.TRAIN: micro_batch}
    estimator = estimator_util.DistributedEstimator(model_fn, run_config,
                                                    batch_sizes)
    estimator.train(input_fn, max_steps=STEPS)
    reader = tf.train.load_checkpoint(str(tmp_path))
    return {
        n: reader.get_tensor(n)
        for n, _ in tf.train.list_variables(str(tmp_path))
    }


@pytest.mark.slow
def test_two_replicas_update_like_one_with_the_global_batch(
        tmp_path, init_checkpoint, optimizer_name="adamw"):
    # LAMB across replicas: see the layer-wise distillation test below.
    model_fn = model_fn_builder(init_checkpoint, optimizer_name, 1)
    one = trained_weights(tmp_path / "one", run_options(), model_fn, 8)
    two = mirrored_on_two_cpus(tmp_path / "two", model_fn, 8)
    assert_same_weights(one, two)


@pytest.mark.slow
def test_replicas_and_accumulation_together(tmp_path, init_checkpoint):
    one = trained_weights(tmp_path / "one", run_options(),
                          model_fn_builder(init_checkpoint, "adamw", 1), 8)
    both = mirrored_on_two_cpus(tmp_path / "both",
                                model_fn_builder(init_checkpoint, "adamw", 2),
                                8,
                                accumulation_steps=2)
    assert_same_weights(one, both)


def loss_scale_graph(gradient_value):
    """One variable whose gradient is `gradient_value`; fp16 loss scaling."""
    w = tf.get_variable("w", initializer=[1.0, 2.0])
    g = tf.placeholder(tf.float32, [])
    loss = tf.reduce_sum(w) * g
    train_op, _ = optimization.create_optimizer(loss,
                                                0.1,
                                                10,
                                                0,
                                                False,
                                                dynamic_loss_scale=True)
    return w, g, train_op


def test_loss_scale_skips_non_finite_updates_and_halves():
    with tf.Graph().as_default():
        w, g, train_op = loss_scale_graph(1.0)
        scale = [v for v in tf.global_variables()
                 if v.name == "loss_scale/value:0"][0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            start = sess.run(scale)
            sess.run(train_op, {g: np.inf})
            after_overflow = sess.run([w, scale])
            sess.run(train_op, {g: 1.0})
            after_finite = sess.run([w, scale,
                                     tf.train.get_global_step()])
    assert start == 2.0**15
    np.testing.assert_array_equal(after_overflow[0], [1.0, 2.0])
    assert after_overflow[1] == start / 2
    assert np.all(after_finite[0] < [1.0, 2.0])
    assert after_finite[1] == start / 2
    assert after_finite[2] == 2


def test_loss_scale_gives_the_unscaled_update():
    values = []
    for dynamic in (False, True):
        with tf.Graph().as_default():
            w = tf.get_variable("w", initializer=[1.0, 2.0])
            loss = tf.reduce_sum(w * w) * 1e-3
            train_op, _ = optimization.create_optimizer(
                loss, 0.1, 10, 0, False, dynamic_loss_scale=dynamic)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                for _ in range(3):
                    sess.run(train_op)
                values.append(sess.run(w))
    np.testing.assert_allclose(values[1], values[0], rtol=1e-6)


# ---------------------------------------------------------------------------
# Distillation: run_pretraining's own model_fn (student + teacher/).
# ---------------------------------------------------------------------------

MAX_PREDICTIONS = 4


def pretraining_examples():
    features, _ = examples()
    rng = np.random.RandomState(3)
    features["masked_lm_positions"] = np.stack([
        rng.choice(SEQ, MAX_PREDICTIONS, replace=False)
        for _ in range(NUM_EXAMPLES)
    ]).astype(np.int32)
    features["masked_lm_ids"] = rng.randint(
        1, 100, (NUM_EXAMPLES, MAX_PREDICTIONS)).astype(np.int32)
    features["masked_lm_weights"] = np.ones((NUM_EXAMPLES, MAX_PREDICTIONS),
                                            np.float32)
    return features


def pretraining_input_fn(params):
    dataset = tf.data.Dataset.from_tensor_slices(pretraining_examples())
    return dataset.repeat().batch(params["batch_size"], drop_remainder=True)


def distillation_stage(init_checkpoint, layer_wise):
    from pretrain import pretraining_stages
    return pretraining_stages.Stage(
        name=(pretraining_stages.WARMUP
              if layer_wise else pretraining_stages.MAIN),
        model_dir=None,
        input_files=None,
        max_seq_length=SEQ,
        batch_size=8,
        max_steps=STEPS,
        schedule_steps=2 * STEPS,
        layer_wise=layer_wise,
        with_teacher=True,
        init=checkpoints.InitPlan(
            init_checkpoint, checkpoints.InitSource.DISTILLATION_CHECKPOINT))


@pytest.fixture(scope="module")
def distillation_checkpoint(tmp_path_factory):
    """Initial student and teacher/ weights shared by every run."""
    from pretrain import run_pretraining
    path = str(tmp_path_factory.mktemp("distill_init") / "model.ckpt")
    with tf.Graph().as_default():
        features = {
            k: tf.constant(v) for k, v in pretraining_examples().items()
        }
        run_pretraining.build_models(distillation_stage(None, False),
                                     features,
                                     is_training=False,
                                     student_config=small_config(
                                         "tiny_student_f2"),
                                     teacher_config=small_config(
                                         "tiny_teacher"),
                                     temperature=1.0,
                                     use_one_hot_embeddings=False)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.train.Saver().save(sess, path)
    return path


def distillation_model_fn(init_checkpoint, layer_wise, options):
    from pretrain import distill_util
    from pretrain import pretraining_stages
    from pretrain import run_pretraining
    factors = distill_util.DistillFactors(hidden=1.0,
                                          attention=1.0,
                                          beta=1.0,
                                          gamma=5000.0)
    return run_pretraining.model_fn_builder(
        distillation_stage(init_checkpoint, layer_wise),
        student_config=small_config("tiny_student_f2"),
        teacher_config=small_config("tiny_teacher"),
        optimizer=run_pretraining.OptimizerSettings(
            optimizer="lamb" if layer_wise else "adamw",
            learning_rate=1e-3,
            weight_decay_rate=0.01,
            num_warmup_steps=1),
        distill=pretraining_stages.DistillSettings(factors=factors,
                                                   ground_truth_ratio=0.5,
                                                   temperature=1.0),
        options=options)


@pytest.mark.parametrize("layer_wise", [False, True],
                         ids=["soft_target", "layer_wise"])
@pytest.mark.slow
def test_distillation_two_replicas_like_one(tmp_path, distillation_checkpoint,
                                            layer_wise):
    options = run_options()

    def train(model_dir, strategy):
        run_config = tf.estimator.RunConfig(
            model_dir=str(model_dir),
            session_config=tf.ConfigProto(device_count={"CPU": 2}),
            train_distribute=strategy)
        replicas = strategy.num_replicas_in_sync if strategy else 1
        estimator = estimator_util.DistributedEstimator(
            distillation_model_fn(distillation_checkpoint, layer_wise,
                                  options), run_config,
            {tf.estimator.ModeKeys.TRAIN: 8 // replicas})
        estimator.train(pretraining_input_fn, max_steps=STEPS)
        reader = tf.train.load_checkpoint(str(model_dir))
        return {
            n: reader.get_tensor(n)
            for n, _ in tf.train.list_variables(str(model_dir))
        }

    one = train(tmp_path / "one", None)
    two = train(tmp_path / "two",
                two_cpu_strategy())
    assert_same_weights(one, two)
    teacher = [n for n in one if n.startswith("teacher/bert/")]
    assert teacher
    for name in teacher:
        np.testing.assert_array_equal(one[name], two[name])


def bf16_supported():
    """Whether this TensorFlow has the oneDNN bfloat16 graph rewrite."""
    rewrite = tf.ConfigProto().graph_options.rewrite_options
    return hasattr(rewrite, "auto_mixed_precision_onednn_bfloat16")


@pytest.mark.skipif(not bf16_supported(),
                    reason="TensorFlow 1.15 has no bfloat16 rewrite; "
                    "test_bf16_is_refused_on_tf1 covers this stack")
@pytest.mark.parametrize("layer_wise", [False, True],
                         ids=["soft_target", "layer_wise"])
@pytest.mark.slow
def test_bf16_distillation_has_no_nan(tmp_path, distillation_checkpoint,
                                      layer_wise):
    options = run_options(precision="bf16")
    weights = trained_weights(
        tmp_path, options,
        distillation_model_fn(distillation_checkpoint, layer_wise, options),
        8,
        train_input_fn=pretraining_input_fn)
    initial = tf.train.load_checkpoint(distillation_checkpoint)
    moved = 0
    for name, value in weights.items():
        assert np.all(np.isfinite(value)), name
        if (name.startswith("bert/") and initial.has_tensor(name) and
                not np.array_equal(value, initial.get_tensor(name))):
            moved += 1
    assert moved > 10


@pytest.mark.skipif(bf16_supported(), reason="this stack has bf16")
def test_bf16_is_refused_on_tf1():
    with pytest.raises(ValueError, match="bf16 needs TensorFlow 2"):
        estimator_util.session_config(run_options(precision="bf16"))
