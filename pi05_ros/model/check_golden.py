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
Run the network on a golden case directory and compare with openpi's recorded outputs.

    python -m pi05_ros.model.check_golden CASE_DIR [--dtype float32|bfloat16]
                                          [--numerics pytorch|jax]

A case directory holds `config.json`, `model.safetensors` and `io.safetensors` (inputs `in.*`,
openpi outputs `out.*`); a JAX case holds `jax_io.safetensors` and `report.json`, whose `case`
names the sibling directory with the PyTorch weights and inputs. One row is printed per output;
the exit status is 1 when a float32 error is above tolerance, an output is not finite, or the
case records an output this checker does not compute (it is listed, never skipped).
"""

import argparse
import dataclasses
import json
import math
from pathlib import Path
import re
import sys
from typing import Dict, List, Optional, Sequence

from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import CheckpointError, load_pi05_weights, read_safetensors_header
from pi05_ros.model.pi05 import PI05Model, suffix_masks
from safetensors.torch import load_file
import torch

ACTIONS_ABS_TOL = 1e-5      # max abs error on sampled actions (float32)
INTERMEDIATE_TOL = 1e-5     # x max(1, max|reference|) on every other output (float32)
JAX_TOL = 5e-6              # the same two rules against openpi's JAX outputs


@dataclasses.dataclass
class GoldenCase:
    """A golden case: architecture, weights path, inputs/outputs and optional JAX outputs."""

    name: str
    config: PI05Config
    weights: Path
    io: Dict[str, torch.Tensor]
    jax_io: Optional[Dict[str, torch.Tensor]]
    extra_num_steps: List[int]


@dataclasses.dataclass
class Row:
    """One compared output."""

    name: str
    shape: List[int]
    max_abs: float
    max_rel: float     # max abs error / max |reference|
    tolerance: float   # allowed max abs error; inf when not enforced
    finite: bool

    @property
    def ok(self) -> bool:
        return self.finite and self.max_abs <= self.tolerance


def load_case(case_dir: Path) -> GoldenCase:
    """Read a case directory (a JAX case borrows weights/inputs from its `report.json` case)."""
    case_dir = Path(case_dir)
    jax_path = case_dir / 'jax_io.safetensors'
    jax_io = _load_tensors(jax_path) if jax_path.is_file() else None
    base = case_dir
    if not (case_dir / 'model.safetensors').is_file() and (case_dir / 'report.json').is_file():
        base = case_dir.parent / json.loads((case_dir / 'report.json').read_text())['case']
    for name in ('config.json', 'model.safetensors', 'io.safetensors'):
        if not (base / name).is_file():
            raise FileNotFoundError(f'golden case {case_dir} has no {name} (looked in {base})')
    try:
        raw = json.loads((base / 'config.json').read_bytes().decode('utf-8'))
        config = PI05Config.from_dict(raw)
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError, ConfigError
        raise ValueError(f'{base / "config.json"}: {err}') from None
    return GoldenCase(case_dir.name, config, base / 'model.safetensors',
                      _load_tensors(base / 'io.safetensors'), jax_io,
                      [int(n) for n in raw.get('extra_num_steps', [])])


def _load_tensors(path: Path) -> Dict[str, torch.Tensor]:
    """Load a case's tensors; a corrupt file is a CheckpointError naming it."""
    read_safetensors_header(path)
    try:
        return load_file(str(path))
    except Exception as err:  # noqa: B902 - safetensors raises its own types
        raise CheckpointError(f'{path}: cannot read the tensors ({type(err).__name__})') from None


def build_model(case: GoldenCase, dtype: torch.dtype = torch.float32,
                numerics: str = 'pytorch') -> PI05Model:
    model = PI05Model(case.config, numerics=numerics).eval()
    load_pi05_weights(model, case.weights)
    return model.to_precision(dtype)


def model_inputs(case: GoldenCase) -> Dict[str, object]:
    """Return the keyword inputs of sample_actions/compute_loss recorded in `io`."""
    keys = case.config.image_keys
    return {'images': {k: case.io[f'in.image.{k}'] for k in keys},
            'image_masks': {k: case.io[f'in.image_mask.{k}'] for k in keys},
            'tokens': case.io['in.tokenized_prompt'],
            'token_mask': case.io['in.tokenized_prompt_mask']}


@torch.no_grad()
def pytorch_outputs(model: PI05Model, case: GoldenCase,
                    extra_num_steps: Optional[Sequence[int]] = None) -> Dict[str, torch.Tensor]:
    """
    Our values of every `out.*` tensor openpi recorded (names without the prefix).

    Actions come from the same steps `sample_actions` runs (prefix cache, Euler trajectory);
    the training velocity is captured from action_out_proj, as openpi's harness did.
    """
    io, inputs = case.io, model_inputs(case)
    noise = io['in.noise']
    ones = torch.ones(noise.shape[0], dtype=torch.float32)
    prefix_embs, prefix_pad = model.embed_prefix(**inputs)
    suffix_pad, suffix_ar = suffix_masks(*noise.shape[:2], noise.device)
    out = {'prefix_embs': prefix_embs, 'prefix_pad_masks': prefix_pad,
           'prefix_att_masks': torch.zeros_like(prefix_pad),  # one bidirectional block
           'suffix_pad_masks': suffix_pad, 'suffix_att_masks': suffix_ar,
           'suffix_embs_t1': model.action_in_proj(noise),
           'time_sincos_t1': model.time_embedding(ones),
           'adarms_cond_t1': model.adarms_condition(ones),
           'time_sincos_train': model.time_embedding(io['in.time']),
           'adarms_cond_train': model.adarms_condition(io['in.time'])}
    cache = model.fill_prefix_cache(prefix_embs, prefix_pad)
    out['prefix_kv_cache_keys'] = torch.stack([k for k, _ in cache.prefix_kv()])
    out['prefix_kv_cache_values'] = torch.stack([v for _, v in cache.prefix_kv()])
    steps = list(model.denoise_trajectory(cache, noise))
    out.update(actions=steps[-1].x_next,
               denoise_timesteps=torch.stack([s.time for s in steps]),
               denoise_x_t=torch.stack([s.x_t for s in steps]),
               denoise_v_t=torch.stack([s.v_t for s in steps]),
               v_t_first_step_t1=steps[0].v_t)
    for n in case.extra_num_steps if extra_num_steps is None else extra_num_steps:
        out[f'actions@{n}'] = model.sample_actions(**inputs, noise=noise, num_steps=n)
        out[f'denoise_timesteps@{n}'] = torch.stack(
            [s.time for s in model.denoise_trajectory(cache, noise, num_steps=n)])
    t = io['in.time'][:, None, None]
    out['train_x_t'] = t * noise + (1 - t) * io['in.actions']
    out['train_u_t'] = noise - io['in.actions']
    captured = []
    hook = model.action_out_proj.register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        loss = model.compute_loss(**inputs, actions=io['in.actions'], noise=noise,
                                  time=io['in.time'])
    finally:
        hook.remove()
    out.update(train_v_t=captured[0], loss_elementwise=loss, loss_mean=loss.mean())
    return out


def compare_pytorch(model: PI05Model, case: GoldenCase, enforce: bool) -> List[Row]:
    """Rows for every recorded openpi PyTorch output; one we cannot compute is a failed row."""
    steps = sorted(set(case.extra_num_steps) | {
        int(m.group(2)) for m in map(_EXTRA_STEPS.fullmatch, case.io) if m and int(m.group(2))})
    ours = pytorch_outputs(model, case, steps)
    rows = []
    for key in sorted(k for k in case.io if k.startswith('out.')):
        name = key[len('out.'):]
        if name not in ours:
            name = _extra_steps_name(name, steps) or name
        if name not in ours:
            rows.append(_not_computed(key, case.io[key]))
            continue
        rows.append(compare(key, ours[name], case.io[key], enforce,
                            ACTIONS_ABS_TOL if name.startswith('actions') else None))
    if case.jax_io is not None and 'torch.forward_loss_with_that_noise_time' in case.jax_io:
        inputs, jx = model_inputs(case), case.jax_io
        with torch.no_grad():
            loss = model.compute_loss(**inputs, actions=case.io['in.actions'],
                                      noise=jx['jax.compute_loss_rng1234.noise'],
                                      time=jx['jax.compute_loss_rng1234.time'])
        rows.append(compare('torch.forward_loss_with_that_noise_time', loss,
                            jx['torch.forward_loss_with_that_noise_time'], enforce))
    return rows


def compare_jax(model: PI05Model, case: GoldenCase, enforce: bool) -> List[Row]:
    """Rows against openpi's JAX model outputs (model built with numerics='jax')."""
    if case.jax_io is None:
        raise FileNotFoundError(f'{case.name}: --numerics jax needs jax_io.safetensors')
    jx, inputs = case.jax_io, model_inputs(case)
    noise = case.io['in.noise']
    with torch.no_grad():
        ours = {
            'jax.sample_actions': model.sample_actions(**inputs, noise=noise),
            'jax.prefix_embs': model.embed_prefix(**inputs)[0],
            'jax.adarms_cond_t1': model.adarms_condition(torch.ones(noise.shape[0])),
            # JAX's loss averages the action dimension: [B, H]
            'jax.compute_loss_rng1234': model.compute_loss(
                **inputs, actions=case.io['in.actions'],
                noise=jx['jax.compute_loss_rng1234.noise'],
                time=jx['jax.compute_loss_rng1234.time']).mean(dim=-1),
        }
    rows = [compare(key, value, jx[key], enforce,
                    JAX_TOL if key == 'jax.sample_actions' else None, scale_tol=JAX_TOL)
            for key, value in ours.items() if key in jx]
    for key in sorted(jx):  # outputs we cannot compute (inputs end in .noise / .time)
        if key.startswith('jax.') and key not in ours and not key.endswith(('.noise', '.time')):
            rows.append(_not_computed(key, jx[key]))
    return rows


def _not_computed(name: str, reference: torch.Tensor) -> Row:
    """Row for a recorded output this checker does not compute: it never passes silently."""
    return Row(name, list(reference.shape), float('nan'), float('nan'), float('inf'), False)


def compare(name: str, ours: torch.Tensor, reference: torch.Tensor, enforce: bool,
            abs_tol: Optional[float] = None, scale_tol: float = INTERMEDIATE_TOL) -> Row:
    """Row for one output; tolerance abs_tol, else scale_tol * max(1, max|reference|)."""
    if tuple(ours.shape) != tuple(reference.shape):
        raise ValueError(f'{name}: computed shape {list(ours.shape)} but the reference is '
                         f'{list(reference.shape)}')
    ours_f, ref_f = ours.detach().double().cpu(), reference.double()
    ref_max = float(ref_f.abs().max()) if ref_f.numel() else 0.0
    max_abs = float((ours_f - ref_f).abs().max()) if ref_f.numel() else 0.0
    tol = abs_tol if abs_tol is not None else scale_tol * max(1.0, ref_max)
    return Row(name, list(reference.shape), max_abs, max_abs / ref_max if ref_max else max_abs,
               tol if enforce else float('inf'), bool(torch.isfinite(ours_f).all()))


# out.actions_steps5, out.actions_num_steps_5, out.denoise_timesteps_num_steps5, ...
_EXTRA_STEPS = re.compile(r'(?:out\.)?(actions|denoise_timesteps)\D*(\d+)')


def _extra_steps_name(name: str, extra_num_steps: Sequence[int]) -> Optional[str]:
    """Map 'actions_steps5' / 'denoise_timesteps_num_steps5' ... to 'actions@5' / ...@5."""
    match = _EXTRA_STEPS.fullmatch(name)
    if match and int(match.group(2)) in extra_num_steps:
        return f'{match.group(1)}@{int(match.group(2))}'
    return None


def format_rows(rows: Sequence[Row]) -> str:
    lines = [f'{"output":42s} {"shape":>20s} {"max abs err":>12s} {"max rel err":>12s} '
             f'{"tolerance":>10s}  ok']
    for r in rows:
        if math.isnan(r.max_abs):
            lines.append(f'{r.name:42s} {str(r.shape):>20s}  not computed by this checker  NO')
            continue
        tol = '-' if r.tolerance == float('inf') else f'{r.tolerance:.1e}'
        lines.append(f'{r.name:42s} {str(r.shape):>20s} {r.max_abs:12.3e} {r.max_rel:12.3e} '
                     f'{tol:>10s}  {"yes" if r.ok else "NO"}')
    return '\n'.join(lines)


def run(case_dir: Path, dtype: str = 'float32', numerics: str = 'pytorch') -> List[Row]:
    """Build the model for a case and compare; tolerances are enforced in float32 only."""
    case = load_case(Path(case_dir))
    model = build_model(case, getattr(torch, dtype), numerics)
    enforce = dtype == 'float32'
    if numerics == 'jax':
        return compare_jax(model, case, enforce)
    return compare_pytorch(model, case, enforce)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('case_dir', type=Path, help='golden case directory')
    parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default='float32')
    parser.add_argument('--numerics', choices=('pytorch', 'jax'), default='pytorch')
    args = parser.parse_args(argv)
    torch.set_float32_matmul_precision('highest')
    try:
        rows = run(args.case_dir, args.dtype, args.numerics)
    except (FileNotFoundError, ValueError) as exc:  # not a case directory / wrong geometry
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'case {args.case_dir}  dtype {args.dtype}  numerics {args.numerics}')
    print(format_rows(rows))
    failed = [r.name for r in rows if not r.ok]
    print('FAIL: ' + ', '.join(failed) if failed else 'PASS')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
