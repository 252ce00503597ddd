"""Write the module-level functions of `deepset_cloud.async_client.files` from `AsyncClient`'s methods.

`AsyncClient` is the one hand-written source of every operation: its methods hold the parameters, their
defaults and the docstrings. Each module function takes the method's positional parameters, then `api_key`
and `api_url`, then the method's keyword-only parameters (made positional-or-keyword, as in the seed API),
and forwards everything to the client cached for those credentials. Its docstring is the method's, with
`api_key` and `api_url` described and client-only wording rewritten by explicit rules.

Used by `tools/gen_sync.py`, which owns the rules, the files and the command line. Text in, text out.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping, Sequence

from _gen_sync_translate import GenerationError, Translator, docstring_literal, function_kind, imports_of

CREDENTIAL_PARAMS = "api_key: str | None = None, api_url: str | None = None"
CREDENTIAL_DOCS = (
    "api_key: the deepset Cloud API key (default: the `API_KEY` setting).",
    "api_url: the API's URL (default: the `API_URL` setting).",
)
SKIPPED_METHODS = ("aclose",)  # the client's lifecycle, not an operation


class _AsyncTranslator(Translator):
    """Copies annotations and defaults as written (async names included) and collects the names used."""

    def plain(self, node: ast.expr, source: str) -> str:
        checked = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node in self.annotations:
            checked = ast.parse(node.value, mode="eval").body  # a quoted annotation
        self.used_names.update(sub.id for sub in ast.walk(checked) if isinstance(sub, ast.Name))
        segment = ast.get_source_segment(source, node)
        return segment if segment is not None else ast.unparse(node)


def generate_functions(
    module: str,
    class_name: str,
    source: str,
    *,
    docstring: str,
    wording: Sequence[tuple[str, str]],
    credentials_after: Mapping[str, str],
    used: dict[str, int],
) -> str:
    """Return the (unformatted) source of a module with one function per public method of `class_name`.

    Args:
        module: the dotted name of the module that defines the class (for error messages and imports).
        class_name: the client class to read.
        source: the module's source text.
        docstring: the generated module's docstring.
        wording: `(pattern, replacement)` rewrites of client-only wording in the docstrings.
        credentials_after: method name -> the keyword-only parameter after which `api_key` and `api_url`
            come (default: before the first one), to keep the official SDK's positional order.
        used: counts how often each rule matched (every rule must be used).
    """
    tree = ast.parse(source)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    if not classes:
        raise GenerationError(f"{module}: no class {class_name!r}")
    translator = _AsyncTranslator(f"{module}.{class_name}", {})
    blocks: list[str] = []
    names: list[str] = []
    for item in classes[0].body:
        if not isinstance(item, ast.AsyncFunctionDef) or item.name.startswith("_"):
            continue
        if item.name in SKIPPED_METHODS:
            continue
        translator.where = f"{module}.{class_name}.{item.name}"
        after = credentials_after.get(item.name)
        if after is not None:
            used[f"credentials_after:{item.name}"] = 1
        blocks.append(_function(item, translator, source, wording, after, used))
        names.append(item.name)
    if not names:
        raise GenerationError(f"{module}.{class_name}: no public coroutine methods")
    return _module(module, tree, translator, names, blocks, docstring)


def _function(
    method: ast.AsyncFunctionDef,
    translator: Translator,
    source: str,
    wording: Sequence[tuple[str, str]],
    after: str | None,
    used: dict[str, int],
) -> str:
    where = translator.where
    kind = function_kind(method, where)
    args = method.args
    if args.posonlyargs or args.vararg or args.kwarg:
        raise GenerationError(f"{where}: only plain and keyword-only parameters can be forwarded")
    positional = args.args[1:]  # without self
    if args.defaults:
        raise GenerationError(f"{where}: positional parameters with defaults would precede api_key")
    keyword_only = [arg.arg for arg in args.kwonlyargs]
    if after is not None and after not in keyword_only:
        raise GenerationError(f"{where}: no keyword-only parameter {after!r} to put the credentials after")
    split = keyword_only.index(after) + 1 if after is not None else 0
    params = [_param(arg, None, translator, source) for arg in positional]
    for index, (arg, default) in enumerate(zip(args.kwonlyargs, args.kw_defaults, strict=True)):
        if index == split:
            params.append(CREDENTIAL_PARAMS)
        if default is None:
            raise GenerationError(f"{where}: keyword-only parameter {arg.arg!r} needs a default")
        params.append(_param(arg, default, translator, source))
    if split == len(keyword_only):
        params.append(CREDENTIAL_PARAMS)
    forward = [arg.arg for arg in positional] + [f"{arg.arg}={arg.arg}" for arg in args.kwonlyargs]
    if method.returns is None:
        raise GenerationError(f"{where}: a return annotation is required")
    returns = translator.annotation(method.returns, source)
    call = f"cached_client(api_key, api_url).{method.name}({', '.join(forward)})"
    body = "    api_key = hide_key(api_key)  # a traceback's frame locals must not show the key\n"
    if kind == "iterate":
        body += (
            f"    pages = {call}\n"
            "    async with aclosing(pages):\n"
            "        async for page in pages:\n"
            "            yield page\n"
        )
    else:
        body += f"    return await {call}\n"
    doc = ast.get_docstring(method)
    if not doc:
        raise GenerationError(f"{where}: a docstring is required")
    doc = _with_credentials(doc, keyword_only[split:], where)
    for pattern, replacement in wording:
        doc, count = re.subn(pattern, replacement, doc)
        used[pattern] = used.get(pattern, 0) + count
    return (
        f"async def {method.name}({', '.join(params)}) -> {returns}:\n{docstring_literal(doc, '    ')}{body}"
    )


def _param(arg: ast.arg, default: ast.expr | None, translator: Translator, source: str) -> str:
    text = arg.arg
    if arg.annotation is not None:
        text += f": {translator.annotation(arg.annotation, source)}"
    if default is not None:
        text += f" = {translator.plain(default, source)}"
    return text


def _with_credentials(doc: str, keyword_only: Sequence[str], where: str) -> str:
    """Describe `api_key` and `api_url` in `Args:`, just before the first of `keyword_only` (else last)."""
    lines = doc.splitlines()
    if "Args:" not in lines:
        raise GenerationError(f"{where}: the docstring needs an Args: section")
    start = lines.index("Args:") + 1
    end = start
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()) and lines[end]:
        end += 1
    at = end
    for index in range(start, end):
        if keyword_only and lines[index].startswith(f"    {keyword_only[0]}:"):
            at = index
            break
    return "\n".join([*lines[:at], *(f"    {text}" for text in CREDENTIAL_DOCS), *lines[at:]])


def _module(
    module: str,
    tree: ast.Module,
    translator: Translator,
    names: Sequence[str],
    blocks: Sequence[str],
    docstring: str,
) -> str:
    imported: Mapping[str, tuple[str, str]] = imports_of(tree)
    needed: set[tuple[str, str]] = {
        ("deepset_cloud._config", "DEFAULT_WORKSPACE_NAME"),
        ("deepset_cloud._config", "hide_key"),
        ("deepset_cloud.async_client.client_cache", "cached_client"),
    }
    if any("async with aclosing(" in block for block in blocks):
        needed.add(("contextlib", "aclosing"))
    for name in sorted(translator.used_names):
        if name in imported:
            needed.add(imported[name])
        elif not hasattr(builtins, name):
            raise GenerationError(f"{module}: cannot tell where {name!r} comes from")
    imports = [f"from {origin} import {name}" for origin, name in sorted(needed)]
    exported = ", ".join(f'"{name}"' for name in sorted(["DEFAULT_WORKSPACE_NAME", *names]))
    return (
        docstring_literal(docstring, "")
        + "\nfrom __future__ import annotations\n\n"
        + "\n".join(imports)
        + f"\n\n__all__ = [{exported}]\n\n\n"
        + "\n\n".join(blocks)
    )
