"""Termination messages: the file's tail, or the log's tail with FallbackToLogsOnError."""

from __future__ import annotations

from pyk8s.kubelet import terminationmessage as tm


def test_message_file(tmp_path):
    path = tm.message_path(str(tmp_path), "uid", "app", 2)
    assert path == str(tmp_path / "uid" / "containers" / "app" / "2")
    tm.create_message_file(path)
    assert tm.read_message(path) == ""
    with open(path, "w") as f:
        f.write("x" * 5000 + "the end")
    message = tm.read_message(path)
    assert len(message) == tm.MAX_MESSAGE and message.endswith("the end")
    assert tm.read_message(str(tmp_path / "missing")) == ""


def test_log_tail(tmp_path):
    log = tmp_path / "0.log"
    lines = [f"2026-11-27T00:00:{i % 60:02d}.000000000Z stdout F line {i}\n" for i in range(100)]
    lines.append("2026-11-27T00:01:00.000000000Z stderr P half \n")
    lines.append("2026-11-27T00:01:00.000000001Z stderr F and half\n")
    log.write_text("".join(lines))
    text = tm.log_tail(str(log))
    assert text.splitlines() == [f"line {i}" for i in range(21, 100)] + ["half and half"]
    big = tmp_path / "1.log"
    big.write_text("".join(f"2026-11-27T00:00:00.000000000Z stdout F {'y' * 100} {i}\n"
                           for i in range(100)))
    tail = tm.log_tail(str(big))
    assert len(tail.encode()) == tm.MAX_LOG_BYTES and tail.endswith(" 99\n")
    assert tm.log_tail(str(tmp_path / "none.log")) == ""
