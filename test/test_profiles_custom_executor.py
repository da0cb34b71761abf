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

"""The executor node (real rclpy, in process) never exceeds a custom profile's ``limits:``."""

import yaml

JOINTS = ['a', 'b', 'hand']
PROFILE = {
    'name': 'two_joints_and_a_hand', 'joint_names': JOINTS, 'control_dt': 0.05,
    'chunk_rows': 50, 'asset_id': 'mine',
    'cameras': [{'name': 'base', 'slot': 'base_0_rgb', 'topic': 'base_camera/image_raw'}],
    'grippers': {'hand': {'open': 0.0, 'closed': 0.04}},
    'limits': {'lower': [-1.0, -1.0, 0.0], 'upper': [1.0, 1.0, 0.04], 'max_velocity': 0.5,
               'max_jerk': 40.0},
}
URDF = """<robot name="r">
  <joint name="a" type="revolute"><limit lower="-2" upper="2" velocity="2.0"/></joint>
  <joint name="b" type="revolute"><limit lower="-0.5" upper="0.5" velocity="0.2"/></joint>
  <joint name="hand" type="prismatic"><limit lower="0" upper="0.08" velocity="0.1"/></joint>
</robot>"""


def executor_here(ros_context, tmp_path, **params):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from ros_graph import node_in_process
    path = tmp_path / 'profile.yaml'
    path.write_text(yaml.safe_dump(PROFILE))
    params = {'profile': str(path), 'limits.lower': [-3.0], 'limits.upper': [3.0],
              'limits.max_velocity': [2.0], 'limits.max_acceleration': [5.0], **params}
    return node_in_process(ros_context, ExecutorNode, params)


def test_parameter_limits_are_capped_by_the_profile(ros_context, tmp_path):
    node = executor_here(ros_context, tmp_path)
    assert node.joint_names == JOINTS
    limits = node.limits
    assert list(limits.lower) == [-1.0, -1.0, 0.0] and list(limits.upper) == [1.0, 1.0, 0.04]
    assert list(limits.max_velocity) == [0.5] * 3  # 2.0 in the parameters
    assert list(limits.max_acceleration) == [5.0] * 3  # tighter than no profile value
    assert list(limits.max_jerk) == [40.0] * 3  # the parameters set none
    assert node.trajectory_executor.limits is limits


def test_tighter_parameters_win_and_a_looser_run_time_value_stays_capped(ros_context, tmp_path):
    from rclpy.parameter import Parameter
    node = executor_here(ros_context, tmp_path, **{'limits.max_velocity': [0.3, 2.0, 2.0]})
    assert list(node.limits.max_velocity) == [0.3, 0.5, 0.5]
    [result] = node.set_parameters([Parameter('limits.max_velocity', value=[0.2, 9.0, 9.0])])
    assert result.successful, result.reason
    assert list(node.limits.max_velocity) == [0.2, 0.5, 0.5]


def test_urdf_limits_are_capped_too(ros_context, tmp_path):
    node = executor_here(ros_context, tmp_path, **{'limits.source': 'urdf',
                                                   'robot_description': URDF})
    limits = node.limits
    assert list(limits.lower) == [-1.0, -0.5, 0.0] and list(limits.upper) == [1.0, 0.5, 0.04]
    assert list(limits.max_velocity) == [0.5, 0.2, 0.1]
