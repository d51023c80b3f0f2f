"""mmdetection ``.py`` configs, **parsed, never executed** (docs/semantics.md §11).

:func:`parse_python_config` reads the module with :mod:`ast` and evaluates the right-hand side of
each top-level assignment as a literal - numbers, strings, lists, tuples, dicts, ``dict(...)`` calls
with keywords (and ``**name``), names assigned earlier in the same file, ``+`` on strings and
sequences, arithmetic on numbers, plain f-strings. Anything else (a call, an import, an attribute
such as ``_base_.model``, a ``{{ }}`` reference) is an :class:`~roiloss.errors.InputError` naming
the file, line and variable, suggesting the dumped form
(``mim run mmdet print_config CONFIG --save-path config.json``).
"""

from __future__ import annotations

import ast
import copy

from .errors import InputError

DUMP_HINT = ("roiloss never runs config code: dump the config with `mim run mmdet print_config CONFIG "
             "--save-path config.json` (or tools/misc/print_config.py) and pass that file")
MAX_SEQUENCE = 100_000  # "x" * n and [..] * n beyond this are not a config


class _NotLiteral(Exception):
    def __init__(self, node, what: str):
        super().__init__(what)
        self.node, self.what = node, what


def parse_python_config(text: str, path: str) -> dict:
    """The top-level assignments of an mmdetection ``.py`` config, evaluated as literals.

    Example:
        >>> parse_python_config("r = dict(type='RoIAlign', output_size=7)\\nm = dict(roi_layer=r, s=[4] + [8])", "c.py")
        {'r': {'type': 'RoIAlign', 'output_size': 7}, 'm': {'roi_layer': {'type': 'RoIAlign', 'output_size': 7}, 's': [4, 8]}}
    """
    try:
        module = ast.parse(text, filename=path)
    except SyntaxError as error:
        raise InputError(f"{path}: line {error.lineno}: not valid Python: {error.msg}") from None
    names: dict = {}
    for i, stmt in enumerate(module.body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # the docstring
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            targets, value = [t.id for t in stmt.targets], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            targets, value = [stmt.target.id], stmt.value
        else:
            kind = {ast.Import: "an import", ast.ImportFrom: "an import", ast.With: "a with block",
                    ast.FunctionDef: "a function", ast.ClassDef: "a class", ast.Expr: "an expression statement"}.get(
                type(stmt), f"a {type(stmt).__name__} statement")
            raise InputError(f"{path}: line {stmt.lineno}: {kind} is not a literal assignment; {DUMP_HINT}")
        try:
            result = _literal(value, names)
        except _NotLiteral as error:
            raise InputError(f"{path}: line {getattr(error.node, 'lineno', stmt.lineno)}: {targets[0]}: "
                             f"{error.what} is not a literal; {DUMP_HINT}") from None
        except RecursionError:
            raise InputError(f"{path}: line {stmt.lineno}: {targets[0]}: nested too deeply") from None
        for name in targets:
            names[name] = result
    return names


def _literal(node, names: dict):
    """Evaluate ``node`` as a literal; :class:`_NotLiteral` for anything that would run code."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                items.extend(_sequence(_literal(element.value, names), element))
            else:
                items.append(_literal(element, names))
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        out = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**name}
                out.update(_mapping(_literal(value, names), value))
            else:
                k = _literal(key, names)
                if isinstance(k, (dict, list)):
                    raise _NotLiteral(key, "an unhashable key")
                out[k] = _literal(value, names)
        return out
    if isinstance(node, ast.Name):
        if node.id in names:
            return copy.deepcopy(names[node.id])
        raise _NotLiteral(node, f"the name {node.id!r} (not assigned earlier in the file)")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("dict", "list", "tuple"):
        return _call(node, names)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, names)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        raise _NotLiteral(node, "a sign on a non-number")
    if isinstance(node, ast.BinOp):
        return _binop(node, names)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.conversion == -1 and value.format_spec is None:
                inner = _literal(value.value, names)
                if not isinstance(inner, (str, int, float)):
                    raise _NotLiteral(value, "an f-string of a non-scalar")
                parts.append(str(inner))
            else:
                raise _NotLiteral(value, "a formatted f-string field")
        return "".join(parts)
    what = {ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "a subscript",
            ast.Lambda: "a lambda", ast.Set: "a set or {{ }} reference", ast.ListComp: "a comprehension",
            ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator", ast.IfExp: "a conditional"}
    label = what.get(type(node), f"a {type(node).__name__} expression")
    source = ast.unparse(node)
    raise _NotLiteral(node, f"{label} ({source if len(source) <= 60 else source[:57] + '...'})")


def _call(node: ast.Call, names: dict):
    name = node.func.id
    if name == "dict":
        if node.args:
            raise _NotLiteral(node, "dict() with positional arguments")
        out = {}
        for kw in node.keywords:
            if kw.arg is None:
                out.update(_mapping(_literal(kw.value, names), kw.value))
            else:
                out[kw.arg] = _literal(kw.value, names)
        return out
    if node.keywords or len(node.args) > 1:
        raise _NotLiteral(node, f"{name}() with these arguments")
    items = _sequence(_literal(node.args[0], names), node) if node.args else []
    return list(items) if name == "list" else tuple(items)


def _binop(node: ast.BinOp, names: dict):
    a, b = _literal(node.left, names), _literal(node.right, names)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    op = type(node.op)
    if op is ast.Add and (numbers or (type(a) is type(b) and isinstance(a, (str, list, tuple)))):
        return a + b
    if numbers and op in (ast.Sub, ast.Mult, ast.Div, ast.FloorDiv):
        try:
            return {ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b,
                    ast.FloorDiv: lambda: a // b}[op]()
        except ZeroDivisionError:
            raise _NotLiteral(node, "a division by zero") from None
    if op is ast.Mult and isinstance(a, (str, list, tuple)) and isinstance(b, int) and not isinstance(b, bool):
        if len(a) * b > MAX_SEQUENCE:
            raise _NotLiteral(node, "a sequence this long")
        return a * b
    raise _NotLiteral(node, f"the operator {type(node.op).__name__} on these values")


def _mapping(value, node) -> dict:
    if not isinstance(value, dict):
        raise _NotLiteral(node, "** of a non-dict")
    return value


def _sequence(value, node):
    if not isinstance(value, (list, tuple, str)):
        raise _NotLiteral(node, "unpacking a non-sequence")
    return value
