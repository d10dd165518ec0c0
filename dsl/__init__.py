"""The mtus front end: `.mtus` text to a checked model, with diagnostics as data.

Typical use::

    from mtus.dsl import check_file
    result = check_file("guidelines/tpi.mtus")
    if result.ok:
        model = result.model        # dsl.model.Guideline, ready for the backends
    else:
        print(render_text(result.diagnostics, result.sources))
"""

from mtus.dsl.frontend import CheckResult, check_file, check_paths, check_text

__all__ = ["CheckResult", "check_file", "check_paths", "check_text"]
