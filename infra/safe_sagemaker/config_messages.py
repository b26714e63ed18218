"""Pydantic's validation errors as messages that name the fix.

Pydantic says what is wrong in its own words ("Input should be a valid integer"); someone
editing a JSON file needs to know what to write instead: "must be a whole number such as 2,
not the string "2"; remove the quotes". ``describe_error`` turns one error of
``ValidationError.errors()`` into such a message; the caller adds where it happened.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

README_HINT = "see the configuration reference in the README"


def describe_value(value: Any) -> str:
    """A JSON value as a reader of the file would name it."""
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def _parses(text: Any, parse: Callable[[str], Any]) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parse(text.strip())
    except ValueError:
        return False
    return True


def _whole_number(value: Any, _: dict[str, Any]) -> str:
    if _parses(value, int):
        return (
            f"must be a whole number such as {int(value.strip())}, not {describe_value(value)}; "
            "remove the quotes"
        )
    if isinstance(value, float) and value.is_integer():
        return f"must be a whole number: write {int(value)}, not {value!r}"
    return f"must be a whole number such as 2, not {describe_value(value)}"


def _number(value: Any, _: dict[str, Any]) -> str:
    if _parses(value, float):
        return (
            f"must be a number such as {value.strip()}, not {describe_value(value)}; "
            "remove the quotes"
        )
    return f"must be a number such as 0.5, not {describe_value(value)}"


def _boolean(value: Any, _: dict[str, Any]) -> str:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return (
            f"must be true or false, not {describe_value(value)}; remove the quotes "
            f"(write {value.strip().lower()})"
        )
    return f"must be true or false (no quotes), not {describe_value(value)}"


def _string(value: Any, _: dict[str, Any]) -> str:
    message = f"must be a string in double quotes, not {describe_value(value)}"
    if isinstance(value, bool | int | float):
        return f"{message}; write {json.dumps(json.dumps(value))}"
    return message


def _list(value: Any, _: dict[str, Any]) -> str:
    message = f"must be a list in square brackets, not {describe_value(value)}"
    if isinstance(value, str | int | float):
        return f"{message}; write [{json.dumps(value)}]"
    return message


def _object(value: Any, _: dict[str, Any]) -> str:
    return (
        f'must be an object in braces, {{"field": value, ...}}, not {describe_value(value)}; '
        + README_HINT
    )


def _plain(number: Any) -> str:
    """1.0 as 1, 0.02 as 0.02: numbers as a person writes them."""
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _bound(relation: str, key: str) -> Callable[[Any, dict[str, Any]], str]:
    def message(value: Any, context: dict[str, Any]) -> str:
        return f"must be {relation} {_plain(context[key])}, not {_plain(value)}"

    return message


def _too_short(value: Any, context: dict[str, Any]) -> str:
    needed, actual = context["min_length"], context["actual_length"]
    return f"must list at least {needed} item(s), not {actual}; add {needed - actual} or more"


def _too_long(value: Any, context: dict[str, Any]) -> str:
    allowed, actual = context["max_length"], context["actual_length"]
    return f"lists {actual} items, at most {allowed} are allowed; remove {actual - allowed}"


def _string_too_short(value: Any, context: dict[str, Any]) -> str:
    needed = context["min_length"]
    if needed == 1:
        return "must not be empty; write a value or remove the field"
    return f"must be at least {needed} characters long, not {len(value)}"


def _one_of(value: Any, context: dict[str, Any]) -> str:
    choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
    message = f"must be one of {', '.join(map(json.dumps, choices))}, not {describe_value(value)}"
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), choices, n=1)
        if close:
            return f"{message}; did you mean {json.dumps(close[0])}?"
    return message


_MESSAGES: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "int_type": _whole_number,
    "float_type": _number,
    "bool_type": _boolean,
    "string_type": _string,
    "list_type": _list,
    "dict_type": _object,
    "model_type": _object,
    "greater_than": _bound("greater than", "gt"),
    "greater_than_equal": _bound("at least", "ge"),
    "less_than": _bound("less than", "lt"),
    "less_than_equal": _bound("at most", "le"),
    "too_short": _too_short,
    "too_long": _too_long,
    "string_too_short": _string_too_short,
    "literal_error": _one_of,
}


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    """The models an annotation holds (``X``, ``X | None``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) in (Union, types.UnionType, list, dict):
        for argument in get_args(annotation):
            yield from _models_in(argument)


def _model_at(root: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        found = list(_models_in(field.annotation)) if field is not None else []
        model = found[0] if found else None
    return model


def _unknown_field(root: type[BaseModel], location: Sequence[str | int]) -> str:
    message = "unknown field (a typo?); remove it or check the config reference in the README"
    model = _model_at(root, location[:-1])
    name = location[-1] if location else None
    if model is not None and isinstance(name, str):
        close = difflib.get_close_matches(name, list(model.model_fields), n=1)
        if close:
            return f"unknown field (a typo?); did you mean {close[0]!r}?"
    return message


def describe_error(error: Any, root: type[BaseModel]) -> str:
    """The message for one entry of ``ValidationError.errors()`` raised validating ``root``."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field(root, error["loc"])
    if kind == "missing":
        return f"required; add it ({README_HINT})"
    describe = _MESSAGES.get(kind)
    if describe is not None:
        return describe(error.get("input"), error.get("ctx") or {})
    # Our own validators' messages already name the fix.
    return str(error["msg"]).removeprefix("Value error, ")
