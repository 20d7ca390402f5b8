/* qrlogin — the portal page after login: greets the citizen (GET /api/me)
 * and logs out (POST /api/logout). The session cookie is HttpOnly; this page
 * never sees it. */
'use strict';

(function () {
  var el = function (id) { return document.getElementById(id); };
  var METHODS = { qr: 'Quét mã QR bằng ứng dụng VNeID' };

  /* 001099012345 → 0010••••2345: enough to recognise, not to copy */
  function mask(id) {
    return id.length === 12 ? id.slice(0, 4) + '••••' + id.slice(8) : id;
  }

  function show(me) {
    var a = me.account;
    el('greeting').textContent = 'Xin chào, ' + a.full_name;
    el('citizen-id').textContent = mask(a.id);
    el('level').textContent = 'Mức ' + a.level;
    el('method').textContent = METHODS[me.method] || me.method;
    el('login-at').textContent =
      new Date(me.login_at * 1000).toLocaleString('vi-VN');
    el('status').hidden = true;
    el('profile').hidden = false;
    el('logout').focus();
  }

  function logout() {
    el('logout').disabled = true;
    fetch('/api/logout', { method: 'POST', credentials: 'same-origin' })
      .then(function () { window.location.assign('/'); })
      .catch(function () {
        el('logout').disabled = false;
        el('status').textContent = 'Không đăng xuất được. Vui lòng thử lại.';
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    el('logout').addEventListener('click', logout);
    fetch('/api/me', { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) { window.location.replace('/'); return null; }
        if (!r.ok) throw new Error();
        return r.json();
      })
      .then(function (me) { if (me) show(me); })
      .catch(function () {
        el('status').textContent =
          'Không tải được thông tin tài khoản. Vui lòng tải lại trang.';
      });
  });
})();
