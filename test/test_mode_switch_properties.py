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

"""Property tests: random switching, teleop streams (jumps, dropouts, NaN) and chunk streams."""

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import (
    ChunkArrival, InterventionSample, JointStateSample, Mode, ModeRequest, ModeSwitch,
    ModeSwitchConfig, ModeTick, ModeTimeline, replay_mode_timeline, REQUESTS, TeleopSample, Tick)

MS = 1_000_000
NAMES = ('j0', 'j1', 'j2')
LIMITS = JointLimits(NAMES, [-1.0, -1.5, -np.inf], [1.0, 1.5, np.inf], [0.8, 1.2, 2.0],
                     [4.0, 8.0, np.inf])
START = np.array([0.0, 0.2, -0.4])
TELEOP_TIMEOUT_NS = 60 * MS
INTERVENTION_TIMEOUT_NS = 80 * MS

step = st.fixed_dictionaries({
    'dt_ms': st.integers(1, 40),
    'teleop': st.sampled_from(['none', 'none', 'smooth', 'smooth', 'smooth', 'jump', 'nan',
                               'old']),
    'request': st.sampled_from([None] * 6 + list(REQUESTS)),
    'intervention': st.sampled_from([None, None, None, True, False]),
    'chunk': st.sampled_from([None] * 5 + ['near', 'far', 'old', 'nan']),
    'joint_state': st.booleans(),
    'noise': st.floats(-0.3, 0.3),
})


def make_switch(monitor_intervention: bool) -> ModeSwitch:
    config = ModeSwitchConfig(
        teleop_timeout_ns=TELEOP_TIMEOUT_NS,
        intervention_timeout_ns=INTERVENTION_TIMEOUT_NS if monitor_intervention else 0,
        align_threshold=0.15, tracking_error_limit=0.4)
    return ModeSwitch(LIMITS, TrajectoryExecutor(LIMITS), START, config)


def build_events(switch: ModeSwitch, steps, recorded: list) -> list:
    """Run the random scenario on the live switch, appending its events to ``recorded``.

    Returns, in order, (ModeTick, teleop stamp, intervention time) for ticks and (event, None,
    None) for the other events.
    """
    now = 0
    leader = START.copy()
    ticks = []
    for s in steps:
        now += s['dt_ms'] * MS
        events = []
        if s['teleop'] == 'smooth':
            leader = LIMITS.clamp_positions(leader + 0.02 * s['noise'])
            events.append(TeleopSample(now - 1, NAMES, tuple(leader), now - 2 * MS))
        elif s['teleop'] == 'jump':
            leader = LIMITS.clamp_positions(leader + 3.0 * s['noise'])
            events.append(TeleopSample(now - 1, NAMES, tuple(leader)))
        elif s['teleop'] == 'nan':
            events.append(TeleopSample(now - 1, NAMES, (np.nan, 0.0, np.inf)))
        elif s['teleop'] == 'old':
            events.append(TeleopSample(now - 1, NAMES, tuple(leader + 0.5), now - 200 * MS))
        if s['joint_state']:
            events.append(JointStateSample(now - 1, NAMES, tuple(switch.command)))
        if s['intervention'] is not None:
            events.append(InterventionSample(now - 1, s['intervention']))
        if s['request'] is not None:
            events.append(ModeRequest(now - 1, s['request']))
        if s['chunk'] is not None:
            base = switch.command
            offset = {'near': 0.02, 'far': 1.5, 'old': 0.02, 'nan': 0.0}[s['chunk']]
            rows = np.linspace(base, base + offset + s['noise'], 20)
            if s['chunk'] == 'nan':
                rows[7, 1] = np.nan
            stamp = now - (300 if s['chunk'] == 'old' else 5) * MS
            events.append(ChunkArrival(now - 1, ActionChunk(rows, stamp, 20 * MS, NAMES)))
        events.append(Tick(now))
        for event in events:
            recorded.append(event)
            result = switch.handle(event)
            if isinstance(result, ModeTick):
                ticks.append((result, switch.teleop.stamp_ns, switch._intervention_ns))
            else:
                ticks.append((event, None, None))
    return ticks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=120), monitor=st.booleans())
def test_command_is_always_safe_and_every_timeout_ends_in_hold(steps, monitor):
    switch = make_switch(monitor)
    live = ModeTimeline()
    switch.change_listeners.append(live.record_change)
    recorded = []
    ticks = build_events(switch, steps, recorded)  # (tick or other event, stamps at the time)
    previous = None
    timed_out = False  # a timeout happened and no request came since
    changes_seen = 0
    for tick, teleop_stamp, intervention_ns in ticks:
        new_changes = live.changes[changes_seen:]
        changes_seen = len(live.changes)
        for change in new_changes:
            if 'timeout' in change.cause:
                assert change.to_mode == Mode.HOLD
                timed_out = True
        if isinstance(tick, ModeRequest):
            timed_out = False
        if not isinstance(tick, ModeTick):
            continue
        live.record_tick(tick)
        assert np.isfinite(tick.positions).all() and np.isfinite(tick.velocities).all()
        assert (tick.positions >= LIMITS.lower).all() and (tick.positions <= LIMITS.upper).all()
        assert (np.abs(tick.velocities) <= LIMITS.max_velocity).all()
        if previous is not None:
            dt_s = (tick.stamp_ns - previous.stamp_ns) / 1e9
            step_size = np.abs(tick.positions - previous.positions)
            assert (step_size <= LIMITS.max_velocity * dt_s * (1 + 1e-9) + 1e-12).all(), (
                f'{previous.mode}->{tick.mode}: step {step_size} in {dt_s} s')
        else:
            np.testing.assert_array_equal(tick.positions, START)
        assert {'teleop': Mode.TELEOP, 'policy': Mode.POLICY}.get(tick.source,
                                                                  tick.mode) == tick.mode
        if tick.mode == Mode.TELEOP:
            assert tick.stamp_ns - teleop_stamp <= TELEOP_TIMEOUT_NS
        if monitor and tick.mode == Mode.POLICY:
            assert tick.stamp_ns - intervention_ns <= INTERVENTION_TIMEOUT_NS
        if timed_out:
            assert tick.mode == Mode.HOLD
        previous = tick
    replayed = replay_mode_timeline(recorded, lambda: make_switch(monitor))
    assert replayed.changes == live.changes
    assert replayed.segments == live.segments
