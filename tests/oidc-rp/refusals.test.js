/*
 * refusals.test.js - what qrlogind's OpenID Connect provider refuses, seen
 * through openid-client 6 where the library lets a request through: no
 * code_challenge, plain, a wrong verifier (and the code is then burned), a
 * reused code (and its access token then gets 401 at userinfo), an
 * unregistered redirect_uri (an error page, never a redirect).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, DEMO_REDIRECT, authRequest, client, otpLoginAt, rp, secret, startOp } from './lib.js';

async function withOp(body) {
  const op = await startOp();
  try {
    await body(op);
  } catch (e) {
    e.message += '\n--- qrlogind log ---\n' + op.log();
    throw e;
  } finally {
    await op.stop();
  }
}

/* The authorization error a request with params comes back with, checked
 * by the library (state, iss). */
async function authError(op, config, params) {
  const { url, checks } = await authRequest(config, params);
  const r = await new Browser().navigate(url.href, op);
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith(DEMO_REDIRECT + '?'), r.location);
  let err = null;
  await assert.rejects(client.authorizationCodeGrant(config, new URL(r.location), checks), (e) => {
    err = e;
    return e instanceof client.AuthorizationResponseError;
  });
  return err.error;
}

/* A code for the demo portal after an ID + password + SMS login:
 * {callback URL, checks, browser}. */
async function code(op, config, b = new Browser()) {
  const { url, checks } = await authRequest(config);
  const first = await b.navigate(url.href, op);
  const back = first.location.startsWith(DEMO_REDIRECT) ? first
    : await otpLoginAt(op, b, first.location);
  assert.ok(back.location.startsWith(DEMO_REDIRECT + '?code='), back.location);
  return { cb: new URL(back.location), checks, b };
}

test('no code_challenge, or plain: invalid_request', () => withOp(async (op) => {
  const config = await rp(op);
  assert.equal(await authError(op, config, { code_challenge: undefined,
    code_challenge_method: undefined }), 'invalid_request');
  const v = client.randomPKCECodeVerifier();
  assert.equal(await authError(op, config, { code_challenge: v, code_challenge_method: 'plain' }),
    'invalid_request');
  /* a challenge without a method is plain (RFC 7636): refused too */
  assert.equal(await authError(op, config, { code_challenge_method: undefined }), 'invalid_request');
}));

test('a wrong verifier is refused and burns the code', () => withOp(async (op) => {
  const config = await rp(op);
  const { cb, checks } = await code(op, config);
  await assert.rejects(client.authorizationCodeGrant(config, cb,
    { ...checks, pkceCodeVerifier: client.randomPKCECodeVerifier() }),
  (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
  await assert.rejects(client.authorizationCodeGrant(config, cb, checks),
    (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
}));

test('a reused code is refused and its access token revoked (userinfo 401)', () => withOp(async (op) => {
  const config = await rp(op);
  const { cb, checks } = await code(op, config);
  const tokens = await client.authorizationCodeGrant(config, cb, checks);
  secret(tokens.access_token);
  const sub = tokens.claims().sub;
  assert.equal((await client.fetchUserInfo(config, tokens.access_token, sub)).sub, sub);
  await assert.rejects(client.authorizationCodeGrant(config, cb, checks),
    (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
  await assert.rejects(client.fetchUserInfo(config, tokens.access_token, sub), (e) => {
    assert.equal(e.status, 401);
    assert.ok(e instanceof client.WWWAuthenticateChallengeError, e.constructor.name);
    assert.equal(e.cause[0].scheme, 'bearer');
    assert.equal(e.cause[0].parameters.error, 'invalid_token');
    return true;
  });
}));

test('ten parallel redemptions of one code: exactly one succeeds', () => withOp(async (op) => {
  const config = await rp(op);
  const { cb, checks } = await code(op, config);
  const all = await Promise.allSettled(Array.from({ length: 10 },
    () => client.authorizationCodeGrant(config, cb, checks)));
  const ok = all.filter((r) => r.status === 'fulfilled');
  all.forEach((r) => r.status === 'fulfilled' && secret(r.value.access_token));
  assert.equal(ok.length, 1);
  for (const r of all.filter((x) => x.status === 'rejected'))
    assert.equal(r.reason.error, 'invalid_grant');
}));

test('an unregistered redirect_uri: an error page, never a redirect', () => withOp(async (op) => {
  const config = await rp(op);
  for (const bad of [DEMO_REDIRECT + '/x', DEMO_REDIRECT + '?a=1', 'http://localhost:8081/callbac',
    'https://evil.example/callback']) {
    const { url } = await authRequest(config, {}, bad);
    const r = await new Browser().fetch(url.href, { crossSite: true });
    assert.equal(r.status, 400, bad);
    assert.equal(r.location, '', bad + ' redirected to ' + r.location);
  }
  /* and the client authenticates: a wrong secret is invalid_client */
  const wrong = await rp(op, 'dongnai-demo', 'not-the-secret');
  const { cb, checks } = await code(op, config);
  await assert.rejects(client.authorizationCodeGrant(wrong, cb, checks),
    (e) => e.status === 401 && (e.error === 'invalid_client' || e.cause?.[0]?.scheme === 'basic'));
}));
