"""The drawing service's pure parts: how strokes are drawn, rate limits, when snapshots fall due, settings."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from pydantic import ValidationError

from drawnet.drawing import oplog, render, snapshots
from drawnet.drawing.errors import RateLimitedError
from drawnet.drawing.ratelimit import RateLimit
from drawnet.drawing.settings import DrawingSettings
from drawnet.drawing.web import StaticFiles, index_page, page_config
from drawnet.protocol import AddStroke, Board, BoardState, Committed, Op, encode
from drawnet.protocol.messages import Erase, StrokeEntry, Undo


def stroke(pts: list[tuple[float, float, float]], **style: object) -> AddStroke:
    fields: dict[str, object] = {"tool": "pen", "color": "#123456", "width": 4.0, "opacity": 1.0}
    return AddStroke(id="s", pts=pts, **{**fields, **style})  # type: ignore[arg-type]


class TestStrokesAreDrawnAsTheBrowserDrawsThem:
    def test_pressure_scales_the_width_from_three_quarters_to_five_quarters(self) -> None:
        assert (render.width_at(8, 0), render.width_at(8, 0.5), render.width_at(8, 1)) == (6, 8, 10)

    def test_widths_are_rounded_to_a_quarter_with_halves_up_like_math_round(self) -> None:
        assert [render.quantize(w) for w in (0.01, 1.1, 1.125, 1.13, 2.0)] == [0.25, 1.0, 1.25, 1.25, 2.0]

    def test_a_one_point_stroke_is_a_dot_of_its_pressure_width(self) -> None:
        (dot,) = render.segments(stroke([(5, 6, 1.0)], width=4))
        assert (dot.dot, dot.start, dot.width) == (True, (5, 6), 5.0)

    def test_a_stroke_of_even_pressure_is_one_path_through_the_midpoints(self) -> None:
        (path,) = render.segments(stroke([(0, 0, 0.5), (10, 0, 0.5), (20, 10, 0.5), (30, 10, 0.5)]))
        assert path.start == (0.0, 0.0)
        assert list(path.quads) == [(10.0, 0.0, 15.0, 5.0), (20.0, 10.0, 25.0, 10.0)]
        assert path.end == (30.0, 10.0)
        assert path.width == 4.0

    def test_a_pressure_change_starts_a_new_path_at_the_midpoint(self) -> None:
        first, second = render.segments(stroke([(0, 0, 0.5), (10, 0, 1.0), (20, 0, 1.0)]))
        assert (first.width, first.end, list(first.quads)) == (4.0, None, [(10, 0, 15, 0)])
        assert (second.start, second.width, second.end) == ((15, 0), 5.0, (20, 0))

    def test_the_svg_writes_each_path_with_its_width_colour_and_opacity(self) -> None:
        svg = render.svg([stroke([(0, 0, 0.5), (10, 0, 0.5)], opacity=0.25)], background=None)
        assert '<path d="M0 0L10 0" stroke="#123456" stroke-width="4" opacity="0.25"/>' in svg
        assert "<rect" not in svg

    def test_the_export_covers_every_stroke_with_its_width_and_a_margin(self) -> None:
        box = render.bounds([stroke([(0, 0, 0.5), (100, 50, 0.5)], width=8)])
        assert (box.x, box.y, box.width, box.height) == (-13, -13, 126, 76)

    def test_a_png_larger_than_the_pixel_limit_is_scaled_down_to_fit(self) -> None:
        box = render.Bounds(0, 0, 4000, 3000)
        assert render.png_scale(box, 1.0, 12_000_000) == 1.0
        assert render.png_scale(box, 2.0, 12_000_000) == pytest.approx(1.0)


class TestRateLimit:
    def test_the_attempt_past_the_limit_is_refused_with_the_limit_and_when_to_retry(self) -> None:
        limit = RateLimit("login_attempts_per_minute", 2)
        limit.hit("a", now=100.0)
        limit.hit("a", now=110.0)
        with pytest.raises(RateLimitedError) as refused:
            limit.hit("a", now=120.0)
        assert refused.value.extra == {"limit": "login_attempts_per_minute"}
        assert refused.value.headers == {"Retry-After": "40"}

    def test_each_key_has_its_own_window_and_the_window_slides(self) -> None:
        limit = RateLimit("x", 1)
        limit.hit("a", now=0.0)
        limit.hit("b", now=1.0)
        limit.hit("a", now=60.5)


class TestSettings:
    def test_the_signing_key_must_be_one_of_the_keys(self) -> None:
        with pytest.raises(ValidationError, match="signing_key_id 'other' is not one of signing_keys"):
            DrawingSettings(signing_keys="k1:" + "a" * 32, signing_key_id="other")

    def test_a_short_signing_secret_is_refused(self) -> None:
        with pytest.raises(ValidationError, match=">= 32 bytes"):
            DrawingSettings(signing_keys="k1:short")

    def test_a_short_service_token_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="service_token must be at least 32"):
            DrawingSettings(service_token="abc")

    def test_every_http_limit_comes_from_its_env_var(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DRAWNET_DRAWING_MAX_BODY_BYTES", "2048")
        monkeypatch.setenv("DRAWNET_DRAWING_LOGIN_ATTEMPTS_PER_MINUTE", "3")
        monkeypatch.setenv("DRAWNET_DRAWING_SNAPSHOT_EVERY_OPS", "7")
        settings = DrawingSettings()
        assert (settings.max_body_bytes, settings.login_attempts_per_minute) == (2048, 3)
        assert settings.snapshot_every_ops == 7


class TestWebApp:
    def test_the_page_config_names_urls_and_limits(self) -> None:
        config = page_config(DrawingSettings(public_url="https://draw.example/", max_page_size=77))
        assert config["apiUrl"] == "https://draw.example/api/v1"
        assert config["limits"]["max_page_size"] == 77

    def test_the_injected_config_cannot_close_its_script_element(self) -> None:
        page = index_page(DrawingSettings(room_public_url="ws://x/</script>"))
        assert "ws://x/\\u003c/script>" in page

    def test_static_files_are_served_from_js_and_css_only(self, tmp_path: Path) -> None:
        (tmp_path / "js").mkdir()
        (tmp_path / "js" / "a.js").write_text("export {};")
        (tmp_path / "secret.txt").write_text("no")
        files = StaticFiles(tmp_path)
        found = files.get("js/a.js")
        assert found is not None
        assert found[1] == "text/javascript; charset=utf-8"
        assert files.get("js/../secret.txt") is None
        assert files.get("secret.txt") is None

    def test_a_changed_file_gets_a_new_etag(self, tmp_path: Path) -> None:
        (tmp_path / "css").mkdir()
        sheet = tmp_path / "css" / "a.css"
        sheet.write_text("a{}")
        files = StaticFiles(tmp_path)
        before = files.get("css/a.css")
        sheet.write_text("b{color:red}")
        after = files.get("css/a.css")
        assert before is not None
        assert after is not None
        assert before[2] != after[2]


class TestSnapshotsCopyLoggedStrokes:
    """The persister's snapshots copy each stroke's JSON as logged instead of encoding it again."""

    def board(self) -> Board:
        board = Board()
        ops: list[Op] = [
            AddStroke(
                id="a", tool="pen", color="#112233", width=2, opacity=1, pts=[(0, 0, 0.5), (3, 4, 0.7)]
            ),
            AddStroke(id="b", tool="line", color="#445566", width=4, opacity=0.5, pts=[(1, 1, 0.5)]),
            AddStroke(
                id="c", tool="pen", color="#778899", width=1, opacity=1, pts=[(2, 2, 0.5), (5, 5, 0.5)]
            ),
            Erase(id="e1", strokes=["b"]),
            Undo(id="u1", target="e1"),
        ]
        for seq, op in enumerate(ops, start=1):
            board.apply(Committed(seq=seq, by="ann", op=op))
        return board

    def test_the_copy_is_the_same_board_state_as_the_encoding(self) -> None:
        board = self.board()
        bodies = {"a": encode(board.state().strokes[0].stroke), "gone": b"{}"}
        copied = snapshots.encode_state(board, bodies)
        assert (
            snapshots.decode_state(copied)
            == board.state()
            == snapshots.decode_state(snapshots.encode_state(board))
        )
        assert set(bodies) == {"a", "b", "c"}  # missing ones encoded once, ones off the board dropped

    def test_a_board_of_ops_decoded_without_their_points_makes_the_same_snapshot(self) -> None:
        decoded, lazy = Board(), Board()
        for seq, entry in enumerate(self.board().state().strokes, start=1):
            logged = encode(msgspec.json.decode(encode(entry.stroke), type=AddStroke))  # as a room logs it
            op = oplog.decode_op(logged)
            assert isinstance(op, AddStroke)
            assert encode(op) == logged  # the points stay the logged JSON, verbatim
            lazy.apply(Committed(seq=seq, by="ann", op=op))
            decoded.apply(Committed(seq=seq, by="ann", op=msgspec.json.decode(logged, type=AddStroke)))
        assert lazy.state_hash() == decoded.state_hash()
        assert snapshots.encode_state(lazy) == snapshots.encode_state(decoded)
        # A snapshot read back the persister's way (points as JSON) writes the same snapshot again.
        written, bodies = snapshots.encode_state(decoded), dict[str, bytes]()
        reread = Board.from_state(snapshots._lazy_state(written, bodies))
        assert set(bodies) == {"a", "b", "c"}
        assert snapshots.encode_state(reread, bodies) == snapshots.encode_state(reread) == written

    def test_its_structs_mirror_the_protocols(self) -> None:
        assert oplog._Stroke.__struct_fields__ == AddStroke.__struct_fields__
        assert snapshots._Snapshot.__struct_fields__ == BoardState.__struct_fields__
        assert snapshots._SnapshotStroke.__struct_fields__ == StrokeEntry.__struct_fields__
