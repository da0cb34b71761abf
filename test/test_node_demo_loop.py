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
What demo.launch.py starts, through the rclpy fakes: sim robot + policy + executor, closed loop.

Same parameter file (config/demo.yaml), same remapping as the launch file, the real tiny demo
model; timers fire on the fake clock in time order.
"""

from pathlib import Path

import numpy as np
from pi05_ros.control.executor_params import flatten
from pi05_ros.policy.demo_assets import make_demo_checkpoint
import pytest
import yaml

DEMO_PARAMS = Path(__file__).resolve().parents[1] / 'config' / 'demo.yaml'


@pytest.mark.parametrize('output', ['float64_multi_array', 'joint_trajectory'])
def test_demo_closes_the_loop(graph, tmp_path, output):
    from pi05_ros.nodes.executor_node import ExecutorNode
    from pi05_ros.nodes.policy_node import PolicyNode
    from pi05_ros.nodes.sim_robot_node import SimRobotNode
    params = {key.rsplit('/', 1)[1]: flatten(section['ros__parameters'])
              for key, section in yaml.safe_load(DEMO_PARAMS.read_text()).items()}
    checkpoint = make_demo_checkpoint(tmp_path / 'ckpt', 'demo', seed=1)
    params['pi05_policy'].update(checkpoint_dir=str(checkpoint), torch_threads=1,
                                 default_prompt='pick up the cube')
    params['sim_robot'].update(camera_width=160, camera_height=120,  # speed only
                               command_type=output)
    params['pi05_executor']['output.type'] = output
    graph.param_overrides.update(params)
    graph.remaps['pi05_executor'] = {'~/action_chunk': 'pi05_policy/action_chunk'}
    robot = SimRobotNode()
    policy = PolicyNode()
    executor = ExecutorNode()
    policy.trigger_configure()
    policy.trigger_activate()

    graph.spin_for(3.0)

    assert len(graph.published('/pi05_policy/action_chunk')) >= 4
    assert executor.counters['chunks_accepted'] >= 3, executor.last_chunk_result
    assert executor.switch.mode.value == 'POLICY'
    assert 'policy' in [m.data for m in graph.published('/pi05_executor/command_source')]
    sent = graph.published('/sim_robot/commands')
    if output == 'float64_multi_array':
        commands = np.array([list(m.data) for m in sent])
        assert len(commands) >= 250
        steps = np.abs(np.diff(commands, axis=0))
        executor_params = params['pi05_executor']
        per_tick = executor_params['limits.max_velocity'][0] / executor_params['rate_hz']
        assert steps.max() <= per_tick + 1e-9  # demo.yaml: max_velocity per executor tick
    else:  # a spliced trajectory per accepted chunk (and per hold), not one per tick
        assert executor.counters['chunks_accepted'] <= len(sent) < 50
    # the simulated joints moved, and follow what the executor commands
    assert np.abs(robot.position).max() > 1e-3
    np.testing.assert_allclose(robot.position, executor.switch.command, atol=0.02)  # lag
    status = [s for a in graph.published('/diagnostics') for s in a.status
              if s.name.startswith('pi05_policy')][-1]
    assert {kv.key: kv.value for kv in status.values}['no_chunk_reason'] == 'none'
