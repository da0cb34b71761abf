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
Test helper: copy a bag written by BagWriter into the layout Humble or Jazzy writes.

Topics carry a sensor-data QoS profile, in metadata.yaml and in the storage file alike.

* Humble (rosbag2 0.15): ``metadata.yaml`` version 5, ``offered_qos_profiles`` a YAML document
  inside a string with integer enums, no ``type_description_hash`` / ``ros_distro`` /
  ``custom_data``; sqlite3 schema version 3 (``topics`` without ``type_description_hash``, no
  ``message_definitions`` table, so readers must bring their own message definitions).
* Jazzy (rosbag2 0.26): version 9, ``offered_qos_profiles`` a YAML list with string enums,
  ``ros_distro: jazzy``; sqlite3 schema 4 with message definitions (what rosbags writes).
"""

from pathlib import Path
import sqlite3

from pi05_ros.replay.bag_io import BagReader, default_typestore, STORAGE_PLUGINS
from rosbags.interfaces import (
    Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime)
from rosbags.rosbag2 import Writer
import yaml

_INFINITE = QosTime(sec=9223372036, nsec=854775807)
SENSOR_QOS = Qos(QosHistory.KEEP_LAST, 5, QosReliability.BEST_EFFORT, QosDurability.VOLATILE,
                 _INFINITE, _INFINITE, QosLiveliness.AUTOMATIC, _INFINITE, False)

_HUMBLE_TOPICS = ('CREATE TABLE topics_humble(id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
                  'type TEXT NOT NULL, serialization_format TEXT NOT NULL, '
                  'offered_qos_profiles TEXT NOT NULL)')


def _copy(src: Path, dst: Path, version: int) -> Path:
    """Copy every message of ``src`` into a new bag, recording a sensor-data QoS profile."""
    with BagReader(src) as reader:
        storage = 'sqlite3' if list(reader.path.glob('*.db3')) else 'mcap'
        with Writer(dst, version=version, storage_plugin=STORAGE_PLUGINS[storage]) as writer:
            connections = {}
            for topic, msgtype, time_ns, raw in reader.raw_messages(list(reader.topics)):
                if topic not in connections:
                    connections[topic] = writer.add_connection(
                        topic, msgtype, typestore=default_typestore(),
                        offered_qos_profiles=[SENSOR_QOS])
                writer.write(connections[topic], time_ns, raw)
    return dst


def _rewrite_metadata(bag: Path, edit) -> None:
    path = bag / 'metadata.yaml'
    document = yaml.safe_load(path.read_text())
    edit(document['rosbag2_bagfile_information'])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def as_humble(src: Path, dst: Path) -> Path:
    """Copy ``src`` (sqlite3 or mcap) to ``dst`` as Humble's rosbag2 writes it."""
    def edit(info):
        info['version'] = 5
        for key in ('ros_distro', 'custom_data'):
            info.pop(key, None)
        for topic in info['topics_with_message_count']:
            topic['topic_metadata'].pop('type_description_hash', None)
            assert isinstance(topic['topic_metadata']['offered_qos_profiles'], str)

    _copy(src, dst, version=8)  # version 8 writes the QoS as a YAML string, as Humble does
    _rewrite_metadata(dst, edit)
    for db3 in dst.glob('*.db3'):
        db = sqlite3.connect(db3)
        db.executescript(
            _HUMBLE_TOPICS + ';'
            'INSERT INTO topics_humble SELECT id, name, type, serialization_format, '
            'offered_qos_profiles FROM topics;'
            'DROP TABLE topics; ALTER TABLE topics_humble RENAME TO topics;'
            'DROP TABLE message_definitions;'
            "UPDATE schema SET schema_version = 3, ros_distro = 'humble';")
        db.commit()
        db.close()
    return dst


def as_jazzy(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` as Jazzy's rosbag2 writes it (version 9, QoS as a YAML list)."""
    _copy(src, dst, version=9)
    _rewrite_metadata(dst, lambda info: info.update(ros_distro='jazzy'))
    return dst
