"""The errors a user can act on, and the exit status of each. Every message says what failed, on which
input, and what to do; the command line prints it as `leakwatch COMMAND: message` (one or two lines,
no traceback) and exits with the error's `status`. README "Errors and exit statuses" lists them."""

OK = 0
INPUTS_FAILED = 1  # the run went, but its inputs let it down: failed files, no page, a source unreachable
UNUSABLE = 2  # the command cannot run as given: flags, config, paths, warehouse, model, Java, missing tables
RECONCILIATION = 3  # extract's records do not add up to the rows written (a bug: report it)
LOCK_HELD = 4  # another run holds the warehouse lock
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
STDOUT_CLOSED = 141  # the reader of stdout went away (`| head`): 128 + SIGPIPE, as coreutils end


class UserError(Exception):
    """A failure the user can fix or wait out; `status` is the command's exit status."""

    status = UNUSABLE


class ConfigError(UserError, ValueError):
    """A config file, flag or setting that cannot be used; the message says which and why."""


class InputError(ConfigError):
    """Inputs that cannot be resolved to a list of files."""


class ManifestMissing(InputError):
    """A crawl's manifest (warc.paths.gz) is not there: not published yet, or no such crawl."""


class SourceUnreachable(UserError, OSError):
    """A remote source (host, bucket) that could not be reached: the network, not the command, failed."""

    status = INPUTS_FAILED


class TableMissing(ConfigError, FileNotFoundError):
    """A table a command needs was never written to the warehouse; the message names the command that writes it."""


class StatsError(ConfigError):
    """The warehouse or the calibration cannot give statistics; the message says what to run or pass."""


class WarehouseError(ConfigError):
    """A warehouse that cannot be used: not a directory, not writable, or its file system is not on Spark's path."""


class JavaMissingError(UserError, RuntimeError):
    """No usable Java (17+) for Spark."""


class SparkStartError(UserError, RuntimeError):
    """Spark's JVM exited while it started (its own lines, printed above, say why)."""


class LockHeld(UserError, RuntimeError):
    """Another run holds the warehouse lock; the message names it."""

    status = LOCK_HELD
