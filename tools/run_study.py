"""Run a study in one command: its runs one after the other (or one per GPU), then one
comparison of exactly those runs.

    .venv/bin/python tools/run_study.py studies/attention_ablation.py --dry-run
    .venv/bin/python tools/run_study.py studies/attention_ablation.py --work-dir work_dir
    .venv/bin/python tools/run_study.py studies/farslip_figure.py --gpus 4
    .venv/bin/python tools/run_study.py studies/attention_ablation.py --demo   # toy model

STUDY is an mmengine config file (Python; names starting with ``_`` are its own helpers):

    runs = dict(method=['FarSLIP1'], vit_type=['ViT-B-16'], model_type=['SegEarth', 'NACLIP'])
    datasets = 'farslip'                    # --datasets of every run
    flags = dict(precision='fp16')          # any eval_customized.py flag, for every run
    cfg_options = {'model.slide_stride': 56}  # --cfg-options of every run

``runs`` is a dict or a list of dicts; in each, a list value is expanded (every combination
of them is one run), so a grid is one dict and odd runs (a ``pretrained`` file of one run,
a ``cfg_options`` dict of its own) are more dicts. Keys: the flags of ``eval_customized.py``
with ``_`` for ``-`` (method, vit_type, pretrained, model_type, protocol, precision, ...).

Every run is evaluated with ``--resume`` into ``<work-dir>/<vit>/<method>/<run-name>/``:
a run (or dataset) finished earlier with the same settings is not computed again, so an
interrupted study continues where it stopped when the same command is run again. Runs go
one after the other in this process (torch is imported once), or with ``--gpus N`` as
processes, N at a time, each on its own device (``CUDA_VISIBLE_DEVICES``), their output in
``<out>/logs/``; ``--torchrun N`` runs each run across N devices in turn (``torchrun
--nproc_per_node N eval_customized.py ... --launcher pytorch``). At the end
``tools/compare_runs.py`` compares exactly the study's run folders into ``--out``
(default ``<work-dir>/studies/<study>/``), which also gets ``study.json`` (each run's
command, folder and outcome). Flags after ``--`` go to every run, e.g. ``-- --device cpu``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path[:0] = [ROOT, TOOLS]

from mmengine.config import Config  # noqa: E402

import compare_runs  # noqa: E402
import eval_customized  # noqa: E402
from foundation.errors import ConfigError, UserError  # noqa: E402
from foundation.files import write_atomic  # noqa: E402
from ovss.flags import FLAG_KEYS  # noqa: E402

# what eval_customized.py prints before the run's folder (ovss.run_folder.RUN_LINE; not
# imported from there: that module needs torch, and --dry-run and --gpus do not)
RUN_LINE = "run folder: "
STUDY_KEYS = frozenset({"runs", "datasets", "flags", "cfg_options"})
# eval_customized.py flags a run may set (dest names); work dir and --resume are the study's
RUN_KEYS = frozenset(
    {*FLAG_KEYS, "datasets", "model_config", "cfg_options", "pred_dir", "show_dir", "profile"}
)
PER_RUN_DIRS = ("pred_dir", "show_dir")  # a subfolder per run, so runs do not mix files
DEMO_DROPPED = ("pretrained", "checkpoint_dir")  # the demo model is the zoo's DemoCLIP
INTERRUPTED = 130


@dataclass
class Run:
    """One run of the study: its eval_customized.py flags and what became of it."""

    index: int
    own: dict  # the flags of its entry in ``runs`` (what tells it apart)
    flags: dict  # with the study's shared flags and datasets
    argv: list[str] = field(default_factory=list)
    folder: str | None = None
    code: int | None = None  # exit status (None: not run yet)

    @property
    def label(self) -> str:
        own = {k: v for k, v in self.own.items() if k != "cfg_options" and v is not None}
        words = [str(v) if v is not True else k for k, v in own.items()]
        words += [f"{k}={v}" for k, v in (self.own.get("cfg_options") or {}).items()]
        return " ".join(words) or "defaults"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The study's flags; what follows ``--`` is passed to every run (and wins)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="%(prog)s STUDY [options] [-- eval_customized.py flags for every run]",
    )
    p.add_argument("study", metavar="STUDY", help="study config, e.g. studies/farslip_figure.py")
    p.add_argument("--work-dir", default="./work_dir", help="where the runs' folders go")
    p.add_argument("--out", help="comparison + study.json (default WORK_DIR/studies/<study>)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and their commands")
    p.add_argument(
        "--demo",
        action="store_true",
        help="every run on the bundled toy model and demo scenes (checks a study end to end)",
    )
    p.add_argument("--datasets", help="override the study's datasets, e.g. loveda,udd5")
    p.add_argument("--only", help="comma list of run numbers (as --dry-run lists them)")
    p.add_argument("--gpus", type=int, help="N runs at a time, each on its own GPU")
    p.add_argument("--torchrun", type=int, metavar="N", help="each run across N devices")
    args = p.parse_args(argv[:cut])
    args.extra = argv[cut + 1 :]
    return args


# ------------------------------------------------------------------ the study's runs
def load_study(path: str) -> Config:
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such study file (see studies/ for examples)")
    try:
        study = Config.fromfile(path, import_custom_modules=False)
    except Exception as err:  # noqa: BLE001 - any failure to read it is the file's
        why = " ".join(str(err).split())[:200]  # one line, whatever the parser said
        raise ConfigError(
            f"{path}: not a readable study config ({type(err).__name__}: {why})"
        ) from None
    unknown = sorted(k for k in study.keys() if k not in STUDY_KEYS and not k.startswith("_"))
    if unknown or "runs" not in study:
        raise ConfigError(
            f"{path}: {'unknown key(s) ' + ', '.join(unknown) if unknown else 'no runs'}; a "
            f"study sets {', '.join(sorted(STUDY_KEYS))} (tools/run_study.py --help)"
        )
    return study


def expand(entry: dict) -> list[dict]:
    """Every combination of an entry's list values (a dict of flags -> runs)."""
    keys = list(entry)
    choices = [v if isinstance(v, list | tuple) else [v] for v in entry.values()]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*choices)]


def study_runs(study: Config, path: str, args: argparse.Namespace) -> list[Run]:
    """The runs, numbered from 1, with the study's shared flags (a run's own win)."""
    entries = study.runs if isinstance(study.runs, list | tuple) else [study.runs]
    shared = dict(study.get("flags") or {})
    runs: list[Run] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: runs[{i}] is not a dict of flags")
        unknown = sorted((set(entry) | set(shared)) - RUN_KEYS)
        if unknown:
            raise ConfigError(
                f"{path}: unknown flag(s) {', '.join(unknown)}; use eval_customized.py flags "
                f"with '_' for '-': {', '.join(sorted(RUN_KEYS))}"
            )
        for flags in expand(dict(entry)):
            options = {**(study.get("cfg_options") or {}), **(flags.get("cfg_options") or {})}
            merged = {**shared, **flags, "cfg_options": options}
            merged["datasets"] = args.datasets or flags.get("datasets") or study.get("datasets")
            if args.demo:
                merged = demo_flags(merged)
            runs.append(Run(len(runs) + 1, flags, merged))
    for run in runs:
        run.argv = command(run, args.work_dir, args.extra)
    return select(runs, args.only)


def demo_flags(flags: dict) -> dict:
    """The toy model and its scenes in place of the study's model and data."""
    flags = {k: v for k, v in flags.items() if k not in DEMO_DROPPED}
    return {
        **flags,
        "method": eval_customized.DEMO_METHOD,
        "vit_type": eval_customized.DEMO_VIT_TYPE,
        "data_root": eval_customized.DEMO_DATA,
    }


def command(run: Run, work_dir: str, extra: list[str]) -> list[str]:
    """eval_customized.py's arguments for a run (always --resume; ``extra`` last)."""
    argv = ["--work-dir", work_dir, "--resume"]
    for key, value in run.flags.items():
        if key in PER_RUN_DIRS and value:
            value = os.path.join(value, f"run{run.index:02d}")
        if key == "cfg_options" or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        values = value if isinstance(value, list | tuple) else [value]
        argv += [flag] if value is True else [x for v in values for x in (flag, str(v))]
    options = run.flags.get("cfg_options") or {}
    if options:
        argv += ["--cfg-options", *(f"{k}={v}" for k, v in options.items())]
    return argv + list(extra)


def select(runs: list[Run], only: str | None) -> list[Run]:
    if not only:
        return runs
    try:
        wanted = {int(n) for n in only.split(",") if n.strip()}
    except ValueError:
        raise ConfigError(f"--only {only}: give run numbers, e.g. --only 1,3") from None
    bad = sorted(wanted - {r.index for r in runs})
    if bad:
        raise ConfigError(f"--only: no run {bad[0]}; the study has runs 1-{len(runs)}")
    return [r for r in runs if r.index in wanted]


# ------------------------------------------------------------------ running them
def run_here(run: Run) -> None:
    """In this process: torch and mmseg are imported once for the whole study."""
    print(f"\n=== run {run.index}: {run.label}", flush=True)
    run.code, run.folder = eval_customized.run(run.argv)


def run_process(run: Run, prefix: list[str], env: dict, log: str | None) -> None:
    """As a process (its own device / torchrun): output to ``log`` (or echoed), the run
    folder read from its last ``run folder:`` line."""
    cmd = [*prefix, os.path.join(ROOT, "eval_customized.py"), *run.argv]
    sink = open(log, "w", encoding="utf-8") if log else None  # noqa: SIM115 - closed below
    try:
        with subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as proc:
            for line in proc.stdout:
                (sink.write if sink else sys.stdout.write)(line)
                if line.startswith(RUN_LINE):
                    run.folder = line[len(RUN_LINE) :].strip()
            run.code = proc.wait()
    finally:
        if sink:
            sink.close()


def run_all(runs: list[Run], args: argparse.Namespace, out: str) -> None:
    """Sequentially here, one per GPU as processes, or each under torchrun."""
    if args.gpus:
        devices: Queue = Queue()
        for i in range(args.gpus):
            devices.put(i)

        def on_device(run: Run) -> None:
            device = devices.get()
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(device)}
            run.flags = {**run.flags, "device": "cuda"}  # the one GPU this process sees
            run.argv = command(run, args.work_dir, args.extra)
            log = os.path.join(out, "logs", f"run{run.index:02d}.log")
            os.makedirs(os.path.dirname(log), exist_ok=True)
            print(f"run {run.index} on GPU {device}: {run.label} (log: {log})", flush=True)
            try:
                run_process(run, [sys.executable], env, log)
            finally:
                devices.put(device)
            print(f"run {run.index}: {outcome(run)}", flush=True)

        with ThreadPoolExecutor(max_workers=args.gpus) as pool:
            list(pool.map(on_device, runs))
        write_state(runs, args.study, out)
        if any(r.code == INTERRUPTED for r in runs):
            raise KeyboardInterrupt
        return
    for run in runs:
        if args.torchrun:
            print(f"\n=== run {run.index}: {run.label} (torchrun, {args.torchrun} processes)")
            launch = [sys.executable, "-m", "torch.distributed.run"]
            launch += ["--nproc_per_node", str(args.torchrun)]
            run.argv += ["--launcher", "pytorch"]
            run_process(run, launch, dict(os.environ), None)
        else:
            run_here(run)
        write_state(runs, args.study, out)
        if run.code == INTERRUPTED:
            raise KeyboardInterrupt


def outcome(run: Run) -> str:
    if run.code is None:
        return "not run"
    if run.code == 0:
        return f"done: {run.folder}"
    return f"failed (exit {run.code}){': ' + run.folder if run.folder else ''}"


def write_state(runs: list[Run], study: str, out: str) -> str:
    """``study.json``: each run's flags, command, folder and outcome."""
    path = os.path.join(out, "study.json")
    state = {
        "study": os.path.abspath(study),
        "runs": [
            {
                "run": r.index,
                "label": r.label,
                "command": ["eval_customized.py", *r.argv],
                "folder": r.folder,
                "exit": r.code,
            }
            for r in runs
        ],
    }
    write_atomic(path, json.dumps(state, indent=2) + "\n")
    return path


def compare(runs: list[Run], out: str) -> int:
    """The comparison of exactly the study's finished run folders (each once)."""
    folders = list(dict.fromkeys(r.folder for r in runs if r.code == 0 and r.folder))
    if not folders:
        print("no run finished: nothing to compare", file=sys.stderr)
        return 1
    shared = len([r for r in runs if r.code == 0]) - len(folders)
    if shared:
        print(f"{shared} run(s) had the same effective settings as another: compared once")
    print(f"\ncomparison of {len(folders)} run folder(s) -> {out}", flush=True)
    return compare_runs.main([*folders, "--out", out])


def check_devices(args: argparse.Namespace) -> None:
    if any(n is not None and n < 1 for n in (args.gpus, args.torchrun)):
        raise ConfigError("--gpus / --torchrun: give a number of devices, 1 or more")
    if args.gpus and args.torchrun:
        raise ConfigError("--gpus and --torchrun: choose one (runs per GPU, or GPUs per run)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    name = os.path.splitext(os.path.basename(args.study))[0]
    out = args.out or os.path.join(args.work_dir, "studies", name)
    runs: list[Run] = []
    try:
        check_devices(args)
        runs = study_runs(load_study(args.study), args.study, args)
        if args.dry_run:
            for run in runs:
                print(f"{run.index:3d}. {run.label}\n     eval_customized.py {' '.join(run.argv)}")
            return 0
        print(f"study {args.study}: {len(runs)} run(s); finished ones are not computed again")
        if args.demo:
            print("--demo: every run on the toy DemoCLIP model and the demo scenes")
        run_all(runs, args, out)
    except KeyboardInterrupt:
        done = sum(r.code == 0 for r in runs)
        print(
            f"\ninterrupted: {done} of {len(runs)} runs finished (kept, with every finished "
            "dataset); run the same command again to continue",
            file=sys.stderr,
        )
        if runs:
            write_state(runs, args.study, out)
        return INTERRUPTED
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\nstudy state: {write_state(runs, args.study, out)}")
    for run in runs:
        print(f"  run {run.index} ({run.label}): {outcome(run)}")
    code = compare(runs, out)
    failed = [r.index for r in runs if r.code != 0]
    if failed:
        print(f"error: run(s) {', '.join(map(str, failed))} failed (see above)", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
