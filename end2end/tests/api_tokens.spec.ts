import { expect, request, test } from "@playwright/test";
import {
  openAccount,
  signInWithDemo,
  uniqueName,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// Personal API tokens in a real browser, JavaScript on and off: made on the account page
// and shown once, used from the page's own fetch and from a client with no cookies,
// revoked with one click, and refused at the next use.

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("make a token, use it without cookies, revoke it", async ({ page, baseURL }) => {
      const problems = watchForErrors(page);
      const name = uniqueName("Tia");
      await signInWithDemo(page, name, javaScriptEnabled);
      const me = await (await page.request.get("/api/me")).json();

      await openAccount(page, javaScriptEnabled);
      const tokens = page.locator("#api-tokens");
      await tokens.getByLabel("Name").fill("nightly backup");
      await tokens.getByLabel("Expires").selectOption({ label: "90 days" });
      await tokens.getByRole("button", { name: "Make token" }).click();
      await expect(page).toHaveURL("/account?notice=api-token-created#api-tokens");
      await expect(page.getByRole("alert")).toContainText("Copy it now");
      const shown = page.getByLabel("Your new token “nightly backup”");
      const token = await shown.inputValue();
      expect(token).toMatch(/^sspat_[A-Za-z0-9]{36}$/);
      await expect(tokens.locator(".api-token")).toHaveCount(1);
      await expect(tokens.locator(".api-token")).toContainText("nightly backup");
      await expect(tokens.locator(".api-token")).toContainText(token.slice(0, 10));
      if (javaScriptEnabled) await waitForHydration(page);

      // Shown once: the next visit lists it without the token.
      await openAccount(page, javaScriptEnabled);
      await expect(page.getByLabel(/Your new token/)).toHaveCount(0);
      expect(await page.content()).not.toContain(token);

      // From a client that has no cookies at all, as a script calls the API.
      const script = await request.newContext({ baseURL });
      const asScript = await script.get("/api/me", {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(asScript.status()).toBe(200);
      expect((await asScript.json()).id).toBe(me.id);
      const anonymous = await script.get("/api/me");
      expect(anonymous.status()).toBe(401);
      expect(anonymous.headers()["www-authenticate"]).toBe("Bearer");

      if (javaScriptEnabled) {
        // From the page's own fetch, leaving the session cookie out.
        const fromPage = await page.evaluate(async (bearer) => {
          const response = await fetch("/api/me", {
            headers: { Authorization: `Bearer ${bearer}` },
            credentials: "omit",
          });
          return { status: response.status, id: (await response.json()).id };
        }, token);
        expect(fromPage).toEqual({ status: 200, id: me.id });
      }

      // The list says it was used; one click revokes it.
      await openAccount(page, javaScriptEnabled);
      await expect(tokens.locator(".api-token")).not.toContainText("Last used never");
      await tokens.getByRole("button", { name: "Revoke nightly backup" }).click();
      await expect(page.getByRole("alert")).toContainText("The API token is revoked");
      await expect(tokens.locator(".api-token")).toHaveCount(0);
      await expect(page.getByText("Revoked the API token “nightly backup”")).toBeVisible();

      const refused = await script.get("/api/me", {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(refused.status()).toBe(401);
      expect(refused.headers()["www-authenticate"]).toContain('error="invalid_token"');
      await script.dispose();
      expect(problems).toEqual([]);
    });
  });
}
