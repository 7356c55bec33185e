"""Tests for the benchmark's timing helpers (scripts/benchmark_serving.py)."""
import time

from scripts import benchmark_serving


def counting_runner(calls, key, seconds=0.0):
    def run():
        calls.append(key)
        if seconds:
            time.sleep(seconds)
    return run


def test_blocks_time_every_runner_in_turns_after_an_untimed_call():
    calls = []
    runners = {"a": counting_runner(calls, "a"),
               "b": counting_runner(calls, "b", 0.002)}
    timed = benchmark_serving.time_in_blocks(runners, iterations=7, block=3)
    # Turns of 1 untimed + 3, 3 and 1 timed calls, runner after runner.
    assert calls == (["a"] * 4 + ["b"] * 4) * 2 + ["a"] * 2 + ["b"] * 2
    assert sorted(timed) == ["a", "b"]
    assert timed["b"]["min_ms"] >= 2.0
    assert timed["a"]["min_ms"] < timed["b"]["min_ms"]
    for stats in timed.values():
        assert stats["min_ms"] <= stats["median_ms"]


def test_round_robin_alternates_single_calls_after_one_warm_up_each():
    calls = []
    runners = {"a": counting_runner(calls, "a"),
               "b": counting_runner(calls, "b")}
    benchmark_serving.time_round_robin(runners, iterations=3)
    assert calls == ["a", "b"] * 4
