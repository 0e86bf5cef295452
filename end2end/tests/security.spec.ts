import http from "node:http";
import { expect, test } from "@playwright/test";
import { consent, sessionsStoredSince, storedSessionIds, waitForHydration, signOut } from "./helpers";

test("the page hydrates under its nonce-based CSP with no violations", async ({ page }) => {
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as any).__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`),
    );
  });
  const response = await page.goto("/");
  const csp = response?.headers()["content-security-policy"] ?? "";
  expect(csp).toContain("'nonce-");
  expect(csp).toContain("frame-ancestors 'none'");
  await waitForHydration(page);
  // Exercise the reactive path too: sign in and log out without a reload.
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, "Policy Person", "Allow");
  await waitForHydration(page);
  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
});

test("a name full of markup is shown as text, never run", async ({ page }) => {
  const hostile = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, hostile, "Allow");
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("<img src=x");
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  await signOut(page);
});

// Another site embeds the sign-in route in a hidden iframe: Chromium labels the request
// cross-site / navigate / iframe, and the app refuses it before handing out a cookie,
// storing a session or calling a provider. A link from that site, followed by the person,
// still starts a sign-in.
// Chromium drops cookies set in a cross-site iframe anyway, so the browser's cookie jar
// cannot show what the server did. The response's own Set-Cookie header does (the pending
// sign-in's cookie, were the embed let through), and so do the server's session rows (a
// start stores none since the pending sign-in is a cookie; were a start to store a session
// again, the embed's row would show). Both are shown to move when the link is followed.
// "Another site" is a page served by this test at http://localhost:4999: a different site
// from 127.0.0.1, and on loopback, as Chromium's Local Network Access blocks requests from a
// public page to 127.0.0.1 before they are sent. (An <img> is refused the same way, but
// Chromium's opaque response blocking hides its status from the test.)
test("another site's page cannot start a sign-in by embedding the route", async ({ page, context }) => {
  const app = "http://127.0.0.1:3000";
  const otherSite = http.createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!DOCTYPE html><iframe src="${app}/authorize/demo" hidden></iframe>
             <a id="link" href="${app}/authorize/demo">Sign in over there</a>`);
  });
  await new Promise<void>((ready) => otherSite.listen(4999, "::", ready));
  try {
    const before = storedSessionIds();
    const embedded = page.waitForResponse((r) => r.url() === `${app}/authorize/demo`);
    await page.goto("http://localhost:4999/");
    const refused = await embedded;
    expect(refused.status()).toBe(403);
    // No cookie was handed out, whether or not Chromium would have kept it.
    expect(await refused.headerValue("set-cookie")).toBeNull();
    // A session is stored before its response is sent: none was for the embed.
    expect(sessionsStoredSince(before)).toEqual([]);
    const sent = await refused.request().allHeaders();
    expect(sent["sec-fetch-site"]).toBe("cross-site");
    expect(sent["sec-fetch-dest"]).toBe("iframe");
    expect(await context.cookies(app)).toEqual([]);

    // Followed as a link (a top-level navigation), it starts a sign-in at the provider: its
    // answer sets the pending sign-in's cookie, and finishing the sign-in stores a session.
    const started = page.waitForResponse((r) => r.url() === `${app}/authorize/demo`);
    await page.click("#link");
    const start = await started;
    expect(start.status()).toBe(302);
    expect(await start.headerValue("set-cookie")).toMatch(/^(__Host-)?signin=/);
    await consent(page, "Linked Person", "Allow");
    await expect(page.getByRole("heading", { level: 1 })).toContainText("Linked Person");
    expect(sessionsStoredSince(before)).toHaveLength(1);
  } finally {
    otherSite.close();
  }
});
