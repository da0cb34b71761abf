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
Whether this torch can run on a requested device, said before any weights are loaded.

``check_device('cuda', '--device')`` returns quietly where the device is usable and raises
:class:`DeviceError` (one line: the option or parameter, what is wrong, and what to do: on a
CPU build of torch, the pip line that installs a CUDA build) where it is not. Used by
``pi05-replay --device``, ``pi05-serve --device`` and the policy node's ``device`` parameter.
"""

CUDA_INSTALL = ("pip install --force-reinstall 'torch=={version}' (PyPI's Linux x86_64 wheels "
                'are CUDA builds; for another CUDA version add --index-url '
                'https://download.pytorch.org/whl/cuXXX, see '
                'https://pytorch.org/get-started/locally/)')


class DeviceError(ValueError):
    """A device this torch cannot use."""


def cuda_install_hint(torch_version: str) -> str:
    """Return how to install a CUDA build of this torch version (its '+cpu' suffix dropped)."""
    return CUDA_INSTALL.format(version=torch_version.split('+', 1)[0])


def check_device(device: str, option: str) -> None:
    """Refuse a device this torch cannot use (no CUDA build, no GPU, bad index) for ``option``."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f'{option} {device!r}: expected cpu, cuda or cuda:N') from None
    if parsed.type == 'cpu':
        return
    if parsed.type != 'cuda':
        raise DeviceError(f'{option} {device}: expected cpu, cuda or cuda:N')
    if not torch.cuda.is_available():
        why = ('this torch is built without CUDA' if torch.version.cuda is None
               else 'no CUDA GPU is visible')
        hint = ('; or install a CUDA build: ' + cuda_install_hint(torch.__version__)
                if torch.version.cuda is None else '')
        raise DeviceError(f'{option} {device}: CUDA is not available ({why}, torch '
                          f'{torch.__version__}); use {option} cpu{hint}')
    count = torch.cuda.device_count()
    if parsed.index is not None and parsed.index >= count:
        raise DeviceError(f'{option} {device}: only {count} CUDA device(s) are visible '
                          f'(cuda:0..cuda:{count - 1})')
