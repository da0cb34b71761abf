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

"""Finding installed YAML files: the environment override first, then the package's config/."""

from pi05_ros.config_paths import config_dirs, find_config_file
import pytest


def test_shipped_profiles_are_found_from_the_source_tree():
    path = find_config_file('profiles/droid.yaml')
    assert path.is_file() and path.parent.name == 'profiles'


def test_environment_override_is_searched_first(tmp_path, monkeypatch):
    (tmp_path / 'profiles').mkdir()
    (tmp_path / 'profiles' / 'droid.yaml').write_text('name: droid\n')
    monkeypatch.setenv('PI05_ROS_CONFIG_DIR', str(tmp_path))
    assert config_dirs()[0] == tmp_path.resolve()
    assert find_config_file('profiles/droid.yaml') == tmp_path.resolve() / 'profiles/droid.yaml'


def test_missing_file_error_names_the_file_and_every_directory_searched(tmp_path, monkeypatch):
    monkeypatch.setenv('PI05_ROS_CONFIG_DIR', str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        find_config_file('profiles/no_such_robot.yaml')
    message = str(error.value)
    assert "'profiles/no_such_robot.yaml'" in message
    assert all(str(d) in message for d in config_dirs())
