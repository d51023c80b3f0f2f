"""`roiloss report` / `roiloss.report`: one self-contained HTML page, parsed here and rendered by a
real browser (headless Chromium: `.ci/run` installs the Debian package; this test never installs
anything and fails, never skips, when the browser is missing)."""

import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import roiloss
from conftest import EXAMPLE, VAL, invoke
from roiloss.values import number

BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
WORST = 1
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "embed", "source", "track", "wbr"}


class Page(HTMLParser):
    """Tags, figures (and the svg inside each), data-key cells and every attribute, from the HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.figures, self.cells, self.attributes = [], {}, {}, []
        self.figure, self.key, self.text, self.unbalanced = None, None, "", []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(tag, k, v) for k, v in attrs.items()]
        if tag == "figure":
            self.figure = attrs["data-figure"]
            self.figures[self.figure] = 0
        if tag == "svg" and self.figure:
            self.figures[self.figure] += 1
        if tag == "td" and "data-key" in attrs:
            self.key, self.text = attrs["data-key"], ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attributes += [(tag, k, v) for k, v in attrs]

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None
        if tag == "td" and self.key:
            self.cells[self.key], self.key = self.text, None
        if not self.stack or self.stack[-1] != tag:
            self.unbalanced.append(tag)
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.key:
            self.text += data


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def boxes():
    return roiloss.read_boxes(str(VAL)).iloc[:150].reset_index(drop=True)


@pytest.fixture(scope="module")
def page(boxes):
    return roiloss.report(boxes, preset="torchvision", methods="roialign-legacy,roipool", worst=WORST,
                          timestamp=False, source="coco subset", checks="roipool p95 lost_frac <= 0.05")


def test_page_parses_and_every_figure_is_embedded(page):
    parsed = parse(page)
    assert parsed.stack == ["html"] or parsed.stack == [], parsed.stack  # </html> closes everything
    assert not parsed.unbalanced
    # per method: level, size and category figures; plus the method ECDFs, the level histogram, the worst boxes
    expected = {"fig-methods", "fig-levels"} | {f"fig-{kind}-{i}" for kind in ("level", "size", "cat") for i in (0, 1)}
    expected |= {f"fig-worst-{i}" for i in range(WORST)}
    assert set(parsed.figures) == expected
    assert all(count == 1 for count in parsed.figures.values()), parsed.figures
    assert page.count("<svg") == len(expected)


def test_page_has_no_external_url(page):
    assert "http" not in page.lower() and "//" not in page
    parsed = parse(page)
    assert not [a for a in parsed.attributes if a[1] in ("src", "srcset", "action", "data")]
    links = [v for _, k, v in parsed.attributes if k in ("href", "xlink:href")]
    assert links and all(v.startswith("#") for v in links)
    assert "<script" not in page and "@import" not in page and "url(" not in page.replace("url(#", "")


def test_summary_numbers_are_those_of_analyze(page, boxes):
    rows = roiloss.analyze(boxes, preset="torchvision", methods="roialign-legacy,roipool")
    summary = roiloss.summarize(rows)
    cells = parse(page).cells
    checked = 0
    for _, row in summary.iterrows():
        for metric in ("lost_frac", "gained_frac", "outside_weight", "shift_px"):
            for stat in ("mean", "median", "p95", "max"):
                expected = number(row[f"{metric}_{stat}"], 1 if metric == "shift_px" else 3)
                assert cells[f"{row['method']}/{metric}/{stat}"] == expected
                checked += 1
        assert cells[f"{row['method']}/lost_any_share"] == number(row["lost_any_share"])
    assert checked == 32


def test_checks_and_remedies_are_shown(page, boxes):
    result = roiloss.audit(boxes, "roipool p95 lost_frac <= 0.05", preset="torchvision",
                           methods="roialign-legacy,roipool")
    failed = [r for r in result.results if not r.passed]
    assert failed
    for r in failed:
        assert r.name.replace("<", "&lt;") in page
        assert r.remedy and r.remedy in page


def test_same_bytes_without_timestamp_and_a_stamp_with_it():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 200, (30, 2))
    small = np.hstack([xy, xy + rng.uniform(8, 60, (30, 2))])
    kwargs = dict(stride=16, methods="roialign", source="s", image_size=(320, 320))
    first = roiloss.report(small, timestamp=False, worst=1, **kwargs)
    assert roiloss.report(small, timestamp=False, worst=1, **kwargs) == first
    stamped = roiloss.report(small, worst=0, **kwargs)
    assert "generated 20" in stamped and "generated" not in first


def test_user_strings_are_escaped():
    evil = [{"x1": 0, "y1": 0, "x2": 40, "y2": 30, "category": "<script>alert(1)</script>",
             "image_id": "http://example.com//a.jpg", "roi_id": "<b>1</b>"}]
    page = roiloss.report(evil, stride=16, methods="roialign", image_size=(64, 64), worst=1, timestamp=False,
                          source="<i>in</i> https://x", title="t & <u>")
    assert "<script" not in page and "<b>1" not in page and "<i>in" not in page and "<u>" not in page
    assert "http" not in page.lower() and "//" not in page
    assert "&lt;script&gt;" in page and "t &amp; &lt;u&gt;" in page


def test_cli_writes_what_the_library_returns(tmp_path):
    out = tmp_path / "report.html"
    result = invoke("report", EXAMPLE, "--stride", "32", "--pool", "3", "--methods", "roialign", "--worst", "1",
                    "--no-timestamp", "-o", out)
    assert result.exit_code == 0, result.stderr
    expected = roiloss.report(roiloss.read_boxes(str(EXAMPLE)), stride=32, pool=3, methods="roialign", worst=1,
                              timestamp=False, source=str(EXAMPLE))
    assert out.read_text(encoding="utf-8") == expected
    assert "wrote" in result.stderr
    bad = invoke("report", EXAMPLE, "--check", "p95 nonsense <= 1", "-o", tmp_path / "x.html")
    assert bad.exit_code == 2 and not (tmp_path / "x.html").exists()


# --- a real browser ---------------------------------------------------------------------------

def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name) if not os.path.isabs(name) else (name if os.access(name, os.X_OK) else None)
        if path:
            return path
    pytest.fail("headless Chromium is needed to render the report and was not found (looked for "
                f"{', '.join(BROWSERS)}); install it with `apt-get update && apt-get install -y chromium` "
                "(make test does this when chromium is missing)", pytrace=False)


def render(html_path, tmp_path, name="shot"):
    """Screenshot ``html_path`` in headless Chromium; return (png path, console lines)."""
    png = tmp_path / f"{name}.png"
    args = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / f'{name}-profile'}", f"--screenshot={png}", "--window-size=1280,2000",
            "--enable-logging=stderr", "--v=0", html_path.as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines()
               if ":CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line]
    return png, console


def test_console_capture_sees_errors(tmp_path):
    """The check below is only as good as its capture: a broken page must be caught."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction()</script>")
    _, console = render(broken, tmp_path, "broken")
    assert any("Uncaught" in line for line in console), console


def test_chromium_renders_the_page_without_console_errors(page, tmp_path):
    import matplotlib.image as mpimg

    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    png, console = render(path, tmp_path)
    assert console == []
    pixels = mpimg.imread(str(png))[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.05  # not blank
    ink = (pixels.min(axis=2) < 0.6).mean()
    assert 0.01 < ink < 0.6  # text and figures on a light page
