// End-to-end test of the web UI in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): upload the sample capture, see the summary and attack rows in the flow table,
// watch an alert arrive live over the WebSocket, open the model page.
// Env: MLIDS_BIN (ml-ids binary), MLIDS_MODEL (default models/default), SAMPLE (default
// samples/demo.pcap), CHROMIUM (default /usr/bin/chromium), SCREENSHOT (optional PNG path).
import { createRequire } from "node:module";
// ESM imports ignore NODE_PATH; CommonJS resolution honours it, so ./run can keep playwright-core in
// its cache folder instead of the source tree.
const { chromium } = createRequire(import.meta.url)("playwright-core");
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const bin = process.env.MLIDS_BIN || "target/debug/ml-ids";
const model = process.env.MLIDS_MODEL || "models/default";
const sample = process.env.SAMPLE || "samples/demo.pcap";
const port = 30000 + Math.floor(Math.random() * 10000);
const base = `http://127.0.0.1:${port}`;

function fail(msg) {
  console.error("browser test FAILED: " + msg);
  process.exitCode = 1;
  throw new Error(msg);
}

const server = spawn(bin, ["serve", "--model", model, "--bind", `127.0.0.1:${port}`], { stdio: ["ignore", "inherit", "inherit"] });
let browser;
try {
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + "/healthz")).ok) break; } catch {}
    if (i > 120) fail("server did not start");
    await sleep(500);
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + "/");
  if ((await page.title()) !== "ml-ids") fail("unexpected title");
  await page.waitForSelector("#conn.up", { timeout: 10000 });

  // Upload the sample capture.
  await page.setInputFiles("#file", sample);
  await page.click("#upload-btn");
  await page.waitForSelector("#result:not([hidden])", { timeout: 60000 });
  const flows = Number((await page.textContent("#c-flows")).replace(/[^0-9]/g, ""));
  const attacks = Number((await page.textContent("#c-attacks")).replace(/[^0-9]/g, ""));
  if (!(flows > 0)) fail("no flows in the summary");
  if (!(attacks > 0)) fail("the sample's attacks were not detected");
  const attackRows = await page.locator("#flows tbody tr.attack").count();
  if (!(attackRows > 0)) fail("no attack rows in the flow table");
  // Filter and sort work on the table.
  await page.check("#attacks-only");
  const onlyAttacks = await page.locator("#flows tbody tr").count();
  const nonAttack = await page.locator("#flows tbody tr:not(.attack)").count();
  // The table draws at most 2000 rows, so filtering can bring more attack rows into view, never fewer.
  if (nonAttack !== 0 || onlyAttacks < attackRows) fail("the attacks-only filter does not filter");
  await page.click('#flows th[data-k="attack_score"]');
  console.log(`upload: ${flows} flows, ${attacks} attack flows, ${attackRows} attack rows shown`);

  // The upload published alerts over the WebSocket: they show in the live view.
  await page.click("#tab-alerts");
  await page.waitForSelector("#alert-table tbody tr", { timeout: 10000 });
  // An alert from another source appears live too.
  // (The view keeps the newest 1000 alerts, so wait for the new one on top rather than for a count.)
  const alert = { time: "2026-01-01T00:00:00.000000Z", src_ip: "192.0.2.66", src_port: 4444, dst_ip: "192.0.2.1", dst_port: 22,
    protocol: 6, label: "SSH-Bruteforce", probability: 0.97, attack_score: 0.97, source: "browser-test" };
  const r = await fetch(base + "/api/alerts", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alert) });
  if (!r.ok) fail("POST /api/alerts failed: " + r.status);
  await page.waitForFunction(() => (document.querySelector("#alert-table tbody tr")?.textContent || "").includes("192.0.2.66"), null, { timeout: 5000 });
  const top = await page.textContent("#alert-table tbody tr:first-child");
  if (!top.includes("192.0.2.66") || !top.includes("browser-test")) fail("live alert not shown: " + top);

  // Model page.
  await page.click("#tab-model");
  await page.waitForFunction(() => document.querySelector("#manifest").textContent.includes("features"), null, { timeout: 5000 });
  const info = await page.textContent("#model-info");
  if (!info.includes("served bundles") || !info.includes("(corrected, multiclass")) fail("served bundles not shown: " + info);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  if (errors.length) fail("JavaScript errors: " + errors.join("; "));
  console.log("browser test passed");
} finally {
  if (browser) await browser.close();
  server.kill();
}
