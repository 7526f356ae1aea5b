"""A jinja2 sandbox that renders a model file's chat template within time and memory limits.

A chat template is code from a downloaded file. jinja2's `ImmutableSandboxedEnvironment` keeps
it away from Python objects, but not from the clock or the memory: two nested `range(100000)`
loops or `"a" * 3000000000` would hang or exhaust the process. This environment adds, for
each render (`bounded_render`):

- a deadline, checked on every loop iteration, call, filter, operator and piece of output;
- a cap on every string or list a template builds (size predicted *before* `*`, `+`, `%`,
  `str.center`, `replace`, `join`, `indent`, `tojson`, ... allocate) and on the characters
  built over the whole render (output included, even inside `{% set %}` blocks and macros);
- caps on loop iterations, `range` sizes, calls and call depth (macro recursion).

Loops, output and `~` concatenation are routed through these checks by rewriting the parsed
template (the For iterables, Output nodes and Concat operands get a checking filter), so
nothing a template does escapes them. It also provides what transformers provides to chat
templates: `{% break %}`/`{% continue %}`, `{% generation %}`, `raise_exception`,
`strftime_now`, `namespace`, `dict` and a `tojson` with its options.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from desktop.core.errors import TemplateError


@dataclass(frozen=True)
class RenderLimits:
    """How much one render may take. Sizes are in characters or items."""

    time_s: float = 1.0
    max_string: int = 1_000_000  # any one string or output; raised for long conversations
    work_factor: int = 16  # characters built in a whole render: this many `max_string`
    max_items: int = 100_000  # any one list, and any `range`
    max_iterations: int = 200_000  # loop iterations in a whole render
    max_calls: int = 200_000  # calls (macros, methods, filters) in a whole render
    max_depth: int = 64  # nested calls: macro recursion
    max_source: int = 1_000_000  # characters of template source
    max_int_bits: int = 4096  # integers a template computes


class TemplateLimitError(TemplateError):
    """A render broke a limit. `kind` is "time" or "memory"."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        what = "takes too long" if kind == "time" else "needs too much memory"
        super().__init__(f"The model's chat template {what} to render ({detail}).")


class RaisedByTemplate(TemplateError):
    """The template called `raise_exception`: it refuses the conversation. `rule` is its text."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(f'The model\'s chat template does not accept this conversation: "{rule}".')


class _Budget:
    def __init__(self, limits: RenderLimits, max_string: int) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.time_s
        self.max_string = max_string
        self.work_left = max_string * limits.work_factor
        self.iterations = 0
        self.calls = 0
        self.depth = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError("time", f"more than {self.limits.time_s:g} s")

    def spend(self, size: int) -> None:
        if size > self.max_string:
            raise TemplateLimitError(
                "memory", f"a text of more than {self.max_string:,} characters"
            )
        self.work_left -= size
        if self.work_left < 0:
            total = self.max_string * self.limits.work_factor
            raise TemplateLimitError("memory", f"more than {total:,} characters built")

    def items(self, count: int) -> None:
        if count > self.limits.max_items:
            limit = self.limits.max_items
            raise TemplateLimitError("memory", f"a list of more than {limit:,} items")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget")


def _budget() -> _Budget:
    budget = _BUDGET.get(None)
    if budget is None:  # only `bounded_render` runs templates of this environment
        raise TemplateError("A chat template was rendered without its limits.")
    return budget


def size_of(value: Any, cap: int) -> int:
    """About how many characters `str(value)` takes; stops counting past `cap`."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bool, float, type(None))):
        return 8
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    total = 2
    if isinstance(value, Mapping):
        pairs: Iterable[Any] = (x for kv in value.items() for x in kv)
    elif isinstance(value, (list, tuple, set, frozenset)):
        pairs = value
    else:
        return 64
    for item in pairs:
        total += size_of(item, cap) + 4
        if total > cap:
            break
    return total


_BIG_WIDTH = re.compile(r"\d{7,}")


def _check_format(fmt: str, values: Iterable[Any], budget: _Budget) -> None:
    if _BIG_WIDTH.search(fmt):
        raise TemplateLimitError("memory", "a format with a huge width")
    budget.spend(len(fmt) + sum(size_of(v, budget.max_string) for v in values))


def _check_args(args: Iterable[Any], budget: _Budget) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > budget.max_string:
            raise TemplateLimitError("memory", f"a size of {arg:,}")


def _predict_str_method(text: str, name: str, args: tuple[Any, ...], budget: _Budget) -> None:
    """Refuse a str method call whose result would break the size limit, before it runs."""
    if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        budget.spend(max(len(text), args[0]))
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        budget.spend(len(text) + text.count("\t") * max(tab, 0))
    elif name == "replace" and len(args) >= 2:
        _predict_replace(text, args[0], args[1], budget)
    elif name == "join" and args:
        _predict_join(text, args[0], budget)
    elif name in ("format", "format_map"):
        _check_format(text, args, budget)


def _predict_replace(text: Any, old: Any, new: Any, budget: _Budget) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        budget.spend(len(text) + text.count(old) * max(0, len(new) - len(old)))


def _predict_join(sep: str, items: Any, budget: _Budget) -> None:
    if isinstance(items, (list, tuple)):
        budget.items(len(items))
        budget.spend(sum(size_of(i, budget.max_string) for i in items) + len(sep) * len(items))


class _BoundedLoop:
    """The iterable of a `{% for %}`: counts iterations and checks the deadline."""

    def __init__(self, iterable: Any) -> None:
        self._iterable = iterable

    def __len__(self) -> int:
        return len(self._iterable)

    def __iter__(self) -> Iterator[Any]:
        budget = _budget()
        for item in self._iterable:
            budget.iterations += 1
            if budget.iterations > budget.limits.max_iterations:
                raise TemplateLimitError(
                    "time", f"more than {budget.limits.max_iterations:,} loop iterations"
                )
            budget.tick()
            yield item


def _loop_filter(iterable: Any) -> Any:
    # Undefined and None keep their own errors; strings and lists are already bounded.
    if isinstance(iterable, jinja2.Undefined) or iterable is None:
        return iterable
    return _BoundedLoop(iterable)


def _piece_filter(value: Any) -> Any:
    """A piece of output or of a `~` concatenation: counted before `str()` makes it."""
    budget = _budget()
    budget.tick()
    budget.spend(size_of(value, budget.max_string))
    return value


def _bounded_range(*args: int) -> range:
    budget = _budget()
    span = range(*args)
    budget.items(len(span))
    return span


def _raise_exception(message: Any) -> NoReturn:
    raise RaisedByTemplate(str(message))


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """transformers' `tojson`, built piece by piece so a huge result stops early."""
    budget = _budget()
    if isinstance(indent, int) and indent > 64:
        raise TemplateLimitError("memory", f"a JSON indent of {indent:,}")
    encoder = json.JSONEncoder(
        ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )
    parts, size = [], 0
    for chunk in encoder.iterencode(value):
        size += len(chunk)
        budget.spend(len(chunk))
        if size > budget.max_string:
            budget.spend(size)
        parts.append(chunk)
    return "".join(parts)


class _TemplateDict:
    """`dict` for templates (as transformers gives it): building dicts, nothing more."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict.fromkeys(*args, **kwargs)


class _TemplateNamespace(jinja2.utils.Namespace):
    """A `namespace` that refuses underscore names (as transformers' does)."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # jinja's signature trick
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for name in attrs:
            _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"a namespace cannot hold {name!r}")


class GenerationExtension(Extension):
    """transformers' `{% generation %}...{% endgeneration %}`: marks the assistant's tokens
    for training; rendering it is rendering its body."""

    tags = {"generation"}  # noqa: RUF012 (jinja's own declaration)

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)


#: What jinja passes to filters marked `pass_environment`, `pass_eval_context`, `pass_context`.
_PASSED = (jinja2.Environment, nodes.EvalContext, jinja2.runtime.Context)
#: Filters that can run for long on a big input, with the longest input they accept.
_SLOW_FILTERS = {"wordwrap": 100_000, "urlize": 100_000, "pprint": 100_000, "striptags": 1_000_000}


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        values = [a for a in args if not isinstance(a, _PASSED)]
        _check_args([*values[1:], *kwargs.values()], budget)
        if values:
            _predict_filter(name, values[0], values[1:], kwargs, budget)
        result = func(*args, **kwargs)
        _check_result(result, budget)
        return result

    for attr in ("jinja_pass_arg",):
        if hasattr(func, attr):
            setattr(checked, attr, getattr(func, attr))
    return checked


def _predict_filter(
    name: str, value: Any, args: list[Any], kwargs: dict[str, Any], budget: _Budget
) -> None:
    if name in _SLOW_FILTERS and size_of(value, budget.max_string) > _SLOW_FILTERS[name]:
        raise TemplateLimitError("time", f"the {name} filter on a text that long")
    if name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        width_len = width if isinstance(width, int) else len(str(width))
        budget.spend(len(value) + (value.count("\n") + 1) * max(width_len, 0))
    elif name == "center" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 80)
        budget.spend(max(len(value), width if isinstance(width, int) else 0))
    elif name == "replace" and len(args) >= 2:
        _predict_replace(value, args[0], args[1], budget)
    elif name == "join":
        sep = args[0] if args else kwargs.get("d", "")
        items = list(value) if isinstance(value, _BoundedLoop) else value
        _predict_join(str(sep), items, budget)
    elif name == "format" and isinstance(value, str):
        _check_format(value, [*args, *kwargs.values()], budget)
    elif name in ("string", "pprint", "list"):
        budget.spend(size_of(value, budget.max_string))


def _check_result(result: Any, budget: _Budget) -> None:
    if isinstance(result, str):
        budget.spend(len(result))
    elif isinstance(result, (list, tuple)):
        budget.items(len(result))


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox for chat templates; render only through `bounded_render`."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, now: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
            extensions=[GenerationExtension, "jinja2.ext.loopcontrols"],
        )
        self.globals.pop("lipsum", None)  # its size argument cannot be bounded
        self.globals.update(
            raise_exception=_raise_exception,
            strftime_now=lambda fmt: now().strftime(fmt),
            range=_bounded_range,
            dict=_TemplateDict(),
            namespace=_TemplateNamespace,
        )
        self.filters["tojson"] = _tojson
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters["hearth_loop"] = _loop_filter
        self.filters["hearth_piece"] = _piece_filter

    # -- rewriting the parsed template -----------------------------------------------------
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = _filtered(loop.iter, "hearth_loop")
        for output in tree.find_all(nodes.Output):
            output.nodes = [_filtered(n, "hearth_piece") for n in output.nodes]
        for concat in tree.find_all(nodes.Concat):
            concat.nodes = [_filtered(n, "hearth_piece") for n in concat.nodes]
        return tree

    # -- checks on what a template does ----------------------------------------------------
    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        budget.calls += 1
        if budget.calls > budget.limits.max_calls:
            raise TemplateLimitError("time", f"more than {budget.limits.max_calls:,} calls")
        _check_args([*args, *kwargs.values()], budget)
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            _predict_str_method(owner, getattr(target, "__name__", ""), args, budget)
        budget.depth += 1
        try:
            if budget.depth > budget.limits.max_depth:
                raise TemplateLimitError(
                    "memory", f"calls nested more than {budget.limits.max_depth} deep"
                )
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        _check_result(result, budget)
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        _predict_binop(operator, left, right, budget)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, int) and result.bit_length() > budget.limits.max_int_bits:
            raise TemplateLimitError("memory", "a number too large")
        _check_result(result, budget)
        return result


def _predict_binop(operator: str, left: Any, right: Any, budget: _Budget) -> None:
    limits = budget.limits
    if operator == "*":
        seq, count = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
            if isinstance(seq, str):
                budget.spend(len(seq) * max(count, 0))
            else:
                budget.items(len(seq) * max(count, 0))
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > limits.max_int_bits
        ):
            raise TemplateLimitError("memory", "a number too large")
    elif operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            budget.spend(len(left) + len(right))
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            budget.items(len(left) + len(right))
            budget.spend(size_of(right, budget.max_string))
    elif operator == "%" and isinstance(left, str):
        values = right if isinstance(right, (tuple, Mapping)) else (right,)
        _check_format(left, values.values() if isinstance(values, Mapping) else values, budget)
    elif (
        operator == "**"
        and isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and left.bit_length() * right > limits.max_int_bits
    ):
        raise TemplateLimitError("memory", "a number too large")


def _filtered(node: nodes.Node, name: str) -> nodes.Expr:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def bounded_render(
    compiled: jinja2.Template,
    limits: RenderLimits,
    variables: dict[str, Any],
    input_chars: int,
) -> str:
    """Render `compiled` (made by a `BoundedEnvironment`) within `limits`.

    Strings may grow to twice the conversation's size (`input_chars`) or `max_string`,
    whichever is larger. Raises `TemplateLimitError` when a limit is broken.
    """
    budget = _Budget(limits, max(limits.max_string, 2 * input_chars))
    token = _BUDGET.set(budget)
    try:
        parts: list[str] = []
        size = 0
        for chunk in compiled.generate(**variables):
            size += len(chunk)
            if size > budget.max_string:
                budget.spend(size)
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)


def compile_bounded(env: BoundedEnvironment, source: str, limits: RenderLimits) -> jinja2.Template:
    if len(source) > limits.max_source:
        raise TemplateLimitError("memory", f"{len(source):,} characters of template")
    return env.from_string(source)
