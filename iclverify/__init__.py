"""iclverify: verify the sample-complexity claims of Sharma (2025), arXiv:2506.08060.

The application layer: the `iclverify` command joins the `theory` and `simulations` libraries.
"""

__version__ = "0.1.0"
