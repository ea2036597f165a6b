"""The report as a reader meets it: the answer on the first screen, numbered
figures and tables that the text refers to, no sideways scrolling on a phone,
figures printed with their captions and collapsed parts printed open.

Built from the synthetic data of tests/test_report.py (its session fixtures);
the browser tests run headless Chromium and are skipped without it (the PDF
test also needs pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from analysis.report import browser
from tests.test_report import built, data_dir, shared  # noqa: F401 -- the shared fixtures

needs_chromium = pytest.mark.skipif(browser.CHROMIUM is None, reason="chromium is not installed")


def _labels(html: str) -> dict[str, str]:
    """id -> "Figure N" / "Table N", from the numbers written into the captions."""
    out = {}
    for match in re.finditer(r'<figure class="(plot|table)" id="([^"]+)">', html):
        caption = html.index("<figcaption>", match.end())
        label = re.match(r'<figcaption><span class="label">((?:Figure|Table) \d+)\.</span>', html[caption:])
        assert label, f"#{match.group(2)} has no number in its caption"
        out[match.group(2)] = label.group(1)
    return out


def test_figures_and_tables_are_numbered_in_order_and_every_reference_resolves(built):  # noqa: F811
    html = built["html"]
    labels = _labels(html)
    for kind in ("Figure", "Table"):
        numbers = [int(v.split()[1]) for v in labels.values() if v.startswith(kind)]
        assert numbers == list(range(1, len(numbers) + 1)), kind
    assert "counter(figure)" not in html and "counter(table)" not in html  # not CSS counters
    references = re.findall(r'<a class="xref" href="#([^"]+)">([^<]*)</a>', html)
    assert references, "the text refers to no figure or table"
    for target, shown in references:
        assert labels.get(target) == shown, (target, shown)
    # Every "Figure N" / "Table N" in the text (outside the captions' own numbers) is a link to that figure or table.
    text = re.sub(r'<span class="label">[^<]*</span>', "", html)
    text = re.sub(r'<a class="xref" href="#[^"]+">[^<]*</a>', "", text)
    text = re.sub(r"<svg.*?</svg>", "", text, flags=re.S)
    assert re.findall(r"\b(?:Figure|Table) \d+\b", text) == []
    # Every figure and table is referred to from the text.
    assert set(labels) - {t for t, _ in references} == set()


def test_contents_list_subsections_and_every_heading_has_an_anchor(built):  # noqa: F811
    html = built["html"]
    nav = html[html.index('<nav id="contents"') : html.index("</nav>")]
    main = html[html.index("<main>") :]
    assert re.search(r"<ol>\s*<li>.*<ol>", nav, re.S), "no subsection in the contents"
    for tag, attrs in re.findall(r"<(h2|h3)([^>]*)>", main):
        if "contents-title" in attrs:
            continue
        ident = re.search(r'id="([^"]+)"', attrs)
        if tag == "h3":
            assert ident, "an h3 without an anchor"
            assert f'href="#{ident.group(1)}"' in nav
    assert main.count('href="#top"') >= 10
    assert "<!--contents-->" not in html


def test_the_answer_comes_first_with_a_row_per_format(built):  # noqa: F811
    html = built["html"]
    main = html[html.index("<main>") :]
    assert main.index('id="answer"') < main.index("<section", main.index('id="answer"') + 1)
    table = main[main.index('id="answer-table"') : main.index("</table>", main.index('id="answer-table"'))]
    rows = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert rows == ["float64", "float32", "float16", "bfloat16"]  # the fixture's formats, widest first
    assert main.index('id="hero"') < main.index('id="key-findings"')
    assert "glossary" in html and 'id="g-ulp"' in html


@needs_chromium
def test_first_screen_shows_the_answer_and_its_table(built):  # noqa: F811
    probe = browser.probe(built["path"], 1280, 900)
    assert probe["answer"][1] <= 900, probe
    assert probe["table"][0] < 900 and probe["first_row"][1] <= 900, probe


@needs_chromium
def test_no_horizontal_scroll_on_a_phone(built):  # noqa: F811
    probe = browser.probe(built["path"], 390, 844)
    assert probe["client_width"] <= 390
    assert probe["scroll_width"] <= probe["client_width"], probe["wide"]


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_print_keeps_figures_with_captions_and_prints_collapsed_tables(built, tmp_path):  # noqa: F811
    pdf = tmp_path / "report.pdf"
    browser.print_pdf(built["path"], pdf)
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [re.sub(r"\s+", " ", p) for p in pages.split("\f")]
    html = built["html"]
    for match in re.finditer(r'<figure class="plot" id="([^"]+)">(.*?)</figure>', html, re.S):
        label = _labels(html)[match.group(1)]
        (caption_page,) = [k for k, p in enumerate(pages) if f"{label}. " in p]
        # The figure's text (its SVG text elements: titles, labels, legend) is on the caption's page.
        words = [w for w in re.findall(r"<text[^>]*>([^<]{4,})</text>", match.group(2))][:3]
        assert words, match.group(1)
        for word in words:
            assert word.strip() in pages[caption_page], (label, word)
    # Collapsed on screen, printed in full: the appendix's threshold tables.
    assert any("Thresholds of softmax" in p for p in pages)


def test_numbering_writes_numbers_and_rejects_a_dangling_reference():
    from analysis.report import numbering
    from analysis.report.bundle import ReportError

    page = ('<main><section id="s"><h2>S</h2><h3>Sub</h3><p>See <a class="xref" href="#b"></a>.</p>'
            '<figure class="plot" id="a"><div></div><figcaption>A</figcaption></figure>'
            '<figure class="table" id="b"><figcaption>B</figcaption></figure></section></main>')  # fmt: skip
    done = numbering.finish('<nav><!--contents--></nav>' + page)
    assert '<a class="xref" href="#b">Table 1</a>' in done
    assert '<figcaption><span class="label">Figure 1.</span> A' in done
    assert '<h3 id="s-sub">Sub</h3>' in done and '<li><a href="#s">S</a><ol><li><a href="#s-sub">Sub</a>' in done
    with pytest.raises(ReportError, match="#nowhere"):
        numbering.finish(page.replace("#b", "#nowhere"))
