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

"""pi05-replay --remote: the same replay through a policy server as with the checkpoint."""

import json

from pi05_ros.replay import cli
from pi05_ros.replay.demo_bag import DemoBagSpec
import pytest
from test_policy_remote import ServeProcess


def test_replay_through_pi05_serve_gives_the_local_replay(tmp_path, capsys):
    assert cli.main(['--demo', '-o', str(tmp_path / 'local'), '--no-progress']) == 0
    inputs = tmp_path / 'local' / 'demo_inputs'
    bag, checkpoint = inputs / 'demo_bag_mcap', inputs / 'checkpoint'
    truth = DemoBagSpec.__dataclass_fields__['command_topic'].default
    common = [str(bag), '--profile', 'demo', '--truth-topic', truth,
              '--threads', '1', '--inference-delay', '0', '--no-progress']
    assert cli.main(common + ['--checkpoint', str(checkpoint), '-o', str(tmp_path / 'a')]) == 0
    server = ServeProcess(['--checkpoint', str(checkpoint), '--profile', 'demo'])
    try:
        assert cli.main(common + ['--remote', server.uri, '-o', str(tmp_path / 'b')]) == 0
    finally:
        server.stop()
    local, remote = (json.loads((tmp_path / d / 'metrics.json').read_text()) for d in 'ab')
    assert remote['prediction']['num_chunks'] == local['prediction']['num_chunks'] > 0
    assert remote['prediction']['mae'] == pytest.approx(local['prediction']['mae'], abs=1e-6)
    assert remote['executed']['num_commands'] == local['executed']['num_commands']
    assert remote['run']['model']['backend'] == 'remote'


def test_replay_against_no_server_fails_at_once_in_one_line(tmp_path, capsys):
    assert cli.main(['--demo', '-o', str(tmp_path / 'local'), '--no-progress']) == 0
    bag = tmp_path / 'local' / 'demo_inputs' / 'demo_bag_mcap'
    capsys.readouterr()
    code = cli.main([str(bag), '--profile', 'demo', '--remote', 'ws://127.0.0.1:9',
                     '--remote-timeout', '2', '-o', str(tmp_path / 'b'), '--no-progress'])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and 'ws://127.0.0.1:9' in err[0], err


def test_replay_rtc_through_pi05_serve_guides_on_the_server(tmp_path, capsys):
    """--remote with --rtc: the frozen prefix travels to pi05-serve, which guides the chunks."""
    assert cli.main(['--demo', '--demo-frames', '20', '-o', str(tmp_path / 'local'),
                     '--no-progress']) == 0
    inputs = tmp_path / 'local' / 'demo_inputs'
    bag, checkpoint = inputs / 'demo_bag_mcap', inputs / 'checkpoint'
    truth = DemoBagSpec.__dataclass_fields__['command_topic'].default
    server = ServeProcess(['--checkpoint', str(checkpoint), '--profile', 'demo'])
    try:
        code = cli.main([str(bag), '--profile', 'demo', '--truth-topic', truth, '--rtc',
                         '--remote', server.uri, '--inference-delay', '0.12', '--no-progress',
                         '-o', str(tmp_path / 'rtc')])
    finally:
        server.stop()
    assert code == 0, capsys.readouterr()
    compared = json.loads((tmp_path / 'rtc' / 'metrics.json').read_text())['rtc_comparison']
    rows = {r['metric']: r for r in compared['rows']}
    assert compared['rtc']['guided_chunks'] >= 2
    assert compared['rtc']['chunks_continued_without_blend'] >= 2
    assert not [k for k in compared['rtc']['fallbacks'] if 'server ignored' in k]
    assert rows['inter-chunk disagreement']['rtc'] < rows['inter-chunk disagreement']['plain']
