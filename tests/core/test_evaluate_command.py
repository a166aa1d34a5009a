"""`isotrack evaluate`: the answer on standard output, or exit 2 with one line on standard error."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isotrack.evaluate_command import run

COURSE = Path(__file__).parent / "courses" / "001-first-fill-allowed.json"


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = run(args)
    out, err = capsys.readouterr()
    return status, out, err


def test_it_prints_the_answer_for_the_files_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = call([str(COURSE)], capsys)
    assert (status, err) == (0, "")
    assert json.loads(out)["as_of"] == "2025-09-05"


@pytest.mark.parametrize("args", [["--as-of", "2025-09-09"], ["--as-of=2025-09-09"]])
def test_as_of_overrides_the_file(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = call([str(COURSE), *args], capsys)
    assert status == 0
    assert json.loads(out)["as_of"] == "2025-09-09"
    assert "WINDOW_EXPIRED" in json.loads(out)["dispense"]["blocking"]


def test_without_any_date_it_uses_today_in_the_practice_time_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(COURSE.read_text())
    del data["as_of"]
    course = tmp_path / "course.json"
    course.write_text(json.dumps(data))
    monkeypatch.setenv("ISOTRACK_TIME_ZONE", "Pacific/Kiritimati")
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    status, out, _ = call([str(course)], capsys)
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    assert status == 0
    assert json.loads(out)["as_of"] in {before.isoformat(), after.isoformat()}


def test_it_refuses_an_unknown_time_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(COURSE.read_text())
    del data["as_of"]
    course = tmp_path / "course.json"
    course.write_text(json.dumps(data))
    monkeypatch.setenv("ISOTRACK_TIME_ZONE", "Mars/Olympus")
    status, out, err = call([str(course)], capsys)
    assert (status, out) == (2, "")
    assert err == "ISOTRACK_TIME_ZONE: 'Mars/Olympus' is not a known time zone\n"


def bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    broken = tmp_path / "broken.json"
    broken.write_text('{"as_of": "2025-09-05",')
    nan = tmp_path / "nan.json"
    nan.write_text(COURSE.read_text().replace('"kg": 58.0', '"kg": NaN'))
    invalid = tmp_path / "invalid.json"
    invalid.write_text(COURSE.read_text().replace('"2025-09-02"', '"2025-09-31"', 1))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    huge = tmp_path / "huge.json"  # spec clarification "numbers": finite for Python, not for a double
    huge.write_text(COURSE.read_text().replace('"kg": 58.0', '"kg": 1' + "0" * 400))
    huge_float = tmp_path / "huge_float.json"
    huge_float.write_text(COURSE.read_text().replace('"value": 98', '"value": 1e400'))
    too_many_digits = tmp_path / "digits.json"  # beyond Python's 4,300-digit limit for int()
    too_many_digits.write_text(COURSE.read_text().replace('"kg": 58.0', '"kg": 1' + "0" * 5000))
    return [
        ([str(tmp_path / "missing.json")], "missing.json: cannot read the file: No such file or directory"),
        ([str(broken)], "broken.json: invalid JSON at line 1 column"),
        ([str(nan)], "nan.json: invalid JSON"),
        ([str(invalid)], "events[4].date: 2025-09-31 is not a valid date"),
        ([str(deep)], "deep.json: invalid JSON: nested too deeply"),
        ([str(huge)], "weights[0].kg: this whole number is too large"),
        ([str(huge_float)], "not a finite number"),
        ([str(too_many_digits)], "digits.json: invalid JSON"),
        ([str(COURSE), "--as-of", "2025-02-29"], "--as-of: 2025-02-29 is not a valid date"),
        (
            [str(COURSE), "--as-of", "9999-12-31"],
            "--as-of: 9999-12-31 is outside the dates isotrack evaluates",
        ),
        ([str(COURSE), "--as-of"], "--as-of: expected a date as YYYY-MM-DD, got ''"),
        ([str(COURSE), "--verbose"], "unknown option --verbose"),
        ([str(COURSE), str(COURSE)], "unexpected argument"),
        ([], "no course file given"),
    ]


def test_it_rejects_bad_input_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, message in bad_inputs(tmp_path):
        status, out, err = call(args, capsys)
        assert status == 2, args
        assert out == "", args
        assert len(err.splitlines()) == 1, err
        assert message in err, (args, err)


def test_the_isotrack_command_runs_it_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "isotrack.cli", "evaluate", str(COURSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dispense"]["allowed"] is True


def test_python_m_isotrack_core_prints_a_usage_line() -> None:
    done = subprocess.run([sys.executable, "-m", "isotrack.core"], capture_output=True, text=True, check=True)
    assert "isotrack evaluate COURSE.json" in done.stdout


# --- whatever the file: an answer, or exit 2 with one line, never a traceback -------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["2026-02-30", "2026-06-01", "auto", "micronized", "positive", "abstinence", "9999-12-31"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_file_gives_an_answer_or_one_line_and_exit_2_never_a_traceback(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    content = json.loads(COURSE.read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths(content)[1:]))
        node: object = content
        for key in where[:-1]:
            node = node[key]  # type: ignore[index]
        node[where[-1]] = data.draw(json_values)  # type: ignore[index]
    path = tmp_path_factory.mktemp("fuzz") / "course.json"
    path.write_text(json.dumps(content))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run([str(path), "--as-of", "2025-09-05"])
    assert status in (0, 2), err.getvalue()
    if status == 0:
        assert json.loads(out.getvalue())["as_of"] == "2025-09-05"
    else:
        assert out.getvalue() == "" and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
