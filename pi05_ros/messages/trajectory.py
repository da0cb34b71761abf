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
ActionChunk <-> ``trajectory_msgs/JointTrajectory``.

On the wire a chunk is a JointTrajectory with ``header.stamp`` = the observation stamp,
``joint_names`` in profile order, and one point per row with ``time_from_start = (k + 1) * dt``
(``velocities`` where the chunk has them). Messages are built through constructors you pass in
(:class:`JointTrajectoryTypes`), so the same code fills rclpy messages in the node and rosbags
dataclasses in replay and tests.
"""

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.messages.joints import float64_sequence
from pi05_ros.messages.stamps import duration_to_ns, ns_to_duration, ns_to_stamp, stamp_to_ns

DEFAULT_TIME_TOLERANCE_NS = 1000  # 1 us: rounding of a dt that is not a whole number of ns


@dataclass(frozen=True)
class JointTrajectoryTypes:
    """
    Constructors for the messages a JointTrajectory is made of (called with keywords).

    ``float_array`` turns a float64 vector into the value of a ``float64[]`` field: by default
    ``array.array('d')`` (rclpy, fast on Humble and Jazzy); rosbags wants a numpy array.
    """

    joint_trajectory: Callable[..., Any]
    joint_trajectory_point: Callable[..., Any]
    header: Callable[..., Any]
    time: Callable[..., Any]
    duration: Callable[..., Any]
    float_array: Callable[[np.ndarray], Any] = float64_sequence

    @classmethod
    def from_typestore(cls, store: Any) -> 'JointTrajectoryTypes':
        """Use the rosbags message classes of ``store`` (``rosbags.typesys.get_typestore()``)."""
        types = store.types
        return cls(
            joint_trajectory=types['trajectory_msgs/msg/JointTrajectory'],
            joint_trajectory_point=types['trajectory_msgs/msg/JointTrajectoryPoint'],
            header=types['std_msgs/msg/Header'],
            time=types['builtin_interfaces/msg/Time'],
            duration=types['builtin_interfaces/msg/Duration'],
            float_array=lambda values: np.array(values, dtype=np.float64).reshape(-1),
        )


def chunk_to_joint_trajectory(chunk: ActionChunk, types: JointTrajectoryTypes,
                              frame_id: str = '', include_velocities: bool = True) -> Any:
    """
    Build the JointTrajectory message of an ActionChunk with ``types``.

    Velocities are written only when the chunk has them and ``include_velocities`` is true
    (Jazzy's joint_trajectory_controller rejects a non-zero final velocity by default).
    """
    sec, nanosec = ns_to_stamp(chunk.stamp_ns)
    header = types.header(stamp=types.time(sec=sec, nanosec=nanosec), frame_id=frame_id)
    with_velocities = include_velocities and chunk.velocities is not None
    empty = np.zeros(0, dtype=np.float64)
    points = []
    for k in range(chunk.horizon):
        from_start_sec, from_start_nanosec = ns_to_duration((k + 1) * chunk.dt_ns)
        points.append(types.joint_trajectory_point(
            positions=types.float_array(chunk.positions[k]),
            velocities=types.float_array(chunk.velocities[k] if with_velocities else empty),
            accelerations=types.float_array(empty),
            effort=types.float_array(empty),
            time_from_start=types.duration(sec=from_start_sec, nanosec=from_start_nanosec),
        ))
    return types.joint_trajectory(header=header, joint_names=list(chunk.joint_names),
                                  points=points)


@dataclass(frozen=True)
class TrajectoryArrays:
    """A JointTrajectory's numbers, in the requested joint order."""

    stamp_ns: int  # header.stamp
    joint_names: Tuple[str, ...]
    time_from_start_ns: np.ndarray  # (N,) int64
    positions: np.ndarray  # (N, J) float64
    velocities: Optional[np.ndarray]  # (N, J) float64, or None when no point has velocities


def _column_order(names: Tuple[str, ...], joint_names: Optional[Sequence[str]]) -> np.ndarray:
    if joint_names is None:
        return np.arange(len(names))
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in joint_names if name not in index]
    if missing:
        raise ValueError(
            f'JointTrajectory.joint_names: missing joints {missing} (message has {list(names)})')
    return np.array([index[name] for name in joint_names], dtype=np.int64)


def _point_matrix(points: Sequence[Any], field: str, num_joints: int,
                  allow_empty: bool) -> Optional[np.ndarray]:
    rows = [np.asarray(getattr(p, field), dtype=np.float64).reshape(-1) for p in points]
    if allow_empty and all(row.size == 0 for row in rows):
        return None
    for k, row in enumerate(rows):
        if row.size != num_joints:
            raise ValueError(
                f'JointTrajectory.points[{k}].{field}: expected {num_joints} values '
                f'(one per joint name), got {row.size}')
    return np.stack(rows)  # (N, J)


def joint_trajectory_to_arrays(msg: Any,
                               joint_names: Optional[Sequence[str]] = None) -> TrajectoryArrays:
    """
    Read the numbers of any JointTrajectory; no timing convention is checked.

    Columns are in ``joint_names`` order (default: the message's order). For recorded commands
    in replay.
    """
    names = tuple(msg.joint_names)
    if not names:
        raise ValueError('JointTrajectory.joint_names: expected at least one joint, got none')
    if len(set(names)) != len(names):
        raise ValueError(f'JointTrajectory.joint_names: duplicate names in {list(names)}')
    points = list(msg.points)
    if not points:
        raise ValueError('JointTrajectory.points: expected at least one point, got none')
    order = _column_order(names, joint_names)
    positions = _point_matrix(points, 'positions', len(names), allow_empty=False)
    velocities = _point_matrix(points, 'velocities', len(names), allow_empty=True)
    return TrajectoryArrays(
        stamp_ns=stamp_to_ns(msg.header.stamp),
        joint_names=tuple(names[i] for i in order),
        time_from_start_ns=np.array([duration_to_ns(p.time_from_start) for p in points],
                                    dtype=np.int64),
        positions=positions[:, order],
        velocities=None if velocities is None else velocities[:, order],
    )


def _chunk_step_ns(time_from_start_ns: np.ndarray, tolerance_ns: int) -> int:
    """Find dt such that point k is at (k + 1) * dt; ValueError naming the offending point."""
    for k in range(1, time_from_start_ns.size):
        if time_from_start_ns[k] <= time_from_start_ns[k - 1]:
            raise ValueError(
                f'JointTrajectory.points[{k}].time_from_start: expected strictly increasing '
                f'times, got {time_from_start_ns[k]} ns after {time_from_start_ns[k - 1]} ns')
    horizon = time_from_start_ns.size
    dt_ns = int(round(int(time_from_start_ns[-1]) / horizon))
    if dt_ns <= 0:
        raise ValueError(
            f'JointTrajectory.points[0].time_from_start: expected a positive time (row k is '
            f'at (k + 1) * dt), got {time_from_start_ns[0]} ns')
    expected = dt_ns * np.arange(1, horizon + 1, dtype=np.int64)
    off = np.flatnonzero(np.abs(time_from_start_ns - expected) > tolerance_ns)
    if off.size:
        k = int(off[0])
        raise ValueError(
            f'JointTrajectory.points[{k}].time_from_start: expected (k + 1) * dt = '
            f'{expected[k]} ns (dt = {dt_ns} ns), got {time_from_start_ns[k]} ns')
    return dt_ns


def joint_trajectory_to_chunk(msg: Any, joint_names: Optional[Sequence[str]] = None,
                              time_tolerance_ns: int = DEFAULT_TIME_TOLERANCE_NS
                              ) -> ActionChunk:
    """
    Convert a JointTrajectory that follows the chunk convention to an ActionChunk.

    ``time_from_start`` must be strictly increasing with point k at (k + 1) * dt for one
    constant dt (within ``time_tolerance_ns``); otherwise ValueError names the point. Columns are
    reordered to ``joint_names`` when given.
    """
    arrays = joint_trajectory_to_arrays(msg, joint_names)
    dt_ns = _chunk_step_ns(arrays.time_from_start_ns, int(time_tolerance_ns))
    return ActionChunk(positions=arrays.positions, stamp_ns=arrays.stamp_ns, dt_ns=dt_ns,
                       joint_names=arrays.joint_names, velocities=arrays.velocities)
