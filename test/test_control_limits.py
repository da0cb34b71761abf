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

"""Joint limits: validation, URDF parsing, clamping."""

import numpy as np
from pi05_ros.control.limits import JointLimits
import pytest

URDF = """<?xml version="1.0"?>
<robot name="arm">
  <link name="base"/><link name="l1"/><link name="l2"/><link name="l3"/><link name="tool"/>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="l1"/>
    <limit lower="-1.5" upper="1.5" velocity="2.0" effort="10"/>
    <safety_controller soft_lower_limit="-1.4" soft_upper_limit="1.2" k_position="10"/>
  </joint>
  <joint name="wrist" type="continuous">
    <parent link="l1"/><child link="l2"/>
    <limit velocity="3.0" effort="5"/>
  </joint>
  <joint name="slide" type="prismatic">
    <parent link="l2"/><child link="l3"/>
    <limit lower="0.0" upper="0.08" velocity="0.1" effort="5"/>
  </joint>
  <joint name="mount" type="fixed"><parent link="l3"/><child link="tool"/></joint>
  <joint name="elbow" type="revolute">
    <parent link="l1"/><child link="l2"/>
    <limit lower="-2" upper="2" effort="5"/>
  </joint>
</robot>
"""


def test_from_urdf_reads_limits_in_requested_order():
    limits = JointLimits.from_urdf(URDF, ['slide', 'wrist', 'shoulder'],
                                   default_max_acceleration=[1.0, 2.0, 3.0])
    assert limits.joint_names == ('slide', 'wrist', 'shoulder')
    np.testing.assert_array_equal(limits.lower, [0.0, -np.inf, -1.5])
    np.testing.assert_array_equal(limits.upper, [0.08, np.inf, 1.5])
    np.testing.assert_array_equal(limits.max_velocity, [0.1, 3.0, 2.0])
    np.testing.assert_array_equal(limits.max_acceleration, [1.0, 2.0, 3.0])


def test_from_urdf_soft_limits_are_tighter():
    limits = JointLimits.from_urdf(URDF, ['shoulder'], use_safety_controller=True)
    np.testing.assert_array_equal([limits.lower[0], limits.upper[0]], [-1.4, 1.2])


def test_from_urdf_missing_velocity_needs_a_default():
    with pytest.raises(ValueError, match='elbow'):
        JointLimits.from_urdf(URDF, ['elbow'])
    limits = JointLimits.from_urdf(URDF, ['elbow'], default_max_velocity=0.7)
    assert limits.max_velocity[0] == 0.7


@pytest.mark.parametrize('name, message', [('nope', 'no joint named'), ('mount', 'fixed')])
def test_from_urdf_rejects_unknown_and_fixed_joints(name, message):
    with pytest.raises(ValueError, match=message):
        JointLimits.from_urdf(URDF, [name])


def test_from_urdf_rejects_bad_xml_and_revolute_without_limit():
    with pytest.raises(ValueError, match='robot_description'):
        JointLimits.from_urdf('<robot', ['a'])
    no_limit = ('<robot name="r"><joint name="a" type="revolute"><parent link="x"/>'
                '<child link="y"/></joint></robot>')
    with pytest.raises(ValueError, match='no <limit>'):
        JointLimits.from_urdf(no_limit, ['a'])


@pytest.mark.parametrize('field, kwargs', [
    ('lower/upper', {'lower': [1.0, 0.0], 'upper': [0.0, 1.0]}),
    ('max_velocity', {'max_velocity': [1.0, 0.0]}),
    ('max_velocity', {'max_velocity': [1.0, np.inf]}),
    ('max_acceleration', {'max_acceleration': [-1.0, 1.0]}),
    ('max_jerk', {'max_jerk': [0.0, 1.0]}),
    ('lower', {'lower': [0.0, 0.0, 0.0]}),
])
def test_invalid_limits_name_the_field(field, kwargs):
    values = {'lower': -1.0, 'upper': 1.0, 'max_velocity': 1.0, 'max_acceleration': 2.0}
    values.update(kwargs)
    with pytest.raises(ValueError, match=field.split('/')[0]):
        JointLimits(('a', 'b'), **values)


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match='unique'):
        JointLimits(('a', 'a'), -1, 1, 1, 1)


def test_clamp_helpers_keep_values_within_limits():
    limits = JointLimits(('a', 'b'), [-1.0, -np.inf], [1.0, np.inf], [1.0, 2.0], 5.0)
    np.testing.assert_array_equal(limits.clamp_positions(np.array([3.0, 1e9])), [1.0, 1e9])
    stepped = limits.clamp_step(np.zeros(2), np.array([1.0, -1.0]), 0.1)
    np.testing.assert_allclose(stepped, [0.1, -0.2])
    assert list(limits.position_violations(np.array([[0.0, 0.0], [1.05, 0.0]]))) == [0]
    assert list(limits.position_violations(np.array([[1.05, 0.0]]), margin=0.1)) == []
    steps = np.array([[0.0, 0.0], [0.05, 0.3]])
    assert list(limits.velocity_violations(steps, 0.1)) == [1]
    with pytest.raises(ValueError, match='a'):
        limits.check_positions(np.array([-2.0, 0.0]))


def test_reordered_follows_names():
    limits = JointLimits(('a', 'b'), [-1.0, -2.0], [1.0, 2.0], [1.0, 2.0], [3.0, 4.0])
    swapped = limits.reordered(['b', 'a'])
    np.testing.assert_array_equal(swapped.lower, [-2.0, -1.0])
    np.testing.assert_array_equal(swapped.max_acceleration, [4.0, 3.0])
    with pytest.raises(ValueError, match='c'):
        limits.reordered(['c'])
