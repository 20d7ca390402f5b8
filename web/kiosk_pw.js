/* qrlogin — the kiosk's second login path, for a citizen without a
 * smartphone: citizen ID + password -> a 6-digit code by SMS -> a kiosk
 * session (POST /api/otp/verify with "kiosk": true: the kiosk's short
 * lifetime and idle limit) -> the portal page in kiosk mode.
 * The kiosk's rules: nothing is remembered (autocomplete off; the password
 * is cleared as soon as it is sent, the code likewise, every field when the
 * citizen goes back or leaves), and a form left alone for FORM_IDLE_SECS is
 * wiped and the QR comes back, so the next person finds nothing.
 * Needs i18n.js; login.js runs the QR beside it. */
'use strict';

(function () {
  window.QRL_I18N_ADD({
    'k.pw.open': 'Không có điện thoại thông minh? Đăng nhập bằng số định danh và mật khẩu',
    'k.pw.title': 'Đăng nhập bằng số định danh cá nhân và mật khẩu',
    'k.pw.help': 'Mã OTP sẽ được gửi tới số điện thoại bạn đã đăng ký. Thông tin bạn nhập được xoá khi bạn rời máy.',
    'k.send': 'Gửi mã OTP',
    'k.back': 'Quay lại đăng nhập bằng mã QR',
    'k.idle': 'Thông tin đã nhập sẽ được xoá sau {n} giây nếu không có thao tác.'
  }, {
    'k.pw.open': 'No smartphone? Log in with your ID number and password',
    'k.pw.title': 'Log in with your personal ID number and password',
    'k.pw.help': 'A one-time code will be sent to your registered phone number. What you type here is erased when you leave.',
    'k.send': 'Send the code',
    'k.back': 'Back to the QR code',
    'k.idle': 'What you typed will be erased in {n} seconds unless you continue.'
  });

  var FORM_IDLE_SECS = 60;
  var el = function (id) { return document.getElementById(id); };
  var T = function (k, v) { return window.QRL_T(k, v); };
  var attempt = null, idleLeft = 0, idleTimer = 0;

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

  /* Nothing typed stays on the screen or in the page. */
  function wipe() {
    ['k-id', 'k-password', 'k-otp'].forEach(function (id) { el(id).value = ''; });
    ['k-pw-error', 'k-otp-error', 'k-otp-sent', 'k-idle'].forEach(function (id) {
      el(id).textContent = '';
    });
    attempt = null;
  }

  function stopIdle() {
    if (idleTimer) { clearInterval(idleTimer); idleTimer = 0; }
    el('k-idle').textContent = '';
  }

  /* Any input keeps the form; a form left alone is wiped. A test may
   * shorten the wait with <html data-form-idle="N">. */
  function resetIdle() {
    var n = Number(document.documentElement.getAttribute('data-form-idle'));
    idleLeft = n > 0 ? n : FORM_IDLE_SECS;
    el('k-idle').textContent = '';
  }

  function idleTick() {
    idleLeft--;
    if (idleLeft <= 0) { back(); return; }
    if (idleLeft <= 15) el('k-idle').textContent = T('k.idle', { n: idleLeft });
  }

  function open() {
    wipe();
    el('k-qr').hidden = true;
    el('k-pw').hidden = false;
    el('k-pw-form').hidden = false;
    el('k-otp-form').hidden = true;
    resetIdle();
    stopIdle();
    idleTimer = setInterval(idleTick, 1000);
    el('k-id').focus();
  }

  function back() {
    stopIdle();
    wipe();
    el('k-pw').hidden = true;
    el('k-qr').hidden = false;
    el('k-pw-open').focus();
  }

  function busy(form, on) {
    form.querySelector('button[type="submit"]').disabled = on;
  }

  function start(ev) {
    var form = ev.target, id = el('k-id').value.trim(), pw = el('k-password').value;
    ev.preventDefault();
    el('k-pw-error').textContent = '';
    if (!/^[0-9]{12}$/.test(id)) {
      el('k-pw-error').textContent = T('bad.id');
      el('k-id').focus();
      return;
    }
    if (!pw) {
      el('k-pw-error').textContent = T('missing');
      el('k-password').focus();
      return;
    }
    el('k-password').value = ''; /* sent once, kept nowhere */
    busy(form, true);
    post('/api/otp/start', { id: id, password: pw }).then(function (res) {
      busy(form, false);
      if (res.status !== 200) {
        el('k-pw-error').textContent = window.QRL_ERR(res.body);
        el('k-password').focus();
        return;
      }
      attempt = res.body.attempt;
      el('k-pw-form').hidden = true;
      el('k-otp-form').hidden = false;
      el('k-otp-sent').textContent = T('otp.sent', { phone: res.body.phone });
      el('k-otp').focus();
    }).catch(function () { busy(form, false); el('k-pw-error').textContent = T('network'); });
  }

  function verify(ev) {
    var form = ev.target, code = el('k-otp').value.trim();
    ev.preventDefault();
    el('k-otp-error').textContent = '';
    if (!/^[0-9]{6}$/.test(code)) {
      el('k-otp-error').textContent = T('bad.otp');
      return;
    }
    el('k-otp').value = '';
    busy(form, true);
    post('/api/otp/verify', { attempt: attempt, otp: code, kiosk: true }).then(function (res) {
      busy(form, false);
      if (res.status === 200) {
        stopIdle();
        wipe();
        /* no history entry: "back" does not return to the form */
        window.location.replace('/portal.html#kiosk');
      } else if (res.body.code === 'otp_void' || res.body.code === 'otp_invalid' ||
                 res.body.code === 'otp_expired') {
        var msg = window.QRL_ERR(res.body);
        wipe();
        el('k-otp-form').hidden = true;
        el('k-pw-form').hidden = false;
        el('k-pw-error').textContent = msg;
        el('k-id').focus();
      } else {
        el('k-otp-error').textContent = window.QRL_ERR(res.body) +
          (res.body.code === 'otp_wrong' ? T('otp.left', { n: res.body.attempts_left }) : '');
        el('k-otp').focus();
      }
    }).catch(function () { busy(form, false); el('k-otp-error').textContent = T('network'); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    el('k-pw-open').addEventListener('click', open);
    el('k-pw-back').addEventListener('click', back);
    el('k-pw-form').addEventListener('submit', start);
    el('k-otp-form').addEventListener('submit', verify);
    ['keydown', 'pointerdown', 'input', 'touchstart'].forEach(function (ev) {
      el('k-pw').addEventListener(ev, resetIdle, { passive: true });
    });
  });
  /* Back from the portal page through the browser's cache: start clean. */
  window.addEventListener('pageshow', function (ev) { if (ev.persisted && !el('k-pw').hidden) back(); });
})();
