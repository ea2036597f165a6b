"""The report: structure, provenance, determinism, atomic writes, and a real browser.

The report is built once per test module from a small synthetic data set
written here through the data contract (analysis.store: sweep.parquet,
thresholds.json, the manifest), so these tests neither depend on nor wait
for the sweep.  The key findings are then recomputed from those files with
the standard library alone and compared with the numbers in the HTML.
"""

from __future__ import annotations

import csv
import fcntl
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from analysis import pipeline, report
from analysis.formats import FORMATS
from analysis.report import compose
from analysis.store import manifest as store_manifest
from analysis.store import tables
from analysis.store.files import atomic_write
from analysis.studies.sweep import block_columns

ROOT = Path(__file__).resolve().parent.parent
EPOCH = "1764000000"  # 2025-11-24 UTC
SECTIONS = ("key-findings", "background", "method", "results", "logsoftmax", "cost", "limitations", "reproducibility")
DTYPES = ("float64", "float32", "float16", "bfloat16")
LENGTHS = (2, 10)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


# --- a synthetic data set that follows the data contract ----------------------------------------


def _grade(function, method, dtype, offset, gap, n=2):
    """A plausible grade: the naive method fails beyond the format's exp
    limits, is lost where its sum overflows, flushes tiny terms."""
    fmt = FORMATS[dtype]
    ln_tiny = math.log(fmt.smallest_subnormal)
    if method == "naive":
        if offset > fmt.ln_max:
            return "nan" if function == "softmax" else "inf"
        if offset > fmt.ln_max - math.log(n):
            return "lost" if function == "softmax" else "inf"
        if offset < ln_tiny:
            return "nan" if function == "softmax" else "inf"
        if function == "softmax" and offset - gap < ln_tiny < -gap:
            return "flushed"
    elif function == "log_softmax" and gap > fmt.precision * math.log(2) and offset == 0.0:
        return "accurate"
    return "exact" if gap == 0.0 else "inaccurate"


def write_fixture(data_dir: Path) -> Path:
    rng = np.random.default_rng(4)
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    offsets = (-1000.0, -100.0, -10.0, 0.0, 10.0, 100.0, 1000.0)
    gaps = (0.0, 0.1, 1.0, 10.0, 100.0)
    scales = (0.01, 1.0, 100.0, 10000.0)

    def metrics(grade, function):
        if grade in ("lost", "inf", "nan"):
            return (
                ["", "", "", ""],
                ("inf" if function == "logsumexp" else ""),
                ("False" if function == "softmax" else ""),
            )
        max_bits = float(rng.choice([0.0, 1.0, 1.584962500721156, 2.321928094887362, 3.0]))
        median_bits = max_bits / 2
        cells = [repr(2.0**max_bits - 1), repr(2.0**median_bits - 1), repr(max_bits), repr(median_bits)]
        rel = repr(float(rng.uniform(0, 1e-3))) if function == "logsumexp" else ""
        return cells, rel, ("True" if function == "softmax" else "")

    for function in ("softmax", "logsumexp", "log_softmax"):
        for method in ("naive", "shifted"):
            for dtype in DTYPES:
                for n in LENGTHS:
                    for offset in offsets:
                        for gap in gaps:
                            status = _grade(function, method, dtype, offset, gap, n)
                            cells, rel, sums = metrics(status, function)
                            rows.append(
                                [
                                    "two_level",
                                    function,
                                    method,
                                    dtype,
                                    str(n),
                                    repr(offset),
                                    repr(gap),
                                    "",
                                    "",
                                    status,
                                    *cells,
                                    rel,
                                    sums,
                                ]
                            )
                    for scale in scales:
                        for draw in (0, 1):
                            status = _grade(function, method, dtype, 3 * scale, 0.0, n)
                            cells, rel, sums = metrics(status, function)
                            rows.append(
                                [
                                    "scaled_normal",
                                    function,
                                    method,
                                    dtype,
                                    str(n),
                                    "",
                                    "",
                                    repr(scale),
                                    repr(float(draw)),
                                    status,
                                    *cells,
                                    rel,
                                    sums,
                                ]
                            )
    blocks: dict[tuple, list] = {}
    for row in rows:
        blocks.setdefault((row[0], row[1], row[2], row[3], int(row[4])), []).append(
            (*row[:4], int(row[4]), *[float(v) if v else None for v in row[5:9]], row[9],
             *[float(v) if v else None for v in row[10:15]], {"True": True, "False": False}.get(row[15]))
        )  # fmt: skip
    sweep_table = tables.sweep_parquet({k: block_columns(v) for k, v in blocks.items()})

    thresholds = []
    for function in ("softmax", "logsumexp", "log_softmax"):
        for method in ("naive", "shifted"):
            for dtype in DTYPES:
                fmt = FORMATS[dtype]
                as_format = fmt.dtype.type
                for n in LENGTHS:
                    for kind in ("sum_overflow", "lost", "nonfinite", "nonfinite_below"):
                        if method == "shifted":
                            value = None
                        elif kind in ("sum_overflow", "lost") or (kind == "nonfinite" and function != "softmax"):
                            value = float(as_format(fmt.ln_max - math.log(n)))
                        elif kind == "nonfinite":
                            value = float(as_format(fmt.ln_max))
                        else:
                            value = float(as_format(math.log(fmt.smallest_subnormal)))
                        observed = value
                        # One threshold a step off its prediction, as the real data can have.
                        if value is not None and (function, dtype, n, kind) == ("logsumexp", "float32", 10,
                                                                                 "nonfinite"):
                            observed = float(np.nextafter(np.float32(value), np.float32(0)))
                        thresholds.append(
                            {
                                "function": function,
                                "method": method,
                                "dtype": dtype,
                                "n": n,
                                "kind": kind,
                                "observed": observed,
                                "predicted": value,
                                "note": "observed = predicted" if observed == value else "one step below",
                            }
                        )
    files = {"sweep.parquet": sweep_table, "thresholds.json": (json.dumps(thresholds, indent=1) + "\n").encode()}
    provenance = {
        "config": {"seed": 7, "dtypes": list(DTYPES), "lengths": list(LENGTHS), "summation": "recursive"},
        "config_hash": "0" * 64,
        "seed": 7,
        "versions": {"numpy": np.__version__, "mpmath": "test"},
        "python": sys.version.split()[0],
        "platform": "test-platform",
        "numpy_simd": {"baseline": ["SSE2"], "dispatch": ["AVX2"], "enabled": ["SSE2", "AVX2"]},
        "command": "python -m analysis sweep --quick",
    }
    store_manifest.record(data_dir, "sweep", "test", {}, files, top=provenance)
    # The log-softmax section's data (gstar.csv, logsoftmax.json): the real computation, small (about a second).
    pipeline.logsoftmax_outputs(data_dir, quick=True)
    pipeline.examples_outputs(data_dir, DTYPES)
    return data_dir


# --- an HTML reader that checks nesting and collects what the tests need ----------------------------------


class ReportParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.sections: list[str] = []
        self.links: list[tuple[str, str]] = []  # (attribute, value) of every href/src
        self.figures: list[dict] = []
        self.data: list[dict] = []  # <data> elements: attrs, text, section
        self.tags: set[str] = set()
        self._figure = None
        self._data = None
        self._section = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for name in ("href", "src", "xlink:href", "action", "srcset", "poster"):
            if name in attrs:
                self.links.append((name, attrs[name]))
        if tag == "section":
            self.sections.append(attrs.get("id", ""))
            self._section = attrs.get("id", "")
        if tag == "figure" and "plot" in attrs.get("class", ""):
            self._figure = {"id": attrs.get("id"), "svg": [], "caption": "", "titles": []}
            self.figures.append(self._figure)
        if tag == "svg" and self._figure is not None:
            self._figure["svg"].append(attrs)
        if tag == "data":
            self._data = {"attrs": attrs, "text": "", "section": self._section}
            self.data.append(self._data)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}> at {self.getpos()}")
            return
        self.stack.pop()
        if tag == "figure":
            self._figure = None
        if tag == "data":
            self._data = None
        if tag == "section":
            self._section = None

    def handle_data(self, text):
        if self._data is not None:
            self._data["text"] += text
        if self._figure is not None:
            if "figcaption" in self.stack:
                self._figure["caption"] += text
            if self.stack and self.stack[-1] == "title" and "svg" in self.stack:
                self._figure["titles"].append(text)


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id):
    """A folder shared by the xdist workers, so that the data are written and
    the report is built once per test run, not once per worker."""
    base = tmp_path_factory.getbasetemp()
    folder = (base if worker_id == "master" else base.parent) / "report-shared"
    folder.mkdir(exist_ok=True)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            write_fixture(folder / "data")
            out = folder / "report" / "softmax_study.html"
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
                code = pipeline.report_main(["--no-sweep", "--data-dir", str(folder / "data"), "--out", str(out)])
            assert code == 0
            (folder / "done").write_text("ok", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def data_dir(shared):
    return shared / "data"


@pytest.fixture(scope="session")
def built(shared):
    out = shared / "report" / "softmax_study.html"
    html = out.read_text(encoding="utf-8")
    return {"path": out, "html": html, "parsed": parse(html)}


# --- structure -------------------------------------------------------------------------------


def test_html_is_well_formed_and_has_every_section(built):
    parsed = built["parsed"]
    assert parsed.errors == []
    assert parsed.stack == []
    for section in SECTIONS:
        assert section in parsed.sections, section
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    assert built["html"].startswith("<!DOCTYPE html>")


def test_every_figure_has_a_caption_and_alt_text(built):
    figures = built["parsed"].figures
    # the answer's hero figure, 3 failure maps (softmax, logsumexp, log_softmax at the longest n), softmax's
    # accuracy against the scale, and in the log-softmax section: error against gap, cross-entropy, std_norm
    assert len(figures) == 7  # the logsumexp failure map is left to the thresholds (report size)
    assert figures[0]["id"] == "hero"
    for figure in figures:
        assert len(figure["caption"].split()) >= 15, figure["id"]
        (svg,) = figure["svg"][:1]
        assert svg.get("role") == "img"
        assert len(svg.get("aria-label", "")) > 40
        assert figure["titles"] and figure["titles"][0] == svg["aria-label"]


def test_nothing_is_fetched_from_outside(built, data_dir):
    html = built["html"]
    listed = set(json.loads((data_dir / store_manifest.NAME).read_text(encoding="utf-8"))["checksums"])
    assert "http://" not in html and "https://" not in html and "//" + "www." not in html
    parsed = built["parsed"]
    assert not {"script", "link", "img", "iframe", "object", "embed"} & parsed.tags
    ids = set(parsed.ids)
    for attribute, value in parsed.links:
        if value.startswith("data/"):  # a link (not a fetch) to a data file next to the report
            assert attribute == "href" and value[len("data/"):] in listed, value
            continue
        if value.startswith("data:image/png;base64,"):  # a figure's raster layer, inline: nothing fetched
            assert attribute in ("href", "xlink:href"), (attribute, value[:40])
            continue
        assert value.startswith("#"), (attribute, value)
        assert value[1:] in ids, f"dangling link {value}"
    assert "@import" not in html and "url(http" not in html


def test_formulas_are_mathml_and_the_date_comes_from_source_date_epoch(built):
    assert built["html"].count("<math") >= 10
    assert "<time>2025-11-24</time>" in built["html"]


def test_every_number_in_the_key_findings_comes_from_the_data(built, data_dir):
    import pyarrow.parquet as pq

    rows = pq.read_table(data_dir / "sweep.parquet").to_pylist()
    thresholds = json.loads((data_dir / "thresholds.json").read_text(encoding="utf-8"))
    expected = {}

    def record(dtype, n, kind, method="naive"):
        (out,) = [t for t in thresholds
                  if (t["function"], t["method"], t["dtype"], t["n"], t["kind"]) == ("softmax", method, dtype, n, kind)]
        return out["observed"]  # fmt: skip

    for dtype in DTYPES:
        fmt = FORMATS[dtype]
        for n in (min(LENGTHS), max(LENGTHS)):
            expected[f"lost/{dtype}/n{n}"] = record(dtype, n, "lost")
            expected[f"lost_units/{dtype}/n{n}"] = record(dtype, n, "lost") / fmt.ln_max
        expected[f"nonfinite/{dtype}"] = record(dtype, min(LENGTHS), "nonfinite")
        expected[f"ln_max/{dtype}"] = fmt.ln_max
        limit = 2 * fmt.ln_max  # the stated range: entries within ±2 ln max
        for method in ("naive", "shifted"):
            grid = [
                r
                for r in rows
                if r["family"] == "two_level"
                and r["function"] == "softmax"
                and r["method"] == method
                and r["dtype"] == dtype
                and abs(r["offset"]) <= limit
                and abs(r["offset"] - r["gap"]) <= limit
            ]
            expected[f"fail/{dtype}/{method}"] = sum(r["grade"] in ("lost", "inf", "nan") for r in grid) / len(grid)
            expected[f"flushed/{dtype}/{method}"] = sum(r["grade"] == "flushed" for r in grid)
            expected[f"grid/{dtype}"] = len(grid)

        def ok_bits(method, dtype=dtype):
            return {
                (r["family"], r["n"], r["offset"], r["gap"], r["scale"], r["draw"]): float(r["max_bits"])
                for r in rows
                if r["function"] == "softmax" and r["method"] == method and r["dtype"] == dtype
                and r["grade"] not in ("lost", "inf", "nan")
            }

        naive, shifted = ok_bits("naive"), ok_bits("shifted")
        both = sorted(naive.keys() & shifted.keys())
        expected[f"paired/{dtype}"] = len(both)
        for method, bits in (("naive", naive), ("shifted", shifted)):
            expected[f"bits/{dtype}/{method}/median"] = statistics.median(bits[k] for k in both)
            expected[f"bits/{dtype}/{method}/worst"] = max(bits[k] for k in both)
    first = min((expected[f"lost/{d}/n{min(LENGTHS)}"], d) for d in DTYPES)
    expected["first_lost"] = first[0]
    expected["first_nonfinite"] = expected[f"nonfinite/{first[1]}"]
    kinds = ("lost", "nonfinite", "nonfinite_below")
    shifted_searches = [t for t in thresholds if t["method"] == "shifted" and t["kind"] in kinds]
    expected["shifted_checked"] = len(shifted_searches)
    expected["shifted_failures"] = sum(t["observed"] is not None for t in shifted_searches)

    shown = {
        d["attrs"]["data-key"]: d
        for d in built["parsed"].data
        if d["section"] == "key-findings" and "data-key" in d["attrs"]
    }
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert float(shown[key]["attrs"]["value"]) == value, key
        assert shown[key]["text"].strip(), key
    # The displayed text is the value, rounded: check a percentage and a threshold.
    fraction = expected["fail/float16/naive"]
    assert shown["fail/float16/naive"]["text"] == report.format_number(100 * fraction, 3) + " %"
    assert shown["lost/float16/n2"]["text"] == str(np.float16(expected["lost/float16/n2"]))


def test_logsoftmax_section_shows_gstar_csv(built, data_dir):
    """The g* table shows every row of gstar.csv, and the section has its figures and tables."""
    with open(data_dir / "gstar.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shown = {d["attrs"]["data-key"]: float(d["attrs"]["value"]) for d in built["parsed"].data
             if d["section"] == "logsoftmax" and "data-key" in d["attrs"]}  # fmt: skip
    for row in rows:
        assert shown[f"gstar/{row['dtype']}/n{row['n']}/{row['entry']}"] == float(row["g_star_observed"])
    ids = set(built["parsed"].ids)
    assert {"gstar-table", "max-approx-error", "cross-entropy-figure", "std-norm-figure", "std-norm-table",
            "log-domain-table", "ce-thresholds"} <= ids
    assert shown["gstar_on_grid"] == len(rows)


def test_thresholds_table_flags_the_difference(built):
    assert "one step below" in built["html"]
    assert re.search(r"logsumexp: <data[^>]*>\d+</data> of <data[^>]*>\d+</data> thresholds", built["html"])


def test_templates_hold_no_typed_in_numbers():
    offending = []
    for path in sorted((ROOT / "report_templates").iterdir()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\d+\.\d+", line):
                offending.append(f"{path.name}:{number}: {line.strip()}")
    assert offending == []


def test_macros_render_alone():
    macros = report.ENV.get_template("macros.html").module
    value = report.Value("1.5 %", "0.015", "k")
    assert str(macros.num(value)) == '<data value="0.015" data-key="k">1.5 %</data>'
    assert str(macros.num(report.text("<b>"))) == "&lt;b&gt;"
    table = report.ENV.from_string(
        '{% import "macros.html" as m %}{% call m.table("t", ["a", "b"], rows) %}Caption{% endcall %}'
    ).render(rows=[[report.text("x"), report.number(0.5)]])
    parsed = parse(table)
    assert parsed.errors == [] and parsed.ids == ["t"]
    assert "<figcaption>Caption</figcaption>" in table and '<data value="0.5">0.5</data>' in table

    class Fig:
        def __html__(self):
            return '<svg role="img" aria-label="alt"><title>alt</title></svg>'

    figure = report.ENV.from_string(
        '{% import "macros.html" as m %}{% call m.figure(fig, "f") %}What to see{% endcall %}'
    ).render(fig=Fig())
    parsed = parse(figure)
    assert parsed.errors == [] and parsed.figures[0]["caption"] == "What to see"


def test_strict_undefined_fails_the_build():
    with pytest.raises(Exception, match="undefined"):
        report.ENV.get_template("base.html").render()


# --- reproducibility and failure handling ---------------------------------------------------------------------


def test_two_builds_are_byte_identical(built, data_dir, tmp_path):
    """A second build, in a fresh interpreter, gives the same bytes."""
    out = tmp_path / "again.html"
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "analysis.report", "--no-sweep", "--data-dir", str(data_dir), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert out.read_bytes() == built["path"].read_bytes()


def test_a_failed_build_leaves_the_previous_report_and_exits_non_zero(data_dir, tmp_path, capsys, monkeypatch):
    broken = tmp_path / "data"
    shutil.copytree(data_dir, broken)
    out = tmp_path / "reports" / "softmax_study.html"
    out.parent.mkdir()
    out.write_text("previous report", encoding="utf-8")

    # Data edited after the sweep: the checksum no longer matches.
    with open(broken / "thresholds.json", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert pipeline.report_main(["--no-sweep", "--data-dir", str(broken), "--out", str(out)]) == 1
    assert "checksum" in capsys.readouterr().err

    # Missing data.
    (broken / "thresholds.json").unlink()
    assert pipeline.report_main(["--no-sweep", "--data-dir", str(broken), "--out", str(out)]) == 1
    assert "thresholds.json is listed in the manifest but missing" in capsys.readouterr().err

    # A failure while rendering, after the data were read.
    def fail(*_args, **_kwargs):
        raise RuntimeError("rendering interrupted")

    monkeypatch.setattr(compose, "context", fail)
    assert pipeline.report_main(["--no-sweep", "--data-dir", str(data_dir), "--out", str(out)]) == 1
    assert "rendering interrupted" in capsys.readouterr().err

    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in out.parent.iterdir()) == ["softmax_study.html"]


def test_write_atomically_cleans_up_when_interrupted(tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(out, "new")
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_main_runs_the_study_first_and_reports_its_command(data_dir, tmp_path, monkeypatch, capsys):
    """Without --no-sweep, main() loads the study file, writes the study's
    data files (analysis.outputs.write_study, locally: no executor) and
    builds from the folder that returns; the report names its command."""
    from analysis import config

    calls = []
    monkeypatch.setattr(config, "load", lambda path, quick: calls.append(("load", path, quick)) or "CFG")

    def write_study(cfg, config_path, data, executor=None, progress=None):
        calls.append(("write", cfg, config_path, data, executor))
        return data

    monkeypatch.setattr(pipeline, "write_study", write_study)
    out = tmp_path / "r.html"
    argv = ["--quick", "--config", "study.toml", "--data-dir", str(data_dir), "--out", str(out)]
    assert pipeline.report_main(argv) == 0
    assert calls == [("load", Path("study.toml"), True), ("write", "CFG", Path("study.toml"), data_dir, None)]
    assert capsys.readouterr().out.strip() == str(out)
    assert "<code>python -m analysis report --quick --config study.toml</code>" in out.read_text(encoding="utf-8")


def test_number_formatting():
    assert report.format_number(10000.0) == "10000"
    assert report.format_number(709.7827128933841) == "709.8"
    assert report.format_number(4.5e-5) == "4.5×10⁻⁵"
    assert report.format_number(-1e5) == "−1×10⁵"
    assert report.format_number(math.inf) == "∞"
    assert report.format_number(None) == "—"
    assert report.in_format(11.09375, "float16") == "11.09"
    assert report.in_format(-math.nan, "float32") == "NaN"


# --- in a real browser ---------------------------------------------------------------------------------------

PROBE = """<script>
window.addEventListener("load", () => {
  const sizes = Array.from(document.querySelectorAll("figure.plot svg")).map(svg => {
    const box = svg.getBoundingClientRect();
    return [box.width, box.height];
  });
  document.body.setAttribute("data-probe", JSON.stringify({
    height: document.documentElement.scrollHeight, sizes: sizes}));
});
</script>"""


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    flags = [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        # No network: every host resolves to nothing and every proxy request fails.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="chromium is not installed (CI installs it and runs this test)",
)
def test_in_headless_chromium(built, tmp_path):
    assert CHROMIUM is not None, "CI=true but chromium is missing: .ci/run should install it"
    # 1. Measure: a copy with a probe script reports the page height and every figure's rendered size.
    probe = tmp_path / "probe.html"
    probe.write_text(built["html"].replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--dump-dom", probe.as_uri(), profile=tmp_path / "profile-probe")
    assert dom.returncode == 0, dom.stderr[-2000:]
    match = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert match, "the page did not finish loading"
    measured = json.loads(match.group(1).replace("&quot;", '"'))
    assert len(measured["sizes"]) == len(built["parsed"].figures)
    for width, height in measured["sizes"]:
        assert width > 300 and height > 200
    # 2. The report itself, unmodified: no console message at all (it has no script, so any message
    #    is a failed load or a parse error), and a full-page screenshot kept under reports/.
    screenshot = ROOT / "reports" / "screenshot.png"
    screenshot.parent.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    height = min(int(measured["height"]) + 20, 30000)
    shot = _chromium(
        f"--window-size=1200,{height}",
        f"--screenshot={screenshot}",
        built["path"].as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    console = [line for line in shot.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert screenshot.stat().st_size > 10_000
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1200, height)
        # Not blank: the page has ink (text and figures) in it.
        assert image.convert("L").getextrema()[0] < 100
