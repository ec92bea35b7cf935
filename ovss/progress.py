"""The per-dataset progress line, as a registered mmengine hook (tqdm draws it).

On a terminal the line is redrawn in place; when stderr is not a terminal (CI, ``| tee``, a
log file) a plain line is printed every ``interval`` seconds instead of thousands of carriage
returns. The images/s shown is tqdm's exponential moving average (``smoothing``): the recent
rate, not an average diluted by the first image's start-up.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from tqdm import tqdm


class _Lines:
    """A stream for tqdm that turns each in-place redraw into one plain line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


@HOOKS.register_module()
class OVSSProgressHook(Hook):
    """Images done / total, images/s (recent), ETA for one dataset, on the main process.

    Args:
        name: label of the line (the dataset type).
        total: number of images in the dataset.
        interval: seconds between lines when the stream is not a terminal.
        smoothing: tqdm's moving-average factor for the rate (0: overall average, 1: last).
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        name: str = "",
        total: int = 0,
        interval: float = 5.0,
        smoothing: float = 0.3,
        stream: TextIO | None = None,
    ) -> None:
        self.name, self.total = name, total
        self.interval, self.smoothing = interval, smoothing
        self.stream = stream
        self.bar: tqdm | None = None

    def before_test(self, runner=None) -> None:
        self.active = is_main_process()
        if self.active and self._stream().isatty():
            self.bar = self._bar(0)  # live from the start

    def after_test_iter(self, runner=None, batch_idx=0, data_batch=None, outputs=None) -> None:
        done = len(outputs) if outputs is not None else 1
        if self.bar is not None:
            self.bar.update(done)
        elif getattr(self, "active", False):
            self.bar = self._bar(done)  # a log gets no "0/N" line: its first line has progress

    def _stream(self) -> TextIO:
        return self.stream or sys.stderr

    def _bar(self, initial: int) -> tqdm:
        stream = self._stream()
        terminal = stream.isatty()
        return tqdm(
            total=self.total,
            initial=initial,
            desc=f"{self.name:<20}",
            unit="img",
            file=stream if terminal else _Lines(stream),
            mininterval=0.1 if terminal else self.interval,
            smoothing=self.smoothing,
            dynamic_ncols=terminal,
            ncols=None if terminal else 100,
            leave=True,
        )

    def after_test(self, runner=None) -> None:
        self.close()

    def close(self) -> None:
        """End the line (also on errors, so an error message starts on its own line)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
