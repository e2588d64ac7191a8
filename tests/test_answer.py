"""The science answer: written from the data (its verbs follow the signs), put between the
markers by the report command, and every committed copy equal to what the CSV gives now."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import row, write
from science_frames import science_frame

from sinelstm.cli import main
from sinelstm.report.answer import BEGIN, END, answer, answer_block, replace_answer
from sinelstm.report.frames import with_keys
from sinelstm.report.markdown import build_report
from sinelstm.report.science import science_section
from sinelstm.sweep.store import read_results

ROOT = Path(__file__).resolve().parent.parent
SCIENCE_CSV = ROOT / "results" / "latest-science.csv"


def test_the_answer_follows_the_sign_of_the_data():
    """Same design, the 3x data's effect at hidden 64 flipped: the verb flips with it."""
    gains = answer(science_frame(data_gain=0.4))
    losses = answer(science_frame(data_gain=-0.4))
    # 0.4 + 0.01 x seed over 10 seeds: median +0.445, 2nd to 9th ordered +0.41 to +0.48.
    assert "201 -> 601 samples at window 25 raises amp_ratio by +0.45 [+0.41, +0.48] n=10" in gains
    assert "201 -> 601 samples at window 25 lowers amp_ratio by -0.3" in losses
    assert "raises" not in losses.split("At hidden 64")[1].split("Seeds whose")[0]
    for text in (gains, losses):
        # Hidden 16 never fits on 201 samples: named as a floor, its effects not read.
        assert "At hidden 16, the forecast sits at a floor in w25 L201, w50 L201" in text
        assert "201 -> 601 samples at window 25 raises" not in text.split("At hidden 64")[0]


def test_a_run_without_ar_or_lstm_says_so():
    frame = science_frame(data_gain=0.4)
    assert "The run has no ar cells" in answer(frame)
    assert "no cells of the article's LSTM" in answer(frame.assign(model="gru"))


def test_the_block_between_the_markers_is_replaced_and_nothing_else():
    text = f"intro\n{BEGIN}\nold answer\n{END}\noutro\n"
    replaced = replace_answer(text, "new answer")
    assert replaced == f"intro\n{BEGIN}\nnew answer\n{END}\noutro\n"
    assert answer_block(replaced) == "new answer"
    assert answer_block("no markers") is None
    with pytest.raises(ValueError, match="no answer block"):
        replace_answer("no markers", "x")


def small_science_rows():
    """LSTM and ar cells, 2 windows x 2 lengths x 3 seeds."""
    return [
        row(window=w, length=n, seed=seed, model=model, amp_ratio=0.5 + 0.4 * (n == 601) + 0.01 * seed)
        for model in ("lstm", "ar")
        for w in (25, 50)
        for n in (201, 601)
        for seed in range(3)
    ]


def test_the_report_command_writes_the_answer_into_a_file(tmp_path, capsys):
    results = write(tmp_path, "latest-science.csv", small_science_rows())
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{BEGIN}\nstale\n{END}\n\nrest\n")
    out = tmp_path / "REPORT.md"
    assert main(["report", str(results), "-o", str(out), "--answer-into", str(readme)]) == 0
    expected = answer(with_keys(read_results(results)))
    assert answer_block(readme.read_text()) == expected
    assert readme.read_text().endswith(f"{END}\n\nrest\n")
    assert answer_block(out.read_text()) == expected  # the report carries the same answer


def test_a_file_without_markers_is_refused_before_any_work(tmp_path, capsys):
    results = write(tmp_path, "latest-science.csv", small_science_rows())
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    out = tmp_path / "REPORT.md"
    assert main(["report", str(results), "-o", str(out), "--answer-into", str(readme)]) == 2
    assert "has no" in capsys.readouterr().err and not out.exists()


def documents_with_an_answer() -> list[Path]:
    candidates = [ROOT / "README.md", *sorted((ROOT / "results").glob("*.md"))]
    return [path for path in candidates if answer_block(path.read_text()) is not None]


@pytest.mark.skipif(not SCIENCE_CSV.exists(), reason="no committed science run")
@pytest.mark.parametrize("document", documents_with_an_answer(), ids=lambda path: path.name)
def test_every_quoted_science_number_is_the_committed_csvs(document):
    """The README's answer (and the report's) is recomputed from results/latest-science.csv;
    a report carrying the answer must also carry the science section the CSV gives now."""
    frame = with_keys(read_results(SCIENCE_CSV))
    text = document.read_text()
    assert answer_block(text) == answer(frame)
    if document.name.startswith("REPORT"):
        section = "\n".join(science_section(frame[frame["status"] == "ok"]))
        assert section in text


def science_grid_rows(seeds: int = 10) -> list[dict]:
    """The new science grid's LSTM shape in miniature: hidden 16 (flat on 201 samples), 64
    and 300, with the period (601 at period 300) and steps (601 at batch 600) controls,
    and gru, ar and seasonal-naive at hidden 64 on 5 seeds."""
    rows = []
    for seed in range(seeds):
        for hidden in (16, 64, 300):
            for w in (25, 50):
                for n in (201, 601):
                    amp = 0.0 if (hidden == 16 and n == 201) else 0.5 + 0.4 * (n == 601) + 0.01 * seed
                    rows.append(row(window=w, length=n, hidden=hidden, seed=seed, amp_ratio=amp))
                periods = {"period": 300.0, "horizon": 1200}
                rows.append(
                    row(window=w, length=601, hidden=hidden, seed=seed, amp_ratio=0.6, config=periods)
                )
                steps = {"batch_size": 600}
                rows.append(row(window=w, length=601, hidden=hidden, seed=seed, amp_ratio=0.7, config=steps))
    for seed in range(5):
        for model in ("gru", "ar", "seasonal-naive"):
            for w in (25, 50):
                for n in (201, 601):
                    rows.append(row(window=w, length=n, hidden=64, seed=seed, model=model, amp_ratio=0.99))
    return rows


def test_a_run_with_the_controls_reports_every_effect_and_figure(tmp_path):
    results = write(tmp_path, "latest-science.csv", science_grid_rows())
    markdown = build_report(results, tmp_path / "REPORT.md")
    for name in (
        "more samples, same periods (201 at period 100 -> 601 at period 300), window 25",
        "more periods, same samples (601 at period 300 -> 100), window 50",
        "equal optimizer steps (201 -> 601 at batch 600), window 25",
        "second step per epoch (601: batch 600 -> 300), window 50",
    ):
        assert name in markdown
    assert "control absent" not in markdown
    # (0.9 + 0.01 x seed) at period 100 minus 0.6 at period 300: an exploratory row at hidden 300.
    assert "| 300 | exploratory | more periods, same samples" in " ".join(markdown.split())
    assert "n=10: 2nd to 9th ordered value, 97.9% coverage" in markdown
    for figure in ("amp_dots.png", "forest.png", "rmse_by_model.png"):
        assert (tmp_path / "REPORT_figures" / figure).exists()
