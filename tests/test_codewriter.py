"""The code writer's bookkeeping: indentation, each line's `.mtus` origin, the line table, imported names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtus.compiler.build.codegen import _words
from mtus.compiler.build.codewriter import CodeWriter, literal, mangle


def test_origins_nest_and_a_line_can_name_its_own():
    w = CodeWriter()
    w.line("a = 1")  # no origin
    with w.origin(10):
        w.line("def f():")
        with w.indent():
            w.line("b = 2", 12)  # its own origin, inside the block's
            w.line("c = 3")
            with w.origin(None):  # None keeps the enclosing origin
                w.line("d = 4")
            w.line()
        w.line("e = 5")
    assert w.getvalue() == "a = 1\ndef f():\n    b = 2\n    c = 3\n    d = 4\n\ne = 5\n"
    # a blank line has no origin and breaks a range; line numbers are those of the writer's own lines
    assert w.source_lines() == ((2, 2, 10), (3, 3, 12), (4, 5, 10), (7, 7, 10))
    # numbered from where the writer's first line lands in a module
    assert w.source_lines(first=31) == ((32, 32, 10), (33, 33, 12), (34, 35, 10), (37, 37, 10))


def test_origin_is_restored_after_an_error_inside():
    w = CodeWriter()
    with w.origin(3):
        with pytest.raises(ValueError):
            with w.origin(4), w.indent():
                w.line("x = 1\u2029")  # a paragraph separator is a line break too
        w.line("y = 2")
    assert w.getvalue() == "y = 2\n" and w.source_lines() == ((1, 1, 3),)


def test_mangle_writes_any_name_that_is_not_a_plain_ascii_identifier_as_hex():
    assert mangle("f", "visits_1") == "f_visits_1"
    assert mangle("f", "class") == "f_class"
    for name in ("1st", "días", "a-b", "", "a\nb", "ſ"):
        assert mangle("f", name) == "fX_" + name.encode("utf-8").hex()
    with pytest.raises(ValueError):
        mangle("F", "x")
    with pytest.raises(ValueError):
        mangle("f_", "x")


@given(st.text(max_size=12))
def test_mangle_with_a_one_letter_prefix_changes_only_that_letter(name):
    # the code generator names a fact's d_, m_ and r_ locals from its f_ one (codegen._Generator)
    f = mangle("f", name)
    assert [p + f[1:] for p in "dmr"] == [mangle(p, name) for p in "dmr"]


def test_literal_of_a_tuple_writes_each_item_exactly():
    assert literal(()) == "()"
    assert literal(("a",)) == "('a',)"
    assert literal(("a", 1, True, None, ("b",))) == "('a', 1, True, None, ('b',))"

    class Sneaky(str):
        def __repr__(self):
            return "__import__('os')"

    with pytest.raises(TypeError):
        literal(("a", Sneaky("b")))


def test_words_are_runs_of_word_characters_less_leading_digits():
    text = "x = add(_t1, 2) # 3between 'compare' f_member é_union 10"
    words = _words(text)
    assert {b"x", b"add", b"_t1", b"between", b"compare", b"f_member", b"_union"} <= words
    assert b"member" not in words and b"t1" not in words and b"union" not in words
