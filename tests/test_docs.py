"""The docs stay true: every test that docs/RELIABILITY.md names for a fault exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `file.py::test_name`, `file.py::test_name[param]`, or `…::test_name` for the file named just before.
TEST_REFERENCE = re.compile(r"`([^`\s]+?\.py|…)::(\w+)(?:\[[^`]*\])?`")


def test_every_test_named_in_the_reliability_table_exists() -> None:
    doc = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    named, missing = 0, []
    current = ""
    for match in TEST_REFERENCE.finditer(doc):
        file, name = match.groups()
        current = current if file == "…" else file
        path = ROOT / "tests" / current
        named += 1
        if not path.is_file() or not re.search(rf"^(async )?def {name}\(", path.read_text(), re.MULTILINE):
            missing.append(f"{current}::{name}")
    assert named > 70  # the table is read at all
    assert not missing, f"docs/RELIABILITY.md names tests that do not exist: {missing}"
