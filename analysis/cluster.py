"""Past one machine: the sweep's chunks on a ``dask.distributed`` cluster.

:func:`analysis.sweep.run` maps its chunks through any
:class:`concurrent.futures.Executor`; ``--scheduler ADDRESS`` hands it the
executor of a ``distributed.Client`` connected to that scheduler
(``Client.get_executor()``, distributed/cfexecutor.py).  The workers must be
able to import ``analysis`` (same code, same package versions: the chunks'
cache keys and the results depend on them); a ``LocalCluster`` started from
the project folder inherits its ``sys.path``.  Results are byte-identical to
a local run: every chunk is a pure function of its parameters and the rows
are sorted before they are written.

Needs the optional extra: ``pip install '.[dask]'``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

CONNECT_TIMEOUT = 5  # seconds to reach the scheduler before giving up


class ClusterError(RuntimeError):
    """The scheduler cannot be used; the message (one line) says why."""


def leave(err: ClusterError, consequence: str) -> NoReturn:
    """Say why the scheduler cannot be used and what that left as it was,
    then exit with status 2 at once: not sys.exit, since a failed Client's
    finaliser would wait seconds to close."""
    print(f"error: {err}; {consequence}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(2)


@contextlib.contextmanager
def executor(address: str | None, timeout: float = CONNECT_TIMEOUT):
    """A concurrent.futures executor on the dask scheduler at ``address``
    (None: no executor, the sweep uses its own process pool)."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--scheduler needs dask.distributed: pip install '.[dask]'") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as err:  # noqa: BLE001 -- bad address, refused, timed out, not a scheduler
        first_line = (str(err).splitlines() or [""])[0][:200]
        message = f"cannot use the dask scheduler at {address!r}: {type(err).__name__}: {first_line}"
        raise ClusterError(message) from None
    try:
        yield client.get_executor()
    finally:
        client.close()
