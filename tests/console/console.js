// Drives Ferrocket's web console in headless Chromium (run by tests/console.rs).
//
// Environment: CONSOLE_URL (the metrics endpoint, e.g. http://127.0.0.1:5557/), CHROMIUM
// (the browser binary), SCREENSHOTS (a directory for one PNG per page), NEW_TOPIC (created
// through the page, confirm step included), GROUP (whose lag is read from the page),
// MSG_TOPIC and MSG_KEY (a message looked up by key), DLQ_TOPIC (optional: a dead-letter
// topic whose first message is resent through the page).
//
// Prints one JSON line: what the pages showed, for the Rust test to check against the
// broker. Every wait is bounded; the whole run is cut off after TOTAL_MS.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const TOTAL_MS = 150000;
const STEP_MS = 20000;
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

setTimeout(() => {
  console.error(`console.js: gave up after ${TOTAL_MS} ms`);
  process.exit(3);
}, TOTAL_MS).unref();

async function main() {
  const url = env("CONSOLE_URL");
  const shots = env("SCREENSHOTS");
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ferrocket-chromium-"));
  // A fresh profile directory (Chromium's --user-data-dir) for every run.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: env("CHROMIUM"),
    headless: true,
    timeout: STEP_MS,
    viewport: { width: 1360, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const out = { pages: [], screenshots: {} };
  try {
    const page = browser.pages()[0] || (await browser.newPage());
    page.setDefaultTimeout(STEP_MS);
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const shot = async (name) => {
      const file = path.join(shots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      out.screenshots[name] = file;
    };
    const noError = async () => {
      if (await page.locator("#error").isVisible()) {
        throw new Error(`the page shows an error: ${await page.locator("#error").innerText()}`);
      }
    };

    // Cluster: the broker's row, and the TPS chart (or its "no samples" note).
    await page.goto(`${url}#cluster`, { timeout: STEP_MS });
    await page.locator("#brokers tbody tr[data-broker]").first().waitFor();
    await page.locator("#tps-chart svg, #tps-chart .none").first().waitFor();
    await noError();
    out.brokers = await page.locator("#brokers tbody tr[data-broker]").count();
    await shot("cluster");
    out.pages.push("cluster");

    // Topics: create one through the form and its confirmation step.
    const newTopic = env("NEW_TOPIC");
    await page.click("#nav a[data-page=topics]");
    await page.locator("#topics tbody tr[data-topic]").first().waitFor();
    await page.click("#topic-new");
    await page.fill("#nt-name", newTopic);
    await page.fill("#nt-read", "4");
    await page.fill("#nt-write", "4");
    await page.click("#modal-ok");
    await page.locator("#confirm-text").waitFor();
    out.confirmText = await page.locator("#confirm-text").innerText();
    await shot("topics-confirm");
    await page.click("#modal-ok");
    await page.locator(`#topics tbody tr[data-topic="${newTopic}"]`).waitFor();
    await noError();
    out.createdRow = await page.locator(`#topics tbody tr[data-topic="${newTopic}"]`).innerText();
    await page.click(`#topics tbody tr[data-topic="${env("MSG_TOPIC")}"] .clickable`);
    await page.locator("#topic-queues tbody tr td.num").first().waitFor();
    await shot("topics");
    out.pages.push("topics");

    // Consumer groups: the lag of each queue as the page shows it.
    const group = env("GROUP");
    await page.click("#nav a[data-page=groups]");
    await page.click(`#groups tbody tr[data-group="${group}"] a`);
    await page.locator("#group-queues tbody tr[data-qid]").first().waitFor();
    await noError();
    out.lag = await page.$$eval("#group-queues tbody tr[data-qid]", (rows) => rows.map((r) => ({
      topic: r.dataset.topic, broker: r.dataset.broker, queueId: Number(r.dataset.qid),
      lag: Number(r.querySelector("td.lag").textContent.replace(/,/g, "")),
    })));
    out.lagTotalCard = await page.locator("#group-cards .card .v").first().innerText();
    await page.locator("#lag-chart svg, #lag-chart .none").first().waitFor();
    await shot("groups");
    await page.click("#group-reset");
    await page.locator("#rs-topic").waitFor();
    await shot("groups-reset");
    await page.click("#modal-cancel");
    out.pages.push("groups");

    // Messages: by key, then the found message's body.
    await page.click("#nav a[data-page=messages]");
    await page.click("#msg-tabs button[data-mode=key]");
    await page.fill("#msg-topic", env("MSG_TOPIC"));
    await page.fill("#msg-key", env("MSG_KEY"));
    await page.click("#msg-search");
    await page.locator("#messages tbody tr[data-msgid]").first().waitFor();
    await page.click("#messages tbody tr[data-msgid] .clickable");
    await page.locator("#msg-detail:not([hidden]) #msg-body").waitFor();
    await noError();
    out.body = await page.locator("#msg-body").innerText();
    out.keyRows = await page.locator("#messages tbody tr[data-msgid]").count();
    await shot("messages");
    out.pages.push("messages");

    // A dead letter resent to its group, through the confirmation step.
    if (process.env.DLQ_TOPIC) {
      await page.click("#msg-tabs button[data-mode=time]");
      await page.fill("#msg-topic", process.env.DLQ_TOPIC);
      await page.click("#msg-search");
      await page.locator("#messages tbody tr[data-msgid]").first().waitFor();
      await page.click("#messages tbody tr[data-msgid] .clickable");
      await page.locator("#msg-resend:not([hidden])").waitFor();
      await page.click("#msg-resend");
      await page.locator("#modal:not([hidden]) .confirm").waitFor();
      await shot("messages-dlq-confirm");
      await page.click("#modal-ok");
      await page.locator("#toast:not([hidden])").waitFor();
      await noError();
      out.resendToast = await page.locator("#toast").innerText();
      out.pages.push("dead-letter");
    }

    // Actors: the live tree.
    await page.click("#nav a[data-page=actors]");
    await page.locator("#actors tbody tr .bar-meter").first().waitFor();
    out.actorRows = await page.locator("#actors tbody tr").count();
    await shot("actors");
    out.pages.push("actors");
    out.pageErrors = errors;
  } catch (e) {
    // What the page looked like when a step failed, beside the other screenshots.
    const pages = browser.pages();
    if (pages.length) await pages[0].screenshot({ path: path.join(shots, "failure.png"), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}

main().then(() => process.exit(0), (e) => {
  console.error(`console.js: ${e.stack || e}`);
  process.exit(1);
});
