"""Report tables off a terminal are rendered without rich (`report.blocks`, for start-up time); the
text must be rich's own, byte for byte, or the renderer must decline (None) and leave it to rich."""

import io
import random

from rich.console import Console

from prfaas_plan.cli.common import WIDE, _full_width
from prfaas_plan.report.blocks import Note, blocks, table


def _rich(obj, width):
    con = Console(file=io.StringIO(), width=width, color_system=None)
    con.print(obj.__rich__())
    return "\n".join(line.rstrip() for line in con.file.getvalue().splitlines()) + "\n"


def _plain(obj, width):
    text = obj.plain(width)
    assert text is not None, "the renderer declined a case it should cover"
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


CASES = [
    table(["tokens", "KV bytes", "dominant"], [[1024, "5.168e+07", "overhead"], [131072, "1.1e+09", "moe_gemm"]],
          "kimi-linear-48b on 8xh200: KV 8,064 B/token + 41.4 MiB fixed state (roofline prediction)\n"
          "recipe: bf16 weights, bf16 KV, attention TP 8, experts TP 8 x EP 1, balanced routing"),
    table(["op class (s)", "1024"], [["moe[power_law_1.01]", "0.1"], ["linear_attention[gdn]", "[b]x[/b]"],
                                      ["a\\[b]", "[bold]"]], "brackets [are] data [/]"),
    table(["a"], [], "no rows"),
    table(["quantity", "value"], [["two\nlines", "1"], ["x", "y\nz\nw"]], None),
    table(["head\ner", "b"], [["1", "2"]], "   leading spaces and  double  spaces   "),
    table(["x", "y"], [["", "1"], ["2", ""]], "averyveryverylongwordthatcannotfitonanyline_averyveryverylongword x y"),
    table(["c"], [["1"]], "title\n\nwith a blank line"),
    blocks(table(["a", "b"], [["1", "2"]], "T"), Note("a note [not markup]"), Note("dim\ntwo lines", style="dim"),
           table(["pick", "x"], [["best", "3"]]), Note("")),
]


def test_plain_tables_match_rich_byte_for_byte():
    for obj in CASES:
        for width in (WIDE, 80, 30):
            if obj.plain(width) is None:
                assert width < WIDE, obj
                continue
            assert _plain(obj, width) == _rich(obj, width), (obj, width)


def test_random_tables_match_rich():
    rng = random.Random(7)
    compared = 0
    alphabet = "abc xyz 0123456789.,:;-_()[]/#%+=*|<>'\"!?@"
    for _ in range(150):
        ncol = rng.randint(1, 5)
        word = lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))).strip()  # noqa: E731
        cols = [word() or "c" for _ in range(ncol)]
        rows = [[word() for _ in range(ncol)] for _ in range(rng.randint(0, 6))]
        title = " ".join(word() for _ in range(rng.randint(0, 25))) or None
        obj = blocks(table(cols, rows, title), Note(word()))
        width = rng.choice((WIDE, 40, 25))
        if obj.plain(width) is not None:
            assert _plain(obj, width) == _rich(obj, width), (cols, rows, title, width)
            compared += 1
    assert compared >= 60, f"only {compared} of 150 random tables were rendered without rich"


def test_declines_what_it_does_not_cover():
    """Non-ASCII text, a possible :emoji: code, control characters and too-wide tables go to rich."""
    assert table(["a"], [["caf\u00e9"]]).plain(WIDE) is None
    assert table(["a"], [["x"]], "say :smile: now").plain(WIDE) is None
    assert table(["a"], [["tab\there"]]).plain(WIDE) is None
    assert table(["a", "b"], [["x" * 50, "y"]]).plain(40) is None
    assert Note("x" * 50).plain(40) is None
    assert blocks(table(["a"], [["1"]]), Note("\u2264")).plain(WIDE) is None
    # and the output path still prints them, through rich
    assert _full_width(table(["a"], [["caf\u00e9"]], "say :smile:")) == _rich(
        table(["a"], [["caf\u00e9"]], "say :smile:"), WIDE)
