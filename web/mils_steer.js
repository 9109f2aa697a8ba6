// MILS node pack: steering a running MILS Loop from its node (imported by mils.js; no extension of its own).
//
// The Loop's live top K becomes a list: pin / ban / edit on each row (with the row's render for
// prompt enhancement and style transfer), an "add" field and a Stop button; in judge mode ("I am
// the judge") clicking rows picks or ranks them before a countdown runs out. Each action is a POST
// to /mils/steer with the run's prompt id, node id and search index (from the mils.progress
// event); it takes effect at the next round, and the run never waits for it (except in judge mode,
// up to its timeout).
import { api } from "../../scripts/api.js";

const STEER_ROUTE = "/mils/steer";
export const PANEL_HEIGHT = 250;

export const STEER_STYLE = `
.mils-steer { flex: 0 0 auto; display: flex; flex-direction: column; gap: 3px; font: 12px sans-serif;
  color: var(--input-text, #ddd); max-height: ${PANEL_HEIGHT}px; }
.mils-steer[hidden] { display: none; }
.mils-steer-head { display: flex; gap: 6px; align-items: center; }
.mils-steer-head .mils-status { flex: 1 1 auto; opacity: 0.8; }
.mils-board { flex: 1 1 auto; overflow-y: auto; margin: 0; padding: 0; list-style: none; min-height: 0; }
.mils-row { display: flex; gap: 4px; align-items: center; padding: 2px 3px; border-radius: 3px;
  border: 1px solid transparent; }
.mils-row.mils-pinned { border-color: #ffcc4d; }
.mils-row.mils-judging { cursor: pointer; }
.mils-row.mils-judging:hover { background: rgba(79, 179, 255, 0.15); }
.mils-row.mils-chosen { background: rgba(79, 179, 255, 0.3); }
.mils-row img { width: 40px; height: 40px; object-fit: cover; border-radius: 2px; flex: 0 0 auto; }
.mils-row .mils-rank { flex: 0 0 1.4em; text-align: right; opacity: 0.7; }
.mils-row .mils-score { flex: 0 0 auto; font-family: ui-monospace, monospace; opacity: 0.8; }
.mils-row .mils-text { flex: 1 1 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.mils-row input, .mils-add input { flex: 1 1 auto; min-width: 0; }
.mils-steer button { font-size: 11px; padding: 1px 5px; cursor: pointer; }
.mils-add, .mils-judge { display: flex; gap: 4px; align-items: center; }
.mils-judge[hidden] { display: none; }
.mils-judge .mils-countdown { font-weight: bold; color: #ffcc4d; }
.mils-note { min-height: 1em; opacity: 0.8; }
`;

function num(value, digits = 4) {
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : String(value);
}

// -- steering the running Loop ------------------------------------------------------------------

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

function button(label, title, onClick) {
  const b = el("button", `mils-${label.toLowerCase().replace(/\W+/g, "-")}`, label);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick(e);
  });
  return b;
}

export function buildSteerPanel(node) {
  const panel = el("div", "mils-steer");
  panel.hidden = true;
  // clicks and keys in the panel are for the panel, not the canvas (no node drag, no shortcuts)
  for (const type of ["pointerdown", "mousedown", "keydown"]) panel.addEventListener(type, (e) => e.stopPropagation());
  const steer = { panel, run: null, rows: [], order: [], deadline: 0, timer: null, judge: false };
  const head = el("div", "mils-steer-head");
  steer.status = el("span", "mils-status", "");
  head.append(steer.status, button("Stop", "End the search now with the best so far", () => post(node, { action: "stop" })));
  steer.board = el("ol", "mils-board");
  const judge = el("div", "mils-judge");
  judge.hidden = true;
  steer.countdown = el("span", "mils-countdown", "");
  steer.orderText = el("span", "mils-order", "click rows, best first");
  judge.append(el("span", null, "I am the judge:"), steer.orderText,
    button("Send", "Send your pick (one row) or ranking (several rows, best first)", () => sendRanking(node)),
    steer.countdown);
  steer.judgeBar = judge;
  const add = el("div", "mils-add");
  steer.addInput = el("input", "mils-add-text");
  steer.addInput.placeholder = "add your own candidate";
  steer.addInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") addCandidate(node);
  });
  add.append(steer.addInput, button("Add", "Score this text and let it compete", () => addCandidate(node)));
  steer.note = el("div", "mils-note", "");
  panel.append(head, steer.board, judge, add, steer.note);
  return steer;
}

async function post(node, action) {
  const steer = node.__mils?.steer;
  if (!steer?.run) return null;
  const body = { ...steer.run, who: "editor", ...action };
  let reply = null;
  try {
    const res = await api.fetchApi(STEER_ROUTE, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    reply = { status: res.status, ...(await res.json().catch(() => ({}))) };
  } catch (err) {
    reply = { status: 0, error: String(err) };
  }
  steer.note.textContent = reply.status === 200
    ? `${action.action}: queued for the next round`
    : `${action.action} not taken: ${reply.error ?? reply.status}`;
  if (reply.status === 409) endSteering(node, "the run has ended");
  return reply;
}

function addCandidate(node) {
  const steer = node.__mils.steer;
  const text = steer.addInput.value.trim();
  if (!text) {
    steer.note.textContent = "add: write a candidate first";
    return;
  }
  steer.addInput.value = "";
  post(node, { action: "add", text });
}

function sendRanking(node) {
  const steer = node.__mils.steer;
  if (!steer.order.length) {
    steer.note.textContent = "judge: click the rows you prefer first";
    return;
  }
  const order = [...steer.order];
  steer.order = [];
  steer.judgeBar.hidden = true;
  post(node, order.length === 1 ? { action: "pick", text: order[0] } : { action: "rank", order });
  renderRows(node);
}

function startEdit(node, li, text) {
  const input = el("input", "mils-edit-text");
  input.value = text;
  const span = li.querySelector(".mils-text");
  span.replaceWith(input);
  input.focus();
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      const newText = input.value.trim();
      if (newText && newText !== text) post(node, { action: "edit", text, new_text: newText });
      input.replaceWith(span);
    } else if (e.key === "Escape") {
      input.replaceWith(span);
    }
  });
}

function renderRows(node) {
  const steer = node.__mils.steer;
  steer.board.replaceChildren();
  steer.rows.forEach((row, i) => {
    const text = String(row?.text ?? "");
    const li = el("li", "mils-row");
    li.dataset.text = text;
    if (row?.pinned) li.classList.add("mils-pinned");
    const chosen = steer.order.indexOf(text);
    li.append(el("span", "mils-rank", chosen >= 0 ? `#${chosen + 1}` : `${i + 1}.`));
    if (row?.thumb) {
      const img = el("img");
      img.src = row.thumb;
      img.alt = "render";
      li.append(img);
    }
    li.append(el("span", "mils-score", row?.shown || num(row?.score)), el("span", "mils-text", text));
    li.title = text;
    if (steer.run) {
      li.append(
        button(row?.pinned ? "Unpin" : "Pin", "Keep this candidate among the K the LLM sees",
          () => post(node, { action: row?.pinned ? "unpin" : "pin", text })),
        button("Ban", "Drop it; the LLM is told to avoid it", () => post(node, { action: "ban", text })),
        button("Edit", "Replace its text with yours (scored next round)", () => startEdit(node, li, text)),
      );
    }
    if (steer.judge) {
      li.classList.add("mils-judging");
      if (chosen >= 0) li.classList.add("mils-chosen");
      li.addEventListener("click", () => {
        const at = steer.order.indexOf(text);
        if (at >= 0) steer.order.splice(at, 1);
        else steer.order.push(text);
        steer.orderText.textContent = steer.order.length
          ? steer.order.map((t, k) => `#${k + 1} ${t.slice(0, 24)}`).join(", ") : "click rows, best first";
        renderRows(node);
      });
    }
    steer.board.append(li);
  });
}

function tick(steer) {
  const left = Math.max(0, Math.ceil((steer.deadline - Date.now()) / 1000));
  steer.countdown.textContent = `${left} s`;
  if (left <= 0) {
    clearInterval(steer.timer);
    steer.timer = null;
    steer.countdown.textContent = "timed out: the scorer's ranking goes on";
  }
}

export function showSteering(node, detail) {
  const steer = node.__mils?.steer;
  if (!steer) return;
  const index = Math.max(0, Number(detail.search ?? 1) - 1);
  const live = detail.prompt_id != null && !detail.final;
  steer.run = live ? { prompt_id: String(detail.prompt_id), node_id: String(detail.node), index } : null;
  steer.rows = Array.isArray(detail.leaderboard) ? detail.leaderboard : [];
  const judgeSeconds = Number(detail.judge);
  steer.judge = live && Number.isFinite(judgeSeconds) && judgeSeconds > 0;
  steer.order = steer.order.filter((t) => steer.rows.some((r) => r?.text === t));
  const searches = Number(detail.searches) > 1 ? ` · image ${detail.search}/${detail.searches}` : "";
  steer.status.textContent = `${live ? "steer" : "finishing"}: step ${detail.step ?? "?"}/${detail.total ?? "?"}${searches}`;
  const rejected = (detail.steering ?? []).filter((e) => e?.status === "rejected").at(-1);
  if (rejected) steer.note.textContent = `${rejected.action} rejected: ${rejected.reason}`;
  if (detail.refresh && steer.timer) {
    // the same round, after the artist's actions were applied: the judge's countdown runs on
    steer.panel.hidden = false;
    renderRows(node);
    return;
  }
  clearInterval(steer.timer);
  steer.timer = null;
  steer.judgeBar.hidden = !steer.judge;
  if (steer.judge) {
    steer.deadline = Date.now() + judgeSeconds * 1000;
    tick(steer);
    steer.timer = setInterval(() => tick(steer), 250);
  }
  steer.panel.hidden = false;
  renderRows(node);
}

export function endSteering(node, why) {
  const steer = node.__mils?.steer;
  if (!steer) return;
  clearInterval(steer.timer);
  steer.timer = null;
  steer.run = null;
  steer.judge = false;
  steer.order = [];
  steer.panel.hidden = true;
  if (why) steer.note.textContent = why;
}

