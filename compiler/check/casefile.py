"""Reading case files (YAML or JSON) safely, keeping the line of every key.

Only plain data is constructed: no tags, no anchors or aliases (so no
expansion bombs), no duplicate keys, bounded size and depth. Dates stay text
here; compiler/check/case.py parses them with its own messages. Every mapping and
list remembers where its entries were written, so errors name the line.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Optional

import attrs

from mtus.compiler.check.bounded import Refused, read_bounded

#: Limits for untrusted case files (documented in docs/case-files.md).
MAX_CASE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 20
#: Integers written with more characters than this are read as Decimal, not int (see _long_int).
LONG_NUMBER_CHARS = 100
_PLAIN_INT = re.compile(r"[-+]?[0-9_]+", re.ASCII)


def _long_int(text: str):
    """JSON integers: int() fails on more than 4,300 digits, so a long one stays an exact Decimal."""
    return int(text) if len(text) <= LONG_NUMBER_CHARS else Decimal(text)


@attrs.frozen
class Problem:
    """One thing wrong with a case file: where (key path and line) and what."""

    path: str
    key: str
    message: str
    hint: Optional[str] = None
    line: Optional[int] = None
    severity: str = "error"  # or "warning": the case is still decided (see case.py's unread facts)

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        key = f" {self.key}:" if self.key else ""
        out = f"{where}: {self.severity}:{key} {self.message}"
        if self.hint:
            out += f"\nhint: {self.hint}"
        return out

    def to_json(self) -> dict:
        return {"severity": self.severity, "path": self.path, "key": self.key, "line": self.line,
                "message": self.message, "hint": self.hint}


class CaseError(Exception):
    """A case file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems) + "\n"


class LDict(dict):
    """A mapping that remembers the line of each key (1-based; None for JSON)."""

    lines: dict

    def line_of(self, key) -> Optional[int]:
        return getattr(self, "lines", {}).get(key)


class LList(list):
    lines: list

    def line_of(self, i) -> Optional[int]:
        lines = getattr(self, "lines", None)
        return lines[i] if lines and i < len(lines) else None


def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader without aliases, custom tags or duplicate keys; dates left as text."""

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise yaml.MarkedYAMLError(None, None, "anchors (&name) and aliases (*name) are not allowed in case "
                                                       "files", event.start_mark)
            if len(self.resolver_exact_paths) > MAX_DEPTH:  # pragma: no cover - belt and braces
                raise yaml.MarkedYAMLError(None, None, "the case file is nested too deeply", self.peek_event().start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            if not isinstance(node, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(None, None, "expected a mapping", node.start_mark)
            out = LDict()
            out.lines = {}
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    raise yaml.MarkedYAMLError(None, None, f"the key `{key}` appears twice in this mapping",
                                               key_node.start_mark)
                out[key] = self.construct_object(value_node, deep=True)
                out.lines[key] = key_node.start_mark.line + 1
            return out

        def construct_sequence(self, node, deep=False):
            out = LList(self.construct_object(child, deep=True) for child in node.value)
            out.lines = [child.start_mark.line + 1 for child in node.value]
            return out

        def construct_yaml_int(self, node):
            # int() refuses more than 4,300 digits with a ValueError: a long integer is kept
            # exact as a Decimal, and the case reader says it is implausible, naming the key
            text = self.construct_scalar(node)
            if len(text) > LONG_NUMBER_CHARS:
                return Decimal(text.replace("_", "")) if _PLAIN_INT.fullmatch(text) else text
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node):
            # exact numbers: keep the digits as written
            text = self.construct_scalar(node).replace("_", "")
            try:
                return Decimal(text)
            except Exception:
                return super().construct_yaml_float(node)

    Loader.add_constructor("tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node))
    Loader.add_constructor("tag:yaml.org,2002:seq", lambda loader, node: loader.construct_sequence(node))
    Loader.add_constructor("tag:yaml.org,2002:float", Loader.construct_yaml_float)
    Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
    # Any other tag (!!python/object, custom !tags) is refused by SafeLoader's constructor.
    return Loader


def _depth(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return False
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return True


def parse_case_text(text: str, path: str) -> Any:
    """Parse case text (JSON if it starts with `{` or the file ends in .json, else YAML)."""
    if path.endswith(".json") or text.lstrip().startswith("{"):
        def pairs(items):
            out = LDict()
            for k, v in items:
                if k in out:
                    raise CaseError([Problem(path, k, f"the key `{k}` appears twice in the same object")])
                out[k] = v
            return out
        try:
            data = json.loads(text, object_pairs_hook=pairs, parse_float=Decimal, parse_int=_long_int)
        except json.JSONDecodeError as e:
            raise CaseError([Problem(path, "", f"this is not valid JSON: {e.msg} (column {e.colno})",
                                     line=e.lineno)]) from None
        except RecursionError:
            raise CaseError([Problem(path, "", "the case file is nested too deeply")]) from None
        except ValueError as e:  # a value the decoder's hooks refuse; the line is not known
            raise CaseError([Problem(path, "", f"this is not valid JSON: {e}")]) from None
    else:
        import yaml
        try:
            data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            problem = e.problem or e.context or "this is not valid YAML"
            if "constructor for the tag" in problem:
                tag = problem.split("tag:yaml.org,2002:")[-1].split("'")[0]
                problem = f"the tag `!!{tag}` is not allowed in case files"
            raise CaseError([Problem(path, "", problem.rstrip("."), line=mark.line + 1 if mark else None,
                                     hint="case files are plain YAML or JSON mappings; see docs/case-files.md")]) from None
        except yaml.YAMLError as e:
            raise CaseError([Problem(path, "", f"this is not valid YAML: {e}")]) from None
        except RecursionError:
            raise CaseError([Problem(path, "", "the case file is nested too deeply")]) from None
        except (ValueError, OverflowError) as e:  # a constructor's own refusal, without a line
            raise CaseError([Problem(path, "", f"this is not valid YAML: {e}")]) from None
    if not _depth(data, MAX_DEPTH):
        raise CaseError([Problem(path, "", f"the case file is nested more than {MAX_DEPTH} levels deep")])
    if isinstance(data, LDict) and "#" in text and not text.lstrip().startswith("{"):
        data.warnings = comment_in_item(text, path)  # the case reader adds them to Case.warnings
    return data


#: `item: Norco 10/325 #180`: a plain (unquoted) item, then `#` with no space after it.
_ITEM_COMMENT = re.compile(r"^[ \t]*(?:-[ \t]+)?item:[ \t]+(?P<value>[^\s'\"#|>][^#\n]*?)[ \t]+#(?P<rest>\S[^\n]*)$",
                           re.M)


def comment_in_item(text: str, path: str) -> list[Problem]:
    """Request items that YAML cut short where a `#` starts a comment (`Norco 10/325 #180` reads "Norco 10/325").

    Found in the raw text, since the parsed value no longer shows it; a `#`
    followed by a space is taken as a comment meant as one.
    """
    out = []
    for m in _ITEM_COMMENT.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        column = m.start("rest") - text.rfind("\n", 0, m.start()) - 1
        value, rest = m.group("value"), m.group("rest").rstrip()
        out.append(Problem(path, "item", f'the item ends at column {column}, where `#{rest}` starts a YAML comment: '
                           f'the request reads "{value}"',
                           f'quote the item to keep the `#`: item: "{value} #{rest}"', line, "warning"))
    return out


def read_case_stream(stream, name: str = "<stdin>") -> Any:
    """Read and parse a case from an open stream (`mtus check -`), with the file's size limit and UTF-8."""
    binary = getattr(stream, "buffer", stream)
    data = binary.read(MAX_CASE_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_CASE_BYTES:
        raise CaseError([Problem(name, "", f"the case is more than {MAX_CASE_BYTES:,} bytes, the limit")])
    return _decode(data, name)


def read_case_file(path: str) -> Any:
    """Read and parse a case file, enforcing the size limit and UTF-8."""
    try:
        data = read_bounded(path, MAX_CASE_BYTES)  # the limit is the read's, not stat()'s: /dev/zero has no size
    except Refused as e:
        if e.too_large:
            raise CaseError([Problem(path, "", f"the case file is larger than the limit of {MAX_CASE_BYTES:,} bytes",
                                     hint="is this the right file? a case is a few kilobytes")]) from None
        raise CaseError([Problem(path, "", "the case file is not a regular file (a device, a pipe or a folder)",
                                 hint="save the case to a file and name that file")]) from None
    except OSError as e:
        raise CaseError([Problem(path, "", f"cannot read the case file: {e.strerror or e}")]) from None
    except ValueError as e:  # a NUL character in the path itself
        raise CaseError([Problem(path, "", f"cannot read the case file: {e}")]) from None
    return _decode(data, path)


def _decode(data: bytes, path: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CaseError([Problem(path, "", f"the case file is not UTF-8 text (byte {e.start})",
                                 hint="save it as UTF-8")]) from None
    return parse_case_text(text, path)
