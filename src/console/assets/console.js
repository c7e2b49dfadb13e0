// Ferrocket's web console: a hash-routed page over the JSON API under /api/. No framework
// and no network beyond this server: tables are built with the DOM, charts are inline SVG.
// Write actions (create, update, delete a topic, reset offsets, resend a dead letter) go
// through a confirmation step in the page before anything is sent.
"use strict";

const $ = (sel) => document.querySelector(sel);
const REQUEST_TIMEOUT_MS = 35000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const num = (n, digits) =>
  n === null || n === undefined ? "–" :
  Number(n).toLocaleString("en-US", { maximumFractionDigits: digits ?? 0, minimumFractionDigits: digits ?? 0 });

function time(ms) {
  if (!ms || ms <= 0) return "–";
  const d = new Date(ms);
  const p = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  try {
    const r = await fetch(path, {
      method,
      signal: ctl.signal,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { json = { message: text }; }
    if (!r.ok) throw new ApiError(r.status, json);
    return json;
  } catch (e) {
    if (e.name === "AbortError") throw new ApiError(0, { message: `no answer from ${path} within ${REQUEST_TIMEOUT_MS / 1000} s` });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function showError(e) {
  const box = $("#error");
  box.replaceChildren();
  if (!e) { box.hidden = true; return; }
  const b = e.body || {};
  box.append(el("strong", {}, "Request failed: "));
  if (b.codeName || b.code !== undefined && b.code !== null) {
    box.append(el("b", {}, `${b.codeName || "code"} (${b.code})`), " ");
  }
  box.append(b.remark || e.message);
  box.hidden = false;
}

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

function fillTable(table, rows, emptyText) {
  const body = table.querySelector("tbody");
  const cols = table.querySelectorAll("thead th").length;
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: cols }, emptyText))]));
}

// The confirmation dialog. Resolves true on OK, false on Cancel or Escape.
function modal({ title, body, ok, danger }) {
  return new Promise((resolve) => {
    const m = $("#modal");
    $("#modal-title").textContent = title;
    $("#modal-body").replaceChildren(body);
    const okBtn = $("#modal-ok");
    okBtn.textContent = ok || "OK";
    okBtn.className = danger ? "danger" : "primary";
    m.hidden = false;
    const first = body.querySelector && body.querySelector("input:not([disabled]), select");
    (first || okBtn).focus();
    const done = (v) => {
      m.hidden = true;
      okBtn.onclick = null; $("#modal-cancel").onclick = null; document.onkeydown = null;
      resolve(v);
    };
    okBtn.onclick = () => done(true);
    $("#modal-cancel").onclick = () => done(false);
    document.onkeydown = (ev) => { if (ev.key === "Escape") done(false); };
  });
}

// ---- charts ------------------------------------------------------------------------

const COLORS = ["#1f6feb", "#2e7d32", "#c62828", "#8e44ad", "#b26a00", "#00838f", "#6d4c41", "#ad1457"];

// Draws `series` ([{name, points: [[ms, value|null]]}]) over the last hour as SVG lines;
// a null value breaks the line (the sampler could not read that figure).
function drawChart(box, series, unit) {
  const W = 900, H = 220, L = 56, R = 12, T = 12, B = 26;
  const now = Date.now();
  const times = series.flatMap((s) => s.points.filter((p) => p[1] !== null).map((p) => p[0]));
  // The last hour, or since the first sample when the server has run for less.
  const from = Math.max(now - 3600 * 1000, Math.min(now - 60 * 1000, ...times.map((t) => t - 10 * 1000)));
  const values = series.flatMap((s) => s.points.filter((p) => p[0] >= from).map((p) => p[1])).filter((v) => v !== null);
  box.replaceChildren();
  if (!values.length) {
    box.append(el("div", { class: "none" }, "No samples yet: the server samples every 10 s and keeps the last hour."));
    return;
  }
  const max = Math.max(1, ...values) * 1.15;
  const x = (t) => L + ((t - from) / (now - from)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" });
    add("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, num(v, v < 10 ? 1 : 0));
  }
  const span = now - from;
  const step = [10e3, 30e3, 60e3, 120e3, 300e3, 600e3].find((s) => span / s <= 6) || 600e3;
  const ago = (ms) => ms >= 60e3 ? `-${Math.round(ms / 60e3)} min` : `-${Math.round(ms / 1e3)} s`;
  for (let back = 0; back <= span; back += step) {
    const t = now - back;
    add("line", { x1: x(t), x2: x(t), y1: T, y2: H - B, class: "grid" });
    add("text", { x: x(t), y: H - 8, "text-anchor": back === 0 ? "end" : "middle" }, back === 0 ? "now" : ago(back));
  }
  add("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" });
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    let d = "", pen = false;
    for (const [t, v] of s.points) {
      if (v === null || t < from) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d) add("path", { d, fill: "none", stroke: color, "stroke-width": 2, "vector-effect": "non-scaling-stroke" });
    for (const [t, v] of s.points) {
      if (v !== null && t >= from) add("circle", { cx: x(t), cy: y(v), r: 2.5, fill: color });
    }
  });
  box.append(svg);
  box.append(el("div", { class: "legend" },
    series.map((s, i) => el("span", {}, el("i", { style: `background:${COLORS[i % COLORS.length]}` }), `${s.name} ${unit || ""}`))));
}

async function history() {
  return (await api("GET", "/api/history")).samples || [];
}

// ---- pages -------------------------------------------------------------------------

let clusters = [];

async function loadCluster() {
  const [c, samples] = await Promise.all([api("GET", "/api/cluster"), history()]);
  clusters = c.clusters || [];
  const brokers = c.brokers || [];
  const masters = brokers.filter((b) => b.role === "MASTER");
  const sum = (k) => masters.reduce((a, b) => a + (b[k] || 0), 0);
  $("#cluster-cards").replaceChildren(
    card(clusters.length, "clusters"),
    card(brokers.length, "brokers"),
    card(brokers.filter((b) => !b.reachable).length, "unreachable"),
    card(num(sum("inTps"), 1), "in TPS (masters)"),
    card(num(sum("outTps"), 1), "out TPS (masters)"));
  fillTable($("#brokers"), brokers.map((b) => el("tr", { dataset: { broker: b.brokerName } },
    el("td", {}, b.clusterName),
    el("td", {}, b.brokerName),
    el("td", { class: "num" }, b.brokerId),
    el("td", {}, el("span", { class: `badge ${b.role === "MASTER" ? "master" : "slave"}` }, b.role)),
    el("td", { class: "mono" }, b.addr),
    el("td", {}, b.version || "–"),
    el("td", { class: "num" }, num(b.inTps, 2)),
    el("td", { class: "num" }, num(b.outTps, 2)),
    el("td", {}, meter(b.commitLogDiskRatio)),
    el("td", {}, el("span", { class: b.reachable ? "up" : "down" }, b.reachable ? "● up" : "● no answer")))),
  "No broker has registered with the name server.");
  drawChart($("#tps-chart"), [
    { name: "in", points: samples.map((s) => [s.at, s.inTps]) },
    { name: "out", points: samples.map((s) => [s.at, s.outTps]) },
  ], "msg/s");
}

function card(v, k) {
  return el("div", { class: "card" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k));
}

function meter(ratio) {
  const pct = Math.max(0, Math.min(1, Number(ratio) || 0)) * 100;
  return el("span", {}, el("span", { class: `bar-meter${pct > 85 ? " hot" : ""}` }, el("span", { style: `width:${pct.toFixed(1)}%` })), `${pct.toFixed(1)} %`);
}

async function ensureClusters() {
  if (!clusters.length) clusters = (await api("GET", "/api/cluster")).clusters || [];
  return clusters;
}

let topicRows = [];

async function loadTopics() {
  const all = $("#topics-all").checked;
  const t = await api("GET", `/api/topics${all ? "?all=true" : ""}`);
  topicRows = t.topics || [];
  $("#topic-names").replaceChildren(...topicRows.map((r) => el("option", { value: r.topic })));
  $("#topics-hidden").textContent = t.hidden ? `${t.hidden} retry, dead-letter and system topics hidden.` : "";
  renderTopics();
}

function renderTopics() {
  const f = $("#topics-filter").value.trim().toLowerCase();
  const rows = topicRows.filter((r) => !f || r.topic.toLowerCase().includes(f));
  fillTable($("#topics"), rows.map((r) => el("tr", { dataset: { topic: r.topic } },
    el("td", {}, el("span", { class: "clickable", onclick: () => showTopic(r.topic) }, r.topic),
      r.kind !== "NORMAL" ? el("span", { class: `badge ${r.kind.toLowerCase()}` }, r.kind) : null),
    el("td", { class: "num" }, r.error && r.readQueueNums === undefined ? "–" : `${r.readQueueNums} / ${r.writeQueueNums}`),
    el("td", { class: "mono" }, r.permName || "–"),
    el("td", {}, (r.brokers || []).join(", ")),
    el("td", { class: "num" }, num(r.minOffset)),
    el("td", { class: "num" }, num(r.maxOffset)),
    el("td", { class: "num" }, num(r.messages)),
    el("td", { class: "num" }, num(r.inTps, 2)),
    el("td", { class: "num" },
      el("button", { class: "small", onclick: () => editTopic(r) }, "Edit"), " ",
      el("button", { class: "small danger", onclick: () => deleteTopic(r) }, "Delete")))),
  f ? "No topic matches the filter." : "No topic yet: create one with “New topic”.");
}

async function showTopic(topic) {
  const d = await api("GET", `/api/topics/${encodeURIComponent(topic)}`);
  $("#topic-detail").hidden = false;
  $("#topic-detail-title").textContent = `Topic ${topic}`;
  fillTable($("#topic-queues"), d.queues.map((q) => el("tr", {},
    el("td", {}, q.brokerName), el("td", { class: "num" }, q.queueId), el("td", { class: "num" }, num(q.minOffset)),
    el("td", { class: "num" }, num(q.maxOffset)), el("td", {}, time(q.lastUpdateTimestamp)))), "No queue.");
  $("#topic-groups").replaceChildren(...(d.groups.length ? d.groups.map((g) =>
    el("li", {}, el("a", { href: `#groups/${encodeURIComponent(g)}` }, g))) : [el("li", { class: "hint" }, "No group has consumed it.")]));
}

function topicForm(r, names) {
  const edit = !!r;
  return el("div", {},
    el("label", {}, "Topic name", el("input", { id: "nt-name", value: r ? r.topic : "", disabled: edit, placeholder: "e.g. OrderEvents" })),
    el("label", {}, "Cluster", el("select", { id: "nt-cluster" }, names.map((c) => el("option", { value: c }, c)))),
    el("div", { class: "row" },
      el("label", {}, "Read queues", el("input", { id: "nt-read", type: "number", min: 1, max: 1024, value: r ? r.readQueueNums : 8 })),
      el("label", {}, "Write queues", el("input", { id: "nt-write", type: "number", min: 1, max: 1024, value: r ? r.writeQueueNums : 8 })),
      el("label", {}, "Permission", el("select", { id: "nt-perm" },
        [[6, "RW- (read, write)"], [4, "R-- (read only)"], [2, "-W- (write only)"]].map(([v, n]) =>
          el("option", { value: v, selected: r && r.perm === v }, n))))));
}

async function writeTopic(r) {
  const names = await ensureClusters();
  const form = topicForm(r, names);
  if (!(await modal({ title: r ? `Update topic ${r.topic}` : "New topic", body: form, ok: "Next" }))) return;
  const req = {
    topic: form.querySelector("#nt-name").value.trim(),
    clusterName: form.querySelector("#nt-cluster").value,
    readQueueNums: Number(form.querySelector("#nt-read").value),
    writeQueueNums: Number(form.querySelector("#nt-write").value),
    perm: Number(form.querySelector("#nt-perm").value),
  };
  const permName = { 6: "RW-", 4: "R--", 2: "-W-" }[req.perm];
  const sure = await modal({
    title: r ? "Update this topic?" : "Create this topic?",
    body: el("div", { class: "confirm", id: "confirm-text" },
      `${r ? "Update" : "Create"} topic `, el("b", {}, req.topic), ` on every master of cluster `, el("b", {}, req.clusterName),
      ` with ${req.readQueueNums} read and ${req.writeQueueNums} write queues, permission ${permName}.`),
    ok: r ? "Update topic" : "Create topic",
  });
  if (!sure) return;
  await api("POST", "/api/topics", req);
  toast(`Topic ${req.topic} ${r ? "updated" : "created"}.`);
  await loadTopics();
}

const editTopic = (r) => guarded(() => writeTopic(r));

async function deleteTopic(r) {
  await guarded(async () => {
    const names = await ensureClusters();
    const cluster = el("select", { id: "dt-cluster" }, names.map((c) => el("option", { value: c }, c)));
    const sure = await modal({
      title: "Delete this topic?",
      body: el("div", {}, el("div", { class: "confirm" }, "Delete topic ", el("b", {}, r.topic),
        " from every master of the cluster and from the name servers. Consumers can no longer read its messages."),
        el("label", { style: "margin-top:12px" }, "Cluster", cluster)),
      ok: "Delete topic", danger: true,
    });
    if (!sure) return;
    await api("DELETE", `/api/topics/${encodeURIComponent(r.topic)}?clusterName=${encodeURIComponent(cluster.value)}`);
    toast(`Topic ${r.topic} deleted.`);
    $("#topic-detail").hidden = true;
    await loadTopics();
  });
}

let groupRows = [];

async function loadGroups(selected) {
  const g = await api("GET", "/api/groups");
  groupRows = g.groups || [];
  renderGroups(selected);
  if (selected) await showGroup(selected);
}

function renderGroups(selected) {
  const f = $("#groups-filter").value.trim().toLowerCase();
  const rows = groupRows.filter((r) => !f || r.group.toLowerCase().includes(f));
  fillTable($("#groups"), rows.map((r) => el("tr", { dataset: { group: r.group }, class: r.group === selected ? "sel" : null },
    el("td", {}, el("a", { class: "clickable", href: `#groups/${encodeURIComponent(r.group)}` }, r.group)),
    el("td", { class: "num" }, r.count),
    el("td", {}, r.version),
    el("td", {}, r.type || "–"),
    el("td", {}, r.model || "–"),
    el("td", { class: "num" }, num(r.tps)),
    el("td", { class: `num${r.diffTotal > 1000 ? " lag-high" : ""}` }, num(r.diffTotal)))),
  f ? "No group matches the filter." : "No consumer group yet.");
}

async function showGroup(group) {
  const [d, samples] = await Promise.all([api("GET", `/api/groups/${encodeURIComponent(group)}`), history()]);
  $("#group-detail").hidden = false;
  $("#group-detail-title").textContent = `Group ${group}`;
  $("#group-detail").dataset.group = group;
  $("#group-detail").dataset.topics = JSON.stringify(d.topics);
  $("#group-cards").replaceChildren(card(num(d.diffTotal), "total lag (messages)"), card(num(d.consumeTps, 1), "consume TPS"),
    card(d.connections.length, "clients online"));
  fillTable($("#group-queues"), d.queues.map((q) => el("tr", {
    dataset: { topic: q.topic, broker: q.brokerName, qid: q.queueId, lag: q.lag },
  },
    el("td", {}, q.topic), el("td", {}, q.brokerName), el("td", { class: "num" }, q.queueId),
    el("td", { class: "num" }, num(q.brokerOffset)), el("td", { class: "num" }, num(q.consumerOffset)),
    el("td", { class: `num lag${q.lag > 1000 ? " lag-high" : ""}` }, num(q.lag)), el("td", {}, time(q.lastTimestamp)))),
  "No queue.");
  fillTable($("#group-clients"), d.connections.map((c) => el("tr", {},
    el("td", { class: "mono" }, c.clientId), el("td", { class: "mono" }, c.clientAddr), el("td", {}, c.language), el("td", {}, c.version))),
  "No client online: the group is offline.");
  drawChart($("#lag-chart"), [{
    name: group,
    points: samples.map((s) => {
      const g = (s.lag || []).find((x) => x.group === group);
      return [s.at, g ? g.lag : null];
    }),
  }], "messages behind");
}

async function resetGroup() {
  const group = $("#group-detail").dataset.group;
  const topics = JSON.parse($("#group-detail").dataset.topics || "[]");
  const hourAgo = localInput(Date.now() - 3600 * 1000);
  const form = el("div", {},
    el("label", {}, "Topic", el("select", { id: "rs-topic" }, topics.map((t) => el("option", { value: t }, t)))),
    el("label", {}, "Consume again from (local time)", el("input", { id: "rs-time", type: "datetime-local", step: 1, value: hourAgo })),
    el("label", { class: "check" }, el("span", {}, el("input", { id: "rs-force", type: "checkbox", checked: true }), " also move offsets forward (force)")));
  if (!(await modal({ title: `Reset offsets of ${group}`, body: form, ok: "Next" }))) return;
  const topic = form.querySelector("#rs-topic").value;
  const at = new Date(form.querySelector("#rs-time").value).getTime();
  if (!topic || !Number.isFinite(at)) throw new ApiError(400, { message: "choose a topic and a time" });
  const sure = await modal({
    title: "Reset offsets?",
    body: el("div", { class: "confirm" }, "Group ", el("b", {}, group), " will consume ", el("b", {}, topic),
      ` again from the first message stored at or after ${time(at)}. Online consumers are told at once.`),
    ok: "Reset offsets", danger: true,
  });
  if (!sure) return;
  await api("POST", `/api/groups/${encodeURIComponent(group)}/reset`, { topic, timestamp: String(at), force: form.querySelector("#rs-force").checked });
  toast(`Offsets of ${group} on ${topic} reset.`);
  await loadGroups(group);
}

let msgMode = "key";
let msgRows = [];

function setMsgMode(mode) {
  msgMode = mode;
  document.querySelectorAll("#msg-tabs button").forEach((b) => b.classList.toggle("on", b.dataset.mode === mode));
  document.querySelectorAll("#msg-form label[data-for]").forEach((l) => { l.hidden = l.dataset.for !== mode; });
}

// Local time for a datetime-local input.
const localInput = (ms) => new Date(ms - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 19);

async function loadMessagesPage() {
  if (!$("#msg-begin").value) $("#msg-begin").value = localInput(Date.now() - 3600 * 1000);
  if (!$("#msg-end").value) $("#msg-end").value = localInput(Date.now() + 60 * 1000);
  if (!topicRows.length) await loadTopics();
}

async function searchMessages() {
  const q = new URLSearchParams();
  const topic = $("#msg-topic").value.trim();
  if (topic) q.set("topic", topic);
  if (msgMode === "key") q.set("key", $("#msg-key").value.trim());
  if (msgMode === "id") q.set("msgId", $("#msg-id").value.trim());
  if (msgMode === "time") {
    q.set("begin", String(new Date($("#msg-begin").value).getTime()));
    q.set("end", String(new Date($("#msg-end").value).getTime()));
  }
  const r = await api("GET", `/api/messages?${q}`);
  msgRows = r.messages || [];
  $("#msg-detail").hidden = true;
  fillTable($("#messages"), msgRows.map((m, i) => el("tr", { dataset: { msgid: m.msgId } },
    el("td", { class: "mono" }, el("span", { class: "clickable", onclick: () => showMessage(i) }, m.msgId)),
    el("td", {}, m.topic), el("td", {}, m.tags || "–"), el("td", {}, m.keys || "–"),
    el("td", { class: "num" }, m.queueId), el("td", { class: "num" }, m.queueOffset), el("td", {}, time(m.storeTimestamp)))),
  "No message found.");
  $("#msg-summary").textContent = r.truncated ? `Showing the first ${msgRows.length} messages; the range holds more.` : `${r.total} message(s).`;
  if (msgRows.length === 1) showMessage(0);
}

function showMessage(i) {
  const m = msgRows[i];
  $("#msg-detail").hidden = false;
  $("#msg-detail").dataset.index = i;
  const kv = (k, v) => el("tr", {}, el("td", {}, k), el("td", {}, v === undefined || v === null ? "–" : v));
  $("#msg-fields tbody").replaceChildren(
    kv("Message id", m.msgId), kv("Offset id", m.offsetMsgId), kv("Topic", m.topic), kv("Tags", m.tags), kv("Keys", m.keys),
    kv("Queue / offset", `${m.queueId} / ${m.queueOffset}`), kv("Reconsume times", m.reconsumeTimes),
    kv("Born", `${time(m.bornTimestamp)} from ${m.bornHost}`), kv("Stored", `${time(m.storeTimestamp)} at ${m.storeHost}`));
  $("#msg-body").textContent = m.body;
  $("#msg-props tbody").replaceChildren(...Object.entries(m.properties || {}).map(([k, v]) => kv(k, v)));
  $("#msg-resend").hidden = !String(m.topic).startsWith("%DLQ%");
}

async function resendMessage() {
  const m = msgRows[Number($("#msg-detail").dataset.index)];
  const group = String(m.topic).slice("%DLQ%".length);
  const sure = await modal({
    title: "Resend this dead letter?",
    body: el("div", { class: "confirm" }, "Message ", el("b", { class: "mono" }, m.msgId), " goes back to group ", el("b", {}, group),
      ": handed straight to an online consumer (CONSUME_MESSAGE_DIRECTLY), or, with none online, sent to ",
      el("b", {}, `%RETRY%${group}`), " to be consumed when the group returns."),
    ok: "Resend", danger: true,
  });
  if (!sure) return;
  const r = await api("POST", "/api/messages/resend", { msgId: m.offsetMsgId, group });
  toast(r.mode === "RETRY_TOPIC" ? `Sent to ${r.topic} (${r.sendStatus}).` : `Consumed by ${r.clientId}: ${JSON.stringify(r.result)}`);
}

async function loadActors() {
  const tree = await api("GET", "/actors");
  const rows = [];
  (function walk(node, depth) {
    for (const c of node.children || []) {
      rows.push([c, depth]);
      walk(c, depth + 1);
    }
  })(tree, 0);
  const body = rows.map(([c, depth]) => {
    const a = c.actor;
    const name = el("td", { style: `padding-left:${10 + depth * 18}px` }, depth ? el("span", { class: "hint", style: "margin:0 4px 0 0" }, "└") : null, c.name);
    if (!a) return el("tr", {}, name, el("td", { colspan: 8 }));
    const fill = a.mailboxCapacity ? a.mailboxDepth / a.mailboxCapacity : 0;
    return el("tr", {}, name,
      el("td", { class: a.alive ? "up" : "down" }, a.alive ? "yes" : "no"),
      el("td", {}, el("span", { class: `bar-meter${fill > 0.8 ? " hot" : ""}`, title: `${(fill * 100).toFixed(1)} % full` },
        el("span", { style: `width:${(fill * 100).toFixed(1)}%` })), num(a.mailboxDepth)),
      el("td", {}, num(a.mailboxCapacity)), el("td", {}, num(a.messagesHandled)), el("td", {}, num(a.messagesRejected)),
      el("td", { class: a.panics ? "down" : null }, num(a.panics)), el("td", { class: a.restarts ? "down" : null }, num(a.restarts)),
      el("td", {}, num(a.handlerSecondsSum, 3)));
  });
  $("#actors tbody").replaceChildren(...body);
}

// ---- routing -----------------------------------------------------------------------

const PAGES = {
  cluster: { load: loadCluster, every: 10000 },
  topics: { load: loadTopics },
  groups: { load: (arg) => loadGroups(arg), every: 10000 },
  messages: { load: loadMessagesPage },
  actors: { load: loadActors, every: 5000 },
};
let refreshTimer = null;

async function guarded(f) {
  try {
    showError(null);
    await f();
  } catch (e) {
    showError(e);
  }
}

function route() {
  const [page, ...rest] = (location.hash.slice(1) || "cluster").split("/");
  const name = PAGES[page] ? page : "cluster";
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== `page-${name}`; });
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("on", a.dataset.page === name));
  if (name === "groups" && !arg) $("#group-detail").hidden = true;
  $("#toast").hidden = true;
  clearInterval(refreshTimer);
  const p = PAGES[name];
  guarded(() => p.load(arg));
  if (p.every) refreshTimer = setInterval(() => { if ($("#modal").hidden) guarded(() => p.load(arg)); }, p.every);
}

$("#topic-new").addEventListener("click", () => guarded(() => writeTopic(null)));
$("#topics-all").addEventListener("change", () => guarded(loadTopics));
$("#topics-filter").addEventListener("input", renderTopics);
$("#groups-filter").addEventListener("input", () => renderGroups($("#group-detail").dataset.group));
$("#group-reset").addEventListener("click", () => guarded(resetGroup));
$("#msg-tabs").addEventListener("click", (e) => { if (e.target.dataset.mode) setMsgMode(e.target.dataset.mode); });
$("#msg-form").addEventListener("submit", (e) => { e.preventDefault(); guarded(searchMessages); });
$("#msg-resend").addEventListener("click", () => guarded(resendMessage));
window.addEventListener("hashchange", route);
route();
