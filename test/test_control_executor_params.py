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

"""The executor node's parameters -> limits and settings, without ROS (shared with replay)."""

from pathlib import Path

import numpy as np
from pi05_ros.control.executor_params import (EXECUTOR_DEFAULTS, executor_settings,
                                              read_node_parameters)
import pytest

CONFIG = Path(__file__).resolve().parents[1] / 'config'
NAMES = ['a', 'b', 'c']


def test_parameter_file_section_is_read_and_flattened():
    params = read_node_parameters(CONFIG / 'demo.yaml')
    assert params['limits.max_velocity'] == [2.0]
    assert params['executor.interpolation'] == 'cubic'
    assert params['rate_hz'] == 100.0
    assert read_node_parameters(CONFIG / 'demo.yaml', 'no_such_node') is None


def test_section_key_may_be_namespaced_or_bare(tmp_path):
    for key in ('pi05_executor', '/robot/pi05_executor', '/**/pi05_executor'):
        path = tmp_path / 'p.yaml'
        path.write_text(f'{key}:\n  ros__parameters:\n    limits: {{max_velocity: [0.5]}}\n')
        assert read_node_parameters(path) == {'limits.max_velocity': [0.5]}
    path.write_text('- not a mapping\n')
    with pytest.raises(ValueError, match='p.yaml'):
        read_node_parameters(path)


def test_one_value_or_one_per_joint_and_the_node_defaults():
    settings = executor_settings({'limits.max_velocity': [1.0, 2.0, 3.0],
                                  'limits.max_acceleration': [4.0],
                                  'limits.max_jerk': [0.0, 50.0, 0.0],
                                  'executor.interpolation': 'quintic',
                                  'executor.blend_window': 0.3,
                                  'executor.chunk_timeout': 0.0, 'rate_hz': 50.0}, NAMES)
    np.testing.assert_array_equal(settings.limits.max_velocity, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(settings.limits.max_acceleration, [4.0] * 3)
    np.testing.assert_array_equal(settings.limits.max_jerk, [np.inf, 50.0, np.inf])
    lower = EXECUTOR_DEFAULTS['limits.lower'][0]
    np.testing.assert_array_equal(settings.limits.lower, [lower] * 3)
    assert settings.config.interpolation == 'quintic'
    assert settings.config.blend_window_s == 0.3
    assert settings.config.chunk_timeout_s is None  # 0 disables, as in the node
    assert settings.config.state_timeout_s == EXECUTOR_DEFAULTS['executor.state_timeout']
    assert settings.rate_hz == 50.0
    assert settings.mode_config.teleop_timeout_ns == 200_000_000


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r'limits.max_velocity: expected 1 or 3 values'):
        executor_settings({'limits.max_velocity': [1.0, 2.0]}, NAMES)
    with pytest.raises(ValueError, match='rate_hz'):
        executor_settings({'rate_hz': 0.0}, NAMES)


def test_urdf_gives_positions_and_velocities_parameters_the_rest():
    urdf = ('<robot name="r">' + ''.join(
        f'<joint name="{n}" type="revolute"><limit lower="-1" upper="1" velocity="0.7"/></joint>'
        for n in NAMES) + '</robot>')
    limits = executor_settings({'limits.max_acceleration': [3.0]}, NAMES, urdf=urdf).limits
    np.testing.assert_array_equal(limits.max_velocity, [0.7] * 3)
    np.testing.assert_array_equal(limits.upper, [1.0] * 3)
    np.testing.assert_array_equal(limits.max_acceleration, [3.0] * 3)
