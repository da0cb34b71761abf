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

"""Run identity, the thread count replay picks, and the CUDA hint."""

from pi05_ros.replay import cli, identity
import pytest
import torch


@pytest.fixture(autouse=True)
def restore_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_one_thread_per_idle_cpu_and_one_on_a_busy_machine():
    assert identity.choose_threads(2, 1.3) == (
        1, '2 CPUs available, 1-minute load average 1.30: one thread per idle CPU, at least 1')
    assert identity.choose_threads(2, 0.1)[0] == 1  # 1.9 idle
    assert identity.choose_threads(16, 0.5)[0] == 15
    assert identity.choose_threads(16, 40.0)[0] == 1
    assert identity.choose_threads(8, 0.0)[0] == 8
    assert identity.choose_threads(4, None) == (
        4, '4 CPUs available, load average unknown: one thread per CPU')


def test_the_identity_names_checkpoint_hash_versions_command_and_date():
    found = identity.run_identity(
        {'checkpoint': '/ckpt', 'weights_sha256': 'ab12', 'config': 'pi05 tiny'}, 'demo',
        'cpu', 'float32', 1, 'because', ['pi05-replay', 'my bag', '--demo'],
        1_700_000_000 * 10**9 + 999_999_999, identity.versions())
    assert found['weights_sha256'] == 'ab12' and found['checkpoint'] == '/ckpt'
    assert found['command'] == "pi05-replay 'my bag' --demo"
    assert found['date_utc'] == '2023-11-14T22:13:20+00:00'
    assert found['versions']['torch'] == torch.__version__
    assert set(found['versions']) == {'pi05_ros', 'torch', 'numpy', 'python', 'platform'}


def test_replay_picks_its_threads_from_the_machine_and_says_so(monkeypatch):
    args = cli.build_parser().parse_args(['bag'])
    monkeypatch.setattr(cli, 'machine_load', lambda: (2, 1.5))
    assert cli.torch_threads(args) == (
        1, '2 CPUs available, 1-minute load average 1.50: one thread per idle CPU, at least 1; '
        '--threads N overrides')
    args = cli.build_parser().parse_args(['bag', '--threads', '3'])
    assert cli.torch_threads(args) == (3, '--threads')
    args = cli.build_parser().parse_args(['--demo'])
    assert cli.torch_threads(args)[0] == 1


@pytest.mark.skipif(torch.version.cuda is not None, reason='this torch is a CUDA build')
def test_device_cuda_without_a_cuda_torch_says_how_to_install_one(tmp_path, capsys):
    assert cli.main(['--demo', '--device', 'cuda', '-o', str(tmp_path / 'out')]) == 1
    error = capsys.readouterr().err
    version = torch.__version__.split('+')[0]
    assert error.count('\n') == 1
    assert 'CUDA is not available (this torch is built without CUDA' in error
    assert f"pip install --force-reinstall 'torch=={version}'" in error
