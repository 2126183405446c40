"""Mutation testing of dmftlib with mutmut 3 (issue 9, part 3): see tools/mutation.md.

Usage (from the repository root, with the project's venv):

    python tools/mutation.py linear [--sample 60] [--seed 0] [--workdir /tmp/dmftlib-mutation]

For one target (``linear``, ``committee``, ``rnn``, ``core``) it copies the repository to a scratch
folder (mutmut's ``mutants/`` never lands in the checkout), writes a ``setup.cfg`` that mutates only
the target's files and runs only the target's own tests, generates every mutant, draws a uniform
random sample of ``--sample`` of them (``random.Random(seed).sample`` over the sorted mutant names;
``--sample 0`` runs them all), runs mutmut on the sample and prints killed/total.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "linear": (["dmftlib/linear.py"], ["tests/test_linear.py"]),
    "committee": (["dmftlib/committee.py"], ["tests/test_committee.py"]),
    "rnn": (["dmftlib/rnn.py"], ["tests/test_rnn.py"]),
    "core": (["dmftlib/core/*"], ["tests/test_core_fixed_point.py", "tests/test_core_gaussian.py",
                                  "tests/test_core_misc.py", "tests/test_core_rmt.py", "tests/test_core_timegrid.py",
                                  "tests/test_sampling_dmft.py", "tests/test_core_validation.py"]),
}


def prepare(target: str, workdir: Path) -> Path:
    work = workdir / target
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "dmftlib", work / "dmftlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "book" / "data", work / "book" / "data")     # precomputed data some tests re-create
    only, tests = TARGETS[target]
    cfg = ["[mutmut]", "source_paths=dmftlib", "only_mutate=" + "\n    ".join(only),
           "also_copy=book/data",
           "pytest_add_cli_args_test_selection=" + "\n    ".join(tests),
           "pytest_add_cli_args=-p no:cacheprovider\n    -q\n    -x", ""]
    (work / "setup.cfg").write_text("\n".join(cfg))
    return work


def mutmut(work: Path, *names: str, check=False):
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONPATH=str(work))
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run(["nice", "-n", "10", str(exe), "run", "--max-children", "1", *names], cwd=work, env=env,
                          check=check, capture_output=True, text=True)


def mutant_status(work: Path) -> dict:
    out = {}
    for meta in (work / "mutants").rglob("*.meta"):
        out.update(json.loads(meta.read_text())["exit_code_by_key"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", choices=sorted(TARGETS))
    ap.add_argument("--sample", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/dmftlib-mutation"))
    args = ap.parse_args()
    work = prepare(args.target, args.workdir)
    # generation pass: a name pattern that matches no mutant generates them all and tests none
    r = mutmut(work, "no_such_mutant_zz*")
    names = sorted(mutant_status(work))
    if not names:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit("no mutants generated")
    sample = names if args.sample <= 0 or args.sample >= len(names) else sorted(
        random.Random(args.seed).sample(names, args.sample))
    r = mutmut(work, *sample)
    status = {k: v for k, v in mutant_status(work).items() if k in sample}
    # mutmut exit codes: 1 = a test failed (killed), 0 = survived, 33 = no test covers it,
    # -24/152/-9 = timeout (counted as killed: the mutant made the tests hang), 34 = skipped
    killed = [k for k, v in status.items() if v not in (0, 33, None, 34)]
    survived = sorted(k for k, v in status.items() if v in (0, 33))
    print(f"{args.target}: {len(names)} mutants generated, sample {len(sample)} (seed {args.seed}); "
          f"killed {len(killed)}/{len(status)}; survived {len(survived)}")
    for k in survived:
        print("  survived", k, "(no test)" if status[k] == 33 else "")
    (args.workdir / f"{args.target}.json").write_text(json.dumps(
        {"n_mutants": len(names), "sample": sample, "status": status}, indent=1))
    if r.returncode or not status:
        print(r.stdout[-2000:], r.stderr[-2000:])


if __name__ == "__main__":
    main()
