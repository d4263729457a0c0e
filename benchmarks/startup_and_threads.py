"""Start-up, exit and thread settings of the ``kinema`` command, on an idle and on a busy CPU.

Four questions (issue 25 item 13), each answered by fresh processes (medians of ``--reps``):

1. start-up: ``kinema --help`` and a bad-input error (a missing image) against ``python -c "import
   torch"``, with no bytecode, with the bytecode scripts/setup.sh writes (one import of the CLI's
   modules) and with everything byte-compiled (pip's default); plus what building each cache costs.
   Bytecode is kept apart from the venv with PYTHONPYCACHEPREFIX, so the venv is left as it was.
2. exit: ``import torch`` then a normal exit, against the same with ``gc.freeze()`` first (what
   ``kinema.cli.entry`` does).
3. threads: seconds per sampler step of the default model, OMP_WAIT_POLICY unset (libgomp spins),
   PASSIVE (what the CLI sets) and one thread, on an idle CPU, beside one busy process per core, and
   beside another torch job.
4. animate: the wall time of ``kinema animate`` with the default model (its default options), split
   into start + imports, model load, generation, writing the video and exit, idle and busy, with the
   bytecode scripts/setup.sh writes.

    .venv/bin/python benchmarks/startup_and_threads.py --out benchmarks/results/startup_and_threads.md

Writes a Markdown table. "Idle" is as idle as the machine is: the load average at the start of each
section is recorded beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
KINEMA = str(Path(PY).with_name("kinema"))
SITE = next(Path(p) for p in sys.path if p.endswith("site-packages"))
IMAGE = str(ROOT / "examples" / "astronaut.png")
WARM_IMPORTS = "import kinema.cli, kinema.sampling.pipeline, kinema.build"  # setup.sh's warm-up, after compileall


def _wall(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _median(cmd: list[str], reps: int, env: dict | None = None) -> float:
    return statistics.median(_wall(cmd, env) for _ in range(reps))


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "PYTHONPYCACHEPREFIX")}  # torch's defaults
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


# ---- 1. start-up ---------------------------------------------------------------------------------

def _build_cache(kind: str, prefix: str) -> float:
    """Seconds to write the bytecode of ``kind`` into ``prefix`` ("none" writes nothing)."""
    env = _env(PYTHONPYCACHEPREFIX=prefix)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if kind == "none":
        return 0.0
    if kind == "warm":
        own = _wall([PY, "-m", "compileall", "-q", str(ROOT / "src" / "kinema")], env)
        return own + _wall([PY, "-c", WARM_IMPORTS], env)
    return _wall([PY, "-m", "compileall", "-q", "-j0", str(SITE), str(ROOT / "src" / "kinema")], env)


def startup(reps: int, tmp: Path) -> list[list[str]]:
    rows = []
    missing = ["animate", str(tmp / "missing.png"), "-o", str(tmp / "x.mp4")]
    for kind, label in (("none", "no bytecode (pip --no-compile)"), ("warm", "setup.sh: bytecode of what the CLI imports"),
                        ("full", "everything compiled (pip default)")):
        prefix = str(tmp / f"pyc-{kind}")
        cost = _build_cache(kind, prefix)
        env = _env(PYTHONPYCACHEPREFIX=prefix, PYTHONDONTWRITEBYTECODE="1")
        torch_s = _median([PY, "-c", "import torch"], reps, env)
        help_s = _median([KINEMA, "--help"], reps, env)
        bad_s = _median([KINEMA, *missing], reps, env)
        rows.append([label, f"{cost:.1f}", f"{torch_s:.2f}", f"{help_s:.2f}", f"{bad_s:.2f}", _load()])
    return rows


# ---- 2. exit -----------------------------------------------------------------------------------

def exit_cost(reps: int) -> list[list[str]]:
    """Seconds from the end of the program to the end of the process."""
    code = ("import time, sys, gc, atexit; import torch; freeze = sys.argv[1] == 'freeze'\n"
            "gc.freeze() if freeze else None\n"
            "atexit.register(lambda: print(time.time(), flush=True))\n")
    rows = []
    for mode in ("normal", "freeze"):
        times = []
        for _ in range(reps):
            out = subprocess.run([PY, "-c", code, mode], env=_env(), capture_output=True, text=True, check=True)
            times.append(time.time() - float(out.stdout.split()[-1]))
        label = "normal exit" if mode == "normal" else "gc.freeze() before exit (kinema.cli.entry)"
        rows.append([label, f"{statistics.median(times):.2f}", _load()])
    return rows


# ---- 3. threads on an idle and a busy CPU -----------------------------------------------------------

STEP_TIMER = """
import json, sys, time
import kinema
pipe = kinema.load(None)
pipe.progress_bar = False
ticks = []
pipe(sys.argv[1], steps=int(sys.argv[2]), strength=1.0, seed=0, callback=lambda _: ticks.append(time.perf_counter()))
print(json.dumps([b - a for a, b in zip(ticks, ticks[1:])]))
"""


def _spin() -> None:
    while True:
        pass


TORCH_JOB = """
import torch
x, w = torch.randn(1, 64, 16, 32, 32), torch.nn.Conv3d(64, 64, 3, padding=1)
with torch.no_grad():
    while True:
        w(x)
"""


@contextlib.contextmanager
def busy(kind: str):
    """Another job on the machine: "cpu", one busy process per core (pure Python, no threads), or
    "torch", another torch program with torch's default threads and wait policy (e.g. a training run)."""
    if kind == "idle":
        yield
        return
    if kind == "torch":
        procs = [subprocess.Popen([PY, "-c", TORCH_JOB], env=_env())]
    else:
        procs = [mp.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)]
        for p in procs:
            p.start()
    try:
        time.sleep(3.0 if kind == "torch" else 0.5)  # let it import and start working
        yield
    finally:
        for p in procs:
            p.terminate()
            p.wait() if kind == "torch" else p.join()


LOADS = {"idle": "idle", "cpu": "busy: 1 busy process per core", "torch": "busy: another torch job"}


def _step_seconds(steps: int, **env_vars) -> float:
    env = _env(**env_vars)
    out = subprocess.run([PY, "-c", STEP_TIMER, IMAGE, str(steps)], env=env, capture_output=True, text=True,
                         check=True)
    return statistics.median(json.loads(out.stdout.strip().splitlines()[-1]))


def threads(steps: int) -> list[list[str]]:
    rows = []
    for load in LOADS:
        with busy(load):
            la = _load()
            spin, passive = _step_seconds(steps), _step_seconds(steps, OMP_WAIT_POLICY="PASSIVE")
            one = _step_seconds(steps, OMP_NUM_THREADS="1")
        rows.append([LOADS[load], f"{spin:.3f}", f"{passive:.3f}", f"{one:.3f}", f"{spin / passive:.2f}", la])
    return rows


# ---- 4. where kinema animate's time goes --------------------------------------------------------

ANIMATE = """
import time
t0 = time.time()
from kinema.cli import _thread_policy
_thread_policy()  # what `kinema` does before torch loads
import kinema, kinema.sampling.pipeline
t1 = time.time()
pipe = kinema.load(None)
t2 = time.time()
result = pipe(IMAGE, "", seed=0)
t3 = time.time()
result.save(OUT)
t4 = time.time()
import atexit, gc, json
gc.freeze()  # as kinema.cli.entry
atexit.register(lambda: print(json.dumps([t0, t1, t2, t3, t4, time.time()]), flush=True))
"""


def animate(reps: int, tmp: Path) -> list[list[str]]:
    rows = []
    code = ANIMATE.replace("IMAGE", repr(IMAGE)).replace("OUT", repr(str(tmp / "a.mp4")))
    prefix = str(tmp / "pyc-warm")  # the bytecode scripts/setup.sh leaves
    if not Path(prefix).exists():
        _build_cache("warm", prefix)
    env = _env(PYTHONPYCACHEPREFIX=prefix, PYTHONDONTWRITEBYTECODE="1")
    for load in LOADS:
        with busy(load):
            la, parts = _load(), []
            for _ in range(reps):
                launch = time.time()
                out = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True, check=True)
                end = time.time()
                t = json.loads(out.stdout.strip().splitlines()[-1])
                parts.append([t[1] - launch, t[2] - t[1], t[3] - t[2], t[4] - t[3], end - t[5], end - launch])
        med = [statistics.median(p[i] for p in parts) for i in range(6)]
        rows.append([LOADS[load], *(f"{v:.2f}" for v in med), f"{med[2] / med[5]:.0%}", la])
    return rows


# ---- report ------------------------------------------------------------------------------------

def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4, help="sampler steps timed per thread setting")
    ap.add_argument("--sections", default="startup,exit,threads,animate")
    ap.add_argument("--out", default=None, help="Markdown file (default: print)")
    args = ap.parse_args()
    import torch

    sections = args.sections.split(",")
    parts = [f"<!-- produced by: .venv/bin/python benchmarks/startup_and_threads.py --reps {args.reps} "
             f"(torch {torch.__version__}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}) -->",
             "# Start-up, exit and thread settings", ""]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "startup" in sections:
            parts += ["## Start-up (s, median of fresh processes)", "",
                      _table(["bytecode", "cache build (s)", "python -c 'import torch'", "kinema --help",
                              "kinema animate MISSING.png", "load avg"], startup(args.reps, tmp)), ""]
        if "exit" in sections:
            parts += ["## Interpreter exit after `import torch` (s from the end of the program)", "",
                      _table(["exit", "seconds", "load avg"], exit_cost(args.reps)), ""]
        if "threads" in sections:
            parts += [f"## Seconds per sampler step, default model, {args.steps} steps (median)", "",
                      _table(["CPU", f"{os.cpu_count()} threads, OMP_WAIT_POLICY unset (spin)",
                              f"{os.cpu_count()} threads, PASSIVE (the CLI)", "1 thread", "spin / passive",
                              "load avg"],
                             threads(args.steps)), ""]
        if "animate" in sections:
            parts += ["## `kinema animate` with the default model (s, median)", "",
                      _table(["CPU", "start + imports", "load", "generate", "write", "exit", "total",
                              "generate / total", "load avg"], animate(args.reps, tmp)), ""]
    text = "\n".join(parts)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
