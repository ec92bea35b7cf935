"""Replay a new user's first-hour mistakes and time how fast each one is answered.

    .venv/bin/python tools/check_first_hour.py            # fixtures in a temporary folder
    .venv/bin/python tools/check_first_hour.py --keep /tmp/first_hour   # reuse them

Each case runs the real command in a fresh process (as a user would) and prints its exit
code, wall time and first error line. A mistake should be one ``error:`` line, exit 2, in
about a second; names that are accepted (``--model-type segearth``, ``--datasets
potsdam,Vaihingen``) run with ``--check``, which stops after the checks. The fixtures are a
text file, a ViT-B-32-shaped checkpoint (random weights, written once with torch: not timed),
a file where a folder is expected, and the bundled demo model and scenes. Timings depend on
the machine's load; this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "eval_customized.py")
SEGMENT = os.path.join(ROOT, "tools", "segment_image.py")
DEMO = ["--demo", "--num-workers", "0"]


def fixtures(folder: str) -> dict[str, str]:
    """The files the cases need (the checkpoint is written once: it needs torch)."""
    os.makedirs(folder, exist_ok=True)
    notes = os.path.join(folder, "notes.txt")
    with open(notes, "w", encoding="utf-8") as f:
        f.write("my checkpoint is somewhere else\n")
    b32 = os.path.join(folder, "ViT-B-32_random.pt")
    if not os.path.isfile(b32):
        code = (
            "import open_clip, torch; torch.manual_seed(0); "
            "m = open_clip.create_model('ViT-B-32'); "
            f"torch.save({{k: v.half() for k, v in m.state_dict().items()}}, {b32!r})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    image = os.path.join(ROOT, "demo", "data", "UDD5", "val", "src")
    first = sorted(os.listdir(image))[0] if os.path.isdir(image) else "missing.png"
    return {
        "notes": notes,
        "b32": b32,
        "not_a_folder": os.path.join(notes, "runs"),
        "unwritable": unwritable_folder(folder),
        "image": os.path.join(image, first),
        "missing_image": os.path.join(folder, "my_photo.png"),
    }


def unwritable_folder(folder: str) -> str:
    """A folder that cannot be created or written (root may write anywhere: use /sys)."""
    if os.geteuid() == 0:
        return "/sys/rs-ovss-work"
    locked = os.path.join(folder, "locked")
    os.makedirs(locked, exist_ok=True)
    os.chmod(locked, 0o500)
    return os.path.join(locked, "work")


def cases(f: dict[str, str], work: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """(what, command, extra environment) of each mistake."""
    cli = [sys.executable, CLI, *DEMO]
    run = [*cli, "--work-dir", work]
    clip16 = [*run, "--method", "CLIP", "--vit-type", "ViT-B-16"]
    demo = ["--method", "DemoCLIP", "--vit-type", "DemoCLIP-ViT-T-16", "--device", "cpu"]
    segment = [sys.executable, SEGMENT]
    offline = {"HF_HUB_OFFLINE": "1"}
    tag = [*clip16, "--pretrained", "laion2b_s34b_b88k"]
    names = [*run, "--datasets", "potsdam,Vaihingen,udd5", "--check"]
    list_classes = ["--classes", "building,road,tree", *demo]
    farslip = [sys.executable, CLI, "--work-dir", work, "--method", "farslip1", "--datasets", "vdd"]
    return [
        ("--model-type segearth (accepted)", [*run, "--model-type", "segearth", "--check"], {}),
        ("--model-type segearht (misspelt)", [*run, "--model-type", "segearht"], {}),
        ("--method farslip1 (any case)", farslip, {}),
        ("ViT-B-32 file as ViT-B-16", [*clip16, "--pretrained", f["b32"]], {}),
        ("text file as checkpoint", [*clip16, "--pretrained", f["notes"]], {}),
        ("unwritable --work-dir", [*cli, "--work-dir", f["unwritable"]], {}),
        ("non-directory --work-dir", [*cli, "--work-dir", f["not_a_folder"]], {}),
        ("--method CLIP offline", clip16, {}),
        ("--method CLIP offline (HF_HUB_OFFLINE=1)", clip16, offline),
        ("--pretrained laion2b_s34b_b88k offline", tag, offline),
        ("--device cuda without a GPU", [*run, "--device", "cuda"], {}),
        ("--precision fp16 on --device cpu", [*run, "--device", "cpu", "--precision", "fp16"], {}),
        ("--datasets potsdam,Vaihingen,udd5 (accepted)", names, {}),
        ("--datasets potsdamm (misspelt)", [*run, "--datasets", "potsdamm"], {}),
        ("segment_image: wrong image path", [*segment, f["missing_image"], *list_classes], {}),
        ("segment_image: no class file", [*segment, f["image"], "--classes", "x.txt", *demo], {}),
        ("eval_customized.py --list methods", [sys.executable, CLI, "--list", "methods"], {}),
        ("eval_customized.py --help", [sys.executable, CLI, "--help"], {}),
    ]  # fmt: skip


def run_case(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, float, str]:
    """(exit code, wall seconds, the first error line or the last output line)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env={**os.environ, **env},
        )
    except subprocess.TimeoutExpired:
        return -1, time.perf_counter() - start, f"(still running after {timeout:.0f} s: killed)"
    seconds = time.perf_counter() - start
    lines = [ln for ln in (done.stderr + "\n" + done.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    return done.returncode, seconds, (errors or lines[-1:] or [""])[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", metavar="DIR", help="fixture folder to create or reuse")
    p.add_argument("--timeout", type=float, default=120, help="seconds before a case is killed")
    p.add_argument("--width", type=int, default=150, help="characters of each message shown")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or os.path.join(tmp, "fixtures")
        f = fixtures(folder)
        work = os.path.join(tmp, "work")
        print(f"{'case':<46} {'exit':>4} {'seconds':>7}  first error line")
        for what, command, env in cases(f, work):
            rc, seconds, line = run_case(command, env, args.timeout)
            print(f"{what:<46} {rc:>4} {seconds:>7.2f}  {line[: args.width]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
