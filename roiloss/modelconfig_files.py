"""Model config files as data: YAML (``yaml.safe_load``), JSON, parsed ``.py``; their bases
(Detectron2 ``_BASE_``, mmengine ``_base_``) merged as the frameworks merge them, with the file that
set every key remembered (docs/semantics.md §11)."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

MISSING = object()
MAX_DEPTH = 32  # bases within bases


@dataclass
class Tree:
    """A merged config and, for every leaf (a path of keys), the file that set it."""

    data: dict
    origins: dict  # tuple path -> file
    path: str  # the config asked for
    files: list

    def get(self, dotted: str | tuple, default=MISSING):
        """``(value, file)`` of a key (``"MODEL.ROI_BOX_HEAD.POOLER_TYPE"`` or a tuple path);
        ``(default, "")`` if absent."""
        keys = tuple(dotted.split(".")) if isinstance(dotted, str) else tuple(dotted)
        node = self.data
        for key in keys:
            if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                return default, ""
        return node, self.origin(keys)

    def origin(self, keys: tuple) -> str:
        for n in range(len(keys), 0, -1):
            if keys[:n] in self.origins:
                return self.origins[keys[:n]]
        found = [f for p, f in self.origins.items() if p[:len(keys)] == keys]
        return found[-1] if found else self.path

    def fail(self, key: str, message: str, file: str | None = None) -> InputError:
        return InputError(f"{file or self.origin(tuple(key.split('.')))}: {key}: {message}")


def load_tree(path: Path) -> Tree:
    """The config at ``path`` with its bases merged in (``_BASE_``: one file; ``_base_``: one or a
    list), each base relative to the file naming it. A cycle or a missing base is an error naming
    the files."""
    files: list[str] = []
    data, origins = _load_with_bases(path, (), files)
    return Tree(data, origins, str(path), files)


def _load_with_bases(path: Path, chain: tuple, files: list):
    shown = str(path)
    resolved = path.expanduser().resolve()
    seen = [r for r, _ in chain]
    if resolved in seen:
        names = [name for _, name in chain[seen.index(resolved):]] + [shown]
        raise InputError(f"{names[0]}: cycle of base configs: {' -> '.join(names)}")
    if len(chain) > MAX_DEPTH:
        raise InputError(f"{shown}: more than {MAX_DEPTH} nested bases")
    data = read_document(path)
    files.append(shown)
    base_key = "_BASE_" if "_BASE_" in data else "_base_" if "_base_" in data else None
    if base_key is None:
        return data, _leaf_origins(data, shown)
    bases = data.pop(base_key)
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise InputError(f"{shown}: {base_key}: must be a path or a list of paths, got {bases!r}")
    merged: dict = {}
    origins: dict = {}
    for name in bases:
        base = Path(name).expanduser()
        base = base if base.is_absolute() else Path(os.path.normpath(path.parent / base))
        if "::" in name or not base.exists():
            raise InputError(f"{shown}: {base_key}: base config {name!r} not found (looked for {base}); "
                             "dump the merged config (mmdet: mim run mmdet print_config CONFIG --save-path "
                             "config.json) or put the base next to it")
        base_data, base_origins = _load_with_bases(base, chain + ((resolved, shown),), files)
        if base_key == "_base_":  # mmengine: bases may not define the same top-level key
            twice = sorted(set(merged) & set(base_data))
            if twice:
                raise InputError(f"{shown}: _base_: keys {', '.join(twice)} are defined in more than one base")
        merged, origins = merge(merged, origins, base_data, base_origins)
    return merge(merged, origins, data, _leaf_origins(data, shown))


def read_document(path: Path) -> dict:
    """One config file as a dict: YAML (``safe_load``), JSON, or a parsed (never run) ``.py``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such model config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the model config: {error}") from None
    suffix = path.suffix.lower()
    if suffix == ".py":
        from .modelconfig_python import parse_python_config
        return parse_python_config(text, str(path))
    try:
        if suffix == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as error:  # yaml.YAMLError, json.JSONDecodeError
        raise InputError(f"{path}: not valid {'JSON' if suffix == '.json' else 'YAML'}: "
                         f"{' '.join(str(error).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a model config must be a mapping of keys, got {type(data).__name__}")
    return data


def _leaf_origins(data, file: str, prefix: tuple = ()) -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_leaf_origins(value, file, prefix + (key,)))
        else:
            out[prefix + (key,)] = file
    return out


def merge(base: dict, base_origins: dict, child: dict, child_origins: dict, prefix: tuple = ()):
    """``child`` merged into ``base`` (dicts recursively, anything else replaced; a child dict with
    ``_delete_=True`` replaces the base's, as mmengine does); returns ``(data, origins)``."""
    out = copy.deepcopy(base)
    origins = dict(base_origins)
    for key, value in child.items():
        path = prefix + (key,)
        here = out.get(key)
        if isinstance(value, dict) and isinstance(here, dict) and not value.get("_delete_"):
            sub_base = {p: f for p, f in origins.items() if p[:len(path)] == path}
            sub_child = {p: f for p, f in child_origins.items() if p[:len(path)] == path}
            out[key], sub = merge(here, sub_base, value, sub_child, path)
            origins = {p: f for p, f in origins.items() if p[:len(path)] != path}
            origins.update(sub)
        else:
            if isinstance(value, dict) and "_delete_" in value:
                value = {k: v for k, v in value.items() if k != "_delete_"}
            out[key] = copy.deepcopy(value)
            origins = {p: f for p, f in origins.items() if p[:len(path)] != path}
            origins.update({p: f for p, f in child_origins.items() if p[:len(path)] == path})
    return out, origins
