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

"""Issue 15: a corrupt or wrongly typed model.safetensors is a CheckpointError naming the file."""

import json
import pickle
import zipfile

from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import (check_weights_file, CheckpointError, load_pi05_weights,
                                    read_safetensors_header)
from pi05_ros.model.pi05 import PI05Model
import pytest
from safetensors.torch import load_file, save_file
import torch


@pytest.fixture(scope='module')
def tiny(golden_dir):
    config = PI05Config.from_dict(json.loads((golden_dir / 'tiny' / 'config.json').read_text()))
    return config, golden_dir / 'tiny' / 'model.safetensors'


def corrupt_variants(good: bytes):
    yield 'half', good[:len(good) // 2]
    yield '10 bytes', good[:10]
    yield 'empty', b''
    yield 'non-JSON header', (20).to_bytes(8, 'little') + b'\xff' * 20 + good[28:]
    yield '2**62 header length', (2 ** 62).to_bytes(8, 'little') + good[8:]
    yield 'header is a list', (2).to_bytes(8, 'little') + b'[]'


@pytest.mark.parametrize('index', range(6))
def test_corrupt_file_is_a_checkpoint_error_naming_the_file(tiny, tmp_path, index):
    config, source = tiny
    name, data = list(corrupt_variants(source.read_bytes()))[index]
    path = tmp_path / 'model.safetensors'
    path.write_bytes(data)
    model = PI05Model(config)
    for load in (lambda: load_pi05_weights(model, path), lambda: check_weights_file(path, config)):
        with pytest.raises(CheckpointError) as info:
            load()
        message = str(info.value)
        assert str(path) in message and '\n' not in message, (name, message)
        assert 'safetensors' in message or 'truncated' in message, (name, message)


def test_pickle_and_torch_zip_under_the_name_say_pickle_is_never_loaded(tmp_path):
    pickled = tmp_path / 'pickled' / 'model.safetensors'
    pickled.parent.mkdir()
    pickled.write_bytes(pickle.dumps({'w': [1.0]}, protocol=4))
    zipped = tmp_path / 'zipped' / 'model.safetensors'
    zipped.parent.mkdir()
    with zipfile.ZipFile(zipped, 'w') as archive:
        archive.writestr('archive/data.pkl', b'x')
    for path, kind in ((pickled, 'Python pickle'), (zipped, 'torch.save zip archive')):
        with pytest.raises(CheckpointError, match=f'{path}: this is a {kind}, not safetensors; '
                           'pickled / torch.save checkpoints are deliberately never loaded'):
            read_safetensors_header(path)


@pytest.mark.parametrize('dtype, shown', [(torch.int32, 'int32'), (torch.bool, 'bool'),
                                          (torch.uint8, 'uint8')])
def test_integer_or_bool_tensor_is_refused_by_name(tiny, tmp_path, dtype, shown):
    config, source = tiny
    tensors = load_file(str(source))
    name = sorted(tensors)[3]
    tensors[name] = tensors[name].to(dtype)
    path = tmp_path / 'model.safetensors'
    save_file(tensors, str(path))
    expected = (f'{path}: checkpoint has 1 tensor\\(s\\) of a non-floating-point dtype: '
                f"'{name}'.* is {shown}, expected a floating-point dtype")
    with pytest.raises(CheckpointError, match=expected):
        check_weights_file(path, config)
    with pytest.raises(CheckpointError, match=f"'{name}'.* is {shown}, expected a floating-point"):
        load_pi05_weights(PI05Model(config), path)


def test_half_precision_tensors_still_load_as_documented(tiny, tmp_path):
    config, source = tiny
    tensors = {k: v.to(torch.bfloat16 if i % 2 else torch.float16)
               for i, (k, v) in enumerate(load_file(str(source)).items())}
    path = tmp_path / 'model.safetensors'
    save_file(tensors, str(path))
    check_weights_file(path, config)
    model = load_pi05_weights(PI05Model(config), path)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_header_check_against_the_wrong_architecture_names_file_and_note(tiny):
    config, source = tiny
    with pytest.raises(CheckpointError, match=f'{source}: checkpoint (is missing|has) .* '
                       'tensor\\(s\\).*expected .*; assumed X$'):
        check_weights_file(source, PI05Config.pi05(), note='; assumed X')
