# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""LAMB: Adam with a layer-wise trust ratio, plus per-variable multipliers.

For each variable w with gradient g (moments m, v; no bias correction, as in
BERT's AdamW):

    m' = beta_1 * m + (1 - beta_1) * g
    v' = beta_2 * v + (1 - beta_2) * g^2
    u  = m' / (sqrt(v') + epsilon) + weight_decay_rate * w
    r  = ||w|| / ||u||      (1.0 when either norm is 0, or the name is
                             excluded from layer adaptation)
    w' = w - learning_rate * multiplier * r * u

The optional per-variable `multiplier` implements MobileBERT's layer-wise
learning rate during progressive knowledge transfer.  As in the published
optimizer, the new moments are multiplied by the gate `1[multiplier > 0]`:
while a variable's multiplier is 0 the variable stays as it is and its
moments are reset to zero (not held), so a layer restarts its moments
whenever its multiplier passes through 0 (every encoder layer at the first
step of each phase).  (The published gate also multiplies the weight-decay
term; with a zero gate the whole update is zero, so the step is the same.)
"""

import tensorflow.compat.v1 as tf

from pretrain import adamw_optimizer


class LAMBOptimizer(adamw_optimizer.AdamWeightDecayOptimizer):
    """LAMB with decoupled weight decay and optional lr multipliers.

    The moments and the weight-decayed update direction are AdamW's; LAMB
    scales the step by the trust ratio.  Slots are `<var>/adam_m` and
    `<var>/adam_v`, the names in the published checkpoints.  `global_step`
    is not incremented here (create_optimizer does it).
    """

    def __init__(self,
                 learning_rate,
                 exclude_from_layer_adaptation=None,
                 lr_multipliers=None,
                 name="LAMBOptimizer",
                 **adamw_kwargs):
        """Stores the hyper-parameters (AdamWeightDecayOptimizer's, plus two).

        Args:
          learning_rate: float or scalar tensor.
          exclude_from_layer_adaptation: regexes; matching names use a trust
            ratio of 1.0.
          lr_multipliers: optional {variable name (no ':0'): scalar tensor}.
            When given, a variable absent from the dict is frozen
            (multiplier 0); when None every variable trains normally.
          name: op name.
          **adamw_kwargs: weight_decay_rate, beta_1, beta_2, epsilon,
            exclude_from_weight_decay, update_gate: see
            AdamWeightDecayOptimizer.
        """
        super(LAMBOptimizer, self).__init__(learning_rate,
                                            name=name,
                                            **adamw_kwargs)
        self.exclude_from_layer_adaptation = exclude_from_layer_adaptation
        self.lr_multipliers = lr_multipliers

    def _is_frozen(self, var_name):
        """A multiplier dict without this variable freezes it.

        A frozen variable's multiplier is 0 at every step, so its moments
        stay at their initial zeros: skipping it gives the published
        gated update without running it.
        """
        return (self.lr_multipliers is not None and
                var_name not in self.lr_multipliers)

    def _next_values(self, var_name, param, update, moments, next_moments):
        """w - learning_rate * multiplier * trust_ratio * update.

        While the multiplier is 0 the variable stays and its new moments
        are zero (the published gate `1[multiplier > 0]`).
        """
        del moments  # The gate resets rather than holds them.
        step_size = self.learning_rate * self._trust_ratio(
            var_name, param, update)
        if self.lr_multipliers is None:
            return (param - step_size * update,) + next_moments
        multiplier = tf.cast(self.lr_multipliers[var_name], tf.float32)
        active = tf.greater(multiplier, 0.0)
        next_param = tf.where_v2(active,
                                 param - multiplier * step_size * update,
                                 param)
        return (next_param,) + tuple(
            tf.where_v2(active, new, tf.zeros_like(new))
            for new in next_moments)

    def _trust_ratio(self, var_name, param, update):
        """||w|| / ||update||, or 1.0 when excluded or either norm is 0."""
        if adamw_optimizer.matches_any(
                var_name, self.exclude_from_layer_adaptation):
            return 1.0
        w_norm = tf.norm(param, ord=2)
        u_norm = tf.norm(update, ord=2)
        both_positive = tf.logical_and(tf.greater(w_norm, 0.0),
                                       tf.greater(u_norm, 0.0))
        return tf.where(both_positive, w_norm / tf.maximum(u_norm, 1e-30),
                        1.0)
