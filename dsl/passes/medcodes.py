"""The shapes of diagnosis and procedure codes: ICD-10-CM, CPT and HCPCS codes and the patterns over them.

A guideline writes a code (`"M79.1"`), a code and every code below it
(`"M79.1*"`) or a range (`"M54.10-M54.18"`, each end a code; the codes below
an end are in the range). `check` says what is wrong with a pattern as the
author wrote it, at compile time; matching is compiler/check/runtime.py's
`code_matches`.
"""

from __future__ import annotations

import re
from typing import Optional

ICD10, CPT = "icd10", "cpt"

#: An ICD-10-CM code: a letter, a digit, a letter or digit, then up to four more after a dot (M79.1, S32.001A).
_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?\Z")
#: A CPT code (five digits, or four and F or T for categories II and III) or an HCPCS Level II code (J1030).
_CPT = re.compile(r"([0-9]{4}[0-9FT]|[A-V][0-9]{4})\Z")
#: The two halves of _CPT, told apart where a guideline names the system (`services cpt 20552, hcpcs E0730`).
PROCEDURE_SYSTEMS = {"cpt": re.compile(r"[0-9]{4}[0-9FT]\Z"), "hcpcs": re.compile(r"[A-V][0-9]{4}\Z")}
_PREFIX = {ICD10: re.compile(r"[A-Z]([0-9]([0-9A-Z](\.?[0-9A-Z]{0,4})?)?)?\Z"),
           CPT: re.compile(r"([0-9]{1,5}|[A-V][0-9]{0,4})\Z")}

NAMES = {ICD10: "an ICD-10-CM code", CPT: "a CPT or HCPCS code"}
EXAMPLES = {ICD10: '"M79.1", "M79.1*" (M79.1 and the codes below it) or "M54.10-M54.18"',
            CPT: '"20552", "9711*" or "97110-97140" (HCPCS: "J1030")'}


def normal(code: str) -> str:
    """A code as compared: upper case, without spaces or dots."""
    return "".join(code.split()).replace(".", "").upper()


def is_code(text: str, system: str) -> bool:
    """Whether text is one code of the system (no pattern)."""
    t = "".join(text.split()).upper()
    return bool((_ICD10 if system == ICD10 else _CPT).match(t))


def check(text: str, system: str) -> Optional[str]:
    """None if text is a code or pattern of the system, else what is wrong with it."""
    t = "".join(text.split()).upper()
    if t.endswith("*"):
        return None if _PREFIX[system].match(t[:-1]) and t[:-1] else f'"{text}" is not the start of {NAMES[system]}'
    if "-" in t:
        lo, _, hi = t.partition("-")
        for end in (lo, hi):
            if not is_code(end, system):
                return f'"{end}" in the range "{text}" is not {NAMES[system]}'
        if normal(lo) > normal(hi):
            return f'the range "{text}" ends below where it starts'
        return None
    return None if is_code(t, system) else f'"{text}" is not {NAMES[system]}'


def procedure_system(code: str) -> Optional[str]:
    """"cpt" for a CPT code (20552, 0232T), "hcpcs" for an HCPCS Level II code (E0730), else None."""
    t = code.upper()
    return next((name for name, shape in PROCEDURE_SYSTEMS.items() if shape.match(t)), None)
