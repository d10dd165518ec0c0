"""Reading case files (YAML or JSON) safely, keeping the line of every key.

Only plain data is constructed: no tags, no anchors or aliases (so no
expansion bombs), no duplicate keys, bounded size and depth. Dates stay text
here; compiler/check/case.py parses them with its own messages. Every mapping and
list remembers where its entries were written, so errors name the line.
"""

from __future__ import annotations

import functools
import json
import re
from decimal import Decimal

from mtus.compiler.check.bounded import Refused, read_bounded
from mtus.compiler.check.lazyre import Lazy
from mtus.compiler.check.runtime import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

#: Limits for untrusted case files (documented in docs/case-files.md).
MAX_CASE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 20
#: Characters in one text of a case (a value, a key): a diagnosis or a source is a line or two.
MAX_TEXT_CHARS = 20_000
#: Integers written with more characters than this are read as Decimal, not int (see _long_int).
LONG_NUMBER_CHARS = 100
_PLAIN_INT = Lazy(r"[-+]?[0-9_]+", re.ASCII)  # compiled when a YAML number is first read


def _long_int(text: str):
    """JSON integers: int() fails on more than 4,300 digits, so a long one stays an exact Decimal."""
    return int(text) if len(text) <= LONG_NUMBER_CHARS else Decimal(text)


class Problem(Record):
    """One thing wrong with a case file: where (key path and line) and what."""

    __slots__ = ("path", "key", "message", "hint", "line", "severity")
    path: str
    key: str
    message: str
    hint: Optional[str]
    line: Optional[int]
    severity: str  # "error", or "warning": the case is still decided (see case.py's unread facts)

    def __init__(self, path: str, key: str, message: str, hint: Optional[str] = None, line: Optional[int] = None,
                 severity: str = "error") -> None:
        self.path = path
        self.key = key
        self.message = message
        self.hint = hint
        self.line = line
        self.severity = severity

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


#: Nodes (values, mappings, lists) in one YAML case file. A case with 1,000 requests and
#: histories of 1,000 entries stays far below; the limit keeps a 5 MiB file fast to refuse.
MAX_NODES = 100_000


def _no(message: str, mark):
    import yaml

    return yaml.MarkedYAMLError(None, None, message, mark)


@functools.lru_cache(maxsize=1)
def _scalars():
    """Resolves and constructs plain scalars: YAML 1.1 implicit types, floats as exact Decimals, dates as text."""
    import yaml

    class Scalars(yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        def __init__(self):
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def construct_yaml_int(self, node):
            # int() refuses more than 4,300 digits with a ValueError: a long integer is kept
            # exact as a Decimal, and the case reader says it is implausible, naming the key
            text = node.value
            if len(text) > LONG_NUMBER_CHARS:
                return Decimal(text.replace("_", "")) if _PLAIN_INT.fullmatch(text) else text
            return super().construct_yaml_int(node)

        def construct_yaml_float(self, node):
            text = node.value.replace("_", "")  # exact numbers: keep the digits as written
            try:
                return Decimal(text)
            except Exception:  # .inf, .nan, sexagesimal: as PyYAML reads them
                return super().construct_yaml_float(node)

    Scalars.add_constructor("tag:yaml.org,2002:int", Scalars.construct_yaml_int)
    Scalars.add_constructor("tag:yaml.org,2002:float", Scalars.construct_yaml_float)
    Scalars.add_constructor("tag:yaml.org,2002:timestamp", lambda self, node: node.value)
    return Scalars()


def _load_yaml(text: str) -> Any:
    """Plain data from YAML, built from the parser's events (libyaml's when installed).

    Refused with the line: anchors, aliases and tags (plain data only, no
    expansion bombs), duplicate keys, keys that are not plain values, nesting
    beyond MAX_DEPTH, more than MAX_NODES nodes, a second document. Nothing
    recurses, and the events are pulled one at a time, so a refusal costs no
    more than the input up to it.
    """
    import yaml
    from yaml import events as ev

    parser = yaml.cyaml.CParser(text) if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader(text)
    try:
        scalars = _scalars()
        ScalarNode = yaml.ScalarNode
        resolve, constructors = scalars.resolve, scalars.yaml_constructors
        root: Any = None
        stack: list = []  # open collections: [container, is_mapping, key awaiting its value (or _NO_KEY)]
        nodes = documents = 0
        while True:
            e = parser.get_event()
            kind = type(e)
            if kind is ev.ScalarEvent or kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                if e.anchor is not None:
                    raise _no("anchors (&name) and aliases (*name) are not allowed in case files", e.start_mark)
                if e.tag is not None and e.tag != "!":  # "!" is the plain quoted style, not a tag
                    raise _no(f"the tag `{_short_tag(e.tag)}` is not allowed in case files", e.start_mark)
                nodes += 1
                if nodes > MAX_NODES:
                    raise _no(f"the case file has more than {MAX_NODES:,} values", e.start_mark)
                if kind is ev.ScalarEvent:
                    tag = "tag:yaml.org,2002:str" if e.tag == "!" else resolve(ScalarNode, e.value, e.implicit)
                    make = constructors.get(tag)  # none for YAML 1.1's `=` (!!value): it is text
                    value = make(scalars, ScalarNode(tag, e.value, e.start_mark, e.end_mark)) if make else e.value
                elif kind is ev.MappingStartEvent:
                    value = LDict()
                    value.lines = {}
                else:
                    value = LList()
                    value.lines = []
                if stack:
                    top = stack[-1]
                    if top[1]:
                        if top[2] is _NO_KEY:  # this node is a key
                            if kind is not ev.ScalarEvent:
                                raise _no("a key must be a plain value, not a mapping or a list", e.start_mark)
                            key = value if isinstance(value, str) else str(value)
                            if key in top[0]:
                                raise _no(f"the key `{key}` appears twice in this mapping", e.start_mark)
                            top[0].lines[key] = e.start_mark.line + 1
                            top[2] = key
                            continue
                        top[0][top[2]] = value
                        top[2] = _NO_KEY
                    else:
                        top[0].append(value)
                        top[0].lines.append(e.start_mark.line + 1)
                else:
                    root = value
                if kind is not ev.ScalarEvent:
                    if len(stack) > MAX_DEPTH:
                        raise _no(f"the case file is nested more than {MAX_DEPTH} levels deep", e.start_mark)
                    stack.append([value, kind is ev.MappingStartEvent, _NO_KEY])
            elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                stack.pop()
            elif kind is ev.AliasEvent:
                raise _no("anchors (&name) and aliases (*name) are not allowed in case files", e.start_mark)
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _no("a case file holds one YAML document", e.start_mark)
            elif kind is ev.StreamEndEvent:
                return root
    finally:
        parser.dispose()


_NO_KEY = object()


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def shape_problem(value: Any, path: str) -> Optional[Problem]:
    """The first place the data is nested too deeply or holds an over-long text, as a Problem; None if neither.

    One pass, without recursion. Long texts are refused here, once, because every
    later step (routing, hints, letters that wrap text) is at least linear in them.
    """
    stack = [(value, 0, "", None)]
    while stack:
        v, d, key, line = stack.pop()
        if d > MAX_DEPTH:
            return Problem(path, key, f"the case file is nested more than {MAX_DEPTH} levels deep", line=line)
        if isinstance(v, dict):
            line_of = v.line_of if isinstance(v, LDict) else (lambda k: None)
            for k, x in v.items():
                if len(k) > MAX_TEXT_CHARS:
                    return Problem(path, key, f"a key is longer than {MAX_TEXT_CHARS:,} characters", line=line_of(k))
                stack.append((x, d + 1, f"{key}.{k}" if key else k, line_of(k)))
        elif isinstance(v, list):
            lines = [v.line_of(i) for i in range(len(v))] if isinstance(v, LList) else [line] * len(v)
            stack.extend((x, d + 1, f"{key}[{i}]", lines[i]) for i, x in enumerate(v))
        elif isinstance(v, str) and len(v) > MAX_TEXT_CHARS:
            return Problem(path, key, f"the text is {len(v):,} characters; a text in a case may be at most "
                                      f"{MAX_TEXT_CHARS:,}", "is this the right value?", line)
    return None


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
            data = _load_yaml(text)
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
    problem = shape_problem(data, path)
    if problem is not None:
        raise CaseError([problem])
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
