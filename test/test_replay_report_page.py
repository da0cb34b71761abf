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

"""The report page answers "should I try this checkpoint?": verdict, baselines, identity."""

import html
import json
import re

import cv2
from pi05_ros.replay import chunk_context, cli, report
import pytest
import torch


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp('demo') / 'report'
    # 3 s of bag: 15 chunks, the prompt changes half-way
    assert cli.main(['--demo', '--demo-frames', '30', '-o', str(out), '--no-progress',
                     '--inference-delay', '0.05']) == 0
    torch.set_num_threads(threads)
    page = html.unescape((out / 'index.html').read_text())
    return out, json.loads((out / 'metrics.json').read_text()), page


def test_the_page_starts_with_the_answer_and_a_verdict_per_metric(demo):
    _, metrics, page = demo
    assert page.index('Should I try this checkpoint on my robot?') < page.index('<h2>Run</h2>')
    assert metrics['verdict']['answer'] in page
    assert len(metrics['verdict']['lines']) == 3
    for line in metrics['verdict']['lines']:
        assert f'<li>{line}</li>' in page
    # 15 chunks of a 2.5 s horizon at 5 Hz cannot support a claim, and the page says so
    assert metrics['verdict']['lines'][0].startswith(
        'prediction MAE: too few chunks to conclude: 1')
    assert 'Limits: none above the limits: 300 executed ticks checked' in page


def test_baselines_are_on_the_page_and_in_metrics_json(demo):
    out, metrics, page = demo
    scored = metrics['baselines']
    horizon = metrics['prediction']['horizon']
    for name in ('hold_position', 'constant_velocity', 'delayed_recording'):
        entry = scored[name]
        assert len(entry['prediction']['per_step']['mae']) == horizon
        assert entry['prediction']['num_chunks'] == metrics['prediction']['num_chunks']
        assert f'<tr><td>{entry["label"]}</td>' in page and entry['definition'] in page
        assert entry['executed']['limits']['ticks_above_any'] == 0  # checked, as the policy
    assert scored['delayed_recording']['label'] == 'recording, delayed 50 ms'
    assert '<tr><td>policy</td>' in page and '<th>ticks above a limit</th>' in page
    assert f'<img src="{report.PLOT_HORIZON}"' in page


def test_every_metric_is_defined_on_the_page(demo):
    _, _, page = demo
    for name, text in report.DEFINITIONS:
        assert f'<dt><b>{name}</b></dt><dd>{text}.</dd>' in page
    executed = dict(report.DEFINITIONS)['executed MAE / RMSE']
    assert 'lower than the prediction error' in executed  # why executed MAE is lower


def test_worst_chunks_show_the_camera_frames_and_prompt_they_saw(demo):
    out, metrics, page = demo
    worst = metrics['worst_chunks']
    assert worst and worst[0]['rank'] == 1
    per_chunk = metrics['prediction']['per_chunk']['mae']
    assert worst[0]['mae'] == max(v for v in per_chunk if v is not None)
    for entry in worst:
        assert set(entry['thumbnails']) == {'cam_high', 'cam_left_wrist', 'cam_right_wrist'}
        for camera, name in entry['thumbnails'].items():
            image = cv2.imread(str(out / name))
            assert image.shape == (240, 320, 3)  # 640x480 downscaled
            assert f'<img src="{name}" alt="{camera}">' in page
        assert entry['prompt'] in ('pick up the red block', 'place it in the bin')
        assert f'Prompt: “{entry["prompt"]}”' in page
    indices = [w['index'] for w in worst]
    block = metrics['baselines']['overlap_block']
    assert all(abs(a - b) >= block for a in indices for b in indices if a != b)


def test_the_prompt_timeline_says_which_prompt_when(demo):
    _, metrics, page = demo
    timeline = metrics['prompt_timeline']
    assert [s['prompt'] for s in timeline] == ['pick up the red block', 'place it in the bin']
    assert sum(s['chunks'] for s in timeline) == metrics['prediction']['num_chunks']
    assert timeline[0]['to_s'] < 1.5 <= timeline[1]['from_s']  # the bag switches at 1.5 s
    assert '<h2>Prompt timeline</h2>' in page
    assert re.search(r'<td>\d+</td><td>place it in the bin</td>', page)


def test_the_run_identity_is_on_the_page_and_in_metrics_json(demo):
    _, metrics, page = demo
    identity = metrics['run']['identity']
    assert re.fullmatch(r'[0-9a-f]{64}', identity['weights_sha256'])
    assert identity['weights_sha256'] == metrics['run']['model']['weights_sha256']
    assert identity['profile'] == 'demo' and identity['device'] == 'cpu'
    assert identity['dtype'] == 'float32' and identity['torch_threads'] == 1
    assert identity['command'].startswith('pi05-replay --demo --demo-frames 30')
    assert identity['versions']['torch'] == torch.__version__
    for field in ('weights_sha256', 'torch_threads', 'command', 'date_utc', 'torch version',
                  'numpy version', 'python version', 'pi05_ros version'):
        assert f'<tr><td>{field}</td>' in page
    assert identity['command'] in page


def test_worst_chunks_are_one_horizon_apart():
    mae = [0.1, 0.9, 0.8, 0.7, None, 0.2, 0.6, 0.5]
    assert chunk_context.worst_chunks(mae, 3) == [1, 2, 3]
    assert chunk_context.worst_chunks(mae, 3, separation=3) == [1, 6]


def test_ticks_above_a_limit_are_in_the_answer(tmp_path):
    from test_replay_report import example, limit_check
    metrics, series, timings = example()
    metrics['executed']['limits'] = {
        'ticks': 598, 'ticks_above_any': 71, 'tolerance_relative': 1e-9, 'above_times_s': [],
        'checks': [limit_check('acceleration', 'finite differences', 71, 18.2, 10.0)]}
    metrics['verdict'] = {'lines': [], 'answer': 'anything', 'notes': []}
    report.write_report(tmp_path, metrics, series, timings)
    page = (tmp_path / 'index.html').read_text()
    assert '<p class="warn">Limits: 71 of 598 executed ticks ABOVE A LIMIT' in page
