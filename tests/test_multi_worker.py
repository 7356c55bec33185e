"""Multi-worker training with real worker processes on this machine.

The launcher (scripts/launch_local_workers.sh) starts each worker with its
own TF_CONFIG on 127.0.0.1 ports, as separate hosts would run them: gRPC
between the processes, collective all-reduce, the estimator's distribute
coordinator.  Two workers must end at the same step with the same weights
as one process with the same global batch (span-extraction fine-tuning,
layer-wise transfer and distillation); a SIGKILLed worker must stop the
other with a message naming it, and a restart must resume from the
checkpoint.  The TF_CONFIG checks, the input split and the watchdog are
tested in process.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from conftest import REPO, SQUAD_SLICES, VOCAB, save_random_bert
from pretrain import modeling
from pretrain import multi_worker

LAUNCHER = os.path.join(REPO, "scripts", "launch_local_workers.sh")
RUN_SQUAD = os.path.join(REPO, "finetune", "run_squad.py")
RUN_CLASSIFIER = os.path.join(REPO, "finetune", "run_classifier.py")
RUN_PRETRAINING = os.path.join(REPO, "pretrain", "run_pretraining.py")
SENTIMENT = os.path.join(REPO, "scripts", "demo_data", "sentiment")
MULTI = ["--distribution_strategy=multi_worker"]


# ---------------------------------------------------------------------------
# TF_CONFIG checks.
# ---------------------------------------------------------------------------


def cluster_of(config):
    text = config if isinstance(config, str) else json.dumps(config)
    return multi_worker.cluster_from_environment({"TF_CONFIG": text})


def two_workers(index=0, **task):
    return {"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]},
            "task": dict({"type": "worker", "index": index}, **task)}


def test_tf_config_gives_this_workers_place():
    cluster = cluster_of({"cluster": {"chief": ["a:1"], "worker": ["b:1",
                                                                   "c:1"]},
                          "task": {"type": "worker", "index": 1}})
    assert cluster.addresses == ["a:1", "b:1", "c:1"]
    assert cluster.names == ["chief", "worker 0", "worker 1"]
    assert cluster.global_index == 2
    assert not multi_worker.is_chief(cluster)
    assert multi_worker.is_chief(cluster_of(two_workers(0)))


@pytest.mark.parametrize("config, message", [
    ("", "not set"),
    ("{\"cluster\": ", "not valid JSON"),
    ({"task": {"type": "worker", "index": 0}}, "has no \"cluster\""),
    ({"cluster": {"worker": ["a:1"]}}, "has no \"task\""),
    (two_workers(2), "task index 2 is out of range: the cluster lists 2 "
     "worker task\\(s\\), indices 0..1"),
    (two_workers("1"), "task index '1' is not an integer"),
    (dict(two_workers(0), task={"type": "chief", "index": 0}),
     "task type 'chief' is not a job of the cluster"),
    ({"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker"}},
     "worker 0 and worker 1 have the same address a:1"),
    ({"cluster": {"worker": ["a:1", "b"]}, "task": {"type": "worker"}},
     "worker 1's address 'b' is not 'host:port'"),
    ({"cluster": {"worker": ["a:1"], "ps": ["b:1"]},
      "task": {"type": "worker"}}, "job\\(s\\) ps are not supported"),
])
def test_bad_tf_config_is_named(config, message):
    with pytest.raises(ValueError, match="TF_CONFIG .*" + message):
        cluster_of(config)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_own_port_in_use_suggests_a_duplicate_index():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cluster = cluster_of({
            "cluster": {"worker": ["127.0.0.1:%d" % free_port(),
                                   "127.0.0.1:%d" % port]},
            "task": {"type": "worker", "index": 1}})
        with pytest.raises(ValueError, match="worker 1, whose address "
                           "127.0.0.1:%d is already in use.*same task "
                           "index" % port):
            multi_worker.check_own_address(cluster)


# ---------------------------------------------------------------------------
# The input split.
# ---------------------------------------------------------------------------


def worker_batches(num_workers, index, replicas):
    cluster = multi_worker.WorkerCluster(
        addresses=["h:%d" % i for i in range(num_workers)],
        names=["worker %d" % i for i in range(num_workers)],
        task_type="worker", task_index=index, global_index=index)
    with tf.Graph().as_default():
        dataset = tf.data.Dataset.range(24).batch(2)
        dataset = multi_worker.shard_for_worker(dataset, cluster, replicas)
        batches = tf.data.make_one_shot_iterator(dataset).get_next()
        with tf.Session() as sess:
            return [sess.run(batches).tolist() for _ in range(4)]


@pytest.mark.parametrize("replicas", [1, 2])
def test_workers_share_one_stream_in_order(replicas):
    shares = [worker_batches(2, i, replicas) for i in range(2)]
    # Step s of the replicas of worker 0, then those of worker 1, covers
    # the batches one process takes for step s.
    steps = []
    for step in range(4 // replicas):
        for share in shares:
            steps.extend(share[step * replicas:(step + 1) * replicas])
    assert steps == [[2 * i, 2 * i + 1] for i in range(8)]


# ---------------------------------------------------------------------------
# The watchdog.
# ---------------------------------------------------------------------------


def watch(addresses, lost_after, startup):
    cluster = multi_worker.WorkerCluster(
        addresses=addresses, names=["worker %d" % i for i in range(2)],
        task_type="worker", task_index=0, global_index=0)
    settings = multi_worker.WatchdogSettings(lost_after_secs=lost_after,
                                             startup_secs=startup,
                                             probe_every_secs=0.1)
    exits = []
    return multi_worker.PeerWatchdog(cluster, settings, "/runs/x",
                                     exit_fn=exits.append), exits


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.05)
    return condition()


def test_watchdog_stops_when_a_worker_stops_answering(capfd):
    peer = socket.socket()
    peer.bind(("127.0.0.1", 0))
    peer.listen(8)
    address = "127.0.0.1:%d" % peer.getsockname()[1]
    watchdog, exits = watch(["127.0.0.1:1", address], lost_after=0.5,
                            startup=60)
    with watchdog:
        time.sleep(0.5)
        assert exits == []  # It answers.
        peer.close()
        assert wait_for(lambda: exits, 10)
    assert exits == [multi_worker.EXIT_LOST_WORKER]
    err = capfd.readouterr().err
    assert "lost worker 1 (%s): it stopped answering" % address in err
    assert "Restart every worker" in err and "/runs/x" in err


def test_watchdog_gives_up_on_a_worker_that_never_starts(capfd):
    watchdog, exits = watch(["127.0.0.1:1", "127.0.0.1:%d" % free_port()],
                            lost_after=60, startup=0.5)
    with watchdog:
        assert wait_for(lambda: exits, 10)
    err = capfd.readouterr().err
    assert "lost worker 1" in err and "never answered" in err
    assert "TF_CONFIG cluster lists disagree" in err


# ---------------------------------------------------------------------------
# Real worker processes.
# ---------------------------------------------------------------------------


def launch(num_workers, command, log_dir, timeout=600):
    """Runs `command` on `num_workers` local workers; returns (status,
    launcher output, [worker logs])."""
    proc = subprocess.run(
        ["bash", LAUNCHER, str(num_workers), "--log_dir", str(log_dir),
         "--"] + command,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=timeout,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return proc.returncode, proc.stdout, worker_logs(log_dir, num_workers)


def worker_logs(log_dir, num_workers):
    logs = []
    for i in range(num_workers):
        with open(os.path.join(str(log_dir), "worker_%d.log" % i)) as f:
            logs.append(f.read())
    return logs


def run_one(command):
    proc = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def weights(model_dir):
    reader = tf.train.load_checkpoint(str(model_dir))
    return {n: reader.get_tensor(n)
            for n in reader.get_variable_to_shape_map()}


def assert_same_weights(one, two, prefixes, steps, skip=()):
    assert one["global_step"] == two["global_step"] == steps
    names = [n for n in one if n.startswith(prefixes) and n not in skip]
    assert len(names) > 20
    for name in names:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4,
                                   atol=1e-5, err_msg=name)


def start_like(source_dir, model_dir):
    """Makes `model_dir` start from `source_dir`'s step-0 checkpoint.

    The one-process reference resumes from the initial weights the chief
    of the two-worker run wrote: the graphs differ (the strategy adds ops),
    and with them the random initialisers' op seeds under TensorFlow 1.15.
    """
    os.makedirs(str(model_dir))
    for name in os.listdir(str(source_dir)):
        if name.startswith("model.ckpt-0.") or name == "train_settings.json":
            shutil.copy(os.path.join(str(source_dir), name), str(model_dir))
    with open(os.path.join(str(model_dir), "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-0"\n')


def no_dropout_config(path, name):
    config = modeling.BertConfig.from_json_file(
        os.path.join(REPO, "config", name + ".json"))
    config.hidden_dropout_prob = 0.0
    config.attention_probs_dropout_prob = 0.0
    config.num_hidden_layers = 2
    with open(str(path), "w") as f:
        f.write(config.to_json_string())
    return str(path)


@pytest.mark.slow
def test_span_extraction_two_workers_like_one(tmp_path):
    with open(SQUAD_SLICES[0], encoding="utf-8") as f:
        data = json.load(f)
    paragraphs = data["data"][0]["paragraphs"][:2]
    questions = sum(len(p["qas"]) for p in paragraphs)
    train = tmp_path / "train.json"
    train.write_text(json.dumps({"data": [{"paragraphs": paragraphs}]},
                                ensure_ascii=False), encoding="utf-8")
    steps = 3
    command = [
        sys.executable, RUN_SQUAD, "--vocab_file=" + VOCAB,
        "--bert_config_file=" + no_dropout_config(tmp_path / "config.json",
                                                  "tiny_student_f2"),
        "--do_train", "--train_file=" + str(train), "--max_seq_length=64",
        "--doc_stride=32", "--max_query_length=16", "--train_batch_size=8",
        "--learning_rate=1e-3", "--rand_seed=3", "--log_every_steps=1",
        # Epochs count questions: `steps` updates.
        "--num_train_epochs=%r" % ((steps + 0.5) * 8.0 / questions)
    ]
    status, out, logs = launch(
        2, command + MULTI + ["--output_dir=%s" % (tmp_path / "two")],
        tmp_path / "logs")
    assert status == 0, out[-4000:]
    assert "worker 1: training done" in logs[1]
    start_like(tmp_path / "two", tmp_path / "one")
    run_one(command + ["--output_dir=%s" % (tmp_path / "one")])
    # The span head's bias adds one constant to every position's logit: the
    # softmax over positions ignores it, so its gradient is rounding noise.
    assert_same_weights(weights(tmp_path / "one"), weights(tmp_path / "two"),
                        ("bert/", "cls/"), steps,
                        skip=("cls/squad/output_bias",))


def write_pretraining_inputs(root):
    """Records, tiny student/teacher configs and a random teacher
    checkpoint (the teacher's layout: bert/ and cls/predictions/)."""
    from test_run_pretraining import STUDENT, TEACHER, make_example
    rng = np.random.RandomState(0)
    with tf.io.TFRecordWriter(str(root / "train.tfrecord")) as writer:
        for _ in range(64):
            writer.write(make_example(rng).SerializeToString())
    teacher = dict(TEACHER, hidden_dropout_prob=0.0,
                   attention_probs_dropout_prob=0.0)
    for name, config in (("teacher", teacher), ("student", STUDENT)):
        (root / ("%s.json" % name)).write_text(json.dumps(config))
    save_random_bert(teacher, str(root / "teacher.ckpt"))


@pytest.mark.slow
def test_distillation_stages_two_workers_like_one(tmp_path):
    write_pretraining_inputs(tmp_path)
    command = [
        sys.executable, RUN_PRETRAINING,
        "--input_file=%s" % (tmp_path / "train.tfrecord"),
        "--max_seq_length=32", "--max_predictions_per_seq=5",
        "--train_batch_size=8", "--iterations_per_loop=10",
        "--bert_config_file=%s" % (tmp_path / "student.json"),
        "--bert_teacher_config_file=%s" % (tmp_path / "teacher.json"),
        "--init_checkpoint=%s" % (tmp_path / "teacher.ckpt"),
        "--do_train", "--layer_wise_warmup", "--optimizer=lamb",
        "--hidden_distill_factor=100", "--attention_distill_factor=1",
        "--beta_distill_factor=5000", "--gamma_distill_factor=5",
        "--distill_ground_truth_ratio=0.5", "--learning_rate=1e-3",
        "--num_distill_steps=4", "--num_train_steps=3",
        "--num_warmup_steps=1", "--save_checkpoints_steps=100",
        "--rand_seed=1", "--log_every_steps=1"
    ]
    status, out, _ = launch(
        2, command + MULTI + ["--output_dir=%s" % (tmp_path / "two")],
        tmp_path / "logs")
    assert status == 0, out[-4000:]
    start_like(tmp_path / "two" / "warmup", tmp_path / "one" / "warmup")
    run_one(command + ["--output_dir=%s" % (tmp_path / "one")])
    for stage, steps in (("warmup", 4), ("", 3)):
        one = weights(tmp_path / "one" / stage)
        two = weights(tmp_path / "two" / stage)
        assert_same_weights(one, two, ("bert/",), steps)
        for name in (n for n in one if n.startswith("teacher/")):
            np.testing.assert_array_equal(one[name], two[name])


@pytest.mark.slow
def test_script_stops_at_once_on_a_bad_tf_config(tmp_path):
    config = two_workers(2)
    proc = subprocess.run(
        classifier_command(tmp_path / "out", 0.1),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=300,
        env=dict(os.environ, TF_CONFIG=json.dumps(config),
                 TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 1
    assert ("ERROR: TF_CONFIG (--distribution_strategy=multi_worker): task "
            "index 2 is out of range" in proc.stderr), proc.stderr[-2000:]
    # Stopped before converting any data.
    assert not (tmp_path / "out").exists()


def classifier_command(output_dir, epochs):
    return [
        sys.executable, RUN_CLASSIFIER, "--task_name=chnsenticorp",
        "--data_dir=" + SENTIMENT, "--vocab_file=" + VOCAB,
        "--bert_config_file=" + os.path.join(REPO, "config",
                                             "tiny_student_f2.json"),
        "--output_dir=" + str(output_dir), "--do_train", "--do_eval",
        "--max_seq_length=32", "--train_batch_size=8",
        "--num_train_epochs=%g" % epochs, "--rand_seed=7",
        "--log_every_steps=5", "--save_checkpoints_steps=10",
        "--worker_timeout_secs=10", "--worker_startup_timeout_secs=120"
    ] + MULTI


def worker_pid(log_dir, index):
    with open(os.path.join(str(log_dir), "worker_%d.pid" % index)) as f:
        return int(f.read())


def newest_step(model_dir):
    path = tf.train.latest_checkpoint(str(model_dir))
    return int(path.rsplit("-", 1)[1]) if path else 0


@pytest.mark.slow
def test_killed_worker_stops_the_other_and_restart_resumes(tmp_path):
    out = tmp_path / "out"
    # 800 examples, batch 8: 100 steps per epoch; 0.5 epoch is 50 steps.
    command = classifier_command(out, 0.5)
    log_dir = tmp_path / "logs"
    launcher = subprocess.Popen(
        ["bash", LAUNCHER, "2", "--log_dir", str(log_dir), "--"] + command,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, env=dict(os.environ,
                                          TF_CPP_MIN_LOG_LEVEL="2"))
    try:
        assert wait_for(lambda: newest_step(out) >= 10, 300), (
            "no checkpoint past step 0")
        killed_at = time.time()
        os.kill(worker_pid(log_dir, 1), signal.SIGKILL)
        output, _ = launcher.communicate(timeout=180)
        stopped_after = time.time() - killed_at
    finally:
        if launcher.poll() is None:
            launcher.kill()
    chief_log = worker_logs(log_dir, 2)[0]
    assert "lost worker 1 (127.0.0.1:" in chief_log, output[-3000:]
    assert stopped_after < 180
    assert "worker 0 failed with status %d" % (
        multi_worker.EXIT_LOST_WORKER) in output
    resumed_from = newest_step(out)
    assert 10 <= resumed_from < 50
    status, output, logs = launch(2, command, tmp_path / "logs2")
    assert status == 0, output[-4000:]
    assert re.search(r"Restoring parameters from \S+model.ckpt-%d" %
                     resumed_from, logs[0])
    assert newest_step(out) == 50
    with open(str(out / "eval_results.txt")) as f:
        assert "global_step = 50" in f.read()
    assert "worker 1: training done" in logs[1]
