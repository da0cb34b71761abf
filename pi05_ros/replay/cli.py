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
``pi05-replay`` / ``ros2 run pi05_ros replay_eval``: evaluate a policy on a rosbag.

    pi05-replay BAG --checkpoint DIR --profile PROFILE [--truth-topic TOPIC] [-o DIR]
    pi05-replay --demo            # synthetic bag + tiny random checkpoint, whole evaluation

Exit status: 0 done, 1 error (message names the file and topic), 2 bad arguments,
130 interrupted by Ctrl-C (a valid partial report is written first).
"""

import argparse
import dataclasses
import logging
import math
from pathlib import Path
import shutil
import sys
import time
import traceback
from typing import Dict, List, Optional, Sequence, Tuple

from pi05_ros.config_paths import find_config_file
from pi05_ros.control.executor_params import (executor_settings, ExecutorSettings, NODE_NAME,
                                              per_joint, read_node_parameters)
from pi05_ros.creatable import creation_problem
from pi05_ros.policy.devices import check_device
from pi05_ros.policy.rtc import RtcSettings, SCHEDULES as RTC_SCHEDULES, settings_from_parameters
from pi05_ros.replay.bag_io import describe
from pi05_ros.replay.demo_bag import DemoBagSpec, write_demo_bag
from pi05_ros.replay.evaluate import check_bag, ReplayOptions, run_replay
from pi05_ros.replay.identity import choose_threads, machine_load, run_identity, versions
from pi05_ros.replay.report import delay_line, limits_line, write_report
from pi05_ros.replay.rtc_compare import comparison as rtc_comparison

PROG = 'pi05-replay'
SHORT_USAGE = f'{PROG} BAG --checkpoint DIR --profile PROFILE [options] | {PROG} --demo'
DEFAULT_OUTPUT = 'replay_report'
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
# without a parameter file: unbounded positions, generous velocity/acceleration limits
FALLBACK_PARAMETERS = {'limits.lower': [-math.inf], 'limits.upper': [math.inf],
                       'limits.max_velocity': [2.0], 'limits.max_acceleration': [10.0]}
DEMO_NOTE = ('demo: the checkpoint has tiny random weights, so its chunks are small random '
             'offsets from the observed state and do not follow the recorded motion; the errors '
             'show the untrained policy lagging the recording. Run a real checkpoint on your own '
             'bag for meaningful numbers.')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, usage=SHORT_USAGE,
        description='Replay a ROS 2 bag (mcap or sqlite3) through the PI0.5 policy '
        'and trajectory executor on the bag clock, and score the predicted chunks against the '
        'recorded commands or future joint states. No ROS installation needed.')
    parser.add_argument('bag', nargs='?', help='bag directory (or a file inside one)')
    parser.add_argument('--demo', action='store_true',
                        help='generate a synthetic bag and a tiny random-weight checkpoint and '
                        'evaluate them (no inputs needed)')
    parser.add_argument('-o', '--output', default=DEFAULT_OUTPUT,
                        help='report directory (default: ./%(default)s)')
    model = parser.add_argument_group('policy')
    model.add_argument('--checkpoint', help='PI0.5 checkpoint directory')
    model.add_argument('--remote', metavar='ws://HOST:PORT',
                       help="infer on a policy server (pi05-serve, or openpi's serve_policy.py) "
                       'instead of a local checkpoint')
    model.add_argument('--remote-timeout', type=float, default=30.0,
                       help='seconds to wait for each remote response (default: %(default)s)')
    model.add_argument('--profile', help='robot profile: a name (droid, aloha, ...) or a YAML '
                       'path (--demo: demo)')
    model.add_argument('--joint-names', metavar='A,B,C',
                       help="the robot's joint names, in the profile's order: required by a "
                       'profile without joint_names (generic), else they rename its joints one '
                       "to one (default: joint_names of the parameter file's pi05_policy "
                       'section, as the live policy node)')
    model.add_argument('--asset-id', metavar='ID',
                       help='norm-stats asset of the checkpoint (assets/ID/norm_stats.json) '
                       "instead of the profile's asset_id")
    model.add_argument('--tokenizer', help='PaliGemma SentencePiece model (default: next to '
                       'the checkpoint or $PI05_TOKENIZER)')
    model.add_argument('--device', default='cpu')
    model.add_argument('--dtype', default='float32', choices=('float32', 'bfloat16'))
    model.add_argument('--num-steps', type=int, help='flow-matching steps (default: config)')
    model.add_argument('--seed', type=int, default=0, help='noise seed (default: %(default)s)')
    model.add_argument('--threads', type=int, help='torch CPU threads (default: one per idle CPU, '
                       'the CPUs minus the 1-minute load average, at least 1; --demo: 1, '
                       'fastest for the tiny model)')
    topics = parser.add_argument_group("topics (default: the profile's)")
    topics.add_argument('--camera', action='append', default=[], metavar='NAME=TOPIC',
                        help='camera topic for a profile camera (repeatable)')
    topics.add_argument('--joint-states-topic')
    topics.add_argument('--prompt-topic', help='std_msgs/String prompt topic (default: a topic '
                        'named *prompt if the bag has one; "" ignores the bag prompts)')
    topics.add_argument('--prompt', help="prompt until the bag has one (default: the profile's)")
    topics.add_argument('--truth-topic', help='recorded commands (JointTrajectory, '
                        'Float64MultiArray or JointState) to score against (default: the future '
                        'joint states)')
    modes = parser.add_argument_group(
        'mode switching (found by name: */mode_request, */intervention, */mode; "" disables)')
    modes.add_argument('--mode-request-topic', help='String requests (engage_policy, hold, ...)')
    modes.add_argument('--intervention-topic', help='Bool intervention / deadman stream')
    modes.add_argument('--teleop-topic', help='JointState teleop (leader) targets')
    modes.add_argument('--mode-topic', help='String mode the live node published, to compare')
    modes.add_argument('--chunk-topic', help='JointTrajectory chunks the live policy published '
                       '(default: the replayed predictions)')
    timing = parser.add_argument_group('timing')
    timing.add_argument('--inference-rate', type=float, default=5.0, metavar='HZ',
                        help='inference cycles per second (default: %(default)s)')
    delay = timing.add_mutually_exclusive_group()
    delay.add_argument('--inference-delay', type=float, metavar='SECONDS',
                       help='simulated inference latency: a chunk computed at t reaches the '
                       'executor at t + delay; 0: no delay (default: the measured model '
                       "latency, the median of this run's per-chunk inference time)")
    delay.add_argument('--inference-delay-ms', type=float, metavar='MS',
                       help='the same in milliseconds')
    timing.add_argument('--executor-rate', type=float, metavar='HZ',
                        help="executor ticks per second (default: the parameter file's rate_hz)")
    timing.add_argument('--start', type=float, default=0.0, metavar='S',
                        help='skip the first S seconds of the bag')
    timing.add_argument('--duration', type=float, metavar='S', help='replay only S seconds')
    timing.add_argument('--max-inferences', type=int, metavar='N', help='stop after N chunks')
    timing.add_argument('--max-image-age', type=float, default=0.5, metavar='S')
    timing.add_argument('--max-joint-state-age', type=float, default=0.25, metavar='S')
    timing.add_argument('--max-camera-skew', type=float, default=0.1, metavar='S',
                        help='0: unchecked (default: %(default)s)')
    timing.add_argument('--bag-time-stamps', action='store_true',
                        help='stamp every message with its bag time instead of header.stamp')
    execution = parser.add_argument_group(
        'executor (default: the pi05_executor section of --params-file, as the live node)')
    execution.add_argument('--params-file', metavar='PATH',
                           help='ROS 2 parameter file whose /**/pi05_executor section gives the '
                           'limits and executor settings, and whose /**/pi05_policy section the '
                           'joint_names, joint_states_topic and cameras.<name>.topic (default: '
                           "the package's config/<profile>.yaml when there is one; \"\": built-in "
                           'defaults)')
    execution.add_argument('--urdf', help='URDF file with the joint position/velocity limits')
    execution.add_argument('--max-velocity', metavar='V[,V...]',
                           help='override: rad/s (m/s for prismatic joints), one value or one '
                           'per joint (no parameter file: %s)' % FALLBACK_PARAMETERS[
                               'limits.max_velocity'][0])
    execution.add_argument('--max-acceleration', metavar='A[,A...]',
                           help='override: rad/s^2, one value or one per joint (no parameter '
                           'file: %s)' % FALLBACK_PARAMETERS['limits.max_acceleration'][0])
    execution.add_argument('--interpolation', choices=('linear', 'cubic', 'quintic'),
                           help='override executor.interpolation')
    execution.add_argument('--blend-window', type=float, metavar='S',
                           help='override executor.blend_window')
    execution.add_argument('--max-first-row-deviation', type=float, metavar='RAD',
                           help='override executor.max_first_row_deviation')
    rtc = parser.add_argument_group(
        "real-time chunking (default: the parameter file's pi05_policy rtc.* values)")
    rtc.add_argument('--rtc', action='store_true',
                     help='replay twice on the same bag and seed, with plain splicing and with '
                     'real-time chunking, and report both side by side (the report is the RTC '
                     'run; metrics.json rtc_comparison)')
    rtc.add_argument('--rtc-execution-horizon', type=int, metavar='S',
                     help='override rtc.execution_horizon (rows run before the next chunk)')
    rtc.add_argument('--rtc-guidance-weight-max', type=float, metavar='BETA',
                     help='override rtc.guidance_weight_max')
    rtc.add_argument('--rtc-schedule', choices=RTC_SCHEDULES, help='override rtc.schedule')
    out = parser.add_argument_group('output')
    out.add_argument('--output-bag', help='also write predicted chunks (/replay/action_chunk) '
                     'and executed commands (/replay/command) to this new bag')
    out.add_argument('--output-bag-storage', default='mcap', choices=('mcap', 'sqlite3'))
    out.add_argument('--no-progress', action='store_true', help='no progress bar')
    out.add_argument('--debug', action='store_true', help='show tracebacks')
    demo = parser.add_argument_group('demo')
    demo.add_argument('--storage', default='mcap', choices=('mcap', 'sqlite3'),
                      help='storage of the demo bag (default: %(default)s)')
    demo.add_argument('--demo-frames', type=int, default=60,
                      help='frames per camera in the demo bag, at 10 fps (default: %(default)s)')
    return parser


def parse_cameras(values: Sequence[str]) -> Dict[str, str]:
    """['name=/topic', ...] -> {'name': '/topic'}; ValueError naming a malformed entry."""
    cameras = {}
    for value in values:
        name, sep, topic = value.partition('=')
        if not sep or not name or not topic:
            raise ValueError(f'--camera: expected NAME=TOPIC, got {value!r}')
        cameras[name] = topic
    return cameras


def parse_values(option: str, text: str) -> List[float]:
    """'1.0' or '1.0,2,0.5' -> floats; ValueError naming the option."""
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        raise ValueError(f'{option}: expected a number or a comma-separated list of numbers, '
                         f'got {text!r}') from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f'{option}: expected positive numbers, got {text!r}')
    return values


def parse_joint_names(text: str) -> List[str]:
    """'a,b,c' -> ['a', 'b', 'c']; ValueError naming the option for an empty or repeated name."""
    names = [name.strip() for name in text.split(',')]
    if not all(names) or len(set(names)) != len(names):
        raise ValueError(f'--joint-names: expected distinct comma-separated names like '
                         f'joint_1,joint_2,joint_3, got {text!r}')
    return names


def policy_topics_from_args(args: argparse.Namespace) -> None:
    """Fill --joint-states-topic and --camera from the parameter file's pi05_policy section."""
    path = params_file_for(args)
    if path is None or not path.is_file():
        return
    params = read_node_parameters(path, 'pi05_policy') or {}
    if args.joint_states_topic is None and params.get('joint_states_topic'):
        args.joint_states_topic = params['joint_states_topic']
    given = parse_cameras(args.camera)
    for key, topic in sorted(params.items()):
        name = key[len('cameras.'):-len('.topic')]
        if key.startswith('cameras.') and key.endswith('.topic') and name not in given and topic:
            args.camera.append(f'{name}={topic}')


def joint_names_from_args(args: argparse.Namespace) -> Optional[List[str]]:
    """
    Return --joint-names, else joint_names of the parameter file's pi05_policy section.

    What the live policy node renames the profile with (the executor's joint_names are only
    its command order, and may be the profile's names in another order).
    """
    if args.joint_names is not None:
        return parse_joint_names(args.joint_names)
    path = params_file_for(args)
    if path is None or not path.is_file():
        return None
    names = (read_node_parameters(path, 'pi05_policy') or {}).get('joint_names')
    return list(names) if names else None


def params_file_for(args: argparse.Namespace) -> Optional[Path]:
    """--params-file, else the package's config/<profile>.yaml when the profile is a name."""
    if args.params_file is not None:
        return Path(args.params_file) if args.params_file else None
    name = str(args.profile)
    if '/' in name or name.endswith(('.yaml', '.yml')):
        return None
    try:
        return find_config_file(f'{name}.yaml')
    except FileNotFoundError:
        return None


def executor_settings_from_args(args: argparse.Namespace,
                                profile) -> Tuple[ExecutorSettings, Optional[Path]]:
    """
    Return the live executor node's settings from the parameter file, with the overrides.

    Returns the settings (limits in the profile's joint order) and the parameter file used
    (None: the built-in fallback).
    """
    path = params_file_for(args)
    params = None
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f'--params-file {path}: no such file')
        params = read_node_parameters(path)
        if params is None:
            raise ValueError(f'--params-file {path}: no {NODE_NAME} section (expected '
                             f'/**/{NODE_NAME}: ros__parameters: ...)')
    params = dict(FALLBACK_PARAMETERS if params is None else params)
    for option, name in (('interpolation', 'executor.interpolation'),
                         ('blend_window', 'executor.blend_window'),
                         ('max_first_row_deviation', 'executor.max_first_row_deviation'),
                         ('executor_rate', 'rate_hz')):
        if getattr(args, option) is not None:
            params[name] = getattr(args, option)
    if args.blend_window is not None:
        maximum = params.get('executor.max_blend_window')
        params['executor.max_blend_window'] = max(args.blend_window, 1.0 if maximum is None
                                                  else maximum)
    names = list(profile.joint_names)
    if params.get('joint_names') and set(params['joint_names']) == set(names):
        names = list(params['joint_names'])  # per-joint values are in this order
    urdf = None
    where = path if path is not None else 'built-in defaults'
    if args.urdf:
        urdf = Path(args.urdf).read_text()
    elif params.get('limits.source', 'parameters') == 'urdf':
        urdf = params.get('robot_description') or None
        if urdf is None:
            raise ValueError(f'{where}: limits.source is urdf; pass --urdf FILE with the '
                             'robot_description')
    try:
        settings = executor_settings(params, names, urdf)
    except ValueError as err:
        raise ValueError(f'{where}: {NODE_NAME}: {err}') from None
    limits = settings.limits
    for option, field in (('--max-velocity', 'max_velocity'),
                          ('--max-acceleration', 'max_acceleration')):
        text = getattr(args, field)
        if text is not None:
            limits = dataclasses.replace(
                limits, **{field: per_joint(option, parse_values(option, text), len(names))})
    from pi05_ros.policy.profiles import cap_limits
    limits = cap_limits(limits.reordered(profile.joint_names), profile)  # the profile's ceiling
    return dataclasses.replace(settings, limits=limits), path


def limits_source(args: argparse.Namespace, params_file: Optional[Path]) -> str:
    """Where the limits came from, in words, for the report."""
    source = f'{params_file} ({NODE_NAME})' if params_file else 'built-in defaults'
    if args.urdf:
        source += f'; positions and velocities from {args.urdf}'
    overridden = [o for o, v in (('--max-velocity', args.max_velocity),
                                 ('--max-acceleration', args.max_acceleration)) if v is not None]
    return source + (f'; overridden by {" and ".join(overridden)}' if overridden else '')


def inference_delay_ms(args: argparse.Namespace) -> Optional[float]:
    """--inference-delay (s) or --inference-delay-ms in ms; None: the measured latency."""
    for option, value, scale in (('--inference-delay', args.inference_delay, 1000.0),
                                 ('--inference-delay-ms', args.inference_delay_ms, 1.0)):
        if value is not None:
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f'{option}: expected a number >= 0 (0: no delay), got {value}')
            return value * scale
    return None


def options_from_args(args: argparse.Namespace, settings: ExecutorSettings) -> ReplayOptions:
    mode_topics = {field: value for field, value in (
        ('requests', args.mode_request_topic), ('intervention', args.intervention_topic),
        ('teleop', args.teleop_topic), ('recorded_mode', args.mode_topic),
        ('chunks', args.chunk_topic)) if value is not None}
    return ReplayOptions(
        mode_topics=mode_topics, camera_topics=parse_cameras(args.camera),
        joint_states_topic=args.joint_states_topic,
        prompt_topic=args.prompt_topic, prompt=args.prompt, truth_topic=args.truth_topic,
        inference_rate_hz=args.inference_rate, inference_delay_ms=inference_delay_ms(args),
        executor_rate_hz=settings.rate_hz, seed=args.seed, start_offset_s=args.start,
        duration_s=args.duration, max_inferences=args.max_inferences,
        max_image_age_s=args.max_image_age, max_joint_state_age_s=args.max_joint_state_age,
        max_camera_skew_s=args.max_camera_skew or None,
        use_header_stamps=not args.bag_time_stamps, executor=settings.config,
        mode_config=settings.mode_config,
        output_bag=Path(args.output_bag) if args.output_bag else None,
        output_bag_storage=args.output_bag_storage)


def rtc_settings_from_args(args: argparse.Namespace) -> Optional[RtcSettings]:
    """
    Return the real-time-chunking settings of ``--rtc`` (None without it).

    As the live policy node: the rtc.* values of the parameter file's pi05_policy section
    (the one the executor settings come from), with the --rtc-* overrides; enabled.
    """
    if not args.rtc:
        return None
    path = params_file_for(args)
    params = (read_node_parameters(path, 'pi05_policy') or {}) if path is not None else {}
    settings = settings_from_parameters(params)
    overrides = {'enabled': True}
    for option, field in (('rtc_execution_horizon', 'execution_horizon'),
                          ('rtc_guidance_weight_max', 'guidance_weight_max'),
                          ('rtc_schedule', 'schedule')):
        if getattr(args, option) is not None:
            overrides[field] = getattr(args, option)
    return dataclasses.replace(settings, **overrides)


def run_rtc_comparison(args: argparse.Namespace, profile, policy, options: ReplayOptions,
                       limits, run_info, rtc: RtcSettings):
    """Replay with plain splicing, then with RTC (same seed); the RTC result with both."""
    policy.rtc_runtime(rtc)  # a bad rtc.* value fails now, before any replay
    if hasattr(policy, 'warmup'):  # in process: the RTC run's first guided chunk is not cold
        policy.warmup(guided=True)
    progress = not args.no_progress and sys.stderr.isatty()
    plain = run_replay(args.bag, profile, policy, dataclasses.replace(options, output_bag=None),
                       limits=limits, progress=progress, run_info=run_info)
    if plain.interrupted:
        return plain
    result = run_replay(args.bag, profile, policy, dataclasses.replace(options, rtc=rtc),
                        limits=limits, progress=progress, run_info=run_info)
    result.metrics['rtc_comparison'] = rtc_comparison(plain.metrics, result.metrics)
    return result


def rtc_line(metrics) -> str:
    """Return one line: disagreement and seam jerk, plain vs RTC."""
    rows = {r['metric']: r for r in metrics['rtc_comparison']['rows']}

    def pair(name):
        row = rows[name]
        return (f"{name} {_number(row['plain'])} (plain) vs {_number(row['rtc'])} (RTC) "
                f"{row['unit']}")

    return '; '.join(pair(n) for n in ('inter-chunk disagreement', 'seam max |jerk|'))


def _number(value) -> str:
    return 'n/a' if value is None else f'{value:.4g}'


def delay_option(args: argparse.Namespace) -> str:
    """Return the delay option as given on the command line ('' when the default)."""
    if args.inference_delay is not None:
        return f'--inference-delay {args.inference_delay:g}'
    if args.inference_delay_ms is not None:
        return f'--inference-delay-ms {args.inference_delay_ms:g}'
    return ''


def check_output_directory(output: Path) -> None:
    """Refuse an output directory that cannot be created or written, before any work."""
    existing, problem = creation_problem(output)
    if problem == 'not a directory':
        raise ValueError(f'--output {output}: {existing} is not a directory, so the report '
                         'directory cannot be created there')
    if problem == 'not writable':
        verb = 'written' if existing == output else f'created (no write permission in {existing})'
        raise ValueError(f'--output {output}: the report directory cannot be {verb}; choose '
                         'another with -o DIR')


def torch_threads(args: argparse.Namespace) -> Tuple[int, str]:
    """Return the torch thread count and why: --threads, 1 for --demo, else from the machine."""
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f'--threads: expected a positive number, got {args.threads}')
        return args.threads, '--threads'
    if args.demo:
        return 1, '--demo: the tiny model is fastest on one thread; --threads N overrides'
    threads, reason = choose_threads(*machine_load())
    return threads, f'{reason}; --threads N overrides'


def prepare_demo(args: argparse.Namespace, output: Path) -> None:
    """Write the demo bag and checkpoint under ``output/demo_inputs``; point ``args`` at them."""
    from pi05_ros.policy.demo_assets import make_demo_checkpoint
    from pi05_ros.names import absolute_topic
    from pi05_ros.policy.profiles import load_profile

    if args.demo_frames < 1:
        raise ValueError(f'--demo-frames: expected a positive number, got {args.demo_frames}')
    args.profile = args.profile or 'demo'
    profile = load_profile(args.profile)
    inputs = output / 'demo_inputs'
    bag = inputs / f'demo_bag_{args.storage}'
    if (bag / 'metadata.yaml').is_file():
        shutil.rmtree(bag)  # our own bag from an earlier --demo run
    inputs.mkdir(parents=True, exist_ok=True)
    spec = DemoBagSpec(joint_names=tuple(profile.joint_names),
                       camera_topics={c.name: absolute_topic(c.topic) for c in profile.cameras},
                       joint_states_topic=absolute_topic(profile.joint_states_topic),
                       camera_frames=args.demo_frames)
    start = time.perf_counter()
    write_demo_bag(bag, spec, storage=args.storage)
    checkpoint = make_demo_checkpoint(inputs / 'checkpoint', profile=args.profile, seed=0)
    print(f'demo: wrote {bag} ({args.storage}, {args.demo_frames} frames x '
          f'{len(spec.camera_topics)} cameras) and {checkpoint} in '
          f'{time.perf_counter() - start:.1f} s')
    args.bag = str(bag)
    args.checkpoint = str(checkpoint)
    args.truth_topic = args.truth_topic or spec.command_topic


def run(args: argparse.Namespace) -> int:
    from pi05_ros.policy.checkpoint import CheckpointDirError
    from pi05_ros.policy.profiles import load_profile
    from pi05_ros.policy.runtime import Policy
    import torch

    output = Path(args.output)
    check_output_directory(output)  # cheap checks first: nothing is lost at the end
    check_device(args.device, '--device')
    if args.demo:
        prepare_demo(args, output)
    overrides = {} if args.asset_id is None else {'asset_id': args.asset_id}
    profile = load_profile(args.profile, joint_names=joint_names_from_args(args), **overrides)
    settings, params_file = executor_settings_from_args(args, profile)
    policy_topics_from_args(args)  # the live policy node's topics, as its parameter file sets
    options = options_from_args(args, settings)
    rtc = rtc_settings_from_args(args)
    threads, threads_reason = torch_threads(args)
    torch.set_num_threads(threads)
    print(f'{PROG}: torch threads: {threads} ({threads_reason})')
    check_bag(args.bag, profile, options)  # bag and topic errors before the model loads
    start = time.perf_counter()
    try:
        if args.remote:
            from pi05_ros.policy.remote import RemotePolicy
            policy = RemotePolicy(args.remote, profile, timeout=args.remote_timeout)
            policy.connect()  # a server that is not there fails now, not mid-replay
        else:
            policy = Policy.from_checkpoint(args.checkpoint, profile,
                                            tokenizer_path=args.tokenizer, device=args.device,
                                            dtype=args.dtype, num_steps=args.num_steps)
    except CheckpointDirError as err:
        if 'no norm stats for asset_id' not in str(err):
            raise
        raise CheckpointDirError(f'{err} (pi05-replay: --asset-id ID; a checkpoint without '
                                 'assets/ needs assets/ID/norm_stats.json)') from err
    load_s = time.perf_counter() - start
    command_line = [PROG] + list(getattr(args, 'argv', sys.argv[1:]))  # main() sets argv
    run_info = {'checkpoint': str(args.remote or args.checkpoint), 'model': policy.model_identity,
                'note': DEMO_NOTE if args.demo else '',
                'model_load_s': load_s, 'command': ' '.join(command_line),
                'identity': run_identity(policy.model_identity, profile.name, args.device,
                                         args.dtype, threads, threads_reason,
                                         command_line, time.time_ns(), versions()),
                'params_file': None if params_file is None else str(params_file),
                'limits_source': limits_source(args, params_file) + (
                    f"; capped by the profile's limits ({profile.source})" if profile.limits
                    else ''),
                'inference_delay_option': delay_option(args)}
    if rtc is not None:
        result = run_rtc_comparison(args, profile, policy, options, settings.limits, run_info,
                                    rtc)
    else:
        result = run_replay(args.bag, profile, policy, options, limits=settings.limits,
                            progress=not args.no_progress and sys.stderr.isatty(),
                            run_info=run_info)
    paths = write_report(output, result.metrics, result.series, result.timings)
    prediction = result.metrics['prediction']
    summary = (f"{prediction['num_chunks']} chunks, MAE {prediction.get('mae', float('nan')):.4f}"
               f", RMSE {prediction.get('rmse', float('nan')):.4f}"
               if prediction.get('num_chunks') else 'no chunk was predicted (see the report)')
    if result.interrupted:
        print(f'{PROG}: interrupted; partial report ({summary}) in {paths["index"]}',
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f'{PROG}: {summary}; report: {paths["index"]}')
    executed_limits = result.metrics['executed'].get('limits')
    if executed_limits is not None:
        print(f'{PROG}: {limits_line(executed_limits)}; inference delay: '
              f'{delay_line(result.metrics["run"])}')
    if 'rtc_comparison' in result.metrics:
        print(f'{PROG}: {rtc_line(result.metrics)}')
    if options.output_bag is not None:
        print(f'{PROG}: output bag: {options.output_bag}')
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not args.demo and (not args.bag or not (args.checkpoint or args.remote)
                          or not args.profile):
        print(f'{parser.format_usage().rstrip()}\n{PROG}: error: BAG, --checkpoint and '
              f'--profile are required (or use --demo); see {PROG} --help', file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO if args.debug else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f'{PROG}: interrupted before the replay started; no report written',
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: B902 - the CLI turns every failure into one clear line
        if args.debug:
            traceback.print_exc()
        print(f'{PROG}: error: {err if isinstance(err, (ValueError, OSError)) else describe(err)}',
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
