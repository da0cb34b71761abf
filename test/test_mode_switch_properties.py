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

from typing import List, NamedTuple, Optional

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import (
    ChunkArrival, InterventionSample, JointStateSample, Mode, ModeChange, ModeRequest, ModeSwitch,
    ModeSwitchConfig, ModeTick, ModeTimeline, replay_mode_timeline, REQUESTS, TeleopSample, Tick)

MS = 1_000_000
NAMES = ('j0', 'j1', 'j2')
LIMITS = JointLimits(NAMES, [-1.0, -1.5, -np.inf], [1.0, 1.5, np.inf], [0.8, 1.2, 2.0],
                     [4.0, 8.0, 50.0], [200.0, 400.0, 2000.0])
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
    'teleop_dropout': st.sampled_from([0] * 12 + [4, 8]),  # the stream goes silent for n steps
})


def make_switch(monitor_intervention: bool) -> ModeSwitch:
    config = ModeSwitchConfig(
        teleop_timeout_ns=TELEOP_TIMEOUT_NS,
        intervention_timeout_ns=INTERVENTION_TIMEOUT_NS if monitor_intervention else 0,
        align_threshold=0.15, tracking_error_limit=0.4)
    return ModeSwitch(LIMITS, TrajectoryExecutor(LIMITS), START, config)


class Handled(NamedTuple):
    """One event as the live switch handled it, and the switch's state right after."""

    event: object
    output: object  # what ModeSwitch.handle returned: a ModeTick for a Tick
    teleop_ns: Optional[int]  # stamp of the current teleop target
    intervention_ns: Optional[int]  # time of the last intervention message
    changes: List[ModeChange]  # every mode change so far


def build_events(switch: ModeSwitch, steps, recorded: list) -> list:
    """
    Run the random scenario on the live switch, appending its events to ``recorded``.

    Returns one :class:`Handled` per event, in order.
    """
    now = 0
    leader = START.copy()
    handled = []
    silent = 0  # steps left in a teleop dropout
    for s in steps:
        now += s['dt_ms'] * MS
        events = []
        silent = max(silent - 1, s['teleop_dropout'])
        if silent:
            pass
        elif s['teleop'] == 'smooth':  # up to 0.06 rad per step: ramps at the velocity limit
            leader = LIMITS.clamp_positions(leader + 0.2 * s['noise'])
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
            handled.append(Handled(event, switch.handle(event), switch.teleop.stamp_ns,
                                   switch._intervention_ns, list(switch.changes)))
    return handled


def assert_no_jump(a: ModeTick, b: ModeTick, c: ModeTick) -> None:
    """Check the velocity changes from period a-b to b-c by at most a_max * longer period."""
    dt_ab, dt_bc = (b.stamp_ns - a.stamp_ns) / 1e9, (c.stamp_ns - b.stamp_ns) / 1e9
    if dt_ab == 0 or dt_bc == 0:
        return
    change = np.abs((c.positions - b.positions) / dt_bc - (b.positions - a.positions) / dt_ab)
    allowed = LIMITS.max_acceleration * max(dt_ab, dt_bc)
    assert (change <= allowed * (1 + 1e-6) + 1e-9).all(), (
        f'{a.mode.value}/{a.source} -> {b.mode.value}/{b.source} -> {c.mode.value}/{c.source}: '
        f'velocity changed by {change} (allowed {allowed}) over {dt_ab} s, {dt_bc} s')


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=120), monitor=st.booleans())
def test_command_is_always_safe_and_every_timeout_ends_in_hold(steps, monitor):
    switch = make_switch(monitor)
    recorded = []
    live = ModeTimeline()
    before = previous = None
    timed_out = False  # a timeout happened and no request came since
    switched_since_tick = False  # a request or an intervention message since the last tick
    changes_seen = 0
    for item in build_events(switch, steps, recorded):
        event, tick = item.event, item.output
        for change in item.changes[changes_seen:]:
            if 'timeout' in change.cause:
                assert change.to_mode == Mode.HOLD
                timed_out = True
        changes_seen = len(item.changes)
        if isinstance(event, ModeRequest):
            timed_out = False
        if isinstance(event, (ModeRequest, InterventionSample)):
            switched_since_tick = True
        if isinstance(event, ChunkArrival):  # chunks from before entering POLICY are discarded
            last = item.changes[-1] if item.changes else None
            in_policy = last is not None and last.to_mode == Mode.POLICY
            if not in_policy or event.chunk.stamp_ns < last.stamp_ns:
                assert not tick.success, f'chunk stamped {event.chunk.stamp_ns} accepted'
        if not isinstance(event, Tick):
            continue
        live.record_tick(tick)
        assert np.isfinite(tick.positions).all() and np.isfinite(tick.velocities).all()
        assert (tick.positions >= LIMITS.lower).all() and (tick.positions <= LIMITS.upper).all()
        assert (np.abs(tick.velocities) <= LIMITS.max_velocity).all()
        assert (np.abs(tick.accelerations) <= LIMITS.max_acceleration).all()
        if previous is not None and tick.stamp_ns > previous.stamp_ns:
            jerk = np.abs(tick.accelerations - previous.accelerations) / (
                (tick.stamp_ns - previous.stamp_ns) / 1e9)
            assert (jerk <= LIMITS.max_jerk * (1 + 1e-9)).all(), (
                f'{previous.mode}->{tick.mode}: jerk {jerk}')
        if previous is not None:
            dt_s = (tick.stamp_ns - previous.stamp_ns) / 1e9
            step_size = np.abs(tick.positions - previous.positions)
            assert (step_size <= LIMITS.max_velocity * dt_s * (1 + 1e-9) + 1e-12).all(), (
                f'{previous.mode}->{tick.mode}: step {step_size} in {dt_s} s')
            # Independent of the switch's reasons: a stream that went silent while it was in
            # charge, with no request or intervention message since the last tick, ends in HOLD.
            if not switched_since_tick and (
                    (previous.mode == Mode.TELEOP
                     and tick.stamp_ns - item.teleop_ns > TELEOP_TIMEOUT_NS)
                    or (monitor and previous.mode == Mode.POLICY
                        and tick.stamp_ns - item.intervention_ns > INTERVENTION_TIMEOUT_NS)):
                timed_out = True
        else:  # the first period may be a nanosecond of motion: no jump from the start
            np.testing.assert_allclose(tick.positions, START, atol=1e-12)
        if before is not None and not (before.mode == previous.mode == tick.mode == Mode.POLICY):
            assert_no_jump(before, previous, tick)  # POLICY periods: the executor's own tests
        assert {'teleop': Mode.TELEOP, 'policy': Mode.POLICY}.get(tick.source,
                                                                  tick.mode) == tick.mode
        if tick.mode == Mode.TELEOP:
            assert tick.stamp_ns - item.teleop_ns <= TELEOP_TIMEOUT_NS
        if monitor and tick.mode == Mode.POLICY:
            assert tick.stamp_ns - item.intervention_ns <= INTERVENTION_TIMEOUT_NS
        if timed_out:
            assert tick.mode == Mode.HOLD
        before, previous, switched_since_tick = previous, tick, False
    replayed = replay_mode_timeline(recorded, lambda: make_switch(monitor))
    assert replayed.changes == list(switch.changes)
    assert replayed.segments == live.segments
