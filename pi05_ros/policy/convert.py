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
``pi05-convert SRC DST``: an openpi JAX checkpoint -> an openpi PyTorch checkpoint directory.

DST receives ``model.safetensors`` (openpi PyTorch key layout, the token embedding stored under
the tied ``paligemma_with_expert.paligemma.lm_head.weight`` name as ``save_model`` does),
``config.json`` (architecture fields of the golden config format) and a copy of
``SRC/assets/`` (``<asset_id>/norm_stats.json``) when SRC has one.
"""

import argparse
import json
from pathlib import Path
import shutil
import struct
import sys
from typing import Dict, List, Mapping, Optional

from pi05_ros.creatable import creation_problem
from pi05_ros.model import convert_jax
from pi05_ros.policy.normalize import load_norm_stats
import torch

DTYPES = {'keep': None, 'float32': torch.float32, 'bfloat16': torch.bfloat16}
_SAFETENSORS_DTYPE = {torch.float32: 'F32', torch.bfloat16: 'BF16', torch.float16: 'F16',
                      torch.float64: 'F64'}


class ConvertError(ValueError):
    """The conversion cannot proceed (bad source, existing destination, bad option)."""


def write_safetensors(path: Path, tensors: Mapping[str, torch.Tensor],
                      metadata: Optional[Dict[str, str]] = None) -> None:
    """
    Write ``tensors`` in the safetensors format, one tensor at a time.

    Unlike ``safetensors.torch.save_file`` no second in-memory copy of the whole model is made,
    which matters for the 3B-parameter model. The file is written next to ``path`` and renamed
    into place, so an interrupted conversion leaves no truncated ``model.safetensors``.
    """
    header: Dict[str, object] = {}
    offset = 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _SAFETENSORS_DTYPE:
            raise ConvertError(f'tensor {name} has dtype {tensor.dtype}; expected one of '
                               f'{sorted(str(d) for d in _SAFETENSORS_DTYPE)}')
        size = tensor.numel() * tensor.element_size()
        header[name] = {'dtype': _SAFETENSORS_DTYPE[tensor.dtype], 'shape': list(tensor.shape),
                        'data_offsets': [offset, offset + size]}
        offset += size
    if metadata:
        header['__metadata__'] = dict(metadata)
    blob = json.dumps(header, separators=(',', ':')).encode('utf-8')
    blob += b' ' * (-len(blob) % 8)
    partial = path.with_name(path.name + '.partial')
    with open(partial, 'wb') as f:
        f.write(struct.pack('<Q', len(blob)))
        f.write(blob)
        for tensor in tensors.values():
            raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
            f.write(memoryview(raw.numpy()))
    partial.replace(path)


def _checkpoint_dir(src: Path) -> Path:
    """Return the directory holding ``params/`` (and ``assets/``), given it or its ``params/``."""
    params = convert_jax.find_params_dir(src)
    return src if params != src else src.parent


def check_destination(dst: Path) -> None:
    """Refuse a destination that cannot be created or written, before anything is read."""
    existing, problem = creation_problem(dst)
    if problem == 'not a directory':
        raise ConvertError(f'DST {dst}: {existing} is not a directory, so {dst} cannot be '
                           'created')
    if problem == 'not writable':
        raise ConvertError(f'DST {dst}: no write permission in {existing}')


def _asset_ids(assets: Path) -> List[str]:
    return sorted(str(p.parent.relative_to(assets)) for p in assets.rglob('norm_stats.json'))


def convert(src: Path, dst: Path, action_horizon: int = 50, max_token_len: int = 200,
            num_steps: int = 10, dtype: str = 'keep', expert_lm_head: str = 'zeros',
            force: bool = False) -> Dict[str, object]:
    """Convert the JAX checkpoint ``src`` into the directory ``dst``; return a summary dict."""
    src, dst = Path(src), Path(dst)
    if dtype not in DTYPES:
        raise ConvertError(f'dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
    if expert_lm_head not in ('zeros', 'omit'):
        raise ConvertError(f"expert_lm_head must be 'zeros' or 'omit', got {expert_lm_head!r}")
    ckpt = _checkpoint_dir(src)
    outputs = [dst / 'model.safetensors', dst / 'config.json', dst / 'assets']
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not force:
        raise ConvertError(f'destination already holds {existing}; pass --force to overwrite')
    if dst.resolve() == ckpt.resolve():
        raise ConvertError('DST must differ from the source checkpoint directory')
    check_destination(dst)
    if (ckpt / 'assets').is_dir():  # copied as they are: refuse bad ones before the weights
        for stats in sorted((ckpt / 'assets').rglob('norm_stats.json')):
            load_norm_stats(stats)
    # Validates geometry (and reads nothing but metadata) before any file is written.
    params = convert_jax.OrbaxParams(convert_jax.find_params_dir(src))
    geometry = convert_jax.infer_geometry(params.paths(), params.shape)
    config = convert_jax.geometry_config(geometry, action_horizon, max_token_len, num_steps)
    tensors = convert_jax.jax_params_to_openpi(params.read, geometry, DTYPES[dtype])
    parameters = sum(t.numel() for t in tensors.values())
    if expert_lm_head == 'zeros':
        like = tensors[convert_jax.EMBEDDING_KEY].dtype
        tensors[convert_jax.EXPERT_LM_HEAD_KEY] = convert_jax.expert_lm_head_placeholder(
            geometry, like)
    dst.mkdir(parents=True, exist_ok=True)
    write_safetensors(dst / 'model.safetensors', dict(sorted(tensors.items())),
                      {convert_jax.EMBED_TOKENS_KEY: convert_jax.EMBEDDING_KEY})
    dtypes = sorted({str(t.dtype).replace('torch.', '') for t in tensors.values()})
    config['dtype'] = dtypes[0] if len(dtypes) == 1 else dtypes
    config['converted_from'] = {'format': 'openpi JAX (orbax)', 'path': str(ckpt.resolve()),
                                'expert_lm_head': expert_lm_head}
    (dst / 'config.json').write_text(json.dumps(config, indent=2) + '\n')
    assets: List[str] = []
    if (ckpt / 'assets').is_dir():
        shutil.copytree(ckpt / 'assets', dst / 'assets', dirs_exist_ok=True)
        assets = _asset_ids(dst / 'assets')
    return {'tensors': len(tensors), 'parameters': parameters,
            'dtype': config['dtype'], 'assets': assets, 'config': config}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pi05-convert',
        description='Convert an openpi PI0.5 JAX checkpoint (<ckpt>/params orbax, '
                    '<ckpt>/assets) into a PyTorch checkpoint directory: model.safetensors '
                    '(openpi PyTorch layout), config.json and assets/.')
    parser.add_argument('src', type=Path, help='openpi JAX checkpoint directory (or its params/)')
    parser.add_argument('dst', type=Path, help='output directory')
    parser.add_argument('--action-horizon', type=int, default=50,
                        help='action chunk length H the model was trained with (not stored in '
                             'the weights): 50 for pi05_base/aloha, 15 pi05_droid, 10 '
                             'pi05_libero (default: 50)')
    parser.add_argument('--max-token-len', type=int, default=200,
                        help='prompt token budget (default: 200, openpi pi05)')
    parser.add_argument('--num-steps', type=int, default=10,
                        help='Euler flow-matching steps at inference (default: 10)')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='keep',
                        help='tensor dtype in model.safetensors; keep = as stored in the '
                             'checkpoint, bit-exact (default: keep)')
    parser.add_argument('--expert-lm-head', choices=('zeros', 'omit'), default='zeros',
                        help="the unused 'gemma_expert.lm_head.weight' (absent from JAX "
                             'checkpoints): write zeros so openpi can load the file strictly, '
                             'or omit it to save vocab x expert-width values (default: zeros)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite model.safetensors/config.json/assets in DST')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Console entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        summary = convert(args.src, args.dst, action_horizon=args.action_horizon,
                          max_token_len=args.max_token_len, num_steps=args.num_steps,
                          dtype=args.dtype, expert_lm_head=args.expert_lm_head, force=args.force)
    except (ValueError, ImportError, OSError) as err:
        print(f'pi05-convert: error: {err}', file=sys.stderr)
        return 2
    config = summary['config']
    vlm, expert, vision = config['vlm'], config['action_expert'], config['vision']
    print(f"wrote {args.dst / 'model.safetensors'}: {summary['tensors']} tensors, "
          f"{summary['parameters']:,} parameters (unused expert lm_head aside), "
          f"dtype {summary['dtype']}")
    print(f"  VLM width/depth/mlp {vlm['width']}/{vlm['depth']}/{vlm['mlp_dim']}, expert "
          f"{expert['width']}/{expert['depth']}/{expert['mlp_dim']}, heads/kv/head_dim "
          f"{vlm['num_heads']}/{vlm['num_kv_heads']}/{vlm['head_dim']}, SigLIP "
          f"{vision['hidden_size']}/{vision['num_hidden_layers']}/"
          f"{vision['intermediate_size']}/{vision['num_attention_heads']}, vocab "
          f"{config['vocab_size']}, action_dim {config['action_dim']}")
    print(f"  config.json: action_horizon {config['action_horizon']}, max_token_len "
          f"{config['max_token_len']}, num_steps {config['num_steps']}")
    print(f"  assets: {', '.join(summary['assets']) or '(none in source)'}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
