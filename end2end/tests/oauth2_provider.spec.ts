import { expect, test, type APIRequestContext } from "@playwright/test";
import {
  ISSUER,
  passIssuer,
  signInAtIssuer,
  signOut,
  uniqueLogin,
  waitForHydration,
  watchForErrors,
} from "./helpers";

// "Acme" is any OAuth 2 provider configured by environment alone (OAUTH_ACME_AUTHORIZE_URL,
// _TOKEN_URL, _USERINFO_URL and JSON pointers into the userinfo answer, see .dev/test-all),
// played by the npm package oidc-provider through a client of its own
// (end2end/oidc-provider/issuer.mjs): the app asks for `openid` only because that server's
// userinfo insists, and ignores the ID token that comes with it.

/** The name the issuer's userinfo gives `login` from now on. */
async function renameAtIssuer(request: APIRequestContext, login: string, name: string) {
  const response = await request.post(`${ISSUER}/test/accounts/${encodeURIComponent(login)}/name`, {
    data: { name },
  });
  expect(response.status()).toBe(200);
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`with JavaScript ${javaScriptEnabled ? "on" : "off"}`, () => {
    test.use({ javaScriptEnabled });

    test("sign-in through oidc-provider, as a plain OAuth 2 provider", async ({
      page,
      request,
    }) => {
      const problems = watchForErrors(page);
      const login = uniqueLogin();
      // A name of its own, so the heading can only come from this sign-in's userinfo.
      const name = `Acme ${login}`;
      await renameAtIssuer(request, login, name);
      await page.goto("/");
      if (javaScriptEnabled) await waitForHydration(page);
      const authorize = page.waitForRequest((r) => r.url().startsWith(`${ISSUER}/auth?`));
      await page.getByRole("button", { name: "Sign in with Acme" }).click();

      // What the app asked for, as an OAuth 2 client: a code, with state and PKCE. The issuer
      // enforces the challenge at the token endpoint, but would not miss one never sent.
      const query = new URL((await authorize).url()).searchParams;
      expect(query.get("response_type")).toBe("code");
      expect(query.get("client_id")).toBe("acme-e2e");
      expect(query.get("redirect_uri")).toBe("http://127.0.0.1:3000/callback/acme");
      expect(query.get("scope")).toBe("openid email profile");
      expect(query.get("state")).toBeTruthy();
      expect(query.get("code_challenge_method")).toBe("S256");
      expect(query.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // A browser the issuer does not know: its login page, then its consent page.
      await signInAtIssuer(page, login);

      // Read from userinfo with the JSON pointers: /sub, /name, /email, /email_verified.
      await expect(page.getByRole("heading", { name: `Hi, ${name}!` })).toBeVisible();
      const me = await (await page.request.get("/api/me")).json();
      expect(me.email).toBe(`${login}@corp.example`);
      expect(me.identities[0].provider).toBe("acme");
      expect(me.identities[0].subject).toBe(login);
      expect(me.identities[0].email_status).toBe("verified");

      // Once more after signing out: the same account, not a second one.
      await signOut(page);
      await expect(page.getByRole("button", { name: "Sign in with Acme" })).toBeVisible();
      await page.getByRole("button", { name: "Sign in with Acme" }).click();
      // The issuer remembers this browser and its grant; without prompt=consent it may
      // answer at once.
      await passIssuer(page, login, page.getByRole("heading", { name: `Hi, ${name}!` }));
      const again = await (await page.request.get("/api/me")).json();
      expect(again.id).toBe(me.id);
      expect(problems).toEqual([]);
    });

    test("cancelling at oidc-provider returns a readable message", async ({ page }) => {
      const problems = watchForErrors(page);
      await page.goto("/");
      if (javaScriptEnabled) await waitForHydration(page);
      await page.getByRole("button", { name: "Sign in with Acme" }).click();
      await expect(page).toHaveURL(new RegExp(`^${ISSUER}/interaction/`));
      await page.getByRole("link", { name: "[ Cancel ]" }).click();
      // The issuer sends back error=access_denied.
      await expect(page.getByRole("alert")).toContainText("Sign-in cancelled.");
      if (javaScriptEnabled) await waitForHydration(page);
      expect((await page.request.get("/api/me")).status()).toBe(401);
      // The message comes with a 400, which Chromium logs as a failed load; nothing else.
      expect(problems.filter((p) => !p.startsWith("console: Failed to load resource"))).toEqual([]);
    });
  });
}
