import { expect, test, type Page } from "@playwright/test";
import {
  consent,
  openAccount,
  passIssuer,
  signInWithDemo,
  signOut,
  uniqueLogin,
  uniqueName,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// Accounts in a real browser, JavaScript on and off: a second provider linked (the demo
// provider and "Corp", the oidc-provider issuer nobody here wrote), either one signing in
// to the same account, unlinking and the refused last unlink, another browser signed out
// from the sessions list, the account deleted, and the header menu by keyboard.

async function me(page: Page) {
  return (await page.request.get("/api/me")).json();
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("link Corp to a demo account, sign in with either, unlink, and keep the last", async ({
      page,
    }) => {
      const problems = watchForErrors(page);
      const name = uniqueName("Linda");
      const login = uniqueLogin();
      await signInWithDemo(page, name, javaScriptEnabled);
      const first = await me(page);

      await openAccount(page, javaScriptEnabled);
      await page.getByRole("button", { name: "Link Corp" }).click();
      await passIssuer(page, login, page.getByRole("alert").filter({ hasText: "Corp is linked" }));
      await expect(page).toHaveURL("/account?notice=linked&provider=corp");
      await expect(page.locator(".method")).toHaveCount(2);
      await expect(page.getByText(`Corp · Corp ${login}`)).toBeVisible();
      await expect(page.getByText(`${login}@corp.example (verified)`)).toBeVisible();

      // Signed out, Corp alone signs in to the same account.
      await signOut(page);
      await expect(page.getByRole("button", { name: "Sign in with Corp" })).toBeVisible();
      await page.getByRole("button", { name: "Sign in with Corp" }).click();
      // Back where the sign-in started: the start page, or (JavaScript off, the sign-out
      // having reloaded the account page) the account page it sent the browser from.
      await passIssuer(page, login, page.locator("details.user-menu", { hasText: name }));
      expect((await me(page)).id).toBe(first.id);

      // Two tabs on the account page, each unlinking one of the two methods.
      const other = await page.context().newPage();
      await openAccount(page, javaScriptEnabled);
      await openAccount(other, javaScriptEnabled);
      await page.getByRole("button", { name: "Unlink Demo" }).click();
      await expect(page.getByRole("alert")).toContainText("Demo is unlinked.");
      await expect(page.locator(".method")).toHaveCount(1);
      await expect(page.getByRole("button", { name: /^Unlink/ })).toHaveCount(0);
      await other.getByRole("button", { name: "Unlink Corp" }).click();
      await expect(other.getByRole("alert")).toContainText("That is your only way to sign in");
      expect((await me(page)).identities.map((i: { provider: string }) => i.provider)).toEqual(["corp"]);
      expect(problems).toEqual([]);
    });

    test("sign out another browser from the sessions list, then delete the account", async ({
      page,
      browser,
    }) => {
      const name = uniqueName("Sessa");
      await signInWithDemo(page, name, javaScriptEnabled);
      const elsewhere = await browser.newContext({ javaScriptEnabled });
      const phone = await elsewhere.newPage();
      await signInWithDemo(phone, name, javaScriptEnabled);

      await openAccount(page, javaScriptEnabled);
      const sessions = page.locator("li.session");
      await expect(sessions).toHaveCount(2);
      await expect(page.locator('li.session[data-this-device="true"]')).toContainText("This device");
      await expect(sessions.first()).toContainText("Chrome");
      await page.locator('li.session[data-this-device="false"]').getByRole("button", { name: "Sign out" }).click();
      await expect(page.getByRole("alert")).toContainText("That session is signed out.");
      await expect(sessions).toHaveCount(1);
      await phone.reload();
      await expect(phone.getByRole("button", { name: "Sign in with Demo" })).toBeVisible();
      await elsewhere.close();
      await expect(page.getByText("Signed out a session")).toBeVisible();

      const before = await me(page);
      await page.getByRole("link", { name: "Delete account…" }).click();
      await expect(page.getByRole("heading", { name: "Delete your account?" })).toBeVisible();
      await page.getByRole("button", { name: "Delete my account" }).click();
      await expect(page.getByRole("heading", { name: "Your account is deleted" })).toBeVisible();
      expect((await page.request.get("/api/me")).status()).toBe(401);

      // The same person signing in again starts afresh.
      await signInWithDemo(page, name, javaScriptEnabled);
      const after = await me(page);
      expect(after.id).not.toBe(before.id);
      expect(after.identities).toHaveLength(1);
    });

    test("the account page sends a signed-out visitor to sign in and back", async ({ page }) => {
      await page.goto("/account");
      await expect(page).toHaveURL("/?next=/account");
      if (javaScriptEnabled) await waitForHydration(page);
      await page.getByRole("button", { name: "Sign in with Demo" }).click();
      const name = uniqueName("Back");
      await consent(page, name, "Allow");
      await expect(page).toHaveURL("/account");
      await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
    });
  });
}

test("the header menu works with the keyboard", async ({ page }) => {
  const name = uniqueName("Kay");
  await signInWithDemo(page, name, true);
  const menu = page.locator("details.user-menu");
  const account = menu.getByRole("link", { name: "Account", exact: true });
  await expect(account).toBeHidden();
  await menu.locator("summary").focus();
  await page.keyboard.press("Enter");
  await expect(account).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(account).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL("/account");
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await expect(page.getByText(`Demo · ${name}`)).toBeVisible();
});
