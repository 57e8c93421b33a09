"""CartPole DQN: notebook 06's loop against stable-baselines3's DQN, same settings.

    .venv/bin/python benchmarks/cartpole_vs_sb3.py [--peers-python PATH]

Settings shared by both: Q-network 4-256-2 (ReLU), Adam 1e-3, Huber loss, discount
0.99, replay 32,000, batch 64, learning starts at 500 transitions, one gradient
step per environment step, Polyak target updates with tau 0.005 after every step,
epsilon linear from 1 to 0.05 over 5,000 steps. (stable-baselines3 also clips the
gradient norm at 10 by default; we lift that to match ours.)

Two measurements, each library in its own fresh process, alternating:

- speed: environment steps per second over `--speed-steps` steps (3 rounds,
  median); random-policy warm-up and process start excluded;
- time to solve: for each of 3 seeds, the training wall time (evaluation excluded)
  until the greedy mean return over 100 start states (seeds 10,000-10,099, which
  select nothing) first reaches 475, checked every 2,500 steps, within 50,000 steps.

Our loop is notebook 06's: one XLA-compiled call per step that acts and learns,
called through its concrete function, with TensorFlow's oneDNN kernels off (for
a 4-256-2 network their setup costs more than the arithmetic). stable-baselines3
runs as a learner would run it: defaults but for the settings above, on the CPU.

Our loop runs in the course's environment (this interpreter). PyTorch and
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


# -- our loop: notebook 06's code (cells "The networks" to "Training") -----------
def ours(seed: int, steps: int, solve: bool) -> dict:
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
            if timed_from is None:
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


# -- stable-baselines3's DQN, at the same settings --------------------------------
def sb3(seed: int, steps: int, solve: bool) -> dict:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

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
        """Times training from the first gradient step; evaluates every EVAL_EVERY."""

        def __init__(self):
            super().__init__()
            self.result, self.train_seconds, self.tic, self.timed_from = (
                {},
                0.0,
                0,
                None,
            )

        def _on_step(self) -> bool:
            step = self.num_timesteps
            if self.timed_from is None and step > LEARNING_STARTS:
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

    model = DQN(
        "MlpPolicy",
        gym.make("CartPole-v1"),
        learning_rate=LEARNING_RATE,
        buffer_size=MEMORY_CAPACITY,
        learning_starts=LEARNING_STARTS,
        batch_size=BATCH_SIZE,
        tau=TAU,
        gamma=DISCOUNT,
        train_freq=1,
        gradient_steps=1,
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
    return {"steps_per_second": timed_steps / (time.perf_counter() - clock.tic)}


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


def run_worker(python: str, worker: str, seed: int, steps: int, solve: bool) -> dict:
    command = [python, __file__, "--worker", worker, "--seed", str(seed)]
    command += ["--steps", str(steps)] + (["--solve"] if solve else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=env
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peers-python", help="a Python with torch + stable-baselines3"
    )
    parser.add_argument("--speed-steps", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--worker", choices=["ours", "sb3"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--solve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = ours if args.worker == "ours" else sb3
        print(json.dumps(worker(args.seed, args.steps, args.solve)))
        return

    pythons = {"ours": sys.executable, "sb3": peers_python(args.peers_python)}
    speeds = {"ours": [], "sb3": []}
    for round_ in range(args.rounds):
        for name, python in pythons.items():
            result = run_worker(python, name, round_, args.speed_steps, solve=False)
            speeds[name].append(result["steps_per_second"])
    median = {name: sorted(values)[len(values) // 2] for name, values in speeds.items()}
    print(f"CartPole-v1, one gradient step per env step, {args.speed_steps:,} steps, ")
    print(f"median of {args.rounds} alternating fresh processes (steps/s):")
    for name, values in speeds.items():
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:<5} {median[name]:7.0f}   (rounds: {rounds})")
    print(f"  ours / stable-baselines3: {median['ours'] / median['sb3']:.2f}x")

    print(f"time to first reach {SOLVED} on the 100 held-out starts (training s):")
    for seed in args.seeds:
        line = []
        for name, python in pythons.items():
            result = run_worker(python, name, seed, SOLVE_STEPS, solve=True)
            if result["solved_step"] is None:
                line.append(f"{name} not solved in {SOLVE_STEPS:,} steps")
            else:
                line.append(
                    f"{name} {result['train_seconds']:5.1f} s "
                    f"(step {result['solved_step']:,})"
                )
        print(f"  seed {seed}: " + "; ".join(line))


if __name__ == "__main__":
    main()
