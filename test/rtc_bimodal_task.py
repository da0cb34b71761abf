# Copyright 2026 pi05_ros maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
A synthetic bimodal task, a small PI0.5 trained on it, and closed-loop execution with delay.

The task: a point robot (two joints, x and y in metres) goes from (-1.5, 0) to (1.5, 0) around
a disc obstacle at the origin, over it or under it, chosen at random per demonstration. The path
is straight on the first and last 0.7 m and bulges by +-A around the obstacle in between, so a
state on the straight part says nothing about the side: a policy that imitates both sides is
bimodal there, and two chunks sampled from the same state pick different sides.

The policy: a PI0.5-geometry network (SigLIP + Gemma VLM + adaRMS action expert, tiny widths),
trained by flow matching (`PI05Model.compute_loss`) on demonstration chunks of H = 16 rows at
20 Hz: absolute positions, quantile-normalized to [-1, 1] (`task_normalizer`). Its inputs are a
blank 14x14 image (one camera) and a four-token prompt holding the state: for each coordinate a
coarse and a fine base-16 digit of its 256-bin discretization, as PI0.5 puts the discretized
state into the prompt.

Closed loop (`simulate`): every s rows the policy observes the commanded state; its chunk
arrives d rows later and is submitted to the TrajectoryExecutor (Ruckig-limited), which ticks at
250 Hz or 500 Hz; the robot follows its command exactly. Splice only: plain sampling, the
executor blends each chunk in. RTC + splice: the runtime (`pi05_ros.policy.rtc.RtcRuntime`)
guides each chunk toward the previous one (frozen prefix, d from the measured delays) and the
executor takes it without a blend where it continues the running chunk. Episodes run batched
through the network, one runtime and one executor each.
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.metrics import CommandLog, derivatives
from pi05_ros.model.config import GemmaConfig, PI05Config, VisionConfig
from pi05_ros.model.loading import init_random_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.policy.normalize import Normalizer, NormStats
from pi05_ros.policy.profiles import actions_to_robot, CameraSpec, RobotProfile
from pi05_ros.policy.rtc import RtcRuntime, RtcSettings
from pi05_ros.replay.rtc_compare import pair_disagreement
from safetensors import safe_open
from safetensors.torch import load_file, save_file
import torch

MS = 1_000_000
ROW_NS = 50 * MS  # 20 Hz rows (DROID runs PI0.5 at 15 Hz)
HORIZON = 16  # rows per chunk (0.8 s)
EXECUTION_HORIZON = 8  # s: a new observation every 8 rows (0.4 s)
CAMERA = 'base_0_rgb'
JOINTS = ('x', 'y')
BINS, DIGIT = 256, 16  # state discretization: 256 bins = coarse digit * 16 + fine digit
BIN_WIDTH = np.array([3.2, 1.6]) / BINS  # x, y (metres)
STATE_LOW = -(BINS // 2 - 0.5) * BIN_WIDTH  # 0 is the centre of bin 127: y = 0 leans no way
SIDE_BAND = 0.05  # |y| above which a path is on a side of the obstacle
FIXTURE = Path(__file__).resolve().parent / 'data' / 'rtc_bimodal_policy.safetensors'
# the recipe the fixture was trained with (`bench/rtc_bimodal.py --write-fixture`)
FIXTURE_RECIPE = {'steps': 6000, 'batch': 64, 'seed': 0, 'lr': 2e-3, 'ema_decay': 0.999,
                  'uniform_time': False}
CURVE_STEPS = 40  # the fixture keeps its first training losses: a rerun must match them


@dataclasses.dataclass(frozen=True)
class Task:
    """Geometry of the reaching task (metres, seconds)."""

    start: Tuple[float, float] = (-1.5, 0.0)
    goal: Tuple[float, float] = (1.5, 0.0)
    obstacle_radius: float = 0.3  # disc at the origin
    bulge: float = 0.55  # A: the detour's distance from the x axis at x = 0
    bulge_half_width: float = 0.8  # w: the detour spans |x| < w
    speed: float = 0.75  # x advances at this speed (m/s)
    goal_tolerance: float = 0.05
    state_noise: float = 0.02  # demonstrations start this far (std) off the path...
    recovery_rows: float = 8.0  # ...and rejoin it with this time constant (rows)

    def path(self, side: float, rows: int) -> np.ndarray:
        """Return the demonstrated path [rows, 2] at ROW_NS spacing (side +1 over, -1 under)."""
        t = np.arange(rows) * ROW_NS * 1e-9
        x = np.minimum(self.start[0] + self.speed * t, self.goal[0])
        u = np.clip(x / self.bulge_half_width, -1.0, 1.0)
        y = side * self.bulge * 0.5 * (1.0 + np.cos(np.pi * u))
        return np.stack([x, y], axis=1)

    @property
    def path_rows(self) -> int:
        """Rows from start to goal along the path."""
        distance = self.goal[0] - self.start[0]
        return int(math.ceil(distance / self.speed / (ROW_NS * 1e-9))) + 1

    def demonstrations(self, rng: np.random.Generator, batch: int, horizon: int = HORIZON
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """
        Draw (states [B, 2], chunks [B, H, 2], sides [B]) from demonstrations.

        A side at random, a row along the path (or resting at the goal), the state there off
        the path by N(0, state_noise^2), and the chunk: the path's next H rows, starting from
        the perturbed state and rejoining the path with time constant recovery_rows.
        """
        rows = self.path_rows + horizon + horizon // 2
        sides = rng.choice([-1.0, 1.0], size=batch)
        paths = np.stack([self.path(1.0, rows), self.path(-1.0, rows)])  # [2, rows, 2]
        index = rng.integers(0, self.path_rows + horizon // 2, size=batch)
        offset = rng.normal(0.0, self.state_noise, size=(batch, 2))
        which = (sides < 0).astype(int)
        states = paths[which, index] + offset
        rows_ahead = index[:, None] + 1 + np.arange(horizon)
        decay = np.exp(-(1 + np.arange(horizon)) / self.recovery_rows)  # [H]
        chunks = paths[which[:, None], rows_ahead] + offset[:, None, :] * decay[None, :, None]
        return states, chunks, sides

    def collided(self, positions: np.ndarray) -> bool:
        """Whether any position [T, 2] is inside the obstacle."""
        return bool((np.linalg.norm(positions, axis=-1) < self.obstacle_radius).any())

    def reached(self, positions: np.ndarray) -> bool:
        """Whether the last position [T, 2] is at the goal."""
        return bool(np.linalg.norm(positions[-1] - np.asarray(self.goal)) < self.goal_tolerance)


def side_of(positions: np.ndarray) -> int:
    """Side of the obstacle a path [T, 2] takes: +1 over, -1 under, 0 neither (|y| < band)."""
    y = positions[:, 1]
    k = int(np.argmax(np.abs(y)))
    return 0 if abs(y[k]) < SIDE_BAND else int(np.sign(y[k]))


def side_changes(positions: np.ndarray) -> int:
    """Return how often a path [T, 2] changes side: |y| > band on one side, later on the other."""
    y = positions[:, 1]
    sides = np.sign(y[np.abs(y) > SIDE_BAND])
    return int((sides[1:] != sides[:-1]).sum())


# --- the policy --------------------------------------------------------------------------------

def policy_config(horizon: int = HORIZON) -> PI05Config:
    """Return a tiny PI0.5 geometry for the task: 2-D actions, one 14x14 camera, 4 state tokens."""
    gemma = {'width': 64, 'depth': 2, 'mlp_dim': 128, 'num_heads': 4, 'num_kv_heads': 1,
             'head_dim': 16}
    return PI05Config(
        vlm=GemmaConfig(**gemma),
        action_expert=GemmaConfig(**gemma, use_adarms=True, adarms_cond_dim=64),
        vision=VisionConfig(hidden_size=16, num_hidden_layers=1, intermediate_size=32,
                            num_attention_heads=2, patch_size=14, image_size=14),
        vocab_size=1 + 2 * len(JOINTS) * DIGIT, action_dim=len(JOINTS),
        action_horizon=horizon, max_token_len=2 * len(JOINTS), num_steps=10,
        image_keys=(CAMERA,))


def task_profile() -> RobotProfile:
    """Return the robot profile of the task: absolute x, y targets, one camera, 20 Hz rows."""
    return RobotProfile(
        name='bimodal_2d', joint_names=JOINTS, state_names=JOINTS, state_dims=JOINTS,
        action_dims=JOINTS, action_space='absolute', action_mask=(),
        cameras=(CameraSpec('camera', CAMERA, 'camera/image_raw'),), control_dt_ns=ROW_NS,
        chunk_rows=HORIZON, asset_id='bimodal_2d', state_sign=(1.0, 1.0),
        action_sign=(1.0, 1.0))


def task_normalizer(task: Task = Task()) -> Normalizer:
    """Return PI0.5's quantile normalization with the demonstrations' range: x, y -> [-1, 1]."""
    low = np.array([task.start[0], -task.bulge])
    high = np.array([task.goal[0], task.bulge])
    stats = NormStats(q01=low, q99=high)
    return Normalizer({'state': stats, 'actions': stats}, mode='quantile')


def state_tokens(states: np.ndarray) -> torch.Tensor:
    """
    Discretize states [B, 2] -> prompt tokens [B, 4] int64.

    Per coordinate: bin b = floor((q - STATE_LOW) / BIN_WIDTH) clipped to [0, 256), then tokens
    1 + 32 j + b // 16 (coarse) and 1 + 32 j + 16 + b % 16 (fine) for joint j.
    """
    scaled = (np.asarray(states, dtype=np.float64) - STATE_LOW) / BIN_WIDTH
    bins = np.clip(np.floor(scaled).astype(np.int64), 0, BINS - 1)  # [B, 2]
    base = 1 + 2 * DIGIT * np.arange(len(JOINTS))  # [2]
    coarse = base + bins // DIGIT
    fine = base + DIGIT + bins % DIGIT
    return torch.from_numpy(np.stack([coarse[:, 0], fine[:, 0], coarse[:, 1], fine[:, 1]],
                                     axis=1))


def policy_inputs(states: np.ndarray) -> Dict[str, object]:
    """Return the model inputs for states [B, 2]: blank image, all masks on, state tokens."""
    tokens = state_tokens(states)
    b = tokens.shape[0]
    return {'images': {CAMERA: torch.zeros(b, 14, 14, 3)}, 'image_masks': None,
            'tokens': tokens, 'token_mask': torch.ones(tokens.shape, dtype=torch.bool)}


def train_policy(steps: int, batch: int = 64, seed: int = 0, lr: float = 2e-3,
                 ema_decay: float = 0.999, uniform_time: bool = False,
                 stop_after: Optional[int] = None, task: Task = Task()
                 ) -> Tuple[PI05Model, List[float]]:
    """
    Train the tiny PI0.5 by flow matching on demonstrations -> (model in eval mode, losses).

    Adam, linear warm-up over 5 % of the steps then cosine decay to 5 % of lr; the weights
    returned are an exponential moving average (`ema_decay`, as openpi trains). Flow times
    are openpi's Beta(1.5, 1) draw, or uniform with `uniform_time`. Data, noise and times come
    from generators seeded by `seed`, so a run is deterministic on one machine and thread
    count; `stop_after` ends the same run early (the first losses of a long run).
    """
    torch.manual_seed(seed)
    model = init_random_weights(PI05Model(policy_config()), seed)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    warmup = max(1, steps // 20)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    normalizer = task_normalizer(task)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses = []
    for _ in range(steps if stop_after is None else min(stop_after, steps)):
        states, chunks, _ = task.demonstrations(rng, batch)
        actions = torch.from_numpy(normalizer.normalize('actions', chunks)).float()
        time = (torch.rand(batch, generator=generator) * 0.999 + 0.001) if uniform_time else None
        loss = model.compute_loss(**policy_inputs(states), actions=actions, time=time,
                                  generator=generator).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        with torch.no_grad():
            for k, v in model.state_dict().items():
                ema[k].mul_(ema_decay).add_(v, alpha=1 - ema_decay)
    model.load_state_dict(ema)
    model.eval()
    return model, losses


def flow_loss(model: PI05Model, samples: int = 256, seed: int = 1234,
              task: Task = Task()) -> float:
    """Return the mean flow-matching loss on fresh demonstrations (openpi's time draw)."""
    rng = np.random.default_rng(seed)
    states, chunks, _ = task.demonstrations(rng, samples)
    actions = torch.from_numpy(task_normalizer(task).normalize('actions', chunks)).float()
    with torch.no_grad():
        loss = model.compute_loss(**policy_inputs(states), actions=actions,
                                  generator=torch.Generator().manual_seed(seed))
    return loss.mean().item()


def sample_sides(model: PI05Model, state: Sequence[float], samples: int, seed: int = 0
                 ) -> np.ndarray:
    """Side (+1 / -1 / 0) of `samples` chunks sampled independently from one state."""
    states = np.repeat(np.asarray(state, dtype=np.float64)[None], samples, axis=0)
    generator = torch.Generator().manual_seed(seed)
    raw = model.sample_actions(**policy_inputs(states), generator=generator).numpy()
    chunks = task_normalizer().unnormalize('actions', raw)  # absolute = robot frame here
    return np.array([side_of(c) for c in chunks])


# --- closed loop -------------------------------------------------------------------------------

@dataclasses.dataclass
class Episode:
    """What one closed-loop episode did."""

    disagreement: List[float]  # per pair of consecutive chunks (rtc_compare.pair_disagreement)
    seam_gaps: List[float]  # per pair: |new - previous| (m) at the first row due after arrival
    chunk_sides: List[int]  # side_of each chunk's rows
    guided: int  # chunks sampled with RTC guidance
    continued: int  # chunks the executor took without a blend
    refused: int  # chunks the executor refused
    positions: np.ndarray  # [T, 2] commanded positions, one per tick
    seam_jerks: List[float]  # per accepted chunk after the first: largest |jerk| (m/s^3)
    # of the command in the 50 ms after it was accepted (finite differences over the ticks)
    collided: bool
    reached: bool

    @property
    def chunk_flips(self) -> int:
        """Consecutive chunks (with a side) that pick opposite sides."""
        sides = [s for s in self.chunk_sides if s]
        return sum(a != b for a, b in zip(sides, sides[1:]))

    @property
    def side_changes(self) -> int:
        return side_changes(self.positions)

    @property
    def completed(self) -> bool:
        return self.reached and not self.collided


def seam_gap(previous: ActionChunk, chunk: ActionChunk, arrival_ns: int) -> float:
    """Return |chunk - previous| (m) at the first row of `chunk` due after it arrived."""
    times = chunk.row_times_ns()
    k = int(np.searchsorted(times, arrival_ns, side='right'))
    at = float(times[min(k, times.size - 1)])
    old = [np.interp(at, previous.row_times_ns().astype(np.float64), previous.positions[:, j])
           for j in range(previous.num_joints)]
    return float(np.linalg.norm(chunk.positions[min(k, times.size - 1)] - np.array(old)))


def seam_jerks(log: CommandLog, window_ns: int = 50 * MS) -> List[float]:
    """Return the largest |jerk| of the command in the window after each seam but the first."""
    times, positions = log.arrays()
    _, _, jerk = derivatives(times, positions)  # jerk[k]: ticks k .. k+3
    magnitude = np.abs(jerk).max(axis=1)
    out = []
    for seam in log.seam_times_ns()[1:]:
        window = (times[:-3] >= seam) & (times[:-3] < seam + window_ns)
        if window.any():
            out.append(float(magnitude[window].max()))
    return out


def task_limits() -> JointLimits:
    """Return the executor's limits: |x|, |y| <= 2 m, 2 m/s, 20 m/s^2, 2000 m/s^3."""
    return JointLimits(JOINTS, -2.0, 2.0, 2.0, 20.0, 2000.0)


# The defaults but the first-row check: at 0.75 m/s a chunk observed 300 ms ago starts 0.26 m
# ahead of a command that stood still meanwhile (after a hold), which 0.2 would refuse forever.
EXECUTOR_CONFIG = ExecutorConfig(max_first_row_deviation=0.5)


def simulate(model: PI05Model, episodes: int, delay: int, rtc: bool, seed: int = 0,
             duration_s: float = 6.0, tick_ns: int = 2 * MS, task: Task = Task(),
             execution_horizon: int = EXECUTION_HORIZON, guidance_weight_max: float = 10.0,
             schedule: str = 'exp', blend_rtc: bool = False) -> List[Episode]:
    """
    Run `episodes` closed-loop episodes at an inference delay of `delay` rows.

    The first chunk is sampled from the start at rest and submitted at time 0 (the robot
    waits for it). Then at every multiple of s rows the commanded state is observed and the
    chunk stamped there reaches the executor d rows later. Each episode has its own
    RtcRuntime (pi05_ros.policy.rtc; `rtc` False: disabled, plain sampling and splicing),
    which plans every cycle (frozen prefix from the previous chunk, d from the recorded
    delays, the synchronous first cycle left out as warm-up) and is reset when the executor
    refuses a chunk. The executor takes a guided chunk without a blend (it continues the
    running one), or with `blend_rtc` splices it in like a plain one (the RTC tag dropped).
    The noise of each episode's k-th chunk is the same in every mode (seeded by `seed`).
    """
    s, d = execution_horizon, delay
    settings = RtcSettings(enabled=rtc, execution_horizon=s,
                           guidance_weight_max=guidance_weight_max, schedule=schedule,
                           warmup_cycles=1)
    profile, normalizer = task_profile(), task_normalizer()
    horizon, dim = model.config.action_horizon, model.config.action_dim
    runtimes = [RtcRuntime(settings, profile, normalizer, horizon, dim)
                for _ in range(episodes)]
    logs = [CommandLog() for _ in range(episodes)]
    executors = [TrajectoryExecutor(task_limits(), EXECUTOR_CONFIG, log) for log in logs]
    for executor in executors:
        executor.update_joint_state(np.asarray(task.start, dtype=np.float64), 0)
    generator = torch.Generator().manual_seed(seed)
    chunks: List[List[ActionChunk]] = [[] for _ in range(episodes)]  # accepted ones
    arrived: List[List[int]] = [[] for _ in range(episodes)]
    continued = [0] * episodes
    in_flight: List[Tuple[int, List[ActionChunk]]] = []  # (arrival ns, one chunk per episode)
    period_ns, end_ns = s * ROW_NS, int(duration_s * 1e9)
    now, observe_ns = 0, 0
    while now <= end_ns:
        if now == observe_ns:
            in_flight.append((now + (d * ROW_NS if now else 0),
                              _infer(model, runtimes, executors, now, generator)))
            observe_ns += period_ns
        while in_flight and in_flight[0][0] <= now:
            _, cycle = in_flight.pop(0)
            for e, chunk in enumerate(cycle):
                runtimes[e].record_delay(chunk.stamp_ns, now)
                decision = executors[e].submit(
                    dataclasses.replace(chunk, rtc=None) if blend_rtc else chunk, now)
                if decision.accepted:
                    chunks[e].append(chunk)
                    arrived[e].append(now)
                    continued[e] += decision.continued
                else:
                    runtimes[e].reset('refused')
        now += tick_ns
        for executor in executors:
            executor.update_joint_state(executor.tick(now).positions, now)
    results = []
    for e, log in enumerate(logs):
        _, positions = log.arrays()
        pairs = [pair_disagreement(a, b) for a, b in zip(chunks[e], chunks[e][1:])]
        results.append(Episode(
            disagreement=[p for p in pairs if p is not None],
            seam_gaps=[seam_gap(a, b, t)
                       for a, b, t in zip(chunks[e], chunks[e][1:], arrived[e][1:])],
            chunk_sides=[side_of(c.positions) for c in chunks[e]],
            guided=runtimes[e].guided_chunks,
            continued=continued[e],
            refused=len(log.refused()),
            positions=positions,
            seam_jerks=seam_jerks(log),
            collided=task.collided(positions),
            reached=task.reached(positions)))
    return results


def _infer(model: PI05Model, runtimes: Sequence[RtcRuntime],
           executors: Sequence[TrajectoryExecutor], now: int,
           generator: torch.Generator) -> List[ActionChunk]:
    """
    Observe every episode's commanded state at `now`, sample one batch -> a chunk per episode.

    Episodes with the same guidance arguments (or none) share a batch; each episode's noise
    is drawn in episode order either way.
    """
    states = np.stack([executor.last_command.positions for executor in executors])
    plans = [runtime.plan(now, state) for runtime, state in zip(runtimes, states)]
    cfg = model.config
    noise = torch.randn((len(plans), cfg.action_horizon, cfg.action_dim), generator=generator)
    raw = torch.empty_like(noise)
    groups: Dict[Optional[Tuple], List[int]] = {}  # same guidance arguments -> episodes
    for e, plan in enumerate(plans):
        request = plan.request
        key = None if request is None else (request.delay, request.execution_horizon,
                                            request.schedule, request.guidance_weight_max)
        groups.setdefault(key, []).append(e)
    for key, group in groups.items():
        kwargs = {}
        if key is not None:
            prefix = np.stack([plans[e].request.prefix_actions for e in group])  # [b, H, A]
            kwargs = dict(zip(('delay', 'execution_horizon', 'schedule', 'guidance_weight_max'),
                              key), prefix_actions=torch.from_numpy(prefix))
        raw[group] = model.sample_actions(**policy_inputs(states[group]), noise=noise[group],
                                          **kwargs)
    normalizer, profile = runtimes[0].normalizer, runtimes[0].profile
    out = []
    for e, runtime in enumerate(runtimes):
        model_actions = raw[e].numpy()
        positions = actions_to_robot(profile, normalizer.unnormalize('actions', model_actions),
                                     states[e], states[e])
        chunk = ActionChunk(positions, now, ROW_NS, JOINTS, model_actions=model_actions)
        out.append(runtime.remember(chunk, states[e], plans[e]))
    return out


# --- the fixture -------------------------------------------------------------------------------

def save_policy(model: PI05Model, path: Path, recipe: Dict[str, Any],
                losses: Sequence[float]) -> None:
    """
    Write the weights (float16) with the recipe and the loss curve's start as metadata.

    float16 keeps the file under 0.5 MB; `load_policy` gives a float32 model of those values.
    """
    tensors = {k: v.detach().to(torch.float16).contiguous()
               for k, v in model.state_dict().items()}
    metadata = {'recipe': json.dumps(recipe), 'torch': torch.__version__,
                'first_losses': json.dumps([float(x) for x in losses[:CURVE_STEPS]]),
                'final_loss': json.dumps(float(np.mean(losses[-200:])))}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def load_policy(path: Path = FIXTURE) -> Tuple[PI05Model, Dict[str, Any]]:
    """Return the fixture's float32 model (eval mode) and its metadata (recipe, losses)."""
    with safe_open(str(path), framework='pt') as handle:
        raw = handle.metadata()
    metadata = {'recipe': json.loads(raw['recipe']), 'torch': raw['torch'],
                'first_losses': json.loads(raw['first_losses']),
                'final_loss': json.loads(raw['final_loss'])}
    model = PI05Model(policy_config())
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return model.eval(), metadata
