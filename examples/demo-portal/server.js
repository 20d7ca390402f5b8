#!/usr/bin/env node
/*
 * server.js - "Cổng Dịch vụ công tỉnh Đồng Nai (demo)": a provincial portal
 * that logs citizens in through the national login (qrlogind's OpenID
 * Connect provider), as the 63 provincial portals do. Node's own http
 * server; openid-client 6 and jose do the OpenID Connect part (oidc.js).
 *
 *   node server.js [--port 8081] [--issuer http://127.0.0.1:8080]
 *                  [--client-id dongnai-demo] [--client-secret SECRET]
 *                  [--redirect-base http://localhost:8081] [--acr LoA2|LoA1]
 *                  [--bind 127.0.0.1,::1]
 *
 * Every option can also come from the environment: DEMO_PORTAL_PORT,
 * DEMO_PORTAL_ISSUER, DEMO_PORTAL_CLIENT_ID, DEMO_PORTAL_CLIENT_SECRET,
 * DEMO_PORTAL_REDIRECT_BASE, DEMO_PORTAL_ACR, DEMO_PORTAL_BIND (an option
 * wins). The defaults are `qrlogind --demo`'s client. --port 0 picks a free
 * port; the redirect base is then http://localhost:<that port> unless given.
 *
 * Routes: GET / (home, or the greeting), GET /login (to the national login),
 * GET /callback, POST /logout (RP-initiated logout at the OP's
 * end_session_endpoint; local only when the OP has none), POST
 * /backchannel-logout (the OP's logout token), GET /style.css.
 *
 * Prints "demo-portal: listening on <redirect base>/" once it listens; then
 * one JSON line per login, logout and back-channel logout on stdout. Exits 0
 * on SIGTERM/SIGINT, 2 on a bad option, 1 if it cannot listen.
 */
import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { RelyingParty } from './oidc.js';
import { SessionStore } from './sessions.js';
import * as pages from './pages.js';

const DEMO_SECRET = 'dongnai-demo-secret-for-the-demo-only';
const MAX_FORM = 16 * 1024;

/* ---- options --------------------------------------------------------------- */

const USAGE = `usage: node server.js [--port N] [--issuer URL] [--client-id ID] [--client-secret S]
                      [--redirect-base URL] [--acr LoA2|LoA1] [--bind ADDR[,ADDR]]`;

function usage(msg) {
  process.stderr.write(`demo-portal: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseOptions(argv, env) {
  const o = {
    port: env.DEMO_PORTAL_PORT ?? '8081',
    issuer: env.DEMO_PORTAL_ISSUER ?? 'http://127.0.0.1:8080',
    clientId: env.DEMO_PORTAL_CLIENT_ID ?? 'dongnai-demo',
    clientSecret: env.DEMO_PORTAL_CLIENT_SECRET ?? DEMO_SECRET,
    redirectBase: env.DEMO_PORTAL_REDIRECT_BASE ?? '',
    acr: env.DEMO_PORTAL_ACR ?? 'LoA2',
    bind: env.DEMO_PORTAL_BIND ?? '127.0.0.1,::1'
  };
  const names = { '--port': 'port', '--issuer': 'issuer', '--client-id': 'clientId',
    '--client-secret': 'clientSecret', '--redirect-base': 'redirectBase', '--acr': 'acr',
    '--bind': 'bind' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { process.stdout.write(USAGE + '\n'); process.exit(0); }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!names[name]) usage(`unknown option '${a}'`);
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) usage(`${name} wants a value`);
    o[names[name]] = v;
  }
  if (!/^\d{1,5}$/.test(String(o.port)) || Number(o.port) > 65535) usage(`--port: '${o.port}' is not 0..65535`);
  o.port = Number(o.port);
  if (!baseUrl(o.issuer)) usage(`--issuer: '${o.issuer}' is not http(s)://host[:port]`);
  o.issuer = o.issuer.replace(/\/$/, '');
  if (o.redirectBase && !baseUrl(o.redirectBase))
    usage(`--redirect-base: '${o.redirectBase}' is not http(s)://host[:port]`);
  o.redirectBase = o.redirectBase.replace(/\/$/, '');
  if (!/^[\x21-\x7e]{1,128}$/.test(o.clientId)) usage('--client-id: 1..128 visible ASCII characters');
  if (!/^[\x21-\x7e]{1,256}$/.test(o.clientSecret)) usage('--client-secret: 1..256 visible ASCII characters');
  if (o.acr !== 'LoA1' && o.acr !== 'LoA2') usage(`--acr: '${o.acr}' is not LoA1 or LoA2`);
  o.bind = String(o.bind).split(',').map((b) => b.trim()).filter((b) => b);
  if (!o.bind.length) usage('--bind: no address');
  return o;
}

/* scheme://host[:port] with nothing after it (a trailing slash allowed). */
function baseUrl(s) {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password &&
      u.pathname === '/' && !u.search && !u.hash && !/[?#]/.test(s);
  } catch (e) {
    return false;
  }
}

/* ---- HTTP helpers ---------------------------------------------------------- */

function securityHeaders(res, issuerOrigin) {
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
    `form-action 'self' ${issuerOrigin}; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  /* same-origin, not no-referrer: under no-referrer a browser sends its
   * own form POSTs with "Origin: null" (Fetch, "serializing a request
   * origin"), and the logout's Origin check would refuse the portal's own
   * button. Other sites still get no Referer. */
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function redirect(res, status, location) {
  res.statusCode = status;
  res.setHeader('Location', location);
  res.setHeader('Content-Length', 0);
  res.end();
}

/* The urlencoded body of req (at most MAX_FORM bytes), as URLSearchParams;
 * null if it is too long, of another type or broken off. */
function readForm(req) {
  return new Promise((resolve) => {
    const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') { req.resume(); resolve(null); return; }
    const chunks = [];
    let n = 0, done = false;
    req.on('data', (c) => {
      if (done) return;
      n += c.length;
      if (n > MAX_FORM) { done = true; resolve(null); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => { if (!done) { done = true; resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))); } });
    req.on('error', () => { if (!done) { done = true; resolve(null); } });
  });
}

function sameSecret(a, b) {
  const x = Buffer.from(String(a)), y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function log(event, fields = {}) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n');
}

/* ---- the portal ------------------------------------------------------------ */

function makeHandler(o, rp, store) {
  const issuerOrigin = new URL(o.issuer).origin;
  const base = new URL(o.redirectBase);
  /* DNS rebinding: only the portal's own names are served. */
  const port = base.port ? ':' + base.port : '';
  const hosts = new Set([base.host, `localhost${port}`, `127.0.0.1${port}`, `[::1]${port}`]);
  const logoutStates = new Map(); /* state of an RP-initiated logout -> when */

  const failed = (res, status, heading, text, code) =>
    send(res, status, pages.errorPage(heading, text, code));
  const opDown = (res, e) => {
    log('op_unreachable', { error: String(e && e.message) });
    failed(res, 502, 'Không kết nối được Cổng Dịch vụ công quốc gia',
      'Cổng tỉnh chưa liên lạc được với hệ thống đăng nhập quốc gia. Vui lòng thử lại sau ít phút.',
      'op_unreachable');
  };

  async function home(req, res, url) {
    const s = store.get(req);
    let notice = null;
    const st = url.searchParams.get('state');
    if (st && logoutStates.has(st)) {
      logoutStates.delete(st);
      notice = { kind: 'ok', text: 'Bạn đã đăng xuất khỏi Cổng Dịch vụ công tỉnh Đồng Nai và khỏi Cổng Dịch vụ công quốc gia.' };
    } else if (url.searchParams.get('logout') === 'local') {
      notice = { kind: 'warn', text: 'Bạn đã đăng xuất khỏi cổng tỉnh. Hệ thống đăng nhập quốc gia chưa hỗ trợ đăng xuất từ cổng tỉnh (không có end_session_endpoint), nên phiên đăng nhập quốc gia vẫn còn: hãy đăng xuất cả ở đó.' };
    }
    if (s && s.user) return send(res, 200, pages.homeCitizen(s.user, s.csrf, notice));
    return send(res, 200, pages.homeAnonymous(notice, o.acr));
  }

  async function login(req, res) {
    let s = store.get(req);
    if (s && s.user) return redirect(res, 303, '/');
    let start;
    try {
      start = await rp.startLogin();
    } catch (e) {
      return opDown(res, e);
    }
    if (!s) s = store.create(res, null);
    if (!s) return failed(res, 503, 'Cổng đang quá tải', 'Vui lòng thử lại sau.', 'busy');
    s.pending = start.pending;
    return redirect(res, 303, start.url.href);
  }

  async function callback(req, res, url) {
    const s = store.get(req);
    const pending = store.pendingOf(s);
    if (!pending)
      return failed(res, 400, 'Đăng nhập không thành công',
        'Không tìm thấy yêu cầu đăng nhập của trình duyệt này (đã hết hạn, hoặc đã dùng). Vui lòng đăng nhập lại.',
        'login_state_missing');
    s.pending = null; /* one use */
    let user;
    try {
      user = await rp.finishLogin(url, pending);
    } catch (e) {
      const code = (e && (e.error || e.code)) || 'login_failed';
      log('login_failed', { code: String(code), error: String(e && e.message) });
      const text = code === 'login_required' ? 'Bạn chưa đăng nhập trên Cổng Dịch vụ công quốc gia.'
        : code === 'access_denied' ? 'Yêu cầu đăng nhập đã bị từ chối.'
        : code === 'insufficient_acr' ? 'Tài khoản chưa đạt mức xác thực cổng tỉnh yêu cầu (LoA2: tài khoản định danh điện tử mức độ 2).'
        : 'Cổng tỉnh không xác minh được kết quả đăng nhập từ Cổng Dịch vụ công quốc gia.';
      return failed(res, 400, 'Đăng nhập không thành công', text, String(code).slice(0, 64));
    }
    const fresh = store.create(res, s); /* a new id once logged in */
    if (!fresh) return failed(res, 503, 'Cổng đang quá tải', 'Vui lòng thử lại sau.', 'busy');
    fresh.user = user;
    fresh.csrf = randomBytes(32).toString('base64url');
    log('login', { sid: user.sid, acr: user.acr, amr: user.amr, auth_time: user.authTime });
    return redirect(res, 303, '/');
  }

  async function logout(req, res) {
    const origin = req.headers.origin;
    if (origin && origin !== base.origin)
      return failed(res, 403, 'Yêu cầu không hợp lệ', 'Yêu cầu đăng xuất không đến từ trang của cổng tỉnh.', 'bad_origin');
    const form = await readForm(req);
    const s = store.get(req);
    if (!s || !s.user) return redirect(res, 303, '/');
    if (!form || !sameSecret(form.get('csrf') || '', s.csrf))
      return failed(res, 403, 'Yêu cầu không hợp lệ', 'Vui lòng tải lại trang rồi đăng xuất lại.', 'bad_csrf');
    const state = randomBytes(16).toString('base64url');
    let to = null;
    try {
      to = await rp.logoutUrl(s.user, state);
    } catch (e) {
      log('op_unreachable', { error: String(e && e.message) });
    }
    store.end(s, res);
    if (!to) {
      log('logout', { sid: s.user.sid, national: false });
      return redirect(res, 303, '/?logout=local');
    }
    const now = Date.now();
    for (const [k, t] of logoutStates) if (now - t > 10 * 60 * 1000) logoutStates.delete(k);
    if (logoutStates.size < 10000) logoutStates.set(state, now);
    log('logout', { sid: s.user.sid, national: true });
    return redirect(res, 303, to.href);
  }

  async function backchannel(req, res) {
    const form = await readForm(req);
    const token = form && form.get('logout_token');
    const refuse = (why) => {
      log('backchannel_logout_refused', { error: why });
      send(res, 400, JSON.stringify({ error: 'invalid_request', error_description: why }),
        'application/json');
    };
    if (!token || token.length > 8192) return refuse('no logout_token');
    let who;
    try {
      who = await rp.verifyLogoutToken(token);
    } catch (e) {
      return refuse(e.message);
    }
    const n = store.endByOp(who.sid, who.sub);
    log('backchannel_logout', { sid: who.sid, sub: who.sub, sessions_ended: n });
    res.statusCode = 200;
    res.setHeader('Content-Length', 0);
    res.end();
  }

  return async (req, res) => {
    securityHeaders(res, issuerOrigin);
    try {
      if (!hosts.has(String(req.headers.host || '').toLowerCase()))
        return failed(res, 421, 'Sai tên máy chủ', 'Trang này không phục vụ tên máy chủ đó.', 'bad_host');
      const url = new URL(req.url, o.redirectBase);
      const route = req.method + ' ' + url.pathname;
      switch (route) {
      case 'GET /': return await home(req, res, url);
      case 'GET /login': return await login(req, res);
      case 'GET /callback': return await callback(req, res, url);
      case 'POST /logout': return await logout(req, res);
      case 'POST /backchannel-logout': return await backchannel(req, res);
      case 'GET /style.css':
        res.setHeader('Cache-Control', 'public, max-age=300');
        return send(res, 200, pages.STYLE, 'text/css; charset=utf-8');
      default:
        if (['/', '/login', '/callback', '/logout', '/backchannel-logout', '/style.css'].includes(url.pathname)) {
          res.setHeader('Allow', url.pathname === '/logout' || url.pathname === '/backchannel-logout' ? 'POST' : 'GET');
          return failed(res, 405, 'Phương thức không được hỗ trợ', 'Trang này không nhận yêu cầu kiểu đó.', 'method_not_allowed');
        }
        return failed(res, 404, 'Không tìm thấy trang', 'Địa chỉ này không có trên cổng tỉnh.', 'not_found');
      }
    } catch (e) {
      log('error', { error: String(e && e.stack) });
      if (!res.headersSent) failed(res, 500, 'Lỗi máy chủ', 'Vui lòng thử lại sau.', 'internal');
      else res.destroy();
    }
  };
}

/* ---- start ----------------------------------------------------------------- */

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onErr = (e) => { server.off('listening', onOk); reject(e); };
    const onOk = () => { server.off('error', onErr); resolve(server.address().port); };
    server.once('error', onErr);
    server.once('listening', onOk);
    server.listen(port, host);
  });
}

async function main() {
  const o = parseOptions(process.argv.slice(2), process.env);
  const servers = [];
  let port = o.port;
  let handler = null;
  const dispatch = (req, res) => handler(req, res);
  for (const [i, host] of o.bind.entries()) {
    const srv = http.createServer({ headersTimeout: 20000, requestTimeout: 30000 }, dispatch);
    try {
      port = await listen(srv, port, host);
      servers.push(srv);
    } catch (e) {
      /* the second address (::1) may not exist on this machine */
      if (i === 0) {
        process.stderr.write(`demo-portal: cannot listen on ${host}:${port}: ${e.message}\n`);
        process.exit(1);
      }
    }
  }
  if (!o.redirectBase) o.redirectBase = `http://localhost:${port}`;
  const store = new SessionStore(o.redirectBase.startsWith('https:'));
  const rp = new RelyingParty(o);
  handler = makeHandler(o, rp, store);
  const stop = () => {
    store.close();
    for (const s of servers) { s.close(); s.closeAllConnections(); }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`demo-portal: listening on ${o.redirectBase}/ (issuer ${o.issuer}, client ${o.clientId})\n`);
  /* Discovery now, so a wrong --issuer shows at once (the portal still
   * starts: qrlogind may come up after it, and it tries again per login). */
  rp.configuration().then((c) => {
    const m = c.serverMetadata();
    log('discovery', { issuer: m.issuer, end_session_endpoint: m.end_session_endpoint || null });
  }, (e) => log('op_unreachable', { error: String(e && e.message) }));
}

main();
