"""Where a run's time goes: named stages and milestones, printed by ``--profile``.

Always on (a stage costs two clock reads); the CLI and the benchmark print the breakdown.
Times count from the process start (Linux ``/proc``; else from this module's import).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


def _process_start() -> float:
    """perf_counter() value at process creation, so interpreter start-up is counted too."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return time.perf_counter() - max(age, 0.0)
    except (OSError, ValueError, IndexError):
        return time.perf_counter()


START = _process_start()
STAGES: dict[str, float] = defaultdict(float)
MILESTONES: dict[str, float] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time spent in the block to ``name`` (stages may repeat, e.g. per dataset)."""
    begin = time.perf_counter()
    try:
        yield
    finally:
        STAGES[name] += time.perf_counter() - begin


def milestone(name: str) -> None:
    """Seconds since the process started, recorded the first time ``name`` happens."""
    MILESTONES.setdefault(name, time.perf_counter() - START)


def reset(skip: float = 0.0) -> None:
    """Forget stages and milestones; later milestones leave out ``skip`` seconds (time spent
    since the start on something that is not part of the run, e.g. a benchmark's data)."""
    global START
    START += skip
    STAGES.clear()
    MILESTONES.clear()


def report() -> str:
    """The breakdown: stages (largest first), then milestones in time order."""
    lines = ["profile (seconds):"]
    for name, seconds in sorted(STAGES.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<32} {seconds:8.2f}")
    for name, seconds in sorted(MILESTONES.items(), key=lambda kv: kv[1]):
        lines.append(f"  {'@ ' + name:<32} {seconds:8.2f}")
    return "\n".join(lines)
