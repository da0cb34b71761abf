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
The JAX -> PyTorch mapping computes what openpi's Flax einsums compute, for any geometry.

No checkpoint reader is needed: arrays are random, shaped as openpi's JAX model stores them.
"""

import dataclasses
from typing import Dict

import numpy as np
from pi05_ros.model import convert_jax
from pi05_ros.model.convert_jax import JaxCheckpointError, JaxGeometry
import pytest
import torch
import torch.nn.functional as F

VLM = convert_jax.VLM
EXPERT = convert_jax.EXPERT
VISION = convert_jax.VISION

# GQA (2 kv heads), heads*head_dim != width in both towers, non-square SigLIP heads.
GEOMETRY = JaxGeometry(
    vocab_size=40, depth=3, vlm_width=24, vlm_mlp_dim=20, expert_width=16, expert_mlp_dim=12,
    num_heads=4, num_kv_heads=2, head_dim=10, vision_width=12, vision_depth=2, vision_mlp_dim=18,
    vision_heads=3, vision_head_dim=5, patch_size=4, num_channels=3, image_tokens=16,
    action_dim=6)


def _random_params(geometry: JaxGeometry, seed: int = 0) -> Dict[tuple, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {path: rng.standard_normal(shape).astype(np.float32)
            for path, shape in geometry.expected_shapes().items()}


def _convert(params: Dict[tuple, np.ndarray], geometry: JaxGeometry = GEOMETRY):
    geometry = convert_jax.infer_geometry(list(params), lambda p: params[p].shape)
    return convert_jax.jax_params_to_openpi(params.__getitem__, geometry), geometry


def _arr(params, path: str) -> np.ndarray:
    return params[tuple(path.split('/'))].astype(np.float64)


def _t(tensor: torch.Tensor) -> np.ndarray:
    return tensor.double().numpy()


@pytest.fixture(scope='module')
def converted():
    params = _random_params(GEOMETRY)
    tensors, geometry = _convert(params)
    return params, tensors, geometry


def test_geometry_is_read_back_from_the_array_shapes(converted):
    _, _, geometry = converted
    assert geometry == GEOMETRY


@pytest.mark.parametrize('suffix,prefix', [('', VLM), ('_1', EXPERT)])
def test_attention_projections_match_openpi_einsums(converted, suffix, prefix):
    params, tensors, g = converted
    layer = 1
    width = g.vlm_width if suffix == '' else g.expert_width
    x = np.random.default_rng(1).standard_normal((5, width))            # (T, D)
    q_w = _arr(params, f'PaliGemma/llm/layers/attn/q_einsum{suffix}/w')[layer]
    kv_w = _arr(params, f'PaliGemma/llm/layers/attn/kv_einsum{suffix}/w')[layer]
    o_w = _arr(params, f'PaliGemma/llm/layers/attn/attn_vec_einsum{suffix}/w')[layer]
    q_jax = np.einsum('td,ndh->tnh', x, q_w)                             # (T, N, H)
    k_jax, v_jax = np.einsum('td,ckdh->ctkh', x, kv_w)                   # 2 x (T, K, H)
    enc = np.random.default_rng(2).standard_normal(q_jax.shape)          # (T, N, H)
    o_jax = np.einsum('tnh,nhd->td', enc, o_w)                           # (T, D)

    attn = f'{prefix}.layers.{layer}.self_attn'
    T, N, K, H = x.shape[0], g.num_heads, g.num_kv_heads, g.head_dim
    np.testing.assert_allclose((x @ _t(tensors[f'{attn}.q_proj.weight']).T).reshape(T, N, H),
                               q_jax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((x @ _t(tensors[f'{attn}.k_proj.weight']).T).reshape(T, K, H),
                               k_jax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((x @ _t(tensors[f'{attn}.v_proj.weight']).T).reshape(T, K, H),
                               v_jax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(enc.reshape(T, N * H) @ _t(tensors[f'{attn}.o_proj.weight']).T,
                               o_jax, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('suffix,prefix', [('', VLM), ('_1', EXPERT)])
def test_gated_mlp_matches_openpi_feedforward(converted, suffix, prefix):
    params, tensors, g = converted
    layer = 2
    width = g.vlm_width if suffix == '' else g.expert_width
    x = np.random.default_rng(3).standard_normal((4, width))
    gating = _arr(params, f'PaliGemma/llm/layers/mlp{suffix}/gating_einsum')[layer]
    linear = _arr(params, f'PaliGemma/llm/layers/mlp{suffix}/linear')[layer]
    gate_jax, up_jax = np.einsum('td,cdf->ctf', x, gating)
    hidden = np.tanh(gate_jax) * up_jax                                  # any nonlinearity
    mlp = f'{prefix}.layers.{layer}.mlp'
    gate = x @ _t(tensors[f'{mlp}.gate_proj.weight']).T
    up = x @ _t(tensors[f'{mlp}.up_proj.weight']).T
    np.testing.assert_allclose(gate, gate_jax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(up, up_jax, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hidden @ _t(tensors[f'{mlp}.down_proj.weight']).T,
                               hidden @ linear, rtol=1e-12, atol=1e-12)


def test_norms_and_adarms_modulation(converted):
    params, tensors, g = converted
    layer = 0
    for jax_name, torch_name in (('pre_attention_norm', 'input_layernorm'),
                                 ('pre_ffw_norm', 'post_attention_layernorm')):
        np.testing.assert_array_equal(
            _t(tensors[f'{VLM}.layers.{layer}.{torch_name}.weight']),
            _arr(params, f'PaliGemma/llm/layers/{jax_name}/scale')[layer])
        cond = np.random.default_rng(4).standard_normal((2, g.expert_width))
        kernel = _arr(params, f'PaliGemma/llm/layers/{jax_name}_1/Dense_0/kernel')[layer]
        bias = _arr(params, f'PaliGemma/llm/layers/{jax_name}_1/Dense_0/bias')[layer]
        dense = f'{EXPERT}.layers.{layer}.{torch_name}.dense'
        np.testing.assert_allclose(
            cond @ _t(tensors[f'{dense}.weight']).T + _t(tensors[f'{dense}.bias']),
            cond @ kernel + bias, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(_t(tensors[f'{VLM}.norm.weight']),
                                  _arr(params, 'PaliGemma/llm/final_norm/scale'))


def test_siglip_attention_and_mlp_match_flax(converted):
    params, tensors, g = converted
    layer = 1
    x = np.random.default_rng(5).standard_normal((7, g.vision_width))
    mha = 'PaliGemma/img/Transformer/encoderblock/MultiHeadDotProductAttention_0'
    attn = f'{VISION}.encoder.layers.{layer}.self_attn'
    for jax_name, torch_name in (('query', 'q_proj'), ('key', 'k_proj'), ('value', 'v_proj')):
        flax = (np.einsum('td,dnh->tnh', x, _arr(params, f'{mha}/{jax_name}/kernel')[layer])
                + _arr(params, f'{mha}/{jax_name}/bias')[layer])
        ours = x @ _t(tensors[f'{attn}.{torch_name}.weight']).T + _t(
            tensors[f'{attn}.{torch_name}.bias'])
        np.testing.assert_allclose(ours.reshape(flax.shape), flax, rtol=1e-12, atol=1e-12)
    enc = np.random.default_rng(6).standard_normal((7, g.vision_heads, g.vision_head_dim))
    flax_out = (np.einsum('tnh,nhd->td', enc, _arr(params, f'{mha}/out/kernel')[layer])
                + _arr(params, f'{mha}/out/bias')[layer])
    ours_out = enc.reshape(7, -1) @ _t(tensors[f'{attn}.out_proj.weight']).T + _t(
        tensors[f'{attn}.out_proj.bias'])
    np.testing.assert_allclose(ours_out, flax_out, rtol=1e-12, atol=1e-12)
    block = 'PaliGemma/img/Transformer/encoderblock/MlpBlock_0'
    np.testing.assert_allclose(
        x @ _t(tensors[f'{VISION}.encoder.layers.{layer}.mlp.fc1.weight']).T,
        x @ _arr(params, f'{block}/Dense_0/kernel')[layer], rtol=1e-12, atol=1e-12)


def test_patch_embedding_matches_flax_conv(converted):
    params, tensors, g = converted
    P, side = g.patch_size, g.patch_size * 2
    image = np.random.default_rng(7).standard_normal((1, side, side, g.num_channels))  # NHWC
    kernel = _arr(params, 'PaliGemma/img/embedding/kernel')                 # (P, P, C, Dv)
    patches = image.reshape(1, 2, P, 2, P, g.num_channels)                  # (B, i, h, j, w, C)
    flax = np.einsum('bihjwc,hwco->bijo', patches, kernel)                  # (B, 2, 2, Dv)
    conv = F.conv2d(torch.from_numpy(image).permute(0, 3, 1, 2),
                    tensors[f'{VISION}.embeddings.patch_embedding.weight'].double(), stride=P)
    np.testing.assert_allclose(conv.permute(0, 2, 3, 1).numpy(), flax, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(
        _t(tensors[f'{VISION}.embeddings.position_embedding.weight']),
        _arr(params, 'PaliGemma/img/pos_embedding')[0])


def test_projections_and_token_embedding(converted):
    params, tensors, g = converted
    x = np.random.default_rng(8).standard_normal((3, g.action_dim))
    np.testing.assert_allclose(
        x @ _t(tensors['action_in_proj.weight']).T + _t(tensors['action_in_proj.bias']),
        x @ _arr(params, 'action_in_proj/kernel') + _arr(params, 'action_in_proj/bias'),
        rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(_t(tensors[convert_jax.EMBEDDING_KEY]),
                                  _arr(params, 'PaliGemma/llm/embedder/input_embedding'))
    assert convert_jax.EMBED_TOKENS_KEY not in tensors


def test_full_size_layer_counts_give_openpis_key_set(golden_dir):
    """Depth 18 / 27 layers with tiny widths: names equal KEYS_full.txt's saved names."""
    full_depth = dataclasses.replace(GEOMETRY, depth=18, vision_depth=27)
    tensors, _ = _convert(_random_params(full_depth), full_depth)
    saved = []
    for line in (golden_dir / 'KEYS_full.txt').read_text().splitlines():
        if line and not line.startswith('#'):
            saved.append(line.split('\t')[0])
    saved.remove(convert_jax.EMBED_TOKENS_KEY)        # tied: save_model keeps the lm_head name
    saved.remove(convert_jax.EXPERT_LM_HEAD_KEY)      # unused; added by pi05-convert
    assert len(saved) == 811
    assert sorted(tensors) == sorted(saved)


def _shapes(geometry: JaxGeometry = GEOMETRY) -> Dict[tuple, tuple]:
    return dict(geometry.expected_shapes())


def _infer(shapes: Dict[tuple, tuple]) -> JaxGeometry:
    return convert_jax.infer_geometry(list(shapes), lambda p: shapes[p])


def test_misshaped_array_is_named_with_its_expected_shape():
    shapes = _shapes()
    path = tuple('PaliGemma/llm/layers/attn/attn_vec_einsum_1/w'.split('/'))
    shapes[path] = (3, 4, 10, 17)
    with pytest.raises(JaxCheckpointError, match=r'attn_vec_einsum_1/w.*\(3, 4, 10, 16\)'):
        _infer(shapes)


def test_missing_and_unexpected_arrays_are_named():
    shapes = _shapes()
    del shapes[('time_mlp_out', 'bias')]
    with pytest.raises(JaxCheckpointError, match='time_mlp_out/bias'):
        _infer(shapes)
    shapes = _shapes()
    shapes[('PaliGemma', 'extra', 'w')] = (2,)
    with pytest.raises(JaxCheckpointError, match='PaliGemma/extra/w'):
        _infer(shapes)


def test_lora_and_pi0_checkpoints_are_refused_with_the_reason():
    shapes = _shapes()
    shapes[('PaliGemma', 'llm', 'layers', 'attn', 'q_einsum', 'lora_a')] = (3, 4, 24, 2)
    with pytest.raises(JaxCheckpointError, match='LoRA'):
        _infer(shapes)
    shapes = _shapes()
    shapes[('state_proj', 'kernel')] = (6, 16)
    with pytest.raises(JaxCheckpointError, match='PI0 checkpoint'):
        _infer(shapes)


def test_bfloat16_arrays_become_torch_bfloat16_bit_for_bit():
    ml_dtypes = pytest.importorskip('ml_dtypes', reason='bfloat16 numpy arrays need ml_dtypes')
    values = np.array([1.0, -2.5, 3.140625, 1e-3], dtype=ml_dtypes.bfloat16)
    tensor = convert_jax.numpy_to_torch(values)
    assert tensor.dtype == torch.bfloat16
    assert torch.equal(tensor, torch.tensor(values.astype(np.float32)).to(torch.bfloat16))
