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

"""ament_pep257 (ament's convention) over the package (skipped where it is missing)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch):
    # imported here, not at module level: see test_flake8.py
    ament_pep257_main = pytest.importorskip('ament_pep257.main')
    monkeypatch.chdir(REPO)
    rc = ament_pep257_main.main(argv=['.'])
    assert rc == 0, 'Found code style errors / warnings'
