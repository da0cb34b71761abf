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

"""The report directory: files present, strict JSON, the page shows every plot."""

import json
import re

import numpy as np

from pi05_ros.replay import report

JOINTS = ('shoulder', 'elbow', 'gripper')


def example(interrupted=False):
    t = np.arange(50, dtype=np.int64) * 20_000_000
    values = np.stack([np.sin(t / 1e9 + j) for j in range(3)], axis=1)
    metrics = {
        'run': {'bag': '/tmp/x', 'interrupted': interrupted, 'stopped_at_s': 0.5},
        'prediction': {
            'mae': 0.1, 'rmse': float('nan'),
            'per_step': {'mae': [0.1, 0.2, None], 'rmse': [0.1, 0.3, None]},
            'per_joint': {n: {'mae': 0.1, 'rmse': 0.2} for n in JOINTS},
            'per_chunk': {'mae': [0.1, None], 'rmse': [0.2, None], 'time_s': [0.0, 0.2]},
        },
        'executed': {'smoothness': {'seam_max_step': 0.0047, 'refused': {'jump': 2}}},
        'latency_ms': {'total': {'count': 3, 'p50': 2.0, 'p90': 3.0, 'p99': 3.0, 'max': 3.0}},
    }
    series = {
        't0_ns': 0, 'joint_names': JOINTS, 'dt_s': 0.02,
        'truth_times_ns': t, 'truth_values': values,
        'command_times_ns': t, 'command_positions': values + 0.01,
        'chunk_times_ns': [t[:3], t[10:13]], 'chunk_positions': [values[:3], values[10:13]],
    }
    return metrics, series, [{'model': 2.0}, {'model': 3.0}, {'model': 1.5}]


def test_report_directory_has_metrics_plots_and_page(tmp_path):
    metrics, series, timings = example()
    paths = report.write_report(tmp_path / 'out', metrics, series, timings)
    out = tmp_path / 'out'
    loaded = json.loads((out / 'metrics.json').read_text())
    assert loaded['prediction']['rmse'] is None  # NaN is written as null, strict JSON
    assert loaded['prediction']['mae'] == 0.1
    page = (out / 'index.html').read_text()
    referenced = set(re.findall(r'<img src="([^"]+)"', page))
    assert referenced == {report.PLOT_JOINTS, report.PLOT_HORIZON, report.PLOT_JOINT_ERRORS,
                          report.PLOT_CHUNKS, report.PLOT_LATENCY}
    for name in referenced:
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert paths['index'] == out / 'index.html'
    assert 'PARTIAL' not in page
    # smoothness with units and meaning; the refusal counts readable, not a dict repr
    assert '<td>seam_max_step</td><td>0.0047</td><td>rad</td>' in page
    assert '<td>jump: 2</td>' in page
    assert not list(out.glob('*.tmp*'))


def test_partial_report_says_so(tmp_path):
    metrics, series, _ = example(interrupted=True)
    report.write_report(tmp_path, metrics, series, [])
    assert 'PARTIAL REPORT' in (tmp_path / 'index.html').read_text()
    assert (tmp_path / report.PLOT_LATENCY).exists()


def limit_check(quantity, source, above, peak, limit, joint='elbow'):
    return {'quantity': quantity, 'source': source, 'unit': 'rad/s²', 'ticks_checked': 598,
            'ticks_above': above, 'above_per_joint': {joint: above} if above else {},
            'first_above_time_s': 0.5 if above else None, 'peak': peak, 'limit': limit,
            'joint': joint, 'peak_time_s': 0.5}


def test_ticks_above_a_limit_are_counted_and_flagged_on_the_page(tmp_path):
    metrics, series, timings = example()
    metrics['executed']['limits'] = {
        'ticks': 598, 'ticks_above_any': 71, 'tolerance_relative': 1e-9,
        'above_times_s': [0.11, 0.12],
        'checks': [limit_check('acceleration', 'finite differences', 71, 18.2, 10.0),
                   limit_check('velocity', 'commanded', 0, 0.6, 2.0, 'shoulder')]}
    report.write_report(tmp_path, metrics, series, timings)
    page = (tmp_path / 'index.html').read_text()
    assert ('<p class="warn">71 of 598 executed ticks ABOVE A LIMIT: acceleration (finite '
            'differences) on 71 ticks, peak 18.2 vs 10 rad/s² on elbow</p>') in page
    assert '<td>acceleration</td><td>finite differences</td><td>598</td><td>71</td>' in page
    assert '<td>elbow: 71</td>' in page and '0.110, 0.120' in page
    assert 'none above the limits' not in page
    metrics['executed']['limits'].update(
        ticks_above_any=0, above_times_s=[],
        checks=[limit_check('acceleration', 'finite differences', 0, 9.9, 10.0)])
    report.write_report(tmp_path, metrics, series, timings)
    page = (tmp_path / 'index.html').read_text()
    assert '<p class="ok">none above the limits: 598 executed ticks checked' in page
    assert 'ABOVE A LIMIT' not in page


def test_the_page_says_which_inference_delay_was_used_and_where_it_came_from(tmp_path):
    metrics, series, timings = example()
    delays = {
        '43.9 ms: measured model latency: median': {
            'ms': 43.9, 'source': 'measured', 'text': 'measured model latency: median of this '
            "run's per-chunk inference time"},
        'no delay: at its observation time (--inference-delay 0)': {
            'ms': 0.0, 'source': 'none', 'text': 'at its observation time'},
        '150.0 ms: given, not measured (--inference-delay 0.15)': {
            'ms': 150.0, 'source': 'given', 'text': 'given, not measured'}}
    options = ['', '--inference-delay 0', '--inference-delay 0.15']
    for (expected, delay), option in zip(delays.items(), options):
        metrics['run'].update(inference_delay=delay, inference_delay_ms=delay['ms'],
                              inference_delay_option=option)
        report.write_report(tmp_path, metrics, series, timings)
        page = (tmp_path / 'index.html').read_text()
        assert f'<td>inference delay (simulated)</td><td>{expected}' in page
    assert report.delay_line({'inference_delay_ms': 0.0}) == 'no delay'  # older metrics.json
