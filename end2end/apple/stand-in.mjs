#!/usr/bin/env node
// A local stand-in for Apple's "Sign in with Apple" server (appleid.apple.com), for the
// end-to-end tests.
//
// Apple is an OpenID Connect issuer with quirks of its own, and this file models them as
// Apple documents them (developer.apple.com, "Sign in with Apple REST API"):
//   - the name and email scopes are answered with response_mode=form_post only: the browser
//     POSTs code, state and (first time only) `user` to the app's redirect URI, a cross-origin
//     form post;
//   - the `user` field, a JSON string {"name":{"firstName":…,"lastName":…},"email":…}, is sent
//     on the FIRST authorisation of the app by that person only; the ID token never carries a
//     name;
//   - the client secret is not a shared string but a JWT the app signs itself with its ES256
//     key (a ".p8" file from Apple's developer site): kid = the key id, iss = the team id,
//     sub = the client id (the Services ID), aud = "https://appleid.apple.com", at most six
//     months long; sent in the body (client_secret_post) only;
//   - the ID token is RS256, `email_verified` and `is_private_email` are the STRINGS "true" or
//     "false", `sub` is a pairwise id like 000123.<hex>.0456, and "Hide My Email" gives a
//     stable private relay address @privaterelay.appleid.com instead of the person's own;
//   - a cancelled sign-in comes back as error=user_cancelled_authorize (not access_denied);
//   - revoking a token (/auth/revoke) ends the person's authorisation of the app: every token
//     of it stops working and the next sign-in is a first one again (the `user` field comes
//     back), as Apple does for account deletion.
// It uses the npm package `jose` for every JWT (verifying the app's client secret, signing
// ID tokens, the JWKS) and node:crypto for the rest; nothing else.
//
//   APPLE_PRIVATE_KEY_FILE=key.p8 node end2end/apple/stand-in.mjs
//
// Settings (environment variables):
//   APPLE_PORT              port to listen on (default 4020); the issuer is http://127.0.0.1:PORT
//   APPLE_CLIENT_ID         the app's client id, Apple's "Services ID" (default com.example.signin.e2e)
//   APPLE_REDIRECT_URI      its only redirect URI ("Return URL"; default
//                           http://127.0.0.1:3000/callback/apple). Compared exactly.
//   APPLE_TEAM_ID           the team id the client secret's `iss` must name (default TEAM123456)
//   APPLE_KEY_ID            the key id its header's `kid` must name (default KEY1234567)
//   APPLE_PRIVATE_KEY_FILE  required: the PEM file of the app's EC P-256 key, PKCS#8 like
//                           Apple's .p8 (`openssl genpkey -algorithm EC -pkeyopt
//                           ec_paramgen_curve:P-256 -out key.p8`). Only its public half is
//                           used (node:crypto createPublicKey), which is all Apple holds; a
//                           PEM public key (SPKI) is accepted too.
//
// Endpoints (Apple's paths):
//   GET  /.well-known/openid-configuration   discovery (Apple's document, with this issuer)
//   GET  /auth/keys                          JWKS: one RSA key (RS256), made at start-up
//   GET  /auth/authorize                     the sign-in page (see below)
//   POST /auth/authorize/decide              that page's form: Continue or Cancel
//   POST /auth/token                         authorization_code and refresh_token grants
//   POST /auth/revoke                        RFC 7009-like; 200 whether or not the token was known
//
// The sign-in page ("Sign in with Apple ID"), a plain HTML form that works without JavaScript:
// a text field "Apple ID" (any login name; the person's address is <login>@example.com, or
// the login itself when it has an "@"), "First name" and "Last name" (when the app asked for
// the name scope), a checkbox "Hide My Email" (when it asked for email), buttons "Continue"
// and "Cancel". As at Apple, the name and the Hide My Email choice count at the first
// authorisation only: later sign-ins of the same login send no `user` field and keep the
// address chosen the first time (until POST /test/forget/:login or a revocation).
// With response_mode=form_post the answer is a page with <form method="post"
// action="<redirect_uri>"> holding code, state and user (or error and state), a button
// "Continue to the app" for browsers without JavaScript, and an inline script that submits
// the form at once. query and fragment modes answer with a 302 instead.
//
// Tokens: codes live 5 minutes and are used once (any use that passes client authentication,
// good or bad, spends the code); access tokens (1 hour) are only good for /auth/revoke, as
// at Apple; refresh tokens do not expire and are not rotated (a refresh answers access_token,
// token_type, expires_in and id_token, without nonce, and no new refresh token).
//
// Test-only endpoints (127.0.0.1 only, like issuer.mjs's):
//   GET  /test/stats  counts since start:
//        {"client_secrets_verified": n, "client_secrets_refused": n, "token_requests": n,
//         "revoke_requests": n, "codes_issued": n,
//         "last_client_secret_header": {…} | null, "last_client_secret_claims": {…} | null,
//         "last_client_secret_refusal": "reason" | null}
//        where "last client secret" is the last one presented at /auth/token or /auth/revoke,
//        decoded whether or not it was accepted (null when it was not a JWT at all).
//   GET  /test/accounts/:login  what the stand-in knows of a login:
//        {"login", "sub", "email", "private_relay_email", "authorised", "hide_my_email"}
//   POST /test/forget/:login    forgets that the login authorised the app, so its next
//        sign-in is a first one again (with the `user` field). Answers {"login", "forgotten"}.
//
// Refused client secrets are logged to stdout with the reason (never the secret itself).

import { createHash, createHmac, createPublicKey, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import {
  SignJWT,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from 'jose';

// ---------------------------------------------------------------------------------------
// Settings

function fail(message) {
  console.error(`apple: ${message}`);
  process.exit(2);
}

const portText = process.env.APPLE_PORT || '4020';
const port = Number(portText);
if (!/^[0-9]+$/.test(portText) || port <= 0 || port > 65535) {
  fail(`APPLE_PORT must be a TCP port number, got ${JSON.stringify(process.env.APPLE_PORT)}`);
}
// Exactly this string (no trailing slash) is discovery's `issuer` and every ID token's `iss`.
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.APPLE_CLIENT_ID || 'com.example.signin.e2e';
const redirectUri = process.env.APPLE_REDIRECT_URI || 'http://127.0.0.1:3000/callback/apple';
const teamId = process.env.APPLE_TEAM_ID || 'TEAM123456';
const keyId = process.env.APPLE_KEY_ID || 'KEY1234567';
const keyFile = process.env.APPLE_PRIVATE_KEY_FILE;
if (!keyFile) fail('APPLE_PRIVATE_KEY_FILE must name the app\'s EC P-256 key (a PKCS#8 PEM ".p8" file)');

// The client secret's `aud`: Apple's own address, whatever this stand-in's address is.
const CLIENT_SECRET_AUDIENCE = 'https://appleid.apple.com';
// "The value must not be greater than 15777000 (6 months in seconds)."
const CLIENT_SECRET_MAX_LIFETIME = 15777000;
const CLOCK_SKEW = 60;
const CODE_TTL = 5 * 60;
const ACCESS_TOKEN_TTL = 60 * 60;
const ID_TOKEN_TTL = 10 * 60;
const MAX_BODY = 64 * 1024;

// The app's public key, which is all the real Apple has of it.
let clientSecretKey;
try {
  clientSecretKey = createPublicKey(readFileSync(keyFile));
} catch (err) {
  fail(`cannot read an EC public key from APPLE_PRIVATE_KEY_FILE=${keyFile}: ${err.message}`);
}
if (clientSecretKey.asymmetricKeyType !== 'ec'
    || clientSecretKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
  fail(`APPLE_PRIVATE_KEY_FILE=${keyFile} is not an EC P-256 key (Apple's keys are; ES256 needs one)`);
}

// Apple signs ID tokens with RS256; a fresh key for every run.
const { privateKey: idTokenKey, publicKey: idTokenPublicKey } =
  await generateKeyPair('RS256', { modulusLength: 2048 });
const idTokenKid = `stand-in-${randomBytes(5).toString('hex')}`;
const jwks = {
  keys: [{ ...(await exportJWK(idTokenPublicKey)), kid: idTokenKid, alg: 'RS256', use: 'sig' }],
};

const discovery = {
  issuer,
  authorization_endpoint: `${issuer}/auth/authorize`,
  token_endpoint: `${issuer}/auth/token`,
  revocation_endpoint: `${issuer}/auth/revoke`,
  jwks_uri: `${issuer}/auth/keys`,
  response_types_supported: ['code'],
  response_modes_supported: ['query', 'fragment', 'form_post'],
  subject_types_supported: ['pairwise'],
  id_token_signing_alg_values_supported: ['RS256'],
  scopes_supported: ['openid', 'email', 'name'],
  token_endpoint_auth_methods_supported: ['client_secret_post'],
  claims_supported: [
    'aud', 'email', 'email_verified', 'exp', 'iat', 'is_private_email', 'iss', 'nonce',
    'nonce_supported', 'real_user_status', 'sub', 'transfer_sub',
  ],
};

// ---------------------------------------------------------------------------------------
// State (in memory; it dies with the process, which is what tests want)

// Per-run key for the pairwise subject ids: stable within a run.
const subjectKey = randomBytes(32);
// login -> its stable private relay address.
const relayEmails = new Map();
// `${clientId}\n${login}` -> { hideMyEmail }: the logins that have authorised the app.
const authorisations = new Map();
// code -> what it was issued for.
const codes = new Map();
// refresh token -> { clientId, login, authTime }; access token -> { clientId, login, expiresAt }.
const refreshTokens = new Map();
const accessTokens = new Map();

const stats = {
  client_secrets_verified: 0,
  client_secrets_refused: 0,
  token_requests: 0,
  revoke_requests: 0,
  codes_issued: 0,
  last_client_secret_header: null,
  last_client_secret_claims: null,
  last_client_secret_refusal: null,
};

const now = () => Math.floor(Date.now() / 1000);
const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');
const authorisationKey = (client, login) => `${client}\n${login}`;

/** Apple's pairwise subject, e.g. 000123.0123456789abcdef0123456789abcdef.0456. */
function subjectFor(login) {
  const hash = createHmac('sha256', subjectKey).update(`${teamId}\n${login}`).digest();
  const digits = (offset, length) =>
    String(hash.readUInt32BE(offset) % 10 ** length).padStart(length, '0');
  return `000${digits(16, 3)}.${hash.subarray(0, 16).toString('hex')}.${digits(20, 4)}`;
}

function ownEmailFor(login) {
  return login.includes('@') ? login : `${login}@example.com`;
}

function relayEmailFor(login) {
  if (!relayEmails.has(login)) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let local = '';
    for (let i = 0; i < 10; i += 1) local += alphabet[randomInt(alphabet.length)];
    relayEmails.set(login, `${local}@privaterelay.appleid.com`);
  }
  return relayEmails.get(login);
}

/** Ends a login's authorisation of a client: its tokens and codes stop working. */
function endAuthorisation(client, login) {
  const forgotten = authorisations.delete(authorisationKey(client, login));
  for (const store of [refreshTokens, accessTokens, codes]) {
    for (const [token, grant] of store) {
      if (grant.clientId === client && grant.login === login) store.delete(token);
    }
  }
  return forgotten;
}

function sweepExpired() {
  const t = now();
  for (const [code, grant] of codes) if (grant.expiresAt <= t) codes.delete(code);
  for (const [token, grant] of accessTokens) if (grant.expiresAt <= t) accessTokens.delete(token);
}

// ---------------------------------------------------------------------------------------
// HTTP helpers

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function sendJson(res, status, body, extraHeaders = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...extraHeaders });
  res.end(JSON.stringify(body));
}

/** The token endpoint's answers: never cached (RFC 6749 §5.1). */
function sendTokenJson(res, status, body) {
  sendJson(res, status, body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: -apple-system, system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin: 0.8rem 0 0.2rem; }
  input[type=text] { width: 100%; padding: 0.4rem; box-sizing: border-box; }
  label.check { display: flex; gap: 0.4rem; align-items: center; }
  .buttons { margin-top: 1.2rem; display: flex; gap: 0.6rem; }
  .problem { color: #b00020; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(html);
}

/** Apple's answer to an unknown client or redirect URI: a page of its own, no redirect. */
function sendAuthorizeError(res, message) {
  console.log(`apple: authorize refused: ${message}`);
  sendHtml(res, 400, page('Sign in with Apple ID', `<h1>Sign in with Apple ID</h1>
<p class="problem">${escapeHtml(message)}</p>`));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A form-encoded body as a plain object (the first value of each name). */
async function readForm(req) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const text = await readBody(req);
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(400, `expected application/x-www-form-urlencoded, got ${JSON.stringify(type)}`);
  }
  const form = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (!(name in form)) form[name] = value;
  }
  return form;
}

// ---------------------------------------------------------------------------------------
// The authorization request

// The parameters the sign-in page carries through as hidden fields.
const AUTHORIZE_PARAMS = [
  'response_type', 'response_mode', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce',
  'code_challenge', 'code_challenge_method',
];

/** The checked request, or an error message for Apple's error page. */
function checkAuthorizeRequest(params) {
  if (params.client_id !== clientId || params.redirect_uri !== redirectUri) {
    return { error: 'invalid_request: Invalid client id or web redirect url.' };
  }
  const responseType = params.response_type ?? '';
  if (responseType !== 'code') {
    return { error: `unsupported_response_type: ${JSON.stringify(responseType)} (this stand-in answers "code" only)` };
  }
  const scopes = (params.scope ?? '').split(' ').filter(Boolean);
  const unknown = scopes.filter((s) => !discovery.scopes_supported.includes(s));
  if (unknown.length > 0) return { error: `invalid_scope: ${unknown.join(' ')}` };
  const responseMode = params.response_mode || 'query';
  if (!discovery.response_modes_supported.includes(responseMode)) {
    return { error: `invalid_request: unsupported response_mode ${JSON.stringify(responseMode)}` };
  }
  if ((scopes.includes('name') || scopes.includes('email')) && responseMode !== 'form_post') {
    return { error: 'response_mode must be form_post when name or email scope is requested' };
  }
  if (params.code_challenge !== undefined || params.code_challenge_method !== undefined) {
    if (params.code_challenge_method !== 'S256') {
      return { error: 'invalid_request: code_challenge_method must be S256' };
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge ?? '')) {
      return { error: 'invalid_request: code_challenge must be a base64url SHA-256 hash' };
    }
  }
  return {
    request: {
      responseMode,
      scopes,
      state: params.state,
      nonce: params.nonce,
      codeChallenge: params.code_challenge,
    },
  };
}

function signInPage(params, request, problem) {
  const hidden = AUTHORIZE_PARAMS
    .filter((name) => params[name] !== undefined)
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params[name])}">`)
    .join('\n  ');
  const nameFields = request.scopes.includes('name') ? `
  <label for="first_name">First name</label>
  <input type="text" id="first_name" name="first_name" autocomplete="given-name" value="${escapeHtml(params.first_name ?? '')}">
  <label for="last_name">Last name</label>
  <input type="text" id="last_name" name="last_name" autocomplete="family-name" value="${escapeHtml(params.last_name ?? '')}">` : '';
  const emailField = request.scopes.includes('email') ? `
  <label class="check"><input type="checkbox" id="hide_my_email" name="hide_my_email" value="on"${params.hide_my_email === 'on' ? ' checked' : ''}> Hide My Email</label>` : '';
  return page('Sign in with Apple ID', `<h1>Sign in with Apple ID</h1>
<p>Use your Apple ID to sign in to <strong>${escapeHtml(clientId)}</strong>.</p>
${problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/auth/authorize/decide">
  ${hidden}
  <label for="login">Apple ID</label>
  <input type="text" id="login" name="login" autocomplete="username" value="${escapeHtml(params.login ?? '')}">${nameFields}${emailField}
  <div class="buttons">
    <button type="submit" name="decision" value="continue">Continue</button>
    <button type="submit" name="decision" value="cancel">Cancel</button>
  </div>
</form>`);
}

/** The answer to the app, in the response mode it asked for. */
function answerApp(res, responseMode, fields) {
  const present = Object.entries(fields).filter(([, value]) => value !== undefined);
  if (responseMode === 'form_post') {
    const inputs = present
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
      .join('\n  ');
    sendHtml(res, 200, page('Sign in with Apple ID', `<form method="post" action="${escapeHtml(redirectUri)}">
  ${inputs}
  <p>Returning to the app…</p>
  <button type="submit">Continue to the app</button>
</form>
<script>document.forms[0].submit();</script>`));
    return;
  }
  const target = new URL(redirectUri);
  const query = new URLSearchParams(present);
  if (responseMode === 'fragment') target.hash = query.toString();
  else for (const [name, value] of query) target.searchParams.append(name, value);
  res.writeHead(302, { Location: target.toString() });
  res.end();
}

function authorize(res, url) {
  const params = Object.fromEntries(url.searchParams);
  const { error, request } = checkAuthorizeRequest(params);
  if (error) {
    sendAuthorizeError(res, error);
    return;
  }
  sendHtml(res, 200, signInPage(params, request));
}

async function decide(req, res) {
  const form = await readForm(req);
  // The form came back through the browser: check it all again.
  const { error, request } = checkAuthorizeRequest(form);
  if (error) {
    sendAuthorizeError(res, error);
    return;
  }
  if (form.decision === 'cancel') {
    answerApp(res, request.responseMode, { error: 'user_cancelled_authorize', state: request.state });
    return;
  }
  if (form.decision !== 'continue') throw new HttpError(400, 'decision must be continue or cancel');
  const login = (form.login ?? '').trim();
  if (login === '') {
    sendHtml(res, 400, signInPage(form, request, 'Enter your Apple ID.'));
    return;
  }

  const key = authorisationKey(clientId, login);
  const first = !authorisations.has(key);
  if (first) authorisations.set(key, { hideMyEmail: form.hide_my_email === 'on' });
  const { hideMyEmail } = authorisations.get(key);
  const email = hideMyEmail ? relayEmailFor(login) : ownEmailFor(login);

  sweepExpired();
  const code = `c${randomBytes(16).toString('hex')}.0.stand-in.${randomToken(16)}`;
  const authTime = now();
  codes.set(code, {
    clientId,
    redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    scopes: request.scopes,
    login,
    email,
    isPrivateEmail: hideMyEmail,
    authTime,
    expiresAt: authTime + CODE_TTL,
  });
  stats.codes_issued += 1;

  // Apple's `user` field: the first authorisation only, and only what the scopes asked for.
  let user;
  if (first && (request.scopes.includes('name') || request.scopes.includes('email'))) {
    const shared = {};
    if (request.scopes.includes('name')) {
      shared.name = {
        firstName: (form.first_name ?? '').trim(),
        lastName: (form.last_name ?? '').trim(),
      };
    }
    if (request.scopes.includes('email')) shared.email = email;
    user = JSON.stringify(shared);
  }
  console.log(`apple: ${login} authorised ${clientId}` +
    `${first ? ' for the first time' : ' again'}${user ? ' (user field sent)' : ''}`);
  answerApp(res, request.responseMode, { code, state: request.state, user });
}

// ---------------------------------------------------------------------------------------
// Client authentication: the client secret JWT

/** Checks the app's client secret; counts and logs the outcome. */
async function authenticateClient(form, endpoint) {
  const refuse = (reason) => {
    stats.client_secrets_refused += 1;
    stats.last_client_secret_refusal = reason;
    console.log(`apple: ${endpoint}: refused client secret: ${reason}`);
    return false;
  };
  const secret = form.client_secret;
  stats.last_client_secret_header = null;
  stats.last_client_secret_claims = null;
  stats.last_client_secret_refusal = null;
  if (secret === undefined || secret === '') {
    return refuse('no client_secret in the body (client_secret_post is the only method)');
  }
  try {
    stats.last_client_secret_header = decodeProtectedHeader(secret);
    stats.last_client_secret_claims = decodeJwt(secret);
  } catch {
    return refuse('client_secret is not a JWT');
  }
  if (form.client_id !== clientId) {
    return refuse(`client_id ${JSON.stringify(form.client_id)} is not ${JSON.stringify(clientId)}`);
  }
  const header = stats.last_client_secret_header;
  if (header.kid !== keyId) {
    return refuse(`header kid ${JSON.stringify(header.kid)} is not ${JSON.stringify(keyId)}`);
  }
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(secret, clientSecretKey, {
      algorithms: ['ES256'],
      issuer: teamId,
      subject: clientId,
      audience: CLIENT_SECRET_AUDIENCE,
      requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp'],
      clockTolerance: CLOCK_SKEW,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError) {
      return refuse(`${err.code}: ${err.message}${err.claim ? ` (claim ${err.claim})` : ''}`);
    }
    throw err;
  }
  // jose checks iss, sub, aud (one of them, if an array), exp and the signature; the rest is
  // Apple's own rules.
  if (typeof claims.aud !== 'string') {
    return refuse(`aud must be the string ${JSON.stringify(CLIENT_SECRET_AUDIENCE)}, not ${JSON.stringify(claims.aud)}`);
  }
  const t = now();
  if (claims.iat > t + CLOCK_SKEW) return refuse(`iat ${claims.iat} is in the future (now ${t})`);
  if (claims.exp - claims.iat > CLIENT_SECRET_MAX_LIFETIME) {
    return refuse(`exp - iat is ${claims.exp - claims.iat} s, more than ${CLIENT_SECRET_MAX_LIFETIME} (six months)`);
  }
  stats.client_secrets_verified += 1;
  return true;
}

// ---------------------------------------------------------------------------------------
// The token endpoint

function tokenError(res, error, description) {
  console.log(`apple: /auth/token: ${error}${description ? ` (${description})` : ''}`);
  sendTokenJson(res, 400, description ? { error, error_description: description } : { error });
}

/** OpenID Connect's at_hash for RS256: the left half of SHA-256, base64url. */
function atHash(accessToken) {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

async function idToken({ login, email, isPrivateEmail, authTime, nonce, accessToken }) {
  const t = now();
  const claims = {
    at_hash: atHash(accessToken),
    email,
    email_verified: 'true',
    ...(isPrivateEmail ? { is_private_email: 'true' } : {}),
    auth_time: authTime,
    nonce_supported: true,
    real_user_status: 2,
    ...(nonce !== undefined ? { nonce } : {}),
  };
  if (email === undefined) {
    delete claims.email;
    delete claims.email_verified;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: idTokenKid })
    .setIssuer(issuer)
    .setAudience(clientId)
    .setSubject(subjectFor(login))
    .setIssuedAt(t)
    .setExpirationTime(t + ID_TOKEN_TTL)
    .sign(idTokenKey);
}

function newAccessToken(grant) {
  const token = `a${randomBytes(16).toString('hex')}.0.stand-in.${randomToken(16)}`;
  accessTokens.set(token, { clientId: grant.clientId, login: grant.login, expiresAt: now() + ACCESS_TOKEN_TTL });
  return token;
}

/** The body of a token or revocation request, or undefined once an OAuth error is sent. */
async function readTokenForm(req, res, endpoint) {
  try {
    return await readForm(req);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    console.log(`apple: ${endpoint}: invalid_request (${err.message})`);
    sendTokenJson(res, 400, { error: 'invalid_request', error_description: err.message });
    return undefined;
  }
}

async function token(req, res) {
  stats.token_requests += 1;
  const form = await readTokenForm(req, res, '/auth/token');
  if (!form) return;
  if (!(await authenticateClient(form, '/auth/token'))) {
    sendTokenJson(res, 400, { error: 'invalid_client' });
    return;
  }
  sweepExpired();

  if (form.grant_type === 'authorization_code') {
    const grant = codes.get(form.code ?? '');
    // Spent by any use, good or bad.
    codes.delete(form.code ?? '');
    if (!grant) return tokenError(res, 'invalid_grant', 'The code has expired or has been revoked.');
    if (grant.expiresAt <= now()) return tokenError(res, 'invalid_grant', 'The code has expired.');
    if (grant.clientId !== form.client_id) return tokenError(res, 'invalid_grant', 'The code was issued to another client.');
    if (form.redirect_uri !== grant.redirectUri) {
      return tokenError(res, 'invalid_grant', `redirect_uri ${JSON.stringify(form.redirect_uri)} is not the authorization request's`);
    }
    if (grant.codeChallenge !== undefined) {
      const verifier = form.code_verifier ?? '';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (computed !== grant.codeChallenge) {
        return tokenError(res, 'invalid_grant', verifier === '' ? 'code_verifier is missing' : 'code_verifier does not match code_challenge');
      }
    } else if (form.code_verifier !== undefined) {
      return tokenError(res, 'invalid_grant', 'code_verifier sent for a code issued without code_challenge');
    }
    const accessToken = newAccessToken(grant);
    const refreshToken = `r${randomBytes(16).toString('hex')}.0.stand-in.${randomToken(16)}`;
    const email = grant.scopes.includes('email') ? grant.email : undefined;
    refreshTokens.set(refreshToken, {
      clientId: grant.clientId,
      login: grant.login,
      email,
      isPrivateEmail: grant.isPrivateEmail,
      authTime: grant.authTime,
    });
    sendTokenJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL,
      refresh_token: refreshToken,
      id_token: await idToken({ ...grant, email, accessToken }),
    });
    return;
  }

  if (form.grant_type === 'refresh_token') {
    const grant = refreshTokens.get(form.refresh_token ?? '');
    if (!grant || grant.clientId !== form.client_id) {
      return tokenError(res, 'invalid_grant', 'The refresh token is unknown or has been revoked.');
    }
    const accessToken = newAccessToken(grant);
    sendTokenJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL,
      id_token: await idToken({ ...grant, nonce: undefined, accessToken }),
    });
    return;
  }

  tokenError(res, 'unsupported_grant_type', `grant_type ${JSON.stringify(form.grant_type)}`);
}

async function revoke(req, res) {
  stats.revoke_requests += 1;
  const form = await readTokenForm(req, res, '/auth/revoke');
  if (!form) return;
  if (!(await authenticateClient(form, '/auth/revoke'))) {
    sendTokenJson(res, 400, { error: 'invalid_client' });
    return;
  }
  if (!form.token) {
    sendTokenJson(res, 400, { error: 'invalid_request', error_description: 'token is missing' });
    return;
  }
  const grant = refreshTokens.get(form.token) ?? accessTokens.get(form.token);
  if (grant && grant.clientId === form.client_id) {
    endAuthorisation(grant.clientId, grant.login);
    console.log(`apple: /auth/revoke: ${grant.login}'s authorisation of ${grant.clientId} ended`);
  }
  res.writeHead(200, { 'Cache-Control': 'no-store' });
  res.end();
}

// ---------------------------------------------------------------------------------------
// Routing

function decodeLogin(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, 'bad login in path');
  }
}

async function route(req, res) {
  const url = new URL(req.url, issuer);
  const { pathname } = url;
  const method = req.method;

  if (method === 'GET' && pathname === '/.well-known/openid-configuration') return sendJson(res, 200, discovery);
  if (method === 'GET' && pathname === '/auth/keys') return sendJson(res, 200, jwks);
  if (method === 'GET' && pathname === '/auth/authorize') return authorize(res, url);
  if (method === 'POST' && pathname === '/auth/authorize/decide') return decide(req, res);
  if (method === 'POST' && pathname === '/auth/token') return token(req, res);
  if (method === 'POST' && pathname === '/auth/revoke') return revoke(req, res);
  // Browsers ask every site for one; a 404 would show as a console error on its pages.
  if (pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }

  if (method === 'GET' && pathname === '/test/stats') return sendJson(res, 200, stats);
  const account = /^\/test\/accounts\/([^/]+)$/.exec(pathname);
  if (method === 'GET' && account) {
    const login = decodeLogin(account[1]);
    const authorisation = authorisations.get(authorisationKey(clientId, login));
    return sendJson(res, 200, {
      login,
      sub: subjectFor(login),
      email: ownEmailFor(login),
      private_relay_email: relayEmails.get(login) ?? null,
      authorised: authorisation !== undefined,
      hide_my_email: authorisation?.hideMyEmail ?? null,
    });
  }
  const forget = /^\/test\/forget\/([^/]+)$/.exec(pathname);
  if (method === 'POST' && forget) {
    const login = decodeLogin(forget[1]);
    return sendJson(res, 200, { login, forgotten: endAuthorisation(clientId, login) });
  }

  throw new HttpError(404, `no route ${method} ${pathname}`);
}

const server = createServer((req, res) => {
  route(req, res).catch((err) => {
    if (!(err instanceof HttpError)) console.error('apple: internal error:', err);
    const status = err instanceof HttpError ? err.status : 500;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (status !== 404) console.log(`apple: ${req.method} ${req.url?.split('?')[0]}: ${status} ${err.message}`);
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${err instanceof HttpError ? err.message : 'internal error'}\n`);
  });
});

server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`apple: cannot listen on 127.0.0.1:${port}: the port is already in use (set APPLE_PORT to another port)`);
  } else {
    console.error(`apple: cannot listen on 127.0.0.1:${port}: ${err.message}`);
  }
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`Sign in with Apple stand-in listening on ${issuer}` +
    ` (client ${clientId}, team ${teamId}, key ${keyId}, redirect URI ${redirectUri})`);
});

// Exit cleanly on SIGTERM (kill) and SIGINT (Ctrl-C).
let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`apple: ${signal} received, shutting down`);
  server.close(() => process.exit(0));
  // Browsers keep idle keep-alive connections open; do not wait for them.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
