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

"""``main()`` of every node: init, spin a MultiThreadedExecutor, tear down (Humble and Jazzy)."""

from typing import Any, Callable, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


def spin_node(make_node: Callable[[], Any], num_threads: int, args=None,
              on_start: Optional[Callable[[Any], None]] = None) -> None:
    """Create the node, run ``on_start(node)``, spin until Ctrl-C or shutdown, then clean up.

    An exception from the node's constructor (an invalid parameter) propagates after the
    cleanup, so the process exits non-zero with the message.
    """
    rclpy.init(args=args)
    node = None
    executor = MultiThreadedExecutor(num_threads=num_threads)
    try:
        node = make_node()
        executor.add_node(node)
        if on_start is not None:
            on_start(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
