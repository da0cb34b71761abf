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

"""pi05-convert on openpi's own JAX checkpoints: bit-exact against the PyTorch golden cases."""

import json
from pathlib import Path
import shutil
import sys

from pi05_ros.model import convert_jax
from pi05_ros.policy.convert import main
import pytest
from safetensors import safe_open
from safetensors.torch import load_file
import torch

# (JAX checkpoint directory, PyTorch golden case with the same weights)
CASES = [('jax_tiny/pi05_tiny', 'tiny'), ('jax_tiny_sq/pi05_tiny_sq', 'tiny_sq')]
ARCHITECTURE_FIELDS = ('vlm', 'action_expert', 'vision', 'projector', 'vocab_size',
                       'action_dim', 'action_horizon', 'max_token_len', 'num_steps')


@pytest.fixture(scope='module')
def tensorstore():
    return pytest.importorskip(
        'tensorstore', reason="reading orbax checkpoints needs the optional 'tensorstore' "
                              "package (pip install 'pi05_ros[jax]')")


def _golden_config(golden_dir: Path, case: str) -> dict:
    return json.loads((golden_dir / case / 'config.json').read_text())


def _convert(golden_dir: Path, jax_case: str, case: str, dst: Path, *extra: str) -> int:
    config = _golden_config(golden_dir, case)
    return main([str(golden_dir / jax_case), str(dst),
                 '--action-horizon', str(config['action_horizon']),
                 '--max-token-len', str(config['max_token_len']),
                 '--num-steps', str(config['num_steps']), *extra])


@pytest.mark.parametrize('jax_case,case', CASES)
def test_cli_reproduces_golden_pytorch_checkpoint_bit_exactly(golden_dir, tensorstore, tmp_path,
                                                              jax_case, case):
    assert _convert(golden_dir, jax_case, case, tmp_path / 'out') == 0
    converted = load_file(str(tmp_path / 'out' / 'model.safetensors'))
    golden = load_file(str(golden_dir / case / 'model.safetensors'))
    assert sorted(converted) == sorted(golden)
    differing = []
    for key, ref in golden.items():
        if key == convert_jax.EXPERT_LM_HEAD_KEY:
            continue
        got = converted[key]
        if got.dtype != ref.dtype or got.shape != ref.shape or not torch.equal(
                got.view(torch.int32), ref.view(torch.int32)):
            differing.append(key)
    assert differing == []
    # The unused expert lm_head: not in the JAX checkpoint, written as zeros of openpi's shape.
    lm_head = converted[convert_jax.EXPERT_LM_HEAD_KEY]
    assert lm_head.shape == golden[convert_jax.EXPERT_LM_HEAD_KEY].shape
    assert not lm_head.any()


@pytest.mark.parametrize('jax_case,case', CASES)
def test_config_json_has_the_golden_architecture(golden_dir, tensorstore, tmp_path, jax_case,
                                                 case):
    assert _convert(golden_dir, jax_case, case, tmp_path / 'out') == 0
    written = json.loads((tmp_path / 'out' / 'config.json').read_text())
    golden = _golden_config(golden_dir, case)
    for field in ARCHITECTURE_FIELDS:
        assert written[field] == golden[field], field


def test_tied_embedding_alias_recorded_like_save_model(golden_dir, tensorstore, tmp_path):
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out') == 0
    with safe_open(str(tmp_path / 'out' / 'model.safetensors'), 'pt') as f:
        converted_meta = f.metadata()
    with safe_open(str(golden_dir / CASES[0][1] / 'model.safetensors'), 'pt') as f:
        golden_meta = f.metadata()
    assert converted_meta == golden_meta


def test_converted_checkpoint_loads_strictly_into_the_network(golden_dir, tensorstore, tmp_path):
    config_module = pytest.importorskip('pi05_ros.model.config')
    loading = pytest.importorskip('pi05_ros.model.loading')
    pi05 = pytest.importorskip('pi05_ros.model.pi05')
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out') == 0
    config = config_module.PI05Config.from_dict(
        json.loads((tmp_path / 'out' / 'config.json').read_text()))
    model = loading.load_pi05_weights(pi05.PI05Model(config),
                                      tmp_path / 'out' / 'model.safetensors')
    golden = load_file(str(golden_dir / CASES[0][1] / 'model.safetensors'))
    embed = model.state_dict()[loading.EMBED_KEY]
    assert torch.equal(embed, golden[convert_jax.EMBEDDING_KEY])


def test_bfloat16_output_rounds_each_tensor_like_torch(golden_dir, tensorstore, tmp_path):
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out', '--dtype', 'bfloat16') == 0
    converted = load_file(str(tmp_path / 'out' / 'model.safetensors'))
    golden = load_file(str(golden_dir / CASES[0][1] / 'model.safetensors'))
    for key, ref in golden.items():
        assert converted[key].dtype == torch.bfloat16, key
        if key != convert_jax.EXPERT_LM_HEAD_KEY:
            assert torch.equal(converted[key], ref.to(torch.bfloat16)), key
    config = json.loads((tmp_path / 'out' / 'config.json').read_text())
    assert config['dtype'] == 'bfloat16'


def test_expert_lm_head_can_be_omitted(golden_dir, tensorstore, tmp_path):
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out', '--expert-lm-head', 'omit') == 0
    converted = load_file(str(tmp_path / 'out' / 'model.safetensors'))
    golden = load_file(str(golden_dir / CASES[0][1] / 'model.safetensors'))
    assert set(golden) - set(converted) == {convert_jax.EXPERT_LM_HEAD_KEY}


def _checkpoint_with_assets(golden_dir: Path, root: Path) -> Path:
    ckpt = root / 'pi05_tiny'
    shutil.copytree(golden_dir / CASES[0][0] / 'params', ckpt / 'params')
    stats = {'norm_stats': {'state': {'mean': [0.5], 'std': [2.0], 'q01': [-1.0],
                                      'q99': [1.0]}}}
    for asset_id in ('droid', 'physical-intelligence/libero'):
        (ckpt / 'assets' / asset_id).mkdir(parents=True)
        (ckpt / 'assets' / asset_id / 'norm_stats.json').write_text(json.dumps(stats))
    return ckpt


def test_assets_are_copied_with_their_norm_stats(golden_dir, tensorstore, tmp_path):
    ckpt = _checkpoint_with_assets(golden_dir, tmp_path)
    assert main([str(ckpt), str(tmp_path / 'out')]) == 0
    for asset_id in ('droid', 'physical-intelligence/libero'):
        copied = tmp_path / 'out' / 'assets' / asset_id / 'norm_stats.json'
        assert copied.read_text() == (ckpt / 'assets' / asset_id / 'norm_stats.json').read_text()


def test_params_directory_as_source_still_finds_the_assets(golden_dir, tensorstore, tmp_path):
    ckpt = _checkpoint_with_assets(golden_dir, tmp_path)
    assert main([str(ckpt / 'params'), str(tmp_path / 'out')]) == 0
    assert (tmp_path / 'out' / 'assets' / 'droid' / 'norm_stats.json').is_file()


def test_source_that_is_not_a_checkpoint_is_a_clear_error(golden_dir, tmp_path, capsys):
    assert main([str(golden_dir / 'tiny'), str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert 'not an openpi JAX checkpoint' in err and 'params/' in err
    assert main([str(tmp_path / 'missing'), str(tmp_path / 'out')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    assert not (tmp_path / 'out' / 'model.safetensors').exists()


def test_existing_destination_needs_force(golden_dir, tensorstore, tmp_path, capsys):
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out') == 0
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out') == 2
    assert '--force' in capsys.readouterr().err
    assert _convert(golden_dir, *CASES[0], tmp_path / 'out', '--force') == 0


def test_non_positive_horizon_is_rejected(golden_dir, tensorstore, tmp_path, capsys):
    assert main([str(golden_dir / CASES[0][0]), str(tmp_path / 'out'),
                 '--action-horizon', '0']) == 2
    assert 'action_horizon' in capsys.readouterr().err
    assert not (tmp_path / 'out' / 'model.safetensors').exists()


def _rewrite_checkpoint(src_params: Path, dst_params: Path, layout: str) -> None:
    """Write the arrays in another orbax layout: older writers, zarr3, NNX ``value`` leaves."""
    import tensorstore as ts

    if layout == 'ocdbt_without_metadata':
        shutil.copytree(src_params, dst_params)
        (dst_params / '_METADATA').unlink()
        return
    params = convert_jax.OrbaxParams(src_params)
    dst_params.mkdir(parents=True)
    tree = {}
    for path in params.paths():
        array = params.read(path)
        if layout == 'zarr_directories':
            keys = ('params',) + path
            spec = {'driver': 'zarr',
                    'kvstore': {'driver': 'file', 'path': str(dst_params / '.'.join(keys))}}
        else:  # 'zarr3_nnx_values'
            keys = ('params',) + path + ('value',)
            spec = {'driver': 'zarr3', 'kvstore': {'driver': 'ocdbt', 'path': '.'.join(keys),
                                                   'base': f'file://{dst_params}'}}
        store = ts.open(spec, create=True, dtype=ts.float32, shape=array.shape).result()
        store.write(array).result()
        tree[str(keys)] = {'key_metadata': [{'key': k, 'key_type': 2} for k in keys],
                           'value_metadata': {'value_type': 'jax.Array'}}
    if layout == 'zarr3_nnx_values':
        (dst_params / '_METADATA').write_text(json.dumps({'tree_metadata': tree,
                                                          'use_zarr3': True}))


@pytest.mark.parametrize('layout', ['ocdbt_without_metadata', 'zarr_directories',
                                    'zarr3_nnx_values'])
def test_other_orbax_layouts_convert_to_the_same_tensors(golden_dir, tensorstore, tmp_path,
                                                         layout):
    _rewrite_checkpoint(golden_dir / CASES[0][0] / 'params', tmp_path / 'ckpt' / 'params',
                        layout)
    assert main([str(tmp_path / 'ckpt'), str(tmp_path / 'out'), '--expert-lm-head', 'omit']) == 0
    converted = load_file(str(tmp_path / 'out' / 'model.safetensors'))
    golden = load_file(str(golden_dir / CASES[0][1] / 'model.safetensors'))
    del golden[convert_jax.EXPERT_LM_HEAD_KEY]
    assert sorted(converted) == sorted(golden)
    assert all(torch.equal(converted[k], golden[k]) for k in golden)


def test_missing_tensorstore_names_the_extra_to_install(golden_dir, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorstore', None)
    assert main([str(golden_dir / CASES[0][0]), str(tmp_path / 'out')]) == 2
    assert "pip install 'pi05_ros[jax]'" in capsys.readouterr().err
