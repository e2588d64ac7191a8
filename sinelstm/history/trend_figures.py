"""The trend figures: per metric, each config's series over commits (the median over seeds,
the seeds' min-max band), accepted baselines and change points marked. Headless (Agg);
one panel per config, at most three columns and twelve panels a figure (a grid of more
configs is drawn in parts, one file each), every panel with its own commit labels (at most
twelve), so a figure reads the same whatever the number of commits or configs."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sinelstm.history.detect import ChangePoint
from sinelstm.report.run_figures import pyplot, save_png

COLUMNS = 3
MAX_PANELS = 12  # configs in one figure; more are drawn in further parts
MAX_TICKS = 12  # commit labels on an x axis; the others are left unlabelled


def parts(configs: list[str]) -> list[list[str]]:
    """The configs split into figures of at most MAX_PANELS, as evenly as it goes (45
    configs: four parts of 12, 11, 11 and 11)."""
    count = max(1, math.ceil(len(configs) / MAX_PANELS))
    size, extra = divmod(len(configs), count)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(configs[start:end])
        start = end
    return out


def part_path(path: Path, index: int, count: int) -> Path:
    """path itself for a figure of one part; NAME-partI-of-N.png for each of several."""
    return path if count == 1 else path.with_name(f"{path.stem}-part{index}-of-{count}{path.suffix}")


def trend_figure(
    frame: pd.DataFrame,
    metric: str,
    order: list[str],
    baselines: set[str],
    changes: list[ChangePoint],
    path: Path,
    title: str,
) -> list[Path]:
    """The figure(s) of one metric (frame: its series rows of one grid and stack): one file
    when it has at most MAX_PANELS configs, else one per part. Returns the files written."""
    groups = parts(sorted(frame["config"].unique()))
    written = []
    for index, configs in enumerate(groups, 1):
        heading = title if len(groups) == 1 else f"{title} (part {index} of {len(groups)})"
        target = part_path(path, index, len(groups))
        _draw(frame[frame["config"].isin(configs)], configs, order, baselines, changes, target, heading)
        written.append(target)
    return written


def _draw(frame, configs, order, baselines, changes, path: Path, title: str) -> None:
    plt = pyplot()
    columns = min(COLUMNS, math.ceil(math.sqrt(len(configs))))
    rows = math.ceil(len(configs) / columns)
    # Constrained layout places the two-line title above the top row's panel titles.
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(4.6 * columns, 1.0 + 2.6 * rows),
        squeeze=False,
        sharex=True,
        layout="constrained",
    )
    positions = sorted(frame["position"].unique())
    first, last = positions[0], positions[-1]
    marks = [index for index, sha in enumerate(order) if sha in baselines and first <= index <= last]
    for panel, config in zip(axes.flat, configs, strict=False):
        one = frame[frame["config"] == config]
        panel.fill_between(one["position"], one["low"], one["high"], color="C0", alpha=0.2, lw=0)
        panel.plot(one["position"], one["center"], color="C0", marker=".", lw=1.2)
        for index in marks:
            panel.axvline(index, color="0.5", ls=":", lw=1)
        for change in changes:
            if change.config == config:
                colour = "C3" if change.direction == "worse" else "C2"
                panel.axvline(change.position - 0.5, color=colour, lw=1.5)
        panel.set_title(config, fontsize=9)
        panel.tick_params(labelsize=7)
        panel.grid(alpha=0.3)
    for panel in list(axes.flat)[len(configs) :]:
        panel.set_visible(False)
    step = max(1, math.ceil((last - first + 1) / MAX_TICKS))
    ticks = list(range(first, last + 1, step))
    for panel in list(axes.flat)[: len(configs)]:
        panel.set_xticks(ticks, [order[index][:7] for index in ticks], rotation=60, fontsize=7)
        panel.tick_params(labelbottom=True)
    fig.suptitle(
        f"{title}\nline: median over seeds, band: seeds' min-max; dotted: baseline accepted; "
        "red/green: change (worse/better) before that commit",
        fontsize=9,
    )
    save_png(fig, path, dpi=90)
    plt.close(fig)
