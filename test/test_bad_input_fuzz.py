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
Issue 15 fuzz: random bytes and truncations fed to the package's file readers.

Checkpoint weights (safetensors), norm stats, config.json and bags (mcap and sqlite3): whatever
the bytes, the reader either succeeds or raises one of the package's own ValueError subclasses
(never a library error, a UnicodeDecodeError, a TypeError ...). About 20 s in all.
"""

import json
from pathlib import Path
import shutil

from hypothesis import given, HealthCheck, settings, strategies as st
from pi05_ros.model.config import PI05Config
from pi05_ros.model.loading import load_pi05_weights, read_safetensors_header
from pi05_ros.model.pi05 import PI05Model
from pi05_ros.policy.checkpoint import read_model_config
from pi05_ros.policy.normalize import load_norm_stats
from pi05_ros.replay.bag_io import BagReader
from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag
import pytest

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def assert_only_package_errors(read) -> None:
    """Run ``read()``; an exception must be a ValueError subclass defined in pi05_ros."""
    try:
        read()
    except ValueError as err:
        assert type(err).__module__.startswith('pi05_ros.'), f'{type(err).__name__}: {err}'
        assert str(err) and '\n' not in str(err).strip(), repr(str(err))


@st.composite
def damaged(draw, good: bytes):
    """Return ``good`` truncated, overwritten with random bytes at a random place, or replaced."""
    kind = draw(st.sampled_from(['truncate', 'overwrite', 'random', 'insert']))
    if kind == 'random':
        return draw(st.binary(max_size=300))
    at = draw(st.integers(0, len(good)))
    if kind == 'truncate':
        return good[:at]
    patch = draw(st.binary(min_size=1, max_size=16))
    if kind == 'insert':
        return good[:at] + patch + good[at:]
    return good[:at] + patch + good[at + len(patch):]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('fuzz')


@pytest.fixture(scope='module')
def tiny(golden_dir):
    raw = (golden_dir / 'tiny' / 'config.json').read_bytes()
    config = PI05Config.from_dict(json.loads(raw))
    return config, PI05Model(config), (golden_dir / 'tiny' / 'model.safetensors').read_bytes(), raw


def header_region(weights: bytes) -> bytes:
    """Return the header and the first tensor bytes: damage there reaches every check."""
    return weights[:int.from_bytes(weights[:8], 'little') + 8 + 64]


@FUZZ
@given(data=st.data())
def test_weights_reader_raises_only_checkpoint_errors(tiny, workdir, data):
    config, model, weights, _ = tiny
    head = header_region(weights)
    path = workdir / 'model.safetensors'
    path.write_bytes(data.draw(damaged(head)) + weights[len(head):])
    assert_only_package_errors(lambda: read_safetensors_header(path))
    assert_only_package_errors(lambda: load_pi05_weights(model, path))


@FUZZ
@given(data=st.data())
def test_norm_stats_reader_raises_only_norm_stats_errors(workdir, data):
    good = json.dumps({'norm_stats': {k: {'mean': [0.1, 2.0], 'std': [1.0, 0.5],
                                          'q01': [-1.0, 0.0], 'q99': [1.0, 3.5]}
                                      for k in ('state', 'actions')}}).encode()
    path = workdir / 'norm_stats.json'
    path.write_bytes(data.draw(damaged(good)))
    assert_only_package_errors(lambda: load_norm_stats(path))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3), max_leaves=6)


@FUZZ
@given(data=st.data())
def test_config_reader_raises_only_package_errors(tiny, workdir, data):
    _, _, _, raw = tiny
    directory = workdir / 'config_dir'
    directory.mkdir(exist_ok=True)
    if data.draw(st.booleans()):
        text = data.draw(damaged(raw))
    else:  # valid JSON, one field (top level or in a tower) replaced by any JSON value
        config = json.loads(raw)
        section = data.draw(st.sampled_from([None, 'vlm', 'action_expert', 'vision']))
        target = config if section is None else config[section]
        target[data.draw(st.sampled_from(sorted(target)))] = data.draw(JSON_VALUES)
        text = json.dumps(config).encode()
    (directory / 'config.json').write_bytes(text)
    assert_only_package_errors(lambda: read_model_config(directory))


@pytest.fixture(scope='module')
def good_bags(workdir):
    spec = DemoBagSpec(joint_names=('j1', 'j2'), camera_topics={'cam': '/cam/image_raw'},
                       camera_frames=2)
    return {storage: write_demo_bag(workdir / f'good_{storage}', spec, storage=storage)
            for storage in ('mcap', 'sqlite3')}


@FUZZ
@given(data=st.data())
def test_bag_reader_raises_only_bag_errors(good_bags, workdir, data):
    storage = data.draw(st.sampled_from(sorted(good_bags)))
    source = good_bags[storage]
    bag = workdir / 'fuzzed_bag'
    if bag.exists():
        shutil.rmtree(bag)
    shutil.copytree(source, bag)
    files = sorted(p.name for p in bag.iterdir())
    target = bag / data.draw(st.sampled_from(files))
    target.write_bytes(data.draw(damaged(target.read_bytes())))

    def read():
        with BagReader(bag) as reader:
            for _ in reader.messages(sorted(reader.topics)):
                pass

    assert_only_package_errors(read)


@FUZZ
@given(data=st.data())
def test_profile_reader_raises_only_profile_errors(workdir, data):
    from pi05_ros.policy.profiles import load_profile, profile_path
    import yaml

    good = profile_path('demo').read_bytes()
    if data.draw(st.booleans()):
        text = data.draw(damaged(good))
    else:  # valid YAML, one top-level field replaced by any JSON-like value
        profile = yaml.safe_load(good)
        profile[data.draw(st.sampled_from(sorted(profile)))] = data.draw(JSON_VALUES)
        text = yaml.safe_dump(profile).encode()
    path = workdir / 'profile.yaml'
    path.write_bytes(text)
    assert_only_package_errors(lambda: load_profile(path))


@pytest.fixture(scope='module')
def lerobot_dir(workdir):
    """Return a LeRobot pi05 directory: config.json and both processor pipelines with stats."""
    from test_policy_checkpoint import write_lerobot_checkpoint

    directory = workdir / 'lerobot_good'
    directory.mkdir()
    return write_lerobot_checkpoint(directory)


@FUZZ
@given(data=st.data())
def test_lerobot_files_raise_only_package_errors(lerobot_dir, workdir, data):
    from pi05_ros.policy.checkpoint import open_checkpoint

    directory = workdir / 'lerobot_fuzzed'
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(lerobot_dir, directory)
    names = sorted(p.name for p in directory.iterdir()
                   if p.name not in ('model.safetensors', 'tokenizer.model'))
    target = directory / data.draw(st.sampled_from(names))
    if target.suffix == '.json' and data.draw(st.booleans()):
        content = json.loads(target.read_bytes())
        key = data.draw(st.sampled_from(sorted(content)))
        content[key] = data.draw(JSON_VALUES)
        target.write_text(json.dumps(content))
    else:
        target.write_bytes(data.draw(damaged(target.read_bytes())))
    assert_only_package_errors(lambda: open_checkpoint(directory, 'ignored'))
