"""A small comparer for course files' ``expect`` blocks (the format of ../shared/scenarios/check.py: an
``alerts_include`` item is a code or a {code, date} pair), plus ``expect_alert_dates`` ({code: date}), a
top-level key of this project's course files that check.py and the engine both ignore."""

from __future__ import annotations

from typing import Any

LIST_KEYS = {
    "dispense.blocking",
    "dispense.blocking_includes",
    "dispense.blocking_excludes",
    "alerts_include",
    "alerts_exclude",
    "due_include",
    "due_exclude",
}


def dig(answer: dict[str, Any], path: str) -> Any:
    node: Any = answer
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"the answer has no {path}"
        node = node[part]
    return node


def same(expected: Any, actual: Any, key: str) -> bool:
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return bool(expected == actual)
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    return abs(expected - actual) <= (0.0101 if "per_kg" in key else 0.101)


def problems(expect: dict[str, Any], answer: dict[str, Any], alert_dates: dict[str, str]) -> list[str]:
    found = []
    blocking = set(answer["dispense"]["blocking"])
    alerts = {a["code"]: a["date"] for a in answer["alerts"]}
    due = {(d["code"], d["date"]) for d in answer["due"]}
    for key, want in expect.items():
        if key == "dispense.blocking" and blocking != set(want):
            found.append(f"blocking is {sorted(blocking)}, expected {sorted(want)}")
        elif key == "dispense.blocking_includes" and set(want) - blocking:
            found.append(f"blocking lacks {sorted(set(want) - blocking)}")
        elif key == "dispense.blocking_excludes" and set(want) & blocking:
            found.append(f"blocking has {sorted(set(want) & blocking)}")
        elif key == "alerts_include":
            codes = {item["code"] if isinstance(item, dict) else item for item in want}
            if codes - set(alerts):
                found.append(f"alerts lack {sorted(codes - set(alerts))}")
            found += [
                f"alert {item['code']} is dated {alerts.get(item['code'])}, expected {item['date']}"
                for item in want
                if isinstance(item, dict) and item["code"] in alerts and alerts[item["code"]] != item["date"]
            ]
        elif key == "alerts_exclude" and set(want) & set(alerts):
            found.append(f"alerts have {sorted(set(want) & set(alerts))}")
        elif key == "due_include":
            found += [f"due lacks {d}" for d in want if (d["code"], d["date"]) not in due]
        elif key == "due_exclude" and set(want) & {code for code, _ in due}:
            found.append(f"due has {sorted(set(want) & {code for code, _ in due})}")
        elif key not in LIST_KEYS and not same(want, dig(answer, key), key):
            found.append(f"{key} is {dig(answer, key)!r}, expected {want!r}")
    for code, date in alert_dates.items():
        if alerts.get(code) != date:
            found.append(f"alert {code} is dated {alerts.get(code)}, expected {date}")
    return found
