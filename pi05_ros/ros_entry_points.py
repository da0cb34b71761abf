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
Console scripts of the ROS nodes: without ROS 2 they say how to get it, in one line.

``policy_node``, ``executor_node``, ``sim_robot_node`` and the robot adapters
(``franka_adapter_node``, ``aloha_adapter_node``) check that rclpy and the message
packages import before importing the node, so a machine without ROS 2 gets a hint and exit code
1 instead of a traceback. A bug in the node itself still shows its traceback.
"""

import importlib
import sys
from typing import Callable, Optional, Sequence

# what the nodes import from ROS 2: the [ros] extra's wheels, or a sourced ROS 2 install
ROS_MODULES = ('rclpy', 'builtin_interfaces.msg', 'diagnostic_msgs.msg', 'lifecycle_msgs.msg',
               'rcl_interfaces.msg', 'sensor_msgs.msg', 'std_msgs.msg', 'std_srvs.srv',
               'trajectory_msgs.msg')
HOW_TO_GET_ROS = ("pip install 'pi05_ros[ros]' (ROS 2 Jazzy wheels) or source a ROS 2 install "
                  '(source /opt/ros/<distro>/setup.bash)')


def missing_ros(modules: Sequence[str] = ROS_MODULES) -> Optional[str]:
    """Return why the first of modules does not import, or None when all do."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            return f'{name}: {error}'
    return None


def run_node(script: str, module: str) -> Callable[[], int]:
    """Return the console-script function that runs module's main() once ROS imports."""
    def entry_point(args=None) -> int:
        problem = missing_ros()
        if problem is not None:
            print(f'{script}: ROS 2 is not importable here ({problem}); {HOW_TO_GET_ROS}',
                  file=sys.stderr)
            return 1
        importlib.import_module(module).main(args=args)
        return 0

    entry_point.__name__ = script
    return entry_point


def policy_node(args=None) -> int:
    return run_node('policy_node', 'pi05_ros.nodes.policy_node')(args)


def executor_node(args=None) -> int:
    return run_node('executor_node', 'pi05_ros.nodes.executor_node')(args)


def sim_robot_node(args=None) -> int:
    return run_node('sim_robot_node', 'pi05_ros.nodes.sim_robot_node')(args)


def franka_adapter_node(args=None) -> int:
    return run_node('franka_adapter_node', 'pi05_ros.nodes.franka_adapter_node')(args)


def aloha_adapter_node(args=None) -> int:
    return run_node('aloha_adapter_node', 'pi05_ros.nodes.aloha_adapter_node')(args)
