# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Multi-worker training through the estimator (several hosts, TF_CONFIG).

What the estimator needs: with a MultiWorkerMirroredStrategy in the
RunConfig and a `cluster` in TF_CONFIG, the RunConfig switches the estimator
to its distribute coordinator in INDEPENDENT_WORKER mode, and in that mode
only `tf.estimator.train_and_evaluate` trains (`Estimator.train` and
`Estimator.evaluate` stop with "Only STANDALONE_CLIENT mode is supported").
train_and_evaluate starts this worker's gRPC server, gives every worker one
copy of the graph, and runs the training loop on each; the chief (worker 0,
or the `chief` task) writes the checkpoints into the shared model_dir, the
other workers into a scratch folder below it.  Evaluation, prediction and
export then run once, on the chief, from a plain local estimator (see
estimator_util.DistributedEstimator).

This module adds what the estimator does not do:
- it checks TF_CONFIG before anything starts (`cluster_from_environment`),
  so that a malformed or inconsistent one ends with a message naming what
  is wrong;
- it splits one input stream among the workers (`shard_for_worker`), so
  that N workers with the same --rand_seed see exactly the batches one
  process with the same global batch sees, also after a restart;
- it watches the other workers while training (`PeerWatchdog`): collective
  ops in graph mode have no health check, so a worker that dies would leave
  the others waiting for it forever.  A worker whose server stops answering
  stops this one, with a message naming it.
"""

import collections
import contextlib
import errno
import json
import os
import socket
import sys
import threading
import time

import tensorflow.compat.v1 as tf

# The task types a multi-worker cluster may have (no parameter servers, no
# evaluator: evaluation runs on the chief after training).
CHIEF = "chief"
WORKER = "worker"
SUPPORTED_JOBS = (CHIEF, WORKER)

# Exit status of a worker that stopped because another worker was lost
# (EX_TEMPFAIL: restarting every worker resumes the run).
EXIT_LOST_WORKER = 75

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host0:2222", "host1:2222"]}, '
                     '"task": {"type": "worker", "index": 0}}')

# This process' place in the cluster, from TF_CONFIG.
#   addresses: every task's "host:port", chief first, then the workers in
#     index order (the order of the estimator's global task ids).
#   names: "chief" / "worker <i>" for each address, same order.
#   task_type, task_index: this process' task.
#   global_index: its position in `addresses`; 0 is the chief.
WorkerCluster = collections.namedtuple(
    "WorkerCluster",
    ["addresses", "names", "task_type", "task_index", "global_index"])

# How the workers watch each other while training.
#   lost_after_secs: a worker whose server does not answer for this long is
#     lost: this worker stops.
#   startup_secs: how long a worker that never answered yet may take to
#     start its server.
#   probe_every_secs: seconds between probes.
WatchdogSettings = collections.namedtuple(
    "WatchdogSettings",
    ["lost_after_secs", "startup_secs", "probe_every_secs"])


def _config_error(message):
    return ValueError("TF_CONFIG (--distribution_strategy=multi_worker): " +
                      message)


def _parse_address(name, address):
    """(host, port) of a "host:port" cluster entry."""
    if not isinstance(address, str) or ":" not in address:
        raise _config_error("%s's address %r is not 'host:port'" %
                            (name, address))
    host, port = address.rsplit(":", 1)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _config_error("%s's address %r is not 'host:port'" %
                            (name, address))
    return host.strip("[]"), int(port)


def _read_tf_config(environ):
    """The TF_CONFIG dict; ValueError when it is missing or not JSON."""
    text = environ.get("TF_CONFIG", "")
    if not text.strip():
        raise _config_error(
            "not set; every worker needs the same cluster and its own task, "
            "e.g. TF_CONFIG='%s' (scripts/launch_local_workers.sh writes "
            "them for workers on this machine)" % TF_CONFIG_EXAMPLE)
    try:
        config = json.loads(text)
    except ValueError as error:
        raise _config_error("not valid JSON (%s): %s" % (error, text))
    if not isinstance(config, dict):
        raise _config_error("expected a JSON object, got: %s" % text)
    return config


def _cluster_tasks(cluster):
    """[(name, address)] of a TF_CONFIG cluster, chief first."""
    if not isinstance(cluster, dict) or not cluster:
        raise _config_error("has no \"cluster\" listing the workers, e.g. %s"
                            % TF_CONFIG_EXAMPLE)
    unsupported = sorted(set(cluster) - set(SUPPORTED_JOBS))
    if unsupported:
        raise _config_error(
            "cluster job(s) %s are not supported: multi-worker training "
            "here has only \"chief\" and \"worker\" tasks (the chief "
            "evaluates after training)" % ", ".join(unsupported))
    tasks = []
    for job in SUPPORTED_JOBS:
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list):
            raise _config_error("cluster[%r] must be a list of 'host:port'"
                                % job)
        if job == CHIEF and len(addresses) > 1:
            raise _config_error("cluster lists %d chiefs; at most one" %
                                len(addresses))
        for index, address in enumerate(addresses):
            tasks.append((CHIEF if job == CHIEF else "worker %d" % index,
                          address))
    seen = {}
    for name, address in tasks:
        _parse_address(name, address)
        if address in seen:
            raise _config_error(
                "%s and %s have the same address %s; every task needs its "
                "own host:port" % (seen[address], name, address))
        seen[address] = name
    return tasks


def _this_task(config, cluster):
    """(type, index) of the "task" entry, checked against the cluster."""
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise _config_error(
            "has no \"task\" saying which worker this is, e.g. "
            "\"task\": {\"type\": \"worker\", \"index\": 0}")
    task_type = task["type"]
    index = task.get("index", 0)
    if task_type not in cluster:
        raise _config_error("task type %r is not a job of the cluster (%s)" %
                            (task_type, ", ".join(sorted(cluster))))
    if not isinstance(index, int) or isinstance(index, bool):
        raise _config_error("task index %r is not an integer" % (index,))
    if not 0 <= index < len(cluster[task_type]):
        raise _config_error(
            "task index %d is out of range: the cluster lists %d %s "
            "task(s), indices 0..%d" %
            (index, len(cluster[task_type]), task_type,
             len(cluster[task_type]) - 1))
    return task_type, index


def cluster_from_environment(environ=None):
    """This worker's WorkerCluster, from a checked TF_CONFIG.

    Args:
      environ: the environment (default os.environ).

    Returns:
      WorkerCluster.

    Raises:
      ValueError: naming what is wrong: TF_CONFIG missing or not JSON, no
        cluster or task, unsupported jobs, a malformed or repeated address,
        a task index out of range.
    """
    config = _read_tf_config(os.environ if environ is None else environ)
    tasks = _cluster_tasks(config.get("cluster"))
    task_type, index = _this_task(config, config["cluster"])
    name = CHIEF if task_type == CHIEF else "worker %d" % index
    names = [n for n, _ in tasks]
    return WorkerCluster(addresses=[a for _, a in tasks],
                         names=names,
                         task_type=task_type,
                         task_index=index,
                         global_index=names.index(name))


def is_multi_worker(options):
    """Whether the RunOptions ask for multi-worker training."""
    return (not options.use_tpu and
            options.distribution_strategy == "multi_worker")


def is_chief(cluster):
    """Whether this worker is the chief (the `chief` task, else worker 0)."""
    return cluster.global_index == 0


def describe(cluster):
    """One line: this task, the number of workers and their addresses."""
    return "%s of %d workers (%s)" % (
        cluster.names[cluster.global_index], len(cluster.addresses),
        ", ".join("%s %s" % pair
                  for pair in zip(cluster.names, cluster.addresses)))


def check_own_address(cluster):
    """Fails when this task's port is taken on this machine.

    A port already in use means another process serves it: most often a
    second worker started with the same task index (or a worker of an
    earlier run still alive).  An address that is not one of this
    machine's is only warned about (behind NAT or a service name it can be
    right).

    Raises:
      ValueError: the port is in use.
    """
    name = cluster.names[cluster.global_index]
    address = cluster.addresses[cluster.global_index]
    host, port = _parse_address(name, address)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("", port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise _config_error(
                "this process is %s, whose address %s is already in use on "
                "this machine: is another worker running with the same task "
                "index (or a worker of an earlier run still alive)?" %
                (name, address))
        raise
    finally:
        probe.close()
    try:
        local = socket.gethostbyname(host)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind((local, 0))
        finally:
            probe.close()
    except OSError:
        tf.logging.warning(
            "TF_CONFIG: this process is %s, but its address %s does not "
            "name this machine; check task.index if the workers fail to "
            "connect", name, address)


def shard_for_worker(dataset, cluster, replicas_per_worker=1):
    """This worker's share of a stream of per-replica batches.

    Every worker builds the same stream (same files, same --rand_seed);
    of each group of `workers x replicas_per_worker` consecutive batches,
    worker w keeps batches [w x r, (w + 1) x r).  Together the workers
    see every batch once, in the order one process would.

    Args:
      dataset: tf.data.Dataset of per-replica batches.
      cluster: WorkerCluster.
      replicas_per_worker: local replicas (GPUs) of each worker.

    Returns:
      The dataset of this worker's batches.
    """
    num_workers = len(cluster.addresses)
    if num_workers == 1:
        return dataset
    if replicas_per_worker == 1:
        return dataset.shard(num_workers, cluster.global_index)
    grouped = dataset.batch(replicas_per_worker, drop_remainder=True)
    grouped = grouped.shard(num_workers, cluster.global_index)
    return grouped.apply(tf.data.experimental.unbatch())


@contextlib.contextmanager
def without_tf_config():
    """Hides TF_CONFIG while a local (single-process) RunConfig is built."""
    saved = os.environ.pop("TF_CONFIG", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["TF_CONFIG"] = saved


def _answers(address, timeout):
    """Whether a TCP connection to `address` ("host:port") opens."""
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)),
                                      timeout=timeout):
            return True
    except OSError:
        return False


class PeerWatchdog(object):
    """Stops this process when another worker stops answering.

    A thread probes every other task's server port.  A task that answered
    once and then fails every probe for `lost_after_secs`, or that never
    answers within `startup_secs`, is lost: the thread logs which one and
    what to do, and exits the process with EXIT_LOST_WORKER (the training
    loop itself would wait for it forever inside a collective op).
    Use as a context manager around training only: workers finish at
    slightly different times.
    """

    def __init__(self, cluster, settings, model_dir, exit_fn=None):
        """Args: WorkerCluster; WatchdogSettings; the run's model_dir (for
        the message); exit_fn(status), default os._exit."""
        self._cluster = cluster
        self._settings = settings
        self._model_dir = model_dir
        self._exit = exit_fn or os._exit  # pylint: disable=protected-access
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self._watch,
                                        name="PeerWatchdog")
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *unused_exc_info):
        self.stop_watching()
        self._thread.join()

    def stop_watching(self):
        """Ends the watch (other workers may now finish and exit)."""
        self._stop.set()

    def _peers(self):
        return [(name, address) for i, (name, address) in enumerate(
            zip(self._cluster.names, self._cluster.addresses))
                if i != self._cluster.global_index]

    def _watch(self):
        start = time.time()
        last_answer = {}
        timeout = max(1.0, self._settings.probe_every_secs)
        while not self._stop.wait(self._settings.probe_every_secs):
            now = time.time()
            for name, address in self._peers():
                if _answers(address, timeout):
                    last_answer[name] = now
                    continue
                if self._stop.is_set():
                    return
                if name in last_answer:
                    silent = now - last_answer[name]
                    if silent >= self._settings.lost_after_secs:
                        self._lost(name, address, "stopped answering %d s "
                                   "ago" % silent)
                        return
                elif now - start >= self._settings.startup_secs:
                    self._lost(name, address, "never answered in %d s: it "
                               "was not started, or the workers' TF_CONFIG "
                               "cluster lists disagree" % (now - start))
                    return

    def _lost(self, name, address, what):
        me = self._cluster.names[self._cluster.global_index]
        message = (
            "ERROR: lost %s (%s): it %s.  Stopping %s (exit status %d).  "
            "Restart every worker with the same command and TF_CONFIG: "
            "training resumes from the newest checkpoint in %s." %
            (name, address, what, me, EXIT_LOST_WORKER, self._model_dir))
        tf.logging.error(message)
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        self._exit(EXIT_LOST_WORKER)


# Collective group keys reserved for each training call of this process.
_GROUP_KEYS_PER_CALL = 100000
_train_calls = [0]


def _fresh_collective_keys(strategy):
    """Starts the collective keys of the next training call in a new range.

    Each training call configures the strategy again, which restarts its
    collective group keys; the servers, kept for the whole process, still
    know the previous call's collectives under those keys, so a second
    stage (pretraining runs up to three) would fail with "Collective
    instance ... expected type ...".  Every worker makes the same calls in
    the same order, so the ranges agree.
    """
    _train_calls[0] += 1
    extended = strategy.extended
    if hasattr(extended, "_collective_key_base"):
        extended._collective_key_base = (  # pylint: disable=protected-access
            _train_calls[0] * _GROUP_KEYS_PER_CALL)


class _LastStepHook(tf.train.SessionRunHook):
    """Stops the watchdog once the last training step has run: the other
    workers exit then, while the chief still writes its last checkpoint."""

    def __init__(self, watchdog, max_steps):
        self._watchdog = watchdog
        self._max_steps = max_steps
        self._step = None

    def begin(self):
        self._step = tf.train.get_global_step()

    def before_run(self, run_context):
        return tf.train.SessionRunArgs(self._step)

    def after_run(self, run_context, run_values):
        if run_values.results + 1 >= self._max_steps:
            self._watchdog.stop_watching()


def train(estimator, input_fn, max_steps, cluster, watchdog_settings):
    """Trains with the distribute coordinator while watching the peers.

    Args:
      estimator: a tf.estimator.Estimator whose RunConfig holds the
        MultiWorkerMirroredStrategy and was built with TF_CONFIG set.
      input_fn: the training input_fn (this worker's batches).
      max_steps: the global step at which training stops.
      cluster: WorkerCluster.
      watchdog_settings: WatchdogSettings.
    """
    tf.logging.info("Multi-worker training: this is %s; training to step "
                    "%d", describe(cluster), max_steps)
    # Only an `evaluator` task would run the EvalSpec; the cluster has none
    # (see cluster_from_environment), evaluation follows on the chief.
    eval_spec = tf.estimator.EvalSpec(input_fn=input_fn, steps=1)
    # (Estimator.config is a copy; the coordinator copies _config's.)
    _fresh_collective_keys(
        estimator._config.train_distribute)  # pylint: disable=protected-access
    with PeerWatchdog(cluster, watchdog_settings,
                      estimator.model_dir) as watchdog:
        train_spec = tf.estimator.TrainSpec(
            input_fn=input_fn, max_steps=max_steps,
            hooks=[_LastStepHook(watchdog, max_steps)])
        tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
