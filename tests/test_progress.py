"""ovss.progress: redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from ovss.progress import OVSSProgressHook


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_hook(stream, n=50, interval=5.0):
    hook = OVSSProgressHook("UDD5Dataset", total=n, interval=interval, stream=stream)
    hook.before_test()
    for _ in range(n):
        hook.after_test_iter(outputs=[object()])
    hook.after_test()
    return stream.getvalue()


def test_log_file_gets_plain_lines_not_carriage_returns():
    text = run_hook(io.StringIO())
    lines = text.splitlines()
    assert "\r" not in text and 1 <= len(lines) <= 3  # start (maybe) and end, not one per image
    assert "UDD5Dataset" in lines[-1] and "50/50" in lines[-1] and "img/s" in lines[-1]


def test_terminal_line_is_redrawn_in_place():
    text = run_hook(Terminal(), interval=0.0)
    assert "\r" in text and "50/50" in text and text.count("\n") <= 1
