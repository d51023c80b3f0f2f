"""Tables designed for a real terminal: at 80 and 120 columns no line is wider than the terminal
and no cell is cut ("…"); COLUMNS is honoured when the output is piped."""

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from conftest import EXAMPLE, VAL, invoke

COMMANDS = [
    ["analyze", EXAMPLE, "--stride", "32", "--pool", "3"],
    ["analyze", EXAMPLE, "--methods", "all", "--rows", "50"],
    ["analyze", VAL, "--preset", "torchvision", "--methods", "all"],
    ["analyze", VAL, "--preset", "detectron2", "--head", "mask"],
    ["grid", "--box", "296,192,496,337", "--image-size", "512x512", "--stride", "32", "--pool", "3",
     "--methods", "roialign-legacy,roialign", "--detail", "samples"],
    ["grid", VAL, "--preset", "torchvision", "--detail", "bins", "--methods", "all"],
    ["grid", VAL, "--preset", "torchvision", "--detail", "cells"],
    ["audit", VAL, "--methods", "all", "--check", "p95 lost_frac <= 0.01; sub_cell_share <= 0"],
    ["methods"],
    ["presets"],
]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(str(v) for v in a[:3]))
def test_tables_fit_the_terminal_without_cutting_cells(args, width):
    result = invoke(*args, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    assert lines, "nothing printed"
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.stdout
    for name in ("roialign-legacy", "roipool-floor"):  # full method names, never cut or folded
        if name in " ".join(str(a) for a in args) or "all" in args:
            assert name in result.stdout


def test_wide_terminals_show_image_category_and_box():
    narrow = invoke("analyze", EXAMPLE, env={"COLUMNS": "80"}).stdout
    wide = invoke("analyze", EXAMPLE, env={"COLUMNS": "120"}).stdout
    assert "article.jpg" not in narrow and "article.jpg" in wide
    assert "296.0, 192.0, 496.0, 337.0" in wide
    forced = invoke("analyze", EXAMPLE, "--wide", env={"COLUMNS": "80"}).stdout
    assert "article.jpg" in forced and "…" not in forced


# names as roiloss prints them, wide (CJK) ones, and anything (which rich must get)
text = st.one_of(st.from_regex(r"[a-z_>0-9.-]{0,10}", fullmatch=True), st.from_regex(r"[a-z]{0,3}[猫犬]{0,3}", fullmatch=True),
                 st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))


@settings(max_examples=400, deadline=None)
@given(title=st.one_of(st.none(), text), width=st.integers(20, 200), data=st.data(),
       columns=st.lists(st.tuples(text, st.sampled_from(["left", "right", "default", "center"])), min_size=1, max_size=7))
def test_plain_tables_are_laid_out_as_rich_lays_them_out(title, width, columns, data):
    """The fast layout of plain tables gives rich's text exactly, or leaves the table to rich."""
    import io

    from rich.console import Console

    from roiloss.terminal import new_table, plain_table_lines

    table = new_table(title)
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=data.draw(st.booleans()))
    for _ in range(data.draw(st.integers(0, 5))):
        table.add_row(*[data.draw(st.one_of(text, st.from_regex(r"-?[0-9]{1,6}\.[0-9]{3}", fullmatch=True)))
                        for _ in columns], end_section=data.draw(st.booleans()))
    lines = plain_table_lines(table, width)
    event("laid out by rich" if lines is None else "laid out fast")
    if lines is None:
        return
    stream = io.StringIO()
    Console(file=stream, width=width, color_system=None, highlight=False, emoji=False).print(table)
    assert "".join(line + "\n" for line in lines) == stream.getvalue()


def test_plain_tables_take_the_fast_layout():
    """Numbers, names and an ASCII title: the fast layout applies (the test above is not vacuous)."""
    from roiloss.terminal import new_table, plain_table_lines

    table = new_table("Boxes per method")
    table.add_column("method")
    table.add_column("boxes", justify="right")
    table.add_row("roialign", "12")
    assert plain_table_lines(table, 80) == [
        "Boxes per method ", "                 ", " method    boxes ", " --------------- ",
        " roialign     12 ", "                 "]


def test_user_strings_are_printed_as_written(tmp_path):
    """A category such as ``:smile:`` or ``[b]x[/b]`` is text: no emoji, no markup."""
    path = tmp_path / "boxes.csv"
    path.write_text('x1,y1,x2,y2,category\n0,0,40,30,:smile:\n0,0,40,30,[b]x[/b]\n')
    result = invoke("analyze", path, "--wide", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert ":smile:" in result.stdout and "[b]x[/b]" in result.stdout
    assert "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in result.stdout
