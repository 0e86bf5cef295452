import { expect, test } from "@playwright/test";
import { consent, uniqueName, waitForHydration, watchForErrors, signOut } from "./helpers";

test("sign in with Demo, stay signed in across reloads, log out without a reload", async ({ page }) => {
  const problems = watchForErrors(page);
  const name = uniqueName("Ada");

  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, name, "Allow");

  await expect(page).toHaveURL("/");
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();
  await expect(page.locator(".avatar-initial").first()).toHaveText("A");
  await expect(page.getByText(`Demo · ${name}`)).toBeVisible();

  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();

  const me = await page.request.get("/api/me");
  expect(me.status()).toBe(200);
  expect((await me.json()).nickname).toBe(name);

  // A marker that a full page load would wipe out.
  await page.evaluate(() => ((window as any).__noReload = true));
  await signOut(page);
  await expect(page.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect((await page.request.get("/api/me")).status()).toBe(401);

  expect(problems).toEqual([]);
});

test("sign in with Facebook (pointed at the local provider)", async ({ page }) => {
  const problems = watchForErrors(page);
  const name = uniqueName("Fiona");
  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Facebook" }).click();
  await consent(page, name, "Allow");
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();
  await expect(page.getByText(`Facebook · ${name}`)).toBeVisible();
  const me = await (await page.request.get("/api/me")).json();
  expect(me.email).toBeNull();
  expect(me.identities[0].provider).toBe("facebook");
  expect(problems).toEqual([]);
});

test("remember-me decides between a 30-day and a browser-session cookie", async ({ page, context }) => {
  await page.goto("/");
  await waitForHydration(page);
  await page.getByLabel("Keep me signed in").uncheck();
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, uniqueName("Brief"), "Allow");
  await expect(page.getByRole("heading", { name: /^Hi, Brief/ })).toBeVisible();
  let session = (await context.cookies()).find((c) => c.name === "session");
  expect(session?.expires).toBe(-1);
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Lax");

  await signOut(page);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, uniqueName("Lasting"), "Allow");
  await expect(page.getByRole("heading", { name: /^Hi, Lasting/ })).toBeVisible();
  session = (await context.cookies()).find((c) => c.name === "session");
  const days = ((session?.expires ?? 0) - Date.now() / 1000) / 86400;
  expect(days).toBeGreaterThan(29.9);
  expect(days).toBeLessThan(30.1);
});

test("denying at the provider shows a dismissible message and signs nobody in", async ({ page }) => {
  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, "Nobody", "Deny");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Sign-in cancelled.");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
  // Hydrated, the message closes in place; only without its hydration data would the
  // button fall back to the plain form and load "/".
  const errorPage = page.url();
  await page.getByRole("button", { name: "Dismiss message" }).click();
  await expect(page.getByRole("alert")).toHaveCount(0);
  expect(page.url()).toBe(errorPage);
  expect((await page.request.get("/api/me")).status()).toBe(401);
});

test("a forged callback shows 'Authentication failed.' with a reason", async ({ page }) => {
  const response = await page.goto("/callback/demo?code=forged&state=forged");
  expect(response?.status()).toBe(400);
  await expect(page.getByRole("alert")).toContainText("Authentication failed.");
  await expect(page.getByRole("alert")).toContainText("No sign-in was in progress");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
});

test("every button carries its provider's mark, loaded from this site, on its brand's colours", async ({ page }) => {
  const problems = watchForErrors(page);
  await page.goto("/");
  await waitForHydration(page);
  // Configured in .dev/test-all: built-in presets, and Corp and Acme by variables alone.
  const expected: Record<string, string> = {
    Demo: "/marks/demo.svg",
    Facebook: "/marks/facebook.svg",
    Twitter: "/marks/twitter.svg",
    Apple: "/marks/apple.svg",
    Corp: "/marks/generic.svg",
    Acme: "/marks/generic.svg",
  };
  for (const [label, src] of Object.entries(expected)) {
    const button = page.getByRole("button", { name: `Sign in with ${label}` });
    const mark = button.locator("img.provider-mark");
    await expect(mark).toHaveAttribute("src", src);
    // Decoration: the button's name is its text alone.
    await expect(mark).toHaveAttribute("alt", "");
    // Really drawn: an SVG that loaded (a broken image has no natural size).
    await expect
      .poll(() => mark.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))
      .toBe(true);
  }
  // Apple's Human Interface Guidelines: white on black.
  const apple = page.getByRole("button", { name: "Sign in with Apple" });
  await expect(apple).toHaveCSS("background-color", "rgb(0, 0, 0)");
  await expect(apple).toHaveCSS("color", "rgb(255, 255, 255)");
  expect(problems).toEqual([]);
});
