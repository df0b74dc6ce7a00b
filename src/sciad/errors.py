"""The one exception type for bad input; the CLI turns it into exit code 2 without a traceback."""


class SciadError(ValueError):
    """A user-facing error: one or two sentences naming the bad value and what is accepted."""


def choose(kind: str, value, accepted, context: str = "") -> None:
    """Raise `SciadError` unless `value` is one of `accepted`."""
    if value not in accepted:
        where = f" {context}" if context else ""
        raise SciadError(f"unknown {kind} {value!r}{where}; {kind}s are: {', '.join(map(str, accepted))}")
