#!/usr/bin/env python3
"""Bandwidth against transfer size, from the sweep's CSV (bench/sweep.h).

    plot.py --title "..." --out docs/bandwidth-cpu.png [--ratio-out R.png]
            [--backend cpu] sweep.csv [more.csv ...]

One figure with three panels (host->device, device->host, both ways at
once): x the size of each copy (log2), y GB/s (log), one line per
implementation. --ratio-out adds a figure of each implementation's bandwidth
over the raw floor's (raw CUDA where the CSVs have it, else raw Level Zero).
Rows of one backend only: --backend picks it when the CSVs hold several.
Needs matplotlib (./setup.sh --plots); draws with Agg, no display.
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

COLUMNS = ["backend", "implementation", "direction", "bytes", "gbps", "median_us"]
DIRECTIONS = [("h2d", "host → device"), ("d2h", "device → host"), ("both", "both ways at once")]
# A fixed look per implementation, so that plots of different backends read alike.
IMPLEMENTATIONS = {
    "ours": ("aml-dma-ze (ours)", "tab:blue", "o"),
    "raw_level_zero": ("raw Level Zero", "tab:orange", "s"),
    "upstream_model": ("upstream model", "tab:green", "^"),
    "raw_cuda": ("raw CUDA", "tab:red", "D"),
}
NOTE = ("median of repeated copies, each waited for; x: bytes of each copy "
        "(both ways: one copy each way at once, GB/s counts both); 1 GB/s = 10⁹ B/s; "
        "raw floors dashed with hollow markers, drawn under ours: where ours meets its floor the blue line covers it")
# The raw floors are drawn first, dashed and hollow, so that a line that
# lies on them (ours, often) stays visible on top.
FLOORS = ("raw_level_zero", "raw_cuda")


def line_style(impl):
    """Plot keywords of one implementation's line."""
    label, color, marker = style(impl)
    if impl in FLOORS:
        return dict(marker=marker, color=color, label=label, markersize=6, linewidth=1.2, linestyle="--",
                    markerfacecolor="none", zorder=2)
    return dict(marker=marker, color=color, label=label, markersize=4, linewidth=1.6,
                zorder=4 if impl == "ours" else 3)


def size_label(n):
    for unit in ["B", "KiB", "MiB", "GiB"]:
        if n < 1024 or n % 1024:
            return f"{n} {unit}"
        n //= 1024
    return f"{n} TiB"


def read_rows(paths):
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != COLUMNS:
                sys.exit(f"plot.py: {path}: header is {reader.fieldnames}, expected {COLUMNS}")
            for r in reader:
                rows.append({**r, "bytes": int(r["bytes"]), "gbps": float(r["gbps"])})
    return rows


def pick_backend(rows, wanted):
    backends = sorted({r["backend"] for r in rows})
    if wanted:
        rows = [r for r in rows if r["backend"] == wanted]
        if not rows:
            sys.exit(f"plot.py: no rows of backend {wanted} (the CSVs have {', '.join(backends)})")
    elif len(backends) != 1:
        sys.exit(f"plot.py: rows of several backends ({', '.join(backends)}): choose one with --backend")
    return rows


def series(rows):
    """{(implementation, direction): [(bytes, gbps)...]} in ascending size."""
    out = {}
    for r in rows:
        out.setdefault((r["implementation"], r["direction"]), []).append((r["bytes"], r["gbps"]))
    return {k: sorted(v) for k, v in out.items()}


def implementations(data):
    present = {impl for impl, _ in data}
    known = [i for i in IMPLEMENTATIONS if i in present]
    return known + sorted(present - set(known))


def style(impl):
    return IMPLEMENTATIONS.get(impl, (impl, None, "x"))


def size_axis(ax, sizes):
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: size_label(int(round(x)))))
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    ax.set_xlabel("transfer size")
    ax.grid(True, which="major", alpha=0.3)


def panels(title):
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6), sharey=True)
    # Room below the panels for the rotated sizes, the legend and the note.
    fig.subplots_adjust(left=0.06, right=0.99, top=0.88, bottom=0.31, wspace=0.06)
    fig.suptitle(title)
    return fig, axes


# What a reader of the cpu backend's plots must know to read its large copies.
CPU_NOTE = ("cpu backend: from about 1 MiB a copy is this machine's memcpy, bound by its memory and noisy: sweeps at different "
            "moments differ by up to 1.6x (the upstream model over the raw floor at 16 MiB device → host); "
            "the implementations' own costs are negligible there")


def finish(fig, axes, path, note=NOTE):
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.05), ncol=len(labels), frameon=False)
    fig.text(0.5, 0.015, note, ha="center", va="bottom", fontsize=8, color="0.35")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot.py: wrote {path}")


def log_axis(ax):
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))


def bandwidth_figure(data, title, path, note=NOTE):
    fig, axes = panels(title)
    sizes = sorted({b for points in data.values() for b, _ in points})
    for ax, (direction, name) in zip(axes, DIRECTIONS):
        for impl in implementations(data):
            points = data.get((impl, direction))
            if not points:
                continue
            ax.plot([b for b, _ in points], [g for _, g in points], **line_style(impl))
        ax.set_title(name)
        size_axis(ax, sizes)
        log_axis(ax)
    axes[0].set_ylabel("GB/s")
    finish(fig, axes, path, note)


def ratio_figure(data, title, path, note=NOTE):
    impls = implementations(data)
    reference = "raw_cuda" if "raw_cuda" in impls else "raw_level_zero"
    if reference not in impls:
        sys.exit("plot.py: --ratio-out needs raw_cuda or raw_level_zero rows")
    fig, axes = panels(f"{title}: bandwidth relative to {style(reference)[0]}")
    sizes = sorted({b for points in data.values() for b, _ in points})
    ratios = []
    for ax, (direction, name) in zip(axes, DIRECTIONS):
        floor = dict(data.get((reference, direction), []))
        for impl in impls:
            if impl == reference:
                continue
            points = [(b, g / floor[b]) for b, g in data.get((impl, direction), []) if floor.get(b)]
            if not points:
                continue
            ratios += [r for _, r in points]
            ax.plot([b for b, _ in points], [r for _, r in points], **line_style(impl))
        ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_title(name)
        size_axis(ax, sizes)
    # Linear from 0 reads as a fraction of the floor, unless the ratios span
    # decades (small copies far off the floor) and would flatten against 0.
    for ax in axes:
        if ratios and max(ratios) / min(ratios) > 10:
            log_axis(ax)
        else:
            ax.set_ylim(bottom=0)
    axes[0].set_ylabel(f"GB/s ÷ GB/s of {style(reference)[0]}")
    finish(fig, axes, path, note)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="+", help="sweep CSVs (bench/sweep.c, bench/gpu_sweep.c)")
    p.add_argument("--out", required=True, help="PNG of bandwidth against size")
    p.add_argument("--ratio-out", help="PNG of bandwidth relative to the raw floor")
    p.add_argument("--title", required=True, help='backend and machine, e.g. "NVIDIA H200, swze cuda backend"')
    p.add_argument("--backend", help="the backend whose rows to draw, when the CSVs hold several")
    args = p.parse_args()
    data = series(pick_backend(read_rows(args.csv), args.backend))
    note = NOTE + ("\n" + CPU_NOTE if args.backend == "cpu" else "")
    bandwidth_figure(data, args.title, args.out, note)
    if args.ratio_out:
        ratio_figure(data, args.title, args.ratio_out, note)


if __name__ == "__main__":
    main()
