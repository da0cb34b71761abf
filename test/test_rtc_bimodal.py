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
Real-time chunking on a policy whose chunks really disagree (rtc_bimodal_task.py).

The policy is the fixture test/data/rtc_bimodal_policy.safetensors, a tiny PI0.5 trained by
flow matching on the over-or-under reaching task (`bench/rtc_bimodal.py --write-fixture`,
6000 steps, 3-6 minutes on this CPU). The first test reruns the start of its training and
checks the losses are the ones the fixture recorded, and that the fixture has learnt the task
far beyond that start; the others check it is bimodal, then run 16 episodes in closed loop at
200 ms delay (4 rows of 50 ms), splice only vs RTC (the runtime's guided chunks, which the
executor continues without a blend).
"""

import numpy as np
import pytest
import rtc_bimodal_task as task
import torch

DELAY_ROWS = 4  # 200 ms at 20 Hz
EPISODES = 16


@pytest.fixture(scope='module')
def fixture():
    return task.load_policy(task.FIXTURE)


@pytest.fixture(scope='module')
def policy(fixture):
    return fixture[0]


@pytest.fixture(scope='module')
def runs(policy):
    """Run the same episodes (seed, noise draws) with splice only and with RTC."""
    torch.set_num_threads(1)
    return {rtc: task.simulate(policy, EPISODES, DELAY_ROWS, rtc, seed=3, tick_ns=4 * task.MS)
            for rtc in (False, True)}


def test_fixture_is_the_training_code_s_output(fixture):
    model, metadata = fixture
    recipe = metadata['recipe']
    assert recipe == task.FIXTURE_RECIPE
    assert task.FIXTURE.stat().st_size < 1_000_000
    torch.set_num_threads(1)
    start, losses = task.train_policy(**recipe, stop_after=task.CURVE_STEPS)
    # the same run, step for step (float32 on another CPU may differ in the last bits)
    np.testing.assert_allclose(losses, metadata['first_losses'], rtol=2e-3)
    trained, early = task.flow_loss(model), task.flow_loss(start)
    # measured: fixture 0.012, after 40 steps 2.26 (losses equal to the recorded ones here)
    assert trained < 0.03 and trained < 0.05 * early


def test_plain_sampling_is_bimodal_where_the_path_is_straight(policy):
    for x in (-1.0, -0.8):  # the detour starts at x = -0.8
        sides = task.sample_sides(policy, (x, 0.0), 100, seed=5)
        over, under = int((sides > 0).sum()), int((sides < 0).sum())
        # measured: (-1.0) 49 over / 51 under, (-0.8) 50 / 50
        assert over >= 20 and under >= 20, (x, over, under)
    # on the detour the state decides: no more choice
    assert (task.sample_sides(policy, (-0.3, 0.35), 50, seed=5) > 0).all()
    assert (task.sample_sides(policy, (-0.3, -0.35), 50, seed=5) < 0).all()


def test_rtc_removes_disagreement_between_consecutive_chunks(runs):
    plain, rtc = runs[False], runs[True]
    assert sum(e.guided for e in plain) == 0 and sum(e.continued for e in plain) == 0
    # 14 of 15 chunks guided (the first has no previous one), 13 continued without a blend;
    # measured: at least 12 and 10 in every episode
    counts = [(e.guided, e.continued) for e in rtc]
    assert all(guided >= 12 and continued >= 10 for guided, continued in counts), counts
    splice = np.concatenate([e.disagreement for e in plain])
    guided = np.concatenate([e.disagreement for e in rtc])
    # measured: mean 0.127 m (splice) vs 0.047 m (RTC), median 0.026 vs 0.017 (within a side
    # the chunks differ by the policy's own jitter)
    assert guided.mean() < 0.5 * splice.mean(), (guided.mean(), splice.mean())
    assert np.median(guided) < 0.8 * np.median(splice)


def test_rtc_keeps_the_side_the_robot_took(runs):
    plain, rtc = runs[False], runs[True]
    flips_plain = sum(e.chunk_flips for e in plain)
    flips_rtc = sum(e.chunk_flips for e in rtc)
    # measured: 29 flips with splice only, 4 with RTC; 10 and 16 of 16 episodes completed
    assert flips_plain >= 15, flips_plain
    assert flips_rtc <= flips_plain // 4, (flips_rtc, flips_plain)
    completed_plain = sum(e.completed for e in plain)
    completed_rtc = sum(e.completed for e in rtc)
    assert completed_rtc >= EPISODES - 1 and completed_rtc >= completed_plain + 3, (
        completed_rtc, completed_plain)
    assert not any(e.collided for e in rtc)
