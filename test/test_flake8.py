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

"""ament_flake8 over the package with ament's own configuration (skipped where it is missing)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch):
    # imported here, not at module level: a module-level skip would skip the whole test/ folder
    # once launch_testing's pytest plugin imports every test module during collection
    ament_flake8_main = pytest.importorskip('ament_flake8.main')
    monkeypatch.chdir(REPO)  # ament_flake8 checks (and skips dot folders of) the working dir
    rc, errors = ament_flake8_main.main_with_errors(argv=[])
    assert rc == 0, \
        'Found %d code style errors / warnings:\n' % len(errors) + \
        '\n'.join(errors)
