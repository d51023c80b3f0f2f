"""The README tells the truth: its command examples print what roiloss prints, its Python session
runs as shown."""

import doctest

import pytest
from readme_examples import README, examples, run

EXAMPLES = examples(README.read_text())


def test_readme_has_the_examples_it_promises():
    commands = [command for command, _, _ in EXAMPLES]
    assert any(c.startswith("roiloss analyze data/example.csv") for c in commands)  # make demo
    assert sum("--preset torchvision" in c for c in commands) == 2  # before / after the model's resize
    assert any(c.startswith("roiloss audit") for c in commands)


@pytest.mark.parametrize("command,expected", [(c, e) for c, e, _ in EXAMPLES], ids=[c[:60] for c, _, _ in EXAMPLES])
def test_readme_command_prints_what_it_shows(command, expected):
    assert run(command) == expected.strip("\n")


def test_readme_python_session(monkeypatch):
    monkeypatch.chdir(README.parent)
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0
