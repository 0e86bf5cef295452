import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import {
  ISSUER,
  openAccount,
  passIssuer,
  signInAtIssuer,
  signInWithDemo,
  uniqueLogin,
  uniqueName,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// Kept provider tokens (OAUTH_CORP_KEEP_TOKENS=on) in a real browser, JavaScript on and off,
// against oidc-provider (end2end/oidc-provider/issuer.mjs): "Refresh from Corp" reads the name
// again with the kept token, refreshed first with a real refresh_token grant (the issuer runs
// with ISSUER_ACCESS_TOKEN_TTL=30, so every kept access token expires within the app's minute
// of margin); a refresh the issuer refuses asks for "Reconnect Corp", which works; unlinking
// revokes the kept tokens at the issuer. The issuer's /test/ endpoints rename a login, withdraw
// its grants and count what the app asked of the issuer.

/** What the issuer counted for one login (GET /test/accounts/:login/stats). */
type IssuerCounts = {
  refreshTokenGrants: { succeeded: number; failed: number };
  revocations: { succeeded: number; refreshTokens: number; accessTokens: number };
};

async function issuerCounts(request: APIRequestContext, login: string): Promise<IssuerCounts> {
  const response = await request.get(`${ISSUER}/test/accounts/${encodeURIComponent(login)}/stats`);
  if (!response.ok()) throw new Error(`issuer stats: ${response.status()} ${await response.text()}`);
  return response.json();
}

/** The name the issuer's userinfo gives `login` from now on. */
async function renameAtIssuer(request: APIRequestContext, login: string, name: string) {
  const response = await request.post(`${ISSUER}/test/accounts/${encodeURIComponent(login)}/name`, {
    data: { name },
  });
  expect(response.status()).toBe(200);
}

/** As if the person withdrew this site's access at the issuer: every refresh token of theirs dies. */
async function withdrawAtIssuer(request: APIRequestContext, login: string) {
  const response = await request.post(
    `${ISSUER}/test/accounts/${encodeURIComponent(login)}/revoke-grants`,
  );
  expect(response.status()).toBe(200);
  expect((await response.json()).revokedGrants).toBeGreaterThan(0);
}

/** The Corp row of the account page's sign-in methods. */
function corpMethod(page: Page) {
  return page.locator('li.method[data-provider="corp"]');
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    /** After a page load: hydrated, with JavaScript on, before the next click. */
    async function settled(page: Page) {
      if (javaScriptEnabled) await waitForHydration(page);
    }

    test("refresh the name from Corp with a kept token, and reconnect once Corp refuses it", async ({
      page,
      request,
    }) => {
      const problems = watchForErrors(page);
      const login = uniqueLogin();
      await page.goto("/");
      await settled(page);
      await page.getByRole("button", { name: "Sign in with Corp" }).click();
      await signInAtIssuer(page, login);
      await expect(page.getByRole("heading", { name: `Hi, Corp ${login}!` })).toBeVisible();

      // Renamed at the issuer: the account page still shows the name of the sign-in.
      const renamed = uniqueName("Renamed");
      await renameAtIssuer(request, login, renamed);
      await openAccount(page, javaScriptEnabled);
      const corp = corpMethod(page);
      await expect(corp.locator("strong")).toHaveText(`Corp · Corp ${login}`);

      const before = await issuerCounts(request, login);
      await corp.getByRole("button", { name: "Refresh from Corp" }).click();
      await expect(page).toHaveURL("/account?notice=profile-refreshed&provider=corp");
      await expect(page.getByRole("alert")).toContainText(
        "Your name and picture from Corp are up to date.",
      );
      await expect(corp.locator("strong")).toHaveText(`Corp · ${renamed}`);
      // The kept access token was about to expire, so the app refreshed it first, once.
      const refreshed = await issuerCounts(request, login);
      expect(refreshed.refreshTokenGrants, "one refresh_token grant (ISSUER_ACCESS_TOKEN_TTL=30)").toEqual({
        succeeded: before.refreshTokenGrants.succeeded + 1,
        failed: before.refreshTokenGrants.failed,
      });
      await settled(page);

      // Corp stops accepting this site's refresh token: the next refresh is refused.
      await withdrawAtIssuer(request, login);
      await corp.getByRole("button", { name: "Refresh from Corp" }).click();
      await expect(page).toHaveURL("/account?notice=needs-reconnection&provider=corp");
      await expect(page.getByRole("alert")).toContainText(
        "Corp no longer accepts this site's access. Reconnect it to keep using it.",
      );
      await expect(corp.locator("strong")).toHaveText(`Corp · ${renamed}`);
      await expect(corp.getByRole("button", { name: "Reconnect Corp" })).toBeVisible();
      await expect(corp.getByRole("button", { name: "Refresh from Corp" })).toHaveCount(0);
      const refused = await issuerCounts(request, login);
      expect(refused.refreshTokenGrants).toEqual({
        succeeded: refreshed.refreshTokenGrants.succeeded,
        failed: refreshed.refreshTokenGrants.failed + 1,
      });
      await settled(page);

      // Reconnecting is signing in at Corp again (which remembers this browser), into the
      // identity this account already has.
      await corp.getByRole("button", { name: "Reconnect Corp" }).click();
      await passIssuer(
        page,
        login,
        page.getByRole("alert").filter({ hasText: "Corp was already linked to your account." }),
      );
      await expect(page).toHaveURL("/account?notice=already-linked&provider=corp");
      await expect(corp.getByRole("button", { name: "Reconnect Corp" })).toHaveCount(0);
      await expect(corp.getByRole("button", { name: "Refresh from Corp" })).toBeVisible();
      await settled(page);

      // The new sign-in's tokens are the kept ones now: a refresh works again.
      const renamedAgain = uniqueName("Again");
      await renameAtIssuer(request, login, renamedAgain);
      const reconnected = await issuerCounts(request, login);
      await corp.getByRole("button", { name: "Refresh from Corp" }).click();
      await expect(page).toHaveURL("/account?notice=profile-refreshed&provider=corp");
      await expect(corp.locator("strong")).toHaveText(`Corp · ${renamedAgain}`);
      expect((await issuerCounts(request, login)).refreshTokenGrants).toEqual({
        succeeded: reconnected.refreshTokenGrants.succeeded + 1,
        failed: reconnected.refreshTokenGrants.failed,
      });
      expect(problems).toEqual([]);
    });

    test("unlinking Corp revokes its kept tokens at the issuer", async ({ page, request }) => {
      const problems = watchForErrors(page);
      const name = uniqueName("Ursa");
      const login = uniqueLogin();
      await signInWithDemo(page, name, javaScriptEnabled);
      await openAccount(page, javaScriptEnabled);
      await page.getByRole("button", { name: "Link Corp" }).click();
      await signInAtIssuer(page, login);
      await expect(page).toHaveURL("/account?notice=linked&provider=corp");
      await expect(page.locator(".method")).toHaveCount(2);
      const corp = corpMethod(page);
      // The link kept Corp's tokens.
      await expect(corp.getByRole("button", { name: "Refresh from Corp" })).toBeVisible();
      await settled(page);

      const before = await issuerCounts(request, login);
      await corp.getByRole("button", { name: "Unlink Corp" }).click();
      await expect(page.getByRole("alert")).toContainText("Corp is unlinked.");
      await expect(page.locator(".method")).toHaveCount(1);
      // Best effort, after the unlink is saved: it may reach the issuer just after the page.
      // The refresh token is the one that counts: revoking it ends the whole grant there.
      await expect
        .poll(async () => (await issuerCounts(request, login)).revocations.refreshTokens)
        .toBeGreaterThanOrEqual(before.revocations.refreshTokens + 1);
      expect((await issuerCounts(request, login)).revocations.succeeded).toBeGreaterThanOrEqual(
        before.revocations.succeeded + 1,
      );
      const me = await (await page.request.get("/api/me")).json();
      expect(me.identities.map((i: { provider: string }) => i.provider)).toEqual(["demo"]);
      expect(problems).toEqual([]);
    });
  });
}
