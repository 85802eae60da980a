// The drawing tools, how each one's strokes look, and the keyboard shortcuts. Pure: no DOM.

import { Tool } from "./protocol.js";

/** @typedef {import("./ink.js").StrokeStyle} StrokeStyle */

/** What the pointer does on the board. */
export const ToolKind = Object.freeze({
  SELECT: "select",
  HAND: "hand",
  PEN: "pen",
  HIGHLIGHTER: "highlighter",
  ERASER: "eraser",
  LINE: "line",
  ARROW: "arrow",
  RECT: "rect",
  ELLIPSE: "ellipse",
  DIAMOND: "diamond",
  TEXT: "text",
  NOTE: "note",
  LASER: "laser",
});

/**
 * @typedef {"select" | "hand" | "pen" | "highlighter" | "eraser" | "line" | "arrow" | "rect" | "ellipse" |
 *   "diamond" | "text" | "note" | "laser"} ToolKindName
 */

/** Tools that add items with the pen's colour and width. */
export const DRAWING_TOOLS = Object.freeze([
  ToolKind.PEN,
  ToolKind.HIGHLIGHTER,
  ToolKind.LINE,
  ToolKind.ARROW,
  ToolKind.RECT,
  ToolKind.ELLIPSE,
  ToolKind.DIAMOND,
  ToolKind.TEXT,
  ToolKind.NOTE,
]);

/** @param {string} tool */
export function isDrawingTool(tool) {
  return /** @type {readonly string[]} */ (DRAWING_TOOLS).includes(tool);
}

/** A highlighter is this much wider than the pen width, and see-through. */
export const HIGHLIGHTER_SCALE = 3;
export const HIGHLIGHTER_OPACITY = 0.35;

/**
 * The style of a stroke drawn with a tool.
 * @param {ToolKindName} tool
 * @param {string} color
 * @param {number} width the width picked in the toolbar
 * @param {number} maxWidth the room's max_width
 * @returns {StrokeStyle}
 */
export function strokeStyle(tool, color, width, maxWidth) {
  if (tool === ToolKind.HIGHLIGHTER) {
    return {
      tool: Tool.HIGHLIGHTER,
      color,
      width: Math.min(maxWidth, Math.max(6, width * HIGHLIGHTER_SCALE)),
      opacity: HIGHLIGHTER_OPACITY,
    };
  }
  return { tool: tool === ToolKind.LINE ? Tool.LINE : Tool.PEN, color, width: Math.min(maxWidth, width), opacity: 1 };
}

/** Whether the tool's strokes keep the pen's pressure (a highlighter and a line have an even width). */
/** @param {ToolKindName} tool */
export function usesPressure(tool) {
  return tool === ToolKind.PEN;
}

/**
 * @typedef {`tool:${ToolKindName}` | "undo" | "redo" | "zoom:in" | "zoom:out" | "zoom:reset" | "zoom:fit" |
 *   "width:down" | "width:up" | "fill" | "select:all" | "duplicate" | "delete" | `order:${OrderPlace}`} Action
 */
/** @typedef {"front" | "back" | "forward" | "backward"} OrderPlace */

/**
 * The action of a key press, or null. Keys typed into a form field are not shortcuts (the caller checks).
 * Ctrl/⌘+] and Ctrl/⌘+[ move the selection one step forward and backward, with Shift to the front and the
 * back (as in Excalidraw and tldraw); the bracket keys are found by `code` too, since Shift turns them
 * into braces and other layouts put them elsewhere.
 * @param {{key: string, code?: string, ctrlKey?: boolean, metaKey?: boolean, shiftKey?: boolean, altKey?: boolean}} event
 * @returns {Action | null}
 */
export function shortcut(event) {
  const mod = Boolean(event.ctrlKey || event.metaKey);
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (event.altKey) return null;
  if (mod && (key === "]" || key === "}" || event.code === "BracketRight")) {
    return event.shiftKey ? "order:front" : "order:forward";
  }
  if (mod && (key === "[" || key === "{" || event.code === "BracketLeft")) {
    return event.shiftKey ? "order:back" : "order:backward";
  }
  if (mod) {
    if (key === "z") return event.shiftKey ? "redo" : "undo";
    if (key === "y") return "redo";
    if (key === "=" || key === "+") return "zoom:in";
    if (key === "-") return "zoom:out";
    if (key === "0") return "zoom:reset";
    if (key === "a") return "select:all";
    if (key === "d") return "duplicate";
    return null;
  }
  switch (key) {
    case "v":
      return "tool:select";
    case "a":
      return "tool:arrow";
    case "r":
      return "tool:rect";
    case "o":
      return "tool:ellipse";
    case "d":
      return "tool:diamond";
    case "t":
      return "tool:text";
    case "n":
      return "tool:note";
    case "f":
      return "fill";
    case "Delete":
    case "Backspace":
      return "delete";
    case "p":
      return "tool:pen";
    case "m":
      return "tool:highlighter";
    case "l":
      return "tool:line";
    case "e":
      return "tool:eraser";
    case "h":
      return "tool:hand";
    case "k":
      return "tool:laser";
    case "=":
    case "+":
      return "zoom:in";
    case "-":
      return "zoom:out";
    case "0":
      return "zoom:reset";
    case "1":
      return "zoom:fit";
    case "[":
      return "width:down";
    case "]":
      return "width:up";
    default:
      return null;
  }
}
