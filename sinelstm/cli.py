"""The sinelstm command line: parses arguments and calls the library."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from sinelstm.config import ENGINES, MODELS, PRESETS, ConfigError, ExperimentConfig, preset

BACKENDS = ("tensorflow", "jax")


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no usage dump."""

    def error(self, message: str):
        raise UsageError(message)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    defaults = ExperimentConfig()
    flags = [
        ("--period", float, "samples per sine period"),
        ("--length", int, "observed samples"),
        ("--noise", float, "half-width of the uniform noise"),
        ("--window", int, "window length (steps in, one step out)"),
        ("--hidden", int, "recurrent units"),
        ("--epochs", int, "maximum epochs"),
        ("--batch-size", int, "minibatch size"),
        ("--patience", int, "early-stopping patience on val_loss"),
        ("--learning-rate", float, "Adam learning rate"),
        ("--validation-split", float, "last fraction of windows held out for validation"),
        ("--horizon", int, "forecast steps"),
        ("--seed", int, "seed of noise, weights and shuffling"),
    ]
    for flag, kind, text in flags:
        default = getattr(defaults, flag[2:].replace("-", "_"))
        parser.add_argument(flag, type=kind, help=f"{text} (preset's, else {default})")
    parser.add_argument("--model", help=f"model kind: {', '.join(MODELS)}")
    parser.add_argument("--engine", help=f"forecast engine: {', '.join(ENGINES)} (compiled)")


def _add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        help=f"Keras backend: {', '.join(BACKENDS)} (default: KERAS_BACKEND or tensorflow)",
    )


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The preset (or the defaults) with every flag given laid over it, validated."""
    cfg = preset(args.preset) if args.preset else ExperimentConfig()
    changes = {
        name: getattr(args, name)
        for name in ExperimentConfig.__dataclass_fields__
        if getattr(args, name, None) is not None
    }
    return cfg.replace(**changes).validate()


def select_backend(name: str | None) -> str:
    """Set KERAS_BACKEND before Keras is first imported; refuse what is not installed."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name not in BACKENDS:
        raise UsageError(f"--backend: got {name!r}; expected one of {', '.join(BACKENDS)}")
    module = {"tensorflow": "tensorflow", "jax": "jax"}[name]
    import importlib.util

    if importlib.util.find_spec(module) is None:
        extra = "" if name == "tensorflow" else "[jax]"
        raise UsageError(
            f"--backend: {name} is not installed; install it with pip install -e '.{extra}'"
            if extra
            else "--backend: tensorflow is not installed; pip install -e ."
        )
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != name:
        raise UsageError(f"--backend: Keras is already loaded with another backend than {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return name


def prepare_out_dir(out: Path) -> bool:
    """Make sure out is a writable directory; return whether it was created here."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise UsageError(
            f"--out: cannot write to {str(out)!r}: {error.strerror or error}"
        ) from None
    return created


def cmd_run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    select_backend(args.backend)
    out = Path(args.out)
    created = prepare_out_dir(out)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        from sinelstm.experiment import forecast_x, run_experiment
        from sinelstm.plots import fit_figure, forecast_figure
        from sinelstm.results import ResultsLock, append_rows
        from sinelstm.tables import metrics_table

        result = run_experiment(cfg, run_id=f"run-{cfg.seed}")
        append_rows(staging / "run.csv", [result.row])
        _write_forecast_csv(
            staging / "forecast.csv", forecast_x(cfg), result.truth, result.forecast
        )
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
            for name in ("run.csv", "forecast.csv", "fit.png", "forecast.png"):
                os.replace(staging / name, out / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    print(metrics_table(result.row))
    print(f"wrote {out}/run.csv, forecast.csv, fit.png, forecast.png")
    return 0


def _write_forecast_csv(path: Path, x, truth, forecast) -> None:
    import pandas as pd

    pd.DataFrame({"x": x, "truth": truth, "forecast": forecast}).to_csv(path, index=False)


def build_parser() -> Parser:
    parser = Parser(prog="sinelstm", description="The sine-wave LSTM experiment, measured.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = commands.add_parser("run", help="train, forecast and measure one config")
    run.add_argument("--preset", help=f"start from a preset: {', '.join(PRESETS)}")
    _add_config_flags(run)
    _add_backend_flag(run)
    run.add_argument("--out", default="runs/latest", help="output directory (runs/latest)")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except UsageError as error:
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"sinelstm: error: {error.flag}: got {error.got!r}; {error.accepts}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sinelstm: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: no tracebacks.
        from sinelstm.results import ResultsError

        status = 2 if isinstance(error, (ResultsError, OSError)) else 1
        print(f"sinelstm: error: {error}", file=sys.stderr)
        return status
