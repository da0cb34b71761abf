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
A lifecycle node's ``~/change_state`` that answers an invalid transition instead of raising.

rclpy (Humble 3.3 and Jazzy 7.1 alike) triggers the requested transition id without checking
it: ``configure`` sent to an active node, or ``activate`` twice, raises ``RCLError``
("Transition is not registered" / "Failed to trigger lifecycle state machine transition") out
of the ChangeState service callback, so the caller never gets an answer and the executor's spin
ends. :func:`guard_change_state` wraps that callback: a transition that is not available from
the current state is answered ``success=False`` (with a warning naming the state and the
transitions that are available), and nothing reaches the state machine. The wrapped service is
``LifecycleNodeMixin._service_change_state`` and its ``callback`` attribute, which both
distributions have and both executors call.
"""

from typing import Iterable, Optional, Sequence, Tuple

# (transition id, transition label, start id, start label, goal id, goal label), what
# rclpy's LifecycleStateMachine.available_transitions returns for the current state
TransitionDescription = Tuple[int, str, int, str, int, str]


def requested_transition(available: Iterable[TransitionDescription], transition_id: int,
                         label: str) -> Optional[int]:
    """
    Return the id of the transition a ChangeState request asks for, or None if not available.

    As rclpy does, a non-empty ``label`` wins over ``transition_id`` ('shutdown' has one id per
    start state; the one leaving the current state is returned).
    """
    for description in available:
        if label:
            if description[1] == label:
                return int(description[0])
        elif int(description[0]) == int(transition_id):
            return int(description[0])
    return None


def describe_refusal(state_label: str, available: Sequence[TransitionDescription],
                     transition_id: int, label: str) -> str:
    """Return the warning logged for a refused transition."""
    asked = repr(label) if label else f'id {transition_id}'
    names = ', '.join(sorted({d[1] for d in available})) or 'none'
    return (f'change_state: transition {asked} is not available from state {state_label!r} '
            f'(available: {names}); answered success=false')


def guard_change_state(node) -> None:
    """Make ``node``'s ChangeState service answer invalid transitions with success=False."""
    service = getattr(node, '_service_change_state', None)
    if service is None:  # created with enable_communication_interface=False
        return
    original = service.callback

    def on_change_state(request, response):
        machine = node._state_machine
        available = list(machine.available_transitions)
        transition = request.transition
        if requested_transition(available, transition.id, transition.label) is None:
            node.get_logger().warning(describe_refusal(
                machine.current_state[1], available, transition.id, transition.label))
            response.success = False
            return response
        return original(request, response)

    service.callback = on_change_state
