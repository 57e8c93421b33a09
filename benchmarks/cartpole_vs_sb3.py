"""CartPole DQN: the course's loops against stable-baselines3's DQN, same settings.

    .venv/bin/python benchmarks/cartpole_vs_sb3.py [--peers-python PATH] [--graph-only]

Settings shared by all: Q-network 4-256-2 (ReLU), Adam 1e-3, Huber loss, discount
0.99, replay 32,000, batch 64, learning starts at 500 transitions, one gradient
step per environment step, Polyak target updates with tau 0.005 per gradient step,
epsilon linear from 1 to 0.05 over 5,000 steps. (stable-baselines3 also clips the
gradient norm at 10 by default; we lift that to match ours.)

Three loops:

- `notebook06`: notebook 06's loop, one environment, one XLA-compiled call per
  step that acts and learns, called through its concrete function, with
  TensorFlow's oneDNN kernels off (for a 4-256-2 network their setup costs more
  than the arithmetic);
- `agent`: the course's packaged agent, `utils.DQNAgent` (notebooks 07-09), with
  one environment, and with its defaults: four environments side by side, one
  compiled call per vector step that acts for all four and takes four gradient
  steps;
- `sb3`: stable-baselines3's DQN as a learner would run it, defaults but for the
  settings above, on the CPU, with the same number of environments and
  `gradient_steps` = environments per vector step. It moves its target network
  once per vector step, so with four environments its tau is 1 - (1 - 0.005)^4:
  the same movement per vector step as four of ours.

Measurements, each loop in its own fresh process, alternating:

- speed: environment steps per second over `--speed-steps` steps (3 rounds,
  median); process start, random play and the first 1,000 training steps
  (warm-up: XLA compiles on the first call) excluded;
- time to solve (the agent's defaults against stable-baselines3 with four
  environments): for each of 3 seeds, the training wall time (evaluation
  excluded) until the greedy mean return over 100 start states (seeds
  10,000-10,099, which select nothing) first reaches 475, checked every 2,500
  steps, within 50,000 steps.

- notebook 10's loop (`utils.GraphDQN`, the whole run in one XLA-compiled call,
  environment included): one seed against stable-baselines3 with one environment,
  then 8 and 32 seeds in one graph against the rate of the bare update (sample,
  gradient step, target move, timed alone in the same kind of loop at the same
  number of seeds): the machine's limit at one gradient step per environment step.
  `--graph-only` runs this part alone.

The course's loops run in the course's environment (this interpreter). PyTorch and
stable-baselines3 are not course dependencies: they live in their own virtual
environment, `.venv-peers`, which this script creates from
`benchmarks/requirements-peers.txt` on first use (or pass `--peers-python`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".venv-peers"
PEERS_REQUIREMENTS = ROOT / "benchmarks" / "requirements-peers.txt"

HIDDEN_UNITS = 256
LEARNING_RATE = 1e-3
DISCOUNT = 0.99
MEMORY_CAPACITY = 32_000
BATCH_SIZE = 64
LEARNING_STARTS = 500
TAU = 0.005
EPSILON_END, EPSILON_DECAY_STEPS = 0.05, 5_000
EVAL_SEEDS = list(range(10_000, 10_100))
EVAL_EVERY = 2_500
SOLVE_STEPS = 50_000
SOLVED = 475
# gradient steps before the speed clock starts (XLA compiles on the first call)
WARMUP_STEPS = 1_000


# -- notebook 06's loop (cells "The networks" to "Training") ----------------------
def notebook06(seed: int, steps: int, solve: bool) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # as in notebook 06: plain kernels
    import gymnasium as gym
    import keras
    import numpy as np
    import tensorflow as tf
    from common import make_act_and_learn

    from utils import ReplayMemory, seed_everything

    seed_everything(seed, tensorflow=True)

    def build_q_network():
        return keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(2),
            ]
        )

    q_network, target_network = build_q_network(), build_q_network()
    target_network.set_weights(q_network.get_weights())
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)
    optimizer.build(q_network.trainable_variables)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def greedy_actions(observations):
        return tf.argmax(q_network(observations, training=False), axis=1)

    act_and_learn_graph = make_act_and_learn(
        q_network, target_network, optimizer, DISCOUNT, TAU
    )
    eval_envs = gym.make_vec(
        "CartPole-v1", num_envs=len(EVAL_SEEDS), vectorization_mode="sync"
    )

    def evaluate():
        observations, _ = eval_envs.reset(seed=EVAL_SEEDS)
        returns, running = np.zeros(len(EVAL_SEEDS)), np.ones(len(EVAL_SEEDS), bool)
        while running.any():
            actions = greedy_actions(observations).numpy()
            observations, rewards, terminated, truncated, _ = eval_envs.step(actions)
            returns += rewards * running
            running &= ~(terminated | truncated)
        return returns.mean()

    memory = ReplayMemory(MEMORY_CAPACITY, (4,), np.float32, seed=seed)
    rng, env = np.random.default_rng(seed), gym.make("CartPole-v1")
    observation, _ = env.reset(seed=seed)
    train_seconds, tic, timed_from = 0.0, time.perf_counter(), None
    for step in range(1, steps + 1):
        epsilon = max(EPSILON_END, 1 - (1 - EPSILON_END) * step / EPSILON_DECAY_STEPS)
        if len(memory) >= LEARNING_STARTS:
            if timed_from is None and step == LEARNING_STARTS + WARMUP_STEPS:
                timed_from = (step, time.perf_counter())
            batch = memory.sample(BATCH_SIZE)[:5]
            greedy, _ = act_and_learn_graph(
                tf.constant(observation), *(tf.constant(a) for a in batch)
            )
            action = int(greedy)
        else:
            action = int(rng.integers(2))
        if rng.random() < epsilon:
            action = int(rng.integers(2))
        next_observation, reward, terminated, truncated, _ = env.step(action)
        memory.append(observation, action, reward, next_observation, terminated)
        observation = next_observation
        if terminated or truncated:
            observation, _ = env.reset()
        if solve and step % EVAL_EVERY == 0:
            train_seconds += time.perf_counter() - tic
            if evaluate() >= SOLVED:
                return {"solved_step": step, "train_seconds": train_seconds}
            tic = time.perf_counter()
    if solve:
        return {"solved_step": None, "train_seconds": train_seconds}
    timed_steps = steps - timed_from[0] + 1
    return {"steps_per_second": timed_steps / (time.perf_counter() - timed_from[1])}


# -- the course's packaged agent (utils.DQNAgent), at the same settings -----------
def shared_config(num_envs: int):
    """The settings above as a `DQNConfig`: `num_envs` environments side by side and
    one gradient step per environment step."""
    from utils import DQNConfig

    return DQNConfig(
        hidden_units=(HIDDEN_UNITS,),
        learning_rate=LEARNING_RATE,
        discount=DISCOUNT,
        loss="huber",
        target="soft",
        tau=TAU,
        memory_capacity=MEMORY_CAPACITY,
        batch_size=BATCH_SIZE,
        learning_starts=LEARNING_STARTS,
        num_envs=num_envs,
        train_every=1,
        gradient_steps=num_envs,  # one gradient step per environment step
        epsilon_end=EPSILON_END,
        epsilon_decay_steps=EPSILON_DECAY_STEPS,
    )


def agent(seed: int, steps: int, solve: bool, num_envs: int) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # as in notebooks 06-09
    from utils import DQNAgent

    config = shared_config(num_envs)
    dqn = DQNAgent("CartPole-v1", config, seed=seed)
    if solve:
        log = dqn.train(steps, EVAL_EVERY, held_out_seeds=EVAL_SEEDS, progress=False)
        for step, mean, seconds in zip(
            log.eval_steps, log.held_out_means, log.train_seconds
        ):
            if mean >= SOLVED:
                return {"solved_step": step, "train_seconds": seconds}
        return {"solved_step": None, "train_seconds": log.train_seconds[-1]}
    # random play, then the warm-up; `train` trains *to* a step count, so the timed
    # call goes to warm-up + steps and plays exactly `steps` steps
    warm = LEARNING_STARTS + WARMUP_STEPS
    dqn.train(warm, eval_every=10 * (warm + steps), progress=False)
    start = time.perf_counter()
    dqn.train(warm + steps, eval_every=10 * (warm + steps), progress=False)
    return {"steps_per_second": steps / (time.perf_counter() - start)}


# -- notebook 10's loop: the whole run in one compiled graph, S seeds at once -------
def graph(seed: int, steps: int, n_seeds: int, bare: bool) -> dict:
    """Aggregate env steps/s of `utils.GraphDQN` over `steps` steps a seed (one call
    after the warm-up), or with `bare` the rate of its gradient steps alone: sample,
    update and target move in the same kind of compiled loop, no acting, no
    environment, no storing (the ceiling for one gradient step per env step). Also
    the end-to-end time of a run of `steps` steps from a new engine: compile
    included, as a learner pays it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # as in notebook 10
    import numpy as np

    from utils.graph_dqn import GraphDQN

    config = shared_config(num_envs=1)
    seeds = [seed * 1_000 + k for k in range(n_seeds)]
    start = time.perf_counter()
    dqn = GraphDQN("CartPole-v1", config, seeds, np.zeros((1, 4), np.float32))
    dqn.train(steps)  # random play, compile, the first `steps` steps
    end_to_end = time.perf_counter() - start
    if not bare:
        start = time.perf_counter()
        dqn.train(steps)  # the same compiled program: steps is a runtime value
        rate = n_seeds * steps / (time.perf_counter() - start)
        return {"steps_per_second": rate, "end_to_end_seconds": end_to_end}
    from common import bare_update_rate

    return {"steps_per_second": bare_update_rate(dqn, steps, warmup=100)}


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def rates(results: dict, name: str) -> list[float]:
    return [r["steps_per_second"] for r in results[name]]


def round_ratios(results, name, key="steps_per_second", invert=False):
    """The graph's ratio to `name` in each round (for times, `invert`: theirs over
    ours), and the median of those ratios, with the rounds as text."""
    pairs = zip(results["graph"], results[name])
    values = [(b[key] / a[key]) if invert else (a[key] / b[key]) for a, b in pairs]
    return median(values), ", ".join(f"{v:.2f}" for v in values)


def measure_graph(sb3_python: str, seed_counts: list[int], steps: int, rounds: int):
    """One seed against stable-baselines3 (one env), then S seeds against the bare
    update's rate at the same S; alternating fresh processes. Ratios are the median
    of the per-round ratios, each round's printed (a disturbed round shows)."""
    python = sys.executable
    for n_seeds in seed_counts:
        names = ["graph", "bare"] + (["sb3"] if n_seeds == 1 else [])
        results = {name: [] for name in names}
        for round_ in range(rounds):
            for name in names:
                if name == "sb3":
                    result = run_worker(sb3_python, "sb3", round_, steps, False, 1)
                else:
                    worker = f"{name}:{n_seeds}"
                    result = run_worker(python, worker, round_, steps, False, 1)
                results[name].append(result)

        graph_rates = ", ".join(f"{v:.0f}" for v in rates(results, "graph"))
        share, share_rounds = round_ratios(results, "bare")
        graph_median = median(rates(results, "graph"))
        line = (
            f"{n_seeds:>2} seed(s) in one graph: {graph_median:7.0f} env steps/s in all"
            f" (rounds: {graph_rates}); bare update "
            f"{median(rates(results, 'bare')):7.0f} gradient steps/s: {share:.0%} of it"
            f" (rounds {share_rounds})"
        )
        if "sb3" in results:
            speed, speed_rounds = round_ratios(results, "sb3")
            whole, whole_rounds = round_ratios(
                results, "sb3", "end_to_end_seconds", invert=True
            )
            line += (
                f"; stable-baselines3 {median(rates(results, 'sb3')):.0f}: "
                f"{speed:.1f}x (rounds {speed_rounds}); a {steps:,}-step run end to "
                f"end (construction and compile included): {whole:.1f}x "
                f"(rounds {whole_rounds})"
            )
        print(line, flush=True)


# -- stable-baselines3's DQN, at the same settings --------------------------------
def sb3(seed: int, steps: int, solve: bool, num_envs: int) -> dict:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    eval_envs = gym.make_vec(
        "CartPole-v1", num_envs=len(EVAL_SEEDS), vectorization_mode="sync"
    )

    def evaluate(model):
        observations, _ = eval_envs.reset(seed=EVAL_SEEDS)
        returns, running = np.zeros(len(EVAL_SEEDS)), np.ones(len(EVAL_SEEDS), bool)
        while running.any():
            actions, _ = model.predict(observations, deterministic=True)
            observations, rewards, terminated, truncated, _ = eval_envs.step(actions)
            returns += rewards * running
            running &= ~(terminated | truncated)
        return returns.mean()

    class Clock(BaseCallback):
        """Speed: times the steps after the warm-up. Solve: times training from
        step 0 (as the course's loops are timed), evaluates every EVAL_EVERY."""

        def __init__(self):
            super().__init__()
            self.result, self.train_seconds, self.tic, self.timed_from = (
                {},
                0.0,
                0,
                None,
            )

        def _on_training_start(self) -> None:
            self.tic = time.perf_counter()

        def _on_step(self) -> bool:
            step = self.num_timesteps
            warm = LEARNING_STARTS + WARMUP_STEPS
            if not solve and self.timed_from is None and step >= warm:
                self.timed_from, self.tic = step, time.perf_counter()
            if solve and step % EVAL_EVERY == 0:
                self.train_seconds += time.perf_counter() - self.tic
                if evaluate(self.model) >= SOLVED:
                    self.result = {
                        "solved_step": step,
                        "train_seconds": self.train_seconds,
                    }
                    return False
                self.tic = time.perf_counter()
            return True

    start = time.perf_counter()
    model = DQN(
        "MlpPolicy",
        make_vec_env("CartPole-v1", n_envs=num_envs, seed=seed),
        learning_rate=LEARNING_RATE,
        buffer_size=MEMORY_CAPACITY,
        learning_starts=LEARNING_STARTS,
        batch_size=BATCH_SIZE,
        # stable-baselines3 updates the target once per vector step; ours after every
        # gradient step: the same total movement per vector step
        tau=1 - (1 - TAU) ** num_envs,
        gamma=DISCOUNT,
        train_freq=1,
        gradient_steps=num_envs,  # one gradient step per environment step
        target_update_interval=1,
        exploration_fraction=EPSILON_DECAY_STEPS / steps,
        exploration_initial_eps=1.0,
        exploration_final_eps=EPSILON_END,
        max_grad_norm=1e10,
        policy_kwargs={"net_arch": [HIDDEN_UNITS]},
        seed=seed,
        device="cpu",
    )
    clock = Clock()
    model.learn(total_timesteps=steps, callback=clock)
    if solve:
        return clock.result or {
            "solved_step": None,
            "train_seconds": clock.train_seconds,
        }
    timed_steps = steps - clock.timed_from
    return {
        "steps_per_second": timed_steps / (time.perf_counter() - clock.tic),
        "end_to_end_seconds": time.perf_counter() - start,
    }


# -- the driver: fresh processes, alternating --------------------------------------
def peers_python(given: str | None) -> str:
    if given:
        return given
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(
            f"creating {PEERS_VENV} from {PEERS_REQUIREMENTS} (first use)", flush=True
        )
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(PEERS_REQUIREMENTS)],
            check=True,
        )
    return str(python)


def run_worker(
    python: str, worker: str, seed: int, steps: int, solve: bool, num_envs: int = 1
) -> dict:
    command = [python, __file__, "--worker", worker, "--seed", str(seed)]
    command += ["--steps", str(steps), "--num-envs", str(num_envs)]
    command += ["--solve"] if solve else []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=env
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure_speed(pythons: dict, num_envs: int, steps: int, rounds: int) -> None:
    """Alternating fresh processes, median steps/s per worker, ratios to SB3."""
    speeds = {name: [] for name in pythons}
    for round_ in range(rounds):
        for name, python in pythons.items():
            result = run_worker(python, name, round_, steps, False, num_envs)
            speeds[name].append(result["steps_per_second"])
    median = {name: sorted(values)[len(values) // 2] for name, values in speeds.items()}
    print(
        f"{num_envs} env(s), one gradient step per env step, {steps:,} steps, "
        f"median of {rounds} alternating fresh processes (steps/s):"
    )
    for name, values in speeds.items():
        rounds_text = ", ".join(f"{v:.0f}" for v in values)
        ratio = median[name] / median["sb3"]
        print(
            f"  {name:<10} {median[name]:7.0f}   {ratio:5.2f}x stable-baselines3"
            f"   (rounds: {rounds_text})"
        )


def measure_solve_time(pythons: dict, num_envs: int, seeds: list[int]) -> None:
    print(
        f"{num_envs} env(s): training time to first reach {SOLVED} on the 100 "
        "held-out starts:"
    )
    for seed in seeds:
        line = []
        for name, python in pythons.items():
            result = run_worker(python, name, seed, SOLVE_STEPS, True, num_envs)
            if result["solved_step"] is None:
                line.append(f"{name} not solved in {SOLVE_STEPS:,} steps")
            else:
                line.append(
                    f"{name} {result['train_seconds']:5.1f} s "
                    f"(step {result['solved_step']:,})"
                )
        print(f"  seed {seed}: " + "; ".join(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peers-python", help="a Python with torch + stable-baselines3"
    )
    parser.add_argument("--speed-steps", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--graph-only",
        action="store_true",
        help="only notebook 10's loop: 1, 8 and 32 seeds in one graph",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--num-envs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--solve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker and args.worker.startswith(("graph:", "bare:")):
        name, n_seeds = args.worker.split(":")
        result = graph(args.seed, args.steps, int(n_seeds), bare=name == "bare")
        print(json.dumps(result))
        return
    if args.worker:
        worker = {
            "notebook06": lambda *a: notebook06(*a[:3]),
            "agent": agent,
            "sb3": sb3,
        }
        result = worker[args.worker](args.seed, args.steps, args.solve, args.num_envs)
        print(json.dumps(result))
        return

    sb3_python = peers_python(args.peers_python)
    if args.graph_only:
        measure_graph(sb3_python, [1, 8, 32], args.speed_steps, args.rounds)
        return
    ours = {"notebook06": sys.executable, "agent": sys.executable}
    # one environment: notebook 06's loop and the packaged agent
    measure_speed({**ours, "sb3": sb3_python}, 1, args.speed_steps, args.rounds)
    # the packaged agent's defaults: four environments, four gradient steps per call
    defaults = {"agent": sys.executable, "sb3": sb3_python}
    measure_speed(defaults, 4, args.speed_steps, args.rounds)
    measure_solve_time(defaults, 4, args.seeds)
    # notebook 10's loop: the whole run in one graph
    measure_graph(sb3_python, [1, 8, 32], args.speed_steps, args.rounds)


if __name__ == "__main__":
    main()
