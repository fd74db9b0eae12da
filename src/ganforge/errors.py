"""The one error type meant for users: the CLI prints its message on one line and exits 2."""


class GanforgeError(Exception):
    """A problem the user can fix (bad input, bad config, missing data).

    The message must be one line that says what is wrong and what to do about it.
    """

    exit_code = 2


class ConfigError(GanforgeError):
    """An invalid configuration key or value."""


class DataError(GanforgeError):
    """Data that cannot be found, downloaded or read."""


class CheckpointError(GanforgeError):
    """A checkpoint or run directory that cannot be loaded or written."""


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article, for messages: "an adversarial run", "a gan run"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
