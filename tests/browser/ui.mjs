// End-to-end tests of the web UI in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core).
//   1. Upload the sample capture, wait for its incidents, check the port scan is one incident of
//      4,000 flows, open it (timeline chart with legend, victims, its flows, a flow's explanation),
//      the flows view (filter, sort), the live view (an alert arriving) and the model page; save
//      screenshots into docs/img/ (the README shows them).
//   2. A 100,000-flow capture (synthesised here) uploaded to a server that keeps them all: the
//      flows view pages them from the server, and a 100k-row result held by the page itself; in
//      both a click on a sort header or a row must be answered within 1 s.
// Env: MLIDS_BIN (ml-ids binary), MLIDS_MODEL (default models/default), SAMPLE (default
// samples/demo.pcap), CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (default docs/img; "" = none).
import { createRequire } from "node:module";
// ESM imports ignore NODE_PATH; CommonJS resolution honours it, so ./run can keep playwright-core in
// its cache folder instead of the source tree.
const { chromium } = createRequire(import.meta.url)("playwright-core");
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, statSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { synthPcap } from "./synth-pcap.mjs";

const bin = process.env.MLIDS_BIN || "target/debug/ml-ids";
const model = process.env.MLIDS_MODEL || "models/default";
const sample = process.env.SAMPLE || "samples/demo.pcap";
const shots = process.env.SCREENSHOTS ?? fileURLToPath(new URL("../../docs/img/", import.meta.url));
const LATENCY_MS = 1000;
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + " s";

function fail(msg) {
  console.error("browser test FAILED: " + msg);
  process.exitCode = 1;
  throw new Error(msg);
}
const num = (s) => Number(String(s).replace(/[^0-9]/g, ""));

const servers = [];
async function serve(...extra) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const proc = spawn(bin, ["serve", "--model", model, "--bind", `127.0.0.1:${port}`, ...extra], { stdio: ["ignore", "inherit", "inherit"] });
  servers.push(proc);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const i = extra.indexOf("--token");
    const headers = i >= 0 ? { Authorization: "Bearer " + extra[i + 1] } : {};
    try { if ((await fetch(base + "/healthz", { headers })).ok) return base; } catch {}
    if (i > 120 || proc.exitCode != null) fail("server did not start");
    await sleep(250);
  }
}

async function shot(page, name, opts = {}) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  const path = join(shots, name);
  await page.screenshot({ path, ...opts });
  const kb = Math.round(statSync(path).size / 1024);
  console.log(`  screenshot ${path} (${kb} KB)`);
  if (kb > 300) console.warn(`  WARNING: ${name} is ${kb} KB; keep the committed screenshots under 300 KB`);
}

/** Run `act`, then wait until `done` holds in the page; the time both took, checked against 1 s. */
async function answered(page, what, act, done, arg) {
  const start = Date.now();
  await act();
  await page.waitForFunction(done, arg, { timeout: 10000, polling: "raf" });
  const ms = Date.now() - start;
  console.log(`  ${what}: answered in ${ms} ms`);
  if (ms > LATENCY_MS) fail(`${what} took ${ms} ms (more than ${LATENCY_MS} ms)`);
  return ms;
}

let browser;
const tmp = mkdtempSync(join(tmpdir(), "mlids-ui-"));
try {
  const token = "ui-test-" + Math.random().toString(36).slice(2) + "0123456789abcdef";
  const [base, bigBase, tokenBase] = await Promise.all([serve(), serve("--max-response-flows", "100000"), serve("--token", token)]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  const errors = [];
  const newPage = async (url) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on("pageerror", (e) => errors.push(e.message));
    // A script, style or connection the CSP refused, or an asset that failed, shows here.
    page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
    await page.goto(url);
    if ((await page.title()) !== "ml-ids") fail("unexpected title");
    await page.waitForSelector("#conn.up", { timeout: 10000 });
    return page;
  };

  // ---- 1. The sample capture -----------------------------------------------------------------
  console.log("sample capture (" + secs() + ")");
  const page = await newPage(base + "/");
  await page.click("#tab-upload");
  await page.setInputFiles("#file", sample);
  await page.click("#upload-btn");
  await page.waitForSelector("#result:not([hidden])", { timeout: 60000 });
  if ((await page.getAttribute("#up-bar", "value")) !== "1") fail("the upload progress bar did not reach the end");
  const flows = num(await page.textContent("#c-flows"));
  const attacks = num(await page.textContent("#c-attacks"));
  if (!(flows > 0 && attacks > 0)) fail(`no flows or attacks in the summary (${flows}, ${attacks})`);
  // Charts of the upload: attacks over time per family, and by family.
  for (const id of ["#r-timeline", "#r-families"]) {
    if (!(await page.locator(id + " canvas").count())) fail(id + ": no chart");
  }
  const famLegend = await page.locator("#r-timeline .u-legend .u-series").allTextContents();
  if (!famLegend.some((t) => t.includes("PortScan")) || !famLegend.some((t) => t.includes("BruteForce"))) fail("per-family legend incomplete: " + famLegend.join(" | "));
  await page.waitForTimeout(1600); // let the update highlight fade before the screenshot
  await shot(page, "ui-upload.png", { fullPage: true });

  // The incidents list (live from the WebSocket and the upload's answer).
  await page.click("#tab-incidents");
  await page.waitForFunction(() => document.querySelectorAll("#incident-table tbody tr").length >= 4, null, { timeout: 10000 });
  const rows = await page.locator("#incident-table tbody tr").allTextContents();
  const scans = rows.filter((r) => r.includes("PortScan") && r.includes("10.77.0.101"));
  if (scans.length !== 1) fail(`the port scan should be one incident, found ${scans.length}: ${rows.join(" | ")}`);
  if (!scans[0].includes("4,000")) fail("the port scan incident does not have 4,000 flows: " + scans[0]);
  for (const who of ["10.77.0.102", "10.77.0.103", "10.77.0.104"]) {
    if (!rows.some((r) => r.includes(who))) fail("no incident from " + who);
  }
  console.log(`  ${flows} flows, ${attacks} attack flows, ${rows.length} incidents`);
  // Sorting the list by flows puts the scan first.
  await page.click('#incident-table th[data-k="flows"]');
  if (!(await page.textContent("#incident-table tbody tr:first-child")).includes("10.77.0.101")) fail("sorting incidents by flows");
  await page.waitForTimeout(1600); // let the update highlight fade before the screenshot
  await page.setViewportSize({ width: 1400, height: 400 }); // the list is short: no empty screen below it
  await shot(page, "ui-incidents.png", { fullPage: true });
  await page.setViewportSize({ width: 1400, height: 900 });

  // One incident: timeline, victims, evidence, flows.
  await page.click("#incident-table tbody tr:has-text('10.77.0.101')");
  await page.waitForSelector("#view-incident.active #ip-chart canvas", { timeout: 5000 });
  const title = await page.textContent("#ip-title");
  if (title !== "PortScan from 10.77.0.101") fail("incident title: " + title);
  const legend = await page.locator("#ip-chart .u-legend .u-series").allTextContents();
  if (legend.length < 2 || !legend.some((t) => t.includes("PortScan") && t.includes("4,000"))) fail("timeline legend: " + legend.join(" | "));
  if (!(await page.textContent("#ip-victims")).includes("10.77.0.10")) fail("victim 10.77.0.10 not listed");
  if (!(await page.textContent("#ip-evidence")).includes("scan.trw")) fail("no scan evidence");
  await page.waitForFunction(() => /^4,000 flows/.test(document.querySelector("#ip-flows-count").textContent), null, { timeout: 10000 });
  const firstFlow = await page.textContent("#ip-flows .vt-row:not([hidden])");
  if (!firstFlow.includes("10.77.0.101") || !firstFlow.includes("PortScan")) fail("the incident's flows: " + firstFlow);
  const domRows = await page.locator("#ip-flows .vt-row").count();
  if (domRows > 60) fail(`the incident's flow table drew ${domRows} rows for 4,000 flows (not virtualised)`);
  await shot(page, "ui-incident.png", { fullPage: true });
  // A flow's detail: its features and an explanation computed on request.
  await page.click("#ip-flows .vt-row:not([hidden]) >> nth=1");
  await page.waitForFunction(() => document.querySelectorAll("#fd-why tr").length > 1 && document.querySelectorAll("#fd-features tr").length > 10, null, { timeout: 10000 });
  await page.keyboard.press("Escape");

  // The flows view: filter and sort, a flow opened.
  await page.click("#tab-flows");
  await page.waitForFunction((n) => document.querySelector("#flow-count").textContent.startsWith(n), flows.toLocaleString("en-US"), { timeout: 10000 });
  await page.fill("#flow-filter", "10.77.0.102");
  await page.waitForFunction(() => { const r = document.querySelector("#flows .vt-row:not([hidden]):not(.loading)"); return r && r.textContent.includes("10.77.0.102") && /^\d+ flows of/.test(document.querySelector("#flow-count").textContent); }, null, { timeout: 5000 });
  await page.fill("#flow-filter", "");
  await page.check("#attacks-only");
  await page.click('#flows .vt-th[data-k="attack_score"]');
  await page.waitForFunction(() => document.querySelector('#flows .vt-th[data-k="attack_score"]').getAttribute("aria-sort") === "descending", null, { timeout: 5000 });
  await page.waitForFunction(() => { const r = [...document.querySelectorAll("#flows .vt-row:not([hidden])")]; return r.length > 5 && r.every((x) => x.classList.contains("attack")); }, null, { timeout: 5000 });
  await page.click("#flows .vt-row:not([hidden]) >> nth=3");
  await page.waitForFunction(() => document.querySelectorAll("#fd-why tr").length > 1, null, { timeout: 10000 });
  await shot(page, "ui-flows.png");
  await page.keyboard.press("Escape");

  // Live: incident events were logged; per-flow alerts are opt-in and arrive live.
  await page.click("#tab-live");
  if (!(await page.locator("#event-table tbody tr").count())) fail("no incident events in the live view");
  await page.check("#alerts-on");
  await page.waitForSelector('#conn.up[data-events*="alerts"]', { timeout: 10000 });
  const alert = { time: "2026-01-01T00:00:00.000000Z", src_ip: "192.0.2.66", src_port: 4444, dst_ip: "192.0.2.1", dst_port: 22,
    protocol: 6, label: "SSH-Bruteforce", probability: 0.97, attack_score: 0.97, source: "browser-test" };
  const r = await fetch(base + "/api/alerts", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alert) });
  if (!r.ok) fail("POST /api/alerts failed: " + r.status);
  await page.waitForFunction(() => (document.querySelector("#alert-table tbody tr")?.textContent || "").includes("192.0.2.66"), null, { timeout: 5000 });
  const top = await page.textContent("#alert-table tbody tr:first-child");
  if (!top.includes("browser-test")) fail("live alert not shown: " + top);
  await page.uncheck("#alerts-on");

  // Model page.
  await page.click("#tab-model");
  await page.waitForFunction(() => document.querySelector("#manifest").textContent.includes("features"), null, { timeout: 5000 });
  const info = await page.textContent("#model-info");
  if (!info.includes("served bundles") || !info.includes("(corrected, multiclass")) fail("served bundles not shown: " + info);
  await page.close();

  // ---- A server with a token: /?token= opens the UI, its assets, API calls and WebSocket. ----
  console.log("with a token (" + secs() + ")");
  if ((await fetch(tokenBase + "/ui/app.js")).status !== 401) fail("the token server serves its UI without the token");
  const pageT = await newPage(tokenBase + "/?token=" + encodeURIComponent(token));
  await pageT.waitForFunction(() => /incidents|No incidents/.test(document.querySelector("#view-incidents").textContent) && !/could not/.test(document.querySelector("#inc-count").textContent), null, { timeout: 5000 });
  await pageT.click("#tab-model");
  await pageT.waitForFunction(() => document.querySelector("#manifest").textContent.includes("features"), null, { timeout: 5000 });
  await pageT.click("#tab-upload");
  await pageT.setInputFiles("#file", sample);
  await pageT.click("#upload-btn");
  await pageT.waitForSelector("#result:not([hidden])", { timeout: 60000 });
  await pageT.close();

  // ---- 2. 100,000 flows ----------------------------------------------------------------------
  console.log("100,000 flows, paged from the server (" + secs() + ")");
  const big = join(tmp, "100k.pcap");
  writeFileSync(big, synthPcap(100000));
  const page2 = await newPage(bigBase + "/#upload");
  await page2.setInputFiles("#file", big);
  const up0 = Date.now();
  await page2.click("#upload-btn");
  // The server's progress arrives while it classifies.
  await page2.waitForFunction(() => / flows · /.test(document.querySelector("#cl-text").textContent), null, { timeout: 60000 });
  await page2.waitForSelector("#result:not([hidden])", { timeout: 120000 });
  console.log(`  uploaded and classified in ${((Date.now() - up0) / 1000).toFixed(1)} s`);
  if (num(await page2.textContent("#c-flows")) !== 100000) fail("expected 100,000 flows: " + (await page2.textContent("#c-flows")));
  await page2.click("#tab-flows");
  await page2.waitForFunction(() => document.querySelector("#flow-count").textContent.startsWith("100,000 flows") && document.querySelector("#flow-count").textContent.includes("server"), null, { timeout: 10000 });
  await bigChecks(page2, "server");

  console.log("100,000 flows held by the page (" + secs() + ")");
  await page2.evaluate(() => {
    const flows = [];
    for (let i = 0; i < 100000; i++) {
      const a = i % 10 === 0;
      flows.push({ index: i, time: new Date(1780000000000 + i).toISOString().replace("Z", "000Z"), src_ip: "10.9." + ((i >> 8) & 255) + "." + (i & 255), src_port: 1024 + (i % 60000),
        dst_ip: "10.8.0." + (i % 50), dst_port: a ? 22 : 443, protocol: 6, community_id: null, packets: 2 + (i % 17), bytes: (i * 7919) % 100000, duration_us: (i * 104729) % 9e6,
        termination: "fin", label: a ? "SSH-Bruteforce" : "Benign", probability: 0.9, attack_score: a ? 0.5 + (i % 500) / 1000 : (i % 100) / 1000, is_attack: a });
    }
    window.mlids.showReport({ source: "synthetic", mode: "corrected", packets: { read: 200000, decoded: 200000, skipped: {} },
      summary: { flows: 100000, attacks: 10000, by_label: { Benign: 90000, "SSH-Bruteforce": 10000 }, top_attackers: [], top_victims: [] },
      timeline: [], incidents: [], flows, flows_truncated: false }, "synthetic-100k");
  });
  await page2.click("#tab-flows");
  await page2.waitForFunction(() => /^100,000 flows · in this page/.test(document.querySelector("#flow-count").textContent), null, { timeout: 10000 });
  await bigChecks(page2, "page");
  await answered(page2, "attacks-only filter over 100k rows (page)", () => page2.check("#attacks-only"),
    () => /^10,000 flows of 100,000/.test(document.querySelector("#flow-count").textContent));
  await page2.close();

  if (errors.length) fail("JavaScript errors: " + errors.join("; "));
  console.log(`browser test passed (${secs()})`);
} finally {
  if (browser) await browser.close();
  for (const s of servers) s.kill();
  rmSync(tmp, { recursive: true, force: true });
}

/** Scroll a 100k-row flows view, sort it, open a row: each answered within 1 s, rows virtualised. */
async function bigChecks(page, where) {
  const visible = () => { const r = document.querySelector("#flows .vt-row:not([hidden]):not(.loading)"); return r && r.children[0].textContent; };
  // Scroll to the middle and to the end.
  for (const frac of [0.5, 1]) {
    await answered(page, `scroll to ${frac * 100}% (${where})`, () => page.evaluate((f) => { const b = document.querySelector("#flows .vt-body"); b.scrollTop = f * (b.scrollHeight - b.clientHeight); }, frac),
      (f) => { const b = document.querySelector("#flows .vt-body"); const rows = [...b.querySelectorAll(".vt-row:not([hidden])")]; const first = Math.floor(b.scrollTop / 26);
        return rows.some((r) => Number(r.dataset.i) >= first && !r.classList.contains("loading")) && (f < 1 || rows.some((r) => r.getAttribute("aria-rowindex") === "100000" && !r.classList.contains("loading"))); }, frac);
  }
  const domRows = await page.locator("#flows .vt-row").count();
  if (domRows > 80) fail(`${domRows} row elements for 100k flows (not virtualised)`);
  // Sort by score, highest first: the header answers and the rows are redrawn from the top.
  const before = await page.evaluate(visible);
  await answered(page, `sort 100k flows by score (${where})`, () => page.click('#flows .vt-th[data-k="attack_score"]'),
    (b) => { const th = document.querySelector('#flows .vt-th[data-k="attack_score"]'); const r = document.querySelector("#flows .vt-row:not([hidden]):not(.loading)");
      return th.getAttribute("aria-sort") === "descending" && r && r.dataset.i === "0" && r.children[0].textContent !== b; }, before);
  const s = await page.$$eval("#flows .vt-row:not([hidden]):not(.loading)", (rs) => rs.slice(0, 10).map((r) => Number(r.children[9].textContent)));
  for (let i = 1; i < s.length; i++) if (s[i] > s[i - 1]) fail(`not sorted by score (${where}): ${s.join(", ")}`);
  // Open a row: its detail answers.
  await answered(page, `open a flow of 100k (${where})`, () => page.click("#flows .vt-row:not([hidden]):not(.loading) >> nth=4"),
    () => !document.querySelector("#flow-detail").hidden && /^Flow #/.test(document.querySelector("#fd-title").textContent));
  await page.keyboard.press("Escape");
  // Typing a filter: the count follows (debounced; not a click, so logged rather than bounded to 1 s).
  const t = Date.now();
  await page.fill("#flow-filter", where === "server" ? "10.1.3.7" : "10.9.3.7");
  await page.waitForFunction(() => / flows of 100,000/.test(document.querySelector("#flow-count").textContent), null, { timeout: 10000 });
  console.log(`  filter 100k flows by address (${where}): ${Date.now() - t} ms`);
  await page.fill("#flow-filter", "");
}
