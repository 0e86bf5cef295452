import { expect, test } from "@playwright/test";
import { waitForHydration } from "./helpers";

// The bundle has content-hashed names and is cached for good; the page itself never is.
// On a second visit the browser takes the WASM, JS and CSS from its cache.
test("the bundle is cached for good and the page is never cached", async ({ page }) => {
  const bundle: { url: string; cacheControl: string; type: string }[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/pkg/")) {
      bundle.push({
        url: response.url(),
        cacheControl: response.headers()["cache-control"] ?? "",
        type: response.headers()["content-type"] ?? "",
      });
    }
  });
  const first = await page.goto("/");
  expect(first?.headers()["cache-control"]).toBe("no-store");
  await waitForHydration(page);

  const names = bundle.map((b) => new URL(b.url).pathname).sort();
  expect(names.some((n) => /^\/pkg\/social-signin\.[\w-]+\.wasm$/.test(n))).toBe(true);
  expect(names.some((n) => /^\/pkg\/social-signin\.[\w-]+\.js$/.test(n))).toBe(true);
  expect(names.some((n) => /^\/pkg\/social-signin\.[\w-]+\.css$/.test(n))).toBe(true);
  for (const file of bundle) {
    expect(file.cacheControl, file.url).toBe("public, max-age=31536000, immutable");
  }
  expect(bundle.find((b) => b.url.endsWith(".wasm"))?.type).toBe("application/wasm");

  // A second visit: the page comes from the network, the bundle from the cache.
  await page.goto("/");
  await waitForHydration(page);
  const transferred = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .filter((r) => new URL(r.name).pathname.startsWith("/pkg/"))
      .map((r) => (r as PerformanceResourceTiming).transferSize),
  );
  expect(transferred.length).toBeGreaterThan(0);
  expect(transferred.every((size) => size === 0)).toBe(true);
});
