"""The pull request's one comment (.ci/pr_comment.py) and the two workflows that make and post
it: every verdict made on purpose, untrusted summaries kept from breaking out of the comment,
links that open, and a posting workflow that never runs the PR's code with a write token."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"
REPO = "octo/sinelstm"
RUN = f"https://github.com/{REPO}/actions/runs/42"
ALL_OK = dict.fromkeys(
    ("lint", "docs", "py311", "ray", "bench", "bench-jax", "paths", "paths-jax", "mutations", "ab"), "success"
)
GATE_OK = "### sinelstm gate: ✅ PASSED\n\n`latest-quick.csv` against `results/baseline-quick.csv`.\n"
GATE_FAILED = "### sinelstm gate: ❌ FAILED (1 failures)\n\n**Failed** (1):\n\n- window25: worse\n"
AB_OK = "## Speed and results, head against base (passed)\n\nHead against base.\n"


def load():
    spec = importlib.util.spec_from_file_location("pr_comment", ROOT / ".ci/pr_comment.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pr_comment"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


pc = load()


def summaries(folder: Path, **texts: str) -> Path:
    """Summaries by part key (bench, bench_jax, paths, paths_jax, ab); None leaves one out."""
    names = {p.key.replace("-", "_"): p.summary for p in pc.PARTS if p.summary}
    folder.mkdir(parents=True, exist_ok=True)
    for key, text in texts.items():
        if text is not None:
            (folder / names[key]).write_text(text, encoding="utf-8")
    return folder


def passing(folder: Path) -> Path:
    return summaries(folder, bench=GATE_OK, bench_jax=GATE_OK, paths=GATE_OK, paths_jax=GATE_OK, ab=AB_OK)


def body(folder: Path, outcomes=None, **kwargs) -> str:
    return pc.build(folder, REPO, SHA, RUN, ALL_OK if outcomes is None else outcomes, **kwargs)


def verdict_line(text: str) -> str:
    return text.splitlines()[1]


def rows(text: str) -> dict[str, str]:
    """The verdict table: part title -> its verdict cell."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] in {p.title for p in pc.PARTS}:
            found[cells[0]] = cells[1]
    return found


def test_the_marker_comes_first_and_the_head_commit_is_named_and_linked(tmp_path):
    text = body(passing(tmp_path))
    assert text.startswith(pc.MARKER + "\n")
    assert f"[`{SHA[:7]}`](https://github.com/{REPO}/commit/{SHA})" in text
    assert f"]({RUN})" in text


def test_every_part_passing_is_the_one_green_verdict(tmp_path):
    text = body(passing(tmp_path))
    assert verdict_line(text).startswith("## ✅") and "all 10 parts passed" in verdict_line(text)
    assert set(rows(text).values()) == {"✅ passed"} and len(rows(text)) == 10


def test_a_jax_failure_with_tensorflow_passing_fails_the_whole(tmp_path):
    folder = passing(tmp_path)
    summaries(folder, bench_jax=GATE_FAILED)
    text = body(folder, {**ALL_OK, "bench-jax": "failure"})
    assert verdict_line(text).startswith("## ❌") and "✅" not in verdict_line(text)
    assert "JAX gate, quick grid failed" in verdict_line(text)
    assert rows(text)["TensorFlow gate, quick grid"] == "✅ passed"
    assert rows(text)["JAX gate, quick grid"] == "❌ failed"


def test_a_failed_summary_fails_even_where_its_step_succeeded(tmp_path):
    folder = passing(tmp_path)
    summaries(folder, bench_jax=GATE_FAILED)
    text = body(folder)
    assert verdict_line(text).startswith("## ❌") and rows(text)["JAX gate, quick grid"] == "❌ failed"


def test_a_passed_summary_whose_step_failed_is_failed(tmp_path):
    text = body(passing(tmp_path), {**ALL_OK, "bench": "failure"})
    assert rows(text)["TensorFlow gate, quick grid"] == "❌ failed"
    assert "the summary says passed, but its step: failure" in text
    assert verdict_line(text).startswith("## ❌")


@pytest.mark.parametrize("left_out", ["bench", "bench_jax", "ab"])
def test_a_missing_part_is_reported_missing_not_passing(tmp_path, left_out):
    folder = passing(tmp_path)
    (folder / next(p.summary for p in pc.PARTS if p.key.replace("-", "_") == left_out)).unlink()
    for outcomes in (ALL_OK, {}):  # whether or not its step said success
        text = body(folder, outcomes)
        assert verdict_line(text).startswith("## ❌") and " missing" in verdict_line(text)
        assert list(rows(text).values()).count("❌ missing") == 1


def test_the_required_parts_are_expected_even_with_nothing_at_all(tmp_path):
    text = body(tmp_path, {})
    assert verdict_line(text).startswith("## ❌")
    assert rows(text) == {t: "❌ missing" for t in ("TensorFlow gate, quick grid", "JAX gate, quick grid",
                                                     "A/B, head against base")}  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        ("cancelled", "cancelled"),
        ("skipped", "skipped"),
        ("bogus", "failed"),
        ("passed", "failed"),
    ],
)
def test_a_step_that_did_not_succeed_is_never_passed(tmp_path, outcome, state):
    text = body(passing(tmp_path), {**ALL_OK, "lint": outcome, "ab": outcome})
    assert (
        rows(text)["Lint (ruff)"] == f"❌ {state}" and rows(text)["A/B, head against base"] == f"❌ {state}"
    )
    assert verdict_line(text).startswith("## ❌")


def test_a_summary_stating_no_verdict_is_unreadable(tmp_path):
    folder = passing(tmp_path)
    summaries(folder, ab="all good, trust me\n## PASSED\n")
    text = body(folder)
    assert rows(text)["A/B, head against base"] == "❌ unreadable" and verdict_line(text).startswith("## ❌")


def test_a_run_that_did_not_conclude_in_success_is_red_whatever_its_parts(tmp_path):
    text = body(passing(tmp_path), conclusion="timed_out")
    assert verdict_line(text).startswith("## ❌") and "the run concluded `timed_out`" in verdict_line(text)
    assert verdict_line(body(passing(tmp_path), conclusion="success")).startswith("## ✅")


def test_the_summaries_sinelstm_writes_are_read_as_it_means_them(tmp_path, committed_results):
    """The headings come from the real writers, so a change to their wording cannot turn every
    verdict unreadable (or worse, passed) unnoticed."""
    from sinelstm.report.ab_table import markdown

    def ab_run(passed: bool) -> SimpleNamespace:
        rules = SimpleNamespace(confidence=0.95, threshold=0.05, margin=0.02, informational=())
        side = SimpleNamespace(label="abc")
        return SimpleNamespace(passed=passed, head=side, base=side, grid="ab", repeats=3, streams=1, pairs=[],
                               wall_s=1.0, rules=rules, nice=0, stack=(), missing_fields=(), failures=[],
                               verdicts=[], differences=[])  # fmt: skip

    committed = (committed_results / "latest.summary.md").read_text()  # a user's own run may fail
    failed = committed.replace("✅ PASSED", "❌ FAILED (2 failures)")
    assert committed.startswith("### sinelstm gate: ✅ PASSED")
    for text, ab_passed, state in ((committed, True, "passed"), (failed, False, "failed")):
        folder = summaries(tmp_path / state, bench=text, bench_jax=text, ab=markdown(ab_run(ab_passed), True))
        found = {v.part.key: v.state for v in pc.verdicts(folder, {})}
        assert found == {"bench": state, "bench-jax": state, "ab": state}


def test_relative_links_open_at_the_head_commit_or_the_run(tmp_path, committed_results):
    tracked = pc.read_tracked(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                                             text=True, check=True).stdout)  # fmt: skip
    gate = (committed_results / "latest.summary.md").read_text()
    gate += "\nMade here: [the quick report](REPORT-quick.md) ![fit](REPORT-quick_figures/fit.png)\n"
    gate += "[table](latest.gate.md#config) [up](../README.md) ![inline](REPORT_figures/amplitude.png)\n"
    gate += "[root](/etc/passwd) [js](javascript:alert(1)) [far](https://example.com/x) [out](../../x)\n"
    gate += "[ref]: REPORT_figures/fit_time.png\n"
    text = body(summaries(tmp_path, bench=gate, bench_jax=GATE_OK, ab=AB_OK), tracked=tracked)
    blob, raw = f"https://github.com/{REPO}/blob/{SHA}/", f"https://raw.githubusercontent.com/{REPO}/{SHA}/"
    assert f"[amplitude]({blob}results/REPORT_figures/amplitude.png)" in text  # committed
    assert f"![inline]({raw}results/REPORT_figures/amplitude.png)" in text  # a committed image, shown
    assert f"[up]({blob}README.md)" in text and f"[table]({blob}results/latest.gate.md#config)" in text
    assert f"[ref]: {blob}results/REPORT_figures/fit_time.png" in text
    assert f"[the quick report]({RUN})" in text and f"[fit (figure in the run's artifact)]({RUN})" in text
    for removed in ("root", "js", "far", "out"):
        assert f"{removed} (link removed)" in text
    targets = re.findall(r"\]\(([^)]*)\)", text) + re.findall(r"^\[[^\]]+\]: (\S+)", text, re.MULTILINE)
    assert targets and all(t.startswith(("https://github.com/", "https://raw.githubusercontent.com/"))
                           for t in targets)  # fmt: skip
    # Without the list of committed files every relative link goes to the run.
    assert f"[amplitude]({RUN})" in body(summaries(tmp_path, bench=gate))


HOSTILE = (
    "### sinelstm gate: ✅ PASSED\n\n--> <!-- sinelstm-pr-comment --> <script>alert(1)</script>\n"
    "<img src=x onerror=alert(1)> <details><summary>open</summary>\n</details></details>\n"
    "   # ✅ PASSED, says an indented heading\n\nA setext heading\n===\n\nAnother\n---\n"
    "<details>\n```\nunclosed fence <!--\n@octocat @org/team please look\x00\x1b[31m\u202e\n"
)


def test_a_hostile_summary_cannot_break_out_of_its_section_or_the_marker(tmp_path):
    text = body(summaries(tmp_path, bench=HOSTILE, bench_jax=HOSTILE, ab=AB_OK))
    assert text.startswith(pc.MARKER) and text.count("<!--") == 1 and text.count("-->") == 1
    assert "<script" not in text.lower() and "<img" not in text.lower()
    assert "&lt;script&gt;" in text and "--&gt;" in text
    assert text.count("<details>") == text.count("</details>")
    assert text.count("<summary>") == text.count("</summary>")
    assert text.count("```") % 2 == 0
    assert "@octocat" not in text and "@\u200boctocat" in text
    assert "\x00" not in text and "\x1b" not in text and "\u202e" not in text
    # No heading but the comment's own: the verdict (level 2), the sections (3), theirs (4).
    headings = [line for line in text.splitlines() if re.match(r" {0,3}#{1,6}( |$)", line)]
    assert [h for h in headings if not h.startswith(("### ", "#### "))] == [verdict_line(text)]
    assert not re.search(r"^ {0,3}(=+|-+)[ \t]*$", text, re.MULTILINE)
    # The hostile sections still end before the next one starts, each in its place.
    assert text.index("### ✅ JAX gate") < text.index("### ✅ A/B, head against base")


def test_a_huge_body_is_cut_under_githubs_limit_with_a_note(tmp_path):
    line = "| 😀 row | " + "x" * 100 + " |\n"
    huge = GATE_OK + line * 200_000  # 20 MB of it, and characters GitHub counts twice
    folder = summaries(
        tmp_path, bench=huge, bench_jax=huge, paths=huge, paths_jax=huge, ab=AB_OK + line * 9999
    )
    text = body(folder)
    assert pc.units(text) <= pc.MAX_BODY and text.startswith(pc.MARKER)
    assert "… cut:" in text and f"[run's artifact]({RUN})" in text
    assert text.count("### ") >= 5  # every part keeps its section
    assert verdict_line(text).startswith("## ✅")  # cutting a summary does not change its verdict
    # Whatever reaches fit() leaves it under the limit, marker first.
    assert pc.units(pc.fit(pc.MARKER + "\n" + "😀" * 70_000)) <= pc.MAX_BODY


def test_inputs_that_are_not_what_they_claim_are_refused(tmp_path):
    folder = passing(tmp_path)
    with pytest.raises(ValueError):
        pc.build(folder, REPO, SHA.upper(), RUN, ALL_OK)
    with pytest.raises(ValueError):
        pc.build(folder, "octo/sinelstm)](x", SHA, RUN, ALL_OK)
    other_run = pc.build(folder, REPO, SHA, "https://evil.example/octo/sinelstm/actions/runs/1", ALL_OK)
    assert "evil" not in other_run and "its run" not in other_run
    assert pc.read_outcomes("bench=success\nbench-jax=pwned\nrm -rf=success\n") == {
        "bench": "success",
        "bench-jax": "unknown",
    }
    assert pc.read_tracked("results/a.png\n../etc/passwd\nresults/../x\n/abs\nok dir/x\n") == {
        "results/a.png"
    }


def test_a_summary_that_is_a_link_is_not_followed(tmp_path):
    folder = passing(tmp_path)
    secret = tmp_path / "secret.md"
    secret.write_text(GATE_OK + "SECRET\n")
    (folder / "latest-ab.summary.md").unlink()
    (folder / "latest-ab.summary.md").symlink_to(secret)
    text = body(folder)
    assert "SECRET" not in text and rows(text)["A/B, head against base"] == "❌ missing"


def test_the_command_line_writes_the_body_and_the_api_payload(tmp_path):
    folder = passing(tmp_path / "results")
    (tmp_path / "outcomes").write_text("".join(f"{k}={v}\n" for k, v in ALL_OK.items()))
    out, payload = tmp_path / "comment.md", tmp_path / "comment.json"
    args = ["--results", str(folder), "--repo", REPO, "--sha", SHA, "--run-url", RUN]
    args += ["--outcomes", str(tmp_path / "outcomes"), "--tracked", str(tmp_path / "none"), "-o", str(out)]
    assert pc.main([*args, "--json-out", str(payload)]) == 0
    assert json.loads(payload.read_text())["body"] == out.read_text() and "## ✅" in out.read_text()
    assert pc.main(["--repo", REPO, "--sha", "nothex"]) == 2


# The workflows: bench.yml runs the PR's code read-only; pr-comment.yml posts from the default branch.


def workflow(name: str) -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML (the dev extra) reads the workflows")
    loaded = yaml.safe_load((ROOT / ".github/workflows" / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def permissions(flow: dict) -> list[dict]:
    return [flow.get("permissions") or {}] + [job.get("permissions") or {} for job in flow["jobs"].values()]


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def test_the_bench_workflow_holds_no_write_token_and_runs_every_tox_env():
    bench = workflow("bench.yml")
    assert set(bench["on"]) == {"pull_request", "push"}
    for granted in permissions(bench):
        assert isinstance(granted, dict) and "write" not in granted.values()
        assert granted.get("contents", "read") == "read"
    assert "write" not in json.dumps(bench.get("permissions"))
    assert "gh pr comment" not in json.dumps(bench) and "gh api" not in json.dumps(bench)
    assert bench["concurrency"]["group"] and "cancel-in-progress" in bench["concurrency"]
    runs = [step.get("run", "") for step in steps(bench)]
    env_list = re.search(r"^env_list = (.*)$", (ROOT / "tox.ini").read_text(), re.MULTILINE).group(1)
    assert {m for run in runs for m in re.findall(r"bash \.ci/run -e (\S+)", run)} == {
        env.strip() for env in env_list.split(",")
    }
    artifacts = {
        step["with"]["name"]: step for step in steps(bench) if "upload-artifact" in step.get("uses", "")
    }
    assert set(artifacts) == {"sinelstm-results", "sinelstm-pr-comment"}
    assert all(step["if"] == "always()" for step in artifacts.values())
    for kept in (
        "results/latest-quick*",
        "results/latest-paths*",
        "results/latest-ab*",
        "results/REPORT-quick*",
    ):
        assert kept in artifacts["sinelstm-results"]["with"]["path"]
    data = next(run for run in runs if ".ci/pr_comment.py" in run)
    for written in ("pr-number", "head-sha", "outcomes", "tracked", "comment.md", "GITHUB_STEP_SUMMARY"):
        assert written in data
    for summary in (p.summary for p in pc.PARTS if p.summary):
        assert f"results/{summary}" in data


def test_every_tox_env_is_a_part_of_the_comment_with_its_own_steps_outcome():
    """A new tox env with no part would be left out of the comment without a word (unknown
    outcomes are ignored): tox's env_list, the comment's parts, the outcomes the workflow writes
    and the steps that give them are one set, each outcome its own env's step's."""
    bench = workflow("bench.yml")
    env_list = re.search(r"^env_list = (.*)$", (ROOT / "tox.ini").read_text(), re.MULTILINE).group(1)
    envs = {env.strip() for env in env_list.split(",")}
    assert {part.key for part in pc.PARTS} == envs
    step_of = {}  # step id -> the env it runs
    for step in steps(bench):
        ran = re.findall(r"bash \.ci/run -e (\S+)", step.get("run", ""))
        if ran:
            step_of[step["id"]] = ran[0]
    data = next(step for step in steps(bench) if ".ci/pr_comment.py" in step.get("run", ""))
    written = dict(re.findall(r'"([a-z0-9-]+)=\$([A-Z0-9_]+)"', data["run"]))
    assert set(written) == envs
    for env, variable in written.items():
        step_id = re.fullmatch(r"\$\{\{ steps\.(\w+)\.outcome \}\}", data["env"][variable]).group(1)
        assert step_of[step_id] == env, (env, variable, step_id)


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_tag():
    for name in ("bench.yml", "pr-comment.yml"):
        text = (ROOT / ".github/workflows" / name).read_text()
        used = [step["uses"] for step in steps(workflow(name)) if "uses" in step]
        assert used and all(re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses) for uses in used), used
        assert all(re.search(rf"{re.escape(uses)} # v\d+\.\d+\.\d+", text) for uses in used)


def test_the_comment_workflow_runs_on_workflow_run_from_the_default_branch():
    comment, bench = workflow("pr-comment.yml"), workflow("bench.yml")
    assert comment["on"] == {"workflow_run": {"workflows": [bench["name"]], "types": ["completed"]}}
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write", "actions": "read"}
    assert comment["concurrency"]["group"]
    checkouts = [step for step in steps(comment) if "actions/checkout" in step.get("uses", "")]
    for checkout in checkouts:
        ref = str(checkout.get("with", {}).get("ref", ""))
        assert ref in ("", "${{ github.event.repository.default_branch }}")
        assert checkout["with"]["persist-credentials"] is False
    text = json.dumps(comment)
    for head in ("workflow_run.head_sha }}", "head_branch }}", "pull_request.head", "refs/pull"):
        assert not any(head in str(step.get("with", {})) for step in checkouts)
    assert "github.event.workflow_run.head_sha" in text  # the commit judged comes from the event
    script = next(step["run"] for step in steps(comment) if "pr_comment.py" in step.get("run", ""))
    assert "python3 .ci/pr_comment.py" in script  # the checkout's builder, never the artifact's
    assert not re.search(r"(bash|sh|source|\.)\s+\"?\$art|python3?\s+\"?\$art|chmod", script)
    assert "${{" not in script  # event fields reach the shell as environment variables only
    assert "^[0-9]{1,9}$" in script and "^[0-9a-f]{40}$" in script
    assert (
        'startswith(\\"$MARKER\\")' in script
        and 'MARKER: "<!-- sinelstm-pr-comment -->"'
        in (ROOT / ".github/workflows/pr-comment.yml").read_text()
    )
    assert pc.MARKER == "<!-- sinelstm-pr-comment -->"
    assert "issues/comments/$id" in script and "issues/$pr/comments" in script
