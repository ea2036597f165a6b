"""Reproducibility: versions, machine, seed, config and checksums.  The
provenance (and the build date) is built for every build, never cached: it
names the commit and the date."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

from ...store.files import ROOT
from ..bundle import ReportError
from ..values import text
from . import Section


def build_date(environ=os.environ) -> tuple[str, str]:
    """The date the report shows, and where it comes from."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    source = "SOURCE_DATE_EPOCH"
    if epoch is None:
        epoch, source = _git("log", "-1", "--format=%ct"), "the commit time of HEAD"
    if not epoch:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "the build time (no SOURCE_DATE_EPOCH, no git)"
    try:
        moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except ValueError:
        raise ReportError(f"SOURCE_DATE_EPOCH={epoch!r} is not an integer number of seconds") from None
    return moment.strftime("%Y-%m-%d"), source


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def provenance(bundle) -> dict:
    manifest = bundle.manifest
    simd = manifest["numpy_simd"]
    commit = _git("rev-parse", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    config = manifest["config"]
    return {
        "versions": [[text(k), text(str(v))] for k, v in sorted(manifest["versions"].items())],
        "python": text(str(manifest["python"])),
        "platform": text(str(manifest["platform"])),
        "simd": [
            [text(k), text(" ".join(map(str, v)) if isinstance(v, list) else str(v))] for k, v in sorted(simd.items())
        ],
        "config_hash": text(str(manifest["config_hash"])),
        "seed": text(str(manifest["seed"])),
        "checksums": [[text(k), text(v)] for k, v in sorted(bundle.files.items())],
        "sweep_command": text(str(manifest["command"])),
        "config_json": json.dumps(config, indent=1, sort_keys=True),
        "summation": text(str(config.get("summation", "recursive"))),
        "commit": text(commit or "unknown (not a git checkout)"),
        "bench_checksum": text(bundle.bench_sha256) if bundle.bench_sha256 else None,
    }


def context(bundle) -> dict:
    return {}


SECTION = Section("reproducibility", "Reproducibility", "reproducibility.html", (), context)
