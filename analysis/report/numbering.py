"""Figure and table numbers, cross-references and the contents, written into
the rendered HTML (not CSS counters: the numbers survive copying and search).

- every ``<figure class="plot" id=...>`` is Figure 1, 2, … and every
  ``<figure class="table" id=...>`` Table 1, 2, … in document order; the
  number is put at the head of its caption;
- every ``<a class="xref" href="#id"></a>`` (the ``ref`` macro) gets the text
  "Figure N" or "Table N"; a reference to an id that is not a figure or a
  table is an error;
- every ``<h2>``/``<h3>`` inside ``<main>`` gets an id (its section's id, or
  a slug of its text), and the ``<!--contents-->`` marker becomes the nested
  list of them.

Plain text processing of the report's own markup (no parser): deterministic.
"""

from __future__ import annotations

import html
import re

from .bundle import ReportError

FIGURE = re.compile(r'<figure class="(plot|table)" id="([^"]+)">')
XREF = re.compile(r'<a class="xref" href="#([^"]+)"></a>')
CONTENTS = "<!--contents-->"
LABELS = {"plot": "Figure", "table": "Table"}


def number_figures(page: str) -> tuple[str, dict[str, str]]:
    """Put "Figure N." / "Table N." at the head of each caption; return the page and {id: "Figure N"}."""
    names: dict[str, str] = {}
    counts = {"plot": 0, "table": 0}
    out, last = [], 0
    for match in FIGURE.finditer(page):
        kind, ident = match.groups()
        counts[kind] += 1
        names[ident] = f"{LABELS[kind]} {counts[kind]}"
        caption = page.index("<figcaption>", match.end()) + len("<figcaption>")
        out.append(page[last:caption] + f'<span class="label">{names[ident]}.</span> ')
        last = caption
    out.append(page[last:])
    return "".join(out), names


def resolve_references(page: str, names: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        ident = match.group(1)
        if ident not in names:
            raise ReportError(f"the report refers to #{ident}, which is not a figure or a table")
        return f'<a class="xref" href="#{ident}">{names[ident]}</a>'

    return XREF.sub(replace, page)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", html.unescape(title)).lower()).strip("-")[:48]


def contents(page: str) -> str:
    """Ids for the h3 headings in <main>, and the nested contents list (each
    h2 linked to its section, each h3 to itself) in place of the marker."""
    start = page.index("<main>")
    taken = set(re.findall(r'\bid="([^"]+)"', page))
    entries: list[tuple[str, str, str]] = []
    section_id = ""

    def visit(match: re.Match) -> str:
        nonlocal section_id
        if match.group(1):
            section_id = match.group(1)
            return match.group(0)
        tag, id_attr, title = match.group(2), match.group(3), match.group(4)
        if id_attr:
            ident = id_attr[5:-1]
        elif tag == "h2" and section_id:
            ident = section_id
        else:
            ident = base = "-".join(p for p in (section_id, _slug(title)) if p)
            k = 2
            while ident in taken:
                ident, k = f"{base}-{k}", k + 1
            taken.add(ident)
            id_attr = f' id="{ident}"'
        entries.append((tag, ident, re.sub(r"<(?!/?(sub|sup|em|code)\b)[^>]+>", "", title).strip()))
        return f"<{tag}{id_attr or ''}>{title}</{tag}>"

    page = page[:start] + re.sub(r'<section id="([^"]+)"|<(h2|h3)( id="[^"]*")?>(.*?)</\2>', visit, page[start:],
                                 flags=re.S)  # fmt: skip
    groups: list[tuple[tuple[str, str], list[tuple[str, str]]]] = []
    for tag, ident, title in entries:
        if tag == "h2" or not groups:
            groups.append(((ident, title), []))
        else:
            groups[-1][1].append((ident, title))
    items = []
    for (ident, title), subs in groups:
        inner = "".join(f'<li><a href="#{i}">{t}</a></li>' for i, t in subs)
        items.append(f'<li><a href="#{ident}">{title}</a>' + (f"<ol>{inner}</ol>" if inner else "") + "</li>")
    return page.replace(CONTENTS, "<ol>\n" + "\n".join(items) + "\n</ol>", 1)


def finish(page: str) -> str:
    """The rendered page with its numbers, references and contents."""
    page, names = number_figures(page)
    page = resolve_references(page, names)
    return contents(page) if CONTENTS in page else page
