"""ovss.progress: one progress line per dataset with elapsed, rate and ETA from the first
image; a quiet terminal while mmengine's log file holds the run's log."""

from __future__ import annotations

import glob
import io
import logging
import os
import re

import pytest
import torch

import eval_customized
from conftest import cli_args, out_dir
from foundation.errors import ConfigError
from ovss.progress import OVSSProgressHook, QuietLogRunner, clock_text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A fake clock: each image of a batch takes ``seconds``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_hook(stream, n=10, batch=1, seconds=2.0, first=2.0, interval=5.0):
    """The hook over ``n`` images in batches, the first batch taking ``first`` s per image."""
    clock = Clock()
    hook = OVSSProgressHook("UDD5", total=n, interval=interval, stream=stream, clock=clock)
    hook.before_test()
    done = 0
    while done < n:
        size = min(batch, n - done)
        clock.now += size * (first if done == 0 else seconds)
        done += size
        hook.after_test_iter(outputs=[object()] * size)
    hook.after_test()
    hook.close()  # evaluate.py closes again on the way out: no second line
    return stream.getvalue()


def test_log_shows_rate_and_eta_after_the_first_image_and_ends_once():
    lines = run_hook(io.StringIO(), n=10, seconds=2.0, first=4.0, interval=5.0).splitlines()
    assert re.search(r"UDD5 +1/10 +10% \| 0:04 elapsed \| 0\.25 img/s \| ETA 0:36$", lines[0])
    # 5 s later: the rate of the images since the first (start-up not held against it)
    assert re.search(r" 4/10 +40% \| 0:10 elapsed \| 0\.50 img/s \| ETA 0:12$", lines[1])
    finals = [line for line in lines if "10/10" in line]
    assert finals == [lines[-1]] and "0:22 elapsed" in lines[-1] and "0.45 img/s" in lines[-1]
    assert len(lines) == len(set(lines)) and all("\r" not in line for line in lines)
    counts = [int(re.search(r" (\d+)/10 ", line).group(1)) for line in lines]
    assert counts == sorted(set(counts))  # a line only when the count moved, in order
    assert len(lines) <= 1 + 22 // 5 + 1  # first, then at most one per interval, then the end


def test_batches_count_every_image_and_the_rate_follows_the_recent_batches():
    text = run_hook(io.StringIO(), n=48, batch=16, seconds=0.5, first=3.0, interval=1.0)
    lines = text.splitlines()
    assert "16/48" in lines[0] and "ETA" in lines[0] and "img/s" in lines[0]
    assert "32/48" in lines[1] and "2.00 img/s" in lines[1] and "ETA 0:08" in lines[1]
    assert "48/48" in lines[-1] and text.count("48/48") == 1


def test_terminal_line_is_redrawn_in_place():
    text = run_hook(Terminal(), n=50, interval=0.0)
    assert text.startswith("\rUDD5") and "0/50" in text.split("\r")[1]  # live from the start
    assert text.count("\n") == 1 and text.endswith("\n") and "50/50" in text.split("\r")[-1]


def test_an_interrupted_dataset_says_where_it_stopped():
    clock = Clock()
    stream = io.StringIO()
    hook = OVSSProgressHook("VDD", total=40, stream=stream, clock=clock)
    hook.before_test()
    clock.now += 3
    hook.after_test_iter(outputs=[object()] * 2)
    clock.now += 60
    hook.close()
    assert stream.getvalue().splitlines()[-1].endswith("stopped at 2 of 40")


def test_clock_text():
    assert clock_text(5) == "0:05" and clock_text(3723) == "1:02:03"


def test_log_file_gets_info_while_the_terminal_gets_warnings(tmp_path, capsys):
    runner = QuietLogRunner(
        model=torch.nn.Linear(1, 1),
        work_dir=str(tmp_path),
        log_level="WARNING",
        cfg=dict(log_file_level="INFO"),
        experiment_name="quiet-log-test",
    )
    runner.logger.info("an info line")
    runner.logger.warning("a warning line")
    levels = {type(h): h.level for h in runner.logger.handlers}
    assert levels == {logging.StreamHandler: logging.WARNING, logging.FileHandler: logging.INFO}
    for handler in runner.logger.handlers:
        handler.flush()
    log = open(runner.logger.log_file).read()
    assert "System environment" in log and "an info line" in log and "a warning line" in log
    printed = capsys.readouterr().out
    assert "a warning line" in printed and "an info line" not in printed
    assert "System environment" not in printed


def test_an_unknown_log_level_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="log_file_level: unknown logging level 'LOUD'"):
        QuietLogRunner(
            model=torch.nn.Linear(1, 1),
            work_dir=str(tmp_path),
            cfg=dict(log_file_level="LOUD"),
            experiment_name="bad-level-test",
        )


def test_a_cli_run_logs_to_its_file_and_prints_one_line_per_dataset(
    tiny_checkpoint, data_root, tmp_path, capsys
):
    work = tmp_path / "w"
    assert (
        eval_customized.main(cli_args(tiny_checkpoint, data_root, work, "--datasets", "udd5")) == 0
    )
    printed = capsys.readouterr()
    logs = glob.glob(os.path.join(out_dir(work), "logs", "*", "*.log"))
    assert len(logs) == 1 and os.path.getsize(logs[0]) > 0
    log = open(logs[0]).read()
    assert "System environment" in log and "Epoch(test)" in log and "mIoU" in log
    assert " - mmengine - INFO - " not in printed.out + printed.err  # the terminal is quiet
    progress = [line for line in printed.err.splitlines() if line.startswith("UDD5 ")]
    assert progress and progress[-1].startswith("UDD5") and "3/3 100%" in progress[-1]
    assert sum("3/3" in line for line in progress) == 1 and "ETA" in progress[0]
    assert sum(line.startswith("settings: method=") for line in printed.out.splitlines()) == 1
