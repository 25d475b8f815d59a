"""The local stand-in of the release hosts for these tests (tests/weights_server.py)."""
from weights_server import release_stand_ins, weights_server  # noqa: F401
