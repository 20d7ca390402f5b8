/*
 * flow.test.js - qrlogind's OpenID Connect provider through openid-client 6,
 * black box: discovery and the key set; a QR login and an ID + password +
 * SMS login whose ID tokens the library verifies (signature against
 * /oauth2/jwks, iss, aud, exp, nonce, state, the response's iss) with the
 * right acr, amr and auth_time, and userinfo; SSO for a second portal;
 * prompt=login; prompt=none without a session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateJwkThumbprint, importJWK } from 'jose';
import {
  AN, BINH, BINH_PHONE, DEMO_REDIRECT, Browser, addClient, authRequest, client, otpLoginAt,
  phoneReady, qrLoginAt, rp, secret, startOp
} from './lib.js';

/* Runs body(op) with a fresh qrlogind (extra arguments), stopped after. */
async function withOp(extra, body) {
  const op = await startOp(extra);
  try {
    await body(op);
  } catch (e) {
    e.message += '\n--- qrlogind log ---\n' + op.log();
    throw e;
  } finally {
    await op.stop();
  }
}

/* A login for config in browser b: the authorization request (params),
 * the login page (how: 'qr' with phone home, or 'otp'), the library's code
 * grant. Returns {tokens, claims}. */
export async function loginThrough(op, config, b, how, params = {}, redirect = DEMO_REDIRECT) {
  const { url, checks } = await authRequest(config, params, redirect);
  const first = await b.navigate(url.href, op);
  assert.equal(first.status, 302);
  assert.ok(first.location.startsWith(op.issuer + '/?oidc='), 'not the login page: ' + first.location);
  const back = how === 'otp' ? await otpLoginAt(op, b, first.location)
    : await qrLoginAt(op, b, first.location, how.home);
  assert.equal(back.status, 302);
  assert.ok(back.location.startsWith(redirect + '?'), 'not back at the portal: ' + back.location);
  const tokens = await client.authorizationCodeGrant(config, new URL(back.location), checks);
  secret(tokens.access_token);
  secret(tokens.id_token);
  return { tokens, claims: tokens.claims() };
}

test('discovery and the key set validate with the library', () => withOp([], async (op) => {
  const config = await rp(op);
  const m = config.serverMetadata();
  assert.equal(m.issuer, op.issuer);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'])
    assert.ok(m[k].startsWith(op.issuer + '/'), k + ': ' + m[k]);
  assert.deepEqual(m.response_types_supported, ['code']);
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.ok(m.acr_values_supported.includes('LoA1') && m.acr_values_supported.includes('LoA2'));
  assert.equal(m.authorization_response_iss_parameter_supported, true);
  assert.ok(m.id_token_signing_alg_values_supported.includes('ES256'));
  assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(m.subject_types_supported.includes('public'));
  /* the key set: public EC keys only, kid = RFC 7638 thumbprint */
  const res = await fetch(m.jwks_uri);
  assert.equal(res.status, 200);
  const set = await res.json();
  assert.ok(Array.isArray(set.keys) && set.keys.length >= 1);
  for (const jwk of set.keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.ok(!(priv in jwk), 'private ' + priv);
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk));
    const key = await importJWK(jwk, jwk.alg || 'ES256');
    assert.equal(key.type, 'public');
  }
}));

test('a QR login: the library verifies the ID token; acr LoA2, amr swk mca, auth_time; userinfo',
  () => withOp([], async (op) => {
    const config = await rp(op);
    await phoneReady(op, 'an');
    const b = new Browser();
    const t0 = Math.floor(Date.now() / 1000);
    const { url, checks } = await authRequest(config, { acr_values: 'LoA2' });
    const first = await b.navigate(url.href, op);
    assert.ok(first.location.startsWith(op.issuer + '/?oidc='), first.location);
    const back = await qrLoginAt(op, b, first.location, 'an');
    assert.ok(back.location.startsWith(DEMO_REDIRECT + '?'), back.location);
    /* the library checks the state: another one is refused before any
     * token request (the code stays good) */
    await assert.rejects(client.authorizationCodeGrant(config, new URL(back.location),
      { ...checks, expectedState: 'not-the-state' }),
    (e) => e instanceof client.ClientError && /"state"/.test(e.cause?.message ?? ''));
    const tokens = await client.authorizationCodeGrant(config, new URL(back.location), checks);
    secret(tokens.access_token);
    const c = tokens.claims();
    const now = Math.floor(Date.now() / 1000);
    assert.equal(c.iss, op.issuer);
    assert.equal(c.aud, 'dongnai-demo');
    assert.equal(c.nonce, checks.expectedNonce);
    assert.equal(c.acr, 'LoA2');
    assert.deepEqual(c.amr, ['swk', 'mca']);
    assert.ok(c.auth_time >= t0 - 1 && c.auth_time <= now + 1, 'auth_time ' + c.auth_time);
    assert.ok(typeof c.sid === 'string' && c.sid.length >= 16);
    assert.ok(!c.sub.includes(AN), 'sub holds the citizen ID');
    const info = await client.fetchUserInfo(config, tokens.access_token, c.sub);
    assert.equal(info.sub, c.sub);
    assert.equal(info.name, 'Nguyễn Văn An');
    assert.equal(info.citizen_id, AN);
    assert.equal(info.level, 2);
    /* another subject is refused by the library */
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, 'someone-else'));
  }));

test('ID + password + SMS: acr by the account\'s level, amr pwd sms mfa', async () => {
  await withOp([], async (op) => {
    const config = await rp(op);
    const { claims, tokens } = await loginThrough(op, config, new Browser(), 'otp');
    assert.equal(claims.acr, 'LoA2');
    assert.deepEqual(claims.amr, ['pwd', 'sms', 'mfa']);
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, claims.sub)).level, 2);
  });
  /* a level-1 account (let in by --password-level 1): LoA1 */
  await withOp(['--password-level', '1'], async (op) => {
    const config = await rp(op);
    const b = new Browser();
    const { url, checks } = await authRequest(config, { acr_values: 'LoA1' });
    const first = await b.navigate(url.href, op);
    const back = await otpLoginAt(op, b, first.location, BINH, BINH_PHONE);
    const tokens = await client.authorizationCodeGrant(config, new URL(back.location), checks);
    const c = tokens.claims();
    assert.equal(c.acr, 'LoA1');
    assert.deepEqual(c.amr, ['pwd', 'sms', 'mfa']);
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, c.sub)).level, 1);
  });
});

test('SSO: a second portal logs in without a scan (same sid, auth_time, sub)',
  () => withOp([], async (op) => {
    await phoneReady(op, 'an');
    const b = new Browser();
    const first = await loginThrough(op, await rp(op), b, { home: 'an' });
    const redirect2 = 'http://localhost:8082/callback';
    const c2 = await addClient(op, 'bienhoa-test', { redirect: redirect2 });
    const config2 = await rp(op, c2.client_id, c2.client_secret);
    const { url, checks } = await authRequest(config2, {}, redirect2);
    /* one navigation, straight back with a code: no login page, no scan */
    const r = await b.navigate(url.href, op);
    assert.equal(r.status, 302);
    assert.ok(r.location.startsWith(redirect2 + '?code='), 'not SSO: ' + r.location);
    const tokens = await client.authorizationCodeGrant(config2, new URL(r.location), checks);
    const c = tokens.claims();
    assert.equal(c.aud, 'bienhoa-test');
    assert.equal(c.sid, first.claims.sid);
    assert.equal(c.auth_time, first.claims.auth_time);
    assert.equal(c.sub, first.claims.sub);
  }));

test('prompt=login forces a new scan and a new auth_time', () => withOp([], async (op) => {
  const config = await rp(op);
  await phoneReady(op, 'an');
  const b = new Browser();
  const first = await loginThrough(op, config, b, { home: 'an' });
  const { url, checks } = await authRequest(config, { prompt: 'login' });
  const page = await b.navigate(url.href, op);
  assert.ok(page.location.startsWith(op.issuer + '/?oidc='), 'no login page: ' + page.location);
  /* the old session does not do: resume sends the browser back to the page */
  const req = new URL(page.location).searchParams.get('oidc');
  const again = await b.fetch(op.issuer + '/oauth2/resume?req=' + req);
  assert.ok(again.location.startsWith(op.issuer + '/?oidc='), 'old session accepted: ' + again.location);
  /* auth_time counts whole seconds: the new scan starts in a later second
   * than the first login's (a timer to that boundary, at most 1 s) */
  const wait = (first.claims.auth_time + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await phoneReady(op, 'an'); /* the first QR login logged the phone out */
  const back = await qrLoginAt(op, b, page.location, 'an');
  assert.ok(back.location.startsWith(DEMO_REDIRECT + '?code='), back.location);
  const c = (await client.authorizationCodeGrant(config, new URL(back.location), checks)).claims();
  assert.ok(c.auth_time > first.claims.auth_time, `auth_time ${c.auth_time} <= ${first.claims.auth_time}`);
  assert.notEqual(c.sid, first.claims.sid);
  assert.equal(c.sub, first.claims.sub);
}));

test('prompt=none without a session: login_required, through the library', () => withOp([], async (op) => {
  const config = await rp(op);
  const { url, checks } = await authRequest(config, { prompt: 'none' });
  const r = await new Browser().navigate(url.href, op);
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith(DEMO_REDIRECT + '?'), r.location);
  await assert.rejects(client.authorizationCodeGrant(config, new URL(r.location), checks),
    (e) => e instanceof client.AuthorizationResponseError && e.error === 'login_required');
}));
