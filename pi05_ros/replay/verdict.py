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
The replay verdict: whether the policy beats the baselines on this bag, and how sure that is.

For each metric the policy and a baseline are compared chunk by chunk (paired: the same chunk
times). The difference ``policy - baseline`` is averaged over the chunks, and a 95% confidence
interval of that mean comes from a circular block bootstrap with a fixed seed. Consecutive
chunks overlap (a 2.5 s horizon at 5 Hz: 13 chunks see the same motion), so their errors are not
independent; blocks of consecutive chunks are resampled together: the chunks in one horizon,
or more where the differences are still correlated after that (:func:`decorrelation_lag`), and
fewer than ``MIN_BLOCKS`` blocks is "too few chunks to conclude". The policy is
better when the whole interval is below zero, worse when it is above, and otherwise neither is
shown. Nothing here reads a clock or a global random state: the same inputs give the same text.
"""

from dataclasses import asdict, dataclass
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

MIN_BLOCKS = 10  # independent blocks needed before any better/worse claim
RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
BETTER, WORSE, UNCLEAR, TOO_FEW, NO_DATA = 'better', 'worse', 'no clear difference', \
    'too few chunks', 'no data'


@dataclass(frozen=True)
class Comparison:
    """The paired comparison of the policy with one baseline on one metric."""

    outcome: str  # BETTER, WORSE, UNCLEAR, TOO_FEW or NO_DATA
    num: int  # chunks with a value for both
    block: int  # chunks per bootstrap block (one horizon, or the decorrelation lag if longer)
    min_blocks: int
    mean_difference: Optional[float] = None  # mean of policy - baseline
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    policy_lower: int = 0  # chunks on which the policy's value is below the baseline's

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def _values(x: Sequence[Optional[float]]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in x], dtype=np.float64)


def decorrelation_lag(values: np.ndarray) -> int:
    """
    Return the first lag at which ``values`` (N,) no longer look correlated with themselves.

    The smallest k >= 1 whose sample autocorrelation is below 2 / sqrt(N), the 95 % band of
    white noise; N when none is (a series that never decorrelates within itself), 1 for fewer
    than three values or a constant series.
    """
    n = values.size
    centred = values - values.mean()
    power = float(centred @ centred)
    if n < 3 or power == 0.0:
        return 1
    band = 2.0 / math.sqrt(n)
    for lag in range(1, n):
        if float(centred[:-lag] @ centred[lag:]) / power < band:
            return lag
    return n


def block_bootstrap_means(values: np.ndarray, block: int, resamples: int,
                          seed: int) -> np.ndarray:
    """(resamples,) means of circular block-bootstrap resamples of ``values`` (N,)."""
    n = values.size
    block = max(1, min(int(block), n))
    blocks = int(math.ceil(n / block))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(resamples, blocks))  # (R, B)
    index = (starts[:, :, None] + np.arange(block)[None, None, :]) % n  # (R, B, L)
    return values[index.reshape(resamples, -1)[:, :n]].mean(axis=1)  # (R,)


def paired_comparison(policy: Sequence[Optional[float]], baseline: Sequence[Optional[float]],
                      block: int = 1, min_blocks: int = MIN_BLOCKS, seed: int = SEED,
                      resamples: int = RESAMPLES, level: float = LEVEL) -> Comparison:
    """
    Compare per-chunk values (lower is better) of the policy and a baseline, paired by chunk.

    Chunks where either value is None or NaN are left out. ``block`` (one horizon of chunks)
    is the shortest block; it grows to the differences' :func:`decorrelation_lag` where that is
    longer. The outcome is TOO_FEW when the chunks make fewer than ``min_blocks`` blocks; the
    interval is still computed.
    """
    a, b = _values(policy), _values(baseline)
    if a.shape != b.shape:
        raise ValueError(f'baseline: expected {a.size} per-chunk values (one per policy chunk), '
                         f'got {b.size}')
    both = np.isfinite(a) & np.isfinite(b)
    difference = a[both] - b[both]
    n = int(difference.size)
    if n == 0:
        return Comparison(NO_DATA, 0, max(1, int(block)), min_blocks)
    block = max(1, int(block), decorrelation_lag(difference))
    means = block_bootstrap_means(difference, block, resamples, seed)
    tail = 100 * (1 - level) / 2
    low, high = (float(v) for v in np.percentile(means, [tail, 100 - tail]))
    if n // block < min_blocks:
        outcome = TOO_FEW
    elif high < 0:
        outcome = BETTER
    elif low > 0:
        outcome = WORSE
    else:
        outcome = UNCLEAR
    return Comparison(outcome, n, block, min_blocks, float(difference.mean()), low, high,
                      int(np.sum(difference < 0)))


def _join(labels: Sequence[str]) -> str:
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ', '.join(labels[:-1]) + ' and ' + labels[-1]


def _num(value: Optional[float]) -> str:
    return 'n/a' if value is None or not math.isfinite(value) else f'{value:.4g}'


def headline(compared: Sequence[Tuple[str, Comparison]]) -> str:
    """Return what the comparisons support, in a few words ('better than all 3 baselines')."""
    usable = [(label, c) for label, c in compared if c.outcome != NO_DATA]
    if not usable:
        return 'no chunk with truth to compare'
    first = usable[0][1]
    if any(c.outcome == TOO_FEW for _, c in usable):
        horizons = first.num // first.block
        return (f'too few chunks to conclude: {first.num} chunks make {horizons} independent '
                f'block{"s" if horizons != 1 else ""} of {first.block} consecutive chunks (one '
                'horizon, or longer where their errors stay correlated); at least '
                f'{first.min_blocks} are needed ({first.min_blocks * first.block} chunks)')
    better = [label for label, c in usable if c.outcome == BETTER]
    if len(better) == len(usable):
        return (f'better than all {len(usable)} baselines' if len(usable) > 1
                else f'better than {better[0]}')
    worse = [label for label, c in usable if c.outcome == WORSE]
    unclear = [label for label, c in usable if c.outcome == UNCLEAR]
    parts = []
    if worse:
        parts.append(f'worse than {_join(worse)}')
    if unclear:
        parts.append(f'not shown better or worse than {_join(unclear)}')
    text = 'not better than ' + _join(worse + unclear) + ' (' + '; '.join(parts) + ')'
    return text + (f'; better than {_join(better)}' if better else '')


def verdict_line(metric: str, unit: str, policy_value: Optional[float],
                 compared: Sequence[Tuple[str, Optional[float], Comparison]]) -> str:
    """One line: the headline, then the policy's and every baseline's value with the interval."""
    details = []
    for label, value, c in compared:
        if c.outcome == NO_DATA:
            details.append(f'{label} {_num(value)}')
            continue
        details.append(f'{label} {_num(value)} (policy - baseline {c.mean_difference:+.3g}, '
                       f'95% CI {c.ci_low:+.3g} to {c.ci_high:+.3g}; policy lower on '
                       f'{c.policy_lower} of {c.num} chunks)')
    head = headline([(label, c) for label, _, c in compared])
    return f'{metric}: {head}. Policy {_num(policy_value)} {unit}; ' + '; '.join(details) + '.'


# (key, page label, unit, where the policy's per-chunk values and overall value are)
METRICS = (('prediction_mae', 'prediction MAE', 'rad'),
           ('prediction_rmse', 'prediction RMSE', 'rad'),
           ('executed_mae', 'executed MAE', 'rad'))


def _series(metrics: Mapping, baseline: Optional[str], key: str):
    """(per-chunk values, overall value) of the policy (baseline None) or a baseline."""
    if key.startswith('prediction'):
        stat = key.split('_')[1]
        source = (metrics.get('prediction', {}) if baseline is None
                  else metrics['baselines'][baseline].get('prediction', {}))
        return source.get('per_chunk', {}).get(stat), source.get(stat)
    if baseline is None:
        per_window = metrics['baselines'].get('policy', {}).get('executed_per_window', {})
        return per_window.get('mae'), metrics.get('executed', {}).get('error', {}).get('mae')
    executed = metrics['baselines'][baseline].get('executed', {})
    return executed.get('per_window', {}).get('mae'), executed.get('error', {}).get('mae')


def verdicts(metrics: Mapping, seed: int = SEED) -> Dict[str, object]:
    """
    Return the verdict of a replay's metrics: one line per metric, the comparisons and an answer.

    ``metrics`` is what :func:`pi05_ros.replay.evaluate.run_replay` returns (with
    ``baselines``). The delayed recording is left out when no chunk was delayed (it is then
    the truth itself).
    """
    scored = metrics.get('baselines') or {}
    names = [n for n in scored.get('names', [])
             if not (n == 'delayed_recording' and scored.get('no_delay'))]
    block = int(scored.get('overlap_block', 1))
    lines: List[str] = []
    comparisons: Dict[str, Dict[str, object]] = {}
    for key, label, unit in METRICS:
        policy_chunks, policy_value = _series(metrics, None, key)
        if policy_chunks is None:
            continue
        compared = []
        for name in names:
            chunks, value = _series(metrics, name, key)
            compared.append((scored[name]['label'], value,
                             paired_comparison(policy_chunks, chunks or [None] * len(
                                 policy_chunks), block, seed=seed)))
        lines.append(verdict_line(label, unit, policy_value, compared))
        comparisons[key] = {name: c.as_dict() for name, (_, _, c) in zip(names, compared)}
    notes = []
    if scored.get('no_delay'):
        notes.append('The delayed recording is left out: with no inference delay it is the '
                     'truth itself.')
    return {'lines': lines, 'comparisons': comparisons, 'notes': notes,
            'answer': answer(metrics, comparisons.get('prediction_mae', {}), scored)}


def answer(metrics: Mapping, prediction: Mapping[str, Mapping], scored: Mapping) -> str:
    """Answer 'should I try this checkpoint on my robot?' from what this bag supports."""
    limits = metrics.get('executed', {}).get('limits') or {}
    warning = ''
    if limits.get('ticks_above_any'):
        warning = (f' {limits["ticks_above_any"]} executed ticks were above a limit: fix the '
                   'limits or executor settings before any live run.')
    rules = [n for n in ('hold_position', 'constant_velocity') if n in prediction]
    if not rules:
        return 'No chunk was scored: nothing to judge.' + warning
    outcomes = {n: prediction[n]['outcome'] for n in rules}
    labels = {n: scored[n]['label'] for n in rules}
    if any(o == TOO_FEW for o in outcomes.values()):
        c = prediction[rules[0]]
        return ('Not enough data to say: replay a longer recording (at least '
                f'{c["min_blocks"] * c["block"]} chunks, here {c["num"]}).' + warning)
    if all(o == BETTER for o in outcomes.values()):
        return ('On this bag the policy predicts the recorded motion better than holding still '
                'and than continuing the current velocity: the replay supports a first live run '
                'with tight limits and a hand on the stop.' + warning)
    losers = _join([labels[n] for n in rules if outcomes[n] != BETTER])
    return (f'On this bag the policy is not better than {losers}: a robot running it would '
            'follow this recording no better than that simple rule. Check the profile, norm '
            'stats, prompt and camera wiring, or try another recording, before a live run.'
            + warning)
