# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Pieces every entry point shares: TPU flags, input file lists, record
decoding, metrics, RunConfig, the estimator factory (one device, TPU,
tf.distribute strategies; multi-worker pieces in multi_worker.py) and
progress logging."""

import collections
import time

from absl import flags
import tensorflow.compat.v1 as tf

from pretrain import multi_worker


# ---------------------------------------------------------------------------
# Flag groups shared by the entry scripts.  Each script defines its own task
# flags, calls the groups it needs, and reads FLAGS only in `main`.
# ---------------------------------------------------------------------------


def define_model_flags(init_checkpoint_help):
    """--bert_config_file, --init_checkpoint, --use_einsum."""
    flags.DEFINE_string("bert_config_file", None,
                        "Model config JSON (the student's when distilling).")
    flags.DEFINE_string("init_checkpoint", None, init_checkpoint_help)
    flags.DEFINE_bool("use_einsum", True,
                      "einsum (True) or reshape+matmul implementation.")


def define_vocab_flags():
    """--vocab_file, --spm_model_file, --do_lower_case."""
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary file.")
    flags.DEFINE_string("spm_model_file", None,
                        "SentencePiece model (instead of --vocab_file).")
    flags.DEFINE_bool("do_lower_case", True, "Lower-case the input text.")


def define_run_flags(keep_checkpoint_max=5, rand_seed=None):
    """--output_dir, checkpointing, --rand_seed and --log_every_steps.

    Args:
      keep_checkpoint_max: the script's default (pretraining keeps all).
      rand_seed: the script's default seed.
    """
    flags.DEFINE_string("output_dir", None,
                        "Checkpoints and results are written here.")
    flags.DEFINE_integer("save_checkpoints_steps", 1000,
                         "Checkpoint every this many steps.")
    flags.DEFINE_integer("keep_checkpoint_max", keep_checkpoint_max,
                         "Checkpoints kept (0 keeps every one).")
    flags.DEFINE_integer("rand_seed", rand_seed,
                         "Graph-level random seed (initialisers, dropout, "
                         "input shuffling): repeatable CPU runs.")
    flags.DEFINE_integer("log_every_steps", 50,
                         "Log step, loss and examples/sec this often.")


def define_tpu_flags():
    """Defines the TPU flags BERT's scripts take (CPU/GPU when off)."""
    flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
    flags.DEFINE_string("tpu_name", None, "Cloud TPU name or grpc address.")
    flags.DEFINE_string("tpu_zone", None, "GCE zone of the Cloud TPU.")
    flags.DEFINE_string("gcp_project", None, "GCP project of the Cloud TPU.")
    flags.DEFINE_string("master", None, "TensorFlow master URL.")
    flags.DEFINE_integer("num_tpu_cores", 8, "TPU cores (with --use_tpu).")
    flags.DEFINE_integer("iterations_per_loop", 1000,
                         "Steps per TPU loop (estimator call).")


def define_accelerator_flags():
    """GPU/multi-host flags: XLA, precision, accumulation, tf.distribute."""
    flags.DEFINE_bool("use_xla", False, "Compile the graph with XLA (JIT).")
    flags.DEFINE_enum(
        "precision", "fp32", ["fp32", "fp16", "bf16"],
        "Compute precision; variables stay float32.  fp16 (GPU) uses "
        "dynamic loss scaling; bf16 needs TF 2.x (oneDNN on CPU).")
    flags.DEFINE_integer(
        "gradient_accumulation_steps", 1,
        "Micro-batches per update: --train_batch_size is split into this "
        "many; steps and the learning-rate schedule count updates.")
    flags.DEFINE_enum(
        "distribution_strategy", "none", ["none", "mirrored", "multi_worker"],
        "tf.distribute strategy for CPU/GPU: 'mirrored' = all local GPUs "
        "(or --num_gpus), 'multi_worker' = MultiWorkerMirroredStrategy "
        "configured by TF_CONFIG.  --train_batch_size is the global batch.")
    flags.DEFINE_integer("num_gpus", None,
                         "With 'mirrored': use this many local GPUs "
                         "(default: all visible).")
    flags.DEFINE_integer(
        "worker_timeout_secs", 60,
        "With 'multi_worker': a worker whose server stops answering for "
        "this long stops the others (with a message naming it).")
    flags.DEFINE_integer(
        "worker_startup_timeout_secs", 600,
        "With 'multi_worker': how long to wait for a worker that has not "
        "started its server yet.")


def require_flags(flag_values, names):
    """Raises ValueError naming the first of `names` that is not set."""
    for name in names:
        if not getattr(flag_values, name):
            raise ValueError("--%s is required" % name)


def split_comma_list(value):
    """Returns the non-empty, stripped items of a comma-separated string."""
    return [item.strip() for item in value.split(",") if item.strip()]


def expand_input_files(input_patterns):
    """Expands a comma list of files and glob patterns into file paths.

    Matches of each pattern are sorted, so the order does not depend on the
    file system. A file matched twice is read once (and the repeat logged).

    Args:
        input_patterns: Comma-separated paths and/or glob patterns.

    Returns:
        The list of matching files.

    Raises:
        ValueError: If there is no pattern or a pattern matches no file.
    """
    patterns = split_comma_list(input_patterns or "")
    if not patterns:
        raise ValueError("No input file given: pass --input_file as a comma "
                         "list of files and/or glob patterns.")
    input_files = []
    for pattern in patterns:
        try:
            matches = sorted(tf.io.gfile.glob(pattern))
        except tf.errors.NotFoundError:  # The pattern's directory is missing.
            matches = []
        if not matches:
            raise ValueError("Input pattern %r matched no files." % pattern)
        for path in matches:
            if path in input_files:
                tf.logging.warning("Input file %s is matched more than once; "
                                   "reading it once.", path)
            else:
                input_files.append(path)
    return input_files


def decode_record(record, name_to_features):
    """Parses one tf.Example; int64 features become int32 (TPUs need it)."""
    example = tf.io.parse_single_example(record, name_to_features)
    for name in list(example):
        if example[name].dtype == tf.int64:
            example[name] = tf.cast(example[name], tf.int32)
    return example


def int64_feature(values):
    """A tf.train.Feature holding `values` as an int64 list."""
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def batch_records(dataset, name_to_features, batch_size, is_training,
                  drop_remainder, seed=None, shuffle_buffer=100,
                  skip_records=0):
    """Decoded batches of a dataset of serialized tf.Examples.

    Training repeats the records forever and shuffles them (`seed` makes the
    order repeatable); evaluation and prediction read them once, in order.

    Args:
      dataset: tf.data.Dataset of serialized tf.Example strings.
      name_to_features: the parsing spec (see decode_record).
      batch_size: examples per batch.
      is_training: repeat and shuffle.
      drop_remainder: drop a partial last batch (TPUs need static shapes).
      seed: shuffle seed.
      shuffle_buffer: shuffle buffer size in records.
      skip_records: training records of the repeated, shuffled stream to
        skip: a resumed run with the same `seed` continues where it was.

    Returns:
      The batched dataset of feature dicts.
    """
    if is_training:
        dataset = dataset.repeat()
        dataset = dataset.shuffle(buffer_size=shuffle_buffer, seed=seed)
        if skip_records:
            dataset = dataset.skip(skip_records)
    dataset = dataset.map(
        lambda record: decode_record(record, name_to_features))
    return dataset.batch(batch_size, drop_remainder=drop_remainder)


def accuracy_and_loss_metrics(prefix, label_ids, logits, per_example_loss,
                              weights):
    """Weighted accuracy of argmax(logits) and weighted mean loss.

    Args:
      prefix: metric names are `<prefix>_accuracy` and `<prefix>_loss`.
      label_ids: int32 [M] labels.
      logits: [M, C].
      per_example_loss: [M].
      weights: [M]; 0 drops an entry (padding).

    Returns:
      {name: tf.metrics (value, update_op)} for an eval metric_fn.
    """
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return {
        prefix + "_accuracy":
            tf.metrics.accuracy(labels=label_ids,
                                predictions=predictions,
                                weights=weights),
        prefix + "_loss":
            tf.metrics.mean(values=per_example_loss, weights=weights),
    }


# How an estimator runs, independent of the task: read from the flag groups
# above by `run_options_from_flags` in `main`, passed on explicitly.
RunOptions = collections.namedtuple("RunOptions", [
    "use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master",
    "num_tpu_cores", "iterations_per_loop", "use_xla", "precision",
    "gradient_accumulation_steps", "distribution_strategy", "num_gpus",
    "save_checkpoints_steps", "keep_checkpoint_max", "rand_seed",
    "log_every_steps", "worker_timeout_secs", "worker_startup_timeout_secs"
])


def run_options_from_flags(flag_values):
    """RunOptions from the TPU, accelerator and run flag groups.

    With --distribution_strategy=multi_worker, TF_CONFIG is checked here,
    before any work: a bad one ends the run with a ValueError naming what
    is wrong (see multi_worker.cluster_from_environment).
    """
    options = RunOptions(**{name: getattr(flag_values, name)
                            for name in RunOptions._fields})
    if multi_worker.is_multi_worker(options):
        multi_worker.check_own_address(
            multi_worker.cluster_from_environment())
    return options


def single_device_options(**overrides):
    """RunOptions of a run on one CPU/GPU device with the flags' defaults.

    For programs that build graphs without the flags (benchmarks, tests);
    `overrides` set any RunOptions field.
    """
    values = dict(use_tpu=False,
                  tpu_name=None,
                  tpu_zone=None,
                  gcp_project=None,
                  master=None,
                  num_tpu_cores=8,
                  iterations_per_loop=1000,
                  use_xla=False,
                  precision="fp32",
                  gradient_accumulation_steps=1,
                  distribution_strategy="none",
                  num_gpus=None,
                  save_checkpoints_steps=1000,
                  keep_checkpoint_max=5,
                  rand_seed=None,
                  log_every_steps=50,
                  worker_timeout_secs=60,
                  worker_startup_timeout_secs=600)
    values.update(overrides)
    return RunOptions(**values)


def micro_batch_size(global_batch_size, options):
    """Examples one replica sees per session step.

    Raises:
      ValueError: the global batch does not split evenly.
    """
    parts = options.gradient_accumulation_steps * num_replicas(options)
    if options.gradient_accumulation_steps < 1 or global_batch_size % parts:
        raise ValueError(
            "--train_batch_size %d must split into "
            "--gradient_accumulation_steps (%d) x replicas (%d)" %
            (global_batch_size, options.gradient_accumulation_steps,
             num_replicas(options)))
    return global_batch_size // parts


def num_replicas(options):
    """Replicas a CPU/GPU strategy runs (1 without one, or on TPU)."""
    strategy = distribution_strategy(options)
    return strategy.num_replicas_in_sync if strategy else 1


_STRATEGIES = {}


def distribution_strategy(options):
    """The tf.distribute strategy the options ask for, or None.

    One strategy object per option set (built once: MultiWorkerMirrored-
    Strategy may be created only once per process).
    """
    if options.use_tpu or options.distribution_strategy == "none":
        return None
    key = (options.distribution_strategy, options.num_gpus)
    if key not in _STRATEGIES:
        if options.distribution_strategy == "mirrored":
            devices = None
            if options.num_gpus:
                devices = ["/gpu:%d" % i for i in range(options.num_gpus)]
            _STRATEGIES[key] = tf.distribute.MirroredStrategy(devices=devices)
        else:
            # A clear error for a bad TF_CONFIG before the strategy reads it
            # (and, under TF 2, starts this worker's server).
            multi_worker.check_own_address(
                multi_worker.cluster_from_environment())
            _STRATEGIES[key] = (
                tf.distribute.experimental.MultiWorkerMirroredStrategy())
    return _STRATEGIES[key]


def session_config(options):
    """ConfigProto with XLA JIT and the mixed-precision graph rewrite."""
    config = tf.ConfigProto(allow_soft_placement=True)
    if options.use_xla:
        config.graph_options.optimizer_options.global_jit_level = (
            tf.OptimizerOptions.ON_1)
    rewrite = config.graph_options.rewrite_options
    if options.precision == "fp16":
        rewrite.auto_mixed_precision = rewrite.ON
    elif options.precision == "bf16":
        if not hasattr(rewrite, "auto_mixed_precision_onednn_bfloat16"):
            raise ValueError("--precision=bf16 needs TensorFlow 2.x (the "
                             "modern stack); this is TensorFlow %s" %
                             tf.__version__)
        if tf.config.list_physical_devices("GPU"):
            raise ValueError(
                "--precision=bf16: TensorFlow 2.15's bfloat16 graph rewrite "
                "applies to CPU (oneDNN) ops only; on GPUs use "
                "--precision=fp16")
        rewrite.auto_mixed_precision_onednn_bfloat16 = rewrite.ON
    return config


def make_run_config(options, model_dir, iterations_per_loop=None):
    """A TPU RunConfig that falls back to CPU/GPU when use_tpu is off."""
    cluster = None
    if options.use_tpu and options.tpu_name:
        cluster = tf.distribute.cluster_resolver.TPUClusterResolver(
            options.tpu_name,
            zone=options.tpu_zone,
            project=options.gcp_project)
    per_host = tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2
    loops = iterations_per_loop or options.iterations_per_loop
    strategy = distribution_strategy(options)
    return tf.estimator.tpu.RunConfig(
        cluster=cluster,
        master=options.master,
        model_dir=model_dir,
        save_checkpoints_steps=options.save_checkpoints_steps,
        keep_checkpoint_max=options.keep_checkpoint_max,
        tf_random_seed=options.rand_seed,
        log_step_count_steps=loops,
        session_config=None if options.use_tpu else session_config(options),
        train_distribute=strategy,
        tpu_config=tf.estimator.tpu.TPUConfig(
            iterations_per_loop=loops,
            num_shards=options.num_tpu_cores,
            per_host_input_for_training=per_host))


def make_estimator(model_fn,
                   model_dir,
                   options,
                   train_batch_size,
                   eval_batch_size=None,
                   predict_batch_size=None,
                   iterations_per_loop=None):
    """The one estimator factory of every entry script.

    On TPU, and on one CPU/GPU device, a TPUEstimator (CPU/GPU fallback with
    use_tpu off) as in Google's BERT.  With a tf.distribute strategy, a plain
    Estimator whose RunConfig carries the strategy (TPUEstimator does not take
    one); `model_fn` may return a TPUEstimatorSpec either way.

    Args:
      model_fn: TPUEstimator-style model_fn(features, labels, mode, params).
      model_dir: checkpoint directory.
      options: RunOptions.
      train_batch_size: global batch of one update.
      eval_batch_size: evaluation batch (None: no evaluation).
      predict_batch_size: prediction batch (None: no prediction).
      iterations_per_loop: overrides options.iterations_per_loop.

    Returns:
      tf.estimator.Estimator (a TPUEstimator unless a strategy is set).
    """
    run_config = make_run_config(options, model_dir, iterations_per_loop)
    micro_batch = micro_batch_size(train_batch_size, options)
    if run_config.train_distribute is None:
        return tf.estimator.tpu.TPUEstimator(
            use_tpu=options.use_tpu,
            model_fn=model_fn,
            config=run_config,
            train_batch_size=micro_batch,
            eval_batch_size=eval_batch_size,
            predict_batch_size=predict_batch_size,
            export_to_tpu=False)
    # With a strategy the estimator calls input_fn once per worker and gives
    # each replica its own batches: input_fn batches per replica.
    batch_sizes = {
        tf.estimator.ModeKeys.TRAIN: micro_batch,
        tf.estimator.ModeKeys.EVAL: eval_batch_size,
        tf.estimator.ModeKeys.PREDICT: predict_batch_size,
    }
    workers = None
    if multi_worker.is_multi_worker(options):
        workers = multi_worker_setup(options, model_dir, iterations_per_loop)
    return DistributedEstimator(model_fn, run_config, batch_sizes, workers)


# How a DistributedEstimator trains on several workers:
#   cluster: multi_worker.WorkerCluster of this process;
#   watchdog: multi_worker.WatchdogSettings;
#   local_config: RunConfig without strategy or cluster, for evaluation,
#     prediction and export on the chief.
MultiWorkerSetup = collections.namedtuple(
    "MultiWorkerSetup", ["cluster", "watchdog", "local_config"])


def multi_worker_setup(options, model_dir, iterations_per_loop=None):
    """The MultiWorkerSetup of a multi_worker run (TF_CONFIG checked)."""
    cluster = multi_worker.cluster_from_environment()
    with multi_worker.without_tf_config():
        local_config = make_run_config(
            options._replace(distribution_strategy="none"), model_dir,
            iterations_per_loop)
    watchdog = multi_worker.WatchdogSettings(
        lost_after_secs=options.worker_timeout_secs,
        startup_secs=options.worker_startup_timeout_secs,
        probe_every_secs=min(5.0, max(0.5, options.worker_timeout_secs / 6)))
    return MultiWorkerSetup(cluster, watchdog, local_config)


def continues_after_training(options):
    """False on a multi-worker run's non-chief workers (logged): they stop
    after training; the chief evaluates, predicts and exports."""
    if not multi_worker.is_multi_worker(options):
        return True
    cluster = multi_worker.cluster_from_environment()
    if multi_worker.is_chief(cluster):
        return True
    tf.logging.info("%s: training done; the chief evaluates, predicts and "
                    "exports.", cluster.names[cluster.global_index])
    return False


def first_replica_aggregation(next_creator, **kwargs):
    """Variable creator: replicas update a variable with one shared value.

    Every replica applies the same all-reduced gradients (see
    optimization.replica_mean), so the first replica's new value is the
    value; this lets the optimizers assign in replica context.
    """
    if kwargs.get("aggregation") in (None, tf.VariableAggregation.NONE):
        kwargs["aggregation"] = tf.VariableAggregation.ONLY_FIRST_REPLICA
    return next_creator(**kwargs)


class DistributedEstimator(object):
    """An Estimator over TPUEstimator-style model_fn and input_fns.

    As TPUEstimator does, it sets params["batch_size"] for each mode (for
    input_fn and model_fn) and accepts a TPUEstimatorSpec from model_fn.
    (Estimator forbids subclasses to override its members, so this wraps
    one: train, evaluate and predict take the same arguments; every other
    attribute is the wrapped estimator's.)
    """

    def __init__(self, model_fn, run_config, batch_sizes, workers=None):
        """Args: TPUEstimator-style model_fn; RunConfig; {mode: batch};
        MultiWorkerSetup of a multi-worker run, else None."""
        self._batch_sizes = batch_sizes
        self._workers = workers

        def estimator_model_fn(features, labels, mode, params):
            params = dict(params, batch_size=batch_sizes[mode])
            with tf.variable_creator_scope(first_replica_aggregation):
                spec = model_fn(features, labels, mode, params)
            if isinstance(spec, tf.estimator.tpu.TPUEstimatorSpec):
                spec = spec.as_estimator_spec()
            return spec

        self.estimator = tf.estimator.Estimator(model_fn=estimator_model_fn,
                                                config=run_config,
                                                params={})
        self._local_estimator = self.estimator
        if workers is not None:
            # Evaluation and prediction run in this process alone.
            with multi_worker.without_tf_config():
                self._local_estimator = tf.estimator.Estimator(
                    model_fn=estimator_model_fn,
                    config=workers.local_config,
                    params={})

    def _with_batch_size(self, input_fn, mode):
        batch_size = self._batch_sizes[mode]

        def input_fn_with_batch_size(params):
            return input_fn(dict(params, batch_size=batch_size))

        return input_fn_with_batch_size

    def _worker_share(self, input_fn):
        """input_fn of this worker's share of the training batches."""
        cluster = self._workers.cluster
        strategy = self.estimator.config.train_distribute
        local_replicas = max(
            1, strategy.num_replicas_in_sync // len(cluster.addresses))

        def worker_input_fn(params):
            return multi_worker.shard_for_worker(input_fn(params), cluster,
                                                 local_replicas)

        return worker_input_fn

    def train(self, input_fn, max_steps=None, **kwargs):
        """Estimator.train with params["batch_size"] the per-replica batch.

        On several workers: train_and_evaluate through the distribute
        coordinator (see multi_worker.py), each worker on its share of the
        batches; only `max_steps` is supported there.
        """
        input_fn = self._with_batch_size(input_fn,
                                         tf.estimator.ModeKeys.TRAIN)
        if self._workers is None:
            return self.estimator.train(input_fn, max_steps=max_steps,
                                        **kwargs)
        if kwargs or max_steps is None:
            raise ValueError("multi-worker training takes max_steps only, "
                             "got %s" % sorted(kwargs))
        multi_worker.train(self.estimator, self._worker_share(input_fn),
                           max_steps, self._workers.cluster,
                           self._workers.watchdog)
        return self

    def evaluate(self, input_fn, **kwargs):
        """Estimator.evaluate with params["batch_size"] the eval batch."""
        return self._local_estimator.evaluate(
            self._with_batch_size(input_fn, tf.estimator.ModeKeys.EVAL),
            **kwargs)

    def predict(self, input_fn, **kwargs):
        """Estimator.predict with params["batch_size"] the predict batch."""
        return self._local_estimator.predict(
            self._with_batch_size(input_fn, tf.estimator.ModeKeys.PREDICT),
            **kwargs)

    def __getattr__(self, name):
        return getattr(self.estimator, name)


class ProgressHook(tf.train.SessionRunHook):
    """Logs step, the given scalars and examples/sec every N steps."""

    def __init__(self, tensors, batch_size, every_n_steps=10):
        """Args: tensors {label: scalar tensor}; batch_size per step."""
        self._tensors = dict(tensors)
        self._batch_size = batch_size
        self._every = max(1, every_n_steps)
        self._last = None

    def begin(self):
        self._step = tf.train.get_or_create_global_step()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs([self._step, self._tensors])

    def after_run(self, run_context, run_values):
        step, values = run_values.results
        now = time.time()
        if self._last is None:
            self._last = (step, now)
            return
        if step - self._last[0] < self._every:
            return
        steps = step - self._last[0]
        rate = steps * self._batch_size / max(now - self._last[1], 1e-9)
        parts = " ".join("%s=%.5g" % (k, v) for k, v in sorted(values.items()))
        tf.logging.info("step %d %s examples/sec=%.1f", step, parts, rate)
        self._last = (step, now)
