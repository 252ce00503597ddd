"""Translate the source of one async module into the source of its sync twin (text in, text out).

Used by `tools/gen_sync.py`, which owns the explicit rules, the files and the command line. Nothing is
imported from the sources: they are read with `ast`, so there are no import side effects.

Translation (anything else fails loudly rather than emitting something wrong):
- `async def f(...) -> T`                         -> `def f(...) -> T`, `return _portal.run(...)`
- `async def f(...) -> AsyncGenerator[T, None]`   -> `Generator[T, None, None]`, `yield from _portal.iterate(...)`
  (also `AsyncIterator[T]` -> `Iterator[T]`, `AsyncIterable[T]` -> `Iterable[T]`)
- the classes in `Rules.classes` (`AsyncClient` -> `Client`): `__init__` builds the async twin, coroutine
  and generator methods as above, `aclose` -> `close`, `__aenter__`/`__aexit__` -> `__enter__`/`__exit__`.
- names re-exported by a source module are re-exported (from the sync twin of a generated module).
Docstrings are copied with async wording rewritten; bridged functions also list `SyncFacadeError`.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

# Grammar rewrites for docstrings, applied wherever they match.
GENERIC_WORDING = [
    (r"\bawait\s+", ""),
    (r"\basync (with|for)\b", r"\1"),
    (r"\basynchronous", "synchronous"),
    (r"\bAsynchronous", "Synchronous"),
    (r"\basync API\b", "sync API"),
    (r"\baclose\(\)", "close()"),
]
SYNC_RAISES = "SyncFacadeError: called from the SDK's own event loop thread (e.g. in a callback)."
LEFTOVER_ASYNC = re.compile(r"\b(await|async|aclose|Async\w*|asynchronous|coroutines?|awaitables?)\b", re.I)
GENERATORS = {"AsyncGenerator": "Generator", "AsyncIterator": "Iterator", "AsyncIterable": "Iterable"}
ASYNC_LOOKING = re.compile(r"^(Async\w*|Awaitable|Coroutine|AbstractAsync\w*|aclosing)$")


class GenerationError(Exception):
    """The generator met something it does not know how to translate."""


class Rules:
    """The explicit rules (tables kept in `tools/gen_sync.py`), counting how often each is used."""

    def __init__(
        self,
        *,
        modules: Mapping[str, str],
        module_names: Mapping[str, Sequence[str]],
        classes: Mapping[str, str],
        methods: Mapping[str, str],
        specific_wording: Sequence[tuple[str, str]],
        module_docstrings: Mapping[str, str],
    ) -> None:
        self.modules = modules  # async module -> generated sync module
        self.module_names = module_names  # translate only these names (default: __all__)
        self.classes = classes
        self.methods = methods
        self.specific_wording = specific_wording
        self.module_docstrings = module_docstrings
        self.counts: Counter[str] = Counter()

    def use(self, rule: str) -> None:
        self.counts[rule] += 1

    def unused(self) -> list[str]:
        rules = [f"MODULES[{m!r}]" for m in self.modules] + [f"CLASSES[{c!r}]" for c in self.classes]
        rules += [f"METHODS[{m!r}]" for m in self.methods] + [
            f"MODULE_DOCSTRINGS[{m!r}]" for m in self.module_docstrings
        ]
        rules += [f"SPECIFIC_WORDING[{p!r}]" for p, _ in self.specific_wording]
        return [rule for rule in rules if not self.counts[rule]]


def rewrite_docstring(text: str, where: str, rules: Rules) -> str:
    """Rewrite async wording; fail if any is left that no rule covers."""
    for pattern, replacement in rules.specific_wording:
        text, count = re.subn(pattern, replacement, text)
        if count:
            rules.use(f"SPECIFIC_WORDING[{pattern!r}]")
    for generic, generic_replacement in GENERIC_WORDING:
        text = re.sub(generic, generic_replacement, text)
    for async_name, sync_name in rules.classes.items():
        text = re.sub(rf"\b{async_name}\b", sync_name, text)
    for async_module, sync_module in rules.modules.items():  # dotted paths, then their last parts
        text = re.sub(rf"\b{re.escape(async_module)}\b", sync_module, text)
        text = re.sub(rf"\b{async_module.rpartition('.')[2]}\b", sync_module.rpartition(".")[2], text)
    leftover = LEFTOVER_ASYNC.search(text)
    if leftover:
        raise GenerationError(f"{where}: no rule rewrites {leftover.group(0)!r} in the docstring")
    return text


def with_sync_raises(text: str) -> str:
    """Add what only the sync layer raises to the end of the `Raises:` section (created if missing)."""
    lines = text.splitlines()
    if "Raises:" not in lines:
        return f"{text}\n\nRaises:\n    {SYNC_RAISES}"
    end = lines.index("Raises:") + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return "\n".join([*lines[:end], f"    {SYNC_RAISES}", *lines[end:]])


def docstring_literal(text: str, indent: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = escaped.splitlines()
    if len(lines) == 1:
        return f'{indent}"""{escaped}{" " if escaped.endswith(chr(34)) else ""}"""\n'
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""\n'


class Translator:
    """Translates annotations and collects the names the generated code refers to."""

    def __init__(self, where: str, classes: Mapping[str, str]) -> None:
        self.where = where
        self.classes = classes
        self.used_names: set[str] = set()
        self.extra_imports: set[tuple[str, str]] = set()
        self.annotations: set[ast.expr] = set()  # nodes in annotation position (may be quoted)

    def annotation(self, node: ast.expr, source: str) -> str:
        self.annotations.add(node)
        return self.plain(node, source)

    def plain(self, node: ast.expr, source: str) -> str:
        """An annotation or default that must not mention anything async; copied as written."""
        checked = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node in self.annotations:
            checked = ast.parse(node.value, mode="eval").body  # a quoted annotation
        for sub in ast.walk(checked):
            name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else ""
            if ASYNC_LOOKING.match(name) or name in self.classes:
                raise GenerationError(f"{self.where}: no rule translates {name!r} here")
            if isinstance(sub, ast.Name):
                self.used_names.add(sub.id)
        segment = ast.get_source_segment(source, node)
        return segment if segment is not None else ast.unparse(node)

    def returns(self, node: ast.expr | None, kind: str, source: str) -> str:
        """The return annotation for a function of `kind` ("run" or "iterate")."""
        if node is None:
            raise GenerationError(f"{self.where}: a return annotation is required")
        if kind == "run":
            return self.annotation(node, source)
        name = node.value.id if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) else ""
        if not isinstance(node, ast.Subscript) or name not in GENERATORS:
            raise GenerationError(f"{self.where}: no rule translates the return type {ast.unparse(node)!r}")
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "AsyncGenerator" and not (
            len(items) == 2 and isinstance(items[1], ast.Constant) and items[1].value is None
        ):
            raise GenerationError(f"{self.where}: only AsyncGenerator[T, None] can be bridged (no asend)")
        item = self.annotation(items[0], source)
        if kind == "iterate" and name in GENERATORS:
            sync_name = GENERATORS[name]
            self.extra_imports.add(("collections.abc", sync_name))
            return f"{sync_name}[{item}, None, None]" if sync_name == "Generator" else f"{sync_name}[{item}]"
        raise GenerationError(f"{self.where}: no rule translates the return type {ast.unparse(node)!r}")


def has_own_yield(function: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                yield child
                yield from walk(child)

    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in walk(function))


def function_kind(function: ast.AsyncFunctionDef | ast.FunctionDef, where: str) -> str:
    decorators = [ast.unparse(d) for d in function.decorator_list]
    if isinstance(function, ast.AsyncFunctionDef):
        if decorators:
            raise GenerationError(f"{where}: no rule for the decorators {decorators}")
        return "iterate" if has_own_yield(function) else "run"
    raise GenerationError(
        f"{where}: a public sync function or method has no rule (only async ones are bridged)"
    )


def parameters(args: ast.arguments, translator: Translator, source: str, skip_self: bool) -> tuple[str, str]:
    """Return the parameter list as written and the arguments that forward every parameter."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params: list[str] = []
    forward: list[str] = []

    def render(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
        text = prefix + arg.arg
        if arg.annotation is not None:
            text += f": {translator.annotation(arg.annotation, source)}"
        if default is not None:
            text += (
                f" = {translator.plain(default, source)}"
                if arg.annotation
                else f"={translator.plain(default, source)}"
            )
        return text

    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if skip_self and index == 0:
            params.append(arg.arg)
        else:
            params.append(render(arg, default))
            positional_only = index < len(args.posonlyargs) or args.vararg is not None
            forward.append(arg.arg if positional_only else f"{arg.arg}={arg.arg}")
        if args.posonlyargs and index == len(args.posonlyargs) - 1:
            params.append("/")
    if args.vararg is not None:
        params.append(render(args.vararg, None, "*"))
        forward.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        params.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(render(arg, default))
        forward.append(f"{arg.arg}={arg.arg}")
    if args.kwarg is not None:
        params.append(render(args.kwarg, None, "**"))
        forward.append(f"**{args.kwarg.arg}")
    return ", ".join(params), ", ".join(forward)


def render_function(
    function: ast.AsyncFunctionDef | ast.FunctionDef,
    *,
    name: str,
    target: str,
    translator: Translator,
    source: str,
    rules: Rules,
    method: bool,
) -> str:
    where = translator.where
    kind = function_kind(function, where)
    params, forward = parameters(function.args, translator, source, skip_self=method)
    returns = translator.returns(function.returns, kind, source)
    call = f"{target}, {forward}" if forward else target
    body = {
        "run": f"return _portal.run({call})",
        "iterate": f"yield from _portal.iterate({call})",
    }[kind]
    indent = "        " if method else "    "
    doc = ast.get_docstring(function)
    text = f"{indent[:-4]}def {name}({params}) -> {returns}:\n"
    if doc:
        text += docstring_literal(with_sync_raises(rewrite_docstring(doc, where, rules)), indent)
    return text + hide_key_line(function.args, indent) + f"{indent}{body}\n"


def hide_key_line(args: ast.arguments, indent: str) -> str:
    """The statement that rebinds an `api_key` argument to its repr-redacting form (or nothing).

    Tools that print a traceback's locals (`pytest -l`, Sentry) would otherwise show the key of every
    generated frame an error passes through."""
    names = [arg.arg for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return f"{indent}api_key = _portal.hide_key(api_key)\n" if "api_key" in names else ""


def body_without_docstring(function: ast.AsyncFunctionDef | ast.FunctionDef) -> list[str]:
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.unparse(statement) for statement in body]


def render_class(
    node: ast.ClassDef, sync_name: str, source: str, rules: Rules, translator: Translator
) -> str:
    async_name = node.name
    doc = ast.get_docstring(node)
    text = f"class {sync_name}:\n"
    if doc:
        text += docstring_literal(rewrite_docstring(doc, async_name, rules), "    ")
    for index, item in enumerate(node.body):
        if isinstance(item, (ast.Expr, ast.Pass)):
            continue
        if is_public_attribute(item):
            assert isinstance(item, ast.AnnAssign)
            assert isinstance(item.target, ast.Name)
            translator.where = f"{async_name}.{item.target.id}"
            text += "\n" + render_attribute(item, item.target.id, node.body[index + 1 :], source, translator)
            continue
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(item, (ast.Assign, ast.AnnAssign)) and all(
                isinstance(t, ast.Name) and t.id.startswith("_")
                for t in (item.targets if isinstance(item, ast.Assign) else [item.target])
            ):
                continue
            raise GenerationError(
                f"{async_name}: no rule for the class-level statement {ast.unparse(item)!r}"
            )
        where = f"{async_name}.{item.name}"
        translator.where = where
        name = item.name
        dunder = name.startswith("__") and name.endswith("__")
        if name.startswith("_") and not dunder:
            continue  # private helpers stay on the async side
        text += "\n"
        if name == "__init__":
            params, forward = parameters(item.args, translator, source, skip_self=True)
            text += f"    def __init__({params}) -> None:\n"
            text += hide_key_line(item.args, "        ")
            text += f"        self._twin = _portal.AsyncTwin({async_name}, {forward})\n"
        elif name == "__repr__":
            text += f'    def __repr__(self) -> str:\n        return self._twin.repr_as("{sync_name}")\n'
        elif name in rules.methods:
            rules.use(f"METHODS[{name!r}]")
            text += render_special(
                item, rules.methods[name], async_name, sync_name, source, rules, translator
            )
        elif dunder:
            raise GenerationError(f"{where}: no rule for this special method")
        else:
            target = f"self._twin.get().{name}"
            text += render_function(
                item, name=name, target=target, translator=translator, source=source, rules=rules, method=True
            )
    return text


def is_public_attribute(item: ast.stmt) -> bool:
    """A class-level `name: T` (no value) declaring a public instance attribute."""
    return (
        isinstance(item, ast.AnnAssign)
        and item.value is None
        and isinstance(item.target, ast.Name)
        and not item.target.id.startswith("_")
    )


def render_attribute(
    item: ast.AnnAssign, name: str, following: list[ast.stmt], source: str, translator: Translator
) -> str:
    """A read-only property of the sync class returning the async object's attribute of the same name."""
    annotation = translator.annotation(item.annotation, source)
    doc = ""
    if following and isinstance(following[0], ast.Expr) and isinstance(following[0].value, ast.Constant):
        value = following[0].value.value
        if isinstance(value, str):
            doc = docstring_literal(inspect.cleandoc(value), "        ")
    return (
        f"    @property\n    def {name}(self) -> {annotation}:\n{doc}        return self._twin.get().{name}\n"
    )


def render_special(
    item: ast.FunctionDef | ast.AsyncFunctionDef,
    sync_method: str,
    async_name: str,
    sync_name: str,
    source: str,
    rules: Rules,
    translator: Translator,
) -> str:
    where = translator.where
    if not isinstance(item, ast.AsyncFunctionDef):
        raise GenerationError(f"{where}: expected a coroutine")
    body = body_without_docstring(item)
    params, _ = parameters(item.args, translator, source, skip_self=True)
    doc = ast.get_docstring(item)
    docstring = docstring_literal(rewrite_docstring(doc, where, rules), "        ") if doc else ""
    if item.name == "__aenter__":
        if body != ["return self"] or not isinstance(item.returns, ast.Name) or item.returns.id != async_name:
            raise GenerationError(f"{where}: only `return self` (-> {async_name}) can be translated")
        return f"    def __enter__({params}) -> {sync_name}:\n{docstring}        return self\n"
    returns = translator.returns(item.returns, "run", source)
    if item.name == "__aexit__":
        if body != ["await self.aclose()"]:
            raise GenerationError(f"{where}: only `await self.aclose()` can be translated")
        return f"    def __exit__({params}) -> {returns}:\n{docstring}        self.close()\n"
    if params != "self" or returns != "None":
        raise GenerationError(f"{where}: `aclose` must take no arguments and return None")
    if doc:  # closing runs through the loop too
        docstring = docstring_literal(with_sync_raises(rewrite_docstring(doc, where, rules)), "        ")
    return f"    def {sync_method}(self) -> None:\n{docstring}        self._twin.close()\n"


def imports_of(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Map each name a module imports at top level to (module, imported name)."""
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (alias.name, "")
    return found


def assigned_names(tree: ast.Module) -> set[str]:
    targets = [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
    targets += [n.target for n in tree.body if isinstance(n, ast.AnnAssign)]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def declared_all(tree: ast.Module, module: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return list(value)
    raise GenerationError(f"{module}: the source module has no literal __all__")


def generate_module(module: str, source: str, rules: Rules) -> str:
    """Return the generated (not yet formatted) source of the sync twin of `module`, given its `source`."""
    rules.use(f"MODULES[{module!r}]")
    tree = ast.parse(source)
    imported = imports_of(tree)
    definitions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    # Keep the order of the source: definitions by position, re-exports first.
    names = sorted(
        rules.module_names.get(module, declared_all(tree, module)),
        key=lambda name: definitions[name].lineno if name in definitions else 0,
    )
    translator = Translator(module, rules.classes)
    exports: list[str] = []
    reexports: list[tuple[str, str, str]] = []
    blocks: list[str] = []
    for name in names:
        node = definitions.get(name)
        translator.where = f"{module}.{name}"
        if node is None and name in imported:
            origin, original = imported[name]
            if f"{origin}.{original}" in rules.modules:  # a generated submodule
                reexports.append((rules.modules[origin], original, name))
            elif origin in rules.modules or ASYNC_LOOKING.match(original):
                raise GenerationError(f"{module}.{name}: no rule for re-exporting an async name")
            else:
                reexports.append((origin, original, name))
            exports.append(name)
        elif isinstance(node, ast.ClassDef):
            if name not in rules.classes:
                raise GenerationError(f"{module}.{name}: no rule for this class (add it to CLASSES)")
            rules.use(f"CLASSES[{name!r}]")
            blocks.append(render_class(node, rules.classes[name], source, rules, translator))
            exports.append(rules.classes[name])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            blocks.append(
                render_function(
                    node,
                    name=name,
                    target=f"_async.{name}",
                    translator=translator,
                    source=source,
                    rules=rules,
                    method=False,
                )
            )
            exports.append(name)
        else:
            raise GenerationError(f"{module}.{name}: no rule for this public name")
    lines = ["from __future__ import annotations", ""]
    needed: set[tuple[str, str, str]] = set(reexports)
    for used in sorted(translator.used_names):
        if used in imported:
            origin, original = imported[used]
            if f"{origin}.{original}" in rules.modules or origin in rules.modules:
                raise GenerationError(f"{module}: a signature refers to {used!r} from an async module")
            needed.add((origin, original, used))
        elif used in definitions or used in rules.classes or used in assigned_names(tree):
            raise GenerationError(f"{module}: a signature refers to {used!r}, defined next to the async code")
        elif not hasattr(builtins, used):
            raise GenerationError(f"{module}: cannot tell where {used!r} comes from")
    needed |= {(origin, name, name) for origin, name in translator.extra_imports}
    if blocks:
        needed.add(("deepset_cloud", "_portal", "_portal"))
        needed |= {(module, name, name) for name in names if isinstance(definitions.get(name), ast.ClassDef)}
        if any(not block.startswith("class ") for block in blocks):
            package, _, leaf = module.rpartition(".")
            needed.add((package, leaf, "_async"))
    for origin, original, alias in sorted(needed):
        if original:
            suffix = "" if alias == original and alias not in exports else f" as {alias}"
            lines.append(f"from {origin} import {original}{suffix}")
        else:
            lines.append(f"import {origin}")
    doc = ast.get_docstring(tree)
    if module in rules.module_docstrings:  # written for the sync side: used as is
        rules.use(f"MODULE_DOCSTRINGS[{module!r}]")
        header = docstring_literal(rules.module_docstrings[module], "")
    else:
        header = docstring_literal(rewrite_docstring(doc, module, rules), "") if doc else ""
    all_list = ", ".join(f'"{name}"' for name in sorted(exports))
    return header + "\n" + "\n".join(lines) + f"\n\n__all__ = [{all_list}]\n\n\n" + "\n\n".join(blocks)
