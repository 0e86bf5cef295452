import { expect, test } from "@playwright/test";
import {
  ISSUER,
  passIssuer,
  signInAtIssuer,
  signOut,
  uniqueLogin,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// "Corp" is a generic OpenID Connect issuer configured by environment alone
// (OAUTH_CORP_ISSUER and friends, see .dev/test-all), served by the npm package
// oidc-provider (an OpenID Certified implementation; end2end/oidc-provider/issuer.mjs):
// discovery, PKCE, nonce, RFC 9207 `iss`, an ES256-signed ID token and userinfo, all
// code nobody here wrote.

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("sign-in through oidc-provider, as a generic OpenID Connect issuer", async ({ page }) => {
      const problems = watchForErrors(page);
      const login = uniqueLogin();
      await page.goto("/");
      if (javaScriptEnabled) await waitForHydration(page);
      await page.getByRole("button", { name: "Sign in with Corp" }).click();
      await signInAtIssuer(page, login);

      // The name and the verified address come from the issuer's userinfo endpoint.
      await expect(page.getByRole("heading", { name: `Hi, Corp ${login}!` })).toBeVisible();
      const me = await (await page.request.get("/api/me")).json();
      expect(me.email).toBe(`${login}@corp.example`);
      expect(me.identities[0].provider).toBe("corp");
      expect(me.identities[0].subject).toBe(login);
      expect(me.identities[0].email_status).toBe("verified");

      // Once more after signing out: the same account, not a second one.
      await signOut(page);
      await expect(page.getByRole("button", { name: "Sign in with Corp" })).toBeVisible();
      await page.getByRole("button", { name: "Sign in with Corp" }).click();
      // The issuer remembers this browser: it may answer at once, or show its consent page
      // alone, as it does whenever the app asks for offline access (prompt=consent).
      await passIssuer(page, login, page.getByRole("heading", { name: `Hi, Corp ${login}!` }));
      const again = await (await page.request.get("/api/me")).json();
      expect(again.id).toBe(me.id);
      expect(problems).toEqual([]);
    });

    test("cancelling at oidc-provider returns a readable message", async ({ page }) => {
      await page.goto("/");
      await page.getByRole("button", { name: "Sign in with Corp" }).click();
      await expect(page).toHaveURL(new RegExp(`^${ISSUER}/interaction/`));
      await page.getByRole("link", { name: "[ Cancel ]" }).click();
      await expect(page.getByRole("alert")).toContainText("Sign-in cancelled.");
      expect((await page.request.get("/api/me")).status()).toBe(401);
    });
  });
}
