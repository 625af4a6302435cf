"""Build hook: ship the pinned top-level ``metrics/`` and ``judges/`` folders inside the wheel as
``halluscope/_pinned/<folder>/`` (``halluscope.resources.spec_path`` looks there first, and in the
source tree's top-level folders when running from a checkout or an editable install)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PINNED = ("metrics", "judges")


class BuildWithPinned(build_py):
    def run(self):
        super().run()
        root = Path(__file__).parent
        for folder in PINNED:
            src = root / folder
            if src.is_dir():
                dst = Path(self.build_lib) / "halluscope" / "_pinned" / folder
                shutil.copytree(src, dst, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithPinned})
