"""Check time: what a reviewer's `mtus check` loads.

The runtime the compiled checkers import, pack loading and verification, case
reading, letters, batch checking and the Python API. Nothing here imports the
front end (mtus.dsl), Lark or the code generator (tests/test_layers.py keeps it so).
"""
