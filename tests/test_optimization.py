"""Optimizer tests: schedule values, AdamW update rule, teacher exclusion."""
import numpy as np
import tensorflow.compat.v1 as tf

from pretrain import optimization


def test_warmup_then_linear_decay():
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        lr = optimization.learning_rate_schedule(1.0, 100, 10, 1e-4, step)
        with tf.Session() as sess:
            values = [sess.run(lr, {step: s}) for s in (0, 5, 10, 55, 100)]
    expected = [0.0, 0.5, 1.0 - 0.9999 * 0.1, 1.0 - 0.9999 * 0.55, 1e-4]
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-7)


def test_adamw_matches_numpy_and_skips_teacher():
    with tf.Graph().as_default():
        w = tf.get_variable("dense/kernel", initializer=[1.0, -2.0])
        b = tf.get_variable("dense/bias", initializer=[0.5])
        t = tf.get_variable("teacher/kernel", initializer=[3.0])
        loss = tf.reduce_sum(w * w) + tf.reduce_sum(b) + tf.reduce_sum(t * w)
        train_op, _ = optimization.create_optimizer(loss, 0.1, 10, 0, False,
                                                    weight_decay_rate=0.01,
                                                    end_lr_rate=1.0)
        slot_names = {v.name for v in tf.global_variables()}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op)
            new_w, new_b, new_t, step = sess.run(
                [w, b, t, tf.train.get_global_step()])
    assert "teacher/kernel/adam_m:0" not in slot_names
    assert "dense/kernel/adam_m:0" in slot_names
    grad_w = np.array([2 * 1.0 + 3.0, 2 * -2.0 + 3.0])
    # Clipped to global norm 1.0 together with the bias gradient (1.0).
    norm = np.sqrt(np.sum(grad_w ** 2) + 1.0)
    gw, gb = grad_w / norm, 1.0 / norm

    def adamw(g, p, decay):
        m, v = 0.1 * g, 0.001 * g * g
        return p - 0.1 * (m / (np.sqrt(v) + 1e-6) + decay * p)
    np.testing.assert_allclose(new_w, adamw(gw, np.array([1.0, -2.0]), 0.01),
                               rtol=1e-5)
    np.testing.assert_allclose(new_b, adamw(gb, np.array([0.5]), 0.0),
                               rtol=1e-5)
    assert new_t[0] == 3.0 and step == 1


def np_lamb_step(w, g, m, v, lr, decay, multiplier=1.0, adapt=True):
    """One LAMB step in NumPy (no bias correction, decoupled decay)."""
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    update = m / (np.sqrt(v) + 1e-6) + decay * w
    ratio = 1.0
    if adapt and np.linalg.norm(w) > 0 and np.linalg.norm(update) > 0:
        ratio = np.linalg.norm(w) / np.linalg.norm(update)
    return w - lr * multiplier * ratio * update, m, v


def lamb_graph(lr_multipliers=None, optimizer_name="lamb"):
    """Two variables and a loss whose gradients are easy to write down."""
    w = tf.get_variable("layer/kernel", initializer=[1.0, -2.0, 0.5])
    b = tf.get_variable("layer/bias", initializer=[0.3, 0.1])
    loss = 0.5 * tf.reduce_sum(w * w * [1.0, 2.0, 3.0]) + tf.reduce_sum(b)
    multipliers = None
    if lr_multipliers is not None:
        multipliers = {"layer/kernel": lr_multipliers,
                       "layer/bias": tf.constant(1.0)}
    train_op, _ = optimization.create_optimizer(
        loss, 0.1, 10, 0, False, optimizer_name=optimizer_name,
        weight_decay_rate=0.01, end_lr_rate=1.0, lr_multipliers=multipliers)
    return w, b, train_op


def clipped(grads):
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    return [g * min(1.0, 1.0 / norm) for g in grads]


def test_lamb_matches_numpy_with_multiplier():
    with tf.Graph().as_default():
        mult = tf.placeholder(tf.float32, [])
        w, b, train_op = lamb_graph(mult)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op, {mult: 2.5})
            new_w, new_b = sess.run([w, b])
    w0, b0 = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1])
    gw, gb = clipped([w0 * [1.0, 2.0, 3.0], np.ones(2)])
    zeros_w, zeros_b = np.zeros(3), np.zeros(2)
    exp_w = np_lamb_step(w0, gw, zeros_w, zeros_w, 0.1, 0.01, 2.5)[0]
    # Bias: no weight decay and no trust ratio.
    exp_b = np_lamb_step(b0, gb, zeros_b, zeros_b, 0.1, 0.0, adapt=False)[0]
    np.testing.assert_allclose(new_w, exp_w, rtol=1e-5)
    np.testing.assert_allclose(new_b, exp_b, rtol=1e-5)


def test_lamb_zero_multiplier_holds_variable_and_resets_moments():
    """The published gate 1[multiplier > 0]: moments restart from zero."""
    with tf.Graph().as_default():
        mult = tf.placeholder(tf.float32, [])
        w, _, train_op = lamb_graph(mult)
        slots = [tf.global_variables("layer/kernel/adam_" + s)[0]
                 for s in ("m", "v")]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op, {mult: 1.0})
            before = sess.run([w] + slots)
            sess.run(train_op, {mult: 0.0})
            after = sess.run([w] + slots)
            sess.run(train_op, {mult: 1.0})
            restarted = sess.run([w] + slots)
    assert np.any(before[1] != 0) and np.any(before[2] != 0)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], np.zeros(3))
    np.testing.assert_array_equal(after[2], np.zeros(3))
    # The next active step starts its moments from zero, like the first.
    w0 = before[0]
    grad = clipped([w0 * [1.0, 2.0, 3.0], np.ones(2)])[0]
    exp_w, exp_m, exp_v = np_lamb_step(w0, grad, np.zeros(3), np.zeros(3),
                                       0.1, 0.01)
    np.testing.assert_allclose(restarted[0], exp_w, rtol=1e-5)
    np.testing.assert_allclose(restarted[1], exp_m, rtol=1e-5)
    np.testing.assert_allclose(restarted[2], exp_v, rtol=1e-5)


def test_lamb_freezes_variables_missing_from_multipliers():
    with tf.Graph().as_default():
        w = tf.get_variable("encoder/kernel", initializer=[1.0, 2.0])
        emb = tf.get_variable("embeddings/table", initializer=[3.0, 4.0])
        loss = tf.reduce_sum(w * w) + tf.reduce_sum(emb * emb)
        train_op, _ = optimization.create_optimizer(
            loss, 0.1, 10, 0, False, optimizer_name="lamb",
            end_lr_rate=1.0, lr_multipliers={"encoder/kernel": 1.0})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op)
            new_w, new_emb = sess.run([w, emb])
    assert np.all(new_w != [1.0, 2.0])
    np.testing.assert_array_equal(new_emb, [3.0, 4.0])


def test_adamw_ignores_multipliers():
    with tf.Graph().as_default():
        w, _, train_op = lamb_graph(tf.constant(0.0), optimizer_name="adamw")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train_op)
            new_w = sess.run(w)
    w0 = np.array([1.0, -2.0, 0.5])
    gw, _ = clipped([w0 * [1.0, 2.0, 3.0], np.ones(2)])
    m, v = 0.1 * gw, 0.001 * gw * gw
    expected = w0 - 0.1 * (m / (np.sqrt(v) + 1e-6) + 0.01 * w0)
    np.testing.assert_allclose(new_w, expected, rtol=1e-5)


def test_embedding_lookup_gradients_train_with_both_optimizers():
    for name in ("adamw", "lamb"):
        with tf.Graph().as_default():
            table = tf.get_variable("emb", initializer=[[1.0, 2.0],
                                                        [3.0, 4.0]])
            loss = tf.reduce_sum(tf.gather(table, [1]) ** 2)
            train_op, _ = optimization.create_optimizer(
                loss, 0.1, 10, 0, False, optimizer_name=name,
                weight_decay_rate=0.0, end_lr_rate=1.0)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(train_op)
                new_table = sess.run(table)
        np.testing.assert_array_equal(new_table[0], [1.0, 2.0])
        assert np.all(new_table[1] < [3.0, 4.0]), name
