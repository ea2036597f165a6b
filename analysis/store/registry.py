"""Every artifact of the data folder: its name, its files, the study that
computes it and so the code it depends on (:mod:`analysis.store.deps`
follows that module's imports), and which files are host-dependent.

This is the one list of data files: the writers (:mod:`analysis.sweep`,
:mod:`analysis.pipeline`) key and record them by it, and the report's bundle
(:mod:`analysis.report.bundle`) loads and checks them by it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata

from . import deps

PACKAGES = ("numpy", "mpmath", "gmpy2", "ml_dtypes", "scipy", "matplotlib", "jinja2", "pyarrow")


@dataclass(frozen=True)
class Artifact:
    name: str
    files: tuple[str, ...]
    study: tuple[str, ...]  # the modules that compute it; they and their imports are the code it depends on
    data: tuple[str, ...] = ()  # data files the study reads (paths under analysis/)
    host_dependent: tuple[str, ...] = ()  # files whose bytes may differ between CPUs by design
    optional: bool = False  # the report is built without it

    def code_hash(self) -> str:
        return deps.code_hash(*self.study, files=self.data)

    def code(self) -> list[str]:
        return deps.closure(*self.study)


ARTIFACTS = (
    Artifact("sweep", ("sweep.parquet", "thresholds.json"),
             ("analysis.studies.sweep", "analysis.studies.thresholds", "analysis.store.tables")),
    Artifact("logsoftmax", ("gstar.csv", "logsoftmax.json"), ("analysis.studies.logsoftmax", "analysis.store.tables")),
    Artifact("examples", ("examples.json",), ("analysis.studies.examples",)),
    Artifact("bhh2021", ("bhh2021.json", "bhh2021_points.json"), ("analysis.studies.bhh2021", "analysis.datasets"),
             data=("data/bhh2021/mnist_presoftmax.csv",)),
    Artifact("bounds", ("bounds.json",), ("analysis.studies.bounds",)),
    Artifact("special", ("special_values.json",), ("analysis.studies.special", "analysis.peers"),
             host_dependent=("special_values.json",)),
    Artifact("worstcase", ("worst_cases.json",),
             ("analysis.studies.worstcase", "analysis.studies.special", "analysis.peers")),
    Artifact("host", ("host.json",), ("analysis.studies.hostlib", "analysis.config"), host_dependent=("host.json",)),
    Artifact("methods_real", ("methods_real.json",), ("analysis.studies.methods_real", "analysis.datasets"),
             host_dependent=("methods_real.json",)),
    Artifact("frameworks", ("frameworks.json",), ("analysis.studies.frameworks", "analysis.config"),
             host_dependent=("frameworks.json",), optional=True),
)  # fmt: skip
BY_NAME = {a.name: a for a in ARTIFACTS}


def versions() -> dict[str, str]:
    """The installed versions of PACKAGES (read once per process)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    return tuple((name, metadata.version(name)) for name in PACKAGES)


def key(name: str, settings) -> str:
    """The artifact's key: its code (derived from imports), its settings and
    the package versions; the artifact is recomputed when it changes."""
    blob = {"code": BY_NAME[name].code_hash(), "settings": settings, "versions": versions()}
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


def host_dependent(cfg) -> list[str]:
    """The data files of a study that may differ between machines: those
    declared so, and the sweep's table when its methods include SciPy (which
    calls numpy's exp)."""
    declared = {f for a in ARTIFACTS for f in a.host_dependent}
    scipy_in_sweep = "scipy" in (*cfg.methods, *cfg.extra_methods)
    return sorted(declared | ({"sweep.parquet"} if scipy_in_sweep else set()))
