"""The wire protocol: what decodes, what is refused and with which close code and reason."""

from __future__ import annotations

import contextlib
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drawnet.protocol import (
    AddStroke,
    Begin,
    ClearBoard,
    CloseCode,
    Committed,
    Erase,
    Hello,
    Laser,
    Limits,
    Points,
    ProtocolError,
    Submit,
    decode_client,
    decode_server,
    encode,
)
from drawnet.protocol.validation import LimitError, check_live, check_op


def stroke(op_id: str = "s1", n: int = 3, width: float = 2.0) -> AddStroke:
    return AddStroke(
        id=op_id, tool="pen", color="#112233", width=width, opacity=1.0, pts=[(i, i, 0.5) for i in range(n)]
    )


class TestDecodingClientFrames:
    def test_hello_has_documented_defaults(self) -> None:
        assert decode_client('{"t":"hello","v":1,"client":"tab-1"}') == Hello(v=1, client="tab-1")

    def test_every_client_message_round_trips(self) -> None:
        messages = [
            Hello(v=1, client="c", name="Ann", color="#abcdef", since=4, token="jwt"),
            Begin(stroke="s1", tool="highlighter", color="#000000", width=3.5, opacity=0.5),
            Points(stroke="s1", pts=[(1.0, 2.0, 0.25)]),
            Submit(op=stroke()),
            Submit(op=Erase(id="e1", strokes=["s1"])),
            Submit(op=ClearBoard(id="c1")),
        ]
        for message in messages:
            assert decode_client(encode(message)) == message

    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            (b"\xff\xfe", "not JSON"),
            ("[1,2]", "invalid message"),
            ('{"t":"nope"}', "invalid message"),
            ('{"t":"hello","v":1}', "missing required field `client`"),
            ('{"t":"hello","v":1,"client":"has space"}', "client"),
            ('{"t":"points","stroke":"s","pts":[]}', "length >= 1"),
            ('{"t":"points","stroke":"s","pts":[[0,0,1.5]]}', "<= 1"),
            (
                (
                    '{"t":"op","op":{"kind":"stroke","id":"s","tool":"brush","color":"#000000",'
                    '"width":1,"opacity":1,"pts":[[0,0,0.5]]}}'
                ),
                "tool",
            ),
            ('{"t":"op","op":{"kind":"erase","id":"e","strokes":[]}}', "length >= 1"),
        ],
    )
    def test_a_bad_frame_is_a_malformed_error_that_says_what_is_wrong(
        self, frame: str | bytes, reason: str
    ) -> None:
        with pytest.raises(ProtocolError) as caught:
            decode_client(frame)
        assert caught.value.code is CloseCode.MALFORMED
        assert reason in caught.value.reason

    def test_the_decoder_enforces_the_hard_cap_on_points(self) -> None:
        frame = json.dumps({"t": "points", "stroke": "s", "pts": [[0, 0, 0.5]] * 20_001})
        with pytest.raises(ProtocolError, match="length <= 20000"):
            decode_client(frame)

    def test_a_close_reason_fits_in_a_close_frame(self) -> None:
        error = ProtocolError(CloseCode.MALFORMED, "é" * 200)
        assert len(error.reason.encode()) <= 123

    @given(st.binary(max_size=300) | st.text(max_size=300))
    def test_any_input_decodes_or_raises_a_protocol_error(self, frame: bytes | str) -> None:
        # Anything but a ProtocolError escaping here fails the test.
        with contextlib.suppress(ProtocolError):
            decode_client(frame)

    @given(st.from_type(Submit))
    def test_any_valid_submit_survives_encoding(self, message: Submit) -> None:
        try:
            decoded = decode_client(encode(message))
        except ProtocolError:
            return  # hypothesis may build values the constraints reject (e.g. NaN coordinates)
        assert decoded == message


class TestServerFrames:
    def test_a_committed_op_round_trips(self) -> None:
        committed = Committed(seq=7, by="p1", op=stroke())
        assert decode_server(encode(committed)) == committed


class TestConfiguredLimits:
    def test_points_per_stroke_names_the_limit_and_both_numbers(self) -> None:
        with pytest.raises(LimitError) as caught:
            check_op(stroke(n=11), Limits(max_points_per_stroke=10))
        assert caught.value.limit == "max_points_per_stroke"
        assert caught.value.reason == "stroke of 11 points exceeds max_points_per_stroke 10"

    def test_width(self) -> None:
        with pytest.raises(LimitError, match=r"width 300\.0 exceeds max_width 200\.0"):
            check_op(stroke(width=300.0), Limits())

    def test_coordinates_are_bounded_by_the_decoder(self) -> None:
        with pytest.raises(ProtocolError, match=r"<= 1000000\.0 - at `\$\.pts\[0\]\[1\]`"):
            decode_client('{"t":"points","stroke":"s","pts":[[0,2e6,0.5]]}')

    def test_live_points_per_message(self) -> None:
        with pytest.raises(LimitError, match="3 points in one message exceed max_points_per_message 2"):
            check_live(Points(stroke="s", pts=[(0, 0, 0.5)] * 3), Limits(max_points_per_message=2))

    def test_live_laser_points_per_message(self) -> None:
        with pytest.raises(
            LimitError, match="3 laser points in one message exceed max_laser_points_per_message 2"
        ) as caught:
            check_live(Laser(pts=[(0, 0)] * 3), Limits(max_laser_points_per_message=2))
        assert caught.value.limit == "max_laser_points_per_message"
        check_live(Laser(pts=[(0, 0)] * 2, start=True), Limits(max_laser_points_per_message=2))

    def test_a_laser_message_is_bounded_by_the_decoder(self) -> None:
        with pytest.raises(ProtocolError, match=r"length <= 1000"):
            decode_client(json.dumps({"t": "laser", "pts": [[0, 0]] * 1001}))
        with pytest.raises(ProtocolError, match=r"length >= 1"):
            decode_client('{"t":"laser","pts":[]}')
        assert decode_client('{"t":"laser","pts":[[1,2]],"start":true}') == Laser(pts=[(1, 2)], start=True)

    def test_within_limits_passes(self) -> None:
        check_op(stroke(n=10), Limits(max_points_per_stroke=10))
        check_live(Begin(stroke="s", tool="pen", color="#000000", width=5), Limits())

    def test_limits_are_frozen_and_encode_for_the_welcome(self) -> None:
        limits = Limits()
        with pytest.raises(AttributeError):
            limits.max_participants = 3  # type: ignore[misc]
        assert msgspec.json.decode(encode(limits))["max_points_per_stroke"] == 5_000
