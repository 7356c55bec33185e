# coding=utf-8
# Copyright 2026 The Chinese MobileBERT authors.
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""The distillation experiment's two plots (scripts/experiment_distill.py).

pretraining_curves.png: each model's training masked-LM accuracy and
hard-label loss against the step; finetuning_scores.png: each fine-tuning
score's mean, sample standard deviation and runs per model.
"""


def import_pyplot():
    """matplotlib's pyplot on the file-only Agg backend, or a clear error."""
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise RuntimeError(
            "the plots need matplotlib, which this environment lacks: it is "
            "listed in requirements.txt / requirements-tf2.txt, so "
            "`bash scripts/setup_env.sh` (STACK=tf2 for the modern stack) "
            "installs it")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    return plt


def plot_curves(curves, layer_wise_steps, path):
    """Training masked-LM accuracy and hard-label loss of each model.

    Distilled students have no masked-LM terms during layer-wise transfer
    (the shaded first `layer_wise_steps` steps).
    """
    plt = import_pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, points in curves.items():
        mlm = [(x, t) for x, _, t in points if "masked_lm_accuracy" in t]
        for axis, term in zip(axes, ("masked_lm_accuracy", "mlm_loss")):
            axis.plot([x for x, _ in mlm], [t[term] for _, t in mlm],
                      label=name)
    for axis, label in zip(axes, ("masked-LM accuracy", "masked-LM loss")):
        axis.axvspan(0, layer_wise_steps, color="0.9",
                     label="layer-wise transfer (distilled)")
        axis.set(xlabel="pretraining step",
                 ylabel="training %s (hard labels)" % label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def plot_scores(models, scores, path):
    """Fine-tuning `scores` of `models`: mean, sample-std error bars, runs.

    Points rather than bars, so that the axis spans the scores, not 0 to
    the highest one (the differences are a point or two).
    """
    plt = import_pyplot()
    names = list(models)
    figure, axes = plt.subplots(1, len(scores), figsize=(11, 3.6))
    for axis, score in zip(axes, scores):
        values = [models[n][score] for n in names]
        axis.errorbar(range(len(names)), [v["mean"] for v in values],
                      yerr=[v["std"] for v in values], fmt="o", capsize=4,
                      color="#3182bd", label="mean ± std")
        for i, value in enumerate(values):
            axis.plot([i] * len(value["runs"]), value["runs"], "k.",
                      label="runs" if i == 0 else None)
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels(names, rotation=20, fontsize=8)
        axis.set_title(score, fontsize=9)
        axis.set_xlim(-0.5, len(names) - 0.5)
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
