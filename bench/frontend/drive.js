// Runs in the page (frames.py): drive the camera along a scripted path for `seconds`, one step per
// animation frame, and record each frame's interval and the renderer's draw time. Mode "tiles" is the app
// as it is; "naive" draws every visible stroke's cached Path2D on the canvas each frame, without tiles.
async ([scenario, seconds, mode]) => {
  const hook = window.__drawnet;
  const renderer = hook.renderer;
  const canvas = document.querySelector("canvas");
  const width = canvas.clientWidth, height = canvas.clientHeight;
  const start = hook.snapshot().camera;
  const paths = {
    "pan at 100%": (t) => ({ x: start.x + 2400 * t, y: start.y + 600 * Math.sin(t * Math.PI), zoom: 1 }),
    "pan, whole board": (t) => ({ x: -12000 + 4000 * Math.sin(t * Math.PI * 2), y: -7500, zoom: 0.05 }),
    "zoom sweep 5%-200%": (t) => {
      const zoom = 0.05 * Math.pow(40, 0.5 - 0.5 * Math.cos(t * Math.PI * 2));
      return { x: -width / 2 / zoom, y: -height / 2 / zoom, zoom };
    },
  };
  const path = paths[scenario];
  const draws = [];
  const original = renderer.draw.bind(renderer);
  let naive = null;
  if (mode === "naive") {
    const { strokePaths } = await import("/js/render.js");
    const items = hook.board.strokes.filter((s) => s.kind === "stroke").map((s) => ({ s, paths: strokePaths(s) }));
    const ctx = canvas.getContext("2d");
    naive = (camera) => {
      const ratio = window.devicePixelRatio;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#fbfbfa";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const k = camera.zoom * ratio;
      ctx.setTransform(k, 0, 0, k, -camera.x * k, -camera.y * k);
      ctx.lineCap = "round"; ctx.lineJoin = "round";
      const x1 = camera.x + width / camera.zoom, y1 = camera.y + height / camera.zoom;
      for (const { s, paths } of items) {
        const p = s.pts[0];
        if (p[0] < camera.x - 400 || p[0] > x1 + 400 || p[1] < camera.y - 400 || p[1] > y1 + 400) continue;
        ctx.globalAlpha = s.opacity; ctx.strokeStyle = s.color; ctx.fillStyle = s.color;
        for (const seg of paths) { if (seg.dot) ctx.fill(seg.path); else { ctx.lineWidth = seg.width; ctx.stroke(seg.path); } }
      }
      ctx.globalAlpha = 1;
      return false;
    };
  }
  renderer.draw = (scene) => {
    const began = performance.now();
    const more = naive ? naive(renderer.camera) : original(scene);
    draws.push(performance.now() - began);
    return more;
  };
  const intervals = [];
  await new Promise((resolve) => {
    let first = null, last = null;
    const step = (now) => {
      if (first === null) first = now;
      if (last !== null) intervals.push(now - last);
      last = now;
      const t = (now - first) / 1000 / seconds;
      if (t >= 1) { resolve(); return; }
      hook.setCamera(path(t));
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  renderer.draw = original;
  return { intervals, draws, tiles: renderer.stats };
}
