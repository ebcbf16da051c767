"""Fixtures for the corpus layer: small corpora of every format, written into tmp folders."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from corpus_samples import SAMPLE_LINES, write_text


@pytest.fixture(scope="session")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small corpus per supported format, all holding SAMPLE_LINES as their text."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("corpora")
    found: dict[str, Path] = {"txt": write_text(root / "plain.txt", SAMPLE_LINES)}
    with gzip.open(root / "plain.txt.gz", "wb") as handle:
        handle.write(found["txt"].read_bytes())
    found["gz"] = root / "plain.txt.gz"
    table = pa.table({"id": list(range(len(SAMPLE_LINES))), "text": SAMPLE_LINES})
    found["jsonl"] = root / "records.jsonl"
    found["jsonl"].write_text(
        "".join(
            json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(SAMPLE_LINES)
        ),
        encoding="utf-8",
    )
    found["csv"] = root / "records.csv"
    with open(found["csv"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body"])
        writer.writerows(enumerate(SAMPLE_LINES))
    found["parquet"] = root / "records.parquet"
    pq.write_table(table, found["parquet"])
    found["saved"] = root / "saved"
    datasets.disable_progress_bars()
    datasets.Dataset.from_dict({"text": SAMPLE_LINES}).save_to_disk(str(found["saved"]))
    folder = root / "folder"
    write_text(folder / "a.txt", SAMPLE_LINES[:3])
    write_text(folder / "b.txt", SAMPLE_LINES[3:], final_newline=False)
    write_text(folder / ".hidden.txt", ["not part of the corpus"])
    (folder / "notes.md").write_text("ignored: not a corpus format\n")
    found["folder"] = folder
    return found
