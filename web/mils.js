// MILS node pack: shows what the MILS nodes report, on the nodes themselves.
//
// The stock ComfyUI frontend does not render a custom node's `ui.text`, nor our websocket
// events, so this extension adds display only:
//   * MILS Loop: the live top K (score + text) and a best-score-per-step chart while a run goes
//     ("mils.progress" events), then the final leaderboard and curve ("executed").
//     While it runs the top K is also a list the artist steers: pin / ban / edit on each row (with
//     the row's render for prompt enhancement and style transfer), an "add" field and a Stop
//     button; in judge mode ("I am the judge") clicking rows picks or ranks them before a
//     countdown runs out. Each action is a POST to /mils/steer with the run's prompt id and node id
//     (from the progress event); it takes effect at the next round and the run never waits for it.
//   * MILS LLM Generate, MILS Score, MILS Download Model, MILS Gram Style: their `ui.text` after execution.
// The final results are kept in node.properties, so they are saved with the workflow and shown
// again when it is loaded. Nothing here is needed to run a workflow: without this file the
// nodes work the same, they just show nothing.
//
// The display is one DOM widget that never serializes: `widget.serialize = false` keeps it out
// of the workflow's widgets_values (it is also the node's last widget, so the positional
// widgets_values of the real inputs do not move), and `options.serialize = false` keeps it out of
// the API prompt built by app.graphToPrompt().
//
// Only the public module shims are imported (scripts/app.js, scripts/api.js); the frontend warns
// that scripts/widgets.js (ComfyWidgets) and scripts/domWidget.js are internal, so the widget is
// made with node.addDOMWidget(), which the frontend adds to every LGraphNode.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { PANEL_HEIGHT, STEER_STYLE, buildSteerPanel, endSteering, showSteering } from "./mils_steer.js";

const EXTENSION = "mils.nodes";
const EVENT = "mils.progress";
const LOOP = "MILSLoop";
const TEXT_NODES = new Set(["MILSLLMGenerate", "MILSScore", "MILSDownloadModel", "MILSGramStyle"]);
const WIDGET_NAME = "mils_display";
const PROP_TEXT = "mils_text";
const PROP_BOARD = "mils_leaderboard";
const PROP_CURVE = "mils_curve";
const CHART_HEIGHT = 120;
const LINE_COLOR = "#4fb3ff";
const POINT_COLOR = "#ffcc4d";

const STYLE = `
.mils-display { display: flex; flex-direction: column; gap: 4px; width: 100%; height: 100%;
  box-sizing: border-box; }
.mils-display canvas { flex: 0 0 ${CHART_HEIGHT}px; width: 100%; height: ${CHART_HEIGHT}px;
  border-radius: 4px; background: var(--comfy-input-bg, #222); }
.mils-display textarea { flex: 1 1 auto; min-height: 0; width: 100%; margin: 0;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; line-height: 1.35;
  white-space: pre-wrap; }
${STEER_STYLE}
`;

function injectStyle() {
  if (document.getElementById("mils-nodes-style")) return;
  const style = document.createElement("style");
  style.id = "mils-nodes-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

// -- formatting ----------------------------------------------------------------------------------

function num(value, digits = 4) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : String(value);
}

function boardLines(board) {
  return (board ?? []).map((row, i) => `${i + 1}. ${num(row?.score)}  ${row?.text ?? ""}`);
}

function progressText(detail) {
  const head = [`step ${detail.step ?? "?"}/${detail.total ?? "?"}`];
  if (detail.task) head.push(detail.task);
  if (Number(detail.searches) > 1) head.push(`image ${detail.search}/${detail.searches}`);
  if (Number.isFinite(detail.new)) head.push(`${detail.new} new`);
  const lines = [`running: ${head.join(" · ")}`, ...boardLines(detail.leaderboard)];
  for (const w of detail.warnings ?? []) lines.push(`warning: ${w}`);
  return lines.join("\n");
}

function firstText(message) {
  const text = message?.text;
  if (Array.isArray(text)) return text.length ? text.map(String).join("\n\n") : null;
  return text == null ? null : String(text);
}

function cleanCurve(curve) {
  return Array.isArray(curve) ? curve.map(Number).filter(Number.isFinite) : [];
}

// -- the chart -----------------------------------------------------------------------------------

function drawChart(canvas, curve) {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  const scale = Math.max(2, window.devicePixelRatio || 1); // stays sharp when the canvas is zoomed
  if (canvas.width !== Math.round(w * scale) || canvas.height !== Math.round(h * scale)) {
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const css = getComputedStyle(canvas);
  const fg = css.getPropertyValue("--input-text").trim() || "#ddd";
  const grid = css.getPropertyValue("--border-color").trim() || "#555";
  ctx.font = "11px sans-serif";
  ctx.textBaseline = "middle";

  if (!curve.length) {
    ctx.fillStyle = fg;
    ctx.globalAlpha = 0.6;
    ctx.textAlign = "center";
    ctx.fillText("best score per step appears here during a run", w / 2, h / 2);
    ctx.globalAlpha = 1;
    return;
  }
  let lo = Math.min(...curve);
  let hi = Math.max(...curve);
  if (hi - lo < 1e-9) {
    lo -= 0.01;
    hi += 0.01;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const left = 46, right = 10, top = 20, bottom = 18;
  const pw = Math.max(1, w - left - right);
  const ph = Math.max(1, h - top - bottom);
  const n = curve.length;
  const x = (i) => left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v) => top + (1 - (v - lo) / (hi - lo)) * ph;

  // frame and labels
  ctx.strokeStyle = grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, top + ph);
  ctx.lineTo(left + pw, top + ph);
  ctx.stroke();
  ctx.fillStyle = fg;
  ctx.textAlign = "right";
  ctx.fillText(num(hi, 3), left - 4, top);
  ctx.fillText(num(lo, 3), left - 4, top + ph);
  ctx.textAlign = "center";
  ctx.fillText("0", x(0), top + ph + 10);
  if (n > 1) ctx.fillText(String(n - 1), x(n - 1), top + ph + 10);
  ctx.textAlign = "right";
  const best = curve[n - 1];
  ctx.fillText(`best ${num(best)} at step ${n - 1}`, left + pw, 9);

  // the curve
  ctx.strokeStyle = LINE_COLOR;
  ctx.lineWidth = 2;
  ctx.lineJoin = "round";
  ctx.beginPath();
  curve.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
  ctx.fillStyle = LINE_COLOR;
  if (n <= 60) curve.forEach((v, i) => ctx.fillRect(x(i) - 2, y(v) - 2, 4, 4));
  ctx.fillStyle = POINT_COLOR;
  ctx.beginPath();
  ctx.arc(x(n - 1), y(best), 3.5, 0, Math.PI * 2);
  ctx.fill();
}

// -- the display widget --------------------------------------------------------------------------

function forwardWheel(textarea) {
  // Scroll the text when it overflows, otherwise let the canvas zoom/pan as over any node.
  textarea.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && textarea.scrollHeight > textarea.clientHeight) {
      e.stopPropagation();
      return;
    }
    e.preventDefault();
    app.canvas?.processMouseWheel?.(e);
  });
}

function ensureDisplay(node) {
  if (node.__mils) return node.__mils;
  if (typeof node.addDOMWidget !== "function") return null;
  injectStyle();
  const withChart = node.comfyClass === LOOP;
  const minHeight = withChart ? CHART_HEIGHT + 130 + PANEL_HEIGHT : 110;
  const root = document.createElement("div");
  root.className = "mils-display";
  root.style.minHeight = `${minHeight}px`; // the Vue node renderer sizes DOM widgets by their content
  let canvas = null;
  if (withChart) {
    canvas = document.createElement("canvas");
    root.appendChild(canvas);
  }
  const steer = withChart ? buildSteerPanel(node) : null;
  if (steer) root.appendChild(steer.panel);
  const textarea = document.createElement("textarea");
  textarea.className = "comfy-multiline-input";
  textarea.readOnly = true;
  textarea.spellcheck = false;
  textarea.placeholder = withChart
    ? "MILS: the live leaderboard (score, text) appears here during a run"
    : "MILS: the output appears here after a run";
  forwardWheel(textarea);
  root.appendChild(textarea);

  let widget = null;
  widget = node.addDOMWidget(WIDGET_NAME, "mils_display", root, {
    serialize: false, // not an input: keep it out of app.graphToPrompt()
    getValue: () => textarea.value,
    setValue: () => {}, // read-only; never restored from widgets_values
    getMinHeight: () => minHeight + 2 * (widget?.margin ?? 10), // the element is inset by the margin
  });
  widget.serialize = false; // keep it out of widgets_values
  widget.serializeValue = () => undefined;

  const state = { widget, root, canvas, textarea, curve: [], steer };
  if (canvas && typeof ResizeObserver === "function") {
    state.observer = new ResizeObserver(() => drawChart(canvas, state.curve));
    state.observer.observe(canvas);
  }
  const onRemoved = node.onRemoved;
  node.onRemoved = function () {
    state.observer?.disconnect();
    if (steer) clearInterval(steer.timer);
    return onRemoved?.apply(this, arguments);
  };
  node.__mils = state;
  // room for the display below the existing widgets
  const size = node.computeSize?.();
  if (size) node.setSize?.([Math.max(node.size[0], size[0], 380), Math.max(node.size[1], size[1])]);
  return state;
}

function show(node, text, curve) {
  const state = ensureDisplay(node);
  if (!state) return;
  if (text != null) {
    state.textarea.value = text;
    state.textarea.scrollTop = 0;
  }
  if (curve && state.canvas) {
    state.curve = cleanCurve(curve);
    drawChart(state.canvas, state.curve);
  }
  node.setDirtyCanvas?.(true, false);
}

// -- finding a node from its execution id ("12", or "5:12" inside subgraph node 5) -----------------

function findNode(executionId) {
  if (executionId == null) return null;
  let graph = app.rootGraph ?? app.graph;
  let node = null;
  for (const part of String(executionId).split(":")) {
    if (!graph?.getNodeById) return null;
    node = graph.getNodeById(part) ?? graph.getNodeById(Number(part));
    if (!node) return null;
    graph = node.subgraph;
  }
  return node;
}

function onProgress(event) {
  const detail = event?.detail;
  if (!detail) return;
  const node = findNode(detail.node);
  if (!node || node.comfyClass !== LOOP) return;
  show(node, progressText(detail), detail.curve ?? []);
  showSteering(node, detail);
}

// -- per node type -------------------------------------------------------------------------------

function chain(proto, name, after) {
  const original = proto[name];
  proto[name] = function () {
    const result = original?.apply(this, arguments);
    try {
      after.apply(this, arguments);
    } catch (err) {
      console.error(`[${EXTENSION}] ${name} failed`, err);
    }
    return result;
  };
}

function setupLoop(nodeType) {
  const proto = nodeType.prototype;
  chain(proto, "onNodeCreated", function () {
    ensureDisplay(this);
    show(this, null, []);
  });
  chain(proto, "onExecuted", function (message) {
    const board = Array.isArray(message?.[PROP_BOARD]) ? message[PROP_BOARD] : null;
    const curve = Array.isArray(message?.[PROP_CURVE]) ? cleanCurve(message[PROP_CURVE]) : null;
    const text = firstText(message) ?? (board ? boardLines(board).join("\n") : null);
    this.properties ??= {};
    if (text != null) this.properties[PROP_TEXT] = text;
    if (board) this.properties[PROP_BOARD] = board;
    if (curve) this.properties[PROP_CURVE] = curve;
    endSteering(this, null);
    show(this, text, curve);
  });
  chain(proto, "onConfigure", function () {
    const props = this.properties ?? {};
    const board = props[PROP_BOARD];
    const text = props[PROP_TEXT] ?? (Array.isArray(board) ? boardLines(board).join("\n") : null);
    show(this, text, props[PROP_CURVE] ?? []);
  });
}

function setupText(nodeType) {
  const proto = nodeType.prototype;
  chain(proto, "onNodeCreated", function () {
    ensureDisplay(this);
  });
  chain(proto, "onExecuted", function (message) {
    const text = firstText(message);
    if (text == null) return;
    this.properties ??= {};
    this.properties[PROP_TEXT] = text;
    show(this, text, null);
  });
  chain(proto, "onConfigure", function () {
    const text = this.properties?.[PROP_TEXT];
    if (text != null) show(this, text, null);
  });
}

app.registerExtension({
  name: EXTENSION,
  setup() {
    api.addEventListener(EVENT, onProgress);
  },
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name === LOOP) setupLoop(nodeType);
    else if (TEXT_NODES.has(nodeData?.name)) setupText(nodeType);
  },
});
