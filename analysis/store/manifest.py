"""The one manifest, ``manifest.json``: every data file's SHA-256
(``checksums``), and per artifact its key, settings, the modules it was
computed by, and its files.  The sweep adds the study's provenance (config,
seed, versions, machine, ``host_dependent``) at the top level.  Every file is
written atomically before the manifest, which vouches for them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import registry
from .files import atomic_write, json_bytes, sha256, sha256_file

NAME = "manifest.json"


def read(data_dir: Path) -> dict:
    """The manifest, or {} when absent or unreadable."""
    try:
        manifest = json.loads((Path(data_dir) / NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def up_to_date(data_dir: Path, name: str, key: str) -> bool:
    """Whether the artifact's files were made with ``key`` and are intact."""
    entry = read(data_dir).get("artifacts", {}).get(name)
    if not isinstance(entry, dict) or entry.get("key") != key:
        return False
    try:
        return all(sha256_file(Path(data_dir) / f) == digest for f, digest in entry["files"].items())
    except (OSError, KeyError, AttributeError, TypeError):
        return False


def record(data_dir: Path, name: str, key: str, settings, files: dict[str, bytes], top: dict | None = None) -> None:
    """Write the artifact's files, then the manifest with their entry (and
    ``top``, the study's provenance, at the top level)."""
    data_dir = Path(data_dir)
    for file, data in files.items():
        atomic_write(data_dir / file, data)
    manifest = read(data_dir)
    if "artifacts" not in manifest:  # none yet, or a manifest of another layout: start afresh
        manifest = {}
    manifest.update(top or {})
    artifacts = manifest.setdefault("artifacts", {})
    artifacts[name] = {
        "key": key,
        "settings": settings,
        "code": registry.BY_NAME[name].code(),
        "files": {file: sha256(data) for file, data in files.items()},
    }
    manifest["checksums"] = {f: d for entry in artifacts.values() for f, d in sorted(entry["files"].items())}
    atomic_write(data_dir / NAME, json_bytes(manifest))


def _config_hash(settings) -> str | None:
    """The hash (analysis.config.Config.hash) of a study config held in an
    artifact's settings: the settings themselves (sweep, bounds) or their
    ``study`` (host); None when they hold none."""
    if isinstance(settings, dict) and isinstance(settings.get("study"), dict):
        settings = settings["study"]
    if isinstance(settings, dict) and {"seed", "lengths", "functions", "methods", "summation"} <= set(settings):
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return None


def mixed_inputs(manifest: dict) -> list[str]:
    """The data files made with another study config (or seed, or --quick)
    than the sweep's, each as 'file (config <hash>, seed <seed>)'; [] when
    the folder is one study's.  An artifact's config is its stamped
    ``config_hash``, else the config in its settings."""
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    config = manifest.get("config") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict) or not isinstance(config, dict):
        return []
    expected = _config_hash(config)
    problems = []
    for name, entry in sorted(artifacts.items()):
        if not isinstance(entry, dict):
            continue
        settings = entry.get("settings")
        found = _config_hash(settings) or entry.get("config_hash")
        seed = settings.get("seed", (settings.get("study") or {}).get("seed")) if isinstance(settings, dict) else None
        files = ", ".join(entry.get("files") or [name])
        if found is not None and found != expected:
            problems.append(f"{files} (config {found[:12]}" + (f", seed {seed})" if seed is not None else ")"))
        elif (
            isinstance(settings, dict)
            and "quick" in settings
            and settings["quick"] != config.get("quick", settings["quick"])
        ):
            problems.append(f"{files} (quick={settings['quick']})")
    return problems
