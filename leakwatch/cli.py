"""`leakwatch` command line: one subcommand per entry of the command table (leakwatch.commands), its
flags made from the settings it takes (leakwatch.config), each shown in --help with its real default.

A mistake gets one or two lines and a documented exit status (leakwatch.errors), before Spark starts
(leakwatch.preflight); stdout closed early (`| head`) and Ctrl-C end quietly.
"""

from __future__ import annotations

import argparse
import difflib
import os
import select as poll_select
import sys
from typing import Any

from leakwatch import __version__
from leakwatch.commands import COMMANDS, Command
from leakwatch.config import Config, build_config, sections, select
from leakwatch.errors import INTERRUPTED, STDOUT_CLOSED, UserError
from leakwatch.settings import Setting

_METAVARS = {int: "N", float: "X"}
_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string"}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in two lines (what is wrong, where the flags are) instead of the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = _did_you_mean(self, message)
        print(f"{self.prog}: {message}{hint}\n{self.prog}: `{self.prog} --help` lists the flags", file=sys.stderr)
        sys.exit(2)


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """'; did you mean --replicates?' for an unrecognized flag or command close to a known one."""
    if message.startswith("unrecognized arguments: "):
        known = [flag for action in parser._actions for flag in action.option_strings]
        given = message.removeprefix("unrecognized arguments: ").split()[0].split("=")[0]
        if not given.startswith("-"):
            return ""
    elif message.startswith("argument COMMAND: invalid choice: "):
        known, given = list(COMMANDS), message.split("'")[1]
    else:
        return ""
    close = difflib.get_close_matches(given, known, n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _repeat_hint(parser: argparse.ArgumentParser, argv: list[str], extra: list[str]) -> str:
    """For a stray value right after a flag that takes one value each time ('--exclude-generators a b'): how to
    give several; else ''."""
    repeatable = {flag for a in parser._actions if isinstance(a, argparse._AppendAction) for flag in a.option_strings}
    for i in range(2, len(argv)):
        if argv[i] == extra[0] and argv[i - 2] in repeatable:
            flag = argv[i - 2]
            return f"; {flag} takes one value: repeat it for each ({flag} A {flag} B)"
    return ""


def _value_type(setting: Setting):
    """argparse's type for a setting: its base type, then its check, with a message in words."""

    def parse(text: str) -> Any:
        try:
            value = setting.base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {_TYPE_WORDS[setting.base]}") from None
        problem = setting.problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"{problem}, not {text}")
        return value

    parse.__name__ = setting.base.__name__
    return parse


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
    repeated = setting.many and not spec.nargs and not spec.positional
    text = (spec.help + ("; repeat the flag for each" if repeated else "")
            + (f" (default: {shown})" if shown is not None else "")).replace("%", "%%")
    kwargs: dict[str, Any] = {"help": text, "default": argparse.SUPPRESS}
    if setting.base is bool:
        group.add_argument(*setting.flags, dest=setting.key, action=argparse.BooleanOptionalAction, **kwargs)
        return
    kwargs.update(type=_value_type(setting), choices=spec.choices)
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
    parser = subparsers.add_parser(command.name, help=command.help, description=command.help)  # a _Parser
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
    parser = _Parser(
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
    command, flags, config_file = parse_args(argv)
    return command, build_config(flags, config_file, dict(command.defaults))


def parse_args(argv: list[str] | None = None) -> tuple[Command, dict[str, Any], str | None]:
    """The command a command line names, the settings its flags give (by key) and its --config file."""
    parser = build_parser()
    namespace, extra = parser.parse_known_args(argv)
    args = vars(namespace)
    command = COMMANDS[args.pop("command")]
    if extra:  # said by the command's own parser, which knows the flags a mistyped one was meant to be
        own = parser._subparsers._group_actions[0].choices[command.name]
        hint = _repeat_hint(own, list(sys.argv[1:] if argv is None else argv), extra)
        own.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    config_file = args.pop("config", None)
    flags = {key: tuple(value) if isinstance(value, list) else value for key, value in args.items()}
    return command, flags, config_file


def _stdout_closed() -> bool:
    """True when the reader of stdout has gone (a pipe whose other end is closed)."""
    try:
        poller = poll_select.poll()
        poller.register(sys.stdout.fileno(), poll_select.POLLOUT)
        return any(event & poll_select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no poll, or stdout is no file
        return False


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `leakwatch` console script; returns the exit status (README: "Errors")."""
    from leakwatch import preflight

    name, command = "leakwatch", None
    try:
        command, flags, config_file = parse_args(argv)
        name = f"leakwatch {command.name}"
        config = build_config(flags, config_file, dict(command.defaults))
        preflight.check(command, config)
        return int(command.load()(config) or 0)
    except UserError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print(f"{name}: interrupted" + (f"; {command.interrupted}" if command and command.interrupted else ""),
              file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        # The interpreter flushes stdout once more at exit: into /dev/null, so that raises nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return STDOUT_CLOSED


if __name__ == "__main__":
    sys.exit(main())
