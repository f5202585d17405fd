"""`leakwatch` command line: one subcommand per entry of the command table (leakwatch.commands), its
flags made from the settings it takes (leakwatch.config), each shown in --help with its real default."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from leakwatch import __version__
from leakwatch.commands import COMMANDS, Command
from leakwatch.config import Config, build_config, sections, select
from leakwatch.errors import ConfigError, JavaMissingError
from leakwatch.settings import Setting

_METAVARS = {int: "N", float: "X"}


def _shown_default(setting: Setting, default: Any) -> str | None:
    """How --help states a default (the command's own if it has one), or None when there is nothing to say."""
    if setting.spec.default_help is not None and default == setting.default:
        return setting.spec.default_help
    if setting.base is bool:
        return "yes" if default else "no"
    if default is None or default == () or default == "":
        return None
    return " ".join(map(str, default)) if setting.many else str(default)


def _add(group: argparse._ArgumentGroup, setting: Setting, default: Any) -> None:
    """The flag (or positional) of one setting; absent from the parsed namespace unless given."""
    spec = setting.spec
    shown = _shown_default(setting, default)
    text = (spec.help + (f" (default: {shown})" if shown is not None else "")).replace("%", "%%")
    kwargs: dict[str, Any] = {"help": text, "default": argparse.SUPPRESS}
    if setting.base is bool:
        group.add_argument(*setting.flags, dest=setting.key, action=argparse.BooleanOptionalAction, **kwargs)
        return
    kwargs.update(type=setting.base, choices=spec.choices)
    if spec.choices is None:
        kwargs["metavar"] = spec.metavar or _METAVARS.get(setting.base) or setting.name.upper()
    if spec.positional:
        group.add_argument(setting.key, nargs=spec.nargs, **kwargs)
        return
    if setting.many and spec.nargs:
        kwargs["nargs"] = spec.nargs
    elif setting.many:
        kwargs["action"] = "append"
    elif spec.nargs == "?":
        kwargs.update(nargs="?", const=spec.const)
    group.add_argument(*setting.flags, dest=setting.key, **kwargs)


def _add_command(subparsers, command: Command) -> None:
    parser = subparsers.add_parser(command.name, help=command.help, description=command.help)
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="TOML file of settings (any setting, under its section's table); flags given win")
    defaults = dict(command.defaults)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for setting in select(command.settings):
        if setting.section and setting.section not in groups:
            doc = (sections()[setting.section].__doc__ or "").strip().splitlines()[0]
            groups[setting.section] = parser.add_argument_group(f"[{setting.section}]", doc)
        _add(groups.get(setting.section, parser), setting, defaults.get(setting.key, setting.default))


def build_parser() -> argparse.ArgumentParser:
    """The full `leakwatch` argument parser."""
    parser = argparse.ArgumentParser(
        prog="leakwatch",
        description="Measure how much LLM-generated text is in Common Crawl, crawl by crawl.",
    )
    parser.add_argument("--version", action="version", version=f"leakwatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        _add_command(subparsers, command)
    return parser


def parse(argv: list[str] | None = None) -> tuple[Command, Config]:
    """The command a command line names and its config (argparse exits on a flag it cannot use)."""
    args = vars(build_parser().parse_args(argv))
    command = COMMANDS[args.pop("command")]
    config_file = args.pop("config", None)
    flags = {key: tuple(value) if isinstance(value, list) else value for key, value in args.items()}
    return command, build_config(flags, config_file, dict(command.defaults))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `leakwatch` console script."""
    try:
        command, config = parse(argv)
        return int(command.load()(config) or 0)
    except (ConfigError, JavaMissingError) as exc:
        print(f"leakwatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leakwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
