"""One run's artifacts, written whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sinelstm.sweep.store import ResultsLock, append_rows


def write_run(out: Path, result) -> list[str]:
    """One run's artifacts in out: run.csv (its row), forecast.csv, fit.png, forecast.png.
    Staged in a hidden folder and moved in under the results lock, so a failure leaves
    out as it was. Returns the file names."""
    import pandas as pd

    from sinelstm.experiment.run import forecast_x
    from sinelstm.report.run_figures import fit_figure, forecast_figure
    from sinelstm.sweep.rows import ok_row

    cfg = result.config
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    names = ["run.csv", "forecast.csv", "fit.png", "forecast.png"]
    try:
        append_rows(staging / "run.csv", [ok_row(cfg, f"run-{cfg.seed}", result.metrics, result.timings)])
        frame = pd.DataFrame({"x": forecast_x(cfg), "truth": result.truth, "forecast": result.forecast})
        frame.to_csv(staging / "forecast.csv", index=False)
        fit_figure(cfg, result.series, result.fit_predictions, staging / "fit.png")
        forecast_figure(
            cfg,
            result.series,
            result.fit_predictions,
            result.forecast,
            result.truth,
            staging / "forecast.png",
        )
        with ResultsLock(out / "run.csv"):
            for name in names:
                os.replace(staging / name, out / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return names
