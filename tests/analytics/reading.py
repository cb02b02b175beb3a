"""Reading results back the way a person would: page tables, SVG bars, CSV and CLI text."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

Rows = list[list[str]]


class _Tables(HTMLParser):
    """Cells of every table with an id, row by row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, Rows] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table" and attr.get("id"):
            self._table = attr["id"]
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_table(html: str, table_id: str) -> Rows:
    """The rows (header row first) of the table with this id."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables[table_id]


@dataclass
class SvgBar:
    series: str
    title: str = ""
    texts: list[str] = field(default_factory=list)
    width: float | None = None  # of its rect; None when it has none


class _Svg(HTMLParser):
    def __init__(self, svg_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.svg_id = svg_id
        self.inside = False
        self.title = ""
        self.label = ""
        self.group_labels: list[str] = []
        self.bars: list[SvgBar] = []
        self._bar: SvgBar | None = None
        self._collect: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "svg" and attr.get("id") == self.svg_id:
            self.inside, self.label = True, attr.get("aria-label", "")
            return
        if not self.inside:
            return
        classes = attr.get("class", "").split()
        if tag == "g" and "bar" in classes:
            self._bar = SvgBar(classes[1] if len(classes) > 1 else "")
            self.bars.append(self._bar)
        elif tag == "rect" and self._bar is not None:
            self._bar.width = float(attr["width"])
        elif tag == "title":
            self._collect = "bar-title" if self._bar is not None else "title"
        elif tag == "text":
            self._collect = "label" if "label" in classes else "text"

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "svg":
            self.inside = False
        elif tag in ("title", "text"):
            self._collect = None
        elif tag == "g" and self._bar is not None:
            self._bar = None

    def handle_data(self, data: str) -> None:
        if self._collect == "title":
            self.title += data
        elif self._collect == "bar-title" and self._bar is not None:
            self._bar.title += data
        elif self._collect == "label":
            self.group_labels.append(data.strip())
        elif self._collect == "text" and self._bar is not None:
            self._bar.texts.append(data.strip())


def svg_chart(html: str, svg_id: str) -> _Svg:
    """The SVG with this id: its title, aria-label, group labels and bars."""
    parser = _Svg(svg_id)
    parser.feed(html)
    return parser


def _csv_block_list(text: str) -> list[Rows]:
    blocks: list[Rows] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if not row:
            blocks.append([])
        else:
            blocks[-1].append(row)
    return blocks


def csv_blocks(text: str) -> tuple[Rows, Rows, Rows]:
    """The export's heading block, funnel table and step table (headers included)."""
    heading, funnel, steps, *_variants = _csv_block_list(text)
    return heading, funnel, steps


def csv_variant_block(text: str) -> Rows:
    """The export's A/B variants table (header included); [] when it has none."""
    blocks = _csv_block_list(text)
    assert len(blocks) in (3, 4), f"{len(blocks)} blocks"
    return blocks[3] if len(blocks) == 4 else []


def cli_table(output: str, first_header: str) -> Rows:
    """The rows of a rich table in CLI output, from the header starting `first_header`.

    Cells are split on runs of two or more spaces, so an empty cell disappears: compare
    with `filled` rows.
    """
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first_header))
    rows = [re.split(r"\s{2,}", lines[start].strip())]
    for line in lines[start + 2 :]:  # the rule under the header is skipped
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def filled(rows: Rows) -> Rows:
    """Rows without their empty cells."""
    return [[cell for cell in row if cell] for row in rows]
