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
The full loop with no robot and no checkpoint: policy + executor + simulated robot.

    ros2 launch pi05_ros demo.launch.py

Creates a tiny random-weight PI0.5 checkpoint for the ``demo`` profile in a temporary directory
(or uses ``checkpoint_dir:=...``), then starts policy.launch.py with config/demo.yaml and the
simulated robot (joint states following the commands, three synthetic 640x480 rgb8 cameras).
"""

import tempfile

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, GroupAction, IncludeLaunchDescription,
                            OpaqueFunction)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare

SHARE = FindPackageShare('pi05_ros')
DEMO_PARAMS = PathJoinSubstitution([SHARE, 'config', 'demo.yaml'])

ARGUMENTS = (
    ('params_file', DEMO_PARAMS, 'Parameter file for the policy, executor and sim robot.'),
    ('checkpoint_dir', '', 'Checkpoint to use (empty: create a tiny random-weight one).'),
    ('prompt', 'pick up the cube', 'Default prompt.'),
    ('device', 'cpu', 'Torch device for the demo model.'),
    ('dtype', 'float32', "'float32' or 'bfloat16'."),
    ('use_sim_time', 'false', 'Follow /clock.'),
    ('namespace', '', 'Namespace of all nodes.'),
)


def demo_nodes(context):
    """Make the demo checkpoint if needed, then include policy.launch.py and the sim robot."""
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    checkpoint = arg('checkpoint_dir')
    if not checkpoint:
        from pi05_ros.policy.demo_assets import make_demo_checkpoint
        checkpoint = str(make_demo_checkpoint(tempfile.mkdtemp(prefix='pi05_demo_'), 'demo'))
        print(f'[demo.launch.py] tiny random-weight checkpoint: {checkpoint}')
    forwarded = {name: arg(name) for name in ('params_file', 'prompt', 'device', 'dtype',
                                              'use_sim_time', 'namespace')}
    forwarded.update(checkpoint_dir=checkpoint, autostart='true')
    policy_launch = PathJoinSubstitution([SHARE, 'launch', 'policy.launch.py'])
    namespace = [PushRosNamespace(arg('namespace'))] if arg('namespace') else []
    use_sim_time = forwarded['use_sim_time'].strip().lower() == 'true'
    sim_robot = Node(package='pi05_ros', executable='sim_robot_node', name='sim_robot',
                     output='screen',
                     parameters=[arg('params_file'), {'use_sim_time': use_sim_time}])
    return [
        IncludeLaunchDescription(PythonLaunchDescriptionSource(policy_launch),
                                 launch_arguments=forwarded.items()),
        GroupAction(namespace + [sim_robot]),
    ]


def generate_launch_description():
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, default, description in ARGUMENTS]
    return LaunchDescription(arguments + [OpaqueFunction(function=demo_nodes)])
