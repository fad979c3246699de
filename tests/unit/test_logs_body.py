"""``LogsBodyDecoder``: a ``GET …/logs`` body decoded piece by piece equals ``json.loads`` of it whole."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ray_jobs_client.logs import LogsBodyDecoder

# Log text as it really comes: lines with quotes, backslashes, control characters, non-ASCII and
# astral characters (a surrogate pair once escaped), plus lone surrogates json.dumps can carry.
LOG_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "\n", "\t", "\r", "\x00", "\x1b", "/", "u", "d", "8", "é", "😀", "中"]),
        st.characters(codec="utf-8"),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    ),
    max_size=300,
)


def _decode(body: bytes, cuts: list[int]) -> str:
    decoder = LogsBodyDecoder()
    pieces, start = [], 0
    for cut in sorted({min(cut, len(body)) for cut in cuts}):
        pieces.append(decoder.feed(body[start:cut]))
        start = cut
    pieces.append(decoder.feed(body[start:]))
    pieces.append(decoder.close())
    return "".join(pieces)


@settings(max_examples=400)
@given(
    logs=LOG_TEXT,
    ensure_ascii=st.booleans(),
    spaced=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=30),
)
def test_any_split_of_any_body_decodes_to_the_log(
    logs: str, ensure_ascii: bool, spaced: bool, cuts: list[int]
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    body = json.dumps({"logs": logs}, ensure_ascii=ensure_ascii, separators=separators)
    encoded = body.encode("utf-8", "surrogatepass")
    if not ensure_ascii and any(0xD800 <= ord(c) <= 0xDFFF for c in logs):
        return  # raw lone surrogates are not UTF-8 a server could send
    assert _decode(encoded, cuts) == json.loads(body)["logs"]


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_every_byte_on_its_own(ensure_ascii: bool) -> None:
    logs = 'a "quoted" \\ back\\slash\nline 2 é 😀\n' * 3
    if ensure_ascii:
        logs += "a lone \ud83d surrogate"  # only an escaped one can be sent
    body = json.dumps({"logs": logs}, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    assert _decode(body, list(range(len(body)))) == logs


def test_pieces_are_handed_on_before_the_body_ends() -> None:
    decoder = LogsBodyDecoder()
    assert decoder.feed(b'{"logs": "line 1\\nline') == "line 1\nline"
    assert decoder.feed(b" 2\\") == " 2"  # the backslash waits for the rest of its escape
    assert decoder.feed(b'n"}') == "\n"
    assert decoder.close() == ""


@pytest.mark.parametrize(
    ("body", "logs"),
    [
        (b'{"other": 1, "logs": "x\\ny"}', "x\ny"),  # another shape: parsed whole at the end
        (b'{"logs": "x", "more": [1, {"a": "}"}]}', "x"),  # keys after the log
        (b'  {\n  "logs" :\t"x"\n}\n', "x"),
        (b'{"logs": ""}', ""),
    ],
)
def test_other_valid_shapes(body: bytes, logs: str) -> None:
    assert _decode(body, [3, 10]) == logs


@pytest.mark.parametrize(
    "body",
    [
        b'{"logs": "cut off in the mid',  # a truncated download
        b'{"logs": "x"',  # no closing brace
        b'{"logs": "x"} trailing',
        b'{"logs": 5}',
        b"[1, 2]",
        b"<html>Bad gateway</html>",
        b"",
        b'{"logs": "a\x01b"}',  # a raw control character: not JSON (the whole-body parse refuses it too)
        '\u00a0{"logs": "x"}'.encode(),  # no-break space is not JSON whitespace
    ],
)
def test_malformed_bodies_raise_value_error(body: bytes) -> None:
    decoder = LogsBodyDecoder()
    with pytest.raises(ValueError):
        decoder.feed(body)
        decoder.close()
