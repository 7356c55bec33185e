"""Optimizer tests: schedule values, AdamW update rule, teacher exclusion."""
import numpy as np
import tensorflow.compat.v1 as tf

import optimization


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
