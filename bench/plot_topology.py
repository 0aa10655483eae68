#!/usr/bin/env python3
"""The published figures beside the dma's on swze's device models, from the
CSV of `make bench-topology` (a header row, then model,figure,published,
modelled,one_queue: GB/s, the last two scaled back by the model's scale;
one_queue 0 where not measured).

    plot_topology.py --out docs/topology.png topology.csv

One panel per model: per figure, the published measurement, what one dma
per stack over every copy engine (AML_DMA_ZE_QUEUES=all) moves on the model,
and where measured what the one-queue dma on the main copy engine (upstream's
one list, which Intel's driver splits) moves. A figure the model assumes
rather than takes from a publication is hatched and labelled so. Needs matplotlib (./setup.sh --plots); draws with Agg, no display.
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

COLUMNS = ["model", "figure", "published", "modelled", "one_queue"]
# Figures a model assumes (no publication gives them): drawn hatched.
ASSUMED = {("flex170", "one_stack_both"), ("flex170", "node_both")}
TITLES = {
    "max1550": "Data Center GPU Max 1550, Aurora node (ALCF)",
    "flex170": "Flex 170 (A770 figures; both ways assumed)",
}
LABELS = {
    "one_stack_to_device": "one stack\nH→D",
    "one_stack_from_device": "one stack\nD→H",
    "one_stack_both": "one stack\nboth",
    "node_to_device": "12 stacks\nH→D",
    "node_from_device": "12 stacks\nD→H",
    "node_both": "12 stacks\nboth",
    "stack_to_stack": "stack to\nstack",
    "stack_to_stack_both": "stack to\nstack, both",
}
NOTE = ("on the model: swze's cpu backend at 1/200 of the rates, scaled back; dmas on ordinal 1, with what "
        "Intel's driver does with each copy; medians of rounds; 1 GB/s = 10⁹ B/s; no bar: not measured "
        "(one queue: one stack only); hatched: assumed, not published")


def read(paths):
    rows = {}
    for path in paths:
        with open(path, newline="") as f:
            for line in csv.reader(f):
                if line and line[0] == "model":
                    continue  # the header row
                if len(line) != len(COLUMNS):
                    sys.exit(f"{path}: a row of {len(line)} fields, expected {COLUMNS}")
                model, figure, published, modelled, one_queue = line
                rows.setdefault(model, []).append((figure, float(published), float(modelled), float(one_queue)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("csv", nargs="+")
    args = parser.parse_args()
    rows = read(args.csv)
    if not rows:
        sys.exit("no rows")
    widths = [len(figures) for figures in rows.values()]
    fig, axes = plt.subplots(1, len(rows), figsize=(3 + 1.1 * sum(widths), 4.8),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, (model, figures) in zip(axes[0], rows.items()):
        x = range(len(figures))
        bars = [("published", "tab:gray", -0.27, [p for _, p, _, _ in figures]),
                ("every copy engine, on the model", "tab:blue", 0.0, [m for _, _, m, _ in figures]),
                ("one queue (main copy engine), on the model", "tab:orange", 0.27, [q for _, _, _, q in figures])]
        for label, color, offset, values in bars:
            shown = [(i + offset, v) for i, v in zip(x, values) if v > 0]
            ax.bar([i for i, _ in shown], [v for _, v in shown], 0.27, label=label, color=color)
            for i, v in shown:
                ax.text(i, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
        # An assumed figure: hatched over its grey bar, labelled once.
        assumed = [(i, p) for i, (f, p, _, _) in enumerate(figures) if (model, f) in ASSUMED and p > 0]
        for n, (i, published) in enumerate(assumed):
            ax.bar([i - 0.27], [published], 0.27, color="white", edgecolor="tab:gray", hatch="//",
                   label="assumed, not published" if n == 0 else None)
        if assumed:
            ax.legend(loc="upper left", fontsize=8)
        # Headroom for the legend above the tallest bar.
        tallest = max(max(p, m, q) for _, p, m, q in figures)
        ax.set_ylim(top=tallest * 1.45)
        ax.set_xticks(list(x))
        ax.set_xticklabels([LABELS.get(f, f) for f, _, _, _ in figures], fontsize=8)
        ax.set_title(TITLES.get(model, model), fontsize=10)
        ax.set_ylabel("GB/s")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.text(0.5, 0.01, NOTE, ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
