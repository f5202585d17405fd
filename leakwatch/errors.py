"""The errors a user can act on. Each message says what failed, on which input, and what to do;
the command line prints it in one line and exits 2 (see leakwatch.cli)."""


class ConfigError(ValueError):
    """A config file, flag or setting that cannot be used; the message says which and why."""


class InputError(ConfigError):
    """Inputs that cannot be resolved to a list of files."""


class TableMissing(ConfigError, FileNotFoundError):
    """A table a command needs was never written to the warehouse; the message names the command that writes it."""


class StatsError(ConfigError):
    """The warehouse or the calibration cannot give statistics; the message says what to run or pass."""


class JavaMissingError(RuntimeError):
    """No usable Java (17+) for Spark."""
