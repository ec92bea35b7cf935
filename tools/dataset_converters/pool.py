"""Running: a converter plans ``Job``s (one per source image or tile); they run in a process
pool with a progress bar, and a job whose outputs all exist is skipped unless ``overwrite``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing import Pool

from tqdm import tqdm

from foundation.errors import DataError


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args, overwrite=...)`` returns the paths it is responsible
    for and whether it wrote them. ``outputs``, when known before running, lets the runner
    skip a finished job without starting it."""

    fn: Callable[..., tuple[list[str], bool]]
    args: tuple
    outputs: tuple[str, ...] = ()


@dataclass
class RunResult:
    written: int = 0  # jobs that wrote files
    skipped: int = 0  # jobs whose outputs all existed
    outputs: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def all_exist(paths: Iterable[str]) -> bool:
    return all(os.path.isfile(p) for p in paths)


def _run_one(task: tuple[Job, bool]) -> tuple[list[str], bool, str | None]:
    job, overwrite = task
    try:
        outputs, wrote = job.fn(*job.args, overwrite=overwrite)
        return outputs, wrote, None
    except DataError as err:
        return [], False, str(err)


def run_jobs(
    jobs: Sequence[Job], nproc: int, overwrite: bool, desc: str, bar: bool = True
) -> RunResult:
    """Run the jobs (a process pool when nproc > 1) with a tqdm progress bar."""
    result = RunResult()
    todo = []
    for job in jobs:
        if job.outputs and not overwrite and all_exist(job.outputs):
            result.skipped += 1
            result.outputs.update(job.outputs)
        else:
            todo.append((job, overwrite))
    with tqdm(
        total=len(jobs), initial=result.skipped, desc=desc, unit="file", disable=not bar
    ) as progress:
        if nproc > 1 and len(todo) > 1:
            with Pool(min(nproc, len(todo))) as pool:
                done = pool.imap_unordered(_run_one, todo)
                _collect(done, result, progress)
        else:
            _collect(map(_run_one, todo), result, progress)
    return result


def _collect(done, result: RunResult, progress) -> None:
    for outputs, wrote, error in done:
        if error:
            result.errors.append(error)
        elif wrote:
            result.written += 1
        else:
            result.skipped += 1
        result.outputs.update(outputs)
        progress.update(1)
