"""What a run says while it works: one progress line per dataset, and the run's log file.

The progress line (``OVSSProgressHook``) counts from the start of the dataset and shows
images done, elapsed time, images/s and the ETA from the first finished batch. On a terminal
it is redrawn in place; elsewhere (CI, ``| tee``, a log file) a plain line is printed after
the first batch, then every ``interval`` seconds, and the final N/N line once at the end.

``QuietLogRunner`` is mmengine's Runner with its terminal kept at ``log_level`` (WARNING:
the results and the progress line are printed by us) while its log file,
``<run folder>/logs/<time>/<time>.log``, gets ``log_file_level`` (INFO: environment, config,
mmengine's periodic test lines, the metric).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from foundation.errors import ConfigError

REDRAW_SECONDS = 0.1  # a terminal line is redrawn at most this often


def clock_text(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(
    name: str, done: int, total: int, elapsed: float, rate: float | None, final: bool = False
) -> str:
    """One progress line; ``rate`` in images/s (None: not known yet)."""
    pct = 100 * done / total if total else 100.0
    speed = "? img/s" if not rate else f"{rate:.2f} img/s" if rate < 10 else f"{rate:.1f} img/s"
    if final:
        tail = "average" if done >= total else f"stopped at {done} of {total}"
    else:
        tail = f"ETA {clock_text((total - done) / rate)}" if rate else "ETA ?"
    width = len(str(total))
    return (
        f"{name:<13} {done:>{width}}/{total} {pct:3.0f}% | {clock_text(elapsed)} elapsed | "
        f"{speed} | {tail}"
    )


@HOOKS.register_module()
class OVSSProgressHook(Hook):
    """Images done / total, elapsed, images/s and ETA for one dataset, on the main process.

    The rate is a moving average over batches (``smoothing``: weight of the latest batch),
    started again at the second batch so that the first batch's start-up (workers, caches)
    does not hold the ETA back; the final line gives the average over the whole dataset.

    Args:
        name: label of the line (the dataset's display name).
        total: number of images this process evaluates.
        interval: seconds between lines when the stream is not a terminal.
        smoothing: weight of the latest batch in the rate (1: the latest batch only).
        stream: where the line goes (default: sys.stderr at the time of writing).
        clock: seconds, monotonic (tests pass a fake one).
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        name: str = "",
        total: int = 0,
        interval: float = 15.0,
        smoothing: float = 0.3,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.total = name, total
        self.interval, self.smoothing = interval, smoothing
        self.stream, self.clock = stream, clock
        self.active = False

    def before_test(self, runner=None) -> None:
        self.active = is_main_process()
        self.terminal = self._stream().isatty()
        self.start = self.last = self.shown_at = self.clock()
        self.done, self.batches = 0, 0
        self.ema_images = self.ema_seconds = 0.0
        self.shown_done: int | None = None
        self.drawn_width = 0
        if self.active and self.terminal:
            self._show(self.start)  # live from the start: "0/N"

    def after_test_iter(self, runner=None, batch_idx=0, data_batch=None, outputs=None) -> None:
        if not self.active:
            return
        now = self.clock()
        self._measure(len(outputs) if outputs is not None else 1, now - self.last)
        self.last = now
        if self.done >= self.total and not self.terminal:
            return  # a log gets the final line once, from close()
        wait = REDRAW_SECONDS if self.terminal else self.interval
        if not self.shown_done or now - self.shown_at >= wait:
            self._show(now)

    def after_test(self, runner=None) -> None:
        self.close()

    def close(self) -> None:
        """The final line (also on errors, so an error message starts on its own line)."""
        if not self.active:
            return
        self.active = False
        if self.terminal or self.done != self.shown_done or self.done < self.total:
            self._show(self.clock(), final=True)
        if self.terminal:
            self._stream().write("\n")
            self._stream().flush()

    def rate(self) -> float | None:
        """Images/s: the moving average over batches (None before the first batch)."""
        return self.ema_images / self.ema_seconds if self.ema_seconds > 0 else None

    def _measure(self, images: int, seconds: float) -> None:
        self.done += images
        self.batches += 1
        if self.batches <= 2:  # the first batch alone, then afresh from the second
            self.ema_images, self.ema_seconds = float(images), seconds
        else:
            s = self.smoothing
            self.ema_images = s * images + (1 - s) * self.ema_images
            self.ema_seconds = s * seconds + (1 - s) * self.ema_seconds

    def _show(self, now: float, final: bool = False) -> None:
        elapsed = now - self.start
        if final:
            rate = self.done / elapsed if elapsed > 0 and self.done else None
        else:
            rate = self.rate()
        text = progress_text(self.name, self.done, self.total, elapsed, rate, final)
        stream = self._stream()
        if self.terminal:  # redraw in place, blanking what the longer line before left
            stream.write("\r" + text.ljust(self.drawn_width))
            self.drawn_width = len(text)
        else:
            stream.write(text + "\n")
        stream.flush()
        self.shown_at, self.shown_done = now, self.done

    def _stream(self) -> TextIO:
        return self.stream or sys.stderr


def log_level_number(level: int | str, key: str) -> int:
    """A logging level given by name or number (config ``key``, for the error)."""
    number = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(number, int):
        known = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
        raise ConfigError(f"{key}: unknown logging level '{level}'; use one of {known}")
    return number


class QuietLogRunner(Runner):
    """mmengine's Runner whose log file gets ``log_file_level`` (config key, default INFO)
    while the terminal keeps ``log_level`` (config key; WARNING in configs/base_config.py).

    mmengine gives its terminal and file handlers one level; with WARNING, the run's
    ``.log`` file stayed empty.
    """

    def build_logger(self, log_level="INFO", log_file=None, **kwargs) -> MMLogger:
        terminal = log_level_number(log_level, "log_level")
        to_file = log_level_number(self.cfg.get("log_file_level", "INFO"), "log_file_level")
        logger = super().build_logger(min(terminal, to_file), log_file, **kwargs)
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.setLevel(to_file)
            else:  # the terminal (other processes of a distributed run: ERROR already)
                handler.setLevel(max(handler.level, terminal))
        return logger
