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

"""The verdict against the baselines: claims only what the chunks support."""

import numpy as np
from pi05_ros.replay import verdict
import pytest


def errors(n, level, spread=0.01, seed=1):
    return list(level + spread * np.random.default_rng(seed).standard_normal(n))


def test_clearly_better_worse_and_unclear():
    baseline = errors(200, 0.10)
    better = verdict.paired_comparison(errors(200, 0.05, seed=2), baseline)
    worse = verdict.paired_comparison(errors(200, 0.15, seed=3), baseline)
    same = verdict.paired_comparison(errors(200, 0.10, seed=4), baseline)
    assert better.outcome == verdict.BETTER and better.ci_high < 0
    assert better.mean_difference == pytest.approx(-0.05, abs=0.005)
    assert better.policy_lower > 190
    assert worse.outcome == verdict.WORSE and worse.ci_low > 0
    assert same.outcome == verdict.UNCLEAR and same.ci_low < 0 < same.ci_high


def test_the_same_inputs_give_the_same_interval():
    a, b = errors(100, 0.1, seed=5), errors(100, 0.1, seed=6)
    assert verdict.paired_comparison(a, b, block=3) == verdict.paired_comparison(a, b, block=3)


def test_overlapping_chunks_are_not_counted_as_independent_evidence():
    """13 chunks per horizon repeat one error: 10 horizons of data, not 130 chunks."""
    rng = np.random.default_rng(7)
    per_horizon = 0.004 + 0.01 * rng.standard_normal(10)
    difference = np.repeat(per_horizon, 13)
    as_if_iid = verdict.block_bootstrap_means(difference, 1, 2000, 0)
    blocked = verdict.paired_comparison(difference, np.zeros(130), block=13)
    low, high = np.percentile(as_if_iid, [2.5, 97.5])
    assert blocked.ci_high - blocked.ci_low > 2 * (high - low)
    assert verdict.paired_comparison(difference[:117], np.zeros(117), block=13).outcome == \
        verdict.TOO_FEW  # 9 horizons
    # told nothing of the horizon, the block still grows to where the errors decorrelate
    assert verdict.paired_comparison(difference, np.zeros(130), block=1).block >= 10


def test_the_block_grows_to_the_decorrelation_lag_of_the_differences():
    rng = np.random.default_rng(3)
    white = rng.standard_normal(400)
    assert verdict.decorrelation_lag(white) == 1
    assert verdict.paired_comparison(list(0.1 + 0.01 * white), [0.1] * 400, block=5).block == 5
    drifting = np.zeros(400)  # AR(1), phi 0.9: correlated for ~20 chunks
    for k in range(1, 400):
        drifting[k] = 0.9 * drifting[k - 1] + white[k]
    lag = verdict.decorrelation_lag(drifting)
    assert 10 <= lag <= 40, lag
    compared = verdict.paired_comparison(list(0.01 * drifting), [0.0] * 400, block=5)
    assert compared.block == lag and compared.num // compared.block < 40
    assert verdict.decorrelation_lag(np.ones(10)) == 1 == verdict.decorrelation_lag(np.ones(2))


def test_missing_values_are_left_out_and_no_data_says_so():
    c = verdict.paired_comparison([0.1, None, float('nan'), 0.2], [0.2, 0.1, 0.1, None])
    assert c.num == 1 and c.outcome == verdict.TOO_FEW
    assert verdict.paired_comparison([None], [0.1]).outcome == verdict.NO_DATA
    with pytest.raises(ValueError, match='expected 2 per-chunk values'):
        verdict.paired_comparison([0.1, 0.2], [0.1])


def fake_metrics(policy, hold, velocity, delayed, block=1, no_delay=False, above=0):
    def entry(label, per_chunk):
        return {'label': label,
                'prediction': {'mae': float(np.mean(per_chunk)),
                               'rmse': float(np.mean(per_chunk)),
                               'per_chunk': {'mae': per_chunk, 'rmse': per_chunk}},
                'executed': {'error': {'mae': float(np.mean(per_chunk))},
                             'per_window': {'mae': per_chunk}}}
    return {
        'prediction': {'mae': float(np.mean(policy)), 'rmse': float(np.mean(policy)),
                       'per_chunk': {'mae': policy, 'rmse': policy}},
        'executed': {'error': {'mae': float(np.mean(policy))},
                     'limits': {'ticks': 600, 'ticks_above_any': above}},
        'baselines': {
            'names': ['hold_position', 'constant_velocity', 'delayed_recording'],
            'overlap_block': block, 'no_delay': no_delay,
            'policy': {'executed_per_window': {'mae': policy}},
            'hold_position': entry('hold position', hold),
            'constant_velocity': entry('constant velocity', velocity),
            'delayed_recording': entry('recording, delayed 90 ms', delayed)}}


def test_verdict_lines_for_a_policy_better_than_every_baseline():
    result = verdict.verdicts(fake_metrics(errors(150, 0.02, seed=1), errors(150, 0.2, seed=2),
                                           errors(150, 0.1, seed=3), errors(150, 0.05, seed=4)))
    assert len(result['lines']) == 3
    assert result['lines'][0].startswith('prediction MAE: better than all 3 baselines. Policy ')
    assert 'hold position 0.2' in result['lines'][0]
    assert 'policy lower on 150 of 150 chunks' in result['lines'][0]
    assert result['lines'][2].startswith('executed MAE: better than all 3 baselines')
    assert result['answer'].startswith('On this bag the policy predicts the recorded motion '
                                       'better than holding still')


def test_verdict_for_a_policy_no_better_than_holding_still():
    result = verdict.verdicts(fake_metrics(errors(150, 0.2, seed=1), errors(150, 0.1, seed=2),
                                           errors(150, 0.2, seed=3), errors(150, 0.3, seed=4),
                                           above=7))
    line = result['lines'][0]
    assert line.startswith('prediction MAE: not better than hold position and constant '
                           'velocity (worse than hold position; not shown better or worse '
                           'than constant velocity); better than recording, delayed 90 ms.')
    assert result['comparisons']['prediction_mae']['hold_position']['outcome'] == 'worse'
    assert 'not better than hold position and constant velocity' in result['answer']
    assert '7 executed ticks were above a limit' in result['answer']


def test_too_few_chunks_is_said_and_nothing_more_is_claimed():
    """The demo: 30 chunks with a 2.5 s horizon at 5 Hz are two independent horizons."""
    result = verdict.verdicts(fake_metrics(errors(30, 0.2), errors(30, 0.05, seed=2),
                                           errors(30, 0.05, seed=3), errors(30, 0.05, seed=4),
                                           block=13))
    for line in result['lines']:
        assert (': too few chunks to conclude: 30 chunks make 2 independent blocks of 13 '
                'consecutive chunks (one horizon, or longer where their errors stay '
                'correlated); at least 10 are needed (130 chunks).') in line
        assert 'better than' not in line and 'worse than' not in line
    assert result['answer'] == ('Not enough data to say: replay a longer recording (at least '
                                '130 chunks, here 30).')


def test_the_delayed_recording_is_left_out_without_a_delay():
    result = verdict.verdicts(fake_metrics(errors(150, 0.02), errors(150, 0.2, seed=2),
                                           errors(150, 0.1, seed=3), [0.0] * 150,
                                           no_delay=True))
    assert result['lines'][0].startswith('prediction MAE: better than all 2 baselines')
    assert 'delayed' not in result['lines'][0]
    assert 'delayed_recording' not in result['comparisons']['prediction_mae']
    assert result['notes'] == ['The delayed recording is left out: with no inference delay it '
                               'is the truth itself.']
