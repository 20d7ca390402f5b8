/*
 * portal.test.js - the demo provincial portal (examples/demo-portal) against
 * a real qrlogind, black box: a citizen logs in to it by QR and is greeted
 * with what the ID token says; its /backchannel-logout refuses tokens that
 * are not the OP's, and with the OP's own key (read from its database with
 * Debian's sqlite3) takes a good one and refuses each broken rule; its
 * logout. And logout itself: RP-initiated logout
 * redirects with state and ends the national session, and the portal
 * receives a logout token that jose verifies (typ logout+jwt, the session's
 * sid, no nonce) when another portal logs out and on an admin revoke.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, decodeProtectedHeader } from 'jose';
import {
  AN, Browser, DEMO_REDIRECT, addClient, admin, authRequest, client, otpLoginAt, phoneReady,
  qrLoginAt, rp, secret, startOp
} from './lib.js';

const PORTAL = process.env.DEMO_PORTAL;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/* qrlogind offers RP-initiated logout: discovery names end_session_endpoint
 * and it answers (not 404). Required: the logout tests below must run, never
 * be skipped. */
const hasLogout = await (async () => {
  const op = await startOp();
  try {
    const end = (await rp(op)).serverMetadata().end_session_endpoint;
    return !!end && (await fetch(end, { redirect: 'manual' })).status !== 404;
  } finally {
    await op.stop();
  }
})();
assert.ok(hasLogout, 'qrlogind has no working end_session_endpoint (/oauth2/logout)');
const needsLogout = {};

/* Logs a citizen in to the portal in browser b with the phone home (or by
 * SSO): {page: the greeting page's HTML, callback: the URL it came back
 * to}. */
async function portalLogin(op, p, b, home) {
  const start = await b.fetch(p.base + '/login');
  assert.equal(start.status, 303);
  assert.ok(start.location.startsWith(op.issuer + '/oauth2/authorize?'), start.location);
  const u = new URL(start.location);
  assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(u.searchParams.get('state') && u.searchParams.get('nonce'));
  assert.equal(u.searchParams.get('acr_values'), 'LoA2');
  const first = await b.navigate(start.location, op);
  const back = first.location.startsWith(p.base + '/callback') ? first
    : await qrLoginAt(op, b, first.location, home);
  assert.ok(back.location.startsWith(p.base + '/callback?'), back.location);
  const cb = await b.fetch(back.location, { crossSite: true });
  assert.equal(cb.status, 303, cb.body);
  assert.equal(cb.location, p.base + '/');
  return { page: (await b.fetch(p.base + '/')).body, callback: back.location };
}

/* Everything a test needs: qrlogind, the portal with its own client. */
async function withPortal(body) {
  const op = await startOp();
  let p = null;
  try {
    /* the portal's port is only known once it listens: start it on a free
     * port as the demo client, register a client for that port, restart it
     * on the same port with that client (should another program take the
     * port in the moment between, the restart fails loudly, never wrongly) */
    const probe = await startPortal(['--port', '0', '--issuer', op.issuer]);
    const port = probe.port;
    await probe.stop();
    const c = await addClient(op, 'dongnai-test', { redirect: `http://localhost:${port}/callback`,
      postLogout: `http://localhost:${port}/`, backchannel: `http://localhost:${port}/backchannel-logout` });
    p = await startPortal(['--port', String(port), '--issuer', op.issuer, '--client-id', c.client_id,
      '--client-secret', c.client_secret]);
    await body(op, p, c);
  } catch (e) {
    e.message += '\n--- qrlogind log ---\n' + op.log() + (p ? '\n--- portal ---\n' + p.out + p.err : '');
    throw e;
  } finally {
    if (p) await p.stop();
    await op.stop();
  }
}

/* The demo portal with args, once it listens: {port, base, out, event(),
 * stop()}. event(name, pred) resolves with the first JSON line it printed
 * (or prints) with that event that pred accepts. */
async function startPortal(args) {
  const proc = spawn(process.execPath, [PORTAL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { proc, out: '', err: '', events: [], waiters: [] };
  proc.stderr.on('data', (d) => { p.err += d; });
  p.port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the portal did not start: ' + p.err)), 30000);
    let seen = 0;
    proc.stdout.on('data', (d) => {
      p.out += d;
      const m = p.out.match(/demo-portal: listening on http:\/\/localhost:(\d+)\//);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
      const lines = p.out.split('\n');
      for (; seen < lines.length - 1; seen++) {
        if (!lines[seen].startsWith('{')) continue;
        const j = JSON.parse(lines[seen]);
        p.events.push(j);
        p.waiters.forEach((w) => w(j));
      }
    });
    proc.on('exit', (c) => reject(new Error('the portal exited ' + c + ': ' + p.err)));
  });
  p.base = `http://localhost:${p.port}`;
  p.event = (name, pred = () => true) => new Promise((resolve, reject) => {
    const hit = p.events.find((j) => j.event === name && pred(j));
    if (hit) return resolve(hit);
    const t = setTimeout(() => reject(new Error('no ' + name + ' from the portal:\n' + p.out + p.err)), 30000);
    p.waiters.push((j) => { if (j.event === name && pred(j)) { clearTimeout(t); resolve(j); } });
  });
  p.stop = async () => {
    if (proc.exitCode !== null) return;
    const done = new Promise((r) => proc.on('exit', (c) => r(c)));
    proc.kill('SIGTERM');
    assert.equal(await done, 0, 'the portal did not exit 0');
  };
  return p;
}

/* A logout token like the OP's, signed with a key that is not the OP's. */
async function forged(op, c, sid, { alg = 'ES256', typ = 'logout+jwt', extra = {} } = {}) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwks = await (await fetch(op.issuer + '/oauth2/jwks')).json();
  return new SignJWT({ sid, events: { [EVENT]: {} }, jti: 'forged-' + Math.random(), ...extra })
    .setProtectedHeader({ alg, typ, kid: jwks.keys[0].kid })
    .setIssuer(op.issuer).setAudience(c.client_id).setIssuedAt().setExpirationTime('2m')
    .sign(privateKey);
}

async function postToken(p, token) {
  const r = await fetch(p.base + '/backchannel-logout', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: token === null ? '' : new URLSearchParams({ logout_token: token }) });
  return { status: r.status, body: await r.text() };
}

test('the demo portal: QR login, the greeting, logout tokens not the OP\'s refused, logout',
  () => withPortal(async (op, p, c) => {
    await phoneReady(op, 'an');
    const b = new Browser();
    const home = await b.fetch(p.base + '/');
    assert.equal(home.status, 200);
    assert.match(home.body, /Cổng Dịch vụ công tỉnh Đồng Nai \(demo\)/);
    assert.match(home.body, /id="login" href="\/login">Đăng nhập</);
    assert.ok(!/<script/i.test(home.body), 'a script on the page');
    const csp = home.res.headers.get('content-security-policy');
    assert.ok(csp.includes("default-src 'none'") && !csp.includes('unsafe-inline'), csp);

    const { page, callback } = await portalLogin(op, p, b, 'an');
    assert.match(page, /<h1 id="greeting">Xin chào, Nguyễn Văn An<\/h1>/);
    assert.match(page, /<td id="acr">LoA2<\/td>/);
    assert.match(page, /data-amr="swk mca"/);
    assert.match(page, /<td id="level">Mức độ 2<\/td>/);
    assert.match(page, /data-auth-time="\d{10}"/);
    const login = await p.event('login');
    assert.equal(login.acr, 'LoA2');
    /* the portal's session cookie */
    const sc = (await b.fetch(p.base + '/')).res.headers.get('set-cookie');
    assert.equal(sc, null, 'a new cookie on every page');
    assert.ok(b.cookie('localhost', 'dp_session').length === 43);
    /* the callback a second time: its login is done */
    const again = await b.fetch(callback, { crossSite: true });
    assert.equal(again.status, 400);
    assert.match(again.body, /login_state_missing/);

    /* back-channel logout tokens that are not the OP's: refused, the
     * session stays */
    const bad = [
      await forged(op, c, login.sid),
      await forged(op, c, login.sid, { alg: 'RS256' }),
      'eyJhbGciOiJub25lIiwidHlwIjoibG9nb3V0K2p3dCJ9.' +
        Buffer.from(JSON.stringify({ iss: op.issuer, aud: c.client_id, iat: Math.floor(Date.now() / 1000),
          jti: 'x', sid: login.sid, events: { [EVENT]: {} } })).toString('base64url') + '.',
      'not-a-jwt', ''];
    for (const t of bad) {
      const r = await postToken(p, t);
      assert.equal(r.status, 400, 'accepted: ' + t);
      assert.equal(JSON.parse(r.body).error, 'invalid_request');
    }
    assert.equal(decodeProtectedHeader(bad[0]).typ, 'logout+jwt');
    assert.match((await b.fetch(p.base + '/')).body, /Xin chào, Nguyễn Văn An/);

    /* logout: the form's CSRF token is required */
    const csrf = page.match(/name="csrf" value="([^"]+)"/)[1];
    const noCsrf = await b.fetch(p.base + '/logout', { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=nope' });
    assert.equal(noCsrf.status, 403);
    const out = await b.fetch(p.base + '/logout', { method: 'POST', origin: p.base,
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf=' + csrf });
    assert.equal(out.status, 303);
    const meta = (await rp(op, c.client_id, c.client_secret)).serverMetadata();
    if (!meta.end_session_endpoint) {
      assert.equal(out.location, p.base + '/?logout=local');
      const after = await b.fetch(out.location);
      assert.match(after.body, /không có end_session_endpoint/);
      assert.match(after.body, /id="login"/);
    } else {
      /* to the OP's end_session_endpoint with the ID token, where to come
       * back and a state */
      assert.ok(out.location.startsWith(meta.end_session_endpoint + '?'), out.location);
      const u = new URL(out.location);
      assert.ok(u.searchParams.get('id_token_hint') && u.searchParams.get('state'));
      assert.equal(u.searchParams.get('post_logout_redirect_uri'), p.base + '/');
      assert.equal(u.searchParams.get('client_id'), c.client_id);
      if (hasLogout) {
        const back = await b.navigate(out.location, op);
        assert.ok(back.location.startsWith(p.base + '/?'), back.location);
        assert.equal(new URL(back.location).searchParams.get('state'), u.searchParams.get('state'));
        const after = await b.fetch(back.location, { crossSite: true });
        assert.match(after.body,
          /đăng xuất khỏi Cổng Dịch vụ công tỉnh Đồng Nai và khỏi Cổng Dịch vụ công quốc gia/);
      }
    }
    assert.match((await b.fetch(p.base + '/')).body, /id="login"/);
  }));

/* The provider's signing key, read from its database (white box: the
 * provider signs logout tokens only once /oauth2/logout lands, and the
 * portal's acceptance must be proved now): {kid, key}. */
function opKey(op) {
  const row = execFileSync('sqlite3', ['-readonly', op.db,
    'SELECT kid, hex(private_der) FROM oidc_keys ORDER BY created_at LIMIT 1']).toString().trim();
  const [kid, hex] = row.split('|');
  return { kid, key: createPrivateKey({ key: Buffer.from(hex, 'hex'), format: 'der', type: 'pkcs8' }) };
}

/* A logout token signed with the provider's key: claims over the defaults,
 * a claim set to undefined left out; header over {alg ES256, typ
 * logout+jwt, kid}. */
async function opToken(op, k, c, sid, claims = {}, header = {}) {
  const all = { iss: op.issuer, aud: c.client_id, iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(), sid, events: { [EVENT]: {} }, ...claims };
  for (const n of Object.keys(all)) if (all[n] === undefined) delete all[n];
  return new SignJWT(all).setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: k.kid, ...header })
    .sign(k.key);
}

test('the demo portal\'s back-channel logout with the provider\'s own key: every rule, then the ' +
  'session of that sid ends', () => withPortal(async (op, p, c) => {
  await phoneReady(op, 'an');
  const b = new Browser();
  await portalLogin(op, p, b, 'an');
  const { sid } = await p.event('login');
  const k = opKey(op);
  const old = Math.floor(Date.now() / 1000) - 600;
  const refused = {
    'typ JWT (an ID token)': await opToken(op, k, c, sid, {}, { typ: 'JWT' }),
    'a nonce': await opToken(op, k, c, sid, { nonce: 'n' }),
    'no events': await opToken(op, k, c, sid, { events: undefined }),
    'another event': await opToken(op, k, c, sid, { events: { 'urn:other': {} } }),
    'another audience': await opToken(op, k, c, sid, { aud: 'dongnai-demo' }),
    'another issuer': await opToken(op, k, c, sid, { iss: 'http://127.0.0.1:1' }),
    'neither sid nor sub': await opToken(op, k, c, undefined),
    'no jti': await opToken(op, k, c, sid, { jti: undefined }),
    'issued 10 minutes ago': await opToken(op, k, c, sid, { iat: old })
  };
  for (const [why, t] of Object.entries(refused)) {
    const r = await postToken(p, t);
    assert.equal(r.status, 400, why + ' accepted');
  }
  assert.match((await b.fetch(p.base + '/')).body, /Xin chào, Nguyễn Văn An/);
  /* a good token for another sid: accepted, ends nothing here */
  assert.equal((await postToken(p, await opToken(op, k, c, 'another-session-id'))).status, 200);
  assert.equal((await p.event('backchannel_logout', (j) => j.sid === 'another-session-id'))
    .sessions_ended, 0);
  assert.match((await b.fetch(p.base + '/')).body, /Xin chào, Nguyễn Văn An/);
  /* this session's: ended */
  const good = await opToken(op, k, c, sid);
  assert.equal((await postToken(p, good)).status, 200);
  assert.equal((await p.event('backchannel_logout', (j) => j.sid === sid)).sessions_ended, 1);
  assert.match((await b.fetch(p.base + '/')).body, /id="login"/);
  /* the same token again (its jti): refused */
  assert.equal((await postToken(p, good)).status, 400);
}));

test('RP-initiated logout redirects with state and ends the national session', needsLogout,
  async () => {
    const op = await startOp();
    try {
      const config = await rp(op);
      const b = new Browser();
      const { url, checks } = await authRequest(config);
      const first = await b.navigate(url.href, op);
      const back = await otpLoginAt(op, b, first.location);
      const tokens = await client.authorizationCodeGrant(config, new URL(back.location), checks);
      secret(tokens.id_token);
      const state = client.randomState();
      const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token,
        post_logout_redirect_uri: 'http://localhost:8081/', state });
      const r = await b.navigate(end.href, op);
      assert.ok(r.location.startsWith('http://localhost:8081/'), r.location);
      assert.equal(new URL(r.location).searchParams.get('state'), state);
      /* the national session is over: prompt=none finds none */
      const again = await authRequest(config, { prompt: 'none' });
      const n = await b.navigate(again.url.href, op);
      assert.ok(n.location.startsWith(DEMO_REDIRECT + '?'), n.location);
      assert.equal(new URL(n.location).searchParams.get('error'), 'login_required');
      /* an unregistered post_logout_redirect_uri is never redirected to */
      const evil = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token,
        post_logout_redirect_uri: 'https://evil.example/', state });
      const e = await b.fetch(evil.href, { crossSite: true });
      assert.ok(!e.location.startsWith('https://evil.example'), e.location);
    } catch (e) {
      e.message += '\n--- qrlogind log ---\n' + op.log();
      throw e;
    } finally {
      await op.stop();
    }
  });

test('back-channel: the portal gets a logout token jose verifies, on another portal\'s logout ' +
  'and on an admin revoke', needsLogout, () => withPortal(async (op, p) => {
  await phoneReady(op, 'an');
  const b = new Browser();
  await portalLogin(op, p, b, 'an');
  const login = await p.event('login');
  /* the demo client in the same browser (SSO), then its RP-initiated logout */
  const config = await rp(op);
  const { url, checks } = await authRequest(config);
  const sso = await b.navigate(url.href, op);
  assert.ok(sso.location.startsWith(DEMO_REDIRECT + '?code='), sso.location);
  const tokens = await client.authorizationCodeGrant(config, new URL(sso.location), checks);
  assert.equal(tokens.claims().sid, login.sid);
  const end = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token,
    post_logout_redirect_uri: 'http://localhost:8081/', state: 's1' });
  await b.navigate(end.href, op);
  const got = await p.event('backchannel_logout', (j) => j.sid === login.sid);
  assert.equal(got.sessions_ended, 1);
  assert.match((await b.fetch(p.base + '/')).body, /id="login"/);

  /* an admin revoke of An's sessions reaches the portal too */
  await phoneReady(op, 'an');
  await portalLogin(op, p, b, 'an');
  const login2 = (await p.event('login', (j) => j.sid !== login.sid));
  const r = await admin(op, ['session', 'revoke', AN]);
  assert.equal(r.code, 0, r.raw);
  const got2 = await p.event('backchannel_logout', (j) => j.sid === login2.sid);
  assert.equal(got2.sessions_ended, 1);
  assert.match((await b.fetch(p.base + '/')).body, /id="login"/);
}));
