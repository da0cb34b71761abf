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
Reading and writing ROS 2 bags (mcap and sqlite3) with ``rosbags``, without ROS.

Every failure of the underlying library (a missing metadata file, a truncated mcap chunk, a
malformed sqlite3 database, a message that does not deserialize) becomes a :class:`BagError`
whose message names the bag and, where known, the topic.

A topic whose embedded message definition cannot be parsed (rosbags 0.11 cannot parse the
``*_Event`` service-event definitions rosbag2 writes on Jazzy) is skipped, not fatal: the bag
opens, :attr:`BagReader.skipped_topics` says which topics were skipped and why (also logged at
info level), and a missing-topic error lists them. A topic without a definition whose type the
default (Humble) typestore does not know is skipped the same way.
"""

from dataclasses import dataclass
import logging
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from pi05_ros.names import absolute_topic
from rosbags.highlevel import AnyReader
from rosbags.highlevel.anyreader import AnyReaderError
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_types_from_idl, get_types_from_msg, get_typestore, Stores

PathLike = Union[str, Path]
logger = logging.getLogger(__name__)

STORAGE_PLUGINS = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
# rosbag2 metadata version 8: readable by both Humble and Jazzy (see doc/replay.md).
HUMBLE_COMPATIBLE_VERSION = 8


_REINDEX = ('; a recording that stopped before writing it can be repaired with '
            '`ros2 bag reindex <bag directory> <mcap|sqlite3>`')


class BagError(ValueError):
    """A bag could not be read or written; the message names the file and the topic."""

    names_topic = False  # True: the message itself names the topic (not repeated in front)

    def __init__(self, path: PathLike, message: str, topic: Optional[str] = None):
        self.path = str(path)
        self.topic = topic
        where = f'{self.path}' + (f', topic {topic!r}' if topic and not self.names_topic else '')
        super().__init__(f'{where}: {message}')


class MissingTopicError(BagError):
    """A topic the evaluation needs is not in the bag (the message names it once)."""

    names_topic = True


def default_typestore():
    """Return the message definitions used for bags that carry none (Humble sqlite3 bags)."""
    return get_typestore(Stores.ROS2_HUMBLE)


@dataclass(frozen=True)
class BagMessage:
    """One deserialized message with its bag (receive) time."""

    topic: str
    msgtype: str
    time_ns: int
    msg: object


def resolve_bag_directory(path: PathLike) -> Path:
    """Return the bag directory for ``path`` (a bag directory or a file inside one)."""
    path = Path(path)
    if not path.exists():
        raise BagError(path, 'no such file or directory')
    if path.is_file():
        if (path.parent / 'metadata.yaml').is_file():
            return path.parent
        raise BagError(path, 'expected a ROS 2 bag directory (with metadata.yaml), got a file '
                             f'without metadata.yaml next to it{_REINDEX}')
    if not (path / 'metadata.yaml').is_file():
        raise BagError(path, f'not a ROS 2 bag directory: metadata.yaml is missing{_REINDEX}')
    return path


def _parse_definition(connection) -> dict:
    """Return the types of one connection's embedded definition (msg or idl), as rosbags does."""
    msgdef = connection.msgdef
    if msgdef.format == MessageDefinitionFormat.MSG:
        return dict(get_types_from_msg(msgdef.data, connection.msgtype))
    types = {}
    sep = '=' * 80 + '\n'
    if msgdef.data.startswith(f'{sep}IDL: '):
        for part in msgdef.data.split(sep)[1:]:
            types.update(get_types_from_idl(part.split('\n', 1)[1]))
    else:
        types.update(get_types_from_idl(msgdef.data))
    return types


class _TolerantAnyReader(AnyReader):
    """
    AnyReader (rosbag2 only) whose open skips the topics it cannot parse.

    rosbags' own open fails the whole bag when one connection's definition does not parse or
    its type hash differs; here such connections are dropped and recorded in ``skipped``
    (topic -> reason). Everything else is what AnyReader.open does.
    """

    skipped: Dict[str, str]

    def _open(self) -> None:
        for reader in self.readers:
            self.stack.enter_context(reader)
        self.skipped = {}
        connections = [c for reader in self.readers for c in reader.connections]
        typestore = get_typestore(Stores.EMPTY)
        defined = [c for c in connections if c.msgdef.format != MessageDefinitionFormat.NONE]
        if connections and not defined and self.default_typestore is None:
            raise AnyReaderError('Bag contains no type definitions.')
        kept = [c for c in connections if self._register(typestore, c)]
        if self.default_typestore is not None and len(defined) < len(connections):
            # connections without a definition (Humble sqlite3 bags): the default types
            typestore.register({name: fields for name, fields
                                in self.default_typestore.fielddefs.items()
                                if name not in typestore.fielddefs})
        for connection in kept:
            if connection.msgtype not in typestore.fielddefs:
                self.skipped[connection.topic] = (
                    f'{connection.msgtype}: the bag has no definition and it is not a ROS 2 '
                    'Humble type')
        self.connections = [c for c in kept if c.topic not in self.skipped]
        self.typestore = typestore

    def _register(self, typestore, connection) -> bool:
        """Register one connection's types; False (and the reason recorded) when it fails."""
        if connection.msgdef.format == MessageDefinitionFormat.NONE:
            return True  # no definition: deserializing it names the topic if the type is unknown
        try:
            typestore.register(_parse_definition(connection))
        except Exception as err:  # noqa: B902 - rosbags' parser raises many types
            self.skipped[connection.topic] = (f'{connection.msgtype}: message definition cannot '
                                              f'be parsed ({describe(err)[:120]})')
            return False
        if connection.digest:
            try:
                have = typestore.hash_rihs01(connection.msgtype)
            except Exception as err:  # noqa: B902
                have = describe(err)
            if have != connection.digest:
                self.skipped[connection.topic] = (
                    f'{connection.msgtype}: type hash {connection.digest} does not match the '
                    f'definition ({have})')
                return False
        return True


class BagReader:
    """
    A ROS 2 bag opened for reading (mcap or sqlite3; Humble or Jazzy).

    Use as a context manager. ``topics`` maps topic name -> message type; ``skipped_topics``
    maps the topics that could not be parsed (and so are not in ``topics``) to the reason.
    """

    def __init__(self, path: PathLike, typestore=None):
        self.path = resolve_bag_directory(path)
        self._reader = None
        try:
            self._reader = _TolerantAnyReader(
                [self.path], default_typestore=typestore or default_typestore())
            self._reader.open()
        except Exception as err:  # noqa: B902 - rosbags raises many types; name the file
            self._reader = None
            raise BagError(self.path, f'cannot open bag: {describe(err)}') from err
        self.skipped_topics: Dict[str, str] = dict(self._reader.skipped)
        if self.skipped_topics:
            logger.info('%s: skipped %d topic(s) it cannot read: %s', self.path,
                        len(self.skipped_topics), self.skipped_line())
        self._connections = list(self._reader.connections)
        self.start_ns = int(self._reader.start_time) if self._connections else 0
        self.end_ns = int(self._reader.end_time) if self._connections else 0

    def __enter__(self) -> 'BagReader':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, '_reader', None) is not None and self._reader.stack is not None:
            try:
                self._reader.close()
            except Exception:  # noqa: B902 - closing a broken bag must not mask the real error
                pass
        self._reader = None

    def skipped_line(self) -> str:
        """Describe the skipped topics and why, in one line ('' when none was skipped)."""
        return '; '.join(f'{t} ({why})' for t, why in sorted(self.skipped_topics.items()))

    @property
    def topics(self) -> Dict[str, str]:
        """Topic name -> message type (e.g. 'sensor_msgs/msg/Image')."""
        return {c.topic: c.msgtype for c in self._connections}

    def message_count(self, topics: Optional[Iterable[str]] = None) -> int:
        """Count the messages on ``topics`` (all topics when None)."""
        wanted = None if topics is None else set(topics)
        return sum(c.msgcount for c in self._connections if wanted is None or c.topic in wanted)

    def require_topics(self, topics: Iterable[str], what: str = 'needed') -> None:
        """Raise :class:`MissingTopicError` (listing the bag's topics) if a topic is absent."""
        missing = [t for t in topics if t not in self.topics]
        if missing:
            have = ', '.join(f'{t} ({m})' for t, m in sorted(self.topics.items())) or '(none)'
            listed = ', '.join(repr(t) for t in missing)
            verb = 'topic {} is' if len(missing) == 1 else 'topics {} are'
            skipped = (f'; skipped, as they cannot be read: {self.skipped_line()}'
                       if self.skipped_topics else '')
            unreadable = [t for t in missing if t in self.skipped_topics]
            where = ('in the bag but cannot be read' if len(unreadable) == len(missing)
                     else 'not in the bag')
            raise MissingTopicError(
                self.path, f'{what} {verb.format(listed)} {where}; the bag has: {have}{skipped}',
                topic=missing[0])

    def raw_messages(self, topics: Sequence[str], start_ns: Optional[int] = None,
                     stop_ns: Optional[int] = None) -> Iterator[Tuple[str, str, int, bytes]]:
        """Yield (topic, msgtype, time_ns, CDR bytes) in bag-time order, without deserializing."""
        self.require_topics(topics)
        connections = [c for c in self._connections if c.topic in set(topics)]
        topic = ', '.join(topics)
        try:
            for connection, time_ns, raw in self._reader.messages(
                    connections=connections, start=start_ns, stop=stop_ns):
                topic = connection.topic
                yield connection.topic, connection.msgtype, int(time_ns), raw
        except BagError:
            raise
        except Exception as err:  # noqa: B902
            raise BagError(self.path, f'cannot read message: {describe(err)}',
                           topic=topic) from err

    def messages(self, topics: Sequence[str], start_ns: Optional[int] = None,
                 stop_ns: Optional[int] = None) -> Iterator[BagMessage]:
        """Yield deserialized :class:`BagMessage` on ``topics`` in bag-time order."""
        for topic, msgtype, time_ns, raw in self.raw_messages(topics, start_ns, stop_ns):
            try:
                msg = self._reader.deserialize(raw, msgtype)
            except Exception as err:  # noqa: B902
                raise BagError(self.path, f'cannot deserialize {msgtype} message at bag time '
                                          f'{time_ns} ns: {describe(err)}', topic=topic) from err
            yield BagMessage(topic, msgtype, time_ns, msg)


def describe(err: BaseException) -> str:
    """Describe an exception in one line: its type and message."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ''
    return f'{type(err).__name__}: {text}' if text else type(err).__name__


class BagWriter:
    """
    A ROS 2 bag opened for writing, Humble-compatible (metadata version 8).

    ``storage`` is 'mcap' or 'sqlite3'. Use as a context manager; topics are added on first write.
    """

    def __init__(self, path: PathLike, storage: str = 'mcap', typestore=None):
        if storage not in STORAGE_PLUGINS:
            raise ValueError(f'storage: expected one of {sorted(STORAGE_PLUGINS)}, '
                             f'got {storage!r}')
        self.path = Path(path)
        if self.path.exists():
            raise BagError(self.path, 'output bag already exists; choose a new path')
        self.typestore = typestore or default_typestore()
        self._writer = Writer(self.path, version=HUMBLE_COMPATIBLE_VERSION,
                              storage_plugin=STORAGE_PLUGINS[storage])
        self._connections = {}
        self._open = False

    def __enter__(self) -> 'BagWriter':
        self._writer.open()
        self._open = True
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._open:
            self._writer.close()
            self._open = False

    def write(self, topic: str, time_ns: int, msg: object) -> None:
        """Serialize ``msg`` (a rosbags message dataclass) to ``topic`` at bag time ``time_ns``."""
        topic = absolute_topic(topic)  # a bag holds fully qualified names, like ros2 bag record
        msgtype = msg.__msgtype__
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = connection
        elif connection.msgtype != msgtype:
            raise BagError(self.path, f'expected {connection.msgtype}, got {msgtype}', topic=topic)
        self._writer.write(connection, int(time_ns), self.typestore.serialize_cdr(msg, msgtype))

    @property
    def topics(self) -> List[str]:
        return sorted(self._connections)
