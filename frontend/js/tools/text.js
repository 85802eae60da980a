// The text and sticky-note tools: click to place (or click an existing text or note to edit it), type
// in a real <textarea> over the canvas (so IMEs, dead keys and pasting work as anywhere else), and the
// text is committed when it loses focus, on Escape or on Ctrl+Enter: a new `text` or `note` op, or an
// `edit` op for an existing one (emptied, a text is erased instead). The item's own rendering is hidden
// while it is edited.

import { OpKind } from "../protocol.js";
import { LINE_HEIGHT, NOTE_PADDING, MIN_NOTE_PADDING, noteHeight } from "../kinds/text.js";
import { idle } from "./tool.js";

/** @typedef {import("./tool.js").Tool} Tool */
/** @typedef {import("./tool.js").ToolContext} ToolContext */
/** @typedef {import("../protocol.js").TextOp} TextOp */
/** @typedef {import("../protocol.js").NoteOp} NoteOp */

/** A note's default width (board units) and card colour. */
export const NOTE_WIDTH = 200;
export const NOTE_FILL = "#ffec99";

/**
 * The font size for the toolbar's width (1..40): text grows with the pen.
 * @param {number} penWidth
 * @param {number} max the room's max_font_size
 */
export function fontSizeFor(penWidth, max) {
  return Math.min(max, 8 + 4 * penWidth);
}

/** @typedef {"left" | "center" | "right"} AlignName */

/**
 * @param {ToolContext} ctx
 * @param {"text" | "note"} name
 * @param {() => AlignName} [alignment] how new texts and notes are aligned (the selection bar's choice)
 * @returns {Tool & {edit: (id: string) => void, realign: () => void}}
 */
export function textTool(ctx, name, alignment = () => "left") {
  /** @type {{area: HTMLTextAreaElement, item: TextOp | NoteOp, existing: boolean} | null} */
  let editor = null;

  /**
   * Open the editor on an item: a new one (not yet on the board) or an existing one.
   * @param {TextOp | NoteOp} item
   * @param {boolean} existing
   */
  function open(item, existing) {
    const area = document.createElement("textarea");
    area.className = `text-editor ${item.kind}`;
    area.dataset.testid = "text-editor";
    area.spellcheck = false;
    area.value = existing ? (ctx.placeOf(item.id).text ?? item.text) : "";
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape" || (event.key === "Enter" && (event.ctrlKey || event.metaKey))) {
        event.preventDefault();
        commit();
      }
    });
    area.addEventListener("input", () => place());
    area.addEventListener("blur", () => commit());
    ctx.host.append(area);
    editor = { area, item, existing };
    if (existing) ctx.hide([item.id]);
    place();
    // The canvas took the focus on pointerdown (before this); the pointer's compatibility mouse events
    // are cancelled, so nothing takes it back. Again after this turn, should anything have.
    area.focus();
    window.setTimeout(() => {
      if (editor?.area === area && document.activeElement !== area) area.focus();
    }, 0);
  }

  /** Put the editor over where the item is, at the zoom. */
  function place() {
    if (!editor) return;
    const { area, item } = editor;
    const camera = ctx.camera();
    const m = editor.existing ? ctx.placeOf(item.id).m : null;
    const zoom = camera.zoom;
    const scale = m ? Math.sqrt(Math.abs(m[0] * m[3] - m[1] * m[2])) : 1;
    const x = m ? m[0] * item.x + m[2] * item.y + m[4] : item.x;
    const y = m ? m[1] * item.x + m[3] * item.y + m[5] : item.y;
    const size = item.size * zoom * scale;
    const lines = area.value.split("\n").length;
    // A text's x is its lines' left end, centre or right end (its alignment); a note's is its card's left.
    const wide = Math.max(4, ...area.value.split("\n").map((l) => l.length + 1)) * 0.62 * size;
    const shift = item.kind === "text" ? (item.align === "center" ? wide / 2 : item.align === "right" ? wide : 0) : 0;
    area.style.left = `${(x - camera.x) * zoom - shift}px`;
    area.style.top = `${(y - camera.y) * zoom}px`;
    area.style.fontSize = `${size}px`;
    area.style.lineHeight = String(LINE_HEIGHT);
    area.style.color = item.color ?? "#1e1e1e";
    area.style.textAlign = item.align ?? "left";
    if (item.kind === "note") {
      const pad = Math.max(MIN_NOTE_PADDING, NOTE_PADDING * item.size) * zoom * scale;
      area.style.width = `${item.w * zoom * scale}px`;
      area.style.height = `${noteHeight(item, area.value) * zoom * scale}px`;
      area.style.padding = `${pad}px`;
      area.style.background = item.fill;
    } else {
      area.style.width = `${wide}px`;
      area.style.height = `${lines * LINE_HEIGHT * size + 4}px`;
    }
  }

  function commit() {
    if (!editor) return;
    const { area, item, existing } = editor;
    editor = null;
    const text = area.value.replace(/\r\n?/g, "\n");
    area.remove();
    ctx.hide([]);
    const limit = ctx.limits().max_text_chars;
    const kept = text.slice(0, limit);
    if (existing) {
      const before = ctx.placeOf(item.id).text ?? item.text;
      if (kept === before) return;
      if (item.kind === "text" && kept.trim() === "") ctx.submitErase(ctx.nextId(), [item]);
      else ctx.submit({ kind: OpKind.EDIT, id: ctx.nextId(), item: item.id, text: kept });
    } else if (kept.trim() !== "" || item.kind === "note") {
      ctx.submitItem({ ...item, text: kept });
    }
    ctx.invalidate();
  }

  /**
   * A new item of this tool's kind at a board point.
   * @param {{x: number, y: number}} at
   * @returns {TextOp | NoteOp}
   */
  function fresh(at) {
    const prefs = ctx.prefs();
    const size = fontSizeFor(prefs.penWidth, ctx.limits().max_font_size);
    if (name === "note") {
      return { kind: OpKind.NOTE, id: ctx.nextId(), x: at.x, y: at.y, w: NOTE_WIDTH, text: "", size: Math.min(size, 24), fill: NOTE_FILL, color: "#1e1e1e", align: alignment() };
    }
    return { kind: OpKind.TEXT, id: ctx.nextId(), x: at.x, y: at.y, text: " ", size, color: prefs.penColor, align: alignment(), opacity: 1 };
  }

  return {
    ...idle(),
    name,
    cursor: "text",
    writes: true,
    down(event) {
      if (editor) {
        commit();
        return;
      }
      const at = ctx.boardPoint(event);
      const hit = ctx.itemsAt(at.x, at.y, 2 / ctx.camera().zoom).find((item) => item.kind === name);
      if (hit && (hit.kind === "text" || hit.kind === "note")) open(hit, true);
      else open(fresh(at), false);
    },
    frame() {
      place();
    },
    cancel() {
      commit();
    },
    deselect() {
      commit();
    },
    busy: () => editor !== null,
    realign() {
      // A text being typed takes the new alignment; one on the board keeps its own (items do not change).
      if (!editor || editor.existing) return;
      editor.item = { ...editor.item, align: alignment() };
      place();
    },
    edit(id) {
      const item = ctx.item(id);
      if (item && (item.kind === "text" || item.kind === "note")) open(item, true);
    },
  };
}
