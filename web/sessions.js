/* qrlogin — "Không phải tôi" on the portal page: lists the citizen's web
 * logins of the last 30 days (GET /api/sessions: device and browser, IP,
 * time, method, which one is this browser) and ends any of them (POST
 * /api/sessions/revoke; ending this browser's own is a logout). The page's
 * socket on /portal hears when this browser's session is ended elsewhere -
 * from another browser or from the phone - and says so at once.
 * Sessions are named by their public id only; the cookie stays HttpOnly.
 * Needs i18n.js, and portal.js for QRL_LEAVE (back to where one logs in). */
'use strict';

(function () {
  window.QRL_I18N_ADD({
    's.title': 'Phiên đăng nhập trên web',
    's.lead': 'Các lần đăng nhập bằng tài khoản của bạn trong 30 ngày qua. Nếu có phiên không phải của bạn, chọn “Không phải tôi” để kết thúc phiên đó ngay.',
    's.device': 'Thiết bị, địa chỉ IP',
    's.at': 'Thời điểm, cách đăng nhập',
    's.state': 'Trạng thái',
    's.action': 'Thao tác',
    's.this': 'Trình duyệt này',
    's.active': 'Đang đăng nhập',
    's.gone': 'Đã kết thúc',
    's.not.me': 'Không phải tôi',
    's.not.me.label': 'Không phải tôi — kết thúc phiên {what}, {ip}, {at}',
    's.end.mine': 'Đăng xuất',
    's.unknown.browser': 'Trình duyệt không rõ',
    's.on': '{browser} trên {os}',
    's.m.qr': 'Quét mã QR',
    's.m.qr_kiosk': 'Quét mã QR tại máy tự phục vụ',
    's.m.password_otp': 'Mật khẩu và mã OTP',
    's.m.otp_kiosk': 'Mật khẩu và mã OTP tại máy tự phục vụ',
    'm.otp_kiosk': 'Số định danh cá nhân, mật khẩu và mã OTP tại máy tự phục vụ',
    's.ended.one': 'Đã kết thúc phiên đăng nhập trên {what}.',
    's.failed': 'Không tải được danh sách phiên đăng nhập.',
    's.ended': 'Phiên đăng nhập trên trình duyệt này đã được kết thúc (“Không phải tôi”) từ một thiết bị khác của bạn.',
    's.relogin': 'Đăng nhập lại'
  }, {
    's.title': 'Web sessions',
    's.lead': 'Logins with your account in the last 30 days. If one is not yours, choose “Not me” to end it at once.',
    's.device': 'Device, IP address',
    's.at': 'Time, logged in with',
    's.state': 'Status',
    's.action': 'Action',
    's.this': 'This browser',
    's.active': 'Logged in',
    's.gone': 'Ended',
    's.not.me': 'Not me',
    's.not.me.label': 'Not me — end the session {what}, {ip}, {at}',
    's.end.mine': 'Log out',
    's.unknown.browser': 'Unknown browser',
    's.on': '{browser} on {os}',
    's.m.qr': 'QR code',
    's.m.qr_kiosk': 'QR code at a kiosk',
    's.m.password_otp': 'Password and one-time code',
    's.m.otp_kiosk': 'Password and one-time code at a kiosk',
    'm.otp_kiosk': 'Personal ID number, password and one-time code at a kiosk',
    's.ended.one': 'The session on {what} has ended.',
    's.failed': 'Could not load your web sessions.',
    's.ended': 'The session in this browser was ended (“Not me”) from another of your devices.',
    's.relogin': 'Log in again',
    'err.web_session_unknown': 'That session is not one of yours, or it has already ended.'
  });

  var el = function (id) { return document.getElementById(id); };
  var T = function (k, v) { return window.QRL_T(k, v); };
  var shown = null; /* the last list, redrawn on a language switch */
  var ended = false;

  function locale() {
    return window.QRL_LANG() === 'en' ? 'en-GB' : 'vi-VN';
  }

  function what(s) {
    if (s.browser && s.os) return T('s.on', { browser: s.browser, os: s.os });
    return s.browser || s.os || T('s.unknown.browser');
  }

  function cell(row, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  /* A second, smaller line under a cell's text. */
  function sub(td, text) {
    var span = document.createElement('span');
    span.className = 'sub';
    span.textContent = text;
    td.appendChild(span);
  }

  function render() {
    var body = el('session-rows');
    if (!shown) return;
    while (body.firstChild) body.removeChild(body.firstChild);
    shown.forEach(function (s) {
      var tr = document.createElement('tr'), td, b, at;
      at = new Date(s.at * 1000).toLocaleString(locale());
      tr.setAttribute('data-session', String(s.id));
      sub(cell(tr, what(s)), s.ip);
      sub(cell(tr, at), T('s.m.' + s.method) || s.method);
      cell(tr, s.current ? T('s.this') : s.active ? T('s.active') : T('s.gone'),
           s.current ? 'this' : s.active ? '' : 'gone');
      td = cell(tr, '');
      if (s.active) {
        b = document.createElement('button');
        b.type = 'button';
        b.className = 'link';
        b.textContent = s.current ? T('s.end.mine') : T('s.not.me');
        if (!s.current) b.setAttribute('aria-label', T('s.not.me.label', { what: what(s), ip: s.ip, at: at }));
        b.addEventListener('click', function () { end(s, b); });
        td.appendChild(b);
      }
      body.appendChild(tr);
    });
  }

  function load() {
    return fetch('/api/sessions', { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) { leave(); return null; }
        if (r.status === 403) return null; /* an old portal account: not listed */
        if (!r.ok) throw new Error();
        return r.json();
      })
      .then(function (j) {
        if (!j) return;
        shown = j.sessions || [];
        render();
        el('sessions').hidden = false;
      })
      .catch(function () {
        el('sessions').hidden = false;
        el('sessions-status').textContent = T('s.failed');
      });
  }

  function end(s, button) {
    button.disabled = true;
    el('sessions-status').textContent = '';
    fetch('/api/sessions/revoke', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: s.id })
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; },
                           function () { return { ok: false, status: r.status, body: null }; });
    }).then(function (res) {
      if (res.ok && res.body.logged_out) { leave(); return; }
      if (res.status === 401) { leave(); return; }
      if (res.ok) el('sessions-status').textContent = T('s.ended.one', { what: what(s) });
      else el('sessions-status').textContent = window.QRL_ERR(res.body);
      load();
    }).catch(function () {
      button.disabled = false;
      el('sessions-status').textContent = T('network');
    });
  }

  function leave() {
    if (watcher) { watcher.onclose = null; watcher.close(); watcher = null; }
    if (window.QRL_LEAVE) window.QRL_LEAVE();
    else window.location.replace('/');
  }

  /* This browser's session was ended elsewhere: say so, then back to the
   * login page. A kiosk leaves at once (nothing stays on a shared screen). */
  function endedHere() {
    if (ended) return;
    ended = true;
    if (window.location.hash === '#kiosk') { leave(); return; }
    el('profile').hidden = true;
    el('ended').hidden = false;
    el('ended-ok').focus();
  }

  /* The socket found no live session: the cookie did not reach it (a proxy,
   * a header too long), or the session ended before it asked. */
  function check() {
    fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) { if (r.status === 401) leave(); })
      .catch(function () { /* offline: the next request finds out */ });
  }

  /* ---- the page's socket: news of this session ----------------------------- */

  var watcher = null, retryMs = 1000;

  function watch() {
    var proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws;
    try {
      ws = new WebSocket(proto + '//' + window.location.host + '/portal', 'qrlogin.browser.v1');
    } catch (e) { return; }
    watcher = ws;
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'watching') {
        retryMs = 1000;
        el('sessions').setAttribute('data-watching', ''); /* tests wait on it */
      }
      else if (m.type === 'error') ws.close(); /* busy: listen again later */
      else if (m.type === 'session_ended') {
        ws.onclose = null;
        ws.close();
        watcher = null;
        if (m.reason === 'revoked') endedHere();
        else check(); /* no session found for this socket: make sure */
      }
    };
    /* The server restarted or the network dropped: listen again, slower each
     * time (a session that ended meanwhile says so on reconnecting). */
    ws.onclose = function () {
      watcher = null;
      if (ended) return;
      setTimeout(watch, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  document.addEventListener('qrl-lang', render);
  document.addEventListener('DOMContentLoaded', function () {
    el('ended-ok').addEventListener('click', leave);
    watch();
    load();
  });
})();
