"""Plan files built to exhaust the reader are refused in seconds, in bounded memory.

The bombs are built here. Time and memory are asserted as generous bounds, not benchmarks: the
unbounded reader took a minute and hundreds of MB on these files.
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from bot.plans.limits import MAX_COLUMNS, MAX_PROBLEMS_LISTED, MAX_ROWS
from bot.plans.read import PlanFileError, read_plan, read_plan_bytes
from bot.plans.report import problem_lines

SECONDS = 5.0
PEAK_BYTES = 64 * 1024 * 1024


@contextmanager
def timed(seconds: float = SECONDS) -> Iterator[None]:
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s"


@contextmanager
def peak_memory(peak_bytes: int = PEAK_BYTES) -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < peak_bytes, f"peaked at {peak / 1024 / 1024:.0f} MB"


def refused(call: Callable[[], object]) -> str:
    """The refusal's message, once timed and once with its memory traced (tracing slows it)."""
    with timed(), pytest.raises(PlanFileError) as error:
        call()
    with peak_memory(), pytest.raises(PlanFileError):
        call()
    return str(error.value)


def billion_laughs() -> bytes:
    """Nine levels of aliases, each ten of the one below: 10^9 strings from under 1 KB."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, below = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 10) + "]")
    lines.append("workstreams:\n  - name: *i\n    actions: []")
    return "\n".join(lines).encode()


def test_a_yaml_billion_laughs_is_refused() -> None:
    data = billion_laughs()
    assert len(data) < 1024

    message = refused(lambda: read_plan_bytes(data, "plan.yaml"))

    assert message.startswith("plan.yaml uses the alias *a for a list or mapping (line 2)")
    assert message.endswith("Nothing was loaded.")


def test_a_yaml_alias_for_one_value_is_fine() -> None:
    data = (
        b"workstreams:\n"
        b"  - name: Health\n"
        b"    actions:\n"
        b"      - {ref: 1A, title: One, lead: &sam sam.lead@council.gov.uk}\n"
        b"      - {ref: 1B, title: Two, lead: *sam}\n"
    )

    plan = read_plan_bytes(data, "plan.yaml")

    assert [row.leads for row in plan.rows] == [["sam.lead@council.gov.uk"]] * 2


def small_workbook() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Ref", "Title"])
    sheet.append(["1A", "One"])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def with_sheet_xml(workbook: bytes, sheet_xml: bytes) -> bytes:
    """The workbook with its first sheet's XML replaced, compressed as Excel would."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            target.writestr(member.filename, data)
    return out.getvalue()


def sheet_xml(rows: Iterator[bytes]) -> bytes:
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>"
    )
    return head + b"".join(rows) + b"</sheetData></worksheet>"


def test_an_xlsx_whose_xml_expands_far_beyond_its_size_is_refused() -> None:
    # Row numbers are optional in the XML, so every row is the same and compresses to nothing.
    row = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>'
    xml = sheet_xml(iter([row] * 1_000_000))
    bomb = with_sheet_xml(small_workbook(), xml)
    assert len(bomb) < 200 * 1024 and len(xml) > 50_000_000

    message = refused(lambda: read_plan_bytes(bomb, "tracker.xlsx"))

    assert "tracker.xlsx is not a tracker a person keeps" in message
    assert "xl/worksheets/sheet1.xml unpacks to" in message


def test_an_xlsx_with_too_many_rows_is_refused() -> None:
    row = b'<row r="%d"><c r="A%d"><v>%d</v></c></row>'
    xml = sheet_xml(row % (n, n, n) for n in range(1, MAX_ROWS + 10))
    workbook = with_sheet_xml(small_workbook(), xml)

    message = refused(lambda: read_plan_bytes(workbook, "tracker.xlsx"))

    assert message.startswith(f"tracker.xlsx has more than {MAX_ROWS:,} rows on sheet ‘Sheet’")


def test_an_xlsx_with_a_cell_far_down_is_refused_without_reading_the_gap() -> None:
    xml = sheet_xml(iter([b'<row r="1000000"><c r="A1000000"><v>1</v></c></row>']))
    workbook = with_sheet_xml(small_workbook(), xml)

    assert "more than 20,000 rows" in refused(lambda: read_plan_bytes(workbook, "t.xlsx"))


def test_an_xlsx_with_too_many_columns_is_refused() -> None:
    xml = sheet_xml(iter([b'<row r="1"><c r="ZZ1"><v>1</v></c></row>']))
    workbook = with_sheet_xml(small_workbook(), xml)

    message = refused(lambda: read_plan_bytes(workbook, "t.xlsx"))

    assert message.startswith(
        f"t.xlsx has 702 columns on sheet ‘Sheet’; a plan can have at most {MAX_COLUMNS}"
    )


def test_a_csv_with_too_many_rows_is_refused() -> None:
    data = b"Ref,Title\n" + b"1A,x\n" * (MAX_ROWS + 1)

    assert "more than 20,000 rows" in refused(lambda: read_plan_bytes(data, "plan.csv"))


def test_the_problem_report_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Title\n7A,Fine\n" + "".join(f"{n}B,\n" for n in range(1, 501)))

    with timed(), peak_memory():
        plan = read_plan(path)

    assert len(plan.problems) == MAX_PROBLEMS_LISTED
    assert plan.problems_left_off == 500 - MAX_PROBLEMS_LISTED
    assert f"…and {500 - MAX_PROBLEMS_LISTED:,} more problems not listed" in plan.notes[-1]
    lines = problem_lines(plan.problems, plan.problems_left_off)
    assert lines[0] == f"  rows not loaded ({MAX_PROBLEMS_LISTED}):"
    assert lines[-1] == f"  …and {500 - MAX_PROBLEMS_LISTED} more problems"
    assert len(lines) == MAX_PROBLEMS_LISTED + 2
    assert [row.ref for row in plan.rows] == ["7A"]


def test_wsoa_import_refuses_a_bomb_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refused before any database is opened: none is configured, and none is created.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSOA_DATABASE_URL", raising=False)
    path = tmp_path / "plan.yaml"
    path.write_bytes(billion_laughs())

    with timed():
        assert main(["import", str(path)]) == 2

    assert "plan.yaml uses the alias *a for a list or mapping" in capsys.readouterr().err
    assert not (tmp_path / "wsoa.db").exists()


def test_wsoa_import_refuses_an_xlsx_bomb_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole import, as a programme manager runs it: the workbook is looked at for measures
    as well as actions, and neither reading unpacks the bomb (the measures reader once read all
    50 MB of it, for 20 s and 262 MB, before the plan reader refused it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSOA_DATABASE_URL", raising=False)
    row = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>'
    path = tmp_path / "tracker.xlsx"
    path.write_bytes(with_sheet_xml(small_workbook(), sheet_xml(iter([row] * 1_000_000))))

    with timed(2.0), peak_memory():
        assert main(["import", str(path)]) == 2

    assert "tracker.xlsx is not a tracker a person keeps" in capsys.readouterr().err
    assert not (tmp_path / "wsoa.db").exists()


def test_a_zip_whose_directory_understates_a_part_is_read_no_further() -> None:
    """Sizes declared in the zip's directory bound the unpacking itself: a part that holds more
    than it declares is cut off and reported as damaged, never unpacked whole."""
    row = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>'
    honest = with_sheet_xml(small_workbook(), sheet_xml(iter([row] * 200_000)))
    lying = understated(honest, "xl/worksheets/sheet1.xml", 100_000)

    with timed(2.0), peak_memory(), pytest.raises(PlanFileError) as error:
        read_plan_bytes(lying, "tracker.xlsx")
    assert "cannot be opened as an Excel workbook" in str(error.value)


def understated(archive: bytes, name: str, size: int) -> bytes:
    """The zip with `name`'s uncompressed size written as `size` in its local header and in
    the central directory, its data unchanged."""
    data = bytearray(archive)

    def number(at: int, width: int) -> int:
        return int.from_bytes(data[at : at + width], "little")

    end = bytes(data).rfind(b"PK\x05\x06")
    entry = number(end + 16, 4)
    for _ in range(number(end + 10, 2)):
        name_length = number(entry + 28, 2)
        following = entry + 46 + name_length + number(entry + 30, 2) + number(entry + 32, 2)
        if bytes(data[entry + 46 : entry + 46 + name_length]) == name.encode():
            data[entry + 24 : entry + 28] = size.to_bytes(4, "little")
            local = number(entry + 42, 4)
            data[local + 22 : local + 26] = size.to_bytes(4, "little")
        entry = following
    return bytes(data)
