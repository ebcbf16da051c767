"""Search a corpus for a literal string or a regular expression, streaming hits as they are found.

The text is read in blocks cut at line ends, decoded (invalid bytes become U+FFFD, as in the
viewer) and searched with `re` (a literal is escaped first), so one code path serves both
kinds and the case toggle. Hits are reported in batches through `on_hits`, with their line
number and the span of the match within the line, so the viewer can jump and highlight.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.corpus.document import CorpusDocument
from studio.errors import StudioError
from studio.progress import CancelFlag, ProgressCallback, ProgressUpdate, no_progress

READ_BLOCK = 4 << 20
DEFAULT_MAX_HITS = 10_000
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class SearchHit:
    """One match: the file (segment) and 0-based line, the match's character span, a snippet."""

    segment: int
    line: int
    start: int
    end: int
    snippet: str


def compile_query(query: str, regex: bool = False, case_sensitive: bool = False) -> re.Pattern[str]:
    """The pattern to search with; a bad regular expression is a `StudioError` naming the problem."""
    if not query:
        raise StudioError("the search is empty", "type something to search for")
    flags = re.MULTILINE | (0 if case_sensitive else re.IGNORECASE)
    try:
        return re.compile(query if regex else re.escape(query), flags)
    except re.error as exc:
        raise StudioError(
            f"invalid regular expression {query!r}: {exc}", "fix it, or search literally"
        ) from None


def search_corpus(
    source: CorpusDocument | str | Path,
    query: str,
    regex: bool = False,
    case_sensitive: bool = False,
    on_hits: Callable[[list[SearchHit]], None] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelFlag | None = None,
    max_hits: int = DEFAULT_MAX_HITS,
) -> list[SearchHit]:
    """Find the matches of `query` in order; stops after `max_hits`. Returns every hit found."""
    pattern = compile_query(query, regex, case_sensitive)
    document = source if isinstance(source, CorpusDocument) else CorpusDocument(source)
    if not document.segments:
        document.prepare(progress, cancel)
    total = sum(s.text_path.stat().st_size for s in document.segments)
    found: list[SearchHit] = []
    done = 0
    for number, segment in enumerate(document.segments):
        line = 0
        with open(segment.text_path, "rb") as handle:
            leftover = b""
            while len(found) < max_hits:
                if cancel is not None:
                    cancel.check()
                block = handle.read(READ_BLOCK)
                buffer = leftover + block
                if not buffer:
                    break
                cut = buffer.rfind(b"\n") + 1 if block else len(buffer)
                if cut == 0:  # a line longer than a block: search it in pieces (spans are per piece)
                    cut = len(buffer)
                text = buffer[:cut].decode("utf-8", "replace")
                leftover = buffer[cut:]
                batch = _search_text(pattern, text, number, line, max_hits - len(found))
                line += text.count("\n")
                done += len(block)
                if batch:
                    found.extend(batch)
                    if on_hits is not None:
                        on_hits(batch)
                progress(ProgressUpdate("search", done, total, f"{len(found):,} hits"))
                if not block:
                    break
        if len(found) >= max_hits:
            break
    return found


def _search_text(
    pattern: re.Pattern[str], text: str, segment: int, first_line: int, limit: int
) -> list[SearchHit]:
    hits: list[SearchHit] = []
    line = first_line
    counted_to = 0
    line_start = 0
    for match in pattern.finditer(text):
        newlines = text.count("\n", counted_to, match.start())
        if newlines:
            line += newlines
            line_start = text.rfind("\n", 0, match.start()) + 1
        counted_to = match.start()
        start = match.start() - line_start
        line_end = text.find("\n", match.start())
        line_end = len(text) if line_end < 0 else line_end
        end = min(match.end(), line_end) - line_start
        snippet_from = max(0, start - SNIPPET_CHARS // 3)
        snippet = text[line_start + snippet_from : min(line_end, line_start + snippet_from + SNIPPET_CHARS)]
        hits.append(SearchHit(segment, line, start, max(end, start), snippet.rstrip("\r")))
        if len(hits) >= limit:
            break
    return hits
