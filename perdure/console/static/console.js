// perdure console: the page's code. Plain JavaScript, no dependencies.
// Reads from /console/api/*; acts through the AWS Lambda REST routes (the ones boto3 calls).
"use strict";

const ROW = 26;
const POLL_MS = 1000;
const app = () => document.getElementById("app");
let current = null; // the view shown: {stop()} to end its timers

// ---------------------------------------------------------------- helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "className") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function banner(text, ok) {
  const b = document.getElementById("banner");
  if (!text) { b.hidden = true; return; }
  b.textContent = text;
  b.className = ok ? "banner ok" : "banner";
  b.hidden = false;
}

async function failure(resp) {
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    const code = resp.headers.get("X-Amzn-ErrorType");
    message = (code ? code + ": " : "") + (body.message || body.Message || message);
  } catch (e) { /* not JSON */ }
  return new Error(message);
}

async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") q.append(k, v);
  const resp = await fetch(`/console/api/${path}?${q}`, { credentials: "same-origin" });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

// A call to the Lambda REST API, as boto3 makes it (JSON content type, same origin).
async function lambda(method, path, body, headers) {
  const resp = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
    body: body === undefined ? undefined : body,
  });
  if (!resp.ok) throw await failure(resp);
  return resp;
}

const enc = encodeURIComponent;
const pad = (n) => String(n).padStart(2, "0");
function fmtTime(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function fmtDur(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)}m ${Math.round((ms % 60000) / 1000)}s`;
  if (ms < 86400000) return `${Math.floor(ms / 3600000)}h ${Math.round((ms % 3600000) / 60000)}m`;
  return `${Math.floor(ms / 86400000)}d ${Math.round((ms % 86400000) / 3600000)}h`;
}
const status = (s) => h("span", { className: `status s-${s}` }, s);

// ---------------------------------------------------------------- routing

function route() {
  if (current) current.stop();
  current = null;
  banner(null);
  document.getElementById("live").hidden = true;
  const hash = location.hash.slice(1) || "/";
  if (hash.startsWith("/x/")) current = executionView(decodeURIComponent(hash.slice(3)));
  else current = listView(new URLSearchParams(hash.split("?")[1] || ""));
}

// ---------------------------------------------------------------- list

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"];

function listView(params) {
  const state = { stack: [], after: null, timer: null, stopped: false };
  const fn = h("select", { name: "function" }, h("option", { value: "" }, "any function"));
  const st = h("select", { name: "status" }, h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  const nm = h("input", { name: "name", placeholder: "name contains…", size: 22 });
  fn.value = params.get("function") || "";
  st.value = params.get("status") || "";
  nm.value = params.get("name") || "";
  const apply = () => {
    const q = new URLSearchParams();
    if (fn.value) q.set("function", fn.value);
    if (st.value) q.set("status", st.value);
    if (nm.value) q.set("name", nm.value);
    location.hash = "#/?" + q;
  };
  nm.addEventListener("keydown", (e) => { if (e.key === "Enter") apply(); });
  const body = h("tbody");
  const prev = h("button", { onclick: () => { state.after = state.stack.pop() ?? null; load(); } }, "← Newer");
  const next = h("button", {}, "Older →");
  const count = h("span", { className: "muted" });
  const start = h("div", { id: "start" });
  app().replaceChildren(
    h("div", { className: "titlebar" }, h("h1", {}, "Executions"),
      h("div", { className: "actions" }, h("button", { id: "start-open", onclick: () => start.hidden = !start.hidden }, "Start execution…"))),
    start,
    h("div", { className: "toolbar" },
      h("label", {}, "Function", fn), h("label", {}, "Status", st), h("label", {}, "Name", nm),
      h("button", { className: "primary", onclick: apply }, "Filter"),
      h("button", { onclick: () => { location.hash = "#/"; } }, "Clear")),
    h("table", { className: "list", id: "executions" },
      h("thead", {}, h("tr", {}, ["Status", "Name", "Function", "Started", "Ended", "Duration"].map((t) => h("th", {}, t)))),
      body),
    h("div", { className: "pager" }, prev, next, count),
  );
  start.hidden = true;
  api("functions").then((f) => {
    for (const name of f.all) fn.append(h("option", { value: name }, name));
    fn.value = params.get("function") || "";
    startForm(start, f.registered);
  }).catch((e) => banner(e.message));

  async function load() {
    clearTimeout(state.timer);
    try {
      const page = await api("executions", {
        function: params.get("function"), status: params.get("status"), name: params.get("name"),
        after: state.after, limit: 50,
      });
      if (state.stopped) return;
      const now = Date.now();
      body.replaceChildren(...page.executions.map((x) => h("tr", { "data-arn": x.arn },
        h("td", {}, status(x.status)),
        h("td", { className: "name" }, h("a", { href: "#/x/" + enc(x.arn) }, x.name)),
        h("td", {}, x.function),
        h("td", {}, fmtTime(x.start)),
        h("td", {}, fmtTime(x.end)),
        h("td", {}, fmtDur((x.end ?? now) - x.start)))));
      if (!page.executions.length) body.replaceChildren(h("tr", {}, h("td", { colspan: 6, className: "empty" }, "No executions match.")));
      prev.disabled = state.after === null;
      next.disabled = page.next === null;
      next.onclick = () => { state.stack.push(state.after); state.after = page.next; load(); };
      count.textContent = `${page.executions.length} shown` + (page.next === null ? "" : ", more older");
      if (state.after === null) state.timer = setTimeout(load, 3000); // the newest page stays current
    } catch (e) { banner(e.message); }
  }
  load();
  return { stop() { state.stopped = true; clearTimeout(state.timer); } };
}

function startForm(box, functions) {
  if (!functions.length) {
    box.replaceChildren(h("div", { className: "panel muted" }, "No function is registered with this server: start it with perdure serve --function NAME=path/file.py:handler."));
    return;
  }
  const fn = h("select", { name: "start-function" }, functions.map((f) => h("option", { value: f }, f)));
  const name = h("input", { name: "start-name", placeholder: "optional; the same name and input return the same execution", size: 50 });
  const input = h("textarea", { name: "start-input", placeholder: "{}" });
  const go = h("button", { className: "primary", id: "start-go" }, "Start");
  go.addEventListener("click", async () => {
    const text = input.value.trim() || "null";
    try { JSON.parse(text); } catch (e) { banner("The input is not JSON: " + e.message); return; }
    go.disabled = true;
    try {
      const headers = { "X-Amz-Invocation-Type": "Event" };
      if (name.value.trim()) headers["X-Amz-Durable-Execution-Name"] = name.value.trim();
      const resp = await lambda("POST", `/2015-03-31/functions/${enc(fn.value)}/invocations`, text, headers);
      const arn = resp.headers.get("X-Amz-Durable-Execution-Arn");
      banner("Started " + arn, true);
      location.hash = "#/x/" + enc(arn);
    } catch (e) { banner("Could not start: " + e.message); }
    go.disabled = false;
  });
  box.replaceChildren(h("div", { className: "panel" }, h("h2", {}, "Start an execution"),
    h("div", { className: "form" },
      h("div", { className: "row" }, h("label", {}, "Function ", fn), h("label", {}, "Name ", name)),
      h("label", {}, "Input (JSON)", input), h("div", {}, go))));
}

// ---------------------------------------------------------------- one execution

function executionView(arn) {
  const state = {
    arn, data: null, rows: [], collapsed: new Set(), selected: null, timer: null, stopped: false,
    tab: "timeline", history: null,
  };
  const title = h("h1", {}, "…");
  const stat = h("span");
  const actions = h("div", { className: "actions" });
  const summary = h("div", { className: "panel summary" });
  const tabs = h("div", { className: "tabs" });
  const pane = h("div");
  const axis = h("div", { className: "axis" });
  const spacer = h("div", { className: "tl-spacer" });
  const bodyEl = h("div", { className: "tl-body", id: "timeline" }, spacer);
  const detail = h("div", { className: "panel detail", id: "detail" }, h("p", { className: "muted" }, "Select an operation to see its input, result and error."));
  const timeline = h("div", {},
    h("div", { className: "legend" },
      h("span", {}, h("i", { className: "bar-ok" }), "step"),
      h("span", {}, "bars: operations on the execution's time axis; waits and callbacks as thin spans; retries as attempts on the step's row")),
    h("div", { className: "split" },
      h("div", { className: "tl" }, h("div", { className: "tl-head" }, h("div", {}, "Operation"), axis), bodyEl),
      detail));
  timeline.querySelector(".legend").replaceChildren(
    ...[["step", ""], ["failed", "FAILED"], ["running", "STARTED"], ["abandoned", "ABANDONED"], ["context", "ctx"], ["wait / callback", "span"]].map(([label, cls]) => {
      const i = h("i", { className: "bar " + cls }); i.style.position = "static"; i.style.display = "inline-block";
      return h("span", {}, i, label);
    }));
  const history = h("div", { id: "history" });
  app().replaceChildren(h("div", { className: "titlebar" }, title, stat, actions), summary, tabs, pane);
  const showTab = (name) => {
    state.tab = name;
    tabs.replaceChildren(...[["timeline", "Timeline"], ["history", "History"]].map(([k, label]) =>
      h("button", { className: k === name ? "on" : "", "data-tab": k, onclick: () => showTab(k) }, label)));
    pane.replaceChildren(name === "timeline" ? timeline : history);
    if (name === "history" && state.history === null) loadHistory(state, history);
    if (name === "timeline") paint(state, bodyEl, spacer);
  };
  bodyEl.addEventListener("scroll", () => paint(state, bodyEl, spacer));
  bodyEl.addEventListener("click", (e) => {
    const row = e.target.closest(".tl-row");
    if (!row) return;
    const item = state.rows[Number(row.dataset.index)];
    if (e.target.classList.contains("tw") && item.children) {
      if (state.collapsed.has(item.id)) state.collapsed.delete(item.id); else state.collapsed.add(item.id);
      layout(state); paint(state, bodyEl, spacer, true);
      return;
    }
    state.selected = item.id;
    paint(state, bodyEl, spacer, true);
    showDetail(state, detail, item);
  });

  async function load(first) {
    try {
      const data = await api("execution", { arn });
      if (state.stopped) return;
      state.data = data;
      renderHead(state, title, stat, actions, summary, reload);
      index(state);
      layout(state);
      drawAxis(state, axis);
      if (first) showTab("timeline"); else if (state.tab === "timeline") paint(state, bodyEl, spacer, true);
      if (state.selected) {
        const item = state.rows.find((r) => r.id === state.selected);
        if (item) showDetail(state, detail, item);
      }
      if (!first && state.tab === "history") { state.history = null; loadHistory(state, history); }
    } catch (e) { banner(e.message); }
  }
  const reload = () => load(false);

  async function poll() {
    if (state.stopped) return;
    try {
      const v = await api("version", { arn });
      if (state.stopped) return;
      if (state.data && v.version !== state.data.version) await load(false);
    } catch (e) { banner(e.message); }
    schedule();
  }
  function schedule() {
    const running = state.data && state.data.execution.status === "RUNNING";
    document.getElementById("live").hidden = !running;
    if (!state.stopped && running) state.timer = setTimeout(poll, POLL_MS);
  }
  load(true).then(schedule);
  return { stop() { state.stopped = true; clearTimeout(state.timer); } };
}

function renderHead(state, title, stat, actions, summary, reload) {
  const x = state.data.execution;
  title.textContent = x.name;
  stat.replaceChildren(status(x.status));
  const end = x.end ?? state.data.now;
  const ops = state.data.operations.filter((o) => o.type !== "EXECUTION").length;
  summary.replaceChildren(...[
    h("div", {}, h("span", {}, "Function"), h("a", { href: "#/?function=" + enc(x.function) }, x.function)),
    h("div", {}, h("span", {}, "Started"), fmtTime(x.start)),
    h("div", {}, h("span", {}, "Ended"), fmtTime(x.end)),
    h("div", {}, h("span", {}, "Duration"), fmtDur(end - x.start)),
    h("div", {}, h("span", {}, "Operations"), String(ops)),
    x.parentArn ? h("div", {}, h("span", {}, "Started by"), h("a", { href: "#/x/" + enc(x.parentArn) }, "parent execution")) : null,
    h("div", { className: "arn mono" }, h("span", {}, "ARN"), x.arn),
    x.error ? h("div", { className: "arn" }, errorBox(x.error)) : null,
  ].filter(Boolean));
  actions.replaceChildren();
  if (x.status === "RUNNING") {
    const stop = h("button", { className: "danger", id: "stop" }, "Stop");
    stop.addEventListener("click", () => {
      actions.replaceChildren(h("span", { className: "confirm" }, "Stop this execution?",
        h("button", { className: "danger", id: "stop-confirm", onclick: async () => {
          try {
            await lambda("POST", `/2025-12-01/durable-executions/${enc(x.arn)}/stop`,
              JSON.stringify({ ErrorType: "Stopped", ErrorMessage: "stopped from the console" }));
            banner("Stopped.", true);
          } catch (e) { banner("Could not stop: " + e.message); }
          reload();
        } }, "Stop it"),
        h("button", { onclick: () => renderHead(state, title, stat, actions, summary, reload) }, "Cancel")));
    });
    actions.append(stop);
  }
}

// The operation tree: children under their parent, in checkpoint order.
function index(state) {
  const ops = state.data.operations;
  const byId = new Map(ops.map((o) => [o.id, Object.assign({}, o)]));
  const exec = ops.find((o) => o.type === "EXECUTION");
  const roots = [];
  for (const o of byId.values()) {
    if (o.type === "EXECUTION") continue;
    const parent = o.parent && byId.get(o.parent);
    if (parent && parent.type !== "EXECUTION") (parent.children ||= []).push(o);
    else roots.push(o);
  }
  const x = state.data.execution;
  state.root = {
    id: exec ? exec.id : "(execution)", type: "EXECUTION", name: x.name, status: x.status, start: x.start, end: x.end,
    children: roots, depth: 0,
  };
  markAbandoned(state.root, x.status === "RUNNING" ? null : x.end ?? state.data.now);
  let t1 = x.end ?? state.data.now;
  for (const o of ops) t1 = Math.max(t1, o.end ?? 0, o.scheduledEnd ?? 0, o.nextAttempt ?? 0);
  state.axis = axisTicks(t1 - x.start);
  state.t0 = x.start;
  state.t1 = x.start + state.axis.count * state.axis.step;
}

// The axis of a span (ms): 2 to 4 intervals of one round step, the axis ending on the last
// tick, so every tick reads a distinct, round time (+0 ms +1 ms +2 ms for a 0 ms execution).
function axisTicks(span) {
  const step = tickStep(Math.max(0, span) / 4);
  return { step, count: Math.max(2, Math.ceil(span / step)) };
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED", "CANCELLED"]);

// An operation still STARTED (or PENDING, READY) under a parent that ended never ends: it was
// abandoned (a map's item still running when the map completed on min_successful, anything left
// when the execution ended). It is drawn ended where its parent ended, as ABANDONED.
function markAbandoned(node, parentEnd) {
  for (const c of node.children || []) {
    if (parentEnd !== null && !TERMINAL.has(c.status)) {
      c.abandoned = c.status;
      c.status = "ABANDONED";
      c.end = parentEnd;
    }
    markAbandoned(c, c.end ?? (TERMINAL.has(c.status) ? parentEnd : null));
  }
}

// The least round duration (ms) at least `ms` long: 1-2-5 ms to seconds, then clock-like steps.
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5,
  18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5];
function tickStep(ms) {
  const found = STEPS.find((s) => s >= ms);
  if (found) return found;
  const days = ms / 864e5;
  const mag = 10 ** Math.floor(Math.log10(days));
  return [1, 2, 5, 10].map((m) => m * mag).find((d) => d >= days) * 864e5;
}

function layout(state) {
  const rows = [];
  const walk = (node, depth) => {
    node.depth = depth;
    node.index = rows.length;
    rows.push(node);
    if (node.children && !state.collapsed.has(node.id)) for (const c of node.children) walk(c, depth + 1);
  };
  walk(state.root, 0);
  state.rows = rows;
}

function drawAxis(state, axis) {
  const { step, count } = state.axis;
  axis.replaceChildren(...Array.from({ length: count + 1 }, (_, k) => {
    const f = k / count;
    const s = h("span", {}, "+" + fmtDur(k * step));
    s.style.left = `calc(${f * 100}% ${f === 0 ? "+ 16px" : f === 1 ? "- 26px" : ""})`;
    return s;
  }));
}

// Only the rows in view (and a few around) are in the page; a row that stays in view keeps its element.
function paint(state, bodyEl, spacer, force) {
  if (!state.rows.length) return;
  spacer.style.height = state.rows.length * ROW + "px";
  bodyEl.style.height = Math.min(560, state.rows.length * ROW + 1) + "px"; // no empty box under a short tree
  const first = Math.max(0, Math.floor(bodyEl.scrollTop / ROW) - 10);
  const last = Math.min(state.rows.length, first + Math.ceil((bodyEl.clientHeight || 560) / ROW) + 20);
  if (!force && state.painted && state.painted[0] === first && state.painted[1] === last) return;
  state.painted = [first, last];
  if (force || !state.rowEls) { state.rowEls = new Map(); spacer.replaceChildren(); }
  for (const [i, el] of state.rowEls) if (i < first || i >= last) { el.remove(); state.rowEls.delete(i); }
  for (let i = first; i < last; i++) {
    if (state.rowEls.has(i)) continue;
    const el = rowEl(state, state.rows[i], i);
    state.rowEls.set(i, el);
    spacer.append(el);
  }
}

const KIND = { STEP: "STEP", WAIT: "WAIT", CALLBACK: "CB", CONTEXT: "CTX", CHAINED_INVOKE: "INVOKE", EXECUTION: "EXEC" };

function rowEl(state, item, i) {
  const x = (t) => ((t - state.t0) / (state.t1 - state.t0)) * 100;
  const now = item.abandoned ? item.end : state.data.now;
  const kind = item.subType ? item.subType.replace(/^Map|^Parallel/, (m) => m) : KIND[item.type] || item.type;
  const twisty = h("span", { className: "tw" }, item.children ? (state.collapsed.has(item.id) ? "▸" : "▾") : "");
  const label = h("div", { className: "tl-label" }, twisty, h("span", { className: "kind" }, kind),
    h("span", { className: "nm" }, item.name || item.id.slice(0, 10)),
    item.children ? h("span", { className: "muted" }, `(${item.children.length})`) : null,
    item.abandoned ? h("span", { className: "abandoned", title: "its parent ended first" }, "abandoned") : null);
  label.style.paddingLeft = 8 + item.depth * 14 + "px";
  const track = h("div", { className: "tl-track" });
  const bar = (from, to, cls, tip) => {
    const b = h("div", { className: "bar " + cls, title: tip });
    b.style.left = x(from) + "%";
    b.style.width = Math.max(0, x(to) - x(from)) + "%";
    track.append(b);
  };
  const attempts = state.data.attempts[item.id];
  if (item.type === "EXECUTION") bar(item.start, item.end ?? now, "ctx " + item.status, `execution ${item.status}`);
  else if (attempts && attempts.length) {
    attempts.forEach((a, n) => {
      const end = a.end ?? now;
      if (n > 0) bar(attempts[n - 1].end ?? end, a.start, "gap", "waiting to retry");
      const st = a.end == null && item.abandoned ? "ABANDONED" : a.status;
      bar(a.start, end, st, `attempt ${n + 1}: ${st}` + (a.error ? ` (${a.error.type}: ${a.error.message})` : ""));
    });
    const lastA = attempts[attempts.length - 1];
    if (item.nextAttempt && lastA.end) bar(lastA.end, item.nextAttempt, "gap", "next attempt");
  } else if (item.type === "WAIT" || item.type === "CALLBACK") {
    bar(item.start, item.end ?? (item.type === "WAIT" ? item.scheduledEnd : null) ?? now, "span " + item.status, `${item.type.toLowerCase()} ${item.status}`);
  } else if (item.type === "CONTEXT") bar(item.start, item.end ?? now, "ctx " + item.status, `${kind} ${item.status}`);
  else bar(item.start, item.end ?? now, item.status, `${kind} ${item.status} ${fmtDur((item.end ?? now) - item.start)}`);
  const row = h("div", { className: "tl-row" + (state.selected === item.id ? " sel" : ""), "data-index": i, "data-id": item.id, "data-status": item.status }, label, track);
  row.style.top = i * ROW + "px";
  return row;
}

function errorBox(err) {
  return h("div", { className: "err" },
    h("span", { className: "etype" }, err.type || "Error"), ": ", err.message || "",
    err.data ? h("pre", {}, "data: " + err.data) : null,
    err.stackTrace && err.stackTrace.length ? h("pre", { className: "stack" }, err.stackTrace.join("\n")) : null);
}

function payloadBox(p) {
  const pre = h("pre", { className: "payload" }, p.text);
  const note = p.decoded ? h("div", { className: "muted small" }, `decoded from the SDK's envelope format, ${p.bytes.toLocaleString()} bytes stored`) : null;
  if (!p.collapsed) return h("div", {}, pre, note);
  return h("details", { className: "payload" }, h("summary", {}, `show ${p.bytes.toLocaleString()} bytes`), pre, note);
}

async function showDetail(state, box, item) {
  const now = item.abandoned ? item.end : state.data.now;
  const attempts = state.data.attempts[item.id] || [];
  box.replaceChildren(...[
    h("h2", {}, item.name || item.id),
    h("dl", {},
      h("dt", {}, "Type"), h("dd", {}, item.subType ? `${item.type} (${item.subType})` : item.type),
      h("dt", {}, "Status"), h("dd", {}, status(item.status),
        item.abandoned ? h("span", { className: "muted" }, ` still ${item.abandoned} when its parent ended: it never ends`) : null),
      item.type === "EXECUTION" ? null : [h("dt", {}, "Id"), h("dd", { className: "mono" }, item.id)],
      h("dt", {}, "Started"), h("dd", {}, fmtTime(item.start)),
      h("dt", {}, "Duration"), h("dd", {}, item.abandoned ? `${fmtDur(item.end - item.start)} until its parent ended`
        : fmtDur((item.end ?? now) - item.start) + (item.end ? "" : " so far")),
      item.attempt ? [h("dt", {}, "Attempts"), h("dd", {}, String(item.attempt))] : null,
      item.scheduledEnd ? [h("dt", {}, "Wakes"), h("dd", {}, fmtTime(item.scheduledEnd))] : null,
      item.callbackId ? [h("dt", {}, "Callback id"), h("dd", { className: "mono" }, item.callbackId)] : null,
      item.children ? [h("dt", {}, "Children"), h("dd", {}, String(item.children.length))] : null),
    attempts.length > 1 ? h("div", {}, h("h2", {}, "Attempts"), attempts.map((a, n) => h("div", {},
      `#${n + 1} `, status(a.status), ` ${fmtDur((a.end ?? now) - a.start)}`,
      a.error ? h("span", { className: "muted" }, ` ${a.error.type}: ${a.error.message}`) : null,
      a.retryIn ? h("span", { className: "muted" }, `, retried after ${a.retryIn} s`) : null))) : null,
    h("p", { className: "muted loading" }, "Loading payloads…")].filter(Boolean));
  if (item.type === "CALLBACK" && item.status === "STARTED" && item.callbackId) box.append(callbackForm(state, item));
  try {
    const d = await api("operation", { arn: state.arn, id: item.type === "EXECUTION" ? null : item.id });
    const loading = box.querySelector(".loading");
    if (!loading) return;
    loading.replaceWith(h("div", { className: "payloads" },
      d.summary ? h("div", { className: "note" }, "ReplayChildren: this result is a summary. The full result is rebuilt by replaying the children.") : null,
      d.input ? [h("h2", {}, "Input"), payloadBox(d.input)] : null,
      d.result ? [h("h2", {}, d.summary ? "Result (summary)" : "Result"), payloadBox(d.result)] : null,
      d.error ? [h("h2", {}, "Error"), errorBox(d.error)] : null,
      !d.input && !d.result && !d.error ? h("p", { className: "muted" }, "No payload.") : null));
  } catch (e) { banner(e.message); }
}

function callbackForm(state, item) {
  const path = `/2025-12-01/durable-execution-callbacks/${enc(item.callbackId)}`;
  const result = h("textarea", { name: "callback-result", placeholder: '{"approved": true}' });
  const etype = h("input", { name: "callback-error-type", placeholder: "error type", size: 16 });
  const emsg = h("input", { name: "callback-error-message", placeholder: "error message", size: 24 });
  const act = (label, call) => async () => {
    try { await call(); banner(label, true); } catch (e) { banner(`${label} failed: ` + e.message); }
  };
  return h("div", { className: "form", id: "callback" }, h("h2", {}, "Complete this callback"),
    h("label", {}, "Result (JSON)", result),
    h("div", { className: "row" },
      h("button", { className: "primary", id: "callback-succeed", onclick: act("Callback succeeded.", async () => {
        const text = result.value.trim() || "null";
        try { JSON.parse(text); } catch (e) { throw new Error("the result is not JSON: " + e.message); }
        await lambda("POST", path + "/succeed", text);
      }) }, "Succeed"),
      h("button", { id: "callback-heartbeat", onclick: act("Heartbeat sent.", () => lambda("POST", path + "/heartbeat")) }, "Heartbeat")),
    h("div", { className: "row" }, etype, emsg,
      h("button", { className: "danger", id: "callback-fail", onclick: act("Callback failed.", () =>
        lambda("POST", path + "/fail", JSON.stringify({ ErrorType: etype.value || "Error", ErrorMessage: emsg.value }))) }, "Fail")));
}

// ---------------------------------------------------------------- raw history

async function loadHistory(state, box) {
  state.history = [];
  const table = h("table", { className: "hist" }, h("thead", {}, h("tr", {}, ["#", "Time", "Event", "Operation", "Details"].map((t) => h("th", {}, t)))));
  const tbody = h("tbody");
  table.append(tbody);
  const more = h("button", {}, "Load more");
  box.replaceChildren(h("div", { className: "panel" }, table, h("div", { className: "pager" }, more)));
  let marker = null;
  const page = async () => {
    const q = new URLSearchParams({ IncludeExecutionData: "true", MaxItems: "200" });
    if (marker) q.set("Marker", marker);
    try {
      const resp = await lambda("GET", `/2025-12-01/durable-executions/${enc(state.arn)}/history?${q}`);
      const body = await resp.json();
      for (const e of body.Events) {
        const details = Object.entries(e).find(([k]) => k.endsWith("Details"));
        tbody.append(h("tr", {},
          h("td", {}, String(e.EventId)), h("td", {}, fmtTime(e.EventTimestamp * 1000)), h("td", {}, e.EventType),
          h("td", {}, e.Name || e.Id || ""),
          h("td", {}, details ? h("pre", {}, JSON.stringify(details[1], null, 2)) : "")));
      }
      marker = body.NextMarker || null;
      more.hidden = !marker;
    } catch (e) { banner(e.message); }
  };
  more.addEventListener("click", page);
  await page();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
