"""Numbers the documentation pages (docs/*.md) quote, recomputed from what they come from:
the committed results (results/: the CSVs, the perf run's JSON, the reports written from
them) or the code and config that define them. A number typed by hand, or left over from an
earlier run, fails here; rerunning a grid or the perf bench means rewriting the page.

The site's generated pages (docs/hooks/) are the code's by construction, and numbers other
tests hold are not repeated here: the grids' cell counts (test_conventions.py, and the
hook), the science grid's sizing (test_analysis.py), the history page's size and run count
(test_history.py), the READMEs' quoted numbers (test_quoted.py). Fast: files and constants
only, no training and no TensorFlow."""

from __future__ import annotations

import ast
import csv
import json
import math
import re
import statistics
import sys
import tomllib
from functools import partial
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "results"


@pytest.fixture(autouse=True)
def _the_committed_results(committed_results, monkeypatch):
    """RESULTS is results/ as committed (conftest.committed_results): a user's own main-job run
    rewrites latest.csv and REPORT.md and appends to history.csv, and the pages quote the
    committed ones."""
    monkeypatch.setattr(sys.modules[__name__], "RESULTS", committed_results)


NUMBER = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")
N = r"(\d+(?:\.\d+)?)"  # a number in a pattern, captured
COMMIT = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")


def _page(name: str) -> str:
    """A docs page with its lines joined: a sentence may wrap anywhere."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", (DOCS / name).read_text())


def _numbers(text: str, signed: bool = True) -> list[str]:
    """The numbers of a piece of text as it shows them, commit hashes left out; unsigned
    where a dash is a range ("seeds 0-31")."""
    text = COMMIT.sub(" ", text.replace("**", ""))
    found = [number.replace(",", "") for number in NUMBER.findall(text)]
    return found if signed else [number.lstrip("+-") for number in found]


def _shows(text: str, value: float) -> bool:
    """Whether a number as a page shows it ("1.57", "+0.7", "7.5e-6") is value rounded to
    the digits shown."""
    mantissa, _, exponent = text.lstrip("+").partition("e")
    decimals = len(mantissa.partition(".")[2])
    half = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return abs(float(text.lstrip("+")) - value) <= half * (1 + 1e-9)


def _assert_shows(where: str, shown: list[str], values: list[float]) -> None:
    assert len(shown) == len(values), f"{where}: shows {shown}, expected {len(values)} numbers"
    wrong = [
        (text, round(value, 6)) for text, value in zip(shown, values, strict=True) if not _shows(text, value)
    ]
    assert wrong == [], f"{where}: (shown, measured) {wrong}"


def _row(page: str, label: str) -> list[str]:
    """The cells of the table row of a docs page whose first cell starts with label."""
    rows = [line for line in (DOCS / page).read_text().splitlines() if line.startswith(f"| {label}")]
    assert len(rows) == 1, f"{page}: {len(rows)} rows start with {label!r}"
    return [cell.strip() for cell in rows[0].strip().strip("|").split(" | ")]


def _constant(path: str, name: str):
    """A module-level constant of a source file, read without importing it."""
    for node in ast.parse((ROOT / path).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path}: no constant {name}")


def _kb(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.1f}"


def _gate() -> dict:
    """The gate as it judges: pyproject.toml's table over the declared rules and exact columns."""
    from sinelstm.sweep.columns import EXACT
    from sinelstm.verdict.rules import declared_rules

    gate = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["sinelstm"]["gate"]
    rules = declared_rules()
    for metric, spec in gate.get("metrics", {}).items():
        rules[metric] = {**rules.get(metric, {}), **spec}
    gate["metrics"] = rules
    gate["reproduction"].setdefault("exact", list(EXACT))
    return gate


def _matches(page: str, pattern: str) -> list[str]:
    found = re.findall(pattern, _page(page))
    assert found, f"{page}: nothing matches {pattern!r}"
    return found


# --- the history ---------------------------------------------------------------------


def _quick_runs() -> dict[str, list[dict]]:
    with open(RESULTS / "history.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["grid"] == "quick"]
    runs: dict[str, list[dict]] = {}
    for row in rows:
        runs.setdefault(row["run_id"], []).append(row)
    return runs


def test_the_history_page_quotes_the_committed_quick_grid_history():
    """docs/history.md: the quick grid measured at 56 commits (2.5 KB a run), 3 skipped; its
    one change, at 2e66e9d, with the 601-sample cells' forecast_rmse before and after; the
    metrics identical over the runs on each side of it. The file's own size and run count
    are left to results/HISTORY.md (test_history.py holds them)."""
    from sinelstm.verdict.rules import ReproductionRules

    text = _page("history.md")
    runs = _quick_runs()
    ok = {run: rows for run, rows in runs.items() if rows[0]["status"] == "ok"}
    skipped = {row["commit"] for rows in runs.values() for row in rows if row["status"] == "skipped"}
    lines = (RESULTS / "history.csv").read_text().splitlines(keepends=True)
    run_id = lines[0].split(",").index("run_id")
    quick_bytes = sum(len(line.encode()) for line in lines[1:] if next(csv.reader([line]))[run_id] in ok)
    per_run = f"{quick_bytes / len(ok) / 1024:.1f}"
    assert f"measured the quick grid at {len(ok)} commits, {per_run} KB a run" in text
    assert f"recorded the first {len(skipped)}, from before `sinelstm bench` existed, as skipped" in text
    assert _matches("history.md", rf"{N} KB") == [per_run, per_run]  # no other size is quoted

    gated = [*_gate()["metrics"], "epochs_run", "best_epoch"]
    groups: dict[tuple, list[str]] = {}
    for rows in ok.values():
        key = tuple(sorted((row["config"], row["seed"], *(row[m] for m in gated)) for row in rows))
        groups.setdefault(key, []).append(rows[0]["commit"])
    assert len(groups) == 2, "the quick grid's history holds more than one change"
    after, before = sorted(groups, key=lambda key: not any(c.startswith("2e66e9d") for c in groups[key]))
    assert any(c.startswith("2e66e9d") for c in groups[after])
    assert (
        f"identical, to the last digit, over the {len(groups[after])} commits from 2e66e9d on, "
        f"as over the {len(groups[before])} measured before it" in text
    )

    def median_rmse(key, config):
        return statistics.median(
            float(cell[2 + gated.index("forecast_rmse")]) for cell in key if cell[0] == config
        )

    moved = re.search(rf"forecast_rmse {N} -> {N} and {N} -> {N}", text)
    assert moved, "docs/history.md no longer quotes the change's size"
    configs = ("window25-length601-hidden64", "window50-length601-hidden64")
    values = [median_rmse(key, config) for config in configs for key in (before, after)]
    _assert_shows("history.md's change", list(moved.groups()), values)

    def value(text):
        try:
            return float(text)
        except ValueError:  # "False", a checksum
            return text

    rules = ReproductionRules()
    pairs = list(zip(before, after, strict=True))
    moved_cells = {
        b[0] for b, a in pairs if not all(map(rules.same, gated, map(value, b[2:]), map(value, a[2:])))
    }
    assert moved_cells == set(configs), "the cells the change moved are not the 601-sample ones"
    assert all(b[2:] != a[2:] for b, a in pairs)  # the 201-sample cells moved too, within the tolerance
    assert "moved (the 201-sample cells by float rounding only, within the reproduction tolerance)" in text
    # The change point the page names is the one results/HISTORY.md lists.
    table = (RESULTS / "HISTORY.md").read_text().split("## Change points", 1)[1].split("\n## ", 1)[0]
    quick = "\n".join(line for line in table.splitlines() if line.startswith("| quick |"))
    assert set(re.findall(r"\| `([0-9a-f]{7})[0-9a-f]*`", quick)) == {"2e66e9d"}


# --- the performance page: the perf run -----------------------------------------------


def _perf() -> tuple[dict, dict]:
    data = json.loads((RESULTS / "perf.benchmark.json").read_text())
    return data, {bench["name"]: bench["extra_info"] for bench in data["benchmarks"]}


def _train(perf: dict, variant: str) -> dict:
    return perf[f"test_perf_training[perf-train-{variant}]"]


def _members(perf: dict, shape: str) -> dict:
    return perf[f"test_perf_members[perf-members-{shape}]"]


def _implementation(perf: dict, shape: str) -> dict:
    return perf[f"test_perf_implementation[{shape}]"]


def test_the_performance_table_is_the_committed_perf_run():
    """docs/performance.md's rows above the grid rows: every figure is results/perf.benchmark.json's,
    the run the page names, and each target is bench/test_perf.py's."""
    data, perf = _perf()
    text = _page("performance.md")
    commit = data["commit_info"]["id"][:7]
    assert data["machine_info"]["sinelstm"]["git_commit"].startswith(commit)
    assert f"`pytest bench --benchmark-only -m perf` run at commit {commit} ({len(perf)} tests" in text
    stack = data["machine_info"]["sinelstm"]
    jax_pin = re.search(r"^jax==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)[1]
    assert f"{stack['cpu_count']}-core Xeon" in text and "Xeon" in stack["cpu"]
    assert f"TensorFlow-CPU {stack['tensorflow'].rsplit('.', 1)[0]}, JAX {jax_pin}." in text
    peak = perf["test_perf_training_targets"]["core_fma_peak_gflops"]
    factors = re.search(
        rf"FMA peak (\d+) GFLOP/s: (\d+) FMA units, assumed, x (\d+) lanes x 2 x {N} GHz", text
    )
    assert factors and _shows(factors[1], peak)
    assert math.isclose(int(factors[2]) * int(factors[3]) * 2 * float(factors[4]), peak, rel_tol=1e-3)

    def ms(seconds):
        return seconds * 1000

    engine = perf["test_perf_forecast_engine"]
    horizon = 400
    fit, loop = _train(perf, "tensorflow-fit-keras-1core"), _train(perf, "tensorflow-loop-keras-1core")
    fused = _train(perf, "tensorflow-loop-fused-1core")
    xla, jax = _train(perf, "tensorflow-loop-keras-xla-1core"), _train(perf, "jax-loop-keras-1core")
    fused2, jax2 = _train(perf, "tensorflow-loop-fused-allcores"), _train(perf, "jax-loop-keras-allcores")
    block = _implementation(perf, "l201-w25-h300")
    memory = perf["test_perf_memory_is_flat"]
    rows = {
        "forecast, article-2017": [
            horizon * engine["compiled_ms_per_step"],
            horizon * engine["predict_ms_per_step"] / 1000,
            engine["speedup"],
            engine["max_difference"],
        ],
        "batched rollout": [engine["batched_ms_per_step_per_sequence"]],
        "training per epoch": [
            ms(fit["epoch_s"]),
            fit["achieved_gflops"],
            fit["floor_ratio"],
            100 * fit["floor_ratio_cv"],
        ],
        "same, the loop trainer (the default)": [
            ms(loop["epoch_s"]),
            loop["achieved_gflops"],
            loop["floor_ratio"],
            fit["epoch_s"] / loop["epoch_s"],
        ],
        "same, the loop trainer on the fused": [
            ms(fused["epoch_s"]),
            fused["achieved_gflops"],
            fused["floor_ratio"],
            100 * fused["floor_ratio_cv"],
        ],
        "same, on TensorFlow's block kernel": [ms(block["block_epoch_s"]), block["block_floor_ratio"]],
        "same, Keras' LSTM with XLA": [ms(xla["epoch_s"]), xla["achieved_gflops"], xla["floor_ratio"]],
        "same, JAX backend": [ms(jax["epoch_s"]), jax["achieved_gflops"], jax["floor_ratio"]],
        "same, both cores": [
            ms(fused2["epoch_s"]),
            fused2["floor_ratio"],
            ms(jax2["epoch_s"]),
            jax2["floor_ratio"],
        ],
        "memory": [
            memory["peak_rss_2_cells_mb"],
            memory["peak_rss_12_cells_mb"],
            100 * memory["growth"],
            memory["in_process_2_cells_mb"],
            memory["in_process_12_cells_mb"],
            100 * (memory["in_process_12_cells_mb"] / memory["in_process_2_cells_mb"] - 1),
            12,
            memory["peak_rss_12_cells_batched_mb"],
            100 * (memory["peak_rss_12_cells_batched_mb"] / memory["peak_rss_12_cells_mb"] - 1),
        ],
    }
    shapes = {
        "a seed's epoch, hidden 16": "l201-w25-h16",
        "same, hidden 64 (201, 25)": "l201-w25-h64",
        "same, hidden 64 (601, 50)": "l601-w50-h64",
        "same, hidden 300 (201, 25)": "l201-w25-h300",
    }
    for label, shape in shapes.items():
        member = _members(perf, shape)
        rows[label] = [
            figure for way in ("alone", "block", "together")
            for figure in (ms(member[f"{way}_epoch_s"]), member[f"{way}_floor_ratio"])
        ]  # fmt: skip
    for label, values in rows.items():
        _assert_shows(f"performance.md, {label!r}", _numbers(_row("performance.md", label)[1]), values)

    # The targets are the bench's, and "met" is what the run measured.
    bench = "bench/test_perf.py"
    targets = {
        "forecast, article-2017": [_constant(bench, "MIN_SPEEDUP"), _constant(bench, "ENGINE_TOL")],
        "same, the loop trainer on the fused": [_constant(bench, "MAX_FLOOR_RATIO")],
        "a seed's epoch, hidden 16": [_constant(bench, "MAX_MEMBER_FLOOR_RATIO")],
        "same, hidden 64 (201, 25)": [_constant(bench, "MAX_MEMBER_FLOOR_RATIO")],
        "same, hidden 64 (601, 50)": [_constant(bench, "MAX_MEMBER_FLOOR_RATIO")],
        "memory": [100 * _constant(bench, "MAX_MEMORY_GROWTH")],
    }
    for label, values in targets.items():
        _assert_shows(
            f"performance.md's target, {label!r}", _numbers(_row("performance.md", label)[2]), values
        )
    assert _row("performance.md", "same, the loop trainer on the fused")[2].endswith(
        ": met" if fused["floor_ratio"] <= _constant(bench, "MAX_FLOOR_RATIO") else "not met"
    )
    for label, shape in list(shapes.items())[:3]:
        member = _members(perf, shape)
        best = min(member[f"{way}_floor_ratio"] for way in ("alone", "block", "together"))
        met = best <= _constant(bench, "MAX_MEMBER_FLOOR_RATIO")
        assert ("not met" not in _row("performance.md", label)[2]) == met, label
    assert (
        f"batched rollout, {_constant(bench, 'BATCH')} start points"
        in _row("performance.md", "batched rollout")[0]
    )
    assert (
        f"one of {_constant(bench, 'MEMBERS')} seeds"
        in _row("performance.md", "a seed's epoch, hidden 16")[0]
    )


def test_the_performance_prose_is_the_committed_perf_run():
    """docs/performance.md's sentences on the perf run, and docs/models.md's on the fused and
    block kernels: the ratios' ranges, the implementation table, the forecast step."""
    from sinelstm.experiment.config import epoch_flops, preset
    from sinelstm.experiment.floor import training_shape

    _, perf = _perf()
    text = _page("performance.md")
    impl = {shape: _implementation(perf, shape) for shape in ("l201-w25-h300", "l601-w50-h300")}
    h300 = _members(perf, "l201-w25-h300")
    one_core = {
        "keras": [
            _train(perf, "tensorflow-loop-keras-1core")["floor_ratio"],
            h300["alone_floor_ratio"],
            *(row["keras_floor_ratio"] for row in impl.values()),
        ],
        "block": [h300["block_floor_ratio"], *(row["block_floor_ratio"] for row in impl.values())],
        "fused": [
            _train(perf, "tensorflow-loop-fused-1core")["floor_ratio"],
            *(row["fused_floor_ratio"] for row in impl.values()),
        ],
    }
    quoted = re.search(rf"Keras' {N}-{N}x, the block kernel {N}-{N}x, the fused LSTM {N}-{N}x", text)
    assert quoted, "the hidden-300 ratios of the perf run are gone from performance.md"
    values = [bound for ratios in one_core.values() for bound in (min(ratios), max(ratios))]
    _assert_shows("performance.md, hidden 300 one core", list(quoted.groups()), values)

    # The implementation table, row by row, as bench/test_perf.py's summary computes it.
    shapes = {"l201-w25-h16": "201, 25, 16", "l201-w25-h64": "201, 25, 64", "l201-w25-h300": "201, 25, 300",
              "l601-w50-h64": "601, 50, 64", "l601-w50-h300": "601, 50, 300"}  # fmt: skip
    paybacks = {}
    for shape, label in shapes.items():
        row = _implementation(perf, shape)
        keras_, fused, block = (row[f"{name}_floor_ratio"] for name in ("keras", "fused", "block"))
        speedup = keras_ / fused
        extra = row["fused_first_epoch_s"] - row["keras_first_epoch_s"]
        paybacks[shape] = extra / (row["keras_epoch_s"] * (1 - 1 / speedup))
        block_first = row["block_first_epoch_s"] - row["keras_first_epoch_s"]
        values = [keras_, fused, block, speedup, extra, paybacks[shape], block_first]
        _assert_shows(
            f"performance.md's implementation row {label!r}",
            _numbers(" ".join(_row("performance.md", label)[1:])),
            values,
        )
        assert speedup > 1, f"{label}: the fused LSTM was not faster per epoch"  # docs/models.md says it was
        assert block_first < min(0.0, extra), f"{label}: the block kernel's first epoch was not the shortest"
    h16 = _implementation(perf, "l201-w25-h16")
    assert h16["block_floor_ratio"] < min(h16["keras_floor_ratio"], h16["fused_floor_ratio"])
    assert all(10 <= paybacks[s] < 100 for s in shapes if s.endswith("h300"))  # "tens of epochs"
    assert all(paybacks[s] >= 100 for s in shapes if not s.endswith("h300"))  # "a hundred or more"
    models = _page("models.md")
    assert "fastest of the three at hidden 16 and took the shortest first epoch at every shape" in models
    assert "pays back only after tens of epochs at hidden 300 and a hundred or more at hidden 16-64" in models

    epoch_16 = re.search(r"At hidden 16 an epoch takes about (\d+) ms", text)
    assert epoch_16 and int(epoch_16[1]) == round(1000 * h16["keras_epoch_s"])
    article = preset("article-2017")
    shape = training_shape(article)
    assert f"({shape[0]}x{shape[1]} by {shape[1]}x{shape[2]})" in text
    small = training_shape(article.replace(hidden=16))
    assert f"({small[0]}x{small[1]} by {small[1]}x{small[2]})" in text
    assert f"{epoch_flops(article) / 1e9:.1f} GFLOP at the article-2017 shape" in text
    assert f"its {3 * article.window} products alone" in text
    per_step = round(24 * 16 * (16 + 2), -3)
    assert (
        f"about {per_step:,} FLOPs of products per window and time step (24 x hidden x (hidden + 2))" in text
    )
    one_thread = (
        "tensorflow-fit-keras",
        "tensorflow-loop-keras",
        "tensorflow-loop-fused",
        "tensorflow-loop-keras-xla",
    )
    rates = [_train(perf, f"{variant}-1core")["sgemm_gflops"] for variant in (*one_thread, "jax-loop-keras")]
    assert f"{min(rates):.0f}-{max(rates):.0f} GFLOP/s on one thread at this shape" in text
    step = perf["test_perf_forecast_engine"]["compiled_ms_per_step"]
    assert f"about {step:.1f} ms at hidden 300" in text
    machinery = (
        _train(perf, "tensorflow-fit-keras-1core")["epoch_s"]
        - _train(perf, "tensorflow-loop-keras-1core")["epoch_s"]
    )
    for page in ("performance.md", "models.md"):
        assert f"about {machinery:.1f} s an epoch" in _page(page), page
    fused_ratio = _train(perf, "tensorflow-loop-fused-1core")["floor_ratio"]
    limit = _constant("bench/test_perf.py", "MAX_FLOOR_RATIO")
    assert f"{fused_ratio:.2f}x in the run above, while the perf run at b0d61eb" in text
    assert f"failed its {limit}x target" in text


# --- the performance page: the committed grid runs ------------------------------------


def _grid_run(name: str):
    """(rows, record, floor) of a committed grid run: results/NAME.csv and its grid record."""
    from sinelstm.sweep.gridtime import grid_floor, read_record
    from sinelstm.sweep.store import read_results

    frame = read_results(RESULTS / f"{name}.csv")
    record = read_record(RESULTS / f"{name}.csv")
    assert record is not None and record.cells == len(frame), f"results/{name}.grid.json is not its CSV's run"
    return frame, record, grid_floor(frame, record.workers)


def _training_runs(frame) -> list:
    """Each training run of a results frame once, at its row of the most epochs (the cells of
    several budgets and of early stopping of one run are one run, as the grid's floor counts
    them)."""
    from sinelstm.experiment.config import run_of
    from sinelstm.sweep.rows import config_of

    runs: dict = {}
    for _, row in frame[frame["status"] == "ok"].iterrows():
        key = run_of(config_of(row))
        if key not in runs or float(row["epochs_run"]) > float(runs[key]["epochs_run"]):
            runs[key] = row
    return list(runs.values())


def test_the_performance_grid_rows_are_the_committed_grid_runs():
    """docs/performance.md's default and science rows, and the reasons under them: the
    committed runs' wall time (their grid records), floors and training time (their CSVs)."""
    from sinelstm.sweep.gridtime import cell_flop

    for name, label in (("latest", "default grid"), ("latest-science", "science grid")):
        frame, record, floor = _grid_run(name)
        cells = _row("performance.md", label)
        assert f"({record.cells} cells), {record.workers} workers" in cells[0], label
        assert record.commit[:7] in cells[0] and f"`results/{name}.csv`" in cells[0], label
        (cpu,) = set(frame["cpu"])  # the machine the row names
        machines = ("Xeon", "AMD EPYC")
        assert [machine in cells[0] for machine in machines] == [machine in cpu for machine in machines], (
            label
        )
        if "gate passed" in cells[1]:
            assert "PASSED" in (RESULTS / f"{name}.summary.md").read_text()
        values = [record.wall_s, floor.floor_s, floor.flop / 1e12, record.wall_s / floor.floor_s]
        _assert_shows(f"performance.md, {label}", _numbers(cells[1]), values)
        target = [float(n) for n in _numbers(cells[2])]
        assert (record.wall_s / floor.floor_s > target[-1]) == cells[2].endswith("not met**"), label
    text = _page("performance.md")

    # The default grid: its hidden-300 cells hold most of its FLOPs.
    frame, _, floor = _grid_run("latest")
    h300 = sum(cell_flop(row) for row in _training_runs(frame) if row["hidden"] == 300)
    assert f"Its hidden-300 cells hold {h300 / 1e12:.1f} of its {floor.flop / 1e12:.1f} TFLOP" in text
    ok = frame[frame["status"] == "ok"]
    paid = re.search(
        rf"in the default grid's committed run the first epochs' extra time sums to {N} s and the "
        rf"forecasts' compilation to {N} s, against {N} s of training",
        text,
    )
    assert paid, "performance.md no longer sums the default run's warm-ups"
    values = [ok["fit_warmup_s"].sum(), ok["forecast_warmup_s"].sum(), ok["fit_s"].sum()]
    _assert_shows("performance.md, the default run's warm-ups", list(paid.groups()), values)

    # The science grid: its training time against its floor, hidden 300 apart.
    frame, _, _ = _grid_run("latest-science")
    runs = [row for row in _training_runs(frame) if cell_flop(row) > 0]

    def sums(rows):
        return (
            len(rows),
            sum(float(row["fit_s"]) for row in rows),
            sum(cell_flop(row) / (float(row["floor_gflops"]) * 1e9) for row in rows),
        )

    big = sums([row for row in runs if row["hidden"] == 300])
    rest = sums([row for row in runs if row["hidden"] != 300])
    science = re.search(
        rf"Its (\d+) hidden-300 training runs took {N} s against {N} s of floor \({N}x\); "
        rf"its other (\d+) network runs {N} s against {N} s, {N}x",
        text,
    )
    assert science, "performance.md no longer sums the science run's training against its floor"
    values = [big[0], big[1], big[2], big[1] / big[2], rest[0], rest[1], rest[2], rest[1] / rest[2]]
    _assert_shows("performance.md, the science run", list(science.groups()), values)


# --- sizes, counts and measured power other pages quote -------------------------------


def test_the_sizes_the_pages_quote_are_the_committed_files():
    """docs/ci.md: the summary's limit and the committed summary's size; docs/reliability.md:
    the default run's rows and curves."""
    limit = _constant("sinelstm/report/summary.py", "MAX_BYTES")
    ci = _page("ci.md")
    assert f"of at most {limit // 1024} KB" in ci
    assert (
        f"`results/latest.summary.md` with its figure links: {_kb(RESULTS / 'latest.summary.md')} KB)" in ci
    )
    rows, curves = RESULTS / "latest.csv", RESULTS / "latest.series.csv"
    quoted = f"{_kb(rows)} KB of rows and {curves.stat().st_size / 1024**2:.1f} MB of curves"
    assert quoted in _page("reliability.md")


def test_the_gates_measured_power_is_the_committed_mutation_runs():
    """docs/gate.md: what CI's quick gate caught (results/mutations.csv); docs/ab.md: the
    speed A/B's planted slowdowns and benign conditions, and how long its runs took
    (results/mutations-ab.csv, results/mutations.md)."""
    with open(RESULTS / "mutations.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    planted = [row for row in rows if row["benign"] == "False"]
    benign = [row for row in rows if row["benign"] == "True"]
    caught = sum(row["caught"] == "True" for row in planted)
    statistical = sum(row["caught_statistical"] == "True" for row in planted)
    alarms = sum(row["caught"] == "True" for row in benign)
    gate = _page("gate.md")
    assert f"caught **{caught} of {len(planted)}** planted regressions" in gate
    assert alarms == 0 and f"**no false alarm in {len(benign)}** benign variations" in gate
    assert f"it caught {statistical} of {len(planted)}" in gate

    with open(RESULTS / "mutations-ab.csv", newline="") as handle:
        variants = {row["variant"]: row["benign"] == "True" for row in csv.DictReader(handle)}
    levels = sorted({int(name.rsplit("-", 1)[1]) for name, benign in variants.items() if not benign})
    ab = _page("ab.md")
    assert f"at {', '.join(f'{level}%' for level in levels[:-1])} and {levels[-1]}%" in ab
    words = {3: "three", 4: "four", 5: "five", 6: "six"}
    setups = [name for name in variants if name.startswith("aa-")]
    conditions = [name for name, benign in variants.items() if benign and name not in setups]
    assert f"in {words[len(conditions)]} conditions" in ab
    assert f"10 in each of {words[len(setups)]} setups" in ab
    table = (RESULTS / "mutations.md").read_text().split("<!-- ab-power:begin -->", 1)[1]
    false_alarms = r"\| 0 of \d+ \(false alarms\) \|[^|]*\|[^|]*\|[^|]*\| (\d+) \|"
    seconds = [int(s) for s in re.findall(false_alarms, table)]
    assert len(seconds) == sum(variants.values())
    took = f"took {min(seconds)}-{max(seconds)} s a run on average"
    assert f"(the benign runs in results/mutations.md {took})" in ab


def test_the_gates_other_measurements_are_in_the_committed_reports():
    """docs/gate.md: the example floor line is the default run's report; the reproduction
    tier's measured spread is the benign runs' largest move (results/mutations-benign.csv)."""
    gate = _page("gate.md")
    line = re.search(r"e\.g\. `grid floor ([^`]+)` \(the default grid's committed run at ([0-9a-f]{7})", gate)
    assert line, "gate.md's example floor line is gone"
    assert f"Grid floor {line[1]}." in (RESULTS / "REPORT.md").read_text()
    assert json.loads((RESULTS / "latest.grid.json").read_text())["commit"].startswith(line[2])
    # The benign runs' largest move at AVX2 and above (every host of this kind), and capped at AVX.
    with open(RESULTS / "mutations-benign.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["largest_move"]]
    supported = max(float(r["largest_move"].split()[0]) for r in rows if r["condition"] != "isa-avx")
    below = max(float(r["largest_move"].split()[0]) for r in rows if r["condition"] == "isa-avx")
    text = " ".join(gate.split())
    spread = re.search(r"moved no metric by more than ([\d.e-]+) of the tolerance", text)
    assert spread and spread[1] == f"{supported:.2g}"
    assert f"by {below:.2g} times the tolerance" in text


# --- numbers the code and its config define -------------------------------------------


def _grid_seeds(name: str) -> int:
    from sinelstm.sweep.grid import GRIDS

    cells = GRIDS[name].cells()
    return len({cell.seed for cell in cells})


def test_the_settings_the_pages_quote_are_the_codes():
    """Defaults, thresholds and limits the pages quote: each read from where it is defined
    (pyproject.toml's gate, the parser's defaults, the modules' constants)."""
    from sinelstm.experiment.config import PRESETS, ExperimentConfig
    from sinelstm.sweep.grid import GRIDS
    from sinelstm.verdict.speed import min_pairs, signed_rank_cdf

    gate = _gate()
    ab_rules, timing, reproduction = gate["ab"], gate["timing"], gate["reproduction"]
    cfg = ExperimentConfig()
    ab_cells = GRIDS["ab"].cells()
    ab_job = "sinelstm/workflow/ab_job.py"
    repeats = _constant(ab_job, "DEFAULT_REPEATS")
    pairs = min_pairs(ab_rules["confidence"])
    expected = {
        # docs/ab.md
        ("ab.md", r"The threshold is (\d+)%"): round(100 * ab_rules["threshold"]),
        ("ab.md", r"threshold \+ (\d+)%"): round(100 * ab_rules["margin"]),
        ("ab.md", r"its \*\*(\d+)% interval\*\*"): round(100 * ab_rules["confidence"]),
        ("ab.md", r"the measured interval's top plus (\d+)%"): round(
            100 * _constant("sinelstm/workflow/ab_sides.py", "ACCEPT_SLACK")
        ),
        ("ab.md", r"A slowdown of less than (\d+)% passes"): round(100 * ab_rules["threshold"]),
        ("ab.md", rf"\[1/{N}, \d+(?:\.\d+)?\]"): 1 + ab_rules["threshold"],
        ("ab.md", rf"catch slowdowns of {N}-\d+x"): 1 + timing["ratios"]["epoch_floor_ratio"],
        ("ab.md", r"catch slowdowns of \d+(?:\.\d+)?-(\d+)x"): 1 + timing["rel_tol"],
        ("ab.md", r"`--repeats` \((\d+)\)"): repeats,
        ("ab.md", r"`--max-repeats` \((\d+)\)"): _constant(ab_job, "DEFAULT_MAX_REPEATS"),
        ("ab.md", r"`--budget` \((\d+) s\)"): _constant(ab_job, "DEFAULT_BUDGET"),
        ("ab.md", r"lower their nice value by (\d+)"): _constant("sinelstm/runtime.py", "NICE"),
        ("ab.md", r"timed (\d+) times after its warm-up"): _constant(
            "sinelstm/sweep/ab_pairs.py", "FORECAST_ROUNDS"
        ),
        ("ab.md", r"the grid's own runs time it (\d+) times"): _constant(
            "sinelstm/experiment/run.py", "DEFAULT_FORECAST_ROUNDS"
        )["compiled"],
        ("ab.md", r"on (\d+) epochs, so that"): {cell.epochs for cell in ab_cells}.pop(),
        ("ab.md", r"At (\d+) pairs a percentile bootstrap"): len({c.seed for c in ab_cells}) * repeats,
        ("ab.md", r"It needs (\d+) pairs at least"): pairs,
        ("ab.md", r"\(at (\d+) it runs from the smallest"): pairs,
        ("ab.md", rf"coverage {N}%\)"): round(100 * (1 - 2 * signed_rank_cdf(pairs)[0]), 1),
        # docs/gate.md
        ("gate.md", r"median ratio grows by more than (\d+)%"): round(
            100 * timing["ratios"]["epoch_floor_ratio"]
        ),
        ("gate.md", r"\(epochs of (\d+) ms and longer"): round(1000 * timing["min_epoch_s"]),
        ("gate.md", r"the engine gate's (\d+)x"): round(1 / (1 - timing["speedup_rel_tol"])),
        ("gate.md", r"the quick grid's (\d+) become"): _grid_seeds("quick"),
        ("gate.md", r"the quick grid's \d+ become (\d+)"): 2 * _grid_seeds("quick") + 1,
        ("gate.md", r"the default's (\d+) become"): _grid_seeds("default"),
        ("gate.md", r"the default's \d+ become (\d+)"): 2 * _grid_seeds("default") + 1,
        ("gate.md", r"fresh process every (\d+) units"): _constant(
            "sinelstm/sweep/executors.py", "CELLS_PER_WORKER"
        ),
        # docs/performance.md
        ("performance.md", r"fresh processes every (\d+) units"): _constant(
            "sinelstm/sweep/executors.py", "CELLS_PER_WORKER"
        ),
        ("performance.md", r"plus (\d+) `model.predict` calls per cell"): cfg.horizon,
        # docs/models.md
        ("models.md", r"\(the last (\d+)% of windows"): round(100 * cfg.validation_split),
        ("models.md", r"up to hidden (\d+),"): _constant(
            "sinelstm/experiment/batched.py", "MAX_BATCHED_HIDDEN"
        ),
        ("models.md", r"within (1e-\d+) of their scale"): _constant("tests/test_fused.py", "TOL"),
        ("models.md", r"the same (1e-\d+) of their scale"): _constant("tests/test_fused.py", "TOL"),
        ("models.md", r"On all (\d+) cells against `--implementation keras`"): len(GRIDS["default"].cells()),
        # docs/running.md
        ("running.md", r"Adam (1e-3), MSE"): cfg.learning_rate,
        ("running.md", r"MSE, batch (\d+), up"): cfg.batch_size,
        ("running.md", r"up to (\d+) epochs"): cfg.epochs,
        ("running.md", r"the last (\d+)% of windows"): round(100 * cfg.validation_split),
        ("running.md", r"patience=(\d+)\)"): cfg.patience,
        ("running.md", r"forecasts (\d+) steps"): cfg.horizon,
        ("running.md", r"beyond (\d+)x the true amplitude"): _constant(
            "sinelstm/experiment/metrics.py", "DIVERGENCE_FACTOR"
        ),
        # docs/reliability.md, docs/install.md, docs/layout.md
        ("reliability.md", r"never under (\d+) minutes"): 5,
        ("install.md", r"retried (\w+) \(`max_retries`\)"): {1: "once", 2: "twice", 3: "three times"}[
            int(re.search(r"retries: int = (\d+)", (ROOT / "sinelstm/sweep/ray.py").read_text())[1])
        ],
        ("install.md", r"tensorflow\[and-cuda\]==(\d+(?:\.\d+)*)"): re.search(
            r"^tensorflow_cpu==(\d+(?:\.\d+)*)$", (ROOT / "constraints.txt").read_text(), re.M
        )[1],
        ("layout.md", r"no module over (\d+) lines"): _constant("tests/test_structure.py", "MAX_LINES"),
        ("install.md", r"one CPU \(`num_cpus=(\d+)`\)"): int(
            re.search(r"ray\.remote\(num_cpus=(\d+)", (ROOT / "sinelstm/sweep/ray.py").read_text())[1]
        ),
        ("models.md", r"the same forecast within (1e-\d+) \(tested\)"): _constant(
            "tests/test_experiment.py", "ENGINE_TOL"
        ),
        ("gate.md", r"off the article's \((\d+), \d+\)"): cfg.period,
        ("gate.md", r"off the article's \(\d+, (\d+)\)"): cfg.batch_size,
        ("running.md", r"of a (\d+)-step rollout"): cfg.horizon,
    }
    wrong = {}
    for (page, pattern), value in expected.items():
        for found in _matches(page, pattern):
            if isinstance(value, str):
                same = found == value
            else:
                same = math.isclose(float(found), float(value), rel_tol=1e-9)
            if not same:
                wrong[f"{page}: {pattern}"] = (found, value)
    assert wrong == {}
    timeout = (ROOT / "sinelstm/sweep/executors.py").read_text()
    assert "max(300.0, 10 * (" in timeout  # reliability.md: "ten times ... and never under 5 minutes"
    assert "defaults to ten times the cell's estimated cost, and never under 5 minutes" in _page(
        "reliability.md"
    )
    assert "the newest three are kept" in _page("reliability.md")
    assert _constant("sinelstm/sweep/runner.py", "KEEP_PREVIOUS") == 3
    assert (
        "budget = estimated_cost(tuple(cells)) / (4 * max(1, workers))"
        in (ROOT / "sinelstm/sweep/runner.py").read_text()
    )
    assert "kept to a quarter of the grid's cost per worker" in _page("models.md")
    low, high = re.search(
        r'requires-python = ">=3\.(\d+),<3\.(\d+)"', (ROOT / "pyproject.toml").read_text()
    ).groups()
    assert f"Python 3.{low} to 3.{int(high) - 1}" in _page("install.md")

    def short(x):  # 0.0001 -> 1e-4, as the pages write it
        return re.sub(r"e([-+])0*(\d)", r"e\1\2", f"{x:.0e}").replace("e+", "e")

    tolerance = f"`{short(reproduction['abs_tol'])} + {short(reproduction['rel_tol'])} * |value|`"
    assert tolerance in _page("gate.md")
    assert tolerance.replace(" * ", " x ") in _page("ab.md")
    pinned = re.search(r"^tensorflow_cpu==(\d+\.\d+)", (ROOT / "constraints.txt").read_text(), re.M)[1]
    for page in sorted(DOCS.glob("*.md")):
        assert set(re.findall(r"TensorFlow(?:-CPU)? (\d+\.\d+)", _page(page.name))) <= {pinned}, page.name
    sides = sorted({(cell.window, cell.length) for cell in ab_cells})
    (hidden,) = {cell.hidden for cell in ab_cells}
    seeds = sorted({cell.seed for cell in ab_cells})
    assert len(sides) == 2 and len(seeds) == 2
    described = (
        f"window {sides[0][0]} on {sides[0][1]} samples, window {sides[1][0]} on {sides[1][1]}; "
        f"hidden {hidden}; seeds {seeds[0]} and {seeds[1]}"
    )
    assert described in _page("ab.md")
    for name, preset in PRESETS.items():
        row = _row("running.md", f"`{name}`")
        assert row[1:5] == [
            f"{preset.period:g}",
            str(preset.length),
            str(preset.window),
            str(preset.hidden),
        ], name


def test_the_grids_axes_are_the_grids():
    """Every number in docs/gate.md's grid table's axes column (and so in the generated
    grids page) is a value some cell of that grid has: a seed, a window, an epoch cap, a
    batch size, a horizon."""
    from dataclasses import astuple

    from sinelstm.sweep.grid import GRIDS

    wrong = {}
    for name, grid in GRIDS.items():
        axes = _row("gate.md", f"`{name}`")[2]
        values = {float(v) for cell in grid.cells() for v in astuple(cell) if isinstance(v, int | float)}
        missing = [n for n in _numbers(axes, signed=False) if float(n) not in values]
        if missing:
            wrong[name] = missing
    assert wrong == {}


def test_the_sample_output_is_the_committed_article_2017_cell():
    """docs/running.md's sample output is what `sinelstm run` prints for a row (its metrics
    and timings table), for the committed run of the article-2017 cell it names."""
    from sinelstm.report.tables import metrics_table
    from sinelstm.sweep.rows import METRIC_COLUMNS, TIMING_COLUMNS
    from sinelstm.sweep.store import read_results

    text = (DOCS / "running.md").read_text()
    named = re.search(r"the cell `([\w-]+)` of `results/([\w.-]+\.csv)`", _page("running.md"))
    assert named, "running.md no longer names the row its sample output shows"
    frame = read_results(RESULTS / named[2])
    rows = frame[frame["cell"] == named[1]]
    assert len(rows) == 1
    sample = text.split("Sample output", 1)[1].split("```\n", 2)[1]
    printed = sample.rsplit("\nwrote ", 1)[0]
    assert printed == metrics_table(rows.iloc[0].to_dict(), METRIC_COLUMNS + TIMING_COLUMNS)


def test_the_block_kernel_is_keras_lstm_on_the_cells_the_baselines_share():
    """docs/models.md: the default baseline (the block kernel) against the quick grid's
    (Keras' LSTM) on the cells they share, as docs/same_cells.py pairs them: the same epochs
    and best epoch, every metric within 0.1 of the reproduction tolerance."""
    import pandas as pd

    from sinelstm.experiment.config import CONFIG_FIELDS
    from sinelstm.sweep.rows import METRIC_COLUMNS
    from sinelstm.sweep.store import read_results
    from sinelstm.verdict.rules import ReproductionRules

    block, keras_ = (read_results(RESULTS / name) for name in ("baseline.csv", "baseline-quick.csv"))
    assert set(block["implementation"]) == {"block"} and set(keras_["implementation"]) == {"keras"}
    keys = [field for field in CONFIG_FIELDS if field != "implementation"]
    pairs = block.merge(keras_, on=keys, suffixes=("_block", "_keras"))
    quoted = re.search(
        r"On the (\d+) cells its committed baseline shares with the quick grid's, which runs Keras' LSTM "
        r"\(hidden (\d+), seeds (\d+)-(\d+): .*? every cell ran the same epochs and best epoch and every "
        rf"metric stayed within {N} of the reproduction tolerance",
        _page("models.md"),
    )
    assert quoted, "docs/models.md no longer compares the committed baselines"
    assert int(quoted[1]) == len(pairs) > 0
    assert {int(quoted[2])} == set(pairs["hidden"]) and set(pairs["seed"]) == set(
        range(int(quoted[3]), int(quoted[4]) + 1)
    )
    rules = ReproductionRules()
    for exact in ("epochs_run", "best_epoch"):
        assert (pairs[f"{exact}_block"] == pairs[f"{exact}_keras"]).all(), exact
    worst = 0.0
    for metric in METRIC_COLUMNS:
        new, old = pairs[f"{metric}_block"], pairs[f"{metric}_keras"]
        both = new.notna() & old.notna()
        if metric in rules.exact or not both.any() or new.dtype == object:
            continue
        new, old = pd.to_numeric(new[both]), pd.to_numeric(old[both])
        units = (new - old).abs() / old.map(partial(rules.tolerance, metric=metric))
        worst = max(worst, float(units.max()))
    assert worst <= float(quoted[5])
