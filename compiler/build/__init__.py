"""Compile time: what turns checked models into a pack.

The Python checker generator and its safe code writer, the reference
interpreter, the pack data each guideline carries, and pack writing.
"""
