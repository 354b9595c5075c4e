// ml-ids web UI: plain JavaScript (no build step), served from the binary with the vendored uPlot.
// Views: incidents (live), one incident, upload, flows (virtualised), live alerts, model.
// Every piece of data reaches the page through textContent or attributes, never through innerHTML.
"use strict";
(() => {
  // ---------------------------------------------------------------------------------------------
  // Basics
  const params = new URLSearchParams(location.search);
  if (params.get("token")) localStorage.setItem("mlids-token", params.get("token"));
  const token = localStorage.getItem("mlids-token") || "";
  const authHeaders = token ? { Authorization: "Bearer " + token } : {};

  const $ = (s, root = document) => root.querySelector(s);
  const $$ = (s, root = document) => [...root.querySelectorAll(s)];

  /** An element: h("td", {class: "x", title: "…"}, "text", child…). Strings become text nodes. */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const k of kids.flat(Infinity)) if (k != null && k !== false) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const clear = (el) => { el.replaceChildren(); return el; };

  const NUM = new Intl.NumberFormat("en-US");
  const fmt = (n) => (typeof n === "number" ? NUM.format(n) : n ?? "");
  const PROTO = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP" };
  const proto = (p) => PROTO[p] || String(p);
  const pad2 = (n) => String(n).padStart(2, "0");
  /** µs since the epoch → "2026-11-26 15:54:29" (UTC, as every time on this page). */
  function fmtTime(us) {
    if (us == null) return "";
    const d = new Date(Math.floor(us / 1000));
    return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate()) + " " +
      pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) + ":" + pad2(d.getUTCSeconds());
  }
  const isoTime = (us) => new Date(Math.floor(us / 1000)).toISOString();
  /** RFC 3339 with microseconds → µs since the epoch. */
  function parseUs(s) {
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(s || "");
    if (!m) return Date.parse(s) * 1000;
    return Date.parse(m[1] + m[3]) * 1000 + Number(((m[2] || "") + "000000").slice(0, 6));
  }
  /** A duration in µs, to the unit an analyst reads. */
  function fmtDur(us) {
    if (!(us >= 0)) return "";
    if (us < 1000) return Math.round(us) + " µs";
    if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 1 : 0) + " ms";
    const s = us / 1e6;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + pad2(Math.floor(s % 60)) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + pad2(Math.floor((s % 3600) / 60)) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }
  function fmtBytes(n) {
    if (!(n >= 0)) return "";
    if (n < 1024) return n + " B";
    const u = ["KiB", "MiB", "GiB"]; let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 1 : 0) + " " + u[i];
  }
  const debounce = (f, ms) => { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => f(...a), ms); }; };

  async function api(path, opts = {}) {
    const r = await fetch(path, { ...opts, headers: { ...authHeaders, ...(opts.headers || {}) } });
    let body = null;
    try { body = await r.json(); } catch { /* not JSON */ }
    if (!r.ok) {
      const e = new Error((body && body.error) || r.status + " " + r.statusText);
      e.status = r.status;
      throw e;
    }
    return body;
  }

  // Colours: fixed for the families, then one per label in order of first use (so the labels of
  // one chart differ), readable on the dark background.
  const FIXED = { PortScan: "#4dabf7", DoS: "#ff922b", DDoS: "#e64980", BruteForce: "#fcc419", WebAttack: "#9775fa", Bot: "#ff6b6b", Infiltration: "#20c997", Heartbleed: "#f06595", Benign: "#51cf66" };
  const PALETTE = ["#22b8cf", "#ffa94d", "#da77f2", "#94d82d", "#ffd8a8", "#74c0fc", "#ff8787", "#ffe066", "#63e6be", "#b197fc", "#f783ac", "#a9e34b", "#3bc9db", "#ffc078"];
  const assigned = new Map();
  function colour(name) {
    if (FIXED[name]) return FIXED[name];
    if (!assigned.has(name)) assigned.set(name, PALETTE[assigned.size % PALETTE.length]);
    return assigned.get(name);
  }
  const SEV = { low: 0, medium: 1, high: 2, critical: 3 };
  const sevBadge = (s) => h("span", { class: "sev sev-" + s }, s);

  // ---------------------------------------------------------------------------------------------
  // State
  const state = {
    /** id → the incident's latest state (from GET /api/incidents, the WebSocket, uploads). */
    incidents: new Map(),
    /** id → the upload it was found in (so its flows can be listed). */
    incidentUpload: new Map(),
    /** The last upload: {report, name, uploadId, server: bool}. */
    upload: null,
    /** The upload in flight: {id, size}. */
    pending: null,
  };
  const mainLabel = (inc) => Object.entries(inc.labels || {}).sort((a, b) => b[1] - a[1])[0]?.[0] || inc.family;
  const victimCount = (inc) => (inc.victims || []).length + (inc.other_victims || 0);

  // ---------------------------------------------------------------------------------------------
  // Charts (uPlot)
  const charts = new Map(); // container element → uPlot instance
  const axisStyle = { stroke: "#8b949e", grid: { stroke: "#2d333b", width: 1 }, ticks: { stroke: "#2d333b", width: 1 } };
  const tzUTC = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
  /** Time-axis ticks in UTC, as precise as the tick spacing needs; the date under the first tick and where it changes. */
  function timeTicks(u, splits, axisIdx, space, incr) {
    let prevDay = null;
    return splits.map((v) => {
      const iso = new Date(v * 1e3).toISOString(); // 2026-11-26T15:54:29.400Z
      const day = iso.slice(0, 10);
      const t = incr < 1 ? iso.slice(11, incr < 0.1 ? 23 : 21) : incr < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
      const label = incr >= 86400 ? day : day !== prevDay ? t + "\n" + day : t;
      prevDay = day;
      return label;
    });
  }

  function mount(el, opts, data) {
    charts.get(el)?.destroy();
    clear(el);
    const u = new uPlot({ ...opts, width: Math.max(280, el.clientWidth || 600) }, data, el);
    charts.set(el, u);
    return u;
  }
  // Charts follow their container's width.
  const resizer = new ResizeObserver((entries) => {
    for (const e of entries) {
      const u = charts.get(e.target);
      const w = Math.floor(e.contentRect.width);
      if (u && w > 0 && Math.abs(u.width - w) > 2) u.setSize({ width: w, height: u.height });
    }
  });

  /**
   * Stacked bars over time. xs: bucket starts (s since the epoch); series: [{name, values}];
   * bucketS: bucket width (s). The legend lists every series with its total, and the counts of
   * the bucket under the cursor; clicking a legend entry hides it and the stack is recomputed.
   */
  function stackedTime(el, xs, series, bucketS, yLabel) {
    const raw = series.map((s) => s.values);
    const totals = raw.map((v) => v.reduce((a, b) => a + b, 0));
    const shown = series.map(() => true);
    // Series i is drawn as the sum of itself and every shown series after it, tallest first, so
    // each visible bar segment is one series' count.
    const stack = () => {
      const out = [xs];
      for (let i = 0; i < raw.length; i++) {
        out.push(xs.map((_, j) => {
          let s = 0;
          for (let k = i; k < raw.length; k++) if (shown[k]) s += raw[k][j];
          return shown[i] ? s : null;
        }));
      }
      return out;
    };
    // A bar spans its bucket (it starts at the bucket's start), so widths are true to time.
    const bars = uPlot.paths.bars({ size: [0.92, Infinity], align: 1 });
    const opts = {
      height: 220,
      tzDate: tzUTC,
      cursor: { points: { show: false }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: { x: { time: true, range: (u, min, max) => [min, max + bucketS] }, y: { range: (u, min, max) => [0, Math.max(1, max) * 1.08] } },
      axes: [
        { ...axisStyle, space: 80, size: 44, values: timeTicks },
        { ...axisStyle, label: yLabel, labelSize: 18, size: 56, values: (u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [
        { label: "time (UTC)", value: (u, v) => (v == null ? "–" : fmtTime(v * 1e6) + (bucketS >= 1 ? " +" + fmtDur(bucketS * 1e6) : "")) },
        ...series.map((s, i) => ({
          label: s.name,
          stroke: colour(s.name),
          fill: colour(s.name),
          width: 0,
          paths: bars,
          points: { show: false },
          value: (u, v, si, di) => (di == null ? fmt(totals[i]) + " total" : fmt(raw[i][di])),
        })),
      ],
      hooks: {
        setSeries: [(u, si) => {
          if (si == null || si === 0) return;
          shown[si - 1] = u.series[si].show;
          u.setData(stack());
        }],
      },
    };
    return mount(el, opts, stack());
  }

  /** One bar per category (its own series, so the legend names and colours each). */
  function categoryBars(el, names, values) {
    const xs = names.map((_, i) => i);
    const bars = uPlot.paths.bars({ size: [0.6, 120] });
    const data = [xs, ...names.map((_, i) => xs.map((j) => (j === i ? values[i] : null)))];
    const opts = {
      height: 220,
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        { ...axisStyle, grid: { show: false }, splits: () => xs, values: (u, splits) => splits.map((i) => names[i] ?? "") },
        { ...axisStyle, size: 56, values: (u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [
        { label: "family" },
        ...names.map((n, i) => ({ label: n + " (" + fmt(values[i]) + ")", stroke: colour(n), fill: colour(n), width: 0, paths: bars, points: { show: false } })),
      ],
    };
    return mount(el, opts, data);
  }

  /** An incident's timeline → x values and series for stackedTime. */
  function incidentSeries(inc) {
    const t = inc.timeline || { series: {} };
    const names = Object.keys(t.series);
    const n = Math.max(0, ...names.map((k) => t.series[k].length));
    const xs = Array.from({ length: n }, (_, i) => (t.start_us + i * t.bucket_us) / 1e6);
    return { xs, series: names.map((k) => ({ name: k, values: t.series[k] })), bucketS: t.bucket_us / 1e6 };
  }

  /** The incidents' timelines merged into one per-family series, at most ~120 buckets. */
  function familySeries(incs) {
    const withT = incs.filter((i) => i.timeline && Object.keys(i.timeline.series).length);
    if (!withT.length) return null;
    const len = (t) => Math.max(...Object.values(t.series).map((v) => v.length));
    const t0 = Math.min(...withT.map((i) => i.timeline.start_us));
    const t1 = Math.max(...withT.map((i) => i.timeline.start_us + len(i.timeline) * i.timeline.bucket_us));
    let bucket = Math.max(...withT.map((i) => i.timeline.bucket_us));
    while ((t1 - t0) / bucket > 120) bucket *= 2;
    const n = Math.max(1, Math.ceil((t1 - t0) / bucket));
    const fam = new Map();
    for (const inc of withT) {
      const t = inc.timeline;
      const acc = fam.get(inc.family) || new Array(n).fill(0);
      fam.set(inc.family, acc);
      for (const v of Object.values(t.series)) {
        v.forEach((c, i) => { if (c) acc[Math.min(n - 1, Math.floor((t.start_us + i * t.bucket_us - t0) / bucket))] += c; });
      }
    }
    const xs = Array.from({ length: n }, (_, i) => (t0 + i * bucket) / 1e6);
    const series = [...fam.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, values]) => ({ name, values }));
    return { xs, series, bucketS: bucket / 1e6 };
  }

  // ---------------------------------------------------------------------------------------------
  // Sortable tables (small: incidents, victims, …)
  /**
   * A table of rows with sortable columns. columns: [{key, label, value(row) for sorting,
   * cell(row) → string|Node, num: right-aligned}]. onOpen(row) makes rows links.
   */
  class SortTable {
    constructor(table, columns, { sort, dir = -1, onOpen, rowClass, limit = 2000 } = {}) {
      Object.assign(this, { table, columns, sortKey: sort, dir, onOpen, rowClass, limit, rows: [] });
      this.thead = h("thead");
      this.tbody = h("tbody");
      clear(table).append(this.thead, this.tbody);
      const tr = h("tr");
      for (const c of columns) {
        const th = h("th", { scope: "col", "data-k": c.key, class: c.num ? "num" : null, tabindex: c.value ? 0 : null }, c.label);
        if (c.value) {
          const go = () => { this.dir = this.sortKey === c.key ? -this.dir : (c.num ? -1 : 1); this.sortKey = c.key; this.render(); };
          th.addEventListener("click", go);
          th.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
        }
        tr.append(th);
      }
      this.thead.append(tr);
      if (onOpen) {
        this.tbody.addEventListener("click", (e) => { const r = e.target.closest("tr"); if (r && r._row) onOpen(r._row); });
        this.tbody.addEventListener("keydown", (e) => { const r = e.target.closest("tr"); if (e.key === "Enter" && r && r._row) onOpen(r._row); });
      }
    }
    set(rows) { this.rows = rows; this.render(); }
    render() {
      const col = this.columns.find((c) => c.key === this.sortKey);
      let rows = this.rows;
      if (col && col.value) {
        const v = col.value, d = this.dir;
        rows = [...rows].sort((a, b) => { const x = v(a), y = v(b); return x < y ? -d : x > y ? d : 0; });
      }
      for (const th of this.thead.querySelectorAll("th")) {
        const s = th.dataset.k === this.sortKey ? (this.dir > 0 ? "ascending" : "descending") : null;
        if (s) th.setAttribute("aria-sort", s); else th.removeAttribute("aria-sort");
      }
      const frag = document.createDocumentFragment();
      for (const r of rows.slice(0, this.limit)) {
        const tr = h("tr", { class: this.rowClass ? this.rowClass(r) : null, tabindex: this.onOpen ? 0 : null });
        tr._row = r;
        for (const c of this.columns) tr.append(h("td", { class: c.num ? "num" : null }, c.cell(r)));
        frag.append(tr);
      }
      this.tbody.replaceChildren(frag);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Virtualised flow table: a fixed row height, only the visible rows exist in the DOM, and the
  // rows come from a source that is either the upload's flows held here (LocalFlows) or pages
  // fetched from the server (ServerFlows).
  const ROW_H = 26;
  const FLOW_COLUMNS = [
    { key: "index", label: "#", w: "64px", num: true, get: (f) => fmt(f.index) },
    { key: "time", label: "start (UTC)", w: "210px", get: (f) => (f.time || "").replace("T", " ").replace("Z", "").slice(0, 23) },
    { key: "src_ip", label: "source", w: "minmax(150px,1.4fr)", get: (f) => f.src_ip + ":" + f.src_port },
    { key: "dst_ip", label: "destination", w: "minmax(150px,1.4fr)", get: (f) => f.dst_ip + ":" + f.dst_port },
    { key: "protocol", label: "proto", w: "60px", get: (f) => proto(f.protocol) },
    { key: "packets", label: "packets", w: "72px", num: true, get: (f) => fmt(f.packets) },
    { key: "bytes", label: "bytes", w: "84px", num: true, get: (f) => fmt(f.bytes) },
    { key: "duration_us", label: "duration", w: "84px", num: true, get: (f) => fmtDur(f.duration_us) },
    { key: "label", label: "label", w: "minmax(120px,1.2fr)", get: (f) => f.label },
    { key: "attack_score", label: "score", w: "64px", num: true, get: (f) => (f.attack_score ?? 0).toFixed(3) },
  ];

  class VirtualTable {
    constructor(root, columns, { onOpen, onSort } = {}) {
      Object.assign(this, { root, columns, onOpen, onSort, source: null, sortKey: null, dir: 1, pool: [] });
      const tmpl = columns.map((c) => c.w).join(" ");
      this.head = h("div", { class: "vt-head", role: "row" });
      this.head.style.gridTemplateColumns = tmpl;
      for (const c of columns) {
        const th = h("div", { role: "columnheader", class: "vt-th" + (c.num ? " num" : ""), "data-k": c.key, tabindex: 0 }, c.label);
        const go = () => {
          this.dir = this.sortKey === c.key ? -this.dir : c.num ? -1 : 1;
          this.sortKey = c.key;
          this.markSort();
          this.body.scrollTop = 0;
          this.onSort?.(this.sortKey, this.dir);
        };
        th.addEventListener("click", go);
        th.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
        this.head.append(th);
      }
      this.body = h("div", { class: "vt-body", tabindex: 0, role: "rowgroup" });
      this.spacer = h("div", { class: "vt-spacer" });
      this.body.append(this.spacer);
      this.tmpl = tmpl;
      clear(root).append(h("div", { role: "table", "aria-rowcount": 0, class: "vt" }, this.head, this.body));
      this.table = root.firstChild;
      let ticking = false;
      this.body.addEventListener("scroll", () => {
        if (ticking) return;
        ticking = true;
        requestAnimationFrame(() => { ticking = false; this.render(); });
      });
      this.body.addEventListener("click", (e) => {
        const r = e.target.closest(".vt-row");
        if (!r || r.dataset.i == null) return;
        const row = this.source?.rowAt(Number(r.dataset.i));
        if (row) { this.select(Number(r.dataset.i)); this.onOpen?.(row); }
      });
      new ResizeObserver(() => this.render()).observe(this.body);
    }
    markSort() {
      for (const th of this.head.children) {
        if (th.dataset.k === this.sortKey) th.setAttribute("aria-sort", this.dir > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      }
    }
    setSource(src) {
      this.source = src;
      src.onChange = () => this.render();
      this.body.scrollTop = 0;
      this.selected = null;
      this.render();
    }
    select(i) { this.selected = i; this.render(); }
    render() {
      const src = this.source;
      const total = src ? src.total : 0;
      this.table.setAttribute("aria-rowcount", total);
      this.spacer.style.height = total * ROW_H + "px";
      const height = this.body.clientHeight || 400;
      const first = Math.max(0, Math.floor(this.body.scrollTop / ROW_H) - 5);
      const count = Math.min(total - first, Math.ceil(height / ROW_H) + 10);
      if (src && count > 0) src.ensure?.(first, first + count);
      while (this.pool.length < Math.max(0, count)) {
        const r = h("div", { class: "vt-row", role: "row" });
        r.style.gridTemplateColumns = this.tmpl;
        for (const c of this.columns) r.append(h("div", { role: "cell", class: c.num ? "num" : null }));
        this.body.append(r);
        this.pool.push(r);
      }
      this.pool.forEach((r, k) => {
        if (k >= count) { r.hidden = true; delete r.dataset.i; return; }
        const i = first + k;
        const row = src.rowAt(i);
        r.hidden = false;
        r.dataset.i = i;
        r.setAttribute("aria-rowindex", i + 1);
        r.style.transform = "translateY(" + i * ROW_H + "px)";
        r.classList.toggle("attack", !!row?.is_attack);
        r.classList.toggle("loading", !row);
        r.classList.toggle("selected", i === this.selected);
        const cells = r.children;
        for (let c = 0; c < this.columns.length; c++) {
          const text = row ? String(this.columns[c].get(row)) : c === 0 ? "…" : "";
          if (cells[c].textContent !== text) cells[c].textContent = text;
        }
      });
    }
  }

  /** Flows held by the page: filter and sort here (100k rows sort in well under a second). */
  class LocalFlows {
    constructor(rows) {
      this.rows = rows;
      this.view = null;
      this.query = {};
      this.apply();
    }
    get total() { return this.view ? this.view.length : this.rows.length; }
    rowAt(i) { return this.rows[this.view ? this.view[i] : i]; }
    setQuery(q) { this.query = { ...this.query, ...q }; this.apply(); this.onChange?.(); }
    apply() {
      const { q, attacks_only, sort, dir } = this.query;
      const rows = this.rows;
      let idx = null;
      if (q || attacks_only) {
        const needle = (q || "").toLowerCase();
        if (needle && !this.text) {
          this.text = rows.map((r) => (r.src_ip + ":" + r.src_port + " " + r.dst_ip + ":" + r.dst_port + " " + proto(r.protocol) + " " + r.label + " " + r.termination + " " + r.time).toLowerCase());
        }
        idx = [];
        for (let i = 0; i < rows.length; i++) {
          if (attacks_only && !rows[i].is_attack) continue;
          if (needle && !this.text[i].includes(needle)) continue;
          idx.push(i);
        }
      }
      if (sort) {
        if (!idx) idx = Array.from(rows.keys());
        const key = sort === "index" ? null : sort;
        const d = dir === "desc" ? -1 : 1;
        const v = key ? rows.map((r) => r[key]) : null;
        idx.sort((a, b) => {
          if (!v) return (a - b) * d;
          const x = v[a], y = v[b];
          return x < y ? -d : x > y ? d : (a - b);
        });
      }
      this.view = idx;
    }
  }

  /** Flows paged from GET /api/uploads/{id}/flows: pages of 200, fetched as they scroll in. */
  class ServerFlows {
    constructor(uploadId, base = {}) {
      Object.assign(this, { uploadId, base, query: {}, pages: new Map(), total: 0, gen: 0, notKept: 0 });
    }
    static PAGE = 200;
    rowAt(i) {
      const p = this.pages.get(Math.floor(i / ServerFlows.PAGE));
      return Array.isArray(p) ? p[i % ServerFlows.PAGE] : undefined;
    }
    url(page) {
      const q = new URLSearchParams({ offset: page * ServerFlows.PAGE, limit: ServerFlows.PAGE });
      for (const [k, v] of Object.entries({ ...this.base, ...this.query })) if (v !== "" && v != null && v !== false) q.set(k, v);
      return "/api/uploads/" + encodeURIComponent(this.uploadId) + "/flows?" + q;
    }
    /** The first page, so the total is known. */
    async load() { await this.fetchPage(0, this.gen); return this; }
    ensure(from, to) {
      for (let p = Math.floor(from / ServerFlows.PAGE); p <= Math.floor(Math.max(from, to - 1) / ServerFlows.PAGE); p++) {
        if (!this.pages.has(p)) this.fetchPage(p, this.gen);
      }
    }
    async fetchPage(p, gen) {
      this.pages.set(p, "loading");
      try {
        const page = await api(this.url(p));
        if (gen !== this.gen) return;
        this.pages.set(p, page.flows);
        this.total = page.total;
        this.notKept = page.not_kept || 0;
        // A bounded cache: forget pages far from this one.
        if (this.pages.size > 60) for (const k of this.pages.keys()) if (Math.abs(k - p) > 20) this.pages.delete(k);
        this.onChange?.();
      } catch (e) {
        if (gen === this.gen) this.pages.delete(p);
        this.onError?.(e);
      }
    }
    setQuery(q) {
      this.query = { ...this.query, ...q };
      this.gen++;
      this.pages.clear();
      // Until the new first page arrives the table keeps its length, showing placeholders.
      this.onChange?.();
      return this.fetchPage(0, this.gen);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Flow detail drawer (features and explanation on demand).
  const drawer = $("#flow-detail");
  $("#fd-close").addEventListener("click", () => { drawer.hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") drawer.hidden = true; });
  let detailGen = 0;
  function fact(dl, k, v) { dl.append(h("dt", null, k), h("dd", null, v)); }
  async function openFlow(row, uploadId) {
    const gen = ++detailGen;
    drawer.hidden = false;
    $("#fd-title").textContent = "Flow" + (row.index != null ? " #" + fmt(row.index) : "");
    const dl = clear($("#fd-facts"));
    const src = row.src_ip, dst = row.dst_ip ?? row.dest_ip, dport = row.dst_port ?? row.dest_port;
    fact(dl, "start", row.time || (row.start_us != null ? isoTime(row.start_us) : ""));
    fact(dl, "source", src + ":" + row.src_port);
    fact(dl, "destination", dst + ":" + dport);
    fact(dl, "protocol", proto(row.protocol));
    if (row.community_id) fact(dl, "Community ID", h("code", null, row.community_id));
    if (row.flow_id) fact(dl, "flow id", h("code", null, row.flow_id));
    fact(dl, "packets", fmt(row.packets));
    if (row.bytes != null) fact(dl, "bytes", fmt(row.bytes));
    if (row.duration_us != null) fact(dl, "duration", fmtDur(row.duration_us));
    if (row.termination) fact(dl, "ended by", row.termination);
    fact(dl, "label", row.label);
    fact(dl, "attack score", (row.attack_score ?? 0).toFixed(3));
    if (row.stage) fact(dl, "decided by", row.stage);
    const why = clear($("#fd-why")), feats = clear($("#fd-features"));
    $("#fd-feature-filter").value = "";
    if (!uploadId || row.index == null) {
      $("#fd-why-note").textContent = "(the server keeps features only for uploads it still holds)";
      return;
    }
    $("#fd-why-note").textContent = "computing…";
    try {
      const d = await api("/api/uploads/" + encodeURIComponent(uploadId) + "/flows/" + row.index);
      if (gen !== detailGen) return;
      $("#fd-why-note").textContent = "what moved the flow classifier towards “" + d.explained_label + "” (log-odds)" +
        (d.explained_label !== row.label ? "; the verdict “" + row.label + "” came from the " + (row.stage === "payload" ? "payload" : "host-behaviour") + " stage" : "");
      const max = Math.max(1e-9, ...d.explanation.map((c) => Math.abs(c.contribution)));
      why.append(h("tr", null, h("th", null, "feature"), h("th", { class: "num" }, "value"), h("th", null, "contribution")));
      for (const c of d.explanation) {
        const bar = h("span", { class: "bar " + (c.contribution >= 0 ? "pos" : "neg") });
        bar.style.width = Math.round((Math.abs(c.contribution) / max) * 110) + "px";
        why.append(h("tr", null, h("td", null, c.feature), h("td", { class: "num" }, c.value == null ? "–" : fmt(+c.value.toPrecision(6))),
          h("td", null, h("span", { class: "contrib" }, bar, h("span", null, (c.contribution >= 0 ? "+" : "") + c.contribution.toFixed(3))))));
      }
      const all = Object.entries(d.features);
      const draw = () => {
        const q = $("#fd-feature-filter").value.toLowerCase();
        feats.replaceChildren(...all.filter(([k]) => !q || k.includes(q)).map(([k, v]) => h("tr", null, h("td", null, k), h("td", { class: "num" }, v == null ? "–" : fmt(+v.toPrecision(6))))));
      };
      $("#fd-feature-filter").oninput = draw;
      draw();
    } catch (e) {
      if (gen !== detailGen) return;
      $("#fd-why-note").textContent = e.status === 404 ? "(this flow is no longer kept by the server)" : "(explanation failed: " + e.message + ")";
    }
  }

  // ---------------------------------------------------------------------------------------------
  /** Floods and reflection are grouped by victim: their sources are many (often spoofed). */
  const byVictim = (i) => i.grouped_by === "victim";
  const victimOf = (i) => i.victims?.[0]?.address ?? "?";
  const sourcesText = (i) => byVictim(i) ? fmt(i.attackers ?? 1) + " sources" : i.attacker;

  // Incident list
  const incidentColumns = [
    { key: "severity", label: "severity", value: (i) => SEV[i.severity] * 1e16 + i.last_seen_us / 1e3, cell: (i) => sevBadge(i.severity) },
    { key: "family", label: "family", value: (i) => i.family, cell: (i) => i.family },
    { key: "label", label: "main label", value: mainLabel, cell: mainLabel },
    {
      key: "attacker", label: "attacker → victims", value: sourcesText,
      cell: (i) => {
        const v = victimCount(i);
        return h("span", { class: "mono" }, sourcesText(i), h("span", { class: "arrow" }, " → "),
          i.victims?.[0]?.address ?? "?", v > 1 ? h("span", { class: "more" }, " +" + (v - 1) + " (" + v + " victims)") : "");
      },
    },
    { key: "first", label: "first seen (UTC)", value: (i) => i.first_seen_us, cell: (i) => fmtTime(i.first_seen_us) },
    { key: "duration", label: "duration", num: true, value: (i) => i.last_seen_us - i.first_seen_us, cell: (i) => fmtDur(i.last_seen_us - i.first_seen_us) },
    { key: "flows", label: "flows", num: true, value: (i) => i.flows, cell: (i) => fmt(i.flows) },
    { key: "packets", label: "packets", num: true, value: (i) => i.packets, cell: (i) => fmt(i.packets) },
    { key: "open", label: "state", value: (i) => (i.open ? 1 : 0), cell: (i) => h("span", { class: "state " + (i.open ? "open" : "closed") }, i.open ? "open" : "closed") },
  ];
  const openIncident = (i) => { location.hash = "#incident/" + encodeURIComponent(i.id); };
  const fresh = new Map(); // id → time of its last update (rows flash briefly)
  const rowClass = (i) => "sev-row-" + i.severity + (Date.now() - (fresh.get(i.id) || 0) < 1500 ? " fresh" : "");
  const incidentTable = new SortTable($("#incident-table"), incidentColumns, { sort: "first", dir: -1, onOpen: openIncident, rowClass, limit: 1000 });
  const uploadIncidents = new SortTable($("#r-incidents"), incidentColumns, { sort: "first", dir: 1, onOpen: openIncident, rowClass });

  let incidentsQueued = false;
  function scheduleIncidents() {
    if (incidentsQueued) return;
    incidentsQueued = true;
    requestAnimationFrame(() => { incidentsQueued = false; renderIncidents(); });
  }
  function renderIncidents() {
    const q = $("#inc-filter").value.trim().toLowerCase();
    const minSev = Number($("#inc-severity").value);
    const onlyOpen = $("#inc-open").checked;
    const all = [...state.incidents.values()];
    const rows = all.filter((i) => SEV[i.severity] >= minSev && (!onlyOpen || i.open) &&
      (!q || [i.attacker, i.family, i.id, ...Object.keys(i.labels || {}), ...(i.victims || []).map((v) => v.address)].some((s) => String(s).toLowerCase().includes(q))));
    incidentTable.set(rows);
    $("#inc-count").textContent = rows.length === all.length ? fmt(all.length) + " incidents" : fmt(rows.length) + " of " + fmt(all.length) + " incidents";
    $("#inc-empty").hidden = all.length > 0;
    $("#incident-table").hidden = all.length === 0;
    const open = all.filter((i) => i.open).length;
    $("#incident-badge").textContent = String(open || all.length);
    $("#incident-badge").classList.toggle("quiet", open === 0);
    $("#incident-badge").title = open ? open + " open incidents" : all.length + " incidents, none open";
  }
  $("#inc-filter").addEventListener("input", debounce(renderIncidents, 120));
  $("#inc-severity").addEventListener("change", renderIncidents);
  $("#inc-open").addEventListener("change", renderIncidents);

  function upsertIncident(inc, uploadId) {
    state.incidents.set(inc.id, inc);
    fresh.set(inc.id, Date.now());
    if (uploadId) state.incidentUpload.set(inc.id, uploadId);
    scheduleIncidents();
    if (current.view === "incident" && current.arg === inc.id) scheduleIncidentPage();
  }

  // ---------------------------------------------------------------------------------------------
  // Incident page
  let incidentFlows = null; // {id, uploadId, table}
  let pageQueued = false;
  function scheduleIncidentPage() {
    if (pageQueued) return;
    pageQueued = true;
    setTimeout(() => { pageQueued = false; if (current.view === "incident") showIncident(current.arg, true); }, 500);
  }

  async function showIncident(id, refresh = false) {
    let inc = state.incidents.get(id);
    if (!inc) {
      try { inc = await api("/api/incidents/" + encodeURIComponent(id)); state.incidents.set(id, inc); } catch (e) {
        $("#inc-page").hidden = true;
        $("#inc-missing").hidden = false;
        $("#inc-missing").textContent = e.status === 404 ? "No incident “" + id + "” on this server (it may have been forgotten)." : "Could not load the incident: " + e.message;
        return;
      }
    }
    $("#inc-page").hidden = false;
    $("#inc-missing").hidden = true;
    const sev = $("#ip-sev");
    sev.className = "sev sev-" + inc.severity;
    sev.textContent = inc.severity;
    $("#ip-title").textContent = inc.family + (byVictim(inc) ? " against " + victimOf(inc) + " from " + sourcesText(inc) : " from " + inc.attacker);
    $("#ip-state").className = "state " + (inc.open ? "open" : "closed");
    $("#ip-state").textContent = inc.open ? "open" : "closed";
    $("#ip-id").textContent = "incident " + inc.id + " · " + inc.mode + " mode";
    clear($("#ip-labels")).append(...Object.entries(inc.labels).sort((a, b) => b[1] - a[1]).map(([l, n]) => {
      const c = h("span", { class: "chip" }, h("span", { class: "dot" }), l + " × " + fmt(n));
      c.firstChild.style.background = colour(l);
      return c;
    }));
    const dl = clear($("#ip-facts"));
    fact(dl, "attacker", h("span", { class: "mono" }, byVictim(inc) ? sourcesText(inc) + " (first: " + inc.attacker + ")" : inc.attacker));
    fact(dl, "victims", fmt(victimCount(inc)));
    fact(dl, "first seen", fmtTime(inc.first_seen_us) + " UTC");
    fact(dl, "last seen", fmtTime(inc.last_seen_us) + " UTC");
    fact(dl, "duration", fmtDur(inc.last_seen_us - inc.first_seen_us));
    fact(dl, "flows", fmt(inc.flows));
    fact(dl, "packets", fmt(inc.packets));
    fact(dl, "bytes", fmtBytes(inc.bytes));
    fact(dl, "attack score", "mean " + inc.mean_score.toFixed(3) + ", max " + inc.max_score.toFixed(3));
    fact(dl, "decided by", Object.entries(inc.stages).map(([s, n]) => s.replace("_", " ") + " (" + fmt(n) + ")").join(", "));

    const tl = incidentSeries(inc);
    if (tl.xs.length) stackedTime($("#ip-chart"), tl.xs, tl.series, tl.bucketS, "flows");
    else clear($("#ip-chart")).append(h("p", { class: "muted" }, "no timeline"));

    $("#ip-victims-note").textContent = inc.other_victims ? "and " + fmt(inc.other_victims) + " more not listed" : "";
    new SortTable($("#ip-victims"), [
      { key: "address", label: "address", value: (v) => v.address, cell: (v) => h("span", { class: "mono" }, v.address) },
      { key: "flows", label: "flows", num: true, value: (v) => v.flows, cell: (v) => fmt(v.flows) },
      { key: "ports", label: "distinct ports", num: true, value: (v) => v.ports, cell: (v) => fmt(v.ports) },
    ], { sort: "flows", dir: -1 }).set(inc.victims);

    const ev = clear($("#ip-evidence"));
    if (!inc.evidence.length) ev.append(h("li", { class: "muted" }, "none: the flow classifier decided these flows"));
    for (const e of inc.evidence) ev.append(h("li", null, h("code", null, e.detector), " ", e.summary, h("div", { class: "muted" }, "about " + e.host + (e.category ? " · " + e.category : ""))));

    const ft = $("#ip-features");
    if (inc.top_features.length) {
      const max = Math.max(...inc.top_features.map((f) => f.weight), 1e-9);
      new SortTable(ft, [
        { key: "feature", label: "feature", value: (f) => f.feature, cell: (f) => f.feature },
        { key: "weight", label: "mean |contribution|", num: true, value: (f) => f.weight, cell: (f) => { const b = h("span", { class: "bar pos" }); b.style.width = Math.round((f.weight / max) * 60) + "px"; return h("span", { class: "contrib" }, b, f.weight.toFixed(3)); } },
        { key: "flows", label: "flows explained", num: true, value: (f) => f.flows, cell: (f) => fmt(f.flows) },
      ], { sort: "weight", dir: -1 }).set(inc.top_features);
    } else clear(ft).append(h("tr", null, h("td", { class: "muted" }, "none: no flow-classifier explanations (host-behaviour verdicts have evidence instead)")));

    new SortTable($("#ip-samples"), [
      { key: "start", label: "start (UTC)", value: (f) => f.start_us, cell: (f) => fmtTime(f.start_us) },
      { key: "src", label: "source", value: (f) => f.src_ip, cell: (f) => h("span", { class: "mono" }, f.src_ip + ":" + f.src_port) },
      { key: "dst", label: "destination", value: (f) => f.dest_ip, cell: (f) => h("span", { class: "mono" }, f.dest_ip + ":" + f.dest_port) },
      { key: "proto", label: "proto", value: (f) => f.protocol, cell: (f) => proto(f.protocol) },
      { key: "packets", label: "packets", num: true, value: (f) => f.packets, cell: (f) => fmt(f.packets) },
      { key: "label", label: "label", value: (f) => f.label, cell: (f) => f.label },
      { key: "score", label: "score", num: true, value: (f) => f.attack_score, cell: (f) => f.attack_score.toFixed(3) },
      { key: "stage", label: "decided by", value: (f) => f.stage, cell: (f) => f.stage },
      { key: "cid", label: "Community ID", cell: (f) => h("code", null, f.community_id || "–") },
    ], { sort: "start", dir: 1, onOpen: openSample, rowClass: () => "attack" }).set(inc.sample_flows);

    // Its flows: built once per incident (or when its upload becomes known), not on every update.
    const uploadId = state.incidentUpload.get(inc.id) || null;
    if (!refresh || !incidentFlows || incidentFlows.id !== inc.id || incidentFlows.uploadId !== uploadId || (!inc.open && incidentFlows.open)) {
      incidentFlows = { id: inc.id, uploadId, open: inc.open };
      loadIncidentFlows(inc, uploadId);
    }
  }

  /** A sample flow opens as the upload's row when the page holds it (then it can be explained). */
  function openSample(f) {
    const src = ipTable.source;
    if (src instanceof LocalFlows && incidentFlows?.uploadId && state.upload?.server) {
      const row = src.rows.find((r) => r.community_id === f.community_id && r.src_port === f.src_port && parseUs(r.time) === f.start_us);
      if (row) return openFlow(row, incidentFlows.uploadId);
    }
    openFlow(f, null);
  }

  const ipTable = new VirtualTable($("#ip-flows"), FLOW_COLUMNS, {
    onOpen: (row) => openFlow(row, incidentFlows?.uploadId && state.upload?.server ? incidentFlows.uploadId : null),
    onSort: (k, d) => ipTable.source?.setQuery({ sort: k, dir: d > 0 ? "asc" : "desc" }),
  });
  $("#ip-flows-filter").addEventListener("input", debounce(() => { ipTable.body.scrollTop = 0; ipTable.source?.setQuery({ q: $("#ip-flows-filter").value.trim() }); }, 150));
  const ipCount = (src, note) => { $("#ip-flows-count").textContent = fmt(src.total) + " flows" + (note ? " · " + note : ""); };

  /** An incident's flows: the upload's attack flows from its attacker (to its victim, when it is
   *  grouped by victim), with its labels, in its time window. */
  async function loadIncidentFlows(inc, uploadId) {
    const labels = new Set(Object.keys(inc.labels));
    const inWindow = (f) => { const t = parseUs(f.time); return t >= inc.first_seen_us - 1 && t <= inc.last_seen_us + 1; };
    const ends = byVictim(inc) ? { param: "dst", value: victimOf(inc) } : { param: "src", value: inc.attacker };
    const mine = (f) => f.is_attack && (byVictim(inc) ? f.dst_ip === ends.value : f.src_ip === ends.value) && labels.has(f.label) && inWindow(f);
    $("#ip-flows-filter").value = "";
    ipTable.sortKey = null;
    ipTable.markSort();
    const up = state.upload;
    if (!uploadId || !up || up.uploadId !== uploadId) {
      $("#ip-flows-note").textContent = uploadId ? "(from an earlier upload: upload it again to list them)" : "(seen live: the sample flows above are what the server keeps)";
      const src = new LocalFlows([]);
      ipTable.setSource(src);
      ipCount(src);
      return;
    }
    $("#ip-flows-note").textContent = "from " + up.name;
    if (!up.server) {
      const src = new LocalFlows(up.report.flows.filter(mine));
      src.onCount = () => ipCount(src, up.report.flows_truncated ? "only the flows in the upload's answer" : "");
      ipTable.setSource(src);
      src.onCount();
      const orig = src.onChange; src.onChange = () => { orig(); src.onCount(); };
      return;
    }
    // Server-kept flows: fetch this attacker's attack flows (up to 20,000) and keep the incident's;
    // more than that stay paged on the server (attacker's attack flows, not cut to the window).
    const id = inc.id;
    const first = await api("/api/uploads/" + encodeURIComponent(uploadId) + "/flows?" + ends.param + "=" + encodeURIComponent(ends.value) + "&attacks_only=true&limit=5000").catch(() => null);
    if (incidentFlows?.id !== id) return;
    if (!first) { $("#ip-flows-note").textContent = "(the server no longer keeps this upload's flows)"; return; }
    let src;
    if (first.total <= 20000) {
      const rows = first.flows;
      for (let off = rows.length; off < first.total; off += 5000) {
        const p = await api("/api/uploads/" + encodeURIComponent(uploadId) + "/flows?" + ends.param + "=" + encodeURIComponent(ends.value) + "&attacks_only=true&limit=5000&offset=" + off);
        rows.push(...p.flows);
      }
      if (incidentFlows?.id !== id) return;
      src = new LocalFlows(rows.filter(mine));
    } else {
      src = new ServerFlows(uploadId, { [ends.param]: ends.value, attacks_only: true });
      await src.load();
      $("#ip-flows-note").textContent = "from " + up.name + ": every attack flow " + (byVictim(inc) ? "to " : "of ") + ends.value + " (paged from the server)";
    }
    ipTable.setSource(src);
    const orig = src.onChange;
    src.onChange = () => { orig(); ipCount(src); };
    ipCount(src);
  }

  // ---------------------------------------------------------------------------------------------
  // Upload
  const form = $("#upload-form");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); const f = $("#file").files[0]; if (f) upload(f); else status("choose a capture file first"); });
  form.addEventListener("dragover", (e) => { e.preventDefault(); form.classList.add("over"); });
  form.addEventListener("dragleave", () => form.classList.remove("over"));
  form.addEventListener("drop", (e) => { e.preventDefault(); form.classList.remove("over"); const f = e.dataTransfer.files[0]; if (f) upload(f); });
  const status = (t) => { $("#upload-status").textContent = t; };

  function upload(file) {
    const id = "ui-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
    state.pending = { id, size: file.size, name: file.name };
    $("#progress").hidden = false;
    $("#up-bar").value = 0; $("#cl-bar").value = 0; $("#cl-bar").removeAttribute("value");
    $("#up-text").textContent = "0 of " + fmtBytes(file.size);
    $("#cl-text").textContent = "waiting for the first bytes…";
    $("#upload-btn").disabled = true;
    status("uploading " + file.name + " (" + fmtBytes(file.size) + ")…");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/pcap?name=" + encodeURIComponent(file.name) + "&id=" + encodeURIComponent(id));
    for (const [k, v] of Object.entries(authHeaders)) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", "application/vnd.tcpdump.pcap");
    xhr.responseType = "text";
    const t0 = performance.now();
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      $("#up-bar").value = e.loaded / e.total;
      $("#up-text").textContent = fmtBytes(e.loaded) + " of " + fmtBytes(e.total) + " (" + Math.round((100 * e.loaded) / e.total) + "%)";
    };
    xhr.upload.onload = () => { $("#up-bar").value = 1; status("sent; the server is classifying " + file.name + "…"); };
    xhr.onerror = () => { finish(); status("failed: the connection broke"); };
    xhr.onload = () => {
      finish();
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      const done = (rep) => { $("#cl-text").textContent = fmtBytes(file.size) + " read · " + fmt(rep.summary.flows) + " flows · " + fmt(rep.summary.attacks) + " attack flows · done"; };
      if (xhr.status === 200 && body) {
        done(body);
        showReport(body, file.name);
        status("done in " + ((performance.now() - t0) / 1000).toFixed(1) + " s");
      } else if (body && body.partial) {
        done(body.partial);
        showReport(body.partial, file.name);
        status("partly read: " + body.error);
      } else {
        status("failed: " + ((body && body.error) || xhr.status + " " + xhr.statusText));
      }
    };
    xhr.send(file);
    function finish() {
      $("#upload-btn").disabled = false;
      $("#cl-bar").value = 1;
      state.pending = null;
    }
  }

  function onProgress(p) {
    const pend = state.pending;
    if (!pend || p.upload_id !== pend.id) return;
    $("#cl-bar").value = pend.size ? Math.min(1, p.bytes / pend.size) : 0;
    $("#cl-text").textContent = fmtBytes(p.bytes) + " read · " + fmt(p.flows) + " flows · " + fmt(p.attacks) + " attack flows" + (p.done ? " · finishing" : "");
  }

  function kvTable(el, head, rows) {
    clear(el).append(h("tr", null, head.map((x, i) => h("th", { class: i ? "num" : null }, x))),
      ...rows.map((r) => h("tr", null, r.map((c, i) => h("td", { class: i ? "num" : "mono-ish" }, fmt(c))))));
  }

  /** Show an upload's answer (also used by the browser test to inject a large result). */
  async function showReport(rep, name) {
    const up = { report: rep, name: name || rep.source, uploadId: rep.upload_id || null, server: false };
    state.upload = up;
    for (const inc of rep.incidents || []) upsertIncident(inc, up.uploadId || "local:" + up.name);
    if (!up.uploadId) up.uploadId = "local:" + up.name;
    if (location.hash !== "#upload") location.hash = "#upload";
    $("#result").hidden = false;
    const s = rep.summary;
    $("#r-name").textContent = up.name;
    $("#c-flows").textContent = fmt(s.flows);
    $("#c-attacks").textContent = fmt(s.attacks);
    $("#c-incidents").textContent = fmt((rep.incidents || []).length);
    $("#c-packets").textContent = fmt(rep.packets.read);
    $("#c-skipped").textContent = fmt(rep.packets.read - rep.packets.decoded);
    uploadIncidents.set(rep.incidents || []);

    // Family of each label, from the incidents (a label no incident has is its own family).
    const familyOf = new Map();
    for (const inc of rep.incidents || []) for (const l of Object.keys(inc.labels)) familyOf.set(l, inc.family);
    const fam = familySeries(rep.incidents || []);
    if (fam) stackedTime($("#r-timeline"), fam.xs, fam.series, fam.bucketS, "attack flows");
    else if (rep.timeline && rep.timeline.length) {
      const labels = [...new Set(rep.timeline.flatMap((b) => Object.keys(b.attacks)))].sort();
      stackedTime($("#r-timeline"), rep.timeline.map((b) => parseUs(b.minute) / 1e6),
        labels.map((l) => ({ name: l, values: rep.timeline.map((b) => b.attacks[l] || 0) })), 60, "attack flows / min");
    } else clear($("#r-timeline")).append(h("p", { class: "muted" }, "no attack flows"));

    const byFamily = new Map();
    for (const inc of rep.incidents || []) byFamily.set(inc.family, (byFamily.get(inc.family) || 0) + inc.flows);
    const fams = [...byFamily.entries()].sort((a, b) => b[1] - a[1]);
    if (fams.length) categoryBars($("#r-families"), fams.map((f) => f[0]), fams.map((f) => f[1]));
    else clear($("#r-families")).append(h("p", { class: "muted" }, "no incidents"));
    kvTable($("#by-label"), ["label", "family", "flows"], Object.entries(s.by_label).sort((a, b) => b[1] - a[1]).map(([l, n]) => [l, familyOf.get(l) || (l === "Benign" ? "–" : l), n]));
    kvTable($("#attackers"), ["address", "attack flows"], s.top_attackers);
    kvTable($("#victims"), ["address", "attack flows"], s.top_victims);
    $("#r-flows-link").textContent = "All " + fmt(s.flows) + " flows →";

    // Flows: paged from the server when it keeps this upload's, else the answer's list.
    if (rep.upload_id) {
      try {
        await api("/api/uploads/" + encodeURIComponent(rep.upload_id) + "/flows?limit=1");
        up.server = true;
      } catch { up.server = false; }
    }
    if (state.upload !== up) return;
    flowsView.reset();
    if (current.view === "incident") showIncident(current.arg);
  }

  // ---------------------------------------------------------------------------------------------
  // Flows view
  const flowsView = {
    table: new VirtualTable($("#flows"), FLOW_COLUMNS, {
      onOpen: (row) => openFlow(row, state.upload?.server ? state.upload.uploadId : null),
      onSort: (k, d) => flowsView.query({ sort: k, dir: d > 0 ? "asc" : "desc" }),
    }),
    upload: null,
    source: null,
    reset() { this.upload = null; if (current.view === "flows") this.show(); },
    show() {
      const up = state.upload;
      $("#flows-none").hidden = !!up;
      $("#flows-main").hidden = !up;
      if (!up || this.upload === up) { this.table.render(); return; }
      this.upload = up;
      $("#flow-filter").value = "";
      $("#attacks-only").checked = false;
      this.table.sortKey = null;
      this.table.markSort();
      const src = up.server ? new ServerFlows(up.uploadId) : new LocalFlows(up.report.flows);
      this.source = src;
      this.table.setSource(src);
      const orig = src.onChange;
      src.onChange = () => { orig(); this.count(); };
      src.onError = (e) => { $("#flow-count").textContent = "could not load flows: " + e.message; };
      if (up.server) src.setQuery({}); else this.count();
    },
    query(q) { this.table.body.scrollTop = 0; this.source?.setQuery(q); this.count(); },
    count() {
      const up = state.upload, src = this.source;
      if (!up || !src) return;
      const all = up.report.summary.flows;
      let t = fmt(src.total) + " flows";
      if (src.total !== all) t += " of " + fmt(all);
      t += up.server ? " · paged from the server" : " · in this page";
      if (!up.server && up.report.flows_truncated) t += " (the answer lists the first " + fmt(up.report.flows.length) + ")";
      if (src.notKept) t += " · " + fmt(src.notKept) + " not kept by the server";
      $("#flow-count").textContent = t;
    },
  };
  $("#flow-filter").addEventListener("input", debounce(() => flowsView.query({ q: $("#flow-filter").value.trim() }), 150));
  $("#attacks-only").addEventListener("change", () => flowsView.query({ attacks_only: $("#attacks-only").checked }));

  // ---------------------------------------------------------------------------------------------
  // Live: the WebSocket (incidents and upload progress always; per-flow alerts when asked for).
  const alertsOn = $("#alerts-on");
  alertsOn.checked = localStorage.getItem("mlids-alerts") === "1";
  let ws = null, wsDelay = 500, unseen = 0;
  function connect() {
    const events = "incidents,progress" + (alertsOn.checked ? ",alerts" : "");
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/alerts?events=" + events + (token ? "&token=" + encodeURIComponent(token) : "");
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => {
      $("#conn").textContent = "live";
      $("#conn").classList.add("up");
      $("#conn").dataset.events = events;
      $("#conn").title = "WebSocket events: " + events;
      wsDelay = 500;
    };
    sock.onclose = () => {
      if (ws !== sock) return; // replaced on purpose
      $("#conn").textContent = "disconnected, retrying…";
      $("#conn").classList.remove("up");
      setTimeout(connect, wsDelay);
      wsDelay = Math.min(wsDelay * 2, 10000);
    };
    sock.onmessage = (m) => {
      let a;
      try { a = JSON.parse(m.data); } catch { return; }
      switch (a.type) {
        case "hello": return;
        case "lagged":
          if (a.missed) queueAlert({ lagged: a.missed });
          return;
        case "incident.opened": case "incident.updated": case "incident.closed":
          upsertIncident(a.incident);
          logEvent(a.type, a.incident);
          return;
        case "upload.progress": onProgress(a); return;
        case undefined: queueAlert(a); return;
        default: return;
      }
    };
  }
  alertsOn.addEventListener("change", () => {
    localStorage.setItem("mlids-alerts", alertsOn.checked ? "1" : "0");
    const old = ws;
    connect();
    old?.close();
  });

  const events = [];
  let eventsQueued = false;
  function logEvent(type, inc) {
    events.unshift({ type, inc, at: new Date() });
    if (events.length > 200) events.length = 200;
    if (eventsQueued) return;
    eventsQueued = true;
    requestAnimationFrame(() => { eventsQueued = false; eventTable.set(events.slice(0, 50)); });
  }
  const eventTable = new SortTable($("#event-table"), [
    { key: "at", label: "received", cell: (e) => e.at.toISOString().slice(11, 19) },
    { key: "type", label: "event", cell: (e) => e.type.replace("incident.", "") },
    { key: "sev", label: "severity", cell: (e) => sevBadge(e.inc.severity) },
    { key: "fam", label: "family", cell: (e) => e.inc.family },
    { key: "who", label: "attacker → victims", cell: (e) => e.inc.attacker + " → " + victimCount(e.inc) },
    { key: "flows", label: "flows", num: true, cell: (e) => fmt(e.inc.flows) },
  ], { onOpen: (e) => openIncident(e.inc) });

  // Alerts arrive in bursts (a scan is thousands): queue them and draw once per frame.
  const alertQueue = [];
  let alertsQueued = false;
  function queueAlert(a) {
    alertQueue.push(a);
    if (alertsQueued) return;
    alertsQueued = true;
    requestAnimationFrame(flushAlerts);
  }
  function flushAlerts() {
    alertsQueued = false;
    const min = parseFloat($("#min-score").value || "0");
    const tb = $("#alert-table tbody");
    const frag = document.createDocumentFragment();
    let added = 0;
    for (const a of alertQueue.splice(0).slice(-1000).reverse()) {
      if (a.lagged) { frag.append(h("tr", null, h("td", { colspan: 8, class: "muted" }, fmt(a.lagged) + " alerts missed (this page was too slow)"))); continue; }
      if (a.attack_score < min) continue;
      const why = a.evidence ? a.evidence.summary : (a.top_features || []).map((f) => f.feature).join(", ");
      frag.append(h("tr", { class: "attack" }, h("td", null, a.time), h("td", null, a.source), h("td", { class: "mono" }, a.src_ip + ":" + a.src_port),
        h("td", { class: "mono" }, a.dst_ip + ":" + a.dst_port), h("td", null, proto(a.protocol)), h("td", null, a.label),
        h("td", { class: "num" }, a.attack_score.toFixed(3)), h("td", { class: "why" }, why)));
      added++;
    }
    tb.prepend(frag);
    while (tb.rows.length > 1000) tb.deleteRow(-1);
    if (current.view !== "live" && added) {
      unseen += added;
      $("#alert-badge").hidden = false;
      $("#alert-badge").textContent = fmt(unseen);
    }
  }
  $("#clear-alerts").addEventListener("click", () => { clear($("#alert-table tbody")); });

  // ---------------------------------------------------------------------------------------------
  // Model
  function loadModel() {
    Promise.all([api("/api/model"), api("/healthz").catch(() => ({}))]).then(([m, health]) => {
      $("#manifest").textContent = JSON.stringify(m, null, 2);
      // Every served bundle: /api/predictions sends rows to the one of their extractor mode.
      const served = (health.models || []).map((b) => b.name + " (" + b.mode + ", " + b.task + ", " + b.features + " features)").join("; ");
      const rows = [["served bundles", served || "one"], ["task (primary)", m.task], ["extractor mode", m.mode || m.extractor_mode], ["features", (m.features || []).length],
        ["labels", (m.labels || []).map((l) => l.name || l).join(", ")], ["decision threshold", m.threshold ?? (m.decision && m.decision.threshold)]];
      const t = h("table", { class: "data kv" }, rows.map((r) => h("tr", null, h("th", null, r[0]), h("td", null, r[1] ?? ""))));
      const info = clear($("#model-info"));
      info.append(t);
      if (m.metrics) info.append(h("h3", null, "Metrics"), h("pre", null, JSON.stringify(m.metrics, null, 2)));
    }).catch((e) => { $("#model-info").textContent = "could not load the model: " + e.message; });
  }

  // ---------------------------------------------------------------------------------------------
  // Routing: #incidents, #incident/ID, #upload, #flows, #live, #model.
  const current = { view: null, arg: null };
  function route() {
    const [view, ...rest] = (location.hash.slice(1) || "incidents").split("/");
    const v = ["incidents", "incident", "upload", "flows", "live", "model"].includes(view) ? view : "incidents";
    current.view = v;
    current.arg = decodeURIComponent(rest.join("/"));
    for (const s of $$(".view")) s.classList.toggle("active", s.id === "view-" + v);
    for (const a of $$("nav a")) {
      const on = a.dataset.view === (v === "incident" ? "incidents" : v);
      a.classList.toggle("active", on);
      if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    if (v === "incidents") renderIncidents();
    window.scrollTo(0, 0);
    if (v === "incident") showIncident(current.arg);
    if (v === "flows") flowsView.show();
    if (v === "live") { unseen = 0; $("#alert-badge").hidden = true; }
    if (v === "model" && !$("#manifest").textContent) loadModel();
    // Charts drawn while their view was hidden take their width now.
    requestAnimationFrame(() => { for (const [el, u] of charts) if (el.clientWidth && Math.abs(el.clientWidth - u.width) > 2) u.setSize({ width: el.clientWidth, height: u.height }); });
  }
  window.addEventListener("hashchange", route);
  for (const el of $$(".chart")) resizer.observe(el);

  // Start: what the server already knows, then live events.
  route();
  connect();
  api("/api/incidents?limit=1000").then((list) => { for (const i of list) if (!state.incidents.has(i.id)) state.incidents.set(i.id, i); renderIncidents(); })
    .catch((e) => { $("#inc-count").textContent = "could not load incidents: " + e.message; });

  // For tests and the curious: the page's own entry points.
  window.mlids = { showReport, state, openIncident, flowsTable: () => flowsView.table };
})();
