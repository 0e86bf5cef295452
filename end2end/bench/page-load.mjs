// Page weight and time to hydration, for .dev/bench: `node page-load.mjs <app url> <pkg dir>`.
// Prints Markdown. Sizes of the bundle files raw, gzip -9 and brotli (max quality) from
// disk; "as transferred" and the hydration time from Debian's Chromium loading the page.
import { chromium } from "@playwright/test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const [appUrl, pkgDir] = process.argv.slice(2);
const LOADS = 10;

const bundle = readdirSync(pkgDir).filter((name) => /\.(wasm|js|css)$/.test(name));
console.log("## Page weight\n");
console.log("| file | raw | gzip -9 | brotli 11 | as transferred |");
console.log("|---|---|---|---|---|");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
  ],
});

// A fresh context per load: an empty cache, as for a first visit.
async function load() {
  const context = await browser.newContext();
  // The moment the app flips `data-hydrated`, taken inside the page (polling from outside
  // would add its own interval and round trips).
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.getElementById("app-root")?.dataset.hydrated === "true") {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(appUrl);
  await page.waitForSelector('#app-root[data-hydrated="true"]', { timeout: 15000 });
  const result = await page.evaluate(() => {
    const navigation = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bundleEnd = (ext) =>
      resources.find((r) => r.name.endsWith(ext) && /\/pkg\//.test(r.name))?.responseEnd ?? 0;
    return {
      hydratedAt: window.__hydratedAt,
      // Milestones on the way, for the breakdown.
      htmlEnd: navigation.responseEnd,
      domContentLoaded: navigation.domContentLoadedEventEnd,
      jsEnd: bundleEnd(".js"),
      wasmEnd: bundleEnd(".wasm"),
      resources: resources.map((r) => ({
        name: r.name, transferSize: r.transferSize, encodedBodySize: r.encodedBodySize,
      })),
      html: navigation.transferSize,
    };
  });
  // A second visit in the same context: what the cache saves.
  const again = await context.newPage();
  await again.goto(appUrl);
  await again.waitForSelector('#app-root[data-hydrated="true"]', { timeout: 15000 });
  const warm = await again.evaluate(() => ({
    hydratedAt: window.__hydratedAt,
    transferred: performance.getEntriesByType("resource")
      .filter((r) => /\/pkg\//.test(r.name)).reduce((sum, r) => sum + r.transferSize, 0),
  }));
  await context.close();
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  return { ...result, warm };
}

// The browser's own floor on this machine: a blank page, answered by Playwright without
// touching the network, to DOMContentLoaded.
async function blankPageReady() {
  const context = await browser.newContext();
  const blank = new URL("/__blank", appUrl).href;
  await context.route(blank, (route) =>
    route.fulfill({ contentType: "text/html", body: "<!DOCTYPE html><title>blank</title><p>blank</p>" }));
  const page = await context.newPage();
  await page.goto(blank);
  const ready = await page.evaluate(() =>
    performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd);
  await context.close();
  return ready;
}

const loads = [];
const blanks = [];
for (let i = 0; i < LOADS; i++) {
  loads.push(await load());
  blanks.push(await blankPageReady());
}
await browser.close();

const transferred = (file) =>
  loads[0].resources.find((r) => r.name.endsWith(`/pkg/${file}`))?.transferSize ?? 0;
let total = 0;
for (const file of bundle) {
  const data = readFileSync(join(pkgDir, file));
  const gz = gzipSync(data, { level: 9 }).length;
  const br = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }).length;
  const sent = transferred(file);
  if (/\.(wasm|js)$/.test(file)) total += sent;
  console.log(`| ${file} | ${data.length} | ${gz} | ${br} | ${sent} |`);
}
console.log(`\nWASM + JS as transferred (bodies and headers, first visit): **${total} bytes**; ` +
  `the HTML page: ${loads[0].html} bytes.\n`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cold = loads.map((l) => l.hydratedAt);
const warm = loads.map((l) => l.warm.hydratedAt);
console.log("## Time to hydration in headless Chromium (loopback)\n");
console.log("| visit | median ms | min ms | max ms | bundle bytes transferred |");
console.log("|---|---|---|---|---|");
console.log(`| first (empty cache) | ${median(cold).toFixed(0)} | ${Math.min(...cold).toFixed(0)} | ` +
  `${Math.max(...cold).toFixed(0)} | ${total} |`);
console.log(`| again (cached bundle) | ${median(warm).toFixed(0)} | ${Math.min(...warm).toFixed(0)} | ` +
  `${Math.max(...warm).toFixed(0)} | ${median(loads.map((l) => l.warm.transferred))} |`);
console.log(`\n${LOADS} loads each; from navigation start to \`data-hydrated="true"\`, ` +
  "timed inside the page.\n");
const milestone = (key) => median(loads.map((l) => l[key])).toFixed(0);
console.log(`First visit, median ms from navigation start: HTML received ${milestone("htmlEnd")}, ` +
  `JS ${milestone("jsEnd")}, WASM ${milestone("wasmEnd")}, DOMContentLoaded ` +
  `${milestone("domContentLoaded")}, hydrated ${median(cold).toFixed(0)}. For scale, a blank page ` +
  `served by Playwright itself reaches DOMContentLoaded at ${median(blanks).toFixed(0)} ms in this browser.`);
