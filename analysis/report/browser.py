"""The report in a headless Chromium: layout measured by a probe script run in
a copy of the page (the report itself has no script), and print to PDF.
Used by the tests and by ``make bench`` (file size and render time)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    # No network: every host resolves to nothing and every proxy request fails.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
)  # fmt: skip

# What the probe reports, once the page has loaded: the page's scroll width and
# height, the time from navigation start until the loaded page is laid out, the boxes of
# the answer and its table, and the labels of the figures and tables.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const box = s => { const e = document.querySelector(s); if (!e) return null;
    const r = e.getBoundingClientRect(); return [r.top + scrollY, r.bottom + scrollY]; };
  const laid_out = document.body.offsetHeight >= 0 ? performance.now() : null;  // forces layout first
  const wide = Array.from(document.querySelectorAll("main *")).filter(e =>
    e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
    !e.closest(".table-body, .plot-body, pre, math")).slice(0, 5).map(e => e.tagName + "." + e.className);
  const result = JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, client_width: document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight, load_ms: laid_out,
    answer: box("p.answer"), table: box("#answer-table table"), first_row: box("#answer-table tbody tr"),
    hero: box("#hero svg"), wide: wide});
  if (parent !== window) parent.postMessage(result, "*"); else document.body.setAttribute("data-probe", result);
}, 0));
</script>"""


def run(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=180, check=False)  # fmt: skip


# The page is measured inside an iframe of exactly the width and height asked
# for (a headless window is never narrower than 500 px): the probe posts its
# result to this frame, which writes it where --dump-dom shows it.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="probe.html" width="{width}" height="{height}" style="border:0"></iframe>
<script>window.addEventListener("message", e => document.body.setAttribute("data-probe", e.data));</script>
</body></html>"""


MIN_WINDOW = 500  # px


def probe(html_path: Path, width: int, height: int) -> dict:
    """Load a copy of the report with the probe at ``width`` × ``height`` CSS
    px (in a frame of that size when narrower than a headless window can be)."""
    with tempfile.TemporaryDirectory(prefix="report-probe-") as folder:
        copy = Path(folder) / "probe.html"
        copy.write_text(Path(html_path).read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                        encoding="utf-8")  # fmt: skip
        if width >= MIN_WINDOW:  # the page itself, timed in real time
            done = run(f"--window-size={width},{height}", "--dump-dom", copy.as_uri(), profile=Path(folder) / "p")
        else:
            frame = Path(folder) / "frame.html"
            frame.write_text(FRAME.format(width=width, height=height), encoding="utf-8")
            done = run(f"--window-size={MIN_WINDOW * 2},{height + 100}", "--virtual-time-budget=30000", "--dump-dom",
                       frame.as_uri(), profile=Path(folder) / "p")  # fmt: skip
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"chromium did not load the page: {done.stderr[-500:]}")
    return json.loads(html.unescape(match.group(1)))


def print_pdf(html_path: Path, pdf: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as folder:
        done = run("--no-pdf-header-footer", f"--print-to-pdf={pdf}", Path(html_path).resolve().as_uri(),
                   profile=Path(folder) / "profile")  # fmt: skip
    if done.returncode != 0 or not Path(pdf).is_file():
        raise RuntimeError(f"chromium did not print the page: {done.stderr[-500:]}")


def screenshot_seconds(html_path: Path, width: int = 1280, height: int = 900) -> float:
    """Wall-clock seconds of a whole headless Chromium run that loads the
    report and writes a screenshot (browser start included)."""
    with tempfile.TemporaryDirectory(prefix="report-shot-") as folder:
        start = time.perf_counter()
        done = run(f"--window-size={width},{height}", f"--screenshot={Path(folder) / 'shot.png'}",
                   Path(html_path).resolve().as_uri(), profile=Path(folder) / "profile")  # fmt: skip
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"chromium did not render the page: {done.stderr[-500:]}")
    return seconds


def measure(html_path: Path, runs: int = 3) -> dict:
    """The report's size in bytes and, in headless Chromium at 1280 × 900, the
    time from navigation start to the laid-out page and the wall-clock time of
    a whole screenshot run (medians of ``runs``); times None when Chromium is
    not installed."""
    size = Path(html_path).stat().st_size
    if CHROMIUM is None:
        return {"bytes": size, "load_ms": None, "screenshot_seconds": None, "browser": None}
    loads = sorted(probe(html_path, 1280, 900)["load_ms"] for _ in range(runs))
    shots = sorted(screenshot_seconds(html_path) for _ in range(runs))
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {"bytes": size, "load_ms": loads[len(loads) // 2], "load_ms_all": loads,
            "screenshot_seconds": shots[len(shots) // 2], "screenshot_seconds_all": shots,
            "browser": version}  # fmt: skip
