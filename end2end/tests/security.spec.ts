import { expect, test } from "@playwright/test";
import { consent, waitForHydration } from "./helpers";

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
  await page.getByRole("button", { name: "Logout" }).click();
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
  await page.getByRole("button", { name: "Logout" }).click();
});
