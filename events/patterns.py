"""EventBridge event patterns: validated once, compiled to closures, matched against JSON dicts or pydantic events."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

Matcher = Callable[[Any], bool]
_ValueTest = Callable[[Any], bool]  # one leaf condition against one present scalar value
_MISSING: Any = object()
_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}


class InvalidPattern(ValueError):
    """The pattern is not one EventBridge would accept; the message names the path and the problem."""


def compile_pattern(pattern: Mapping[str, Any]) -> Matcher:
    """Check the whole pattern now and return a fast `matches(event) -> bool`."""
    if not isinstance(pattern, Mapping):
        raise InvalidPattern(f"a pattern is a JSON object, got {type(pattern).__name__}")
    if not pattern:
        raise InvalidPattern("a pattern needs at least one field")
    return _compile_object(pattern, "")


def _compile_object(pattern: Mapping[str, Any], path: str) -> Matcher:
    return _all_of([check for _, check, _ in _compile_fields(pattern, path)])


# one field of a pattern object: its key, its check, and whether it only asks for absence (`exists: false`)
_FieldCheck = tuple[str, Matcher, bool]


def _compile_fields(pattern: Mapping[str, Any], path: str) -> list[_FieldCheck]:
    fields: list[_FieldCheck] = []
    for key, sub in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            check, absent = _compile_or(sub, where)
        elif isinstance(sub, Mapping):
            if not sub:
                raise InvalidPattern(f"{where}: an object in a pattern needs at least one field")
            inner = _compile_fields(sub, where)
            check, absent = _nested(key, inner), all(a for _, _, a in inner)
        elif isinstance(sub, list):
            leaf = _compile_leaf(sub, where)
            check, absent = _leaf(key, leaf), leaf.only_absence
        else:
            raise InvalidPattern(f"{where}: a pattern value must be an array of matchers or an object, got {sub!r}")
        fields.append((key, check, absent))
    return fields


def _all_of(checks: list[Matcher]) -> Matcher:
    if len(checks) == 1:
        return checks[0]

    def matches_all(event: Any) -> bool:
        for check in checks:  # noqa: SIM110 (a plain loop is ~3x faster than all(<genexpr>) here)
            if not check(event):
                return False
        return True

    return matches_all


def _compile_or(alternatives: Any, where: str) -> tuple[Matcher, bool]:
    if not isinstance(alternatives, list) or len(alternatives) < 2:
        raise InvalidPattern(f"{where}: $or needs an array of at least two patterns")
    compiled = []
    for index, alternative in enumerate(alternatives):
        if not isinstance(alternative, Mapping) or not alternative:
            raise InvalidPattern(f"{where}[{index}]: each $or alternative must be a non-empty object")
        compiled.append(_compile_fields(alternative, where.removesuffix("$or").rstrip(".")))
    matchers = [_all_of([check for _, check, _ in fields]) for fields in compiled]
    absent = all(a for fields in compiled for _, _, a in fields)
    return (lambda event: any(alternative(event) for alternative in matchers)), absent


def _nested(key: str, fields: list[_FieldCheck]) -> Matcher:
    """A pattern object under `key`, matched as EventBridge does on the event flattened to its leaves.

    A missing field, null or a scalar has no leaves below it, so only `exists: false` can match there.
    An array of objects is matched one element at a time (array consistency: two fields never match
    from two different elements). EventBridge walks a pattern's fields in key order and checks an
    `exists: false` against the elements still consistent with what matched before it: an absence
    that sorts before every positive field is checked against all elements, the others only within
    the element that matched.
    """
    one_object = _all_of([check for _, check, _ in fields])
    ordered = sorted(fields, key=lambda field: field[0])
    first_positive = next((n for n, (_, _, absent) in enumerate(ordered) if not absent), len(ordered))
    in_every = _all_of([check for _, check, _ in ordered[:first_positive]]) if first_positive else None
    in_one = _all_of([check for _, check, _ in ordered[first_positive:]]) if first_positive < len(ordered) else None

    def matches(event: Any) -> bool:
        value = _field(event, key)
        if isinstance(value, list | tuple):
            objects = _objects_in(value)
            if not objects:
                return one_object(_EMPTY)
            if in_every is not None and not all(in_every(item) for item in objects):
                return False
            return in_one is None or any(in_one(item) for item in objects)
        if _is_object(value):
            return one_object(value)
        return one_object(_EMPTY)

    return matches


_EMPTY: dict[str, Any] = {}


class _Leaf:
    """The matchers of one field, OR'd: exact strings in a set (the common case), other tests in a list,
    and how a field without a leaf value (missing, an object, an empty array) answers."""

    __slots__ = ("if_missing", "strings", "tests")

    def __init__(self, strings: frozenset[str], tests: list[_ValueTest], if_missing: bool) -> None:
        self.strings = strings
        self.tests = tests
        self.if_missing = if_missing

    @property
    def only_absence(self) -> bool:
        return self.if_missing and not self.strings and not self.tests


def _leaf(key: str, leaf: _Leaf) -> Matcher:
    strings, tests, if_missing = leaf.strings, leaf.tests, leaf.if_missing

    def scalar_matches(value: Any) -> bool:
        if type(value) is not str:
            value = json_form(value)
        if value in strings:
            return True
        for test in tests:  # noqa: SIM110 (hot path)
            if test(value):
                return True
        return False

    def matches(event: Any) -> bool:
        value = _field(event, key)
        if type(value) is str:
            return scalar_matches(value)
        if value is _MISSING or _is_object(value):  # an object is no leaf: EventBridge sees only its fields
            return if_missing
        if isinstance(value, list | tuple):  # an array matches if any of its scalar leaves does
            leaves = _scalars_in(value)
            if not leaves:
                return if_missing
            for item in leaves:  # noqa: SIM110 (hot path)
                if scalar_matches(item):
                    return True
            return False
        return scalar_matches(value)

    return matches


def _compile_leaf(matchers: list[Any], where: str) -> _Leaf:
    if not matchers:
        raise InvalidPattern(f"{where}: an empty array matches nothing; list at least one value or matcher")
    strings: set[str] = set()
    tests: list[_ValueTest] = []
    if_missing = False
    for matcher in matchers:
        if isinstance(matcher, Mapping):
            if len(matcher) != 1:
                raise InvalidPattern(f"{where}: a matcher object has exactly one operator, got {sorted(matcher)}")
            [(operator, operand)] = matcher.items()
            if operator == "exists":
                if not isinstance(operand, bool):
                    raise InvalidPattern(f"{where}: exists takes true or false, got {operand!r}")
                if operand:
                    tests.append(_always)
                else:
                    if_missing = True
                continue
            tests.append(_compile_operator(operator, operand, where))
        elif isinstance(matcher, list):
            raise InvalidPattern(f"{where}: nested arrays are not allowed in a pattern")
        elif isinstance(matcher, str):
            strings.add(matcher)
        else:
            tests.append(_exact(matcher, where))
    return _Leaf(frozenset(strings), tests, if_missing)


def _compile_operator(operator: str, operand: Any, where: str) -> _ValueTest:
    if operator == "prefix":
        return _affix(operand, where, "prefix", str.startswith)
    if operator == "suffix":
        return _affix(operand, where, "suffix", str.endswith)
    if operator == "equals-ignore-case":
        folded = _string(operand, where, operator).casefold()
        return lambda value: isinstance(value, str) and value.casefold() == folded
    if operator == "wildcard":
        return _wildcard(_string(operand, where, operator))
    if operator == "numeric":
        return _numeric(operand, where)
    if operator == "cidr":
        return _cidr(operand, where)
    if operator == "anything-but":
        return _anything_but(operand, where)
    known = "prefix, suffix, equals-ignore-case, wildcard, numeric, cidr, anything-but, exists"
    raise InvalidPattern(f"{where}: unknown operator {operator!r} (known: {known})")


def _always(value: Any) -> bool:
    return True


def _exact(literal: Any, where: str) -> _ValueTest:
    if isinstance(literal, bool) or literal is None:
        return lambda value: value is literal
    if isinstance(literal, int | float):
        number = float(literal)
        return lambda value: _is_number(value) and float(value) == number
    if isinstance(literal, str):
        return lambda value: value == literal
    raise InvalidPattern(f"{where}: cannot match on {literal!r}: use strings, numbers, booleans or null")


def _affix(operand: Any, where: str, name: str, test: Callable[[str, str], bool]) -> _ValueTest:
    if isinstance(operand, Mapping) and set(operand) == {"equals-ignore-case"}:
        folded = _string(operand["equals-ignore-case"], where, f"{name}.equals-ignore-case").casefold()
        return lambda value: isinstance(value, str) and test(value.casefold(), folded)
    text = _string(operand, where, name)
    return lambda value: isinstance(value, str) and test(value, text)


def _wildcard(text: str) -> _ValueTest:
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "*\\":
            parts.append(re.escape(text[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda value: isinstance(value, str) and regex.fullmatch(value) is not None


def _numeric(operand: Any, where: str) -> _ValueTest:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise InvalidPattern(f"{where}: numeric needs operator/value pairs like ['>', 0] or ['>', 0, '<=', 5]")
    bounds: list[tuple[str, float]] = []
    for position in range(0, len(operand), 2):
        operator, number = operand[position], operand[position + 1]
        if operator not in _NUMERIC_OPERATORS or not _is_number(number):
            raise InvalidPattern(
                f"{where}: numeric needs operator/value pairs like ['>', 0], got {operand!r} "
                f"(operators: {', '.join(sorted(_NUMERIC_OPERATORS))})"
            )
        bounds.append((operator, float(number)))
    if len(bounds) == 2 and ("=" in (bounds[0][0], bounds[1][0]) or bounds[0][0][0] == bounds[1][0][0]):
        raise InvalidPattern(f"{where}: a numeric range needs one lower (> or >=) and one upper (< or <=) bound")

    def matches(value: Any) -> bool:
        if not _is_number(value):
            return False
        number = float(value)
        return all(_compare(number, operator, bound) for operator, bound in bounds)

    return matches


def _compare(number: float, operator: str, bound: float) -> bool:
    if operator == "=":
        return number == bound
    if operator == "<":
        return number < bound
    if operator == "<=":
        return number <= bound
    if operator == ">":
        return number > bound
    return number >= bound


def _cidr(operand: Any, where: str) -> _ValueTest:
    try:
        network = ipaddress.ip_network(_string(operand, where, "cidr"), strict=False)
    except ValueError as error:
        raise InvalidPattern(f"{where}: cidr {operand!r} is not a network: {error}") from None

    def matches(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return matches


def _anything_but(operand: Any, where: str) -> _ValueTest:
    where = f"{where} anything-but"
    if isinstance(operand, Mapping):
        if len(operand) != 1:
            raise InvalidPattern(f"{where}: takes one of prefix, suffix, equals-ignore-case, wildcard")
        [(operator, inner)] = operand.items()
        if operator not in {"prefix", "suffix", "equals-ignore-case", "wildcard"}:
            raise InvalidPattern(f"{where}: {operator!r} is not allowed here")
        values = inner if isinstance(inner, list) and operator in {"equals-ignore-case", "wildcard"} else [inner]
        excluded = [_compile_operator(operator, value, where) for value in values]
    else:
        values = operand if isinstance(operand, list) else [operand]
        if not values:
            raise InvalidPattern(f"{where}: needs at least one value")
        for value in values:
            if isinstance(value, Mapping | list):
                raise InvalidPattern(f"{where}: list strings or numbers, got {value!r}")
        excluded = [_exact(value, where) for value in values]
    return lambda value: not any(test(value) for test in excluded)


def _string(operand: Any, where: str, operator: str) -> str:
    if not isinstance(operand, str):
        raise InvalidPattern(f"{where}: {operator} takes a string, got {operand!r}")
    return operand


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping | BaseModel)


def _scalars_in(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    """The leaf values of an array: nested arrays are flattened into it, objects are not leaves."""
    leaves: list[Any] = []
    for item in values:
        if isinstance(item, list | tuple):
            leaves.extend(_scalars_in(item))
        elif not _is_object(item):
            leaves.append(item)
    return leaves


def _objects_in(values: list[Any] | tuple[Any, ...]) -> list[Any]:
    """The objects of an array, nested arrays flattened (EventBridge crushes multi-level arrays)."""
    objects: list[Any] = []
    for item in values:
        if isinstance(item, list | tuple):
            objects.extend(_objects_in(item))
        elif _is_object(item):
            objects.append(item)
    return objects


_ATTRIBUTES: dict[type[BaseModel], dict[str, str]] = {}


def _field(event: Any, key: str) -> Any:
    """A field by its JSON name, from a dict or a pydantic model (via the model's aliases)."""
    cls = type(event)
    if cls is dict:
        return event.get(key, _MISSING)
    names = _ATTRIBUTES.get(cls)
    if names is None:
        if not isinstance(event, BaseModel):
            return event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        names = _ATTRIBUTES[cls] = {(info.alias or name): name for name, info in cls.model_fields.items()}
    attribute = names.get(key)
    return _MISSING if attribute is None else event.__dict__[attribute]


def json_form(value: Any) -> Any:
    """What the value looks like once serialised, so a pydantic event matches as its JSON would."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value
