"""Chat templates written to hang or exhaust a program that renders them, each with the
word its refusal must contain ("too long", "too much memory", or the sentence of a template
that refuses)."""

from __future__ import annotations

#: name -> (template source, expected words in Hearth's sentence about it)
HOSTILE: dict[str, tuple[str, str]] = {
    "nested_loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "takes too long",
    ),
    "silent_nested_loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "takes too long",
    ),
    "string_repeat": ('{{ "a" * 3000000000 }}', "too much memory"),
    "list_repeat": ("{{ [1, 2] * 3000000000 }}", "too much memory"),
    "doubling_concat": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        "too much memory",
    ),
    "doubling_plus": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s|length }}",
        "too much memory",
    ),
    "macro_recursion": (
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "too much memory",
    ),
    "branching_recursion": (
        "{% macro f(n) %}{% if n < 60 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
        "{{ f(0) }}",
        "takes too long",
    ),
    "huge_range": ("{% for i in range(10**12) %}{{ i }}{% endfor %}", "too much memory"),
    "huge_range_list": ("{{ range(999999999)|list|length }}", "too much memory"),
    "cycler_abuse": (
        "{% set c = cycler(*range(100000)) %}{% for i in range(100000) %}{% for j in "
        "range(100000) %}{{ c.next() }}{% endfor %}{% endfor %}",
        "takes too long",
    ),
    "joiner_abuse": (
        "{% set j = joiner('x' * 900000) %}{% for i in range(100000) %}{{ j() }}{% endfor %}",
        "too much memory",
    ),
    "mro_walk": (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "could not be rendered",
    ),
    "globals_walk": (
        "{{ raise_exception.__globals__['__builtins__']['open']('/etc/passwd').read() }}",
        "could not be rendered",
    ),
    "wordwrap_huge": ("{{ ('word ' * 200000)|wordwrap(3) }}", "too long"),
    "indent_huge": ("{{ ('a\\n' * 400000)|indent(3000) }}", "too much memory"),
    "center_huge": ("{{ 'a'|center(3000000000) }}", "too much memory"),
    "replace_blowup": (
        "{% set ns = namespace(s='aaaa') %}{% for i in range(30) %}"
        "{% set ns.s = ns.s|replace('a', 'aaaa') %}{% endfor %}{{ ns.s }}",
        "too much memory",
    ),
    "format_width": ("{{ '%3000000000d' % 1 }}", "too much memory"),
    "str_format_width": ("{{ '{:>3000000000}'.format(1) }}", "too much memory"),
    "big_power": ("{{ 10 ** 100000000 }}", "too much memory"),
    "tojson_blowup": (
        "{% set s = 'x' * 900000 %}{{ ([s] * 50000)|tojson }}",
        "too much memory",
    ),
    "set_block_output": (
        "{% set big %}{% for i in range(100000) %}{{ 'y' * 900000 }}{% endfor %}{% endset %}",
        "too much memory",
    ),
    "raises": ("{{ raise_exception('This file is broken on purpose') }}", "broken on purpose"),
    "divides_by_zero": ("{{ 1 // 0 }}", "could not be rendered"),
}
