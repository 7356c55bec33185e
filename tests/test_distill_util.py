"""Distillation losses and schedules against NumPy re-computations."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from pretrain import distill_util

B, S, H, N, L, V, M = 2, 5, 6, 3, 2, 11, 4


def np_standardize(x):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12)


def np_log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def np_softmax(x):
    return np.exp(np_log_softmax(x))


def np_terms(t_hidden, s_hidden, t_scores, s_scores):
    """The four per-layer transfer terms, written out in NumPy."""
    mse = np.mean((np_standardize(t_hidden) - np_standardize(s_hidden)) ** 2)
    kl = np.mean(
        np.sum(-np_softmax(t_scores) * np_log_softmax(s_scores), axis=-1))
    mean = np.mean((t_hidden.mean(-1) - s_hidden.mean(-1)) ** 2)
    var = np.mean(np.abs(t_hidden.var(-1) - s_hidden.var(-1)))
    return mse, kl, mean, var


@pytest.fixture(scope="module")
def layer_data():
    rng = np.random.RandomState(0)
    # Each layer gets a different scale so a wrong pairing changes the sums.
    return {
        "t_hidden": [rng.randn(B, S, H) * (j + 1) for j in range(L)],
        "s_hidden": [rng.randn(B, S, H) * (2 * j + 0.5) + j
                     for j in range(L)],
        "t_scores": [rng.randn(B, N, S, S) * (j + 1) for j in range(L)],
        "s_scores": [rng.randn(B, N, S, S) - j for j in range(L)],
    }


def const(x):
    return tf.constant(x, tf.float32)


def run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def test_single_layer_terms_match_numpy(layer_data):
    d = {k: v[1] for k, v in layer_data.items()}
    with tf.Graph().as_default():
        t_h, s_h = const(d["t_hidden"]), const(d["s_hidden"])
        t_a, s_a = const(d["t_scores"]), const(d["s_scores"])
        got = run([
            distill_util.feature_map_loss(t_h, s_h),
            distill_util.attention_loss(t_a, s_a),
            distill_util.mean_loss(t_h, s_h),
            distill_util.variance_loss(t_h, s_h)
        ])
    expected = np_terms(d["t_hidden"], d["s_hidden"], d["t_scores"],
                        d["s_scores"])
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("active_layer", [0, 1])
def test_layer_wise_loss_pairs_layer_l_with_layer_l(layer_data, active_layer):
    factors = distill_util.DistillFactors(hidden=100.0, attention=1.0,
                                          beta=5000.0, gamma=5.0)
    gate_values = [1.0 if j == active_layer else 0.0 for j in range(L)]
    with tf.Graph().as_default():
        tensors = {k: [const(x) for x in v]
                   for k, v in layer_data.items()}
        terms = distill_util.layer_wise_loss(
            tensors["t_hidden"], tensors["s_hidden"], tensors["t_scores"],
            tensors["s_scores"], [const(g) for g in gate_values],
            factors)
        got = run(terms)
    per_layer = [
        np_terms(*(layer_data[k][j]
                   for k in ("t_hidden", "s_hidden", "t_scores", "s_scores")))
        for j in range(L)
    ]
    weights = (factors.hidden, factors.attention, factors.beta, factors.gamma)
    names = ("feature_map_transfer_loss", "attention_transfer_loss",
             "mean_transfer_loss", "variance_transfer_loss")
    for i, name in enumerate(names):
        expected = weights[i] * sum(
            g * per_layer[j][i] for j, g in enumerate(gate_values)) / L
        np.testing.assert_allclose(got[name], expected, rtol=1e-5)
    np.testing.assert_allclose(got["total_loss"],
                               sum(got[n] for n in names), rtol=1e-5)
    # The published cross-layer pairing (each student layer against all the
    # teacher's layers stacked) gives a different mean-transfer value on this
    # data.
    stacked = np.stack(layer_data["t_hidden"])
    cross = np.mean(
        (stacked.mean(-1) -
         layer_data["s_hidden"][active_layer].mean(-1)[None]) ** 2)
    assert not np.isclose(cross, per_layer[active_layer][2], rtol=1e-3)


def test_zero_factor_terms_are_left_out(layer_data):
    factors = distill_util.DistillFactors(hidden=1.0, attention=0.0,
                                          beta=0.0, gamma=0.0)
    with tf.Graph().as_default():
        tensors = {k: [const(x) for x in v]
                   for k, v in layer_data.items()}
        terms = distill_util.layer_wise_loss(
            tensors["t_hidden"], tensors["s_hidden"], tensors["t_scores"],
            tensors["s_scores"], [tf.constant(1.0)] * L, factors)
    assert list(terms) == ["feature_map_transfer_loss", "total_loss"]


def test_soft_target_mlm_loss_matches_numpy():
    rng = np.random.RandomState(1)
    student, teacher = rng.randn(M, V), rng.randn(M, V) * 2
    labels = np.array([1, 4, 7, 0])
    weights = np.array([1.0, 1.0, 1.0, 0.0])
    ratio = 0.3
    with tf.Graph().as_default():
        loss, per_example = distill_util.soft_target_mlm_loss(
            const(student), tf.constant(labels), const(weights),
            const(teacher), ratio)
        plain, _ = distill_util.soft_target_mlm_loss(
            const(student), tf.constant(labels), const(weights))
        accuracy = distill_util.masked_lm_accuracy(
            const(student), tf.constant(labels), const(weights))
        got = run([loss, per_example, plain, accuracy])
    one_hot = np.eye(V)[labels]
    targets = (1 - ratio) * np_softmax(teacher) + ratio * one_hot
    expected_rows = -np.sum(targets * np_log_softmax(student), -1)
    np.testing.assert_allclose(got[1], expected_rows, rtol=1e-5)
    np.testing.assert_allclose(
        got[0], np.sum(weights * expected_rows) / (weights.sum() + 1e-5),
        rtol=1e-5)
    hard_rows = -np_log_softmax(student)[np.arange(M), labels]
    np.testing.assert_allclose(
        got[2], np.sum(weights * hard_rows) / (weights.sum() + 1e-5),
        rtol=1e-5)
    correct = (student.argmax(-1) == labels).astype(float)
    np.testing.assert_allclose(
        got[3], np.sum(weights * correct) / (weights.sum() + 1e-5),
        rtol=1e-5)


def np_background(step_in_phase, phase_steps):
    x = step_in_phase / float(phase_steps)
    return min(0.1 * np.sqrt(1.0 - x) + 0.9, 10.0 * x)


def test_gates_and_lamb_multipliers_at_phase_boundaries():
    num_steps, layers = 300, 3
    phase = num_steps // layers
    steps = [0, 5, 50, phase - 1, phase, phase + 10, 2 * phase - 1,
             2 * phase, 3 * phase - 1]
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        gates = distill_util.progressive_gates(step, num_steps, layers)
        mults = [distill_util.layer_lr_multiplier(j, step, num_steps, layers)
                 for j in range(layers)]
        with tf.Session() as sess:
            values = {s: sess.run([gates, mults], {step: s}) for s in steps}
    for s in steps:
        current = s // phase
        got_gates, got_mults = values[s]
        assert got_gates == [1.0 if j == current else 0.0
                             for j in range(layers)]
        b = np_background(s - current * phase, phase)
        for j in range(layers):
            g = 0.0 if j > current else (1.0 if j == current else 0.1)
            np.testing.assert_allclose(got_mults[j], 3.0 * b * g, rtol=1e-5,
                                       atol=1e-7)
    # Hand-checked points: every phase starts from 0; a tenth of the way in
    # the ramp meets the decay; later layers wait; finished ones get 0.1.
    assert values[0][1] == [0.0, 0.0, 0.0]
    assert values[phase][1][1] == 0.0
    np.testing.assert_allclose(values[phase + 10][1][1],
                               3 * (0.1 * np.sqrt(0.9) + 0.9), rtol=1e-5)
    np.testing.assert_allclose(values[phase + 10][1][0],
                               0.3 * (0.1 * np.sqrt(0.9) + 0.9), rtol=1e-5)
    np.testing.assert_allclose(values[5][1][0], 3 * 0.5, rtol=1e-5)
    assert values[50][1][2] == 0.0


def test_background_is_one_when_phases_have_one_step():
    """steps_per_phase <= 1: the published b is 1, so each layer trains."""
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        mults = [distill_util.layer_lr_multiplier(j, step, 3, 2)
                 for j in range(2)]
        with tf.Session() as sess:
            values = [sess.run(mults, {step: s}) for s in (0, 1)]
    np.testing.assert_allclose(values, [[3.0, 0.0], [0.3, 3.0]], rtol=1e-6)


def test_multipliers_cover_only_encoder_layers():
    with tf.Graph().as_default():
        names = ["bert/embeddings/word_embeddings",
                 "bert/encoder/layer_0/attention/self/query/kernel",
                 "bert/encoder/layer_1/output/dense/bias",
                 "cls/predictions/output_bias"]
        tvars = [tf.get_variable(n, [2]) for n in names]
        step = tf.constant(60, tf.int64)
        mults = distill_util.layer_wise_lr_multipliers(tvars, step, 100, 2)
        got = run(mults)
    assert sorted(got) == sorted(names[1:3])
    # Step 60 is in phase 1 (P = 50): layer 0 is done, layer 1 ramps up.
    np.testing.assert_allclose(got[names[1]], 0.3 * np_background(10, 50),
                               rtol=1e-5)
    np.testing.assert_allclose(got[names[2]], 3.0 * np_background(10, 50),
                               rtol=1e-5)
