// What every tool is: the small interface the board view drives (the way tldraw's tools are state
// nodes). The view owns the camera, the connection and the frame loop; it routes the pointer to the tool
// that is selected (pinch, the middle button and Space pan whatever the tool), asks it each frame what it
// shows over the board, and gives it a ToolContext to act through. One module per tool in this folder.

/** @typedef {import("../geometry.js").Camera} Camera */
/** @typedef {import("../geometry.js").Vec} Vec */
/** @typedef {import("../protocol.js").Limits} Limits */
/** @typedef {import("../protocol.js").Op} Op */
/** @typedef {import("../protocol.js").StrokeOp} StrokeOp */
/** @typedef {import("../protocol.js").ItemOp} ItemOp */
/** @typedef {import("../protocol.js").Matrix} Matrix */
/** @typedef {import("../geometry.js").Rect} Rect */
/** @typedef {import("../kinds/place.js").Place} Place */
/** @typedef {import("../identity.js").Prefs} Prefs */
/** @typedef {import("../render.js").Drawable} Drawable */
/** @typedef {import("../render.js").Renderer} Renderer */
/** @typedef {import("../protocol.js").Begin | import("../protocol.js").Points | import("../protocol.js").Drag | import("../protocol.js").Sketch | import("../protocol.js").Laser | import("../protocol.js").Awareness} LiveMessage */

/**
 * What a tool shows over the committed board this frame (board units), bottom to top.
 * @typedef {Object} Overlay
 * @property {(Drawable | ItemOp)[]} live items being drawn
 * @property {(Drawable | ItemOp)[]} erasing items about to be removed (drawn faded)
 * @property {{item: ItemOp, m: Matrix}[]} moving items being dragged, with the drag's matrix
 * @property {((ctx: CanvasRenderingContext2D) => void)[]} decorations drawn last, in board units
 */

/**
 * What the view gives a tool to act through.
 * @typedef {Object} ToolContext
 * @property {() => Camera} camera
 * @property {(event: {clientX: number, clientY: number}) => Vec} boardPoint the board point under an event
 * @property {() => Limits} limits the room's limits in force
 * @property {() => Prefs} prefs the pen's colour and width
 * @property {() => string} nextId a new op or stroke id
 * @property {(message: LiveMessage) => boolean} sendLive live traffic; false when it could not go out
 * @property {() => number} generation the connection's generation (bumped at each connect)
 * @property {(op: ItemOp) => void} submitItem commit a new item (drawn as pending until it is committed)
 * @property {(id: string, items: ItemOp[]) => void} submitErase commit an erase (drawn faded meanwhile)
 * @property {(op: import("../protocol.js").Op) => void} submit commit any other op
 * @property {(items: string[], m: Matrix) => void} submitTransform commit a transform (drawn moved meanwhile)
 * @property {(x: number, y: number, radius: number) => ItemOp[]} itemsAt visible items under a circle, top first
 * @property {(rect: Rect) => ItemOp[]} itemsIn visible items a rectangle encloses, bottom first
 * @property {(id: string) => Rect | null} boundsOf a visible item's bounds
 * @property {(id: string) => ItemOp | undefined} item a visible item
 * @property {(id: string) => Place} placeOf a visible item's transform and edited text
 * @property {(ids: Iterable<string>) => void} hide keep items off the tiles (they are drawn moved meanwhile)
 * @property {Set<string>} selection the selected items' ids (shared by the tools)
 * @property {HTMLElement} host the element over the canvas where a tool may put its own controls (a text editor)
 * @property {(dx: number, dy: number) => void} panBy move the camera by a screen-pixel drag
 * @property {(panning: boolean) => void} showPanning the grabbing cursor, on or off
 * @property {() => void} invalidate ask for a frame
 */

/**
 * A tool. The view calls `down` for a pointer that starts a gesture with it, then `move` and `up` for
 * that pointer only (`up` for a pointerup and for a pointercancel too: `event.type` tells them apart),
 * `cancel` when the gesture is taken away (a second finger makes it a pinch, the role became viewer).
 * @typedef {Object} Tool
 * @property {string} name the toolbar's `data-tool`
 * @property {string} cursor the canvas's CSS cursor while it is selected
 * @property {boolean} writes whether it changes the board (viewers cannot pick it)
 * @property {(event: PointerEvent) => void} down
 * @property {(event: PointerEvent) => void} move
 * @property {(event: PointerEvent) => void} up
 * @property {() => void} cancel
 * @property {(event: KeyboardEvent) => boolean} key a key while selected; true when the tool used it
 * @property {(overlay: Overlay) => void} overlay add what it shows this frame
 * @property {() => void} frame once per frame, before drawing (send what is due)
 * @property {() => boolean} busy whether a gesture is under way
 * @property {() => void} [deselect] the tool is being left
 * @property {() => void} [discard] the gesture was a mistake (a palm, a pen came down): forget it, commit
 *   nothing (tools without it are cancelled)
 */

/**
 * The parts of a tool that do nothing, for a tool to spread and override.
 * @returns {Omit<Tool, "name" | "cursor" | "writes" | "down"> & {deselect: () => void}}
 */
export function idle() {
  return {
    move() {},
    up() {},
    cancel() {},
    key: () => false,
    overlay() {},
    frame() {},
    busy: () => false,
    deselect() {},
  };
}
