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

"""The network against openpi's golden vectors, through the check_golden command."""

import os
from pathlib import Path
import subprocess
import sys

from pi05_ros.model import check_golden
import pytest
from safetensors.torch import load_file, save_file
import torch

PYTORCH_CASES = ('tiny', 'tiny_sq', 'geom', 'geom_d1', 'jax_tiny_sq')
JAX_CASES = ('jax_tiny', 'jax_tiny_sq')


def _case_dirs(golden_dir: Path):
    return sorted(p.name for p in golden_dir.iterdir()
                  if (p / 'io.safetensors').is_file() or (p / 'jax_io.safetensors').is_file())


def test_every_golden_case_is_covered(golden_dir):
    assert set(_case_dirs(golden_dir)) <= set(PYTORCH_CASES) | set(JAX_CASES)


@pytest.mark.parametrize('case', ('tiny_sq', 'geom', 'geom_d1'))
def test_float32_reproduces_openpi_pytorch(golden_dir, case):
    rows = check_golden.run(golden_dir / case)
    assert all(r.ok for r in rows), check_golden.format_rows(rows)
    assert len(rows) >= 17


def _cpu_has_avx2() -> bool:
    try:
        return ' avx2 ' in Path('/proc/cpuinfo').read_text().replace('\n', ' ')
    except OSError:
        return False


@pytest.mark.parametrize('case', PYTORCH_CASES)
def test_float32_is_bitwise_openpi_on_the_golden_kernels(golden_dir, case):
    """On the AVX2 kernels the golden vectors were made with, every output is bit for bit."""
    if not _cpu_has_avx2():
        pytest.skip('this CPU has no AVX2: the golden kernel set cannot be selected')
    env = dict(os.environ, ATEN_CPU_CAPABILITY='avx2', OMP_NUM_THREADS='2')
    probe = ('import sys; from pi05_ros.model import check_golden as c; '
             'rows = c.run(sys.argv[1]); print(max(r.max_abs for r in rows), len(rows))')
    out = subprocess.run([sys.executable, '-c', probe, str(golden_dir / case)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert (float(out[0]), int(out[1]) >= 17) == (0.0, True), out


@pytest.mark.parametrize('case', JAX_CASES)
def test_jax_numerics_reproduce_openpi_jax(golden_dir, case):
    rows = check_golden.run(golden_dir / case, numerics='jax')
    assert {r.name for r in rows} == {'jax.sample_actions', 'jax.prefix_embs',
                                      'jax.adarms_cond_t1', 'jax.compute_loss_rng1234'}
    assert all(r.ok for r in rows), check_golden.format_rows(rows)
    actions = next(r for r in rows if r.name == 'jax.sample_actions')
    assert actions.max_abs <= 5e-6


def test_pytorch_numerics_miss_the_jax_reference(golden_dir):
    """The float64 time embedding is what separates the two references (by ~3e-5)."""
    case = check_golden.load_case(golden_dir / 'jax_tiny')
    model = check_golden.build_model(case, numerics='pytorch')
    actions = model.sample_actions(**check_golden.model_inputs(case), noise=case.io['in.noise'])
    row = check_golden.compare('jax.sample_actions', actions,
                               case.jax_io['jax.sample_actions'], True, 5e-6)
    assert not row.ok and row.max_abs < 1e-4


@pytest.mark.parametrize('case, extra', [
    ('tiny', {'out.prefix_kv_cache_keys', 'out.prefix_kv_cache_values'}),
    ('jax_tiny_sq', {'torch.forward_loss_with_that_noise_time'})])
def test_rows_cover_what_the_case_records(golden_dir, case, extra, capsys):
    assert check_golden.main([str(golden_dir / case)]) == 0
    out = capsys.readouterr().out
    for name in extra | {'out.actions', 'out.denoise_v_t', 'out.loss_elementwise',
                         'out.train_v_t', 'out.time_sincos_t1', 'out.adarms_cond_t1',
                         'out.prefix_embs'}:
        assert name in out


def test_bfloat16_on_geom_is_finite_and_close(golden_dir):
    case = check_golden.load_case(golden_dir / 'geom')
    model = check_golden.build_model(case, dtype=torch.bfloat16)
    actions = model.sample_actions(**check_golden.model_inputs(case), noise=case.io['in.noise'])
    assert actions.dtype == torch.float32 and torch.isfinite(actions).all()
    error = (actions - case.io['out.actions']).abs().max().item()
    # measured 1.0e-2 max abs on actions of magnitude 4.2 (doc/model.md)
    assert 1e-4 < error < 5e-2


def test_check_fails_on_a_perturbed_reference(golden_dir, tmp_path, capsys):
    case = tmp_path / 'tiny_perturbed'
    case.mkdir()
    for name in ('config.json', 'model.safetensors'):
        (case / name).symlink_to(golden_dir / 'tiny' / name)
    io = load_file(str(golden_dir / 'tiny' / 'io.safetensors'))
    io['out.actions'] = io['out.actions'] + 3e-5 * torch.sign(io['out.actions'])
    save_file(io, str(case / 'io.safetensors'))
    assert check_golden.main([str(case)]) == 1
    assert 'FAIL: out.actions' in capsys.readouterr().out


def test_missing_case_files_are_reported(tmp_path, golden_dir, capsys):
    with pytest.raises(FileNotFoundError, match='config.json'):
        check_golden.load_case(tmp_path)
    assert check_golden.main([str(tmp_path)]) == 2
    assert check_golden.main([str(golden_dir / 'geom'), '--numerics', 'jax']) == 2
    assert 'jax_io.safetensors' in capsys.readouterr().err
