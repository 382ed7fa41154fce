"""A guest's console log made safe to draw: no escape sequence may reach the terminal."""
from hypervisor.xen.plain_text import last_lines, strip_escapes


def test_cursor_queries_colours_and_titles_are_removed():
    raw = "\x1b[6n\x1b[1;31mred\x1b[0m \x1b]0;title\x07\x1b]2;t2\x1b\\done\x1b[?25h\x1b(B\x1b7\x1bc"
    assert strip_escapes(raw) == "red done"


def test_8_bit_controls_dcs_strings_and_a_cut_off_escape_are_removed():
    assert strip_escapes("a\x9b2Jb\x1bPq#0;2;0;0;0\x1b\\c\x07d\x1b") == "abcd"


def test_line_ends_and_redrawn_lines():
    assert strip_escapes("one\r\ntwo\r\r\nthree\n") == "one\ntwo\nthree\n"
    assert strip_escapes("progress 10%\rprogress 100%\n") == "progress 100%\n"
    assert strip_escapes("tab\there\x08\x00") == "tab     here"


def test_last_lines_reads_only_the_end(tmp_path):
    log = tmp_path / "guest-web.log"
    log.write_bytes(b"".join(b"line %d \x1b[32mok\x1b[0m\r\n" % i for i in range(2000)))
    text = last_lines(log, count=500, chunk=4096)
    lines = text.splitlines()
    assert lines[-1] == "line 1999 ok"
    assert len(lines) < 500                         # the chunk ran out first; its cut first line dropped
    assert all(line.startswith("line ") for line in lines)
    assert last_lines(log, count=3).splitlines() == ["line 1997 ok", "line 1998 ok", "line 1999 ok"]


def test_invalid_utf8_does_not_stop_the_log(tmp_path):
    log = tmp_path / "guest-web.log"
    log.write_bytes(b"ok \xff\xfe bytes\n")
    assert last_lines(log) == "ok \ufffd\ufffd bytes"
