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
The executor's ``~/action_chunk`` is remapped to the policy node's.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.substitutions import FindPackageShare

# name, default, description; an empty string leaves the parameter file's value in place
ARGUMENTS = (
    ('params_file', PathJoinSubstitution([FindPackageShare('pi05_ros'), 'config', 'droid.yaml']),
     'ROS parameter file for both nodes (config/<profile>.yaml).'),
    ('checkpoint_dir', '', 'PI0.5 checkpoint directory.'),
    ('tokenizer_path', '', 'PaliGemma tokenizer (empty: <checkpoint_dir>/tokenizer.model).'),
    ('prompt', '', "Default prompt (empty: the parameter file's, else the profile's)."),
    ('device', '', "Torch device: 'cpu', 'cuda', 'cuda:1' (empty: the parameter file's)."),
    ('dtype', '', "'float32' or 'bfloat16' (empty: the parameter file's)."),
    ('use_sim_time', 'false', 'Follow /clock (bag replay, simulation).'),
    ('namespace', '', 'Namespace of both nodes.'),
    ('autostart', 'true', 'The policy node configures and activates itself.'),
)
STRING_OVERRIDES = {'checkpoint_dir': 'checkpoint_dir', 'tokenizer_path': 'tokenizer_path',
                    'prompt': 'default_prompt', 'device': 'device', 'dtype': 'dtype'}


def as_bool(value: str) -> bool:
    if value.strip().lower() in ('true', '1', 'yes', 'on'):
        return True
    if value.strip().lower() in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f"launch argument: expected 'true' or 'false', got {value!r}")


def policy_nodes(context):
    """Create the policy and executor nodes from the resolved launch arguments."""
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    params_file = arg('params_file')
    use_sim_time = as_bool(arg('use_sim_time'))
    overrides = {param: arg(name) for name, param in STRING_OVERRIDES.items() if arg(name)}
    overrides.update(use_sim_time=use_sim_time, autostart=as_bool(arg('autostart')))
    namespace = [PushRosNamespace(arg('namespace'))] if arg('namespace') else []
    return [GroupAction(namespace + [
        Node(package='pi05_ros', executable='policy_node', name='pi05_policy', output='screen',
             parameters=[params_file, overrides]),
        Node(package='pi05_ros', executable='executor_node', name='pi05_executor',
             output='screen', parameters=[params_file, {'use_sim_time': use_sim_time}],
             remappings=[('~/action_chunk', 'pi05_policy/action_chunk')]),
    ])]


def declare_arguments():
    return [DeclareLaunchArgument(name, default_value=default, description=description)
            for name, default, description in ARGUMENTS]


def generate_launch_description():
    return LaunchDescription(declare_arguments() + [OpaqueFunction(function=policy_nodes)])
