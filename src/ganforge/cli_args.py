"""Argument parsing shared by the command modules: argparse with one-line errors, and the
``--class`` / ``--code`` values of sampling and walks."""

from __future__ import annotations

import argparse

from ganforge.errors import GanforgeError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        raise GanforgeError(f"{message} (see `{self.prog} --help`)")


def parse_classes(text: str | None) -> list[int] | None:
    """``"3"`` or ``"1,3,7"`` as a list of ints (None stays None)."""
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError:
        raise GanforgeError(
            f"bad --class {text!r}: expected an integer or a list like 1,3,7"
        ) from None


def parse_codes(items: list[str] | None) -> dict[int, float] | None:
    """InfoGAN codes ``["0=3", "1=0.5"]`` as ``{0: 3.0, 1: 0.5}`` (none: None)."""
    if not items:
        return None
    codes = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            codes[int(key)] = float(value)
        except ValueError:
            raise GanforgeError(
                f"bad --code {item!r}: expected i=value, e.g. --code 1=0.5"
            ) from None
        if not sep:
            raise GanforgeError(f"bad --code {item!r}: expected i=value, e.g. --code 1=0.5")
    return codes
