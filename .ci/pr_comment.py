#!/usr/bin/env python3
"""The pull request's one comment: every part of a bench run's verdict, built from its summaries.

Standard library only, so the comment workflow (.github/workflows/pr-comment.yml) runs it from
the default branch's checkout with no install. Every input (the summaries, the outcomes, the list
of committed paths) is untrusted data: a fork's pull request made it. Nothing read is evaluated;
each file is read up to a cap, only regular files are read, HTML other than <details>/<summary>/<br>
is escaped (so neither `-->` nor `<script>` survives as markup), @-mentions are defused, links are
made absolute (committed files at the head commit, CI-made files at the run's page, where its
artifact is) or dropped, and the body stays under GitHub's 65536-character limit.

    python3 .ci/pr_comment.py --results results --repo OWNER/REPO --sha SHA \
        --run-url https://github.com/OWNER/REPO/actions/runs/ID --outcomes outcomes.txt \
        --tracked tracked.txt -o comment.md [--json-out payload.json]

The overall verdict is ✅ only when every expected part passed: a part failed, missing, cancelled,
skipped or unreadable, or a run that did not conclude in success, makes it ❌.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MARKER = "<!-- sinelstm-pr-comment -->"
MAX_BODY = 65536  # GitHub's limit on a comment, in characters (counted here in UTF-16 units)
BODY_BUDGET = 64000  # what this script fills, leaving room for the closing notes
MAX_INPUT_BYTES = 256 * 1024  # read at most this much of any input file
MAX_SECTION = 11000  # characters of one summary shown in the comment
OUTCOMES = {"success", "failure", "cancelled", "skipped"}
SHA = re.compile(r"[0-9a-f]{40}")
REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
SAFE_PATH = re.compile(r"[A-Za-z0-9._+-][A-Za-z0-9._/+-]{0,299}")
IMAGE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
ALLOWED_TAG = re.compile(r"</?(?:details|summary)>|<br\s*/?>")
LINK = re.compile(r"(!?)\[([^\]\n]{0,500})\]\(([^)\n]{0,1000})\)")
REF_DEFINITION = re.compile(r"^( {0,3})\[([^\]\n]+)\]:[ \t]*(\S*).*$", re.MULTILINE)
MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")
FENCE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
GITHUB_HOSTS = ("https://github.com/", "https://raw.githubusercontent.com/")


@dataclass(frozen=True)
class Part:
    key: str  # the tox environment that makes it, and its name in the outcomes file
    title: str
    summary: str | None  # its summary's file name in the results folder
    required: bool  # expected even when no outcome names it


PARTS = (
    Part("lint", "Lint (ruff)", None, False),
    Part("docs", "Documentation site, built strict", None, False),
    Part("py311", "Unit and integration tests", None, False),
    Part("ray", "The Ray executor on a local Ray head", None, False),
    Part("bench", "TensorFlow gate, quick grid", "latest-quick.summary.md", True),
    Part("bench-jax", "JAX gate, quick grid", "latest-quick-jax.summary.md", True),
    Part("paths", "Paths gate, TensorFlow", "latest-paths.summary.md", False),
    Part("paths-jax", "Paths gate, JAX", "latest-paths-jax.summary.md", False),
    Part("mutations", "Planted regressions through the quick gate", None, False),
    Part("ab", "A/B, head against base", "latest-ab.summary.md", True),
)
# The first heading of a summary says its verdict (sinelstm/report/summary.py, report/ab_table.py).
PASSED = re.compile(r"#{1,6} (?:sinelstm gate: ✅ PASSED|Speed and results, head against base \(passed\))")
FAILED = re.compile(r"#{1,6} .*\bFAILED\b")
MARKS = {"passed": "✅"} | dict.fromkeys(("failed", "missing", "unreadable", "cancelled", "skipped"), "❌")


@dataclass
class Verdict:
    part: Part
    state: str  # passed, failed, missing, unreadable, cancelled, skipped
    why: str
    body: str = ""


def read_capped(path: Path) -> tuple[str, bool] | None:
    """A regular file's text (at most MAX_INPUT_BYTES, undecodable bytes replaced) and whether it
    was cut; None where there is no such regular file (a link, a folder, nothing)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError:
        return None
    return data[:MAX_INPUT_BYTES].decode("utf-8", errors="replace"), len(data) > MAX_INPUT_BYTES


def read_outcomes(text: str) -> dict[str, str]:
    """`part=outcome` lines; unknown parts are ignored, unknown outcomes read as 'unknown'."""
    keys = {part.key for part in PARTS}
    outcomes = {}
    for line in text.splitlines()[:100]:
        key, _, value = line.strip().partition("=")
        if key in keys:
            outcomes[key] = value.strip() if value.strip() in OUTCOMES else "unknown"
    return outcomes


def read_tracked(text: str) -> frozenset[str]:
    """Committed paths, one a line (git ls-files); anything not a plain relative path is dropped."""
    lines = text.splitlines()[:20000]
    return frozenset(p for p in lines if SAFE_PATH.fullmatch(p) and ".." not in p.split("/"))


def escape_html(text: str) -> str:
    """Every < and > escaped but those of <details>, <summary> and <br>, which fold the details."""
    pieces, last = [], 0
    for match in ALLOWED_TAG.finditer(text):
        pieces += [text[last : match.start()].replace("<", "&lt;").replace(">", "&gt;"), match.group()]
        last = match.end()
    pieces.append(text[last:].replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(pieces)


def balance(text: str) -> str:
    """Close an open code fence, drop closing tags that close nothing, close tags left open, so
    that one section cannot fold or swallow the next."""
    if len(FENCE.findall(text)) % 2:
        text += "\n```"
    stack: list[str] = []

    def tag(match: re.Match) -> str:
        name = match.group().strip("</>").split()[0]
        if name == "br":
            return match.group()
        if not match.group().startswith("</"):
            stack.append(name)
            return match.group()
        if stack and stack[-1] == name:
            stack.pop()
            return match.group()
        return match.group().replace("<", "&lt;").replace(">", "&gt;")

    text = ALLOWED_TAG.sub(tag, text)
    return text + "".join(f"\n</{name}>" for name in reversed(stack))


@dataclass(frozen=True)
class Links:
    repo: str
    sha: str
    run_url: str | None
    tracked: frozenset[str]
    folder: str = "results"  # where the summaries sit in the repository

    def target(self, raw: str, image: bool) -> str | None:
        """An absolute URL for a link's target, or None where it cannot be given one."""
        target = raw.strip().split()[0] if raw.strip() else ""
        if target.startswith(GITHUB_HOSTS):
            return target if re.fullmatch(r"[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+", target) else None
        if ":" in target or target.startswith(("/", "\\")) or not target:
            return None  # another scheme or host, or a path from the site's root
        path, _, fragment = target.partition("#")
        path = path.partition("?")[0]
        joined = posixpath.normpath(posixpath.join(self.folder, path))
        if not SAFE_PATH.fullmatch(joined) or joined.startswith("..") or joined == ".":
            return None
        if joined in self.tracked:
            if image:
                return f"https://raw.githubusercontent.com/{self.repo}/{self.sha}/{quote(joined)}"
            anchor = f"#{quote(fragment)}" if fragment else ""
            return f"https://github.com/{self.repo}/blob/{self.sha}/{quote(joined)}{anchor}"
        return self.run_url  # made by CI: in the run's artifact

    def rewrite(self, text: str) -> str:
        def link(match: re.Match) -> str:
            bang, label, raw = match.groups()
            url = self.target(raw, bool(bang))
            if url is None:
                return f"{label} (link removed)"
            if bang and url == self.run_url:
                return f"[{label} (figure in the run's artifact)]({url})"  # not shown inline
            return f"{bang}[{label}]({url})"

        def definition(match: re.Match) -> str:
            url = self.target(match.group(3), False)
            return f"{match.group(1)}[{match.group(2)}]: {url}" if url else f"{match.group(2)} (link removed)"

        text = REF_DEFINITION.sub(definition, LINK.sub(link, text))
        # Anything still shaped like a link to a relative target is defused.
        return re.sub(r"\]\((?!https://)", r"]\\(", text)


def clean(text: str, links: Links, limit: int = MAX_SECTION, note_url: str | None = None) -> str:
    """An untrusted summary made safe to embed: control characters removed, HTML escaped, links
    absolute, mentions defused, cut to limit characters (at a line), fences and tags balanced."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = links.rewrite(escape_html(text))
    text = MENTION.sub("@\u200b", text)
    if len(text) > limit:
        cut = text[:limit]
        cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
        where = f"; the whole file is in the [run's artifact]({note_url})" if note_url else ""
        text = balance(cut) + f"\n\n*… cut: {len(text) - len(cut)} more characters{where}.*"
    return balance(text)


def judge(part: Part, outcome: str | None, summary: tuple[str, bool] | None) -> Verdict:
    """A part's verdict: its summary's own first heading, overruled by a step that did not succeed."""
    said = f"its step: {outcome}" if outcome else "no outcome reported"
    if part.summary is None:
        state = (
            "passed" if outcome == "success" else outcome if outcome in ("cancelled", "skipped") else "failed"
        )
        return Verdict(part, state, said)
    if summary is None or not summary[0].strip():
        return Verdict(part, "missing", f"no `{part.summary}` ({said})")
    text = summary[0]
    heading = next((line.strip() for line in text.splitlines() if line.startswith("#")), "")
    if FAILED.match(heading):
        return Verdict(part, "failed", f"the summary says failed ({said})", text)
    if not PASSED.fullmatch(heading):
        return Verdict(part, "unreadable", f"the summary states no verdict ({said})", text)
    if outcome not in (None, "success"):
        state = outcome if outcome in ("cancelled", "skipped") else "failed"
        return Verdict(part, state, f"the summary says passed, but {said}", text)
    return Verdict(part, "passed", f"the summary says passed ({said})", text)


def verdicts(results: Path, outcomes: dict[str, str]) -> list[Verdict]:
    found = []
    for part in PARTS:
        summary = read_capped(results / part.summary) if part.summary else None
        if part.required or part.key in outcomes or summary is not None:
            found.append(judge(part, outcomes.get(part.key), summary))
    return found


def units(text: str) -> int:
    """Length as GitHub counts a comment's characters, at the most (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def build(
    results: Path,
    repo: str,
    sha: str,
    run_url: str | None,
    outcomes: dict[str, str],
    tracked: frozenset[str] = frozenset(),
    conclusion: str | None = None,
) -> str:
    if not REPO.fullmatch(repo):
        raise ValueError(f"not a repository name: {repo[:80]!r}")
    if not SHA.fullmatch(sha):
        raise ValueError("the head commit must be 40 lowercase hex digits")
    pattern = rf"https://github\.com/{re.escape(repo)}/actions/runs/\d+(?:/attempts/\d+)?"
    run_url = run_url if run_url and re.fullmatch(pattern, run_url) else None
    links = Links(repo, sha, run_url, tracked)
    found = verdicts(Path(results), outcomes)
    bad = [v for v in found if v.state != "passed"]
    if conclusion is not None and conclusion != "success":
        said = conclusion if re.fullmatch(r"[a-z_]{1,30}", conclusion) else "unknown"
        conclusion_note = f"the run concluded `{said}`"
    else:
        conclusion_note = ""
    commit = f"[`{sha[:7]}`](https://github.com/{repo}/commit/{sha})"
    run = f" in [its run]({run_url})" if run_url else ""
    if bad or conclusion_note:
        said = [f"{v.part.title} {v.state}" for v in bad] + ([conclusion_note] if conclusion_note else [])
        verdict = "## ❌ sinelstm: FAILED: " + "; ".join(said)
    else:
        verdict = f"## ✅ sinelstm: PASSED: all {len(found)} parts passed"
    lines = [MARKER, verdict, "", f"Judged head commit {commit}{run}.", ""]
    lines += ["| part | verdict | why |", "| --- | --- | --- |"]
    lines += [f"| {v.part.title} | {MARKS[v.state]} {v.state} | {v.why} |" for v in found]
    lines.append("")
    if run_url:
        lines += [f"Files CI made (results, reports, figures) are in the [run's artifact]({run_url}).", ""]
    body = "\n".join(lines)
    for v in found:
        if v.part.summary is None:
            continue
        section = [f"### {MARKS[v.state]} {v.part.title}: {v.state}", ""]
        if v.body:
            section.append(clean(demote(v.body), links, note_url=run_url))
        else:
            section.append(f"No summary: {v.why}.")
        text = "\n".join(section) + "\n"
        if units(body) + units(text) + 200 > BODY_BUDGET:
            body += f"\n*… the comment is full: {v.part.title} and later sections left out; see the run.*\n"
            break
        body += "\n" + text
    return fit(body)


def demote(text: str) -> str:
    """The summary's own headings under the section's: the first (its verdict, already in the
    section's heading) bold, the others at level four; an underline that would make the line
    above it a heading of level one or two (a setext heading) is escaped."""
    out, first = [], True
    for line in text.splitlines():
        match = re.match(r" {0,3}#{1,6}(?:[ \t]+(.*?))?[ \t#]*$", line)
        if match and first:
            out.append(f"**{(match.group(1) or '').strip()}**")
            first = False
        elif match:
            out.append(f"#### {(match.group(1) or '').strip()}")
        elif re.fullmatch(r" {0,3}(=+|-+)[ \t]*", line):
            out.append("\\" + line.strip())
        else:
            out.append(line)
    return "\n".join(out)


def fit(body: str) -> str:
    """The body under GitHub's limit whatever came in: cut at a line, balanced, with a note."""
    if units(body) <= MAX_BODY:
        return body
    cut = body[: len(body) - (units(body) - BODY_BUDGET)]  # each character is at least one unit
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return balance(cut) + "\n\n*… cut to fit a comment; see the run.*\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder with the summaries")
    parser.add_argument("--repo", required=True, help="OWNER/REPO")
    parser.add_argument("--sha", required=True, help="the head commit judged (40 hex)")
    parser.add_argument("--run-url", help="the run's page, where its artifact is")
    parser.add_argument("--outcomes", type=Path, help="file of part=outcome lines (parts: tox envs)")
    parser.add_argument("--outcome", action="append", default=[], help="part=outcome (repeatable)")
    parser.add_argument("--tracked", type=Path, help="committed paths, one a line (git ls-files)")
    parser.add_argument("--conclusion", help="the whole run's conclusion (workflow_run)")
    parser.add_argument("-o", "--out", type=Path, help="the body (default: stdout)")
    parser.add_argument("--json-out", type=Path, help='also {"body": ...} for gh api --input')
    args = parser.parse_args(argv)
    text = "\n".join(args.outcome)
    if args.outcomes is not None:
        text = (read_capped(args.outcomes) or ("", False))[0] + "\n" + text
    tracked = read_tracked((read_capped(args.tracked) or ("", False))[0]) if args.tracked else frozenset()
    try:
        outcomes = read_outcomes(text)
        body = build(args.results, args.repo, args.sha, args.run_url, outcomes, tracked, args.conclusion)
    except ValueError as error:
        print(f"pr_comment: {error}", file=sys.stderr)
        return 2
    if args.out:
        args.out.write_text(body, encoding="utf-8")
    else:
        sys.stdout.write(body)
    if args.json_out:
        args.json_out.write_text(json.dumps({"body": body}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
