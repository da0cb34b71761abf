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
``pi05-replay --rtc``: real-time chunking next to plain splicing, on the same bag and seed.

Inter-chunk disagreement: for each pair of consecutive chunks, the mean Euclidean distance
(over the joints) between the later chunk's rows and the earlier chunk at the same times
(linear between its rows), over the rows both cover; ``after arrival`` counts only the later
chunk's rows from the time it reached the executor on, the ones that compete with the running
chunk. Plain splicing blends that disagreement away over the blend window; real-time chunking
removes it where the rows are frozen and shrinks it where they are guided.
"""

import html
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk


def pair_disagreement(earlier: ActionChunk, later: ActionChunk,
                      from_ns: Optional[int] = None) -> Optional[float]:
    """Return the mean distance of ``later``'s rows to ``earlier`` at the same times (or None)."""
    times_a, times_b = earlier.row_times_ns(), later.row_times_ns()
    mask = (times_b >= times_a[0]) & (times_b <= times_a[-1])
    if from_ns is not None:
        mask &= times_b >= from_ns
    if not mask.any():
        return None
    at = times_b[mask].astype(np.float64)
    ref = np.stack([np.interp(at, times_a.astype(np.float64), earlier.positions[:, j])
                    for j in range(earlier.num_joints)], axis=1)
    return float(np.linalg.norm(later.positions[mask] - ref, axis=1).mean())


def inter_chunk_disagreement(chunks: Sequence[ActionChunk],
                             available_ns: Optional[Sequence[int]] = None) -> Dict[str, object]:
    """Disagreement of each consecutive pair and its mean (rad), overall and after arrival."""
    overall: List[Optional[float]] = []
    after: List[Optional[float]] = []
    for k in range(1, len(chunks)):
        overall.append(pair_disagreement(chunks[k - 1], chunks[k]))
        if available_ns is not None:
            after.append(pair_disagreement(chunks[k - 1], chunks[k], int(available_ns[k])))

    def mean(values):
        finite = [v for v in values if v is not None]
        return float(np.mean(finite)) if finite else None

    return {'pairs': sum(v is not None for v in overall), 'mean': mean(overall),
            'max': max((v for v in overall if v is not None), default=None),
            'mean_after_arrival': mean(after) if available_ns is not None else None,
            'per_pair': overall}


def run_summary(chunks: Sequence[ActionChunk], available_ns: Sequence[int], runtime,
                continued: int) -> Dict[str, object]:
    """Summarize what one run did about chunk continuity (``runtime``: RtcRuntime or None)."""
    summary: Dict[str, object] = {
        'enabled': runtime is not None,
        'inter_chunk_disagreement': inter_chunk_disagreement(chunks, available_ns),
        'chunks_continued_without_blend': int(continued),
    }
    if runtime is not None:
        status = runtime.status()
        summary.update({
            'settings': {k.split('.', 1)[1]: v for k, v in status.items()
                         if k in ('rtc.execution_horizon', 'rtc.schedule',
                                  'rtc.guidance_weight_max')},
            'guided_chunks': runtime.guided_chunks, 'plain_chunks': runtime.plain_chunks,
            'late_chunks': runtime.late_chunks, 'fallbacks': dict(runtime.fallbacks),
            'delay_rows': [c.rtc.delay_rows for c in chunks if c.rtc is not None],
        })
    return summary


def _get(metrics: Mapping, *path):
    value = metrics
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


# (label, path in metrics.json, unit); lower is better for every row
COMPARED = (
    ('inter-chunk disagreement', ('rtc', 'inter_chunk_disagreement', 'mean'), 'rad'),
    ('inter-chunk disagreement after arrival',
     ('rtc', 'inter_chunk_disagreement', 'mean_after_arrival'), 'rad'),
    ('prediction MAE', ('prediction', 'mae'), 'rad'),
    ('executed MAE', ('executed', 'error', 'mae'), 'rad'),
    ('seam max step', ('executed', 'smoothness', 'seam_max_step'), 'rad'),
    ('seam max |jerk|', ('executed', 'smoothness', 'seam_max_jerk'), 'rad/s³'),
    ('max |jerk|', ('executed', 'smoothness', 'max_jerk'), 'rad/s³'),
    ('inference total p50', ('latency_ms', 'total', 'p50'), 'ms'),
    ('simulated delay', ('run', 'inference_delay_ms'), 'ms'),
)


def comparison(plain: Mapping, rtc: Mapping) -> Dict[str, object]:
    """Side by side: each compared metric for plain splicing and RTC, and RTC's counters."""
    rows = []
    for label, path, unit in COMPARED:
        a, b = _get(plain, *path), _get(rtc, *path)
        ratio = (b / a) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a \
            else None
        rows.append({'metric': label, 'unit': unit, 'plain': a, 'rtc': b, 'rtc_over_plain': ratio})
    refused = [len(_get(m, 'executed', 'chunks_refused') or []) for m in (plain, rtc)]
    rows.append({'metric': 'chunks refused', 'unit': '', 'plain': refused[0],
                 'rtc': refused[1], 'rtc_over_plain': None})
    return {'rows': rows, 'plain': dict(plain.get('rtc', {})), 'rtc': dict(rtc.get('rtc', {})),
            'note': 'same bag, seed and executor; the RTC run is the rest of this report'}


def _fmt(value) -> str:
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.4g}'
    return html.escape(str(value))


def comparison_html(metrics: Mapping) -> str:
    """Return the report section of ``metrics['rtc_comparison']`` ('' when absent)."""
    compared = metrics.get('rtc_comparison')
    if not compared:
        return ''
    rows = ''.join(f'<tr><td>{_fmt(r["metric"])}</td><td>{_fmt(r["unit"])}</td>'
                   f'<td>{_fmt(r["plain"])}</td><td>{_fmt(r["rtc"])}</td>'
                   f'<td>{_fmt(r["rtc_over_plain"])}</td></tr>' for r in compared['rows'])
    rtc = compared.get('rtc', {})
    fallbacks = ', '.join(f'{html.escape(k)}: {v}' for k, v in rtc.get('fallbacks', {}).items())
    counts = (f'<p>RTC run: {rtc.get("guided_chunks", 0)} guided chunks, '
              f'{rtc.get("plain_chunks", 0)} sampled plainly ({fallbacks or "none"}), '
              f'{rtc.get("late_chunks", 0)} late, '
              f'{rtc.get("chunks_continued_without_blend", 0)} taken by the executor without '
              f'a blend; settings {html.escape(str(rtc.get("settings", {})))}.</p>')
    return ('<h2>Real-time chunking vs plain splicing</h2>'
            f'<p>{html.escape(compared.get("note", ""))}. Inter-chunk disagreement: mean '
            'distance between the overlapping rows of consecutive chunks at the same times '
            '(after arrival: only rows from when the later chunk reached the executor).</p>'
            '<table><tr><th>metric</th><th>unit</th><th>plain splice</th><th>RTC + splice</th>'
            f'<th>RTC / plain</th></tr>{rows}</table>{counts}')
