"""glibc's allocator, set once by the project's own commands
(``python -m analysis ...``) so that large arrays freed by one call are
reused by the next instead of being returned to the kernel and faulted in
again page by page.

By default glibc serves an allocation above a moving threshold (128 KiB at
first) with a fresh ``mmap`` and gives the top of the heap back once more
than twice that threshold is free.  The studies allocate and free arrays
of megabytes in every call (the ground truth's results, a chunk's
columns), so each call pays a page fault per 4 KiB page: a fifth of
``fastref.truths``' time on rows of 10 entries, and most of a cold run's
system time.  M_MMAP_THRESHOLD = 32 MiB (glibc's largest) and
M_TRIM_THRESHOLD = 1 GiB keep such arrays on the heap, and the heap's free
memory with the process (mallopt(3)).  Set in this process and, through
the environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), in the
processes it starts.  Only the speed changes, never a value.
"""

from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**30
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


def keep_freed_memory() -> bool:
    """Set the two thresholds (a user's own MALLOC_* settings win); True if
    this process's allocator took them (glibc on Linux), else False."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(TRIM_THRESHOLD))
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    try:
        mmap = int(os.environ["MALLOC_MMAP_THRESHOLD_"])
        trim = int(os.environ["MALLOC_TRIM_THRESHOLD_"])
    except ValueError:  # a user's setting glibc reads its own way
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap)) and bool(mallopt(_M_TRIM_THRESHOLD, trim))
