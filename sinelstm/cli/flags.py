"""The flags the commands share, in one place: argparse with one-line errors, the config's
number flags (from its field comments), choices for every enumerated flag, -q/-v, and
the config a run's flags describe."""

from __future__ import annotations

import argparse
import dataclasses

from sinelstm import workflow
from sinelstm.experiment import kinds
from sinelstm.experiment.config import ENGINES, ExperimentConfig, field_help, preset
from sinelstm.runtime import BACKENDS
from sinelstm.workflow import UsageError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no usage dump."""

    def error(self, message: str):
        raise UsageError(message)


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every number field of the config, its help the field's own comment."""
    defaults, helps = ExperimentConfig(), field_help()
    for spec in dataclasses.fields(ExperimentConfig):
        if spec.type in ("int", "float"):
            default = getattr(defaults, spec.name)
            flag = "--" + spec.name.replace("_", "-")
            parser.add_argument(
                flag, type=type(default), help=f"{helps[spec.name]} (preset's, else {default})"
            )
    parser.add_argument(
        "--model",
        choices=workflow.model_choices(),
        metavar="MODEL",
        help=f"model kind: {', '.join(kinds.builtin_names())}, or package.module:function "
        "(a Keras model factory)",
    )
    parser.add_argument("--engine", choices=ENGINES, help="forecast engine (compiled)")
    workflow.add_training_flags(parser.add_argument)


TIER_OPTION = dict(
    choices=("auto", "statistical"),
    default="auto",
    help="auto: the reproduction tier where the stack matches the baseline's, else statistical; "
    "statistical: every config statistically (auto)",
)


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=BACKENDS, help="Keras backend (default: KERAS_BACKEND, else tensorflow)"
    )


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="print only the verdict and the files written"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the full gate table, and TensorFlow's native log lines (silenced otherwise)",
    )


def output_of(args: argparse.Namespace) -> workflow.Output:
    verbosity = 1 if args.verbose else -1 if args.quiet else 0
    return workflow.Output(print, verbosity, getattr(args, "link_base", None))


LINK_BASE_HELP = (
    "absolute URL of the results folder for the summary's figure links "
    "(default: paths relative to the summary, which resolve inside a CI artifact)"
)


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The preset (or the defaults) with every flag given laid over it, validated."""
    from sinelstm.experiment.models import check_implementation
    from sinelstm.runtime import backend

    cfg = preset(args.preset) if args.preset else ExperimentConfig()
    changes = {
        name: getattr(args, name)
        for name in ExperimentConfig.__dataclass_fields__
        if getattr(args, name, None) is not None
    }
    if changes.get("implementation") is not None:
        check_implementation(changes["implementation"], backend())
    return cfg.replace(**changes).validate()


def add_command(commands, name: str, summary: str, description: str, handler) -> Parser:
    """A subcommand with its one-line help, its description, and the verbosity flags."""
    parser = commands.add_parser(name, help=summary, description=description)
    add_verbosity_flags(parser)
    parser.set_defaults(handler=handler)
    return parser
