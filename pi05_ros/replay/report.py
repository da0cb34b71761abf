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
The replay report directory: metrics.json, PNG plots and an index.html that shows them.

Plots use matplotlib's object API (``Figure`` + Agg), never pyplot, so no display is needed and
no global state is touched. Every file is written to a temporary name and renamed, so a report
directory never holds a half-written file.
"""

from collections import Counter
import html
import json
import math
import os
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from matplotlib.figure import Figure
import numpy as np
from pi05_ros.replay.rtc_compare import comparison_html as rtc_comparison_html

PLOT_JOINTS = 'predicted_vs_recorded.png'
PLOT_HORIZON = 'error_vs_horizon.png'
PLOT_JOINT_ERRORS = 'error_per_joint.png'
PLOT_CHUNKS = 'error_per_chunk.png'
PLOT_LATENCY = 'latency_histogram.png'
METRICS_FILE = 'metrics.json'
INDEX_FILE = 'index.html'
MAX_PLOTTED_CHUNKS = 200  # long runs: every k-th chunk, evenly spaced
# joint positions and errors: one unit everywhere, spelled out once per page and plot
POSITION_UNIT = 'rad (m for prismatic joints)'
UNIT_NOTE = (f'Units: joint positions, errors (MAE, RMSE), limits and seam steps are in '
             f'{POSITION_UNIT}; rates per second (rad/s, rad/s², ...).')
# executed-stream metrics (pi05_ros.control.metrics.StreamMetrics): unit, meaning
SMOOTHNESS = {
    'max_velocity': ('rad/s', 'largest joint speed commanded'),
    'max_acceleration': ('rad/s²', 'largest joint acceleration (finite differences)'),
    'max_jerk': ('rad/s³', 'largest joint jerk'),
    'seam_max_step': ('rad', 'largest one-tick position change at a chunk seam'),
    'seam_max_velocity_change': ('rad/s', 'largest velocity change across a seam tick'),
    'seam_max_jerk': ('rad/s³', 'largest jerk within 50 ms of a seam'),
    'holding_s': ('s', 'time spent holding (no chunk to execute)'),
    'limited_ticks': ('ticks', 'ticks where the limits kept the command off its reference'),
    'max_tracking_error': ('rad', 'largest |command - reference| while tracking'),
    'refused': ('chunks', 'chunks refused, by reason'),
}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save_figure(figure: Figure, path: Path) -> None:
    tmp = path.with_name(path.stem + '.tmp.png')
    figure.savefig(tmp, dpi=90, format='png')
    os.replace(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f'not JSON serializable: {type(value).__name__}')


def _finite_or_none(value):
    """Recursively replace NaN/inf floats by None so metrics.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def write_metrics(directory: Path, metrics: Mapping) -> Path:
    """Write ``metrics.json`` (strict JSON: NaN written as null)."""
    clean = _finite_or_none(json.loads(json.dumps(metrics, default=_json_default)))
    path = directory / METRICS_FILE
    _write_atomic(path, json.dumps(clean, indent=2, allow_nan=False).encode())
    return path


def plot_predicted_vs_recorded(path: Path, joint_names: Sequence[str], series: Mapping) -> None:
    """One panel per joint: ground truth, executed commands and the predicted chunks (thin)."""
    n = len(joint_names)
    cols = 2 if n > 4 else 1
    rows = int(math.ceil(n / cols))
    figure = Figure(figsize=(7 * cols, 2.2 * rows), layout='constrained')
    axes = figure.subplots(rows, cols, squeeze=False).reshape(-1)
    t0 = series['t0_ns']
    for j, name in enumerate(joint_names):
        ax = axes[j]
        every = max(1, int(math.ceil(len(series['chunk_times_ns']) / MAX_PLOTTED_CHUNKS)))
        for times, rows_j in zip(series['chunk_times_ns'][::every],
                                 series['chunk_positions'][::every]):
            ax.plot((np.asarray(times) - t0) / 1e9, np.asarray(rows_j)[:, j], color='tab:orange',
                    alpha=0.35, linewidth=0.8)
        if len(series['truth_times_ns']):
            ax.plot((series['truth_times_ns'] - t0) / 1e9, series['truth_values'][:, j],
                    color='black', linewidth=1.2, label='recorded')
        if len(series['command_times_ns']):
            ax.plot((series['command_times_ns'] - t0) / 1e9, series['command_positions'][:, j],
                    color='tab:blue', linewidth=1.0, label='executed')
        ax.plot([], [], color='tab:orange', label='predicted chunks')
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc='upper right')
    axes[min(n, len(axes)) - 1].set_xlabel('bag time (s)', fontsize=8)
    figure.suptitle(f'joint positions, {POSITION_UNIT}', fontsize=9)
    _save_figure(figure, path)


def plot_error_vs_horizon(path: Path, per_step: Mapping[str, List[Optional[float]]],
                          dt_s: float,
                          baselines: Optional[Mapping[str, Sequence[Optional[float]]]] = None
                          ) -> None:
    """Policy MAE and RMSE per horizon step, and each baseline's MAE (dashed), on one axis."""
    figure = Figure(figsize=(7, 3.5), layout='constrained')
    ax = figure.subplots()
    for key, style in (('mae', '-o'), ('rmse', '-s')):
        values = np.array([np.nan if v is None else v for v in per_step.get(key, [])])
        steps = np.arange(1, values.size + 1)
        ax.plot(steps, values, style, markersize=3, label=f'policy {key.upper()}')
    for label, mae in (baselines or {}).items():
        values = np.array([np.nan if v is None else v for v in mae], dtype=np.float64)
        ax.plot(np.arange(1, values.size + 1), values, '--', linewidth=1.2,
                label=f'{label} MAE')
    ax.set_xlabel(f'horizon step (x {dt_s * 1000:.0f} ms)')
    ax.set_ylabel(f'error, {POSITION_UNIT}')
    ax.set_title('prediction error vs horizon step (policy and baselines)')
    ax.grid(alpha=0.3)
    ax.legend()
    _save_figure(figure, path)


def plot_error_per_joint(path: Path, per_joint: Mapping[str, Mapping[str, float]]) -> None:
    names = list(per_joint)
    figure = Figure(figsize=(max(5, 0.7 * len(names) + 2), 3.5), layout='constrained')
    ax = figure.subplots()
    x = np.arange(len(names))
    for offset, key in ((-0.2, 'mae'), (0.2, 'rmse')):
        values = [np.nan if per_joint[n][key] is None else per_joint[n][key] for n in names]
        ax.bar(x + offset, values, width=0.4, label=key.upper())
    ax.set_xticks(x, names, rotation=45, ha='right', fontsize=8)
    ax.set_ylabel(f'error, {POSITION_UNIT}')
    ax.set_title('prediction error per joint')
    ax.legend()
    _save_figure(figure, path)


def plot_error_per_chunk(path: Path, per_chunk: Mapping[str, List[Optional[float]]]) -> None:
    """MAE and RMSE of each chunk at its observation time: where in the bag the policy errs."""
    figure = Figure(figsize=(7, 3.5), layout='constrained')
    ax = figure.subplots()
    times = np.asarray(per_chunk['time_s'], dtype=np.float64)
    rows = np.asarray(per_chunk.get('rows_with_truth', []))
    partial = rows < rows.max() if rows.size == times.size and rows.size else None
    for key, marker in (('mae', 'o'), ('rmse', 's')):
        values = np.array([np.nan if v is None else v for v in per_chunk.get(key, [])])
        line, = ax.plot(times, values, '-' + marker, markersize=3, label=key.upper())
        if partial is not None and partial.any():
            ax.plot(times[partial], values[partial], marker, markersize=6, color='white',
                    markeredgecolor=line.get_color())
    if partial is not None and partial.any():
        ax.plot([], [], 'o', color='white', markeredgecolor='gray',
                label='fewer rows with truth (bag end)')
    ax.set_xlabel('observation time (s from the replay start)')
    ax.set_ylabel(f'error, {POSITION_UNIT}')
    ax.set_title('prediction error per chunk')
    ax.grid(alpha=0.3)
    ax.legend()
    _save_figure(figure, path)


def plot_latency_histogram(path: Path, timings: Sequence[Mapping[str, float]]) -> None:
    figure = Figure(figsize=(7, 3.5), layout='constrained')
    ax = figure.subplots()
    totals = [t.get('total', sum(t.values())) for t in timings if t]
    if totals:
        ax.hist(totals, bins=min(40, max(5, len(totals) // 2)), color='tab:blue')
        ax.axvline(float(np.median(totals)), color='black', linestyle='--', label='median')
        ax.legend()
    else:
        ax.text(0.5, 0.5, 'no inference ran', ha='center', va='center', transform=ax.transAxes)
    ax.set_xlabel('inference latency (ms)')
    ax.set_ylabel('count')
    ax.set_title('inference latency (measured on this machine)')
    _save_figure(figure, path)


def _fmt(value) -> str:
    if value is None:
        return 'n/a'
    if isinstance(value, float):
        return f'{value:.4g}'
    return html.escape(str(value))


def _table(rows: Sequence[Sequence], header: Sequence[str]) -> str:
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{_fmt(c)}</td>' for c in row) + '</tr>'
                   for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'


def _fmt_limit(value):
    return 'none' if value is None else value  # metrics.json: null = unbounded / no limit


def _smoothness_value(value):
    if isinstance(value, dict):  # refused: reason -> count
        return ', '.join(f'{k}: {n}' for k, n in sorted(value.items())) or 'none'
    return value


def limits_line(limits: Mapping) -> str:
    """One line on the executed ticks against the limits (the report's and the CLI's)."""
    ticks, above = limits.get('ticks', 0), limits.get('ticks_above_any', 0)
    checked = ('position, velocity, acceleration and jerk, from the commanded fields and as '
               f'finite differences, tolerance {limits.get("tolerance_relative", 0):g} relative')
    if not above:
        return f'none above the limits: {ticks} executed ticks checked ({checked})'
    worst = [f'{c["quantity"]} ({c["source"]}) on {c["ticks_above"]} ticks, peak '
             f'{_fmt(c["peak"])} vs {_fmt(c["limit"])} {c["unit"]} on {c["joint"]}'
             for c in limits.get('checks', []) if c.get('ticks_above')]
    return f'{above} of {ticks} executed ticks ABOVE A LIMIT: ' + '; '.join(worst)


def delay_line(run: Mapping) -> str:
    """Say which simulated inference delay the run used and where it came from."""
    delay = run.get('inference_delay')
    if not isinstance(delay, Mapping):  # an older metrics.json: the number only
        ms = run.get('inference_delay_ms')
        return 'n/a' if ms is None else ('no delay' if ms == 0 else f'{_fmt(ms)} ms')
    option = run.get('inference_delay_option')
    given = f' ({option})' if option else ''
    ms = delay.get('ms')
    value = 'n/a' if ms is None else f'{ms:.1f} ms'
    if delay.get('source') == 'none':
        value = 'no delay'
    return f'{value}: {delay.get("text", "")}{given}'


def _limits_html(limits: Optional[Mapping]) -> str:
    if not limits:
        return ''
    rows = [(c['quantity'], c['source'], c['ticks_checked'], c['ticks_above'],
             c['peak'], _fmt_limit(c['limit']), c['unit'], c['joint'],
             ', '.join(f'{j}: {n}' for j, n in c.get('above_per_joint', {}).items()) or '-')
            for c in limits.get('checks', [])]
    above = limits.get('ticks_above_any', 0)
    css = 'warn' if above else 'ok'
    times = limits.get('above_times_s', [])
    listed = ('' if not times else '<p>First ticks above a limit (s from the replay start): '
              + html.escape(', '.join(f'{t:.3f}' for t in times)) + '</p>')
    return (f'<h2>Executed ticks against the limits</h2>'
            f'<p class="{css}">{html.escape(limits_line(limits))}</p>{listed}'
            + _table(rows, ['quantity', 'measured from', 'ticks checked', 'ticks above',
                            'peak', 'limit', 'unit', 'joint (peak)', 'ticks above per joint']))


# --- the answer, baselines, worst chunks, prompts, identity, definitions ---------------------

# every metric on the page: (name, definition)
DEFINITIONS = (
    ('truth', 'what the policy is scored against: the recorded commands (--truth-topic), or '
     'without one the future joint states (what the robot did), linearly interpolated at each '
     'time; rows outside the recording have no truth and are left out of every mean'),
    ('prediction MAE / RMSE', 'every predicted chunk row against the truth at its own time '
     '(observation stamp + (k + 1) x dt): the mean absolute error and the root mean square '
     'error over all rows with truth and all joints. It scores what the policy predicted at '
     'the observation over its whole horizon; nothing is executed'),
    ('executed MAE / RMSE', 'every executed command (one per executor tick) against the truth '
     'at the tick time. The executed stream is what the robot would have been sent: each chunk '
     'arrives after the inference delay, rows already past are skipped, and a newer chunk '
     'replaces the rest of the older one (limited and blended by the executor). At any moment '
     'it therefore follows the first rows of the newest chunk, which are its most accurate '
     '(the error grows along the horizon, see the plot), so the executed error is usually '
     'lower than the prediction error, which averages over every row of every chunk'),
    ('per horizon step', 'the prediction error of row k over all chunks: how fast the '
     'prediction drifts from the recording the further ahead it looks'),
    ('per chunk', 'the prediction error of one chunk over its rows with truth; chunks near '
     'the end of the bag have fewer rows with truth'),
    ('per window (executed)', "the executed error over the ticks from one chunk's observation "
     'to the next one: pairs the executed stream with the chunks for the verdict'),
    ('baselines', 'simple rules scored exactly as the policy, on the same chunk times and '
     'executed by the same executor with the same limits, joint states and delivery times; '
     'their definitions are in the table above'),
    ('verdict', 'per metric, the policy is compared with each baseline chunk by chunk '
     '(policy - baseline per chunk). The 95% confidence interval of the mean difference comes '
     'from a block bootstrap (2000 resamples, fixed seed) that resamples the chunks of one '
     'horizon together, because overlapping chunks see the same motion (more chunks per block '
     'where the differences stay correlated longer: the first lag whose autocorrelation is '
     'inside the 95% band of white noise). "Better" or "worse" only when the whole interval '
     'is below or above zero; with fewer than 10 independent blocks of chunks the verdict is '
     '"too few chunks to conclude"'),
    ('ticks above a limit', 'executed ticks whose position, velocity, acceleration or jerk '
     '(from the commanded fields and as finite differences of the commanded positions) is '
     'above the executor limits'),
    ('inference delay', 'simulated latency: a chunk computed from the observation at t '
     'reaches the executor at t + delay'),
)


def thumbnail_name(rank: int, camera: str) -> str:
    """File name of a worst chunk's camera thumbnail (next to index.html)."""
    safe = ''.join(c if c.isalnum() or c in '-_' else '_' for c in camera)
    return f'worst_{rank}_{safe}.jpg'


def write_thumbnails(directory: Path, worst: Sequence[Mapping],
                     frames: Mapping[int, Mapping[str, np.ndarray]]) -> Dict[int, Dict[str, str]]:
    """Write each worst chunk's camera thumbnails as JPEG; {chunk index: {camera: file}}."""
    from pi05_ros.replay.chunk_context import encode_jpeg

    written: Dict[int, Dict[str, str]] = {}
    for entry in worst:
        for camera, rgb in frames.get(entry['index'], {}).items():
            name = thumbnail_name(entry['rank'], camera)
            _write_atomic(directory / name, encode_jpeg(rgb))
            written.setdefault(entry['index'], {})[camera] = name
    return written


def baseline_curves(metrics: Mapping) -> Dict[str, List[Optional[float]]]:
    """{baseline label: MAE per horizon step} of every scored baseline."""
    scored = metrics.get('baselines') or {}
    return {scored[n]['label']: scored[n]['prediction']['per_step']['mae']
            for n in scored.get('names', []) if scored[n]['prediction'].get('per_step')}


def _answer_html(metrics: Mapping) -> str:
    judged = metrics.get('verdict')
    if not judged:
        return ''
    lines = ''.join(f'<li>{html.escape(line)}</li>' for line in judged.get('lines', []))
    notes = ''.join(f'<p>{html.escape(n)}</p>' for n in judged.get('notes', []))
    limits = metrics.get('executed', {}).get('limits')
    limits_html = ('' if not limits else
                   f'<p class="{"warn" if limits.get("ticks_above_any") else "ok"}">'
                   f'Limits: {html.escape(limits_line(limits))}</p>')
    return (f'<h2>Should I try this checkpoint on my robot?</h2>'
            f'<p class="answer">{html.escape(judged.get("answer", ""))}</p>{limits_html}'
            f'<p>Verdict per metric against the baselines (lower error is better):</p>'
            f'<ul>{lines}</ul>{notes}')


def _baselines_html(metrics: Mapping) -> str:
    scored = metrics.get('baselines')
    if not scored:
        return ''
    pred = metrics.get('prediction', {})
    executed = metrics.get('executed', {})
    rows = [('policy', pred.get('mae'), pred.get('rmse'), executed.get('error', {}).get('mae'),
             executed.get('error', {}).get('rmse'), executed.get('chunks_accepted'),
             len(executed.get('chunks_refused', [])),
             executed.get('limits', {}).get('ticks_above_any'), 'the checkpoint under test')]
    for name in scored.get('names', []):
        b = scored[name]
        rows.append((b['label'], b['prediction'].get('mae'), b['prediction'].get('rmse'),
                     b['executed'].get('error', {}).get('mae'),
                     b['executed'].get('error', {}).get('rmse'),
                     b['executed'].get('chunks_accepted'), b['executed'].get('chunks_refused'),
                     b['executed'].get('limits', {}).get('ticks_above_any'), b['definition']))
    return ('<h2>Policy and baselines on the same chunks</h2>'
            + _table(rows, ['', 'prediction MAE (rad)', 'prediction RMSE (rad)',
                            'executed MAE (rad)', 'executed RMSE (rad)', 'chunks accepted',
                            'chunks refused', 'ticks above a limit', 'what it is'])
            + f'<figure><img src="{PLOT_HORIZON}" alt="{PLOT_HORIZON}"><figcaption>'
              'prediction error per horizon step, policy and baselines</figcaption></figure>'
            if pred.get('per_step') else '')


def _definitions_html() -> str:
    items = ''.join(f'<dt><b>{html.escape(name)}</b></dt><dd>{html.escape(text)}.</dd>'
                    for name, text in DEFINITIONS)
    return f'<h2>Definitions</h2><dl>{items}</dl>'


def _worst_html(metrics: Mapping) -> str:
    worst = metrics.get('worst_chunks')
    if not worst:
        return ''
    labels = {n: metrics['baselines'][n]['label']
              for n in (metrics.get('baselines') or {}).get('names', [])}
    parts = ['<h2>Worst chunks</h2><p>The chunks with the largest prediction MAE, with the '
             'camera frames and the prompt the policy saw at their observation.</p>']
    for w in worst:
        others = ', '.join(f'{labels.get(n, n)} {_fmt(v)}'
                           for n, v in w.get('baselines_mae', {}).items())
        images = ''.join(
            f'<figure class="thumb"><img src="{html.escape(name)}" alt="{html.escape(cam)}">'
            f'<figcaption>{html.escape(cam)} at {_fmt(w["camera_stamps_s"].get(cam))} s'
            '</figcaption></figure>' for cam, name in w.get('thumbnails', {}).items())
        parts.append(
            f'<h3>#{w["rank"]}: chunk {w["index"]} observed at {_fmt(w["time_s"])} s, MAE '
            f'{_fmt(w["mae"])} rad, RMSE {_fmt(w["rmse"])} rad '
            f'({_fmt(w.get("rows_with_truth"))} rows with truth)</h3>'
            f'<p>Baselines on this chunk (MAE, rad): {html.escape(others) or "none"}</p>'
            f'<p>Prompt: &ldquo;{html.escape(w.get("prompt", ""))}&rdquo;</p>'
            f'<div>{images or "<p>camera frames not found in the bag</p>"}</div>')
    return ''.join(parts)


def _prompts_html(metrics: Mapping) -> str:
    timeline = metrics.get('prompt_timeline')
    if not timeline:
        return ''
    rows = [(s['from_s'], s['to_s'], s['chunks'], s['prompt']) for s in timeline]
    received = metrics.get('run', {}).get('prompts', [])
    received_html = ('' if not received else
                     '<p>Prompt messages in the bag (s from the bag start): '
                     + html.escape('; '.join(f'{p["time_s"]:.2f}: "{p["text"]}"'
                                             for p in received)) + '</p>')
    return ('<h2>Prompt timeline</h2><p>Which prompt each chunk was inferred with '
            '(observation times, s from the replay start).</p>'
            + _table(rows, ['from (s)', 'to (s)', 'chunks', 'prompt']) + received_html)


def _identity_html(run: Mapping) -> str:
    identity = run.get('identity')
    if not identity:
        return ''
    rows = [(k, v) for k, v in identity.items() if k != 'versions']
    rows += [(f'{name} version', v) for name, v in identity.get('versions', {}).items()]
    return '<h2>Run identity</h2>' + _table(rows, ['field', 'value'])


def render_index(metrics: Mapping, plots: Sequence[str]) -> str:
    """Render the report page: status, summary tables and the plots."""
    run = metrics.get('run', {})
    pred = metrics.get('prediction', {})
    status = ('<p class="warn">PARTIAL REPORT: the run was interrupted at bag time '
              f'{_fmt(run.get("stopped_at_s"))} s.</p>' if run.get('interrupted') else '')
    note = f'<p><i>{html.escape(run["note"])}</i></p>' if run.get('note') else ''
    summary = [(k, run.get(k)) for k in ('bag', 'checkpoint', 'profile', 'truth_source',
                                         'inference_rate_hz')]
    summary += [('inference delay (simulated)', delay_line(run))]
    summary += [(k, run.get(k)) for k in ('seed', 'bag_duration_s', 'replayed_s',
                                          'num_inferences', 'num_skipped_inferences')]
    summary += [('executor_rate_hz', run.get('executor_rate_hz')),
                ('params_file', run.get('params_file') or 'none (built-in defaults)'),
                ('limits_source', run.get('limits_source'))]
    summary = [row for row in summary if row[0] != 'limits_source' or row[1] is not None]
    summary += [('prediction MAE (rad)', pred.get('mae')),
                ('prediction RMSE (rad)', pred.get('rmse'))]
    executed_error = metrics.get('executed', {}).get('error', {})
    summary += [('executed MAE (rad)', executed_error.get('mae')),
                ('executed RMSE (rad)', executed_error.get('rmse'))]
    executor = run.get('executor', {})
    settings = [(k, v) for k, v in executor.items() if k != 'limits']
    keys = ('lower', 'upper', 'max_velocity', 'max_acceleration', 'max_jerk')
    limits = [(name, *(_fmt_limit(v.get(k)) for k in keys))
              for name, v in executor.get('limits', {}).items()]
    executor_html = ('' if not executor else
                     '<h2>Executor (as the live node)</h2>'
                     + _table(settings, ['setting', 'value'])
                     + _table(limits, ['joint', 'lower (rad)', 'upper (rad)',
                                       'max velocity (rad/s)', 'max acceleration (rad/s²)',
                                       'max jerk (rad/s³)']))
    per_joint = [(name, v.get('mae'), v.get('rmse'))
                 for name, v in pred.get('per_joint', {}).items()]
    smooth = [(k, _smoothness_value(v), *SMOOTHNESS.get(k, ('', '')))
              for k, v in metrics.get('executed', {}).get('smoothness', {}).items()]
    latency = [(stage, v.get('count'), v.get('p50'), v.get('p90'), v.get('p99'), v.get('max'))
               for stage, v in metrics.get('latency_ms', {}).items()]
    shown_above = {PLOT_HORIZON} if metrics.get('baselines') else set()
    images = ''.join(f'<figure><img src="{html.escape(p)}" alt="{html.escape(p)}">'
                     f'<figcaption>{html.escape(p)}</figcaption></figure>'
                     for p in plots if p not in shown_above)
    refused = Counter(r['reason'].split(':', 1)[0]
                      for r in metrics.get('executed', {}).get('chunks_refused', []))
    refused_table = (_table(sorted(refused.items(), key=lambda kv: -kv[1]), ['reason', 'count'])
                     if refused else '<p>none</p>')
    modes = metrics.get('modes')
    modes_html = ''
    if modes:
        changes = [(c['time_s'], c['from'], c['to'], c['cause']) for c in modes.get('changes', [])]
        match = modes.get('matches_recorded')
        verdict = ('' if match is None else
                   f'<p>Replayed modes {"match" if match else "DO NOT match"} the recorded '
                   f'ones: {_fmt(modes.get("recorded_modes"))}</p>')
        modes_html = (f'<h2>Mode timeline</h2>{verdict}'
                      f'{_table(changes, ["time (s)", "from", "to", "cause"])}')
    reasons = metrics.get('skipped_reasons', {})
    skipped = (_table(sorted(reasons.items(), key=lambda kv: -kv[1]), ['reason', 'count'])
               if reasons else '<p>none</p>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pi05_ros replay report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}
img{{max-width:100%}}.warn{{color:#b00;font-weight:bold}}.ok{{color:#070;font-weight:bold}}
.answer{{font-size:1.15em}}figure.thumb{{display:inline-block;margin:0 8px 8px 0}}
dd{{margin-bottom:0.5em}}
</style></head><body>
<h1>pi05_ros replay report</h1>{status}{note}
<p>{html.escape(UNIT_NOTE)}</p>
{_answer_html(metrics)}
{_baselines_html(metrics)}
{rtc_comparison_html(metrics)}
{_definitions_html()}
{_worst_html(metrics)}
{_prompts_html(metrics)}
{_identity_html(run)}
<h2>Run</h2>{_table(summary, ['field', 'value'])}
{executor_html}
{_limits_html(metrics.get('executed', {}).get('limits'))}
<h2>Prediction error per joint</h2>{_table(per_joint, ['joint', 'MAE (rad)', 'RMSE (rad)'])}
<h2>Executed stream smoothness</h2>
{_table(smooth, ['metric', 'value', 'unit', 'meaning']) if smooth else '<p>no commands</p>'}
<h2>Inference latency (ms)</h2>
{_table(latency, ['stage', 'count', 'p50', 'p90', 'p99', 'max'])}
<h2>Skipped inference cycles</h2>{skipped}
<h2>Chunks refused by the executor</h2>{refused_table}
{modes_html}
<h2>Plots</h2>{images}
<p>All numbers: <a href="{METRICS_FILE}">{METRICS_FILE}</a></p>
</body></html>
"""


def write_report(directory, metrics: Mapping, series: Mapping,
                 timings: Sequence[Mapping[str, float]]) -> Dict[str, Path]:
    """
    Write metrics.json, the plots and index.html into ``directory``; return their paths.

    ``series`` holds the arrays to plot: t0_ns, truth_times_ns / truth_values (N, J),
    command_times_ns / command_positions (T, J), chunk_times_ns / chunk_positions (per chunk),
    joint_names and dt_s.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    thumbnails = write_thumbnails(directory, metrics.get('worst_chunks', []),
                                  series.get('worst_frames', {}))
    metrics = {**metrics, 'worst_chunks': [{**w, 'thumbnails': thumbnails.get(w['index'], {})}
                                           for w in metrics.get('worst_chunks', [])]}
    paths = {'metrics': write_metrics(directory, metrics)}
    pred = metrics.get('prediction', {})
    plots = []
    plot_predicted_vs_recorded(directory / PLOT_JOINTS, series['joint_names'], series)
    plots.append(PLOT_JOINTS)
    if pred.get('per_step'):
        plot_error_vs_horizon(directory / PLOT_HORIZON, pred['per_step'], series['dt_s'],
                              baseline_curves(metrics))
        plot_error_per_joint(directory / PLOT_JOINT_ERRORS, pred['per_joint'])
        plots += [PLOT_HORIZON, PLOT_JOINT_ERRORS]
    if pred.get('per_chunk', {}).get('time_s'):
        plot_error_per_chunk(directory / PLOT_CHUNKS, pred['per_chunk'])
        plots.append(PLOT_CHUNKS)
    plot_latency_histogram(directory / PLOT_LATENCY, timings)
    plots.append(PLOT_LATENCY)
    for name in plots:
        paths[name] = directory / name
    for names in thumbnails.values():
        paths.update((name, directory / name) for name in names.values())
    index = directory / INDEX_FILE
    _write_atomic(index, render_index(metrics, plots).encode())
    paths['index'] = index
    return paths
