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

"""The PI0.5 prompt tokenizer against openpi's PaligemmaTokenizer oracle."""

import json
import logging
import subprocess
import sys

import numpy as np
from pi05_ros.policy.tokenizer import (clean_prompt, discretize_state, PromptTokenizer,
                                       PromptTooLongError, state_prompt_text)
import pytest


def oracle_cases(golden_dir):
    data = json.loads((golden_dir / 'tokenizer' / 'oracle.json').read_text())
    return data['cases']


def oracle_state(case):
    if case['state'] is None:
        return None
    raw = b''.join(bytes.fromhex(h) for h in case['state_float32_hex'])
    return np.frombuffer(raw, dtype='<f4')


def test_every_oracle_case_reproduced_exactly(golden_dir):
    model = golden_dir / 'tokenizer' / 'tokenizer.model'
    cases = oracle_cases(golden_dir)
    assert len(cases) >= 4
    for case in cases:
        state = oracle_state(case)
        fmt = 'text' if state is None else 'state'
        tokenizer = PromptTokenizer(model, int(case['max_len']), fmt, overflow='truncate')
        tokens, mask = tokenizer.tokenize(case['prompt'], state)
        assert tokens.dtype == np.int64 and mask.dtype == np.bool_, case['name']
        assert tokens.tolist() == case['tokens'], case['name']
        assert mask.tolist() == case['mask'], case['name']
        if state is not None:
            assert discretize_state(state).tolist() == case['discretized_state'], case['name']
            assert state_prompt_text(case['prompt'], state) == \
                case['sentencepiece_calls'][0]['text'], case['name']


class Records(logging.Handler):
    """Keep every record handed to this handler."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_truncation_is_logged_and_keeps_the_budget(golden_dir):
    case = next(c for c in oracle_cases(golden_dir) if c['name'] == 'p2_truncated')
    tokenizer = PromptTokenizer(golden_dir / 'tokenizer' / 'tokenizer.model',
                                int(case['max_len']), overflow='truncate')
    # a handler on the module's own logger: no dependence on propagation to the root logger
    # (launch_testing's pytest plugin imports launch, whose logger class does not propagate)
    handler, logger = Records(), logging.getLogger('pi05_ros.policy.tokenizer')
    logger.addHandler(handler)
    try:
        tokens, mask = tokenizer.tokenize(case['prompt'], oracle_state(case))
    finally:
        logger.removeHandler(handler)
    assert mask.all() and len(tokens) == int(case['max_len'])
    assert [r.levelno for r in handler.records if 'truncat' in r.getMessage()] == [logging.WARNING]


def test_truncation_warning_reaches_root_handlers_under_a_non_propagating_logger_class():
    # what launch does (launch.logging.LaunchLogger) before pi05_ros is imported
    code = (
        'import logging, sys\n'
        'class Quiet(logging.Logger):\n'
        '    def __init__(self, *a, **k):\n'
        '        super().__init__(*a, **k)\n'
        '        self.propagate = False\n'
        'logging.setLoggerClass(Quiet)\n'
        'logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")\n'
        'from pi05_ros.policy.tokenizer import pad_tokens\n'
        'pad_tokens(list(range(9)), 4, "truncate", "prompt")\n'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'WARNING prompt: 9 tokens exceed max_token_len=4; truncating' in result.stdout


def test_prompt_over_budget_raises_naming_prompt_by_default(golden_dir):
    case = next(c for c in oracle_cases(golden_dir) if c['name'] == 'p2_truncated')
    tokenizer = PromptTokenizer(golden_dir / 'tokenizer' / 'tokenizer.model',
                                int(case['max_len']))
    with pytest.raises(PromptTooLongError, match='prompt.*max_token_len=48'):
        tokenizer.tokenize(case['prompt'], oracle_state(case))


def test_prompt_cleaning_and_state_bins():
    assert clean_prompt('  Open_the top_drawer\nof it  ') == 'Open the top drawer of it'
    bins = discretize_state(np.array([-2.0, -1.0, -0.9921875, 0.0, 0.9921874, 0.9921875, 5.0]))
    assert bins.tolist() == [-1, 0, 1, 128, 254, 255, 255]


def test_state_format_needs_state_and_bad_inputs_name_the_field(golden_dir):
    tokenizer = PromptTokenizer(golden_dir / 'tokenizer' / 'tokenizer.model', 200)
    with pytest.raises(ValueError, match='state'):
        tokenizer.tokenize('pick it up', None)
    with pytest.raises(ValueError, match='state: expected finite'):
        tokenizer.tokenize('pick it up', np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match='prompt'):
        tokenizer.tokenize(b'bytes', np.zeros(2))
    with pytest.raises(ValueError, match='prompt_format'):
        PromptTokenizer(golden_dir / 'tokenizer' / 'tokenizer.model', 200, 'fast')
    with pytest.raises(FileNotFoundError, match='tokenizer model'):
        PromptTokenizer(golden_dir / 'no_such.model', 200)
