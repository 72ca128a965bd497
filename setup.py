"""The one compiled part: replicator/_fastmap.c, the apply path's common case in C.

Everything else is in pyproject.toml. The extension is optional: where it cannot be built,
the replicator runs the same Python path (slower) and says so when it starts
(replicator/apply/fastpath.py); the test suite requires it (tests/unit/test_fastmap.py).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("replicator._fastmap", ["replicator/_fastmap.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wno-missing-braces"], optional=True)])
