"""Reading a job's log file through the dashboard's log API: the fallback for a log the job server
cannot read (bytes that are not UTF-8). What the live servers send, and that every log method uses
it, is in ``tests/integration/test_undecodable_logs.py``; here, the decoding, free of I/O."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ray_jobs_client.logs import LOG_FILE_BLOCK, LogFileDecoder


def _framed(data: bytes) -> bytes:
    """The body Ray < 2.45 sends for a file: each block of 64 KiB after the status byte ``1``."""
    blocks = [data[i : i + LOG_FILE_BLOCK] for i in range(0, len(data), LOG_FILE_BLOCK)]
    return b"".join(b"1" + block for block in blocks)


def _decode(body: bytes, *, framed: bool, cuts: list[int]) -> str:
    decoder = LogFileDecoder(framed)
    pieces, start = [], 0
    for cut in [*sorted(cuts), len(body)]:
        pieces.append(decoder.feed(body[start:cut]))
        start = cut
    return "".join(pieces) + decoder.close()


def _as_the_job_server_reads_it(data: bytes) -> str:
    """Python's text mode (universal newlines), but bytes that are not UTF-8 replaced, not fatal."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


LOG_BYTES = st.lists(
    st.sampled_from(
        [b"line\n", b"\xff", b"\xe9", "é".encode(), "😀".encode(), b"\r\n", b"\r", b"1", b"0", b"x" * 40]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(data=LOG_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=6))
def test_the_text_is_the_files_as_the_server_reads_it_with_bad_bytes_replaced_wherever_the_body_is_cut(
    data: bytes, cuts: list[int]
) -> None:
    expected = _as_the_job_server_reads_it(data)
    assert _decode(data, framed=False, cuts=cuts) == expected
    assert _decode(_framed(data), framed=True, cuts=cuts) == expected


def test_blocks_over_64_kib_lose_only_their_status_bytes() -> None:
    data = b"".join(b"%07d 1 0 1\n" % i for i in range(20_000))  # 280 kB of lines full of "1" and "0"
    body = _framed(data)
    assert len(body) == len(data) + 5  # five blocks, each after its status byte
    assert (
        _decode(body, framed=True, cuts=[1, LOG_FILE_BLOCK + 1, LOG_FILE_BLOCK + 2, 200_000]) == data.decode()
    )


def test_a_status_byte_0_is_the_log_apis_error() -> None:
    decoder = LogFileDecoder(framed=True)
    assert decoder.feed(b"0Closing HTTP stream due to internal server error.\nAgent for node") == ""
    decoder.feed(b" id: abc doesn't exist.")
    with pytest.raises(
        ValueError, match=r"the log API failed: Closing HTTP stream .* Agent for node id: abc"
    ):
        decoder.close()


def test_a_body_that_is_not_blocks_is_refused() -> None:
    with pytest.raises(ValueError, match="status byte"):
        LogFileDecoder(framed=True).feed(b"2026-12-04 INFO job_manager.py -- Runtime env is setting up.\n")


def test_while_the_job_writes_a_cut_character_or_line_end_waits_for_the_next_read() -> None:
    """A file read while it grows may end inside a character or between CR and LF: not delivered half
    (the next read has it whole, and the cursor counts characters)."""
    decoder = LogFileDecoder(framed=False)
    assert decoder.feed(b"done \xc3") == "done "
    assert decoder.close(final=False) == ""
    again = LogFileDecoder(framed=False)
    assert again.feed(b"done \xc3\xa9\r") == "done é"
    assert again.close(final=False) == ""
    last = LogFileDecoder(framed=False)
    assert last.feed(b"done \xc3\xa9\r\nnext") + last.close() == "done é\nnext"
