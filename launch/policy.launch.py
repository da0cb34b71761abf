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
PI0.5 policy node + trajectory executor.

    ros2 launch pi05_ros policy.launch.py params_file:=<share>/config/droid.yaml \
        checkpoint_dir:=/path/to/pi05_droid prompt:='pick up the cup'

The policy node is a managed (lifecycle) node; with ``autostart:=true`` (default) it configures
and activates itself, which works the same on Humble and Jazzy. With ``autostart:=false`` drive it
with ``ros2 lifecycle set /pi05_policy configure`` / ``activate`` or a lifecycle manager.
The executor's ``~/action_chunk`` and ``~/action_chunk_rtc`` are remapped to the policy node's.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare
from pi05_ros.launch_arguments import (argument_table, as_bool, EXECUTOR_REMAPS,
                                       policy_overrides)

# the table demo.launch.py shares (pi05_ros/launch_arguments.py)
ARGUMENTS = argument_table()


def policy_nodes(context):
    """Create the policy and executor nodes from the resolved launch arguments."""
    values = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    use_sim_time = as_bool('use_sim_time', values['use_sim_time'])
    namespace = [PushRosNamespace(values['namespace'])] if values['namespace'] else []
    params_file = values['params_file']
    return [GroupAction(namespace + [
        Node(package='pi05_ros', executable='policy_node', name='pi05_policy', output='screen',
             parameters=[params_file, policy_overrides(values)]),
        Node(package='pi05_ros', executable='executor_node', name='pi05_executor',
             output='screen', parameters=[params_file, {'use_sim_time': use_sim_time}],
             remappings=list(EXECUTOR_REMAPS)),
    ])]


def declare_arguments(table=ARGUMENTS):
    """Declare the launch arguments; a bare parameter file name is one of the package's."""
    config = PathJoinSubstitution([FindPackageShare('pi05_ros'), 'config'])
    return [DeclareLaunchArgument(
        name, description=description,
        default_value=PathJoinSubstitution([config, default]) if name == 'params_file'
        else default) for name, default, description in table]


def generate_launch_description():
    return LaunchDescription(declare_arguments() + [OpaqueFunction(function=policy_nodes)])
