import { execFileSync } from "node:child_process";
import { expect, type Locator, type Page } from "@playwright/test";

/** A name no other test or earlier run has used, so each test is a first sign-in. */
export function uniqueName(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Fails the test on any uncaught exception or console error on the page. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  return problems;
}

export async function waitForHydration(page: Page) {
  await expect(page.locator('#app-root[data-hydrated="true"]')).toHaveCount(1);
}

/** On the demo provider's consent page: enter a name and choose. */
export async function consent(page: Page, name: string, choice: "Allow" | "Deny") {
  await expect(page.getByRole("heading", { name: "Sign in to Social Sign-in?" })).toBeVisible();
  await page.getByLabel("Your name").fill(name);
  await page.getByRole("button", { name: choice }).click();
}

/**
 * The ids of the sessions the server has stored, read from its SQLite file (DATABASE_URL,
 * set by .dev/test-all) with Debian's sqlite3 CLI: what the server wrote, whatever the
 * browser kept of its cookies.
 */
export function storedSessionIds(): string[] {
  const url = process.env.DATABASE_URL ?? "";
  const file = /^sqlite:\/\/([^?]+)/.exec(url)?.[1];
  if (!file) throw new Error(`DATABASE_URL is not a SQLite file: ${JSON.stringify(url)}`);
  const ids = execFileSync("sqlite3", ["-readonly", file, "SELECT id FROM sessions"], {
    encoding: "utf8",
  });
  return ids.split("\n").filter((id) => id !== "");
}

/** The stored sessions that are not in `before`. */
export function sessionsStoredSince(before: string[]): string[] {
  return storedSessionIds().filter((id) => !before.includes(id));
}

/** Opens the header's account menu (a disclosure) and chooses "Sign out". */
export async function signOut(page: Page) {
  const menu = page.locator("details.user-menu");
  await menu.locator("summary").click();
  await menu.getByRole("button", { name: "Sign out" }).click();
}

/** Signs in through the demo provider as `name` from the start page. */
export async function signInWithDemo(page: Page, name: string, javaScriptEnabled: boolean) {
  await page.goto("/");
  if (javaScriptEnabled) await waitForHydration(page);
  await page.getByRole("button", { name: "Sign in with Demo" }).click();
  await consent(page, name, "Allow");
  await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();
}

/** Loads the account page (hydrated, with JavaScript on). */
export async function openAccount(page: Page, javaScriptEnabled: boolean) {
  await page.goto("/account");
  if (javaScriptEnabled) await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
}

/**
 * "Corp": a generic OpenID Connect issuer configured by environment alone (OAUTH_CORP_*,
 * see .dev/test-all), served by the npm package oidc-provider (end2end/oidc-provider/issuer.mjs).
 */
export const ISSUER = "http://127.0.0.1:4010";

/** A login name no other run has used: a first sign-in at the issuer, and a `sub` of its own. */
export function uniqueLogin(): string {
  return uniqueName("corp").replace(" ", "-");
}

/** At the issuer, in a browser it does not know yet: its login page, then its consent page. */
export async function signInAtIssuer(page: Page, login: string) {
  await expect(page).toHaveURL(new RegExp(`^${ISSUER}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

/**
 * Through whatever the issuer shows, until `arrived` (something only the page the app sends the
 * browser back to has) is visible: its login page unless it remembers this browser, and its
 * consent page, which it shows every time the app asks for offline access (prompt=consent)
 * and may skip otherwise.
 */
export async function passIssuer(page: Page, login: string, arrived: Locator) {
  const issuerPage = page.locator(`form[action^="${ISSUER}/interaction/"]`);
  await expect(issuerPage.or(arrived).first()).toBeVisible();
  if (new URL(page.url()).origin === ISSUER) {
    const loginField = page.locator('input[name="login"]');
    if ((await loginField.count()) > 0) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill("any password");
      await page.getByRole("button", { name: "Sign-in" }).click();
    }
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await expect(arrived.first()).toBeVisible();
}
