from glob import glob
import os

from setuptools import find_packages
from setuptools import setup

package_name = 'pi05_ros'

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
         glob(os.path.join('config', '*.yaml'))),
        (os.path.join('share', package_name, 'config', 'profiles'),
         glob(os.path.join('config', 'profiles', '*.yaml'))),
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
    ],
    extras_require={
        'test': [
            'pytest>=7',
            'hypothesis>=6.80',
            'openpi-client>=0.1',
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
            'policy_node = pi05_ros.nodes.policy_node:main',
            'executor_node = pi05_ros.nodes.executor_node:main',
            'sim_robot_node = pi05_ros.nodes.sim_robot_node:main',
            'replay_eval = pi05_ros.replay.cli:main',
            'pi05-replay = pi05_ros.replay.cli:main',
            'pi05-convert = pi05_ros.policy.convert:main',
            'pi05-check-golden = pi05_ros.model.check_golden:main',
        ],
    },
)
