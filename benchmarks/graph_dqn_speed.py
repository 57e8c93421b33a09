"""The compiled engine (`utils.GraphDQN`): before and after, side by side.

    .venv/bin/python benchmarks/graph_dqn_speed.py [--baseline REV] [--rounds 3]

Every measurement runs in its own fresh Python process, and the processes
alternate round by round, so that the machine's ups and downs hit all of them
alike; each line prints the median and every round, and each ratio is the median
of the per-round ratios (a disturbed round shows in its own ratio).

1. Notebook 10's settings (CartPole-v1, 4-256-2, batch 64, one environment and one
   gradient step per environment step), 1 and 32 seeds: the engine of `--baseline`
   (a git revision: the CartPole-only engine before it was made general, by
   default) against today's, and today's bare update (sample, gradient step,
   target move in the same kind of compiled loop, no environment): the rate the
   engine would reach if acting, stepping and storing cost nothing.
2. The layer form (`utils.graph_dqn.dense`): today's engine (thin output layers
   as broadcast products that XLA fuses, the others batched matmuls) against
   every layer a batched matmul and every layer fused: CartPole at 1 and 32
   seeds, Acrobot (07's settings) at 32.
3, 4. Notebooks 07 and 08's settings: Acrobot-v1 at 07's (4 environments,
   4 gradient steps a vector step) and MountainCar-v0 at 08's chosen rung, the
   engine against the packaged agent (`utils.DQNAgent`, the loop those notebooks
   run), and 32 seeds in one graph.

Rates are environment steps per second (all seeds together) over `--steps` steps
a seed, after a first call of as many steps (random play, XLA's compile, the
first updates) that is timed apart and printed as the "first call" column: a
learner pays its compile once per engine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the last commit with the CartPole-only engine
BASELINE = "291c1d4"
# notebook 10's settings
NOTEBOOK10 = {
    "hidden_units": (256,),
    "num_envs": 1,
    "gradient_steps": 1,
}
# notebook 08's chosen rung: its LAST_RUNG without Double DQN (3-step returns)
NOTEBOOK08 = {
    "hidden_units": (256, 256),
    "learning_rate": 4e-3,
    "discount": 0.98,
    "target": "hard",
    "target_update_every": 300,
    "memory_capacity": 10_000,
    "batch_size": 128,
    "learning_starts": 1_024,
    "num_envs": 1,
    "train_every": 16,
    "gradient_steps": 8,
    "n_step": 3,
    "epsilon_end": 0.07,
    "epsilon_decay_steps": 24_000,
}
ENVS = {
    "cartpole": "CartPole-v1",
    "acrobot": "Acrobot-v1",
    "mountaincar": "MountainCar-v0",
}


def settings(name: str) -> dict:
    """The DQNConfig fields of a measurement's environment."""
    return {"cartpole": NOTEBOOK10, "acrobot": {}, "mountaincar": NOTEBOOK08}[name]


# -- the workers (each in its own process) -----------------------------------------
def engine(env: str, n_seeds: int, steps: int, form: str) -> dict:
    """Today's engine: `form` "engine" (as shipped), "matmul" or "fused" (every
    layer in one form, see `utils.graph_dqn.dense`), or "bare" (its update alone)."""
    import tensorflow as tf

    import utils.graph_dqn as graph_dqn
    from utils import DQNConfig

    if form == "matmul":  # every layer a batched matmul
        graph_dqn.FUSED_UP_TO = 0
    if form == "fused":  # every layer a broadcast product that XLA fuses
        graph_dqn.FUSED_UP_TO = 10**9
    config = DQNConfig(**settings(env))
    twin = graph_dqn.twin(ENVS[env])
    starts = twin.observe(twin.start(tf.fill([1, twin.start_draws], 0.5))).numpy()
    seeds = list(range(5_000_000, 5_000_000 + n_seeds))  # scratch seeds
    dqn = graph_dqn.GraphDQN(twin, config, seeds, starts)
    tic = time.perf_counter()
    dqn.train(steps)  # random play, XLA's compile, the first updates
    compile_seconds = time.perf_counter() - tic
    if form != "bare":
        tic = time.perf_counter()
        dqn.train(steps)
        return {
            "rate": n_seeds * steps / (time.perf_counter() - tic),
            "compile": compile_seconds,
        }
    from common import bare_update_rate

    return {"rate": bare_update_rate(dqn, steps, warmup=10), "compile": 0.0}


def baseline(n_seeds: int, steps: int) -> dict:
    """The engine of `--baseline` (its PYTHONPATH), at notebook 10's settings. Its
    loop count was a compile-time constant, so warm-up and timed call use the same
    count (one compile)."""
    import numpy as np

    from utils import DQNConfig
    from utils.graph_dqn import GraphDQN

    config = DQNConfig(**NOTEBOOK10)
    seeds = list(range(5_000_000, 5_000_000 + n_seeds))
    dqn = GraphDQN(config, seeds, np.zeros((1, 4), np.float32))
    tic = time.perf_counter()
    dqn.train(steps)
    compile_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    dqn.train(steps)
    return {
        "rate": n_seeds * steps / (time.perf_counter() - tic),
        "compile": compile_seconds,
    }


def agent(env: str, steps: int) -> dict:
    """The packaged agent (`utils.DQNAgent`) at the same settings, one seed."""
    from utils import DQNAgent, DQNConfig

    dqn = DQNAgent(ENVS[env], DQNConfig(**settings(env)), seed=5_000_000)
    tic = time.perf_counter()
    dqn.train(steps, eval_every=10 * steps, progress=False)
    compile_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    dqn.train(2 * steps, eval_every=10 * steps, progress=False)  # trains *to* 2 * steps
    return {"rate": steps / (time.perf_counter() - tic), "compile": compile_seconds}


# -- the driver -------------------------------------------------------------------
def run(worker: str, steps: int, pythonpath: Path) -> dict:
    command = [sys.executable, __file__, "--worker", worker, "--steps", str(steps)]
    env = {
        **os.environ,
        "PYTHONPATH": str(pythonpath),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",  # as in notebooks 06-11
    }
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=env
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def baseline_tree(revision: str) -> Path:
    """The baseline revision's files, unpacked into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="graph-dqn-baseline-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "utils", "blobenv"],
        check=True,
        capture_output=True,
    ).stdout
    archive_path = folder / "tree.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    return folder


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def compare(title: str, workers: dict, steps: int, rounds: int, paths: dict) -> dict:
    """Alternate fresh processes; print each worker's median rate and rounds, and
    each worker's median per-round ratio to the first worker."""
    results = {name: [] for name in workers}
    for _ in range(rounds):
        for name, worker in workers.items():
            results[name].append(run(worker, steps, paths.get(name, ROOT)))
    print(f"\n{title} ({steps:,} steps a seed, {rounds} alternating rounds)")
    first = next(iter(workers))
    for name, rounds_ in results.items():
        rates = [r["rate"] for r in rounds_]
        ratios = [r["rate"] / f["rate"] for r, f in zip(rounds_, results[first])]
        compile_s = median([r["compile"] for r in rounds_])
        text = ", ".join(f"{r:,.0f}" for r in rates)
        ratio = "" if name == first else f"  {median(ratios):5.2f}x {first}"
        ratio += f" (rounds {', '.join(f'{x:.2f}' for x in ratios)})" if ratio else ""
        print(
            f"  {name:<22} {median(rates):9,.0f} steps/s  first call {compile_s:5.1f} s"
            f"  [{text}]{ratio}",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument(
        "--parts", default="1,2,3,4", help="which comparisons to run (1, 2, 3, 4)"
    )
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker.split(":")
        if kind == "baseline":
            result = baseline(int(rest[0]), args.steps)
        elif kind == "agent":
            result = agent(rest[0], args.steps)
        else:
            result = engine(rest[0], int(rest[1]), args.steps, kind)
        print(json.dumps(result))
        return
    parts = set(args.parts.split(","))
    old = baseline_tree(args.baseline)
    if "1" in parts:
        for n in (1, 32):
            compare(
                f"CartPole-v1, notebook 10's settings, {n} seed(s)",
                {
                    f"baseline {args.baseline}": f"baseline:{n}",
                    "engine": f"engine:cartpole:{n}",
                    "bare update": f"bare:cartpole:{n}",
                },
                args.steps,
                args.rounds,
                {f"baseline {args.baseline}": old},
            )
    if "2" in parts:
        for env, n in (("cartpole", 1), ("cartpole", 32), ("acrobot", 32)):
            compare(
                f"Layer form, {ENVS[env]}, {n} seed(s)",
                {
                    "engine": f"engine:{env}:{n}",
                    "all matmul": f"matmul:{env}:{n}",
                    "all fused": f"fused:{env}:{n}",
                },
                args.steps,
                args.rounds,
                {},
            )
    for part, env, notebook in (("3", "acrobot", "07"), ("4", "mountaincar", "08")):
        if part in parts:
            compare(
                f"{ENVS[env]}, notebook {notebook}'s settings",
                {
                    "packaged agent, 1 seed": f"agent:{env}",
                    "engine, 1 seed": f"engine:{env}:1",
                    "engine, 32 seeds": f"engine:{env}:32",
                },
                args.steps,
                args.rounds,
                {},
            )


if __name__ == "__main__":
    main()
