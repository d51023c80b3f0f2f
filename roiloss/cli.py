"""The ``roiloss`` command line: the group, its commands (:mod:`roiloss.commands`), and the entry
point that turns Ctrl-C into exit 130 and a closed output pipe into a quiet exit 0."""

from __future__ import annotations

import errno
import gc
import os
import sys

import click

from . import __version__
from .allocator import tune_allocator
from .commands import LazyGroup
from .commands.options import err_console


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="roiloss")
def main():
    """Measure what RoI Pool, RoI Warp and RoI Align lose and gain on your boxes.

    \b
    Shell completion (bash): eval "$(_ROILOSS_COMPLETE=bash_source roiloss)"
    (zsh: zsh_source, fish: fish_source).
    """
    # No command multiplies matrices large enough for a threaded BLAS. With more than one thread,
    # OpenBLAS starts its pool when numpy is imported, and the idle pool spins on the other core
    # for about 0.1 s of CPU (measured here) that the engine's threads want. Read at numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    tune_allocator()



def run(args=None) -> None:
    """The console entry point: click's parsing, plus exit 130 on Ctrl-C and a quiet exit 0 when the
    reader of standard output goes away (``roiloss ... | head``), whenever either happens. It ends
    the process (:func:`gc.freeze` first): call :data:`main` to run a command in a longer one."""
    try:
        code = main.main(args=args, prog_name="roiloss", standalone_mode=False)
        sys.stdout.flush()
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        err_console().print("roiloss: interrupted")
        code = 130
    except BrokenPipeError:
        code = 0
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        code = 0
    if code == 0 and _stdout_closed():
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    # The process ends here, and the interpreter's teardown would collect garbage over every object
    # still alive as it clears module after module: 40-70 ms of every run (measured). Frozen objects
    # are left out of those collections; the rest of the exit (threads, handlers, flushes) is as ever.
    gc.freeze()
    sys.exit(code or 0)


def _stdout_closed() -> bool:
    try:
        sys.stdout.flush()
        return False
    except (BrokenPipeError, ValueError):
        return True
    except OSError as error:
        return error.errno == errno.EPIPE


__all__ = ["main", "run"]

if __name__ == "__main__":  # pragma: no cover
    run()
