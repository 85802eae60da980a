"""The drawing service's pure parts: how strokes are drawn, rate limits, when snapshots fall due, settings."""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import random
import weakref
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt
import pytest
import skia
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from drawnet.drawing import db, oplog, render, snapshots
from drawnet.drawing.db import SnapshotWrite
from drawnet.drawing.errors import RateLimitedError
from drawnet.drawing.ratelimit import RateLimit
from drawnet.drawing.settings import DrawingSettings
from drawnet.drawing.web import StaticFiles, index_page, page_config
from drawnet.drawing.workers import ExportWorkers
from drawnet.protocol import (
    AddNote,
    AddShape,
    AddStroke,
    Board,
    BoardState,
    Committed,
    EditText,
    Op,
    Reorder,
    Transform,
    encode,
)
from drawnet.protocol.messages import ClearBoard, Erase, Place, Redo, StrokeEntry, Undo


def stroke(pts: list[tuple[float, float, float]], **style: object) -> AddStroke:
    fields: dict[str, object] = {"tool": "pen", "color": "#123456", "width": 4.0, "opacity": 1.0}
    return AddStroke(pts=pts, **{"id": "s", **fields, **style})  # type: ignore[arg-type]


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
        # In hundredths of a board unit (render.UNITS), which the viewBox scales back.
        assert '<path d="M0 0L1000 0" stroke="#123456" stroke-width="400" opacity="0.25"/>' in svg
        assert "<rect" not in svg

    def test_the_svg_is_as_big_as_the_board_in_hundredths_of_its_units(self) -> None:
        svg = render.svg([stroke([(0.125, 0, 0.5), (100, 50.5, 0.5)], width=8)], background=None)
        assert 'viewBox="-1300 -1300 12600 7700" width="126" height="77"' in svg
        assert 'd="M12 0L10000 5050"' in svg

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.lists(
                    st.tuples(
                        st.integers(-500, 500).map(float),
                        st.integers(-500, 500).map(lambda v: v / 4),
                        st.sampled_from([0.0, 0.25, 0.5, 0.6, 1.0]),
                    ),
                    min_size=1,
                    max_size=8,
                ),
                st.sampled_from([1.0, 2.5, 4.0, 9.0]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def test_the_whole_board_at_once_gives_the_paths_stroke_by_stroke_gives(
        self, drawn: list[tuple[list[tuple[float, float, float]], float]]
    ) -> None:
        strokes = [stroke(pts, width=width) for pts, width in drawn]
        paths = render.strokes.paths(strokes)
        coords = paths.coords.tolist()
        flat: list[float] = []
        found = []
        for index, width, start, begin, stop, end, dot in zip(
            paths.stroke.tolist(),
            paths.width.tolist(),
            paths.start.tolist(),
            paths.begin.tolist(),
            paths.stop.tolist(),
            paths.end.tolist(),
            paths.dot.tolist(),
            strict=True,
        ):
            quads = [tuple(coords[4 * i : 4 * i + 4]) for i in range(begin, stop)]
            last = (coords[end], coords[end + 1]) if end >= 0 else None
            first = (coords[start], coords[start + 1])
            found.append((index, width, first, quads, last, dot))
            flat.extend([*first, *(v for quad in quads for v in quad), *(last or ())])
        expected = [
            (index, seg.width, seg.start, list(seg.quads), seg.end, seg.dot)
            for index, each in enumerate(strokes)
            for seg in render.segments(each)
        ]
        assert found == expected
        assert paths.gather(paths.coords) == flat
        reach = [(x, y, width * 1.25 / 2) for pts, width in drawn for x, y, _ in pts]
        left = math.floor(min(x - r for x, y, r in reach) - render.MARGIN)
        top = math.floor(min(y - r for x, y, r in reach) - render.MARGIN)
        right = math.ceil(max(x + r for x, y, r in reach) + render.MARGIN)
        bottom = math.ceil(max(y + r for x, y, r in reach) + render.MARGIN)
        assert paths.bounds == render.Bounds(left, top, right - left, bottom - top)

    def test_the_export_covers_every_stroke_with_its_width_and_a_margin(self) -> None:
        box = render.bounds([stroke([(0, 0, 0.5), (100, 50, 0.5)], width=8)])
        assert (box.x, box.y, box.width, box.height) == (-13, -13, 126, 76)

    def test_a_png_larger_than_the_pixel_limit_is_scaled_down_to_fit(self) -> None:
        box = render.Bounds(0, 0, 4000, 3000)
        assert render.png_scale(box, 1.0, 12_000_000) == 1.0
        assert render.png_scale(box, 2.0, 12_000_000) == pytest.approx(1.0)


def scribbles(count: int, seed: int) -> list[AddStroke]:
    """Strokes across a 600 x 400 board: pressure that changes along them, some half transparent, a dot."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        x, y, heading = rng.uniform(0, 600), rng.uniform(0, 400), rng.uniform(0, 2 * math.pi)
        pts = []
        for j in range(rng.choice((1, 12, 40))):
            heading += rng.uniform(-0.5, 0.5)
            x, y = x + 6 * math.cos(heading), y + 6 * math.sin(heading)
            pts.append((round(x, 2), round(y, 2), round(0.5 + 0.5 * math.sin(j / 3), 3)))
        color = f"#{rng.randrange(0x1000000):06x}"
        width, opacity = rng.choice((2.0, 5.0, 12.0)), rng.choice((1.0, 0.4))
        out.append(stroke(pts, id=f"s{i}", color=color, width=width, opacity=opacity))
    return out


def decoded(png: bytes) -> npt.NDArray[np.uint8]:
    image = skia.Image.MakeFromEncoded(skia.Data.MakeWithCopy(png))
    assert image is not None, "not a PNG Skia can read"
    rgba: npt.NDArray[np.uint8] = image.convert(colorType=skia.kRGBA_8888_ColorType).toarray()
    return rgba


@pytest.fixture(scope="module")
def export_workers() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


class _Recorder:
    """A canvas that keeps what is drawn on it: ("path", color, width, path) and ("dot", color, x, y, r)."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def drawPath(self, path: skia.Path, paint: skia.Paint) -> None:  # noqa: N802 (Skia's name)
        self.calls.append(("path", paint.getColor(), paint.getStrokeWidth(), skia.Path(path)))

    def drawCircle(self, x: float, y: float, radius: float, paint: skia.Paint) -> None:  # noqa: N802
        self.calls.append(("dot", paint.getColor(), x, y, radius))


def _expected_calls(strokes: list[AddStroke]) -> list[tuple[object, ...]]:
    """What the PNG export must draw, from `segments()`, verb by verb: each path of a translucent stroke
    on its own, an opaque stroke's paths one SkPath per width (in the order the widths first appear)."""
    f32 = np.float32
    calls: list[tuple[object, ...]] = []
    for each in strokes:
        color = render.common.color(each.color, each.opacity)
        by_width: dict[float, skia.Path] = {}
        for seg in render.segments(each):
            if seg.dot:
                calls.append(("dot", color, f32(seg.start[0]), f32(seg.start[1]), seg.width / 2))
                continue
            path = by_width.setdefault(seg.width, skia.Path()) if each.opacity >= 1 else skia.Path()
            path.moveTo(*seg.start)
            for quad in seg.quads:
                path.quadTo(*quad)
            if seg.end is not None:
                path.lineTo(*seg.end)
            if each.opacity < 1:
                calls.append(("path", color, seg.width, path))
        calls.extend(("path", color, width, path) for width, path in by_width.items())
    return calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_png_draws_the_paths_of_segments_in_the_browsers_order(seed: int) -> None:
    strokes = scribbles(80, seed=seed)
    layer = render.strokes.layer([(each, None, None) for each in strokes])
    box = layer.bounds
    image = render.common.Image(math.floor(box.width), math.floor(box.height), 1.0, (box.x, box.y), None)
    canvas = _Recorder()
    render.strokes.draw(canvas, layer.band(image, 0, image.height))
    expected = _expected_calls(strokes)
    assert {call[0] for call in expected} == {"dot", "path"}
    assert [call[:3] for call in canvas.calls] == [call[:3] for call in expected]
    assert canvas.calls == expected  # SkPaths compare verb by verb, point by point


class TestPngInBands:
    """Large PNG exports are drawn in horizontal bands by worker processes; the image must not show it."""

    @pytest.mark.parametrize("bands", [2, 3, 5])
    @pytest.mark.parametrize(("scale", "background"), [(1.0, render.BACKGROUND), (1.7, None)])
    def test_a_board_drawn_in_bands_has_the_pixels_of_the_board_drawn_whole(
        self,
        export_workers: ProcessPoolExecutor,
        monkeypatch: pytest.MonkeyPatch,
        bands: int,
        scale: float,
        background: str | None,
    ) -> None:
        strokes = scribbles(120, seed=bands)
        whole = render.png(strokes, scale=scale, max_pixels=10**8, background=background)
        monkeypatch.setattr(render, "PARALLEL_POINTS", 1)
        drawn: list[int] = []
        banded = render.png(
            strokes,
            scale=scale,
            max_pixels=10**8,
            background=background,
            workers=export_workers,
            bands=bands,
            on_bands=drawn.append,
        )
        assert drawn == [bands]
        assert banded != whole  # other deflate streams ...
        assert np.array_equal(decoded(banded), decoded(whole))  # ... of the same pixels
        assert zlib.decompress(banded[banded.index(b"IDAT") + 4 : -16])  # and a valid zlib stream

    def test_a_small_board_is_drawn_here_without_the_workers(
        self, export_workers: ProcessPoolExecutor
    ) -> None:
        drawn: list[int] = []
        strokes = scribbles(5, seed=1)
        png = render.png(strokes, max_pixels=10**8, workers=export_workers, bands=2, on_bands=drawn.append)
        assert drawn == []
        assert np.array_equal(decoded(png), decoded(render.png(strokes, max_pixels=10**8)))

    def test_an_empty_board_is_a_small_tile_of_the_board_colour(self) -> None:
        image = decoded(render.png([], max_pixels=10**8))
        assert image.shape == (64, 64, 4)
        assert (image == (0xFB, 0xFB, 0xFA, 255)).all()

    def test_after_a_worker_dies_the_next_export_gets_new_workers(self) -> None:
        workers = ExportWorkers(1)
        try:
            with pytest.raises(BrokenProcessPool):
                workers.submit(os._exit, 1).result(timeout=60)
            strokes = scribbles(60, seed=7)
            whole = render.png(strokes, max_pixels=10**8)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(render, "PARALLEL_POINTS", 1)
                banded = render.png(strokes, max_pixels=10**8, workers=workers, bands=2)
            assert np.array_equal(decoded(banded), decoded(whole))
        finally:
            workers.shutdown()

    @given(st.binary(max_size=300), st.binary(max_size=70_000))
    def test_the_bands_checksums_combine_into_the_images(self, first: bytes, second: bytes) -> None:
        combined = render.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
        assert combined == zlib.adler32(first + second)


class TestRateLimit:
    """The limiter counts in the database (here SQLite, migrated as the service does)."""

    @pytest.fixture
    async def engine(self, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
        engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
        await db.migrate(engine)
        yield engine
        await engine.dispose()

    async def test_the_attempt_past_the_limit_is_refused_with_the_limit_and_when_to_retry(
        self, engine: AsyncEngine
    ) -> None:
        limit = RateLimit(engine, "login_attempts_per_minute", 2)
        await limit.hit("a", now=100.0)
        await limit.hit("a", now=110.0)
        with pytest.raises(RateLimitedError) as refused:
            await limit.hit("a", now=120.0)
        assert refused.value.extra == {"limit": "login_attempts_per_minute"}
        assert refused.value.headers == {"Retry-After": "60"}

    async def test_each_key_and_each_limit_counts_alone_and_the_minute_slides(
        self, engine: AsyncEngine
    ) -> None:
        limit, other = RateLimit(engine, "x", 1), RateLimit(engine, "y", 1)
        await limit.hit("a", now=0.0)
        await limit.hit("b", now=1.0)
        await other.hit("a", now=2.0)
        with pytest.raises(RateLimitedError):
            await limit.hit("a", now=61.0)  # the last minute still holds most of the first hit
        await limit.hit("a", now=180.0)  # refused attempts count too: a minute without any frees it


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


class _Store:
    """What `db.save_snapshot` does to the two tables, for one board, in memory."""

    def __init__(self) -> None:
        self.seq = 0
        self.layout: int | None = None
        self.head = b""
        self.chunks: dict[int, bytes] = {}

    def save(self, write: SnapshotWrite) -> bool:
        if write.after is None:
            self.chunks = dict(write.chunks)
        elif (write.after, write.layout) != (self.seq, self.layout):
            return False
        else:
            for key in write.dropped:
                del self.chunks[key]
            self.chunks.update(write.chunks)
        self.seq, self.layout, self.head = write.seq, write.layout, write.head
        return True

    def read(self) -> snapshots.StoredSnapshot:
        head = msgspec.json.decode(self.head, type=snapshots._RawHead)
        assert head.chunks == sorted(self.chunks)  # the head names exactly the chunks stored
        assert self.layout is not None
        return snapshots.StoredSnapshot(self.seq, self.layout, head, [self.chunks[k] for k in head.chunks])


# An op of a random board: (kind, author, a number that picks its target).
_ops = st.lists(
    st.tuples(
        st.sampled_from(
            ["stroke"] * 4
            + ["shape", "note", "transform", "reorder", "reorder", "edit", "erase", "undo", "undo", "redo"]
            + ["clear"]
        ),
        st.sampled_from(["ann", "bob"]),
        st.integers(0, 1_000),
    ),
    max_size=400,
)


def _op(kind: str, n: int, seq: int, board: Board, author: str) -> Op:  # noqa: PLR0911 - one per kind
    ids = board.stroke_ids()
    match kind:
        case "stroke":
            # Floats, as a stroke decoded from a client's JSON holds them.
            pts = [(float(n), float(seq), 0.5)]
            return AddStroke(id=f"s{seq}", tool="pen", color="#123456", width=2.0, opacity=1.0, pts=pts)
        case "shape":
            return AddShape(
                id=f"s{seq}", shape="rect", x=float(n), y=0.0, w=10.0, h=5.0, color="#123456", width=2.0
            )
        case "note":
            return AddNote(id=f"s{seq}", x=float(n), y=0.0, w=100.0, text=f"n{n}", size=20.0, fill="#ffec99")
        case "transform":
            named = [ids[n % len(ids)]] if ids else ["nothing"]
            return Transform(id=f"t{seq}", items=named, m=(1.0, 0.0, 0.0, 1.0, float(n), 1.5))
        case "reorder":
            named = [ids[n % len(ids)], ids[(n // 7) % len(ids)]] if ids else ["nothing"]
            place: Place = ("front", "back", "forward", "backward")[n % 4]
            return Reorder(id=f"o{seq}", items=named, to=place)
        case "edit":
            return EditText(id=f"d{seq}", item=ids[n % len(ids)] if ids else "nothing", text=f"edit {n}")
        case "erase":
            return Erase(id=f"e{seq}", strokes=[ids[n % len(ids)]] if ids else ["nothing"])
        case "undo":
            return Undo(id=f"u{seq}", target=board.undo_target(author))
        case "redo":
            return Redo(id=f"r{seq}", target=board.redo_target(author))
    return ClearBoard(id=f"c{seq}")


class TestSnapshotsInChunks:
    """A board's snapshot is its chunks joined: written whole or chunk by chunk, it is the board's state."""

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=_ops, every=st.integers(1, 40), reload_at=st.integers(0, 400))
    def test_the_chunks_written_as_ops_come_are_always_the_board(
        self, ops: list[tuple[str, str, int]], every: int, reload_at: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(snapshots, "CHUNK_BYTES", 300)  # a few strokes per chunk: many chunks
        store = _Store()
        board = Board()
        board.track_changes()
        cached = snapshots._Cached(board)
        for seq, (kind, author, n) in enumerate(ops, start=1):
            board.apply(Committed(seq=seq, by=author, op=_op(kind, n, seq, board, author)))
            if seq % every:
                continue
            assert store.save(snapshots._snapshot("ns", "b", cached))
            stored = store.read()
            assert stored.state_json() == encode(board.state())  # byte for byte
            if seq >= reload_at:  # the persister restarts: it reads the board back, points as JSON
                bodies: dict[str, bytes] = {}
                board, layout = snapshots._lazy_board(stored, bodies)
                assert encode(board.state()) == stored.state_json()
                board.track_changes()
                cached = snapshots._Cached(board, bodies, layout)
                reload_at = len(ops) + 1

    def test_a_snapshot_writes_only_the_chunks_whose_strokes_changed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(snapshots, "CHUNK_BYTES", 300)
        board = Board()
        board.track_changes()
        cached = snapshots._Cached(board)
        for seq in range(1, 41):
            board.apply(Committed(seq=seq, by="ann", op=_op("stroke", seq, seq, board, "ann")))
        first = snapshots._snapshot("ns", "b", cached)
        assert first.after is None
        assert len(first.chunks) > 5

        board.apply(Committed(seq=41, by="ann", op=Erase(id="e41", strokes=["s1"])))
        board.apply(Committed(seq=42, by="ann", op=_op("stroke", 42, 42, board, "ann")))
        second = snapshots._snapshot("ns", "b", cached)

        assert (second.after, second.layout) == (40, first.layout)
        assert cached.layout is not None
        # The erased stroke's chunk, and the new stroke's (the last one, or a new one after it).
        assert set(second.chunks) == {min(first.chunks), cached.layout.chunk_of["s42"]}
        assert cached.layout.chunk_of["s42"] >= max(first.chunks)
        assert snapshots._snapshot("ns", "b", cached).chunks == {}  # nothing changed since

    def test_a_board_of_ops_decoded_without_their_points_makes_the_same_snapshot(self) -> None:
        decoded, lazy = Board(), Board()
        ops: list[AddStroke] = [
            AddStroke(
                id="a", tool="pen", color="#112233", width=2, opacity=1, pts=[(0, 0, 0.5), (3, 4, 0.7)]
            ),
            AddStroke(id="b", tool="line", color="#445566", width=4, opacity=0.5, pts=[(1, 1, 0.5)]),
        ]
        for seq, op in enumerate(ops, start=1):
            logged = encode(msgspec.json.decode(encode(op), type=AddStroke))  # as a room logs it
            lazy_op = oplog.decode_op(logged)
            assert isinstance(lazy_op, AddStroke)
            assert encode(lazy_op) == logged  # the points stay the logged JSON, verbatim
            lazy.apply(Committed(seq=seq, by="ann", op=lazy_op))
            decoded.apply(Committed(seq=seq, by="ann", op=msgspec.json.decode(logged, type=AddStroke)))
        assert lazy.state_hash() == decoded.state_hash()
        lazy_write, _ = snapshots.whole_snapshot("ns", "b", lazy)
        decoded_write, _ = snapshots.whole_snapshot("ns", "b", decoded)
        assert lazy_write.chunks == decoded_write.chunks
        assert lazy_write.head == decoded_write.head

    def test_its_structs_mirror_the_protocols(self) -> None:
        assert oplog._Stroke.__struct_fields__ == AddStroke.__struct_fields__
        assert snapshots._SnapshotStroke.__struct_fields__ == StrokeEntry.__struct_fields__
        head = snapshots._Head.__struct_fields__
        assert head == ("chunks", *BoardState.__struct_fields__[2:])
        assert snapshots._RawHead.__struct_fields__ == head


class TestCollectorPaused:
    """A whole board is built with the garbage collector paused; what it leaves behind must cost no pass
    over its objects, and must still be collected when it is garbage."""

    def test_the_objects_built_go_past_the_young_generation_and_cycles_among_them_are_still_freed(
        self,
    ) -> None:
        class Node:
            partner: object = None

        with snapshots._collector_paused():
            points = [(float(i), float(i), 0.5) for i in range(50_000)]
            first, second = Node(), Node()
            first.partner, second.partner = second, first
        assert gc.get_count()[0] < 50  # not the 50,000 tuples: the next allocations make no long pass
        assert gc.is_tracked(points[0])
        alive = weakref.ref(first)
        del first, second
        gc.collect()
        assert alive() is None  # a full collection freed the cycle: nothing stayed frozen

    def test_objects_frozen_on_purpose_stay_frozen(self) -> None:
        gc.freeze()
        try:
            frozen = gc.get_freeze_count()
            with snapshots._collector_paused():
                kept = [(1.0, 2.0, 0.5) for _ in range(1_000)]
            assert gc.get_freeze_count() == frozen
            assert kept
        finally:
            gc.unfreeze()
