"""iclverify: verify the sample-complexity claims of Sharma (2025), arXiv:2506.08060.

The application layer: the `iclverify` command joins the `theory` and `simulations` libraries.
"""

import importlib.metadata

try:  # one source of truth: the version pyproject.toml gives the installed distribution
    __version__ = importlib.metadata.version("iclverify")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
