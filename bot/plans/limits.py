"""Bounds on what a plan file may make the reader do, checked before the costly parsing.

A plan is a few hundred rows. A file built to expand far beyond its size (a zip bomb dressed
as .xlsx, a YAML "billion laughs") is refused in well under a second, in little memory, with a
message that says which limit it broke.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from bot.domain import UserError

# An .xlsx is a zip of XML. A real tracker's XML is well under a few MB.
MAX_XLSX_UNPACKED_BYTES = 30 * 1024 * 1024
MAX_XLSX_MEMBERS = 2000
# XML compresses well, about 10–20 to 1; a member far past this was built to expand.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_FROM_BYTES = 1024 * 1024
# Rows and columns per sheet, counted before the whole workbook is loaded.
MAX_ROWS = 20_000
MAX_COLUMNS = 200
MAX_CELLS = 400_000  # filled cells in the whole workbook: 20,000 rows of 20 columns
# The problem list a person reads: the first ones, then "…and N more".
MAX_PROBLEMS_LISTED = 50
# YAML: an alias (*name) may repeat a single value; one that repeats a list or mapping can
# expand exponentially, and plan files never need one.
MAX_YAML_ALIASES = 1000


class TooLarge(UserError):
    """The file is past a limit: nothing was loaded."""


def check_xlsx_archive(data: bytes, filename: str) -> None:
    """Refuses a workbook whose parts unpack far beyond its size, from the zip's own directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return  # not a zip at all: openpyxl's own error says the file is damaged
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise TooLarge(
                f"{filename} has {len(members):,} parts inside; a workbook has far fewer. "
                "Save it again from Excel, or export the tracker as CSV."
            )
        unpacked = 0
        for member in members:
            unpacked += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > RATIO_CHECKED_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
                raise TooLarge(
                    f"{filename} is not a tracker a person keeps: its part {member.filename} "
                    f"unpacks to {member.file_size / 1024 / 1024:,.0f} MB from "
                    f"{member.compress_size / 1024:,.0f} KB ({ratio:,.0f} to 1). "
                    "Nothing was loaded."
                )
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise TooLarge(
                f"{filename} unpacks to {unpacked / 1024 / 1024:,.0f} MB; a plan workbook can "
                f"unpack to at most {MAX_XLSX_UNPACKED_BYTES // 1024 // 1024} MB. "
                "Remove unused sheets, or export the tracker as CSV. Nothing was loaded."
            )


@dataclass
class CellBudget:
    """Rows, columns and filled cells read so far from one workbook, refused past the limits
    as they are read (a streaming read: the sheet is never held whole to be counted)."""

    filename: str
    filled: int = 0

    def rows(self, sheet: Any) -> Iterator[tuple[object, ...]]:
        """The sheet's rows (values only), each counted before it is given."""
        where = f" on sheet ‘{sheet.title}’"
        for index, row in enumerate(sheet.iter_rows(values_only=True)):
            if index >= MAX_ROWS:
                raise too_many_rows(self.filename, where)
            if len(row) > MAX_COLUMNS:
                raise too_many_columns(self.filename, len(row), where)
            self.filled += sum(1 for value in row if value is not None)
            if self.filled > MAX_CELLS:
                raise TooLarge(
                    f"{self.filename} has more than {MAX_CELLS:,} filled cells; a plan has far "
                    "fewer. Delete unused sheets or rows. Nothing was loaded."
                )
            yield row


def too_many_rows(filename: str, where: str) -> TooLarge:
    return TooLarge(
        f"{filename} has more than {MAX_ROWS:,} rows{where}; a plan can have at most "
        f"{MAX_ROWS:,}. Delete empty or unused rows and import it again. Nothing was loaded."
    )


def too_many_columns(filename: str, columns: int, where: str) -> TooLarge:
    return TooLarge(
        f"{filename} has {columns:,} columns{where}; a plan can have at most {MAX_COLUMNS}. "
        "Delete unused columns and import it again. Nothing was loaded."
    )


class _PlanYamlLoader(yaml.SafeLoader):
    """A safe loader that lets an alias repeat a single value only, and only so many times."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            self.alias_count += 1
            if anchored is not None and not isinstance(anchored, yaml.ScalarNode):
                raise TooLarge(
                    f"uses the alias *{event.anchor} for a list or mapping (line "
                    f"{event.start_mark.line + 1}); write each action out in full."
                )
            if self.alias_count > MAX_YAML_ALIASES:
                raise TooLarge(f"uses more than {MAX_YAML_ALIASES:,} aliases (*name).")
        return super().compose_node(parent, index)


def load_plan_yaml(text: str, filename: str) -> object:
    """yaml.safe_load with aliases bounded; TooLarge names the file and the limit."""
    loader = _PlanYamlLoader(text)
    try:
        return loader.get_single_data()
    except TooLarge as error:
        raise TooLarge(f"{filename} {error} Nothing was loaded.") from None
    finally:
        loader.dispose()
