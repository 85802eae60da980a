"""The board: ops applied in sequence order, exactly once, to the same state everywhere."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drawnet.protocol import AddStroke, Board, BoardState, ClearBoard, Committed, Erase, Redo, Reorder, Undo
from drawnet.protocol.board import UNDO_DEPTH


def add(op_id: str, x: float = 0.0) -> AddStroke:
    return AddStroke(id=op_id, tool="pen", color="#000000", width=1, opacity=1, pts=[(x, x, 0.5)])


def log(*ops: AddStroke | Erase | ClearBoard | Undo | Redo | Reorder, by: str = "p") -> list[Committed]:
    return [Committed(seq=i + 1, by=by, op=op) for i, op in enumerate(ops)]


def build(entries: list[Committed]) -> Board:
    board = Board()
    for entry in entries:
        board.apply(entry)
    return board


class TestApplying:
    def test_strokes_keep_commit_order(self) -> None:
        board = build(log(add("a"), add("b"), add("c")))
        assert [s.id for s in board.strokes] == ["a", "b", "c"]
        assert board.seq == 3

    def test_erase_removes_only_the_named_strokes(self) -> None:
        board = build(log(add("a"), add("b"), Erase(id="e", strokes=["a", "missing"])))
        assert [s.id for s in board.strokes] == ["b"]

    def test_clear_removes_everything_before_it(self) -> None:
        board = build(log(add("a"), ClearBoard(id="c"), add("b")))
        assert [s.id for s in board.strokes] == ["b"]

    def test_the_same_op_id_is_applied_once(self) -> None:
        board = Board()
        assert board.apply(Committed(seq=1, by="p", op=add("a")))
        assert not board.apply(Committed(seq=2, by="p", op=add("a", x=9)))
        assert board.strokes == [add("a")]
        assert board.seq_of("a") == 1

    def test_an_op_at_or_below_the_board_seq_is_already_in_it(self) -> None:
        board = build(log(add("a"), add("b")))
        assert not board.apply(Committed(seq=2, by="p", op=add("z")))
        assert len(board) == 2

    def test_gaps_in_sequence_numbers_are_fine(self) -> None:
        # One op log holds every session: a session's seqs increase but are not contiguous.
        board = Board()
        board.apply(Committed(seq=5, by="p", op=add("a")))
        board.apply(Committed(seq=9, by="p", op=add("b")))
        assert board.seq == 9
        assert len(board) == 2

    def test_a_snapshot_rebuilds_the_board_and_its_hash(self) -> None:
        original = build(log(add("a"), add("b")))
        copy = Board.from_state(original.state())
        assert copy.state_hash() == original.state_hash()
        assert copy.seq == 2


class TestConvergence:
    @given(st.lists(st.sampled_from(["add", "clear"]), max_size=30))
    def test_delivery_with_duplicates_converges_to_the_log_order(self, kinds: list[str]) -> None:
        entries = log(
            *(add(f"s{i}") if kind == "add" else ClearBoard(id=f"c{i}") for i, kind in enumerate(kinds))
        )
        reference = build(entries)
        # A client may see some ops twice (a resend, a welcome tail overlapping the live stream).
        replayed = Board()
        for entry in entries:
            replayed.apply(entry)
            replayed.apply(entry)
        assert replayed.state_hash() == reference.state_hash()

    def test_different_boards_hash_differently(self) -> None:
        assert build(log(add("a"))).state_hash() != build(log(add("b"))).state_hash()


class TestUndoRedo:
    def test_undo_hides_my_newest_stroke_and_redo_brings_it_back(self) -> None:
        board = build(log(add("a"), add("b"), Undo(id="u", target="b")))
        assert [s.id for s in board.strokes] == ["a"]
        assert board.redo_target("p") == "b"
        board.apply(Committed(seq=4, by="p", op=Redo(id="r", target="b")))
        assert [s.id for s in board.strokes] == ["a", "b"]

    def test_undoing_an_erase_or_a_clear_restores_the_strokes_in_their_places(self) -> None:
        board = build(
            log(add("a"), add("b"), add("c"), Erase(id="e", strokes=["b"]), Undo(id="u", target="e"))
        )
        assert [s.id for s in board.strokes] == ["a", "b", "c"]
        board = build(log(add("a"), add("b"), ClearBoard(id="c"), add("d"), Undo(id="u1", target="d")))
        board.apply(Committed(seq=6, by="p", op=Undo(id="u2", target="c")))
        assert [s.id for s in board.strokes] == ["a", "b"]

    def test_an_undo_that_names_another_op_than_the_newest_does_nothing(self) -> None:
        board = build(log(add("a"), add("b"), Undo(id="u", target="a")))
        assert [s.id for s in board.strokes] == ["a", "b"]

    def test_each_author_has_their_own_history(self) -> None:
        board = Board()
        board.apply(Committed(seq=1, by="ann", op=add("a")))
        board.apply(Committed(seq=2, by="bob", op=add("b")))
        assert board.undo_target("ann") == "a"
        assert board.undo_target("bob") == "b"
        assert board.undo_target("cat") is None

    def test_a_new_op_clears_my_redo_history_and_drops_what_it_hid_for_good(self) -> None:
        board = build(log(add("a"), Undo(id="u", target="a"), add("b")))
        assert board.redo_target("p") is None
        assert "a" not in {entry.stroke.id for entry in board.state().strokes}

    def test_history_is_bounded_and_what_falls_off_is_final(self) -> None:
        ops = [add(f"s{i}") for i in range(UNDO_DEPTH + 1)]
        board = build(log(*ops, Erase(id="e", strokes=["s0"])))
        assert board.undo_target("p") == "e"
        state = board.state()
        assert len(state.undo["p"]) == UNDO_DEPTH
        assert "s0" in {entry.stroke.id for entry in state.strokes}  # the erase can still be undone

    def test_a_snapshot_keeps_the_undo_history(self) -> None:
        original = build(log(add("a"), add("b"), Erase(id="e", strokes=["a"])))
        copy = Board.from_state(original.state())
        for board in (original, copy):
            board.apply(Committed(seq=4, by="p", op=Undo(id="u", target="e")))
        assert copy.state_hash() == original.state_hash()
        assert [s.id for s in copy.strokes] == ["a", "b"]


class TestReorder:
    """Bring to front, send to back, one step forward or backward: the stacking order, undoable."""

    def board(self, *more: Erase | Reorder | Undo | Redo) -> Board:
        return build(log(*(add(i) for i in "PAXBY"), *more))

    @pytest.mark.parametrize(
        ("to", "order"),
        [
            ("front", "PXYAB"),
            ("back", "ABPXY"),
            ("forward", "PXAYB"),  # each past the next item above it that is not moved
            ("backward", "APBXY"),
        ],
    )
    def test_the_named_items_move_keeping_their_own_order(self, to: str, order: str) -> None:
        board = self.board(Reorder(id="r", items=["B", "A", "A"], to=to))  # type: ignore[arg-type]
        assert "".join(board.stroke_ids()) == order

    def test_a_step_forward_jumps_past_hidden_items_to_the_next_visible_one(self) -> None:
        board = self.board(Erase(id="e", strokes=["X"]), Reorder(id="r", items=["A"], to="forward"))
        assert [s.id for s in board.strokes] == ["P", "B", "A", "Y"]

    def test_items_not_visible_are_left_where_they_are(self) -> None:
        board = self.board(Erase(id="e", strokes=["A"]), Reorder(id="r", items=["A", "P"], to="front"))
        assert "".join(board.stroke_ids()) == "AXBYP"

    def test_undo_puts_each_item_back_and_redo_moves_it_again(self) -> None:
        board = self.board(Reorder(id="r", items=["A", "B"], to="front"), Undo(id="u", target="r"))
        assert "".join(board.stroke_ids()) == "PAXBY"
        board.apply(Committed(seq=9, by="p", op=Redo(id="d", target="r")))
        assert "".join(board.stroke_ids()) == "PXYAB"

    def test_undo_puts_items_back_above_their_old_neighbours_after_others_moved(self) -> None:
        board = self.board(Reorder(id="r", items=["A"], to="front"))
        board.apply(Committed(seq=7, by="q", op=Reorder(id="s", items=["P"], to="front")))
        board.apply(Committed(seq=8, by="p", op=Undo(id="u", target="r")))
        # A was above P: it goes back just above P, wherever P is now.
        assert "".join(board.stroke_ids()) == "XBYPA"

    def test_a_snapshot_keeps_the_order_and_what_an_undo_needs(self) -> None:
        board = self.board(Reorder(id="r", items=["Y"], to="back"))
        state = msgspec.json.decode(msgspec.json.encode(board.state()), type=BoardState)
        again = Board.from_state(state)
        assert again.stroke_ids() == board.stroke_ids() == ["Y", "P", "A", "X", "B"]
        again.apply(Committed(seq=9, by="p", op=Undo(id="u", target="r")))
        assert "".join(again.stroke_ids()) == "PAXBY"

    def test_only_a_change_of_order_marks_the_board_reordered(self) -> None:
        board = self.board()
        board.apply(Committed(seq=6, by="p", op=Reorder(id="r", items=["Y"], to="front")))
        assert not board.take_reordered()  # Y was on top already
        board.apply(Committed(seq=7, by="p", op=Reorder(id="s", items=["P"], to="front")))
        assert board.take_reordered()
        assert not board.take_reordered()


class TestPoints:
    def test_points_count_every_stroke_held_and_follow_a_snapshot(self) -> None:
        three = AddStroke(id="t", tool="pen", color="#000000", width=1, opacity=1, pts=[(0, 0, 0.5)] * 3)
        board = build(log(add("a"), three, Erase(id="e", strokes=["a"])))
        assert board.points == 4  # the erased stroke is still held, for an undo
        assert Board.from_state(board.state()).points == 4

    def test_strokes_dropped_past_the_undo_depth_no_longer_count(self) -> None:
        more = [add(f"s{n}") for n in range(UNDO_DEPTH + 1)]
        board = build(log(add("a"), Erase(id="e", strokes=["a"]), *more))
        assert not board.holds("a")
        assert board.points == UNDO_DEPTH + 1
