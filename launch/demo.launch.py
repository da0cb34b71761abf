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

    ros2 launch pi05_ros demo.launch.py [namespace:=robot1]

Takes every argument policy.launch.py takes (one shared table, pi05_ros/launch_arguments.py) and
forwards them to it, with demo defaults (config/demo.yaml, cpu, float32). Without
``checkpoint_dir:=...`` it writes a tiny random-weight PI0.5 checkpoint for the ``demo`` profile
into a temporary directory and removes it at shutdown. Starts the simulated robot (joint states
following the commands, three synthetic 640x480 rgb8 cameras) beside the two nodes.
"""

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, GroupAction, IncludeLaunchDescription,
                            OpaqueFunction, RegisterEventHandler)
from launch.event_handlers import OnShutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare
from pi05_ros.launch_arguments import argument_table, as_bool, DEMO_DEFAULTS

SHARE = FindPackageShare('pi05_ros')
ARGUMENTS = argument_table(DEMO_DEFAULTS)


def remove_at_shutdown(checkpoint):
    """Return the action that removes the temporary demo checkpoint when launch shuts down."""
    def on_shutdown(event, context):
        from pi05_ros.policy.demo_assets import remove_temporary_demo_checkpoint
        remove_temporary_demo_checkpoint(checkpoint)
        print(f'[demo.launch.py] removed the temporary checkpoint {checkpoint}')

    return RegisterEventHandler(OnShutdown(on_shutdown=on_shutdown))


def demo_nodes(context):
    """Make the demo checkpoint if needed, then include policy.launch.py and the sim robot."""
    values = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    actions = []
    if not values['checkpoint_dir']:
        from pi05_ros.policy.demo_assets import make_temporary_demo_checkpoint
        checkpoint = make_temporary_demo_checkpoint('demo')
        print(f'[demo.launch.py] tiny random-weight checkpoint: {checkpoint}')
        actions.append(remove_at_shutdown(checkpoint))
        values['checkpoint_dir'] = str(checkpoint)
    policy_launch = PathJoinSubstitution([SHARE, 'launch', 'policy.launch.py'])
    namespace = [PushRosNamespace(values['namespace'])] if values['namespace'] else []
    sim_robot = Node(package='pi05_ros', executable='sim_robot_node', name='sim_robot',
                     output='screen',
                     parameters=[values['params_file'],
                                 {'use_sim_time': as_bool('use_sim_time',
                                                          values['use_sim_time'])}])
    return actions + [
        IncludeLaunchDescription(PythonLaunchDescriptionSource(policy_launch),
                                 launch_arguments=values.items()),
        GroupAction(namespace + [sim_robot]),
    ]


def generate_launch_description():
    config = PathJoinSubstitution([SHARE, 'config'])
    arguments = [DeclareLaunchArgument(
        name, description=description,
        default_value=PathJoinSubstitution([config, default]) if name == 'params_file'
        else default) for name, default, description in ARGUMENTS]
    return LaunchDescription(arguments + [OpaqueFunction(function=demo_nodes)])
