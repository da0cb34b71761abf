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

"""Normalization from openpi norm_stats.json, checked against hand-computed values."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from pi05_ros.policy.normalize import (load_norm_stats, Normalizer, NormStats, NormStatsError,
                                       parse_norm_stats, save_norm_stats)
import pytest

STATS_JSON = {'norm_stats': {
    'state': {'mean': [0.5, -1.0], 'std': [2.0, 0.5], 'q01': [-1.0, 0.0], 'q99': [3.0, 0.5]},
    'actions': {'mean': [0.0, 1.0, 2.0], 'std': [1.0, 1.0, 4.0], 'q01': [-2.0, 0.0, 1.0],
                'q99': [2.0, 4.0, 3.0]},
}}


def make(mode='quantile', convention='openpi'):
    return Normalizer(parse_norm_stats(STATS_JSON), mode, convention=convention)


def test_quantile_matches_hand_computation():
    # (x - q01) / (q99 - q01 + 1e-6) * 2 - 1
    y = make().normalize('state', np.array([1.0, 0.25]))
    assert y[0] == pytest.approx((1.0 + 1.0) / (4.0 + 1e-6) * 2 - 1, abs=1e-15)
    assert y[1] == pytest.approx(0.25 / (0.5 + 1e-6) * 2 - 1, abs=1e-15)
    # q01 -> -1 and q99 -> ~1 (the epsilon shortens the range by 1e-6 relative)
    assert make().normalize('state', np.array([-1.0, 0.0])).tolist() == [-1.0, -1.0]


def test_zscore_matches_hand_computation():
    y = make('zscore').normalize('state', np.array([4.5, 0.0]))
    assert y == pytest.approx([4.0 / (2.0 + 1e-6), 1.0 / (0.5 + 1e-6)], abs=1e-15)


def test_dimensions_beyond_the_stats_pass_through():
    x = np.array([[0.0, 0.5, -0.5, 7.0, -3.0]])  # 3 stats dims + 2 padding dims
    for mode in ('quantile', 'zscore'):
        out = make(mode).unnormalize('actions', x)
        assert out[0, 3:].tolist() == [7.0, -3.0]
        assert not np.allclose(out[0, :3], x[0, :3])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=3, max_size=3), st.sampled_from(['quantile', 'zscore']),
       st.sampled_from(['openpi', 'lerobot']))
def test_unnormalize_inverts_normalize(values, mode, convention):
    normalizer = make(mode, convention)
    x = np.array(values)
    assert normalizer.unnormalize('actions', normalizer.normalize('actions', x)) == \
        pytest.approx(x, abs=1e-9)


def test_lerobot_convention_only_guards_zero_ranges():
    stats = parse_norm_stats({'state': {'q01': [0.0, 1.0], 'q99': [2.0, 1.0]},
                              'actions': {'q01': [0.0], 'q99': [1.0]}})
    normalizer = Normalizer(stats, 'quantile', convention='lerobot')
    y = normalizer.normalize('state', np.array([1.5, 1.0]))
    assert y[0] == pytest.approx(2 * 1.5 / 2.0 - 1, abs=1e-15)  # no epsilon on a real range
    assert y[1] == -1.0  # zero range: divided by 1e-8 instead of 0


def test_missing_key_or_field_names_it(tmp_path):
    with pytest.raises(NormStatsError, match='norm_stats.actions missing'):
        Normalizer(parse_norm_stats({'state': STATS_JSON['norm_stats']['state']}))
    partial = {'state': {'mean': [0.0], 'std': [1.0]}, 'actions': {'mean': [0.0], 'std': [1.0]}}
    with pytest.raises(NormStatsError, match=r'norm_stats.state.q01: missing'):
        Normalizer(parse_norm_stats(partial), 'quantile')
    Normalizer(parse_norm_stats(partial), 'zscore')  # z-score needs only mean/std
    with pytest.raises(NormStatsError, match=r'norm_stats.state.q99: expected length 2'):
        parse_norm_stats({'state': {'q01': [0.0, 1.0], 'q99': [1.0]}})
    with pytest.raises(NormStatsError, match='no file'):
        load_norm_stats(tmp_path / 'absent.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(NormStatsError, match='not valid JSON'):
        load_norm_stats(bad)


def test_file_round_trip_in_openpi_layout(tmp_path):
    path = tmp_path / 'norm_stats.json'
    path.write_text(json.dumps(STATS_JSON))
    stats = load_norm_stats(path)
    assert stats['actions'].q99.tolist() == [2.0, 4.0, 3.0]
    save_norm_stats(tmp_path / 'copy.json', stats)
    assert json.loads((tmp_path / 'copy.json').read_text()) == STATS_JSON
    assert isinstance(load_norm_stats(tmp_path / 'copy.json')['state'], NormStats)
