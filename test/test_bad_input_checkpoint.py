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

"""Issue 15: bad config.json, norm_stats.json, tokenizer.model, _METADATA and checkpoint paths."""

import copy
import json
import shutil

from pi05_ros.model.config import ConfigError, PI05Config
from pi05_ros.model.loading import CheckpointError, save_pi05_weights
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.policy.checkpoint import (check_weights, CheckpointDirError, open_checkpoint,
                                        read_model_config)
from pi05_ros.policy.convert import main as convert_main
from pi05_ros.policy.normalize import load_norm_stats, NormStatsError
from pi05_ros.policy.tokenizer import PromptTokenizer, TokenizerError
import pytest


@pytest.fixture(scope='module')
def golden_config(golden_dir):
    return json.loads((golden_dir / 'tiny' / 'config.json').read_text())


def write_config(directory, data):
    (directory / 'config.json').write_text(json.dumps(data))
    return directory / 'config.json'


def edited(config, path, value):
    data = copy.deepcopy(config)
    *parents, last = path.split('.')
    target = data
    for name in parents:
        target = target[name]
    target[last] = value
    return data


@pytest.mark.parametrize('field, value, message', [
    ('rms_norm_eps', -1, r'vlm: GemmaConfig\.rms_norm_eps must be a finite number > 0, got -1'),
    ('rope_theta', 0, r'vlm: GemmaConfig\.rope_theta must be a finite number > 0, got 0'),
    ('vision.layer_norm_eps', -10,
     r'vision: VisionConfig\.layer_norm_eps must be a finite number > 0, got -10'),
    ('rms_norm_eps', 'abc', r"GemmaConfig\.rms_norm_eps must be a finite number > 0, got 'abc'"),
    ('rope_theta', float('inf'), r'vlm: GemmaConfig\.rope_theta must be a finite number > 0, '
     'got inf'),
    ('vlm.use_adarms', 'no', r'vlm: GemmaConfig\.use_adarms must be true or false'),
    ('vlm.num_kv_heads', 3, r'vlm: GemmaConfig\.num_heads \(8\) must be a multiple of '
     r'num_kv_heads \(3\)'),
    ('vision.num_attention_heads', 5, r'hidden_size \(32\) must be a multiple of '
     r'num_attention_heads \(5\)'),
    ('vocab_size', 0, r'PI05Config\.vocab_size must be a positive int, got 0'),
    ('vocab_size', 'abc', r"PI05Config\.vocab_size must be a positive int, got 'abc'"),
])
def test_numeric_config_values_are_validated_where_read(tmp_path, golden_config, field, value,
                                                        message):
    data = edited(golden_config, field, value)
    if field in ('rms_norm_eps', 'rope_theta'):  # the top-level copy is the one usually edited
        for tower in ('vlm', 'action_expert'):
            data[tower].pop(field)
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError, match=f'^{path}: .*{message}'):
        read_model_config(tmp_path)


@pytest.mark.parametrize('field, value, message', [
    ('vision', None, r'vision must be a JSON object, got NoneType None'),
    ('vlm', [1, 2], r'vlm must be a JSON object, got list \[1, 2\]'),
    ('image_keys_order', 5, r'image_keys_order must be a list of camera names, got 5'),
    ('action_horizon', None, r'PI05Config\.action_horizon must be a positive int, got None'),
    ('action_horizon', 'abc', r"PI05Config\.action_horizon must be a positive int, got 'abc'"),
    ('projector', 3, r'projector must be an object with in_dim and out_dim, got 3'),
])
def test_malformed_config_structure_is_a_config_error(tmp_path, golden_config, field, value,
                                                      message):
    path = write_config(tmp_path, edited(golden_config, field, value))
    with pytest.raises(ConfigError, match=f'^{path}: {message}$'):
        read_model_config(tmp_path)


@pytest.mark.parametrize('value', [None, 'abc', -3, 2.5])
def test_converter_format_action_horizon_is_validated(tmp_path, value):
    path = write_config(tmp_path, {'action_horizon': value, 'paligemma_variant': 'gemma_2b'})
    with pytest.raises(ConfigError, match=f'^{path}: PI05Config.action_horizon must be a '
                       'positive int'):
        read_model_config(tmp_path)


def test_binary_config_json_names_the_file(tmp_path):
    (tmp_path / 'model.safetensors').write_bytes(b'')
    (tmp_path / 'config.json').write_bytes(b'\x89PNG\r\n\x1a\n\xff\xfe')
    with pytest.raises(CheckpointDirError, match=f'^{tmp_path}/config.json: not a UTF-8 JSON text '
                       r"file \(byte 0 is b'\\x89'\)$"):
        open_checkpoint(tmp_path, 'droid')


def test_binary_or_string_norm_stats_name_the_file_and_key(tmp_path):
    path = tmp_path / 'norm_stats.json'
    path.write_bytes(b'\x00\xff\xfe')
    with pytest.raises(NormStatsError, match=f'^norm_stats: {path} is not a UTF-8 JSON text file'):
        load_norm_stats(path)
    for values in (['a', 1.0], ['1.5'], [True], [[1.0], 2.0], {'x': 1}):
        path.write_text(json.dumps({'norm_stats': {'state': {'q01': [0.0], 'q99': values}}}))
        with pytest.raises(NormStatsError, match=f'^{path}: norm_stats.state.q99: expected a 1-D '
                           'list of finite numbers'):
            load_norm_stats(path)


def test_garbage_tokenizer_model_is_a_tokenizer_error(tmp_path):
    path = tmp_path / 'tokenizer.model'
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(TokenizerError, match=f'^tokenizer model {path}: not a SentencePiece'):
        PromptTokenizer(path, 16)
    assert issubclass(TokenizerError, ValueError)


def test_convert_with_corrupt_metadata_names_the_file(golden_dir, tmp_path, capsys):
    pytest.importorskip('tensorstore')
    source = tmp_path / 'ckpt'
    shutil.copytree(golden_dir / 'jax_tiny' / 'pi05_tiny', source)
    metadata = source / 'params' / '_METADATA'
    metadata.chmod(0o644)
    for corrupt in (b'', b'{"tree_metadata": [1]}', b'\xff\xfe'):
        metadata.write_bytes(corrupt)
        assert convert_main([str(source), str(tmp_path / 'out')]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f'pi05-convert: error: {metadata}: ') and err.count('\n') == 1, err


@pytest.mark.parametrize('name', ['model.pt', 'model.pth', 'pytorch_model.bin'])
def test_pickle_checkpoint_file_says_it_is_never_loaded_and_how_to_convert(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b'\x80\x04K\x01.')
    with pytest.raises(CheckpointDirError) as info:
        open_checkpoint(path, 'droid')
    message = str(info.value)
    assert message.startswith(f'checkpoint {path}: a {path.suffix} file is a pickle checkpoint; '
                              'pickled / torch.save checkpoints are deliberately never loaded')
    assert 'save_file(' in message and 'no directory' not in message


def test_directory_without_config_json_is_refused_before_building_the_network(
        tmp_path, golden_config):
    config = PI05Config.from_dict(golden_config)
    save_pi05_weights(PI05Model(config), tmp_path / 'model.safetensors')
    (tmp_path / 'assets' / 'droid').mkdir(parents=True)
    (tmp_path / 'assets' / 'droid' / 'norm_stats.json').write_text(json.dumps({'norm_stats': {
        'state': {'q01': [0.0], 'q99': [1.0]}, 'actions': {'q01': [0.0], 'q99': [1.0]}}}))
    (tmp_path / 'tokenizer.model').write_bytes(b'sp')
    ckpt = open_checkpoint(tmp_path, 'droid')  # released architecture assumed
    with pytest.raises(CheckpointError, match=f'^{tmp_path}/model.safetensors: checkpoint .*; '
                       f'{tmp_path} has no config.json, so the released PI0.5 architecture was '
                       'assumed'):
        check_weights(ckpt)
    write_config(tmp_path, golden_config)
    check_weights(open_checkpoint(tmp_path, 'droid'))  # the right architecture: accepted


def test_convert_checks_destination_and_source_norm_stats_before_reading_weights(
        golden_dir, tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    source = golden_dir / 'jax_tiny' / 'pi05_tiny'
    assert convert_main([str(source), str(blocker / 'out')]) == 2
    assert capsys.readouterr().err == (f'pi05-convert: error: DST {blocker / "out"}: {blocker} '
                                       f'is not a directory, so {blocker / "out"} cannot be '
                                       'created\n')
    pytest.importorskip('tensorstore')
    copy_dir = tmp_path / 'ckpt'
    shutil.copytree(source, copy_dir)
    stats = copy_dir / 'assets' / 'bad' / 'norm_stats.json'
    stats.parent.mkdir(parents=True)
    stats.write_text('{"norm_stats": {"state": {"q01": ["a"]}}}')
    assert convert_main([str(copy_dir), str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'pi05-convert: error: {stats}: norm_stats.state.q01: expected a 1-D '
                          'list of finite numbers') and err.count('\n') == 1
    assert not (tmp_path / 'out').exists()


def test_policy_from_checkpoint_checks_the_weights_header_before_building(tmp_path):
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from pi05_ros.policy.runtime import Policy

    checkpoint = make_demo_checkpoint(tmp_path / 'ckpt', profile='demo', seed=0)
    (checkpoint / 'config.json').unlink()  # the released 3.6 B geometry would be built
    with pytest.raises(CheckpointError, match=f'{checkpoint} has no config.json, so the '
                       'released PI0.5 architecture was assumed'):
        Policy.from_checkpoint(checkpoint, 'demo', warmup=False)
