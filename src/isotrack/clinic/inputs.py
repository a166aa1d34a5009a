"""Guards every way in shares, before anything parses or stores: text without control characters, JSON of a
bounded depth, bodies of a bounded size. What they refuse is refused in words (``BadInput``), never a 500.

- NUL and the other C0 control characters (and DEL) are refused in any text a person or a program sends: a
  search, a form field, a JSON string. Tab, line feed and carriage return are allowed where text runs over
  lines (``multiline``); an identifier (an MRN) allows none.
- JSON nests at most ``MAX_JSON_DEPTH`` levels: measured on the text before it is parsed, so that a document
  nested 200,000 deep is refused, not recursed into.
- A JSON string (a key too) is text: JSON's escapes can spell half of a UTF-16 pair alone (``"\\ud800"``),
  which Python decodes to a lone surrogate, no character, that cannot be written as UTF-8 (nor stored); it
  is refused.
- A request body is at most ``MAX_BODY_BYTES`` (settings.DATA_UPLOAD_MAX_MEMORY_SIZE), told by its length
  before it is read; an uploaded file is read at most its own limit plus one byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

MAX_JSON_DEPTH = 64
MAX_BODY_BYTES = 10 * 1024 * 1024
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f]")
_SPECIAL = re.compile(r'[\[\]{}"\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")  # what json.loads makes of a lone "\\ud800": not UTF-8
_WHOLE_NUMBER = re.compile("[0-9]{1,18}")


class BadInput(ValueError):
    """Input refused before it is parsed or stored: ``message`` says why, in words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def control_character(text: str, *, multiline: bool = True) -> str | None:
    """The first control character in the text, named (``"NUL"``, ``"U+001B"``), or None."""
    found = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(text)
    if found is None:
        return None
    character = found.group()
    return "NUL" if character == "\x00" else f"U+{ord(character):04X}"


def refuse_control_characters(text: str, what: str, *, multiline: bool = True) -> None:
    named = control_character(text, multiline=multiline)
    if named is not None:
        raise BadInput(f"{what} holds a control character ({named}); type it again without it")


def json_depth(text: str) -> int:
    """How deep the JSON text nests (brackets inside strings set aside), without parsing it: one pass over the
    brackets, quotes and backslashes, in linear time whatever the text."""
    depth = deepest = 0
    in_string, escaped_until = False, -1
    for found in _SPECIAL.finditer(text):
        at, character = found.start(), found.group()
        if at < escaped_until:  # the character a backslash escapes
            continue
        if in_string:
            if character == "\\":
                escaped_until = at + 2
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def whole_number(text: str, digits: int = 9) -> int | None:
    """The text as a whole number of at most ``digits`` ASCII digits, or None (``"²".isdigit()`` is true but
    ``int("²")`` fails; 5,000 digits are no count)."""
    if len(text) > digits or not _WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)


def parse_json(content: str | bytes, what: str = "the JSON") -> Any:
    """JSON text parsed once it is known to nest at most ``MAX_JSON_DEPTH`` deep, and checked to hold no
    control character nor lone surrogate in any string or key; ``BadInput`` in words otherwise."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput(f"{what} is not UTF-8 text") from None
    if json_depth(content) > MAX_JSON_DEPTH:
        raise BadInput(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(content, parse_constant=_no_constant)
    except ValueError as error:
        raise BadInput(f"{what} is not valid JSON ({error})") from None
    for text in json_strings(data):
        refuse_control_characters(text, f"{what}: the text {text[:20]!r}")
        surrogate = _SURROGATE.search(text)
        if surrogate is not None:
            raise BadInput(
                f"{what}: the text {text[:20]!r} holds a lone surrogate (U+{ord(surrogate.group()):04X}, "
                "half of a UTF-16 pair escaped alone), which is no character"
            )
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_strings(data: Any) -> Iterator[str]:
    """Every string of a decoded JSON value, its objects' names too."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
