/* qrlogin — the second login path on the login page (docs/protocol.md):
 * 12-digit ID (or a portal username) + password -> a 6-digit code by SMS ->
 * the session cookie. The password and the code are sent once, in the body,
 * and kept nowhere else. */
'use strict';

(function () {
  var el = function (id) { return document.getElementById(id); };
  var attempt = null;   /* the server's handle for this login attempt */
  var sentTo = '';      /* the masked phone number the code went to */
  var origin = null;    /* the form the OTP step came from */
  var expiresAt = 0, resendAt = 0, ticker = 0;

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        return { status: r.status, body: j };
      });
    });
  }

  var T = function (k, v) { return window.QRL_T(k, v); };

  /* A language switch re-says where the code went. */
  document.addEventListener('qrl-lang', function () {
    if (attempt) el('otp-sent').textContent = T('otp.sent', { phone: sentTo });
  });

  function fail(box, res) {
    var msg = window.QRL_ERR(res && res.body);
    if (res && res.body && res.body.code === 'rate_limited' && res.body.retry_in)
      msg += T('retry.in', { n: res.body.retry_in });
    if (res && res.body && res.body.code === 'otp_wrong')
      msg += T('otp.left', { n: res.body.attempts_left });
    el(box).textContent = msg;
  }

  function busy(form, on) {
    var b = form.querySelector('button[type="submit"]');
    if (b) b.disabled = on;
  }

  function fmt(secs) {
    var m = Math.floor(secs / 60), s = secs % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  function tick() {
    var now = Date.now();
    var left = Math.max(0, Math.round((expiresAt - now) / 1000));
    var wait = Math.max(0, Math.round((resendAt - now) / 1000));
    el('otp-countdown').textContent = left > 0 ? T('otp.expires') + fmt(left) : T('otp.expired');
    el('otp-resend').disabled = wait > 0;
    el('otp-resend').textContent = wait > 0 ? T('resend.wait', { n: wait }) : T('resend');
  }

  function clocks(expiresIn, resendIn) {
    expiresAt = Date.now() + expiresIn * 1000;
    resendAt = Date.now() + resendIn * 1000;
    if (!ticker) ticker = setInterval(tick, 1000);
    tick();
  }

  function otpStep(res, from) {
    attempt = res.body.attempt;
    origin = from;
    sentTo = res.body.phone;
    el('otp-sent').textContent = T('otp.sent', { phone: sentTo });
    el('otp-code').value = '';
    el('otp-error').textContent = '';
    window.QRL.showPanel('otp-panel');
    clocks(res.body.expires_in, res.body.resend_in);
    el('otp-code').focus();
  }

  function leaveOtp(message) {
    attempt = null;
    if (ticker) { clearInterval(ticker); ticker = 0; }
    if (origin === 'portal') {
      window.QRL.showPanel('portal-panel');
      el('portal-error').textContent = message || '';
      el('portal-password').value = '';
      el('portal-password').focus();
    } else {
      window.QRL.showPanel('vneid-panel');
      el('tab-pw').click();
      el('pw-error').textContent = message || '';
      el('pw-password').value = '';
      el('pw-password').focus();
    }
  }

  function start(ev, path, who, field, box, from) {
    var form = ev.target;
    var pw = from === 'portal' ? el('portal-password') : el('pw-password');
    var body = { password: pw.value };
    ev.preventDefault();
    el(box).textContent = '';
    body[field] = who.value.trim();
    if (from !== 'portal' && window.QRL_ID_PROBLEM(body[field])) {
      el(box).textContent = window.QRL_ID_PROBLEM(body[field]);
      who.focus();
      return;
    }
    if (!body[field] || !pw.value) {
      el(box).textContent = T('missing');
      return;
    }
    busy(form, true);
    post(path, body).then(function (res) {
      busy(form, false);
      if (res.status === 200) otpStep(res, from);
      else fail(box, res);
    }).catch(function () { busy(form, false); fail(box, null); });
  }

  function verify(ev) {
    var form = ev.target, code = el('otp-code').value.trim();
    ev.preventDefault();
    el('otp-error').textContent = '';
    if (!/^[0-9]{6}$/.test(code)) {
      el('otp-error').textContent = T('bad.otp');
      return;
    }
    busy(form, true);
    post('/api/otp/verify', { attempt: attempt, otp: code }).then(function (res) {
      busy(form, false);
      if (res.status === 200) {
        var to = res.body.redirect || '/portal.html';
        window.location.assign(window.QRL_NEXT ? window.QRL_NEXT(to) : to);
      } else if (res.body.code === 'otp_void' || res.body.code === 'otp_invalid') {
        leaveOtp(window.QRL_ERR(res.body));
      } else {
        fail('otp-error', res);
        el('otp-code').select();
      }
    }).catch(function () { busy(form, false); fail('otp-error', null); });
  }

  function resend() {
    el('otp-resend').disabled = true;
    post('/api/otp/resend', { attempt: attempt }).then(function (res) {
      if (res.status === 200) {
        el('otp-error').textContent = T('otp.resent');
        clocks(res.body.expires_in, res.body.resend_in);
      } else if (res.status === 429) {
        fail('otp-error', res);
        resendAt = Date.now() + (res.body.retry_in || 60) * 1000;
      } else {
        leaveOtp(window.QRL_ERR(res.body));
      }
    }).catch(function () { fail('otp-error', null); tick(); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    el('pw-form').addEventListener('submit', function (ev) {
      start(ev, '/api/otp/start', el('pw-id'), 'id', 'pw-error', 'vneid');
    });
    el('portal-form').addEventListener('submit', function (ev) {
      start(ev, '/api/portal/start', el('portal-user'), 'username', 'portal-error',
            'portal');
    });
    el('otp-form').addEventListener('submit', verify);
    el('otp-resend').addEventListener('click', resend);
    el('back').addEventListener('click', function () {
      attempt = null;
      if (ticker) { clearInterval(ticker); ticker = 0; }
    });
  });
})();
