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


def onnx_row(runtime, min_ms, real_tokens=None):
    row = {"config": "student_base_f2", "runtime": runtime, "threads": 2,
           "batch": 1, "min_ms": min_ms, "median_ms": min_ms + 1}
    if real_tokens is not None:
        row["real_tokens"] = real_tokens
    return row


def test_padded_rows_are_shown_but_not_compared_with_full_ones():
    from scripts import benchmark_report
    rows = [onnx_row("TF frozen fp32, 2 row groups", 12.0),
            onnx_row("TF frozen fp32, 2 row groups", 11.0, 64),
            onnx_row("ORT int8", 8.0, 128),
            onnx_row("ORT int8", 3.0, 64)]
    # The padded TF row is faster, but the ratio compares full sequences.
    assert benchmark_report.best_tf_ms(rows, "student_base_f2") == 12.0
    ratio = benchmark_report.onnx_ratio_rows(rows)
    assert len(ratio) == 1 and ratio[0]["value"] == 1.5
    table = benchmark_report.onnx_table(rows)
    assert "| real tokens |" in table[2]
    assert any("| 64 | 3.0 / 4.0 | 0.25 |" in line for line in table)
    assert any("| 128 | 12.0 / 13.0 | 1.00 |" in line for line in table)
