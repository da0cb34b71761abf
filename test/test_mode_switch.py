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

"""Scenario tests of teleop / policy / hold switching: one test per handover."""

from typing import List, Optional, Sequence

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.control.executor import ExecutorConfig, TrajectoryExecutor
from pi05_ros.control.limits import JointLimits
from pi05_ros.control.mode_switch import (
    ChunkArrival, InterventionSample, Mode, ModeRequest, ModeSwitch, ModeSwitchConfig, ModeTick,
    ModeTimeline, replay_mode_timeline, TeleopSample, Tick)
from pi05_ros.control.teleop import joint_vector
from pi05_ros.replay.modes import compare_with_recorded
import pytest

MS = 1_000_000
NAMES = ('shoulder', 'elbow', 'wrist')
LIMITS = JointLimits(NAMES, [-2.0, -2.0, -3.0], [2.0, 2.0, 3.0], [1.0, 1.5, 2.0],
                     [10.0, 10.0, 10.0])
START = np.array([0.1, -0.2, 0.3])


def make_switch(config: Optional[ModeSwitchConfig] = None,
                start: Sequence[float] = START) -> ModeSwitch:
    executor = TrajectoryExecutor(LIMITS, ExecutorConfig(state_timeout_s=None))
    return ModeSwitch(LIMITS, executor, start, config)


class Rig:
    """Drives a switch at 100 Hz like the node's timer, recording every tick."""

    def __init__(self, switch: ModeSwitch, now_ns: int = 1000 * MS):
        self.switch = switch
        self.now = now_ns
        self.ticks: List[ModeTick] = []

    def run(self, duration_ms: int, leader: Optional[Sequence[float]] = None) -> ModeTick:
        """Tick for duration_ms; a leader sample stamped now precedes each tick."""
        for _ in range(duration_ms // 10):
            self.now += 10 * MS
            if leader is not None:
                self.switch.teleop_sample(NAMES, leader, self.now)
            self.ticks.append(self.switch.tick(self.now))
        return self.ticks[-1]

    def chunk(self, start: Sequence[float], end: Sequence[float], stamp_ns: int) -> ActionChunk:
        return ActionChunk(np.linspace(start, end, 50), stamp_ns, 20 * MS, NAMES)


def max_speed(ticks: List[ModeTick]) -> np.ndarray:
    """(J,) the largest |step| / dt over consecutive ticks."""
    positions = np.array([t.positions for t in ticks])
    stamps = np.array([t.stamp_ns for t in ticks])
    return (np.abs(np.diff(positions, axis=0)) / (np.diff(stamps)[:, None] / 1e9)).max(axis=0)


def assert_within_limits(ticks: List[ModeTick], fraction: float = 1.0) -> None:
    assert (max_speed(ticks) <= fraction * LIMITS.max_velocity * (1 + 1e-9) + 1e-9).all()
    positions = np.array([t.positions for t in ticks])
    assert np.isfinite(positions).all()
    assert (positions >= LIMITS.lower).all() and (positions <= LIMITS.upper).all()


def test_teleop_sample_is_mapped_by_name_and_a_missing_joint_is_named():
    vector = joint_vector(['wrist', 'extra', 'shoulder', 'elbow'], [3.0, 9.0, 1.0, 2.0], NAMES)
    np.testing.assert_array_equal(vector, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match='elbow'):
        joint_vector(['wrist', 'shoulder'], [1.0, 2.0], NAMES)
    with pytest.raises(ValueError, match='one value per name'):
        joint_vector(NAMES, [1.0, 2.0], NAMES)


def test_start_is_hold_and_teleop_request_needs_a_fresh_stream():
    rig = Rig(make_switch())
    tick = rig.run(50)
    assert (tick.mode, tick.source) == (Mode.HOLD, 'hold')
    np.testing.assert_array_equal(tick.positions, START)
    result = rig.switch.request_teleop(rig.now)
    assert not result.success and 'no teleop sample' in result.message
    rig.run(50, leader=START + 0.05)
    assert rig.switch.request_teleop(rig.now).success
    assert rig.switch.mode == Mode.TELEOP


def test_teleop_ramps_to_the_leader_at_the_handover_speed_then_tracks_it():
    config = ModeSwitchConfig(align_threshold=0.3, handover_velocity_fraction=0.25)
    rig = Rig(make_switch(config))
    leader = START + np.array([0.25, -0.25, 0.0])
    rig.run(20, leader)
    assert rig.switch.request_teleop(rig.now).success
    tick = rig.run(3000, leader)
    assert tick.source == 'teleop' and tick.reason == 'tracking the leader'
    np.testing.assert_allclose(tick.positions, leader, atol=1e-9)
    assert_within_limits(rig.ticks, fraction=0.25)


def test_non_finite_teleop_samples_are_ignored_counted_and_never_emitted():
    rig = Rig(make_switch())
    rig.run(20, START)
    rig.switch.request_teleop(rig.now)
    rig.run(300, START + 0.05)
    for _ in range(5):
        rig.now += 10 * MS
        assert not rig.switch.teleop_sample(NAMES, [np.nan, 0.0, np.inf], rig.now)
        rig.ticks.append(rig.switch.tick(rig.now))
    assert rig.switch.teleop.rejected['non_finite'] == 5
    assert rig.switch.diagnostics()['teleop_rejected_non_finite'] == '5'
    assert rig.switch.mode == Mode.TELEOP  # the last good sample is still fresh
    np.testing.assert_allclose(rig.ticks[-1].positions, START + 0.05, atol=1e-9)
    assert_within_limits(rig.ticks)


def test_teleop_targets_outside_the_position_limits_are_clipped():
    config = ModeSwitchConfig(align_threshold=5.0, tracking_error_limit=5.0)
    rig = Rig(make_switch(config))
    rig.run(20, [5.0, -5.0, 0.3])
    rig.switch.request_teleop(rig.now)
    tick = rig.run(5000, [5.0, -5.0, 0.3])
    np.testing.assert_allclose(tick.positions, [2.0, -2.0, 0.3], atol=1e-9)
    assert_within_limits(rig.ticks)


def test_teleop_to_policy_discards_old_chunks_and_ramps_from_the_current_command():
    rig = Rig(make_switch())
    rig.run(20, START)
    rig.switch.request_teleop(rig.now)
    before_switch = rig.now - 5 * MS
    rig.run(200, START)
    assert rig.switch.engage_policy(True, rig.now).success
    switch_ns = rig.now
    old = rig.chunk(START + 0.1, START + 0.5, before_switch)
    result = rig.switch.submit_chunk(old, rig.now)
    assert not result.success and 'before the switch' in result.message
    tick = rig.run(50)
    assert (tick.mode, tick.source) == (Mode.POLICY, 'hold')
    assert 'first chunk computed after the switch' in tick.reason
    np.testing.assert_allclose(tick.positions, START, atol=1e-12)  # the old chunk never ran
    fresh = rig.chunk(START, START + np.array([0.5, 0.5, 0.5]), switch_ns + 10 * MS)
    assert rig.switch.submit_chunk(fresh, rig.now).success
    tick = rig.run(1200)
    assert tick.source == 'hold'  # the chunk ran out: the policy is stale, the executor holds
    assert any(t.source == 'policy' for t in rig.ticks)
    first_policy = next(i for i, t in enumerate(rig.ticks) if t.source == 'policy')
    np.testing.assert_allclose(rig.ticks[first_policy].positions, START, atol=1e-3)
    np.testing.assert_allclose(tick.positions, START + 0.5, atol=0.05)  # the executor's splice
    assert_within_limits(rig.ticks)


def test_chunks_are_discarded_outside_policy_mode():
    rig = Rig(make_switch())
    rig.run(20)
    chunk = rig.chunk(START, START + 0.1, rig.now)
    result = rig.switch.submit_chunk(chunk, rig.now)
    assert not result.success and 'not in POLICY' in result.message
    assert rig.switch.counters['chunks_discarded'] == 1


def engaged_policy_rig(config: Optional[ModeSwitchConfig] = None) -> Rig:
    """Make a rig that ran a policy chunk moving every joint by +0.4 and is now in POLICY."""
    rig = Rig(make_switch(config))
    rig.run(20)
    rig.switch.engage_policy(True, rig.now)
    rig.run(20)
    chunk = rig.chunk(START, START + 0.4, rig.now)
    assert rig.switch.submit_chunk(chunk, rig.now).success
    rig.run(600)
    return rig


def test_policy_to_teleop_waits_in_hold_until_the_leader_is_brought_close():
    rig = engaged_policy_rig(ModeSwitchConfig(align_threshold=0.1))
    command = rig.switch.command
    far = command + np.array([0.0, 0.6, 0.0])
    rig.run(20, far)
    result = rig.switch.engage_policy(False, rig.now)
    assert result.success
    tick = rig.run(200, far)
    assert tick.mode == Mode.HOLD and 'elbow' in tick.reason and 'align_threshold' in tick.reason
    held = tick.positions
    for fraction in np.linspace(1.0, 0.0, 50):  # the operator moves the leader over
        rig.run(20, command + fraction * (far - command) + np.array([0.05, 0.0, 0.0]))
    tick = rig.run(2000, command + np.array([0.05, 0.0, 0.0]))
    assert (tick.mode, tick.source) == (Mode.TELEOP, 'teleop')
    np.testing.assert_allclose(tick.positions, command + np.array([0.05, 0.0, 0.0]), atol=1e-9)
    waiting = [t for t in rig.ticks if 'waiting for the leader' in t.reason]
    braked = [t for t in waiting if t.stamp_ns > waiting[0].stamp_ns + 500 * MS]
    assert braked and all(np.allclose(t.positions, held) for t in braked)
    assert_within_limits(rig.ticks)
    modes = [(c.from_mode, c.to_mode) for c in list(rig.switch.changes)]
    assert modes[-2:] == [(Mode.POLICY, Mode.HOLD), (Mode.HOLD, Mode.TELEOP)]


def test_policy_to_teleop_with_a_close_leader_ramps_without_a_jump():
    rig = engaged_policy_rig(ModeSwitchConfig(handover_velocity_fraction=0.5))
    leader = rig.switch.command + np.array([0.08, -0.08, 0.05])
    rig.run(20, leader)
    switch_index = len(rig.ticks)
    assert rig.switch.engage_policy(False, rig.now).success
    assert rig.switch.mode == Mode.TELEOP
    rig.run(1000, leader)
    np.testing.assert_allclose(rig.ticks[-1].positions, leader, atol=1e-9)
    assert_within_limits(rig.ticks[switch_index - 1:])
    # faster than the handover speed only while braking down to it at a_max (<= 70 ms here)
    assert_within_limits(rig.ticks[switch_index + 7:], fraction=0.5)


def test_a_leader_jump_in_teleop_falls_back_to_hold_until_realigned():
    rig = Rig(make_switch(ModeSwitchConfig(tracking_error_limit=0.3)))
    rig.run(20, START)
    rig.switch.request_teleop(rig.now)
    rig.run(100, START)
    tick = rig.run(100, START + np.array([0.0, 0.0, 1.0]))
    assert tick.mode == Mode.HOLD and 'wrist' in tick.reason
    tick = rig.run(500, START + np.array([0.0, 0.0, 0.05]))
    assert tick.mode == Mode.TELEOP
    assert_within_limits(rig.ticks)


def test_teleop_timeout_latches_hold_until_a_new_request():
    rig = Rig(make_switch(ModeSwitchConfig(teleop_timeout_ns=100 * MS)))
    rig.run(20, START)
    rig.switch.request_teleop(rig.now)
    rig.run(200, START + 0.05)
    tick = rig.run(150)  # the leader goes silent
    assert tick.mode == Mode.HOLD and 'timeout' in tick.reason
    assert rig.switch.changes[-1].to_mode == Mode.HOLD
    tick = rig.run(200, START + 0.05)  # the stream comes back: still HOLD
    assert tick.mode == Mode.HOLD
    assert rig.switch.request_teleop(rig.now).success
    assert rig.run(10, START + 0.05).mode == Mode.TELEOP
    assert_within_limits(rig.ticks)


def test_intervention_gives_the_human_priority_and_release_returns_to_a_fresh_policy():
    rig = engaged_policy_rig()
    leader = rig.switch.command
    rig.run(20, leader)
    rig.switch.intervention(True, rig.now)
    assert rig.switch.mode == Mode.TELEOP
    rig.switch.intervention(True, rig.now + 5 * MS)  # repeats change nothing
    tick = rig.run(300, leader - 0.05)
    assert tick.source == 'teleop'
    assert rig.switch.engage_policy(True, rig.now).success  # armed, the human keeps priority
    assert rig.switch.mode == Mode.TELEOP
    computed_during_takeover = rig.now - 10 * MS
    rig.switch.intervention(False, rig.now)
    assert rig.switch.mode == Mode.POLICY
    chunk = rig.chunk(leader, leader + 0.1, computed_during_takeover)
    assert not rig.switch.submit_chunk(chunk, rig.now).success
    causes = [c.cause for c in list(rig.switch.changes)[-2:]]
    assert causes[0].startswith('intervention asserted') and causes[1].startswith(
        'intervention released')
    rig.run(100)
    assert_within_limits(rig.ticks)


def test_intervention_while_the_teleop_stream_is_dead_holds():
    rig = engaged_policy_rig()
    rig.switch.intervention(True, rig.now)
    tick = rig.run(20)
    assert tick.mode == Mode.HOLD and 'no teleop sample' in tick.reason
    rig.switch.intervention(False, rig.now)
    assert rig.run(20).mode == Mode.HOLD  # the timeout latched: the policy does not resume


def test_monitored_intervention_stream_must_be_alive_for_the_policy():
    config = ModeSwitchConfig(intervention_timeout_ns=100 * MS)
    rig = Rig(make_switch(config))
    rig.run(20)
    result = rig.switch.engage_policy(True, rig.now)
    assert not result.success and 'intervention' in result.message
    rig.switch.intervention(False, rig.now)
    assert rig.switch.engage_policy(True, rig.now).success
    for _ in range(10):
        rig.switch.intervention(False, rig.now)
        rig.run(50)
    assert rig.switch.mode == Mode.POLICY
    tick = rig.run(150)  # the pedal's publisher dies
    assert tick.mode == Mode.HOLD and 'intervention stream silent' in tick.reason


def test_hold_request_brakes_and_masks_the_intervention():
    rig = Rig(make_switch())
    rig.run(20)
    rig.switch.engage_policy(True, rig.now)
    rig.run(20)
    fast = rig.chunk(START, START + np.array([0.9, 0.9, 0.9]), rig.now)
    assert rig.switch.submit_chunk(fast, rig.now).success
    rig.run(600)
    moving = rig.ticks[-1].velocities
    assert np.abs(moving).max() > 0.1
    assert rig.switch.request_hold(rig.now).success
    rig.switch.intervention(True, rig.now)
    rig.run(500, rig.switch.command)
    assert all(t.mode == Mode.HOLD for t in rig.ticks[-50:])
    np.testing.assert_array_equal(rig.ticks[-1].velocities, 0.0)
    accelerations = np.abs(np.diff([t.velocities for t in rig.ticks[-51:]], axis=0)) / 0.01
    assert (accelerations <= LIMITS.max_acceleration + 1e-6).all()
    assert_within_limits(rig.ticks)


def test_time_going_backwards_is_an_error():
    switch = make_switch()
    switch.tick(10 * MS)
    with pytest.raises(ValueError, match='now_ns'):
        switch.tick(5 * MS)


@pytest.mark.parametrize('kwargs, field', [
    ({'teleop_timeout_ns': 0}, 'teleop_timeout_ns'),
    ({'handover_velocity_fraction': 1.5}, 'handover_velocity_fraction'),
    ({'align_threshold': 0.5, 'tracking_error_limit': 0.2}, 'tracking_error_limit'),
    ({'align_threshold': [0.1, 0.1]}, 'align_threshold'),
])
def test_bad_configuration_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        make_switch(ModeSwitchConfig(**kwargs))


def test_initial_positions_outside_the_limits_are_refused():
    with pytest.raises(ValueError, match='shoulder'):
        make_switch(start=[2.5, 0.0, 0.0])


def test_mode_request_text_round_trips_and_rejects_garbage():
    request = ModeRequest(123_456_789, 'engage_policy')
    assert ModeRequest.from_text(request.to_text(), 0) == request
    assert ModeRequest.from_text('hold', 42) == ModeRequest(42, 'hold')
    with pytest.raises(ValueError, match='request'):
        ModeRequest.from_text('fly 12', 0)


def test_replaying_recorded_events_reproduces_the_mode_timeline():
    """The live switch records its inputs as a bag would; replay gives the same timeline."""
    live = make_switch()
    recorded = []
    timeline = ModeTimeline()
    live.change_listeners.append(timeline.record_change)

    def feed(event):
        recorded.append(event)
        try:
            result = live.handle(event)
        except ValueError:  # the node logs and skips bad messages
            return
        if isinstance(result, ModeTick):
            timeline.record_tick(result)

    now = 0
    leader = START.copy()
    script = {30: 'teleop', 80: 'engage_policy', 150: 'intervene', 200: 'release',
              260: 'hold', 300: 'engage_policy', 340: 'disengage_policy'}
    for step in range(420):
        now += 10 * MS
        if step < 250 or step > 320:
            leader = leader + 0.002 * np.sin(step / 7.0)
            feed(TeleopSample(now - 2 * MS, NAMES, tuple(leader)))
        action = script.get(step)
        if action in ('intervene', 'release'):
            feed(InterventionSample(now - 1 * MS, action == 'intervene'))
        elif action is not None:
            feed(ModeRequest(now - 1 * MS, action))
        if step == 50:
            feed(TeleopSample(now - 1 * MS, NAMES[:2], tuple(leader[:2])))
        if step in (100, 210, 310):
            command = live.command
            feed(ChunkArrival(now - MS // 2, ActionChunk(
                np.linspace(command, command + 0.05, 50), now - 3 * MS, 20 * MS, NAMES)))
        feed(Tick(now))
    modes = {c.to_mode for c in timeline.changes}
    assert modes == {Mode.TELEOP, Mode.POLICY, Mode.HOLD}
    assert {s.source for s in timeline.segments} == {'teleop', 'policy', 'hold'}
    shuffled = list(reversed(recorded))  # a bag reader may hand topics over in any order
    shuffled.sort(key=lambda e: e.stamp_ns)
    replayed = replay_mode_timeline(shuffled, make_switch)
    assert replayed.changes == timeline.changes
    assert replayed.segments == timeline.segments
    assert len(replayed.refused) == 1 and 'wrist' in replayed.refused[0]
    assert timeline.source_segments('policy')


def test_continuous_joints_align_and_track_the_short_way_round():
    """A wrist leader reporting +3.1 rad is 0.08 rad from a follower at -3.1 rad, not 6.2."""
    limits = JointLimits(NAMES, [-2.0, -2.0, -np.inf], [2.0, 2.0, np.inf], [1.0, 1.5, 2.0],
                         [10.0, 10.0, 10.0])
    start = np.array([0.1, -0.2, -3.1])
    executor = TrajectoryExecutor(limits, ExecutorConfig(state_timeout_s=None))
    rig = Rig(ModeSwitch(limits, executor, start, ModeSwitchConfig(align_threshold=0.1)))
    leader = np.array([0.1, -0.2, 3.1])
    rig.run(20, leader)
    assert rig.switch.request_teleop(rig.now).success
    tick = rig.run(500, leader)
    assert (tick.mode, tick.source) == (Mode.TELEOP, 'teleop')
    np.testing.assert_allclose(tick.positions[2], 3.1 - 2 * np.pi, atol=1e-9)  # same angle
    for angle in np.linspace(3.1, 3.1 + 0.4, 41):  # the leader crosses +pi and wraps to -pi
        wrapped = np.mod(angle + np.pi, 2 * np.pi) - np.pi
        tick = rig.run(10, [0.1, -0.2, wrapped])
    assert tick.mode == Mode.TELEOP
    np.testing.assert_allclose(tick.positions[2], 3.5 - 2 * np.pi, atol=0.1)  # a lag, no turn
    steps = np.abs(np.diff([t.positions[2] for t in rig.ticks]))
    assert steps.max() <= 2.0 * 0.01 + 1e-9  # never the 2 pi turn


def test_a_recorded_mode_topic_is_compared_in_order_and_in_time():
    recorded = [(0, 'HOLD'), (200 * MS, 'TELEOP'), (201 * MS, 'TELEOP'), (600 * MS, 'POLICY')]
    on_time = compare_with_recorded(recorded, [(195 * MS, 'TELEOP'), (605 * MS, 'POLICY')],
                                    15 * MS)
    assert on_time['matches_recorded'] is True
    assert on_time['recorded_modes'] == on_time['replayed_modes'] == ['HOLD', 'TELEOP', 'POLICY']
    assert on_time['change_offsets_s'] == pytest.approx([-0.005, 0.005])
    late = compare_with_recorded(recorded, [(195 * MS, 'TELEOP'), (700 * MS, 'POLICY')], 15 * MS)
    assert late['matches_recorded'] is False and late['change_offsets_s'][1] == pytest.approx(0.1)
    reordered = compare_with_recorded(recorded, [(200 * MS, 'POLICY')], 15 * MS)
    assert reordered['matches_recorded'] is False and reordered['change_offsets_s'] == []
