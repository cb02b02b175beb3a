"""Read pages the way a browser would: form fields, label texts, element texts."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = frozenset({"area", "br", "hr", "img", "input", "link", "meta"})


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str | bool] = {}
        self.labels: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str, str]] = []  # (tag, kind, key) being collected

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "input" and "name" in attr:
            if attr.get("type") == "checkbox":
                self.fields[attr["name"]] = "checked" in attr
            else:
                self.fields[attr["name"]] = attr.get("value", "")
        if tag in VOID:
            return
        if tag == "label" and "for" in attr:
            self._open.append((tag, "label", attr["for"]))
            self.labels[attr["for"]] = ""
        elif "id" in attr:
            self._open.append((tag, "id", attr["id"]))
            self.texts[attr["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index]
                return

    def handle_data(self, data: str) -> None:
        for _, kind, key in self._open:
            target = self.labels if kind == "label" else self.texts
            target[key] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def form_fields(html: str) -> dict[str, str | bool]:
    """Each input's value (a checkbox: whether it is ticked), by name."""
    return parse(html).fields


def label_texts(html: str) -> dict[str, str]:
    """Each label's text, by the id of the field it labels."""
    return {key: " ".join(text.split()) for key, text in parse(html).labels.items()}


def text_by_id(html: str, element_id: str) -> str:
    """The visible text inside the element with this id, whitespace collapsed."""
    return " ".join(parse(html).texts.get(element_id, "").split())
