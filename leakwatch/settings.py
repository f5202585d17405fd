"""How a setting is declared, once: a field of a frozen dataclass (a section, beside the stage it
configures) made with `setting(default, help, ...)`. leakwatch.config gathers the sections into
`Config`; the flags, the TOML keys and the `--help` text all come from these declarations.

A setting `name` of section `sect` is the TOML key `name` under `[sect]` (a top-level setting sits
outside any table) and the flag `--name-with-dashes`, unless its declaration names other flags. Its
type is the field's annotation: str, int, float or bool, optionally `| None`, or a tuple of one of
them (a TOML list; on the command line a repeated flag, or several values after one).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leakwatch.errors import ConfigError

SPEC = "leakwatch.setting"
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


@dataclass(frozen=True)
class Spec:
    """How a setting is given on the command line and shown in --help."""

    help: str
    flags: tuple[str, ...] = ()  # default: --name-with-dashes
    metavar: str | None = None
    choices: tuple[Any, ...] | None = None
    default_help: str | None = None  # said instead of the default value (for None or computed defaults)
    positional: bool = False
    nargs: str | None = None  # "+" for several values after one flag; "*" or "?" for a positional; tuples repeat
    const: Any = None  # the value of a flag given without one (nargs "?")
    check: Callable[[Any], str | None] | None = None  # what is wrong with a value (at_least, share, ...), or None


def at_least(low: float) -> Callable[[Any], str | None]:
    """A check: the value is `low` or more."""
    return lambda value: None if value >= low else f"must be at least {low:g}"


def above(low: float) -> Callable[[Any], str | None]:
    """A check: the value is more than `low`."""
    return lambda value: None if value > low else f"must be more than {low:g}"


def between(low: float, high: float) -> Callable[[Any], str | None]:
    """A check: low <= value <= high."""
    return lambda value: None if low <= value <= high else f"must be from {low:g} to {high:g}"


def strictly_between(low: float, high: float) -> Callable[[Any], str | None]:
    """A check: low < value < high."""
    return lambda value: None if low < value < high else f"must be more than {low:g} and less than {high:g}"


def matching(pattern: str, what: str) -> Callable[[Any], str | None]:
    """A check: the whole value matches `pattern` (case-insensitive); `what` says, in words, what it must be."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda value: None if compiled.fullmatch(value) else f"must be {what}"


def setting(default: Any, help: str, **spec: Any) -> Any:
    """A field of a settings section: its default (immutable), its help, and its command-line shape (Spec)."""
    if "flags" in spec:
        spec["flags"] = tuple(spec["flags"])
    if spec.get("choices") is not None:
        spec["choices"] = tuple(spec["choices"])
    return dataclasses.field(default=default, metadata={SPEC: Spec(help, **spec)})


@dataclass(frozen=True)
class Setting:
    """One declared setting: where it lives, its type and default, and how it is given."""

    section: str  # "" for a top-level setting
    name: str
    base: type  # str, int, float or bool
    optional: bool  # None allowed
    many: bool  # a tuple of `base`
    default: Any
    spec: Spec

    @property
    def key(self) -> str:
        """`section.name` (or `name` at the top level): how commands and code name it."""
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def toml_key(self) -> str:
        """How a TOML file spells it, for messages."""
        return f"[{self.section}] {self.name}" if self.section else self.name

    @property
    def flags(self) -> tuple[str, ...]:
        """Its flags, the first of them the one --help and messages use."""
        return self.spec.flags or (f"--{self.name.replace('_', '-')}",)

    def expected(self) -> str:
        """What a value must be, in words."""
        one = _TYPE_NAMES[self.base]
        if self.spec.choices is not None:
            one = "one of " + ", ".join(map(str, self.spec.choices))
        return f"a list of {one.removeprefix('a ').removeprefix('an ')}s" if self.many else one

    def read(self, value: Any, origin: str) -> Any:
        """A value from a config file, checked against the setting's type and check; ConfigError says what is
        expected."""
        if self.many:
            if not isinstance(value, list) or not all(self._fits(v) for v in value):
                raise ConfigError(f"{origin}: {self.toml_key} must be {self.expected()}, not {_shown(value)}")
            values = tuple(self._one(v) for v in value)
        elif not self._fits(value):
            raise ConfigError(f"{origin}: {self.toml_key} must be {self.expected()}, not {_shown(value)}")
        else:
            values = (self._one(value),)
        for one in values:
            if (problem := self.problem(one)) is not None:
                raise ConfigError(f"{origin}: {self.toml_key} {problem}, not {one!r}")
        return values if self.many else values[0]

    def problem(self, value: Any) -> str | None:
        """What is wrong with one value of the right type (a number that is not finite, or the declared check)."""
        if value is None:
            return None
        if self.base is float and not math.isfinite(value):
            return "must be a finite number"
        return self.spec.check(value) if self.spec.check is not None else None

    def _fits(self, value: Any) -> bool:
        if isinstance(value, bool) and self.base is not bool:
            return False
        ok = isinstance(value, (int, float)) if self.base is float else isinstance(value, self.base)
        return ok and (self.spec.choices is None or value in self.spec.choices)

    def _one(self, value: Any) -> Any:
        return float(value) if self.base is float else value


def _shown(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    return f"{value!r} ({names.get(type(value), type(value).__name__)})"


def _shape(annotation: Any) -> tuple[type, bool, bool]:
    """(base type, None allowed, tuple of it) of a setting's annotation."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        base, _, many = _shape(rest[0])
        return base, True, many
    if typing.get_origin(annotation) is tuple:
        return args[0], False, True
    if annotation not in _TYPE_NAMES:
        raise TypeError(f"a setting cannot have the type {annotation!r}")
    return annotation, False, False


def declared(section_class: type, section: str) -> list[Setting]:
    """The settings a section dataclass declares (its fields made with `setting`), in field order."""
    hints = typing.get_type_hints(section_class)
    out = []
    for f in dataclasses.fields(section_class):
        if SPEC in f.metadata:
            base, optional, many = _shape(hints[f.name])
            out.append(Setting(section, f.name, base, optional, many, f.default, f.metadata[SPEC]))
    return out


def load_toml(path: str) -> dict[str, Any]:
    """Read a TOML config file, with an error that names the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"--config {path}: is a directory; give a TOML file") from exc
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
