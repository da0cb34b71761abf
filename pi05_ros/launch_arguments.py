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
The launch arguments policy.launch.py and demo.launch.py share: one table, no launch import.

Both launch files declare exactly :data:`POLICY_ARGUMENTS` (the demo with its own defaults,
:data:`DEMO_DEFAULTS`), so anything policy.launch.py takes, demo.launch.py takes and forwards.
An empty string leaves the parameter file's value in place. ``params_file``'s default is a file
name in the package's ``share/pi05_ros/config``, which the launch file turns into a path.
"""

from typing import Dict, Mapping, Optional, Tuple

# name, default, description
POLICY_ARGUMENTS = (
    ('params_file', 'droid.yaml',
     'ROS parameter file for the nodes (default: share/pi05_ros/config/droid.yaml).'),
    ('checkpoint_dir', '', 'PI0.5 checkpoint directory.'),
    ('tokenizer_path', '', 'PaliGemma tokenizer (empty: <checkpoint_dir>/tokenizer.model).'),
    ('prompt', '', "Default prompt (empty: the parameter file's, else the profile's)."),
    ('device', '', "Torch device: 'cpu', 'cuda', 'cuda:1' (empty: the parameter file's)."),
    ('dtype', '', "'float32' or 'bfloat16' (empty: the parameter file's)."),
    ('use_sim_time', 'false', 'Follow /clock (bag replay, simulation).'),
    ('namespace', '', 'Namespace of the nodes (robot topics are relative: they follow it).'),
    ('autostart', 'true', 'The policy node configures and activates itself.'),
    ('backend', '', "'local' or 'remote' (a policy server; empty: the parameter file's)."),
    ('remote_uri', '', 'ws://host:port of the policy server for backend remote.'),
)

# the executor node's inputs from the policy node (policy.launch.py; the node tests pass them too)
EXECUTOR_REMAPS = (('~/action_chunk', 'pi05_policy/action_chunk'),
                   ('~/action_chunk_rtc', 'pi05_policy/action_chunk_rtc'))
DEMO_DEFAULTS: Mapping[str, Tuple[str, str]] = {
    'params_file': ('demo.yaml', 'Parameter file (default: share/pi05_ros/config/demo.yaml).'),
    'checkpoint_dir': ('', 'Checkpoint to use (empty: a tiny random-weight one, made for this '
                           'run and removed at shutdown).'),
    'prompt': ('pick up the cube', 'Default prompt.'),
    'device': ('cpu', 'Torch device for the demo model.'),
    'dtype': ('float32', "'float32' or 'bfloat16'."),
}
# launch argument -> policy node parameter, set only when the argument is not empty
STRING_OVERRIDES: Mapping[str, str] = {
    'checkpoint_dir': 'checkpoint_dir', 'tokenizer_path': 'tokenizer_path',
    'prompt': 'default_prompt', 'device': 'device', 'dtype': 'dtype', 'backend': 'backend',
    'remote_uri': 'remote.uri'}


Table = Tuple[Tuple[str, str, str], ...]


def argument_table(defaults: Optional[Mapping[str, Tuple[str, str]]] = None) -> Table:
    """Return :data:`POLICY_ARGUMENTS` with some (default, description) pairs replaced."""
    defaults = defaults or {}
    unknown = sorted(set(defaults) - {name for name, _, _ in POLICY_ARGUMENTS})
    if unknown:
        raise ValueError(f'launch arguments: no such argument {unknown}')
    return tuple((name,) + tuple(defaults.get(name, (default, description)))
                 for name, default, description in POLICY_ARGUMENTS)


def as_bool(name: str, value: str) -> bool:
    """Parse a launch argument as a boolean; ValueError names the argument."""
    text = value.strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ValueError(f"launch argument {name}: expected 'true' or 'false', got {value!r}")


def policy_overrides(values: Mapping[str, str]) -> Dict[str, object]:
    """Return the policy node parameters the resolved launch arguments set."""
    overrides: Dict[str, object] = {param: values[name] for name, param in STRING_OVERRIDES.items()
                                    if values.get(name)}
    overrides['use_sim_time'] = as_bool('use_sim_time', values['use_sim_time'])
    overrides['autostart'] = as_bool('autostart', values['autostart'])
    return overrides
