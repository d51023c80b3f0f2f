"""Settings from ``[tool.roiloss]`` in ``pyproject.toml`` or a ``--config FILE``.

Keys are the long option names (``stride``, ``pool``, ``sampling-ratio``; ``_`` works for ``-``).
``[tool.roiloss]`` applies to every command; ``[tool.roiloss.<command>]`` (e.g. ``audit``) to one
command and wins over the shared table. Precedence: defaults < config file < command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(Exception):
    pass


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.roiloss]`` table, from ``start`` upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                return None
            return candidate if "roiloss" in data.get("tool", {}) else None
    return None


def load(path: Path, command: str) -> dict:
    """The settings for ``command`` from ``path``: a pyproject (``[tool.roiloss]``) or a plain TOML file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    section = data.get("tool", {}).get("roiloss", data if Path(path).name != "pyproject.toml" else {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.roiloss] must be a table")
    settings = {k: v for k, v in section.items() if not isinstance(v, dict)}
    command_section = section.get(command, {})
    if isinstance(command_section, dict):
        settings.update(command_section)
    return {key.replace("-", "_"): value for key, value in settings.items()}
