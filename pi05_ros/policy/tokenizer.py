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

r"""
The PI0.5 prompt: text cleaning, discretized state, SentencePiece ids, padding and mask.

Two prompt formats exist in openpi:

* ``state`` (PI0.5 default): ``'Task: {cleaned}, State: {d_1 ... d_n};\nAction: '`` encoded once
  with BOS, where ``d_i`` is the normalized state discretized into 256 bins over [-1, 1];
* ``text`` (used by pi05_libero, ``discrete_state_input=False``): ``encode(cleaned, bos) +
  encode('\n')``.

Padding uses id 0 with mask False; a prompt longer than ``max_len`` is either truncated (logged
with a warning, the mask then all True) or rejected with :class:`PromptTooLongError`.
"""

import logging
import os
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
import sentencepiece

PROMPT_FORMATS = ('state', 'text')
OVERFLOW_POLICIES = ('error', 'truncate')
STATE_BINS = 256
PAD_ID = 0

logger = logging.getLogger(__name__)
# a replaced logger class may not propagate (launch's LaunchLogger): the warning must reach
# the application's handlers all the same
logger.propagate = True


class PromptTooLongError(ValueError):
    """The tokenized prompt does not fit in the model's token budget."""


class TokenizerError(ValueError):
    """A tokenizer model file is not a SentencePiece model."""


def clean_prompt(prompt: str) -> str:
    """Clean a prompt like openpi: strip, then '_' and newlines become spaces (no lowercasing)."""
    return prompt.strip().replace('_', ' ').replace('\n', ' ')


def discretize_state(state: np.ndarray) -> np.ndarray:
    """
    (D,) normalized state -> (D,) int64 bin index in [-1, 255] (256 bins over [-1, 1]).

    Values below -1 give -1 and values at or above 1 - 1/128 give 255, exactly like
    ``np.digitize(state, linspace(-1, 1, 257)[:-1]) - 1`` in openpi.
    """
    state = np.asarray(state)
    if state.ndim != 1:
        raise ValueError(f'state: expected a 1-D vector, got shape {state.shape}')
    if not np.all(np.isfinite(state)):
        raise ValueError(f'state: expected finite values, got {state.tolist()}')
    bins = np.linspace(-1.0, 1.0, STATE_BINS + 1)[:-1]
    return (np.digitize(state, bins=bins) - 1).astype(np.int64)


def state_prompt_text(prompt: str, state: np.ndarray) -> str:
    r"""Return the exact string PI0.5 encodes: ``'Task: ..., State: ...;\nAction: '``."""
    state_str = ' '.join(str(int(d)) for d in discretize_state(state))
    return f'Task: {clean_prompt(prompt)}, State: {state_str};\nAction: '


def pad_tokens(ids: List[int], max_len: int, overflow: str = 'truncate',
               field: str = 'prompt') -> Tuple[np.ndarray, np.ndarray]:
    """Pad (id 0, mask False) or truncate ``ids`` to ``max_len``: (tokens int64, mask bool)."""
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(f'overflow: expected one of {OVERFLOW_POLICIES}, got {overflow!r}')
    n = len(ids)
    if n > max_len:
        if overflow == 'error':
            raise PromptTooLongError(
                f'{field}: tokenizes to {n} tokens, over the token budget max_token_len='
                f'{max_len}; shorten the prompt or allow truncation')
        logger.warning('%s: %d tokens exceed max_token_len=%d; truncating to %d tokens',
                       field, n, max_len, max_len)
        return np.asarray(ids[:max_len], dtype=np.int64), np.ones(max_len, dtype=bool)
    tokens = np.full(max_len, PAD_ID, dtype=np.int64)
    tokens[:n] = ids
    mask = np.zeros(max_len, dtype=bool)
    mask[:n] = True
    return tokens, mask


class PromptTokenizer:
    """
    PaliGemma SentencePiece tokenizer with the PI0.5 prompt formats.

    :param model_path: a SentencePiece ``.model`` file (``paligemma_tokenizer.model`` for real
        checkpoints).
    :param max_len: the model's token budget (``max_token_len``; 200 for released PI0.5).
    :param prompt_format: ``'state'`` (discretized state in the prompt) or ``'text'``.
    :param overflow: ``'error'`` raises :class:`PromptTooLongError`; ``'truncate'`` logs a
        warning and keeps the first ``max_len`` tokens (openpi's behaviour).
    """

    def __init__(self, model_path: Union[str, Path], max_len: int, prompt_format: str = 'state',
                 overflow: str = 'error'):
        if prompt_format not in PROMPT_FORMATS:
            raise ValueError(
                f'prompt_format: expected one of {PROMPT_FORMATS}, got {prompt_format!r}')
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f'overflow: expected one of {OVERFLOW_POLICIES}, got {overflow!r}')
        if int(max_len) <= 0:
            raise ValueError(f'max_len: expected a positive integer, got {max_len}')
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f'tokenizer model: no file at {path}')
        self.model_path = path
        self.max_len = int(max_len)
        self.prompt_format = prompt_format
        self.overflow = overflow
        try:
            self._sp = sentencepiece.SentencePieceProcessor(model_file=os.fspath(path))
        except (RuntimeError, OSError, ValueError) as err:
            detail = str(err).strip().splitlines()[0][:160] if str(err).strip() else ''
            raise TokenizerError(
                f'tokenizer model {path}: not a SentencePiece model ({type(err).__name__}'
                f'{": " + detail if detail else ""}); PI0.5 needs paligemma_tokenizer.model'
            ) from None

    @property
    def vocab_size(self) -> int:
        return int(self._sp.get_piece_size())

    def encode_ids(self, prompt: str, state: Optional[np.ndarray] = None) -> List[int]:
        """Return the unpadded ids (with BOS) for ``prompt`` (and the normalized ``state``)."""
        if not isinstance(prompt, str):
            raise ValueError(f'prompt: expected a str, got {type(prompt).__name__}')
        if self.prompt_format == 'state':
            if state is None:
                raise ValueError("state: required by prompt_format 'state'")
            return list(self._sp.encode(state_prompt_text(prompt, state), add_bos=True))
        return list(self._sp.encode(clean_prompt(prompt), add_bos=True)) + list(
            self._sp.encode('\n'))

    def tokenize(self, prompt: str,
                 state: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(max_len,) int64 token ids and (max_len,) bool mask, as openpi's PaligemmaTokenizer."""
        return pad_tokens(self.encode_ids(prompt, state), self.max_len, self.overflow)
