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
ROS names without ROS: how the package's relative topic names resolve.

Profiles and parameter files name topics relative to the node namespace (``joint_states``,
``cam_high/image_raw``), so nodes started in namespace ``/robot1`` use ``/robot1/...`` and two
robots run side by side. A bag holds fully qualified names.
"""


def absolute_topic(name: str, namespace: str = '/') -> str:
    """
    Return topic ``name`` fully qualified in ``namespace``, as a bag recorded there holds it.

    Absolute names stay as they are; ``~`` (private) names are not topic names of a profile
    and are refused, like an empty name.
    """
    if not name or name.startswith('~'):
        raise ValueError(f'topic name: expected a relative or absolute topic, got {name!r}')
    if name.startswith('/'):
        return name
    if not namespace.startswith('/'):
        raise ValueError(f'namespace: expected an absolute namespace, got {namespace!r}')
    return namespace.rstrip('/') + '/' + name
