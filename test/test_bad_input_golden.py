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

"""Issue 15: pi05-check-golden accepts out.denoise_timesteps_num_steps<N> (extra step counts)."""

import json
import shutil

from pi05_ros.model import check_golden
import pytest
from safetensors.torch import load_file, save_file
import torch


def openpi_timesteps(num_steps: int) -> torch.Tensor:
    """Return openpi's float32 loop: t = 1; while t >= -dt / 2: record t; t += dt (dt = -1/N)."""
    dt = torch.tensor(-1.0 / num_steps, dtype=torch.float32)
    t, times = torch.tensor(1.0, dtype=torch.float32), []
    while t >= -dt / 2:
        times.append(t)
        t = t + dt
    return torch.stack(times)


@pytest.fixture
def case_with_extra_timesteps(golden_dir, tmp_path):
    case = tmp_path / 'tiny_extra'
    case.mkdir()
    for name in ('config.json', 'model.safetensors', 'io.safetensors'):
        shutil.copyfile(golden_dir / 'tiny' / name, case / name)
    raw = json.loads((case / 'config.json').read_text())
    raw['extra_num_steps'] = [3]
    (case / 'config.json').write_text(json.dumps(raw))
    io = load_file(str(case / 'io.safetensors'))
    io['out.denoise_timesteps_num_steps3'] = openpi_timesteps(3)
    io['out.denoise_timesteps_num_steps7'] = openpi_timesteps(7)  # not listed: computed too
    save_file(io, str(case / 'io.safetensors'))
    return case


def test_extra_step_timesteps_are_compared_not_refused(case_with_extra_timesteps, capsys):
    assert check_golden.main([str(case_with_extra_timesteps)]) == 0
    out = capsys.readouterr().out
    assert 'not computed' not in out and out.rstrip().endswith('PASS')
    for n in (3, 7):
        assert f'out.denoise_timesteps_num_steps{n}' in out
        assert f'[{n}]' in out


def test_wrong_extra_step_timesteps_fail(case_with_extra_timesteps, capsys):
    path = case_with_extra_timesteps / 'io.safetensors'
    io = load_file(str(path))
    io['out.denoise_timesteps_num_steps3'] = io['out.denoise_timesteps_num_steps3'] + 1e-3
    save_file(io, str(path))
    assert check_golden.main([str(case_with_extra_timesteps)]) == 1
    assert 'FAIL: out.denoise_timesteps_num_steps3' in capsys.readouterr().out


@pytest.mark.parametrize('name', ['io.safetensors', 'model.safetensors', 'config.json'])
def test_corrupt_case_file_is_one_error_line_naming_it(case_with_extra_timesteps, capsys, name):
    path = case_with_extra_timesteps / name
    path.write_bytes(path.read_bytes()[:100])
    assert check_golden.main([str(case_with_extra_timesteps)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {path}: ') and err.count('\n') == 1, err
