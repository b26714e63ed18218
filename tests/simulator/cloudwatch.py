"""CloudWatch as the rollout simulator needs it: a metric store, metric math and alarms.

moto's CloudWatch stores metrics and alarms but neither evaluates alarms nor metric math, and a
moto call per simulated request would cost a millisecond each, so this is the simulator's own
oracle. It follows CloudWatch's documented behaviour:

- A datapoint is the statistic of the raw values in one period ``[start, start + period)``;
  dimension sets match exactly (a metric with an extra dimension is another metric).
- Metric math works per period: ``FILL(m, v)`` fills periods without data, arithmetic with a
  missing value is missing, division by zero is missing, ``IF(c, a, b)`` picks per period.
- An alarm is evaluated every minute on its last ``EvaluationPeriods`` periods that have fully
  arrived (``lag`` after their end); it goes to ALARM when at least ``DatapointsToAlarm`` of
  them breach. Missing datapoints count as ``TreatMissingData`` says: ``notBreaching`` (good),
  ``breaching`` (bad), ``ignore`` (the state stays when all are missing), ``missing``
  (INSUFFICIENT_DATA when all are missing).
- A new alarm starts in INSUFFICIENT_DATA; an alarm updated in place (same name) keeps its
  state until it is next evaluated, as PutMetricAlarm does.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def metric_key(namespace: str, name: str, dimensions: Mapping[str, str]) -> MetricKey:
    return (namespace, name, frozenset(dimensions.items()))


class MetricStore:
    """Raw values by metric and second, weighted (``weight`` identical values at once)."""

    def __init__(self) -> None:
        self._values: dict[MetricKey, list[tuple[float, float, int]]] = defaultdict(list)

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        *,
        at: float,
        value: float,
        weight: int = 1,
    ) -> None:
        self._values[metric_key(namespace, name, dimensions)].append((at, value, weight))

    def statistic(self, key: MetricKey, stat: str, start: float, end: float) -> float | None:
        """``stat`` of the values in ``[start, end)``; None when there are none."""
        values = [(v, w) for at, v, w in self._values.get(key, ()) if start <= at < end]
        if not values:
            return None
        count = sum(w for _, w in values)
        if stat == "Sum":
            return sum(v * w for v, w in values)
        if stat == "SampleCount":
            return float(count)
        if stat == "Average":
            return sum(v * w for v, w in values) / count
        if stat == "Maximum":
            return max(v for v, _ in values)
        if stat == "Minimum":
            return min(v for v, _ in values)
        match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
        if match:
            rank = float(match.group(1)) / 100 * count
            seen = 0
            for value, weight in sorted(values):
                seen += weight
                if seen >= rank:
                    return value
            return sorted(values)[-1][0]
        raise ValueError(f"statistic {stat!r} is not simulated")


# --- metric math --------------------------------------------------------------------------------

Series = dict[float, float | None]
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


def _tokens(expression: str) -> list[str]:
    position, tokens = 0, []
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot parse metric math {expression!r} at {position}")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the subset the templates use: numbers, ids, + - * /,
    comparisons, AND/OR, IF(c, a, b), FILL(m, v)."""

    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.position = 0

    def parse(self) -> Any:
        tree = self._or()
        if self.position != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.position]!r}")
        return tree

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.position]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, got {token!r}")
        self.position += 1
        return token

    def _binary(self, operators: tuple[str, ...], operand: Callable[[], Any]) -> Any:
        tree = operand()
        while self._peek() in operators:
            tree = (self._take(), tree, operand())
        return tree

    def _or(self) -> Any:
        return self._binary(("OR",), self._and)

    def _and(self) -> Any:
        return self._binary(("AND",), self._compare)

    def _compare(self) -> Any:
        return self._binary((">=", "<=", ">", "<", "==", "!="), self._sum)

    def _sum(self) -> Any:
        return self._binary(("+", "-"), self._product)

    def _product(self) -> Any:
        return self._binary(("*", "/"), self._atom)

    def _atom(self) -> Any:
        token = self._take()
        if token == "(":
            tree = self._or()
            self._take(")")
            return tree
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return ("num", float(token))
        if self._peek() == "(":
            self._take("(")
            arguments = [self._or()]
            while self._peek() == ",":
                self._take(",")
                arguments.append(self._or())
            self._take(")")
            return ("call", token, arguments)
        return ("id", token)


_BINARY: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: None if b == 0 else a / b,
    ">=": lambda a, b: float(a >= b),
    "<=": lambda a, b: float(a <= b),
    ">": lambda a, b: float(a > b),
    "<": lambda a, b: float(a < b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "AND": lambda a, b: float(bool(a) and bool(b)),
    "OR": lambda a, b: float(bool(a) or bool(b)),
}


def evaluate_math(expression: str, series: Mapping[str, Series], periods: list[float]) -> Series:
    """``expression`` over ``series`` (id -> period start -> value), per period in ``periods``."""

    def value(tree: Any, period: float) -> float | None:
        kind = tree[0]
        if kind == "num":
            return float(tree[1])
        if kind == "id":
            return series[tree[1]].get(period)
        if kind == "call":
            name, arguments = tree[1], tree[2]
            if name == "FILL":
                found = value(arguments[0], period)
                return value(arguments[1], period) if found is None else found
            if name == "IF":
                condition = value(arguments[0], period)
                if condition is None:
                    return None
                return value(arguments[1] if condition else arguments[2], period)
            raise ValueError(f"metric math function {name} is not simulated")
        left, right = value(tree[1], period), value(tree[2], period)
        if left is None or right is None:
            return None
        return _BINARY[kind](left, right)

    tree = _Parser(expression).parse()
    return {period: value(tree, period) for period in periods}


# --- alarms -------------------------------------------------------------------------------------


@dataclass
class Alarm:
    """One alarm as PutMetricAlarm holds it: resolved template properties and a state."""

    name: str
    properties: dict[str, Any]
    state: str = INSUFFICIENT
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def period(self) -> int:
        if "Metrics" in self.properties:
            return min(
                int(query["MetricStat"]["Period"])
                for query in self.properties["Metrics"]
                if "MetricStat" in query
            )
        return int(self.properties["Period"])

    def datapoints(self, store: MetricStore, periods: list[float]) -> Series:
        props = self.properties
        if "Metrics" not in props:
            key = metric_key(props["Namespace"], props["MetricName"], _dims(props))
            stat = props.get("Statistic") or props["ExtendedStatistic"]
            return {p: store.statistic(key, stat, p, p + self.period) for p in periods}
        series: dict[str, Series] = {}
        result_id = None
        for query in props["Metrics"]:
            if "MetricStat" in query:
                stat = query["MetricStat"]
                metric = stat["Metric"]
                key = metric_key(metric["Namespace"], metric["MetricName"], _dims(metric))
                series[query["Id"]] = {
                    p: store.statistic(key, stat["Stat"], p, p + int(stat["Period"]))
                    for p in periods
                }
            if query.get("ReturnData", True) and "Expression" in query:
                result_id = query["Id"]
        math_queries = [q for q in props["Metrics"] if "Expression" in q]
        for query in math_queries:
            series[query["Id"]] = evaluate_math(query["Expression"], series, periods)
        assert result_id is not None, f"alarm {self.name} returns no expression"
        return series[result_id]

    def evaluate(self, store: MetricStore, now: float, lag: float) -> str:
        """Set and return the state as CloudWatch would at ``now``."""
        props = self.properties
        period = self.period
        last_complete = math.floor((now - lag) / period) * period - period
        count = int(props["EvaluationPeriods"])
        periods = [last_complete - i * period for i in range(count)][::-1]
        values = self.datapoints(store, periods)
        threshold = float(props["Threshold"])
        operator = props["ComparisonOperator"]
        treat = props.get("TreatMissingData", "missing")
        breaches, missing = 0, 0
        for period_value in values.values():
            if period_value is None:
                missing += 1
                breaches += treat == "breaching"
            else:
                breaches += _breaches(operator, period_value, threshold)
        needed = int(props.get("DatapointsToAlarm", count))
        if missing == count and treat in ("missing", "ignore"):
            state = self.state if treat == "ignore" else INSUFFICIENT
        else:
            state = ALARM if breaches >= needed else OK
        if state != self.state:
            self.history.append((now, state))
        self.state = state
        return state


def _dims(metric: Mapping[str, Any]) -> dict[str, str]:
    return {d["Name"]: str(d["Value"]) for d in metric.get("Dimensions", [])}


def _breaches(operator: str, value: float, threshold: float) -> bool:
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }[operator]


class FakeCloudWatch:
    """The CloudWatch API the hooks call (``GetMetricData`` on MetricStat queries), served
    from the store with the same arrival lag as the alarms see."""

    def __init__(
        self,
        store: MetricStore,
        now: Callable[[], float],
        lag: float,
        seconds: Callable[[datetime], float],
    ) -> None:
        self.store, self.now, self.lag, self.seconds = store, now, lag, seconds

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        start, end = self.seconds(request["StartTime"]), self.seconds(request["EndTime"])
        visible_until = self.now() - self.lag
        results = []
        for query in request["MetricDataQueries"]:
            stat = query["MetricStat"]
            metric, period = stat["Metric"], int(stat["Period"])
            key = metric_key(metric["Namespace"], metric["MetricName"], _dims(metric))
            values = []
            moment = start
            while moment < end:
                if moment + period <= visible_until:
                    found = self.store.statistic(key, stat["Stat"], moment, moment + period)
                    if found is not None:
                        values.append(found)
                moment += period
            results.append({"Id": query["Id"], "Values": values})
        return {"MetricDataResults": results}
