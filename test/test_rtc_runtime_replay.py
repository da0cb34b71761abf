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

"""``pi05-replay --demo --rtc``: RTC and plain splicing on the same bag and seed, side by side."""

import json

import numpy as np
from pi05_ros.control.action_chunk import ActionChunk
from pi05_ros.replay import cli
from pi05_ros.replay.rtc_compare import inter_chunk_disagreement


def test_disagreement_is_the_distance_at_matching_times():
    names = ('a', 'b')
    dt = 10
    first = ActionChunk(np.zeros((5, 2)), 0, dt, names)  # rows at 10..50
    second = ActionChunk(np.column_stack([np.full(5, 3.0), np.full(5, 4.0)]), 20, dt, names)
    # second's rows at 30..70: 30, 40, 50 overlap, each 5.0 away (3-4-5)
    result = inter_chunk_disagreement([first, second], available_ns=[0, 45])
    assert result['pairs'] == 1 and result['mean'] == 5.0
    assert result['mean_after_arrival'] == 5.0
    ramp = ActionChunk(np.repeat(np.arange(0.0, 10.0, 2.0)[:, None], 2, axis=1), 0, dt,
                       names)  # rows 0, 2, 4, 6, 8 at 10..50
    halfway = ActionChunk(np.full((3, 2), 3.0), 5, dt, names)  # rows at 15, 25, 35
    # ramp at 15, 25, 35 (interpolated): 1, 3, 5 -> distances sqrt(2) * (2, 0, 2)
    assert np.isclose(inter_chunk_disagreement([ramp, halfway])['mean'],
                      np.sqrt(2) * 4 / 3)


def test_demo_rtc_reports_plain_and_rtc_side_by_side(tmp_path, capsys):
    out = tmp_path / 'report'
    code = cli.main(['--demo', '--rtc', '--demo-frames', '20', '--storage', 'sqlite3',
                     '--inference-delay', '0.12', '-o', str(out), '--no-progress'])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert 'inter-chunk disagreement' in printed and '(plain) vs' in printed
    metrics = json.loads((out / 'metrics.json').read_text())
    compared = metrics['rtc_comparison']
    rows = {r['metric']: r for r in compared['rows']}
    disagreement = rows['inter-chunk disagreement']
    print({k: (v['plain'], v['rtc']) for k, v in rows.items()})
    # the demo network's chunks disagree by ~0.1 rad; guided ones continue the running chunk
    assert disagreement['plain'] > 0.05
    assert disagreement['rtc'] < 0.8 * disagreement['plain']
    rtc = compared['rtc']
    assert rtc['enabled'] and rtc['guided_chunks'] >= 2
    assert rtc['fallbacks'].get('no previous chunk') == 1
    assert rtc['chunks_continued_without_blend'] >= 2
    assert rtc['settings']['execution_horizon'] == 15  # config/demo.yaml's rtc.*
    assert not compared['plain']['enabled']
    assert compared['plain']['chunks_continued_without_blend'] == 0
    assert metrics['rtc'] == rtc  # the report itself is the RTC run
    assert rows['chunks refused']['rtc'] == 0
    assert metrics['executed']['limits']['ticks_above_any'] == 0
    page = (out / 'index.html').read_text()
    assert 'Real-time chunking vs plain splicing' in page and 'RTC + splice' in page


def test_rtc_options_are_checked_before_any_replay(tmp_path, capsys):
    code = cli.main(['--demo', '--rtc', '--rtc-execution-horizon', '60', '--demo-frames', '2',
                     '-o', str(tmp_path / 'r'), '--no-progress'])
    err = capsys.readouterr().err
    assert code == 1 and 'rtc.execution_horizon' in err and 'Traceback' not in err
    assert not (tmp_path / 'r' / 'metrics.json').exists()
