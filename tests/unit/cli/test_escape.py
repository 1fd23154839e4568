from __future__ import annotations

import pytest

from ftops.cli._escape import md_cell, md_text, terminal

ESC = "\x1b"


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain text", "plain text"),
    (f"{ESC}[31mred{ESC}[0m", "red"),  # CSI colour
    (f"{ESC}[2J{ESC}[Hcleared", "cleared"),  # clear screen, cursor home
    (f"{ESC}]0;pwned title{ESC}\\after", "after"),  # OSC window title, ST-terminated
    (f"{ESC}]8;;https://evil.example{chr(7)}click{ESC}]8;;{chr(7)}", "click"),  # OSC 8 hyperlink, BEL-terminated
    (f"{ESC}P+q{ESC}\\x", "x"),  # DCS
    ("\x9b31mc1 csi", "c1 csi"),  # 8-bit CSI
    ("\x9d0;title\x9cok", "ok"),  # 8-bit OSC
    ("a\x00b\x07c\x08d\x7fe", "abcde"),  # NUL, BEL, backspace, DEL
    ("tab\tstays", "tab\tstays"),
    ("two\nlines\r\nthree\rfour", "two lines three four"),
    ("bidi \u202eevil\u202c", "bidi evil"),
    (f"unterminated {ESC}]0;title", "unterminated "),
    (f"lone {ESC}", "lone "),
])
def test_terminal_strips_sequences_and_controls(raw: str, shown: str) -> None:
    assert terminal(raw) == shown


def test_terminal_multiline_keeps_newlines_only() -> None:
    assert terminal(f"a\r\nb\rc\n{ESC}[1md", multiline=True) == "a\nb\nc\nd"


@pytest.mark.parametrize(("raw", "cell"), [
    ("simple", "simple"),
    ("n_epochs", "n_epochs"),  # safe inside a code span: nothing a code span would show escaped
    ("a|b", "a\\|b"),
    ("line\nbreak", "line break"),
    ("`code` ends a span", "'code' ends a span"),
    (f"{ESC}[31mred{ESC}[0m", "red"),
    ("\u2028sep\u2029", "sep"),
])
def test_md_cell_is_one_safe_cell(raw: str, cell: str) -> None:
    assert md_cell(raw) == cell


@pytest.mark.parametrize(("raw", "cell"), [
    ("simple", "simple"),
    ("a|b", "a\\|b"),
    ("`code`", "'code'"),
    ("<script>x</script>", "\\<script\\>x\\</script\\>"),
    ("[link](http://x)", "\\[link\\](http://x)"),
    ("![pixel](http://x)", "!\\[pixel\\](http://x)"),
    ("*bold* _em_", "\\*bold\\* \\_em\\_"),
    ("back\\slash", "back\\\\slash"),
    ("two\nlines|x", "two lines\\|x"),
])
def test_md_text_also_escapes_markdown(raw: str, cell: str) -> None:
    assert md_text(raw) == cell


@pytest.mark.parametrize("text", ["".join(chr(c) for c in range(0, 0x250)), ESC * 50 + "[" * 50, "\n" * 1000])
def test_everything_comes_out_one_line_without_controls(text: str) -> None:
    for out in (terminal(text), md_cell(text), md_text(text)):
        assert "\n" not in out and ESC not in out
        assert not any(ord(c) < 0x20 and c != "\t" for c in out)
        assert not any(0x7f <= ord(c) <= 0x9f for c in out)


@pytest.mark.parametrize(("raw", "cell"), [
    ("ping @octocat and @acme/ml-team", "ping @&#8203;octocat and @&#8203;acme/ml-team"),
    ("see #123, GH-45, gh-6 and acme/models#7", "see #&#8203;123, GH-&#8203;45, gh-&#8203;6 and acme/models#&#8203;7"),
    ("https://github.com/acme/models/issues/1", "https://github&#8203;.com/acme/models/issues/1"),
    ("an entity &#64;octocat stays text", "an entity \\&#&#8203;64;octocat stays text"),
    ("mail ops@example.com", "mail ops@&#8203;example.com"),
    ("# heading, 100% #", "# heading, 100% #"),
])
def test_md_text_leaves_github_nothing_to_act_on(raw: str, cell: str) -> None:
    """Foundry's text in a PR comment could ping people and back-link issues."""
    assert md_text(raw) == cell


def test_markdown_outputs_escape_what_github_acts_on() -> None:
    from ftops.cli._charts import VerdictRow, verdict_table_markdown
    from ftops.cli._render import drift_markdown, status_markdown
    from ftops.plan import DriftItem, StatusRow

    evil = "failed: ask @octocat about #12 (acme/models#3, GH-4)"
    outputs = [drift_markdown([DriftItem("failed", "FineTuningJob/j", evil, "no-op")], [], "p"),
               status_markdown([StatusRow("FineTuningJob", "j", "ftjob-1", "failed", evil)]),
               verdict_table_markdown(["c"], [VerdictRow("final", {"c": 0.5}, evil)], None)]
    for md in outputs:
        assert "@octocat" not in md and "#12" not in md and "#3" not in md and "GH-4" not in md, md
