"""The report's charts as PNG bytes (matplotlib, Agg): embedded in the HTML, so the file opens offline, alone."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BLUE, RED, GREY, GREEN = "#3b6ea5", "#c0392b", "#999999", "#2e8b57"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def funnel_chart(steps: list[dict]) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(steps) + 1))
    names = [s["name"] for s in steps][::-1]
    outs = [s["out"] for s in steps][::-1]
    drops = [s["in"] - s["out"] for s in steps][::-1]
    ax.barh(names, outs, color=BLUE, label="rows out")
    ax.barh(names, drops, left=outs, color=RED, alpha=0.6, label="dropped")
    ax.set_xlabel("synthetic rows")
    ax.legend(loc="lower right")
    ax.set_title("Filter funnel")
    return _png(fig)


def shares_chart(by: dict[str, dict], title: str, ceiling: float | None = None) -> bytes:
    labels = list(by)[:12]
    shares = [by[k]["share"] for k in labels]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(labels) + 1))
    ax.barh(labels[::-1], shares[::-1], color=BLUE)
    if ceiling is not None:
        ax.axvline(ceiling, color=RED, ls="--", label=f"synthetic ceiling {ceiling:g}")
        ax.legend(loc="lower right")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of training rows")
    ax.set_title(title)
    return _png(fig)


def history_chart(history: list[dict]) -> bytes:
    gens = [h["generation"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(gens, [h["accuracy"] for h in history], "o-", color=BLUE, label="accuracy")
    edge = [h["edge"] for h in history]
    if all(e is not None for e in edge):
        ax.plot(gens, edge, "o--", color=RED, label="edge accuracy")
    ax.set_xlabel("training generation")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ppl = [h["perplexity"] for h in history]
    if any(p is not None for p in ppl):
        ax2 = ax.twinx()
        ax2.plot(gens, [p if p is not None else float("nan") for p in ppl], "s:", color=GREY, label="perplexity")
        ax2.set_ylabel("perplexity")
    ax.legend(loc="upper left")
    ax.set_title("Accuracy and perplexity by generation")
    return _png(fig)


def compare_chart(accuracy: dict[str, dict | None], titles: dict[str, str]) -> bytes:
    arms = [a for a in titles if accuracy.get(a)]
    means = [accuracy[a]["mean"] for a in arms]
    lows = [accuracy[a]["mean"] - accuracy[a]["low"] for a in arms]
    highs = [accuracy[a]["high"] - accuracy[a]["mean"] for a in arms]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(range(len(arms)), means, yerr=[lows, highs], capsize=4, color=[GREY, BLUE, GREEN, RED][: len(arms)])
    ax.set_xticks(range(len(arms)), [titles[a] for a in arms], rotation=12, fontsize=8)
    ax.set_ylabel("accuracy (95 % CI)")
    ax.set_title("Did the synthetic data help?")
    return _png(fig)
