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
            data = _parse(candidate)
            tool = data.get("tool", {})
            return candidate if isinstance(tool, dict) and "roiloss" in tool else None
    return None


def _parse(path: Path) -> dict:
    """A TOML file, or :class:`ConfigError` naming it (with line and column for a syntax error)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def load(path: Path, command: str, commands: tuple[str, ...] = ()) -> dict:
    """The settings for ``command`` from ``path``: a pyproject (``[tool.roiloss]``) or a plain TOML file.

    A sub-table must be named after one of ``commands`` (when given).
    """
    data = _parse(path)
    section = data.get("tool", {}).get("roiloss", data if Path(path).name != "pyproject.toml" else {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.roiloss] must be a table")
    unknown = [k for k, v in section.items() if isinstance(v, dict) and commands and k not in commands]
    if unknown:
        raise ConfigError(f"{path}: [tool.roiloss.{unknown[0]}] is not a command; tables may be named "
                          f"{', '.join(commands)}")
    settings = {k: v for k, v in section.items() if not isinstance(v, dict)}
    command_section = section.get(command, {})
    if isinstance(command_section, dict):
        settings.update(command_section)
    return {key.replace("-", "_"): value for key, value in settings.items()}
