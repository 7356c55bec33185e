# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Tables, ratios, the plot and the docs page of a benchmark run.

Everything here reads the results that `scripts/benchmark.py` measures (the
dictionary it writes with --json) and turns them into text; nothing here
times anything or imports TensorFlow. benchmark.py prints the same tables
while it runs; this module also writes them as one Markdown page:

  python scripts/benchmark_report.py \\
      --json docs/benchmark.json docs/benchmark_preprocess.json \\
      --markdown docs/benchmark.md --plot docs/benchmark.png

The plot shows, per model, the best batch-1 latency of each runtime (at
most one bar per runtime), labelled with the setting that reached it; the
full matrix is in the page's tables and the JSON file.
"""

import argparse
import json
import os
import sys

SEQ_LENGTH = 128
RATIO_CONFIGS = ("roberta_wwm_ext", "student_base_f2", "student_base_f4")
TEACHER = "roberta_wwm_ext"
STACK_NAMES = {"tf1": "TF 1.15", "tf2": "TF 2.15"}
# Ratios the project aims at (teacher time / student time, or our speed
# against another implementation's), with the level aimed at.
GOALS = {"latency_f2": 7.0, "latency_f4": 5.0, "throughput": 5.0,
         "pytorch": 1.0, "tflite": 8.0, "pretraining_data": 5.0,
         "onnx_int8": 2.0}
BASELINE_LABEL = "before the speed work"


# ---------------------------------------------------------------------------
# Labels of a measured row.
# ---------------------------------------------------------------------------


def fastest(rows, name, batch=1, threads=None):
    """The fastest row of `name` at `batch` (and `threads` if given)."""
    candidates = [r for r in rows
                  if r["config"] == name and r["batch"] == batch and
                  threads in (None, r["threads"])]
    return min(candidates, key=lambda r: r["min_ms"]) if candidates else None


def row_groups_of(row):
    """The row groups of a serving row (1 where a row does not say)."""
    return row.get("row_groups", 1)


def remapper_of(row):
    """Whether a serving row's session ran grappler's remapper (on where a
    row does not say)."""
    return row.get("remapper", True)


def serving_setting(row):
    """(config, graph, XLA, remapper, threads, row groups) of a serving
    row."""
    return (row["config"], row["graph"], row["use_xla"], remapper_of(row),
            row["threads"], row_groups_of(row))


def session_label(row):
    """'frozen + XLA' or 'frozen, remapper off': a serving row's graph and
    session options."""
    return "%s%s%s" % (row["graph"], " + XLA" if row["use_xla"] else "",
                       "" if remapper_of(row) else ", remapper off")


def threads_label(threads, row_groups=1):
    """'1 thread', '2 threads' or '2 row groups on 2 threads'."""
    label = "%d thread%s" % (threads, "" if threads == 1 else "s")
    if row_groups > 1:
        return "%d row groups on %s" % (row_groups, label)
    return label


def setting(row):
    """'frozen + XLA, 1 thread': how a serving row was run."""
    return "%s, %s" % (session_label(row),
                       threads_label(row["threads"], row_groups_of(row)))


def pytorch_runtime_label(row):
    """'PyTorch MobileBertModel', 'ours, TF 2 frozen SavedModel, 2 row
    groups', ...: what a row of the PyTorch comparison timed."""
    if row["runtime"] == "pytorch":
        return "PyTorch MobileBertModel"
    label = {"tf_saved_model": "ours, TF 2 SavedModel",
             "tf_frozen": "ours, TF 2 frozen SavedModel",
             "tf_frozen_remapper_off": "ours, TF 2 frozen SavedModel, "
                                       "remapper off"}[row["runtime"]]
    if row_groups_of(row) > 1:
        label += ", %d row groups" % row_groups_of(row)
    return label


# ---------------------------------------------------------------------------
# Ratios.
# ---------------------------------------------------------------------------


def ratio_row(name, value, target, note):
    """One line of the ratio table."""
    return {"ratio": name, "value": value, "target": target,
            "met": value >= target, "note": note}


def serving_ratio_rows(serving, throughput_batch):
    """Teacher / student latency and throughput ratios of each stack.

    Batch-1 ratios come at each thread count (both models with that many
    threads, each at its fastest graph and session setting) and with each
    model at its fastest setting of all.
    """
    rows = []
    for stack in sorted(serving):
        counts = sorted({r["threads"] for r in serving[stack]})
        for threads in counts + [None]:
            label = ("%s each" % threads_label(threads) if threads else
                     "each at its fastest")
            teacher = fastest(serving[stack], TEACHER, 1, threads)
            for name, goal in (("student_base_f2", GOALS["latency_f2"]),
                               ("student_base_f4", GOALS["latency_f4"])):
                student = fastest(serving[stack], name, 1, threads)
                if teacher and student:
                    rows.append(ratio_row(
                        "%s: latency b=1, teacher / %s, %s" %
                        (stack, name, label),
                        teacher["min_ms"] / student["min_ms"], goal,
                        "teacher %s; student %s" % (setting(teacher),
                                                    setting(student))))
        teacher = fastest(serving[stack], TEACHER, throughput_batch)
        student = fastest(serving[stack], "student_base_f2", throughput_batch)
        if teacher and student:
            rows.append(ratio_row(
                "%s: throughput b=%d, student_base_f2 / teacher" %
                (stack, throughput_batch),
                teacher["min_ms"] / student["min_ms"], GOALS["throughput"],
                "teacher %s; student %s" % (setting(teacher),
                                            setting(student))))
    return rows


def pytorch_ratio_rows(pytorch):
    """Hugging Face MobileBertModel time / ours at each batch and threads."""
    rows = []
    for batch, threads in sorted({(r["batch"], r["threads"])
                                  for r in pytorch}):
        same = [r for r in pytorch
                if r["batch"] == batch and r["threads"] == threads]
        torch_ms = min(r["min_ms"] for r in same if r["runtime"] == "pytorch")
        ours = min((r for r in same if r["runtime"] != "pytorch"),
                   key=lambda r: r["min_ms"])
        rows.append(ratio_row(
            "tf2: b=%d, Hugging Face MobileBertModel (PyTorch) time / ours, "
            "%s each" % (batch, threads_label(threads)),
            torch_ms / ours["min_ms"], GOALS["pytorch"],
            pytorch_runtime_label(ours)))
    return rows


def best_tf_ms(onnx_rows, name):
    """The best TF float32 frozen latency of `name` in the ONNX section
    (None when the section did not time it)."""
    times = [r["min_ms"] for r in onnx_rows if r["config"] == name and
             r["runtime"].startswith("TF frozen fp32") and unpadded(r)]
    return min(times) if times else None


def unpadded(row):
    """Whether an ONNX-section row was timed on a full sequence (rows
    before the padded timings have no `real_tokens`)."""
    return row.get("real_tokens", SEQ_LENGTH) == SEQ_LENGTH


def onnx_ratio_rows(onnx_rows):
    """Best TF float32 time / ONNX Runtime int8 time, per config."""
    rows = []
    for name in RATIO_CONFIGS:
        tf_ms = best_tf_ms(onnx_rows, name)
        int8 = [r for r in onnx_rows
                if r["config"] == name and r["runtime"] == "ORT int8" and
                unpadded(r)]
        if tf_ms and int8:
            best = min(int8, key=lambda r: r["min_ms"])
            rows.append(ratio_row(
                "tf2: b=1, %s, best TF float32 frozen / ONNX Runtime int8"
                % name, tf_ms / best["min_ms"], GOALS["onnx_int8"],
                "ORT int8, %s" % threads_label(best["threads"])))
    return rows


def ratio_rows(results):
    """Every ratio of a run's results, each with the level aimed at."""
    rows = serving_ratio_rows(results.get("serving", {}),
                              results.get("throughput_batch", 32))
    rows += pytorch_ratio_rows(results.get("pytorch", []))
    for stack in sorted(results.get("tflite", {})):
        latency = {r["config"]: r["min_ms"]
                   for r in results["tflite"][stack]}
        if TEACHER in latency and "student_base_f2" in latency:
            rows.append(ratio_row(
                "%s: TFLite float b=1, teacher / student_base_f2" % stack,
                latency[TEACHER] / latency["student_base_f2"],
                GOALS["tflite"], "one interpreter thread"))
    rows += onnx_ratio_rows(results.get("onnx", []))
    for row in results.get("pretraining_data_comparison", []):
        rows.append(ratio_row(
            "%s: pretraining data, characters per CPU second, now / %s" %
            (row["stack"], BASELINE_LABEL),
            row["baseline_cpu_seconds"] / row["cpu_seconds"],
            GOALS["pretraining_data"],
            "whole-word masking, 1 worker, %d run%s of each in turn" %
            (row["rounds"], "" if row["rounds"] == 1 else "s")))
    return rows


# ---------------------------------------------------------------------------
# Tables: each returns its Markdown lines, heading first.
# ---------------------------------------------------------------------------


def ratio_table(rows):
    """Ratios side by side with the level aimed at."""
    if not rows:
        return []
    lines = ["## Speed ratios", "",
             "| ratio | measured | aim | reached | best settings |",
             "|---|---:|---:|---|---|"]
    for r in rows:
        lines.append("| %s | %.2fx | >= %.1fx | %s | %s |" %
                     (r["ratio"], r["value"], r["target"],
                      "yes" if r["met"] else "no", r["note"]))
    return lines


def serving_table(serving, throughput_batch, graphs=None):
    """Each stack's SavedModel latencies and throughputs.

    Args:
      serving: {stack: serving rows}.
      throughput_batch: the batch of the throughput rows.
      graphs: the graphs to list ("frozen", "saved_model"); all if None.
    """
    lines = ["## Serving: SavedModel in a session (sequence length %d)" %
             SEQ_LENGTH, "",
             "| stack | threads | row groups | config | params (encoder) | "
             "graph | XLA | remapper | latency b=1 min / median (ms) | "
             "b=%d min / median (ms) | b=%d examples/sec |" %
             (throughput_batch, throughput_batch),
             "|---|---:|---:|---|---:|---|---|---|---:|---:|---:|"]
    for stack in sorted(serving):
        rows = serving[stack]
        for r in rows:
            if r["batch"] != 1 or (graphs and r["graph"] not in graphs):
                continue
            big = [b for b in rows if b["batch"] == throughput_batch and
                   serving_setting(b) == serving_setting(r)]
            throughput = ("%.0f / %.0f | %.1f" % (
                big[0]["min_ms"], big[0]["median_ms"],
                1000.0 * throughput_batch / big[0]["min_ms"])
                if big else "- | -")
            lines.append(
                "| %s | %d | %d | %s | %s | %s | %s | %s | %.1f / %.1f | "
                "%s |" %
                (stack, r["threads"], row_groups_of(r), r["config"],
                 "{:,}".format(r["params"]), r["graph"], r["use_xla"],
                 "on" if remapper_of(r) else "off", r["min_ms"],
                 r["median_ms"], throughput))
    return lines


def tflite_table(tflite):
    """The TFLite latency table of each stack."""
    lines = ["## TFLite (float, batch 1 x %d, one interpreter thread)" %
             SEQ_LENGTH, "",
             "| stack | config | model size (MB) | "
             "latency min / median (ms) |",
             "|---|---|---:|---:|"]
    for stack in sorted(tflite):
        for r in tflite[stack]:
            lines.append("| %s | %s | %.1f | %.1f / %.1f |" %
                         (stack, r["config"], r["size_mb"], r["min_ms"],
                          r["median_ms"]))
    return lines


def pytorch_table(rows):
    """Our SavedModels against Hugging Face's model on the same weights."""
    if not rows:
        return []
    lines = ["## Against Hugging Face MobileBertModel", "",
             "PyTorch %s, transformers %s; the same converted weights, inputs "
             "and threads; outputs differ by at most %.1e." %
             (rows[0]["torch"], rows[0]["transformers"],
              max(r["max_abs_difference"] for r in rows)), "",
             "| config | runtime | threads | batch | min / median (ms) |",
             "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %s | %d | %d | %.1f / %.1f |" %
                     (r["config"], pytorch_runtime_label(r), r["threads"],
                      r["batch"], r["min_ms"], r["median_ms"]))
    return lines


def onnx_table(rows):
    """ONNX Runtime and TF bfloat16 beside TF float32, batch 1."""
    if not rows:
        return []
    lines = ["## ONNX Runtime and bfloat16 beside TF float32 (batch 1 x %d)"
             % SEQ_LENGTH, "",
             "| config | runtime | threads | real tokens | "
             "min / median (ms) | x best TF float32 |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        best = best_tf_ms(rows, r["config"])
        lines.append("| %s | %s | %d | %d | %.1f / %.1f | %s |" % (
            r["config"], r["runtime"], r["threads"],
            r.get("real_tokens", SEQ_LENGTH), r["min_ms"], r["median_ms"],
            "%.2f" % (r["min_ms"] / best) if best else "-"))
    return lines


def distill_table(stats):
    """One full-size distillation training step."""
    return ["## Distillation training step (student_base_f2 + full "
            "roberta_wwm_ext teacher, batch %d x %d)" %
            (stats["batch_size"], SEQ_LENGTH), "",
            "| seconds/step | examples/sec | peak resident memory (GB) |",
            "|---:|---:|---:|",
            "| %.2f | %.2f | %.2f |" % (
                stats["seconds_per_step"], stats["examples_per_sec"],
                stats["peak_rss_gb"])]


def train_speed_table(rows, batch):
    """Training steps/sec per stack, and the modern stack's ratio."""
    lines = ["## Training steps/sec per stack (tiny_student_f2, teacher "
             "tiny_teacher, batch %d x %d)" % (batch, SEQ_LENGTH), "",
             "| stack | fine-tuning steps/sec | distillation steps/sec |",
             "|---|---:|---:|"]
    for stack in sorted(rows):
        row = rows[stack]
        lines.append("| %s (%s) | %.2f | %.2f |" %
                     (stack, row["stack"], row["fine_tuning"]["steps_per_sec"],
                      row["distillation"]["steps_per_sec"]))
    if "tf1" in rows and "tf2" in rows:
        lines.append("")
        for part in ("fine_tuning", "distillation"):
            lines.append("%s: modern stack at %.2fx the reference stack's "
                         "steps/sec" % (part.replace("_", "-"),
                                        rows["tf2"][part]["steps_per_sec"] /
                                        rows["tf1"][part]["steps_per_sec"]))
    return lines


def preprocessing_table(rows):
    """Text to features for the fine-tuning data sets."""
    lines = ["## Preprocessing (text to features)", "",
             "| data set | examples | features | seconds | examples/sec |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %d | %d | %.2f | %.1f |" %
                     (r["name"], r["examples"], r["features"], r["seconds"],
                      r["examples"] / r["seconds"]))
    return lines


def pretraining_data_table(rows):
    """create_pretraining_data.py with 1 and more workers."""
    lines = ["## Pretraining data (create_pretraining_data.py, whole-word "
             "masking, max length 128, dupe factor 10)", "",
             "| workers | files | characters | seconds | characters/sec | "
             "CPU seconds | characters/CPU second | speed-up |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %d | %d | %d | %.2f | %.0f | %.2f | %.0f | %.2f |" %
                     (r["workers"], r["files"], r["characters"], r["seconds"],
                      r["characters"] / r["seconds"], r["cpu_seconds"],
                      r["characters"] / r["cpu_seconds"],
                      rows[0]["seconds"] / r["seconds"]))
    return lines


def pretraining_data_comparison_table(rows):
    """Today's pretraining-data code against the code before the speed
    work, run in turn on the same files."""
    if not rows:
        return []
    lines = ["## Pretraining data against the code before the speed work",
             "", "Whole-word masking, 1 worker, CPU seconds summed over the "
             "rounds.", "",
             "| stack | code | rounds | characters | records | CPU seconds | "
             "characters/CPU second |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        for code, prefix in ((BASELINE_LABEL, "baseline_"), ("now", "")):
            lines.append(
                "| %s | %s | %d | %d | %d | %.2f | %.0f |" %
                (r["stack"], code, r["rounds"], r["characters"],
                 r[prefix + "records"], r[prefix + "cpu_seconds"],
                 r["rounds"] * r["characters"] / r[prefix + "cpu_seconds"]))
    return lines


# ---------------------------------------------------------------------------
# Best latency per runtime: the headline table and the plot.
# ---------------------------------------------------------------------------


def best_latencies(results):
    """{config: [(runtime, milliseconds, setting)]}: the best batch-1
    latency of every runtime the results hold, per config."""
    best = {}

    def offer(config, runtime, milliseconds, label):
        runtimes = best.setdefault(config, {})
        if runtime not in runtimes or milliseconds < runtimes[runtime][0]:
            runtimes[runtime] = (milliseconds, label)

    for stack, rows in sorted(results.get("serving", {}).items()):
        for r in rows:
            if r["batch"] == 1:
                offer(r["config"], STACK_NAMES.get(stack, stack),
                      r["min_ms"], setting(r))
    for stack, rows in sorted(results.get("tflite", {}).items()):
        for r in rows:
            offer(r["config"], "TFLite float", r["min_ms"],
                  "%s interpreter, 1 thread" % STACK_NAMES.get(stack, stack))
    for r in results.get("pytorch", []):
        if r["batch"] == 1 and r["runtime"] == "pytorch":
            offer(r["config"], "PyTorch (Hugging Face)", r["min_ms"],
                  threads_label(r["threads"]))
    for r in results.get("onnx", []):
        if (r.get("batch", 1) == 1 and r["runtime"].startswith("ORT") and
                unpadded(r)):
            offer(r["config"], "ONNX Runtime", r["min_ms"],
                  "%s, %s" % (r["runtime"], threads_label(r["threads"])))
    order = ("TF 1.15", "TF 2.15", "TFLite float", "PyTorch (Hugging Face)",
             "ONNX Runtime")
    return {config: [(name,) + runtimes[name] for name in order
                     if name in runtimes]
            for config, runtimes in best.items()}


def configs_of(best):
    """The configs of best_latencies in report order: the teacher and the
    base students first, then any others (e.g. tiny test configs)."""
    return ([c for c in RATIO_CONFIGS if c in best] +
            sorted(c for c in best if c not in RATIO_CONFIGS))


def headline_table(results):
    """Per config, the best batch-1 latency of each runtime."""
    best = best_latencies(results)
    lines = ["## Best batch-1 latency per runtime (sequence length %d)" %
             SEQ_LENGTH, "",
             "| config | runtime | latency (ms) | setting |",
             "|---|---|---:|---|"]
    for config in configs_of(best):
        for runtime, milliseconds, label in best[config]:
            lines.append("| %s | %s | %.1f | %s |" %
                         (config, runtime, milliseconds, label))
    return lines


def plot_best_latency(results, path):
    """Horizontal bars: per config, each runtime's best batch-1 latency,
    labelled with its setting; written as a PNG."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot: matplotlib is not installed in %s; install "
                         "requirements-tf2.txt" % sys.prefix)
    matplotlib.use("Agg")
    from matplotlib import patches
    from matplotlib import pyplot
    best = best_latencies(results)
    configs = configs_of(best)
    if not configs:
        raise ValueError("--plot: the results hold no batch-1 latency")
    runtimes = []
    for config in configs:
        runtimes += [r[0] for r in best[config] if r[0] not in runtimes]
    colours = {name: pyplot.cm.tab10(i) for i, name in enumerate(runtimes)}
    bars, labels, y, ticks = [], [], 0, []
    for config in configs:
        first = y
        for runtime, milliseconds, label in best[config]:
            bars.append((y, milliseconds, colours[runtime]))
            labels.append("%.1f ms  %s" % (milliseconds, label))
            y += 1
        ticks.append(((first + y - 1) / 2.0, config))
        y += 0.8
    figure, axes = pyplot.subplots(figsize=(10, 1.2 + 0.32 * len(bars)),
                                   dpi=90)
    for (position, milliseconds, colour), label in zip(bars, labels):
        axes.barh(position, milliseconds, color=colour, height=0.8)
        axes.text(milliseconds * 1.05, position, label, va="center",
                  fontsize=7)
    axes.set_xscale("log")
    axes.set_xlim(min(b[1] for b in bars) / 2,
                  max(b[1] for b in bars) * 30)
    axes.set_yticks([t[0] for t in ticks])
    axes.set_yticklabels([t[1] for t in ticks])
    axes.invert_yaxis()
    axes.set_xlabel("best latency, batch 1 x %d (ms, log scale; shorter is "
                    "faster)" % SEQ_LENGTH)
    axes.set_title(results.get("machine", ""), fontsize=8)
    handles = [patches.Patch(color=colours[name], label=name)
               for name in runtimes]
    axes.legend(handles=handles, fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    return path


# ---------------------------------------------------------------------------
# The page.
# ---------------------------------------------------------------------------

HOW_WE_MEASURED = """\
How we measured: the encoders (the RoBERTa-wwm-ext teacher and the base-f2
and base-f4 students) hold random weights shaped like a trained model's,
biases and normalisation parameters included, and are exported as a
fine-tuned model is (SavedModel and its frozen copy, inputs of length
%d). Each stack and thread count runs in its own process; the sessions of
one process are timed round-robin, so that load from elsewhere falls on all
of them alike, and every figure is the minimum of the runs (the median is
beside it). The machine is shared: the same graph can differ by a quarter
between runs, so compare ratios within one run, not milliseconds across
runs.""" % SEQ_LENGTH


def section(lines):
    """A table's lines followed by a blank line (nothing for no table)."""
    return lines + [""] if lines else []


def report_markdown(results, plot_name=None, command=None):
    """The benchmark page: how it was measured, the headline, every table.

    Args:
      results: the benchmark's results (its --json dictionary), possibly
        merged from several runs.
      plot_name: file name of the plot beside the page, or None.
      command: the command that produced the results, shown on the page.
    """
    lines = ["# Benchmark", "",
             "<!-- Written by scripts/benchmark_report.py from the "
             "benchmark's JSON output; edit that script, not this page. -->",
             "",
             HOW_WE_MEASURED, "", "Machine: %s." % results.get("machine", "?"),
             ""]
    if command:
        lines += ["Command:", "", "```bash", command, "```", ""]
    lines += section(headline_table(results))
    if plot_name:
        lines += ["![Best batch-1 latency per runtime](%s)" % plot_name, ""]
    lines += section(ratio_table(ratio_rows(results)))
    batch = results.get("throughput_batch", 32)
    if results.get("serving"):
        lines += section(serving_table(results["serving"], batch))
    if results.get("tflite"):
        lines += section(tflite_table(results["tflite"]))
    lines += section(pytorch_table(results.get("pytorch", [])))
    lines += section(onnx_table(results.get("onnx", [])))
    if results.get("distill"):
        lines += section(distill_table(results["distill"]))
    if results.get("train_speed"):
        lines += section(train_speed_table(results["train_speed"], batch))
    if results.get("preprocess"):
        lines += section(preprocessing_table(results["preprocess"]))
    if results.get("pretraining_data"):
        lines += section(pretraining_data_table(results["pretraining_data"]))
    if results.get("pretraining_data_comparison"):
        lines += section(pretraining_data_comparison_table(
            results["pretraining_data_comparison"]))
    return "\n".join(lines).rstrip("\n") + "\n"


def merge_results(*parts):
    """One results dictionary from several runs' (later keys win; the
    machine line of the first is kept)."""
    merged = {}
    for part in parts:
        for key, value in part.items():
            if key == "machine" and key in merged:
                continue
            merged[key] = value
    merged.pop("ratios", None)
    return merged


def write_report(results, markdown_path, plot_path=None, command=None):
    """Writes the page (and the plot beside it, when asked for)."""
    plot_name = None
    if plot_path:
        plot_best_latency(results, plot_path)
        plot_name = os.path.relpath(plot_path,
                                    os.path.dirname(markdown_path) or ".")
    with open(markdown_path, "w", encoding="utf-8") as f:
        f.write(report_markdown(results, plot_name, command))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", required=True, nargs="+",
                        help="results written by benchmark.py --json (several "
                             "are merged, e.g. a preprocess-only run)")
    parser.add_argument("--markdown", required=True, help="page to write")
    parser.add_argument("--plot", help="PNG to write beside the page")
    parser.add_argument("--command", help="the benchmark command to show")
    args = parser.parse_args(argv)
    parts = []
    for path in args.json:
        with open(path, encoding="utf-8") as f:
            parts.append(json.load(f))
    results = merge_results(*parts)
    command = args.command or results.get("command")
    write_report(results, args.markdown, args.plot, command)
    print("wrote %s%s" % (args.markdown,
                          " and %s" % args.plot if args.plot else ""))


if __name__ == "__main__":
    main()
