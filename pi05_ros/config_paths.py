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

"""Finding the package's installed YAML files with or without ROS."""

import os
from pathlib import Path
import sys
from typing import List

PACKAGE = 'pi05_ros'


def config_dirs() -> List[Path]:
    """
    Where ``config/`` may live, most specific first.

    1. ``$PI05_ROS_CONFIG_DIR``; 2. the source tree (editable installs, tests);
    3. a colcon install (``install/pi05_ros/share/pi05_ros/config``);
    4. a pip install (``<prefix>/share/pi05_ros/config``).
    """
    here = Path(__file__).resolve()
    candidates = []
    if os.environ.get('PI05_ROS_CONFIG_DIR'):
        candidates.append(Path(os.environ['PI05_ROS_CONFIG_DIR']))
    candidates.append(here.parents[1] / 'config')
    # colcon: <install>/pi05_ros/lib/pythonX.Y/site-packages/pi05_ros/config_paths.py
    if len(here.parents) > 4:
        candidates.append(here.parents[4] / 'share' / PACKAGE / 'config')
    candidates.append(Path(sys.prefix) / 'share' / PACKAGE / 'config')
    found = []
    for candidate in candidates:
        if candidate.is_dir() and candidate.resolve() not in found:
            found.append(candidate.resolve())
    return found


def find_config_file(relative: str) -> Path:
    """
    Return the first existing ``config/<relative>``.

    Raises FileNotFoundError naming every directory it looked in.
    """
    dirs = config_dirs()
    for d in dirs:
        path = d / relative
        if path.is_file():
            return path
    looked = ', '.join(str(d) for d in dirs) or '(no config directory found)'
    raise FileNotFoundError(f'config file {relative!r} not found; looked in: {looked}')
