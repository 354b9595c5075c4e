// ml-ids web UI: plain JavaScript, no dependencies, served from the binary.
"use strict";
const params = new URLSearchParams(location.search);
if (params.get("token")) localStorage.setItem("mlids-token", params.get("token"));
const token = localStorage.getItem("mlids-token") || "";
const authHeaders = token ? { Authorization: "Bearer " + token } : {};
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (n) => (typeof n === "number" ? n.toLocaleString() : n);

// Tabs
document.querySelectorAll("nav button").forEach((b) =>
  b.addEventListener("click", () => {
    document.querySelectorAll("nav button, .tab").forEach((e) => e.classList.remove("active"));
    b.classList.add("active");
    $("#" + b.dataset.tab).classList.add("active");
    if (b.dataset.tab === "alerts") { unseen = 0; $("#alert-badge").textContent = "0"; }
  }));

// Upload
let flows = [];
let sortKey = "time", sortDir = 1;
const columns = ["time", "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "packets", "bytes", "duration_us", "label", "attack_score"];
$("#upload-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = $("#file").files[0];
  if (!f) { $("#upload-status").textContent = "choose a capture file first"; return; }
  $("#upload-status").textContent = "uploading " + f.name + " (" + fmt(f.size) + " bytes)…";
  try {
    const r = await fetch("/api/pcap?name=" + encodeURIComponent(f.name), { method: "POST", headers: { ...authHeaders, "Content-Type": "application/vnd.tcpdump.pcap" }, body: f });
    const body = await r.json();
    if (!r.ok && !body.partial) throw new Error(body.error || r.statusText);
    const report = r.ok ? body : body.partial;
    render(report);
    $("#upload-status").textContent = r.ok ? "done" : "partly read: " + body.error;
  } catch (e) {
    $("#upload-status").textContent = "failed: " + e.message;
  }
});

function kvTable(el, rows, head) {
  el.innerHTML = "<tr>" + head.map((h) => "<th>" + esc(h) + "</th>").join("") + "</tr>" +
    rows.map((r) => "<tr>" + r.map((c) => "<td>" + esc(fmt(c)) + "</td>").join("") + "</tr>").join("");
}

function render(rep) {
  $("#result").hidden = false;
  const s = rep.summary;
  $("#c-flows").textContent = fmt(s.flows);
  $("#c-attacks").textContent = fmt(s.attacks);
  $("#c-packets").textContent = fmt(rep.packets.read);
  $("#c-skipped").textContent = fmt(rep.packets.read - rep.packets.decoded);
  kvTable($("#by-label"), Object.entries(s.by_label).sort((a, b) => b[1] - a[1]), ["label", "flows"]);
  kvTable($("#attackers"), s.top_attackers, ["address", "attack flows"]);
  kvTable($("#victims"), s.top_victims, ["address", "attack flows"]);
  drawTimeline(rep.timeline);
  flows = rep.flows;
  $("#flow-note").textContent = rep.flows_truncated ? "(first " + fmt(flows.length) + " of " + fmt(s.flows) + ")" : "";
  $("#flows thead").innerHTML = "<tr>" + columns.map((c) => '<th data-k="' + c + '">' + c + "</th>").join("") + "</tr>";
  $("#flows thead").querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
    sortDir = sortKey === th.dataset.k ? -sortDir : 1; sortKey = th.dataset.k; drawFlows();
  }));
  drawFlows();
}

function drawFlows() {
  const q = $("#flow-filter").value.trim().toLowerCase();
  const only = $("#attacks-only").checked;
  const rows = flows.filter((f) => (!only || f.is_attack) && (!q || columns.some((c) => String(f[c]).toLowerCase().includes(q))))
    .sort((a, b) => (a[sortKey] < b[sortKey] ? -sortDir : a[sortKey] > b[sortKey] ? sortDir : 0))
    .slice(0, 2000);
  $("#flows tbody").innerHTML = rows.map((f) => '<tr class="' + (f.is_attack ? "attack" : "") + '">' +
    columns.map((c) => "<td>" + esc(c === "attack_score" ? f[c].toFixed(3) : fmt(f[c])) + "</td>").join("") + "</tr>").join("");
}
$("#flow-filter").addEventListener("input", drawFlows);
$("#attacks-only").addEventListener("change", drawFlows);

const palette = ["#ff6b6b", "#ffa94d", "#ffd43b", "#69db7c", "#4dabf7", "#b197fc", "#f783ac", "#63e6be"];
function drawTimeline(buckets) {
  const el = $("#timeline");
  if (!buckets.length) { el.innerHTML = "<small>no attack flows</small>"; return; }
  const labels = [...new Set(buckets.flatMap((b) => Object.keys(b.attacks)))];
  const max = Math.max(...buckets.map((b) => Object.values(b.attacks).reduce((x, y) => x + y, 0)));
  const W = Math.max(300, Math.min(1200, buckets.length * 24)), H = 160, bw = W / buckets.length;
  let svg = '<svg width="' + W + '" height="' + (H + 40) + '" role="img" aria-label="attacks per minute">';
  buckets.forEach((b, i) => {
    let y = H;
    labels.forEach((l, li) => {
      const n = b.attacks[l] || 0; if (!n) return;
      const h = (n / max) * (H - 10); y -= h;
      svg += '<rect x="' + (i * bw + 1) + '" y="' + y + '" width="' + Math.max(1, bw - 2) + '" height="' + h + '" fill="' + palette[li % palette.length] + '"><title>' + esc(b.minute + " " + l + ": " + n) + "</title></rect>";
    });
  });
  svg += '<text x="2" y="' + (H + 14) + '" fill="#8b949e" font-size="11">' + esc(buckets[0].minute) + "</text>";
  labels.forEach((l, li) => { svg += '<rect x="' + (li * 160 + 2) + '" y="' + (H + 22) + '" width="10" height="10" fill="' + palette[li % palette.length] + '"/><text x="' + (li * 160 + 16) + '" y="' + (H + 31) + '" fill="#e6e6e6" font-size="11">' + esc(l) + "</text>"; });
  el.innerHTML = svg + "</svg>";
}

// Live alerts over the WebSocket, reconnecting with back-off.
let unseen = 0, delay = 500;
function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/alerts?events=alerts" + (token ? "&token=" + encodeURIComponent(token) : "");
  const ws = new WebSocket(url);
  ws.onopen = () => { $("#conn").textContent = "live"; $("#conn").classList.add("up"); delay = 500; };
  ws.onclose = () => { $("#conn").textContent = "disconnected, retrying…"; $("#conn").classList.remove("up"); setTimeout(connect, delay); delay = Math.min(delay * 2, 10000); };
  ws.onmessage = (m) => {
    const a = JSON.parse(m.data);
    if (a.type === "hello") return;
    if (a.type === "lagged") { addRow('<td colspan="8">' + a.missed + " alerts missed (client too slow)</td>"); return; }
    if (a.attack_score < parseFloat($("#min-score").value || "0")) return;
    // The reason column: the host-behaviour stage's evidence, else the model's top features.
    const feats = a.evidence ? a.evidence.summary : (a.top_features || []).map((f) => f.feature).join(", ");
    addRow("<td>" + esc(a.time) + "</td><td>" + esc(a.source) + "</td><td>" + esc(a.src_ip + ":" + a.src_port) + "</td><td>" + esc(a.dst_ip + ":" + a.dst_port) +
      "</td><td>" + a.protocol + "</td><td>" + esc(a.label) + "</td><td>" + a.attack_score.toFixed(3) + "</td><td>" + esc(feats) + "</td>");
    if (!$("#alerts").classList.contains("active")) { unseen++; $("#alert-badge").textContent = String(unseen); }
  };
}
function addRow(html) {
  const tb = $("#alert-table tbody");
  const tr = document.createElement("tr"); tr.className = "attack"; tr.innerHTML = html;
  tb.prepend(tr);
  while (tb.rows.length > 1000) tb.deleteRow(-1);
}
$("#clear-alerts").addEventListener("click", () => { $("#alert-table tbody").innerHTML = ""; });
connect();

// Model
Promise.all([
  fetch("/api/model", { headers: authHeaders }).then((r) => r.json()),
  fetch("/healthz", { headers: authHeaders }).then((r) => r.json()).catch(() => ({})),
]).then(([m, health]) => {
  $("#manifest").textContent = JSON.stringify(m, null, 2);
  // Every served bundle: /api/predictions sends rows to the one of their extractor mode.
  const served = (health.models || []).map((b) => b.name + " (" + b.mode + ", " + b.task + ", " + b.features + " features)").join("; ");
  const rows = [["served bundles", served || "one"], ["task (primary)", m.task], ["extractor mode", m.mode || m.extractor_mode], ["features", (m.features || []).length],
    ["labels", (m.labels || []).map((l) => l.name || l).join(", ")], ["decision threshold", m.threshold ?? (m.decision && m.decision.threshold)]];
  let html = "<table>" + rows.map((r) => "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1] ?? "") + "</td></tr>").join("") + "</table>";
  if (m.metrics) html += "<h3>Metrics</h3><pre>" + esc(JSON.stringify(m.metrics, null, 2)) + "</pre>";
  $("#model-info").innerHTML = html;
}).catch((e) => { $("#model-info").textContent = "could not load the model: " + e.message; });
