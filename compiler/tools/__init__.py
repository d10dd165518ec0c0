"""The tools people run: the command line, lint, the language server, `mtus test`.

Thin over check/ and build/: each command parses its arguments and calls
library functions that the tests call too.
"""
