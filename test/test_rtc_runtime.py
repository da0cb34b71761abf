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

"""Real-time chunking at run time: frames, the frozen prefix, the delay estimate, fallbacks."""

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.policy.normalize import Normalizer, NormStats
from pi05_ros.policy.profiles import actions_to_robot, load_profile, state_to_model
from pi05_ros.policy.rtc import (DelayEstimator, frozen_prefix, remember, robot_to_actions,
                                 RtcConfigError, RtcRuntime, RtcSettings)
import pytest

H, A = 50, 32
PROFILES = ('droid', 'aloha', 'libero', 'demo')


def normalizer_for(profile, seed=0) -> Normalizer:
    """Quantile stats of a plausible spread on every model dim the profile uses."""
    rng = np.random.default_rng(seed)

    def stats(n, low, high):
        q01 = rng.uniform(low, low + 0.1, n)
        return NormStats(mean=np.zeros(n), std=np.ones(n), q01=q01,
                         q99=q01 + rng.uniform(high - low - 0.1, high - low, n))

    return Normalizer({'state': stats(len(profile.state_dims), -1.0, 1.0),
                       'actions': stats(len(profile.action_dims), -0.6, 0.6)})


def state_for(profile, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    state = rng.uniform(-0.5, 0.5, len(profile.state_names))
    if profile.name == 'aloha':  # grippers: ALOHA's normalized linear position in [0, 1]
        for i, name in enumerate(profile.state_names):
            if name.endswith('gripper'):
                state[i] = rng.uniform(0.2, 0.8)
    return state


def model_rows(profile, seed=2, rows=H) -> np.ndarray:
    """Return a smooth normalized network output (rows, A) in [-0.9, 0.9]."""
    rng = np.random.default_rng(seed)
    raw = np.cumsum(rng.normal(0.0, 0.05, (rows, A)), axis=0).clip(-0.9, 0.9)
    return raw.astype(np.float32)


def to_robot(profile, normalizer, raw, state):
    actions = normalizer.unnormalize('actions', np.asarray(raw, dtype=np.float64))
    return actions_to_robot(profile, actions, state, state_to_model(profile, state))


@pytest.mark.parametrize('name', PROFILES)
def test_absolute_to_model_frame_and_back_round_trips(name):
    profile = load_profile(name)
    normalizer = normalizer_for(profile)
    state = state_for(profile)
    raw = model_rows(profile)
    absolute = to_robot(profile, normalizer, raw, state)  # what the policy publishes
    model = normalizer.normalize('actions', robot_to_actions(profile, absolute, state))
    again = to_robot(profile, normalizer, model, state)
    np.testing.assert_allclose(again, absolute, atol=1e-9, rtol=0)
    # where the policy did not clip (droid), the model frame itself comes back
    n = len(profile.action_dims)
    unclipped = np.ones((H, n), dtype=bool)
    actions = normalizer.unnormalize('actions', raw[:, :n].astype(np.float64))
    for i, dim in enumerate(profile.action_dims):
        if dim in profile.action_clip:
            low, high = profile.action_clip[dim]
            unclipped[:, i] = (actions[:, i] >= low) & (actions[:, i] <= high)
    assert unclipped.mean() > 0.8
    np.testing.assert_allclose(model[unclipped], raw[:, :n][unclipped], atol=2e-6, rtol=0)


@pytest.mark.parametrize('name, shift_rows', [(n, s) for n in PROFILES for s in (3, 2.5)])
def test_prefix_is_the_previous_chunk_at_the_new_times_relative_to_the_new_state(name,
                                                                                 shift_rows):
    """The frozen rows, mapped to the robot from the NEW state, are what was going to run."""
    profile = load_profile(name)
    normalizer = normalizer_for(profile)
    dt = profile.control_dt_ns
    state0 = state_for(profile, seed=1)
    previous = remember(profile, normalizer, model_rows(profile), 10**9, dt, state0)
    stamp1 = 10**9 + int(round(shift_rows * dt))
    # the robot moved: the new state is near where the previous chunk was at that time
    state1 = state_for(profile, seed=3)  # libero: the end effector, not the commands
    if profile.state_names == profile.joint_names:
        noise = np.random.default_rng(5).normal(0.0, 0.01, state1.size)
        state1 = previous.positions[int(shift_rows) - 1] + noise
    prefix = frozen_prefix(previous, profile, normalizer, stamp1, state1)
    assert prefix.shape == (H, A) and prefix.dtype == np.float32
    executed = to_robot(profile, normalizer, prefix, state1)  # (H, J) from the new state
    shift = (stamp1 - previous.stamp_ns) / dt
    index = np.arange(H) + shift
    expected = np.stack([np.interp(index, np.arange(H), previous.positions[:, j])
                         for j in range(len(profile.joint_names))], axis=1)
    valid = index <= H - 1  # past its last row the previous chunk is held
    np.testing.assert_allclose(executed[valid], expected[valid], atol=1e-5, rtol=0)
    np.testing.assert_allclose(executed[~valid], previous.positions[-1:].repeat(
        (~valid).sum(), 0), atol=1e-5, rtol=0)
    if profile.action_space in ('delta', 'velocity'):
        # re-anchored: the raw rows shifted would run somewhere else from the new state
        naive = to_robot(profile, normalizer, previous.model_actions[3:], state1)
        assert np.abs(naive[:10] - executed[:10]).max() > 1e-3


def test_a_conversion_without_inverse_is_refused_naming_the_field():
    profile = load_profile('aloha')
    bad = profile.__class__(**{**profile.__dict__,
                               'action_convert': {'left_gripper': 'aloha_gripper_to_pi'}})
    with pytest.raises(RtcConfigError, match='action.convert.left_gripper'):
        RtcRuntime(RtcSettings(enabled=True), bad, normalizer_for(profile), H, A)


@pytest.mark.parametrize('field, value', [
    ('execution_horizon', 0), ('execution_horizon', 50), ('execution_horizon', 2.5),
    ('guidance_weight_max', -1.0), ('schedule', 'cosine'), ('delay_quantile', 0.0),
    ('delay_window', 0), ('warmup_cycles', -1), ('max_state_deviation', 0.0)])
def test_bad_settings_name_the_parameter(field, value):
    profile = load_profile('demo')
    with pytest.raises(RtcConfigError, match=f'rtc.{field}'):
        RtcRuntime(RtcSettings(enabled=True, **{field: value}), profile,
                   normalizer_for(profile), H, A)


def test_schedules_are_the_models():
    from pi05_ros.model import rtc as model_rtc
    from pi05_ros.policy import rtc
    assert rtc.SCHEDULES == model_rtc.SCHEDULES


def test_delay_bound_keeps_d_within_s_and_h_minus_d():
    for s in range(1, H):
        d = RtcSettings(execution_horizon=s).max_delay_rows(H)
        assert 0 <= d <= s <= H - d


def test_a_warm_up_spike_does_not_stick():
    """Keep no first (compiling) cycle forever, as a max over all cycles did (LeRobot #4223)."""
    dt = 20_000_000
    estimator = DelayEstimator(dt, quantile=0.9, window=10, warmup=1)
    estimator.record(2_000_000_000)  # first cycle: 2 s (compile, allocation)
    for _ in range(3):
        estimator.record(90_000_000)
    assert estimator.rows(25) == 5  # 90 ms / 20 ms -> 5 rows; the spike never counted
    estimator.record(1_000_000_000)  # a later slow cycle counts ...
    assert estimator.rows(25) == 25  # ... bounded by s
    for _ in range(10):
        estimator.record(90_000_000)
    assert estimator.rows(25) == 5  # ... and leaves with the window


def chunk_of(profile, normalizer, stamp_ns, state, seed=2):
    raw = model_rows(profile, seed)
    positions = to_robot(profile, normalizer, raw, state)[:profile.chunk_rows]
    return ActionChunk(positions, stamp_ns, profile.control_dt_ns, profile.joint_names,
                       model_actions=raw)


def test_cycles_guide_after_warm_up_and_fall_back_with_the_reason():
    profile = load_profile('demo')  # 50 ms rows
    normalizer = normalizer_for(profile)
    runtime = RtcRuntime(RtcSettings(enabled=True, execution_horizon=8, warmup_cycles=1),
                         profile, normalizer, H, A)
    state = state_for(profile)
    ms = 1_000_000

    def cycle(stamp_ns, delay_ms):
        plan = runtime.plan(stamp_ns, state)
        chunk = runtime.remember(chunk_of(profile, normalizer, stamp_ns, state), state, plan)
        late = runtime.record_delay(stamp_ns, stamp_ns + delay_ms * ms)
        return plan, chunk, late

    plan, chunk, _ = cycle(0, 900)  # the warm-up cycle: slow, and not counted
    assert plan.request is None and plan.reason == 'no previous chunk'
    assert chunk.rtc is not None and not chunk.rtc.guided
    plan, _, _ = cycle(200 * ms, 120)
    assert plan.request is None and 'warming up' in plan.reason
    plan, chunk, late = cycle(400 * ms, 120)
    assert plan.request is not None and plan.delay_rows == 3  # ceil(120 / 50), not 900 ms
    assert chunk.rtc.guided and chunk.rtc.delay_rows == 3 and late is None
    assert plan.request.prefix_actions.shape == (H, A)
    assert plan.rows_elapsed == pytest.approx(4.0)
    plan, chunk, late = cycle(600 * ms, 260)  # this one arrives 5 rows in, 3 frozen
    assert chunk.rtc.guided and late is not None and 'late chunk' in late
    # a cycle that starts 9 rows after the previous observation (> s = 8): plain sampling
    plan, chunk, _ = cycle(1050 * ms, 120)
    assert plan.request is None and plan.reason.startswith('late cycle')
    assert not chunk.rtc.guided and 'rtc.execution_horizon 8' in chunk.rtc.reason
    runtime.reset('chunk_timeout')
    plan, _, _ = cycle(1250 * ms, 120)
    assert plan.request is None and plan.reason == 'after a hold (chunk_timeout)'
    status = runtime.status()
    assert status['rtc.guided_chunks'] == 2 and status['rtc.plain_chunks'] == 4
    assert status['rtc.late_chunks'] == 1
    assert status['rtc.fallbacks.late cycle'] == 1


def test_a_robot_away_from_the_previous_chunk_is_sampled_plainly():
    """A hold or teleop the policy was not told of: guiding toward that chunk would be refused."""
    profile = load_profile('aloha')
    normalizer = normalizer_for(profile)
    runtime = RtcRuntime(RtcSettings(enabled=True, warmup_cycles=0), profile, normalizer, H, A)
    state = state_for(profile)
    chunk = runtime.remember(chunk_of(profile, normalizer, 0, state), state,
                             runtime.plan(0, state))
    runtime.record_delay(0, 60_000_000)
    on_it = chunk.positions[2]  # 3 rows (60 ms) later the robot is where the chunk said
    assert runtime.plan(60_000_000, on_it).request is not None
    moved = on_it.copy()
    moved[3] += 0.3  # teleop moved a joint away meanwhile
    plan = runtime.plan(60_000_000, moved)
    assert plan.request is None and plan.reason.startswith('state off the previous chunk')
    assert 'rtc.max_state_deviation 0.2' in plan.reason


def test_disabled_runtime_never_guides():
    profile = load_profile('demo')
    runtime = RtcRuntime(RtcSettings(), profile, normalizer_for(profile), H, A)
    state = state_for(profile)
    runtime.remember(chunk_of(profile, runtime.normalizer, 0, state), state,
                     runtime.plan(0, state))
    runtime.record_delay(0, 10**8)
    runtime.record_delay(0, 10**8)
    assert runtime.plan(10**8, state).reason == 'disabled'


def test_remote_runtime_sends_the_rows_and_trusts_only_the_servers_word():
    """Remote backend (no normalizer): the prefix is absolute rows; guided if the server says."""
    from pi05_ros.control.action_chunk import RtcInfo
    from pi05_ros.policy.remote_rtc import WireGuidance
    profile = load_profile('droid')  # 15 rows a response
    runtime = RtcRuntime(RtcSettings(enabled=True, execution_horizon=5, warmup_cycles=0),
                         profile, None, profile.chunk_rows, 0)
    state = state_for(profile)
    rows = state[None, :8] + 0.01 * np.arange(1, 16)[:, None]  # (15, 8) absolute targets
    first = ActionChunk(rows, 0, profile.control_dt_ns, profile.joint_names)
    chunk = runtime.remember(first, state, runtime.plan(0, state))
    assert not chunk.rtc.guided and chunk.rtc.reason == 'no previous chunk'
    runtime.record_delay(0, 60_000_000)
    on_it = rows[1]  # two rows (2 x 1/15 s) later the robot is on the chunk
    stamp = 2 * profile.control_dt_ns
    plan = runtime.plan(stamp, on_it)
    assert isinstance(plan.request, WireGuidance) and plan.delay_rows == 1
    assert plan.request.prefix_positions.shape == (15, 8)
    np.testing.assert_allclose(plan.request.prefix_positions[:13], rows[2:])  # shifted by 2
    np.testing.assert_allclose(plan.request.prefix_positions[13:], rows[[-1, -1]])  # held
    served = ActionChunk(rows, stamp, profile.control_dt_ns, profile.joint_names,
                         rtc=RtcInfo(1, True))
    assert runtime.remember(served, on_it, plan).rtc.guided
    plan = runtime.plan(2 * stamp, rows[3])
    ignored = ActionChunk(rows, 2 * stamp, profile.control_dt_ns, profile.joint_names)
    chunk = runtime.remember(ignored, rows[3], plan)  # openpi's server: no rtc in its answer
    assert not chunk.rtc.guided and 'the server ignored the RTC prefix' in chunk.rtc.reason
    assert runtime.status()['rtc.guided_chunks'] == 1
