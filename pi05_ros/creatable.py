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

"""Whether a directory can be created (or written) where a CLI is told to write, before work."""

import os
from pathlib import Path
from typing import Optional, Tuple


def creation_problem(path: Path) -> Tuple[Path, Optional[str]]:
    """
    Return the nearest existing ancestor of ``path`` (or ``path``) and what stops writing there.

    The problem is ``'not a directory'``, ``'not writable'`` or None (the directory can be
    created, or written when it exists).
    """
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return existing, 'not a directory'
    if not os.access(existing, os.W_OK | os.X_OK):
        return existing, 'not writable'
    return existing, None
