/* qrlogin — the pages' texts in Vietnamese (default) and English.
 *
 * Static text: elements with data-i18n="key" (textContent) or
 * data-i18n-label="key" (aria-label). Dynamic text: window.QRL_T(key).
 * The button #lang switches; the choice is kept in localStorage except on
 * the kiosk (a shared machine keeps nothing between citizens). Server
 * errors carry a Vietnamese message and a stable code; in English the code
 * picks the text here, falling back to the server's message. Also here, as
 * the pages share them: the personal ID's check (12 digits, a province
 * code), dates (dd/mm/yyyy in both languages) and dossier statuses. */
'use strict';

(function () {
  var D = {
    vi: {
      'portal': 'Cổng Dịch vụ công quốc gia',
      'login': 'Đăng nhập',
      'choose': 'Chọn loại tài khoản để đăng nhập',
      'vneid': 'Tài khoản Định danh điện tử cấp bởi Bộ Công an',
      'vneid.sub': 'Dành cho công dân — đăng nhập bằng ứng dụng VNeID',
      'org': 'Tài khoản cấp bởi Cổng Dịch vụ công quốc gia',
      'org.sub': 'Dành cho tổ chức, doanh nghiệp',
      'vneid.title': 'Tài khoản Định danh điện tử',
      'vouch.login': 'Đăng nhập VNeID',
      'vouch.issuer': 'Bộ Công an — Trung tâm dữ liệu Quốc gia về dân cư',
      'vouch.asks': 'Trang đang yêu cầu đăng nhập:',
      'tab.qr': 'Quét mã QR',
      'tab.pw': 'Số định danh cá nhân và mật khẩu',
      'phone.note': 'Điện thoại không quét được mã QR trên chính màn hình của nó, nên trang mở sẵn cách đăng nhập bằng mật khẩu.',
      'step1': 'Mở ứng dụng VNeID trên điện thoại (tài khoản định danh điện tử mức 2).',
      'step2': 'Chọn “Quét mã QR” và quét mã bên dưới.',
      'step3': 'Trên điện thoại, chọn số hiển thị ở đây rồi xác nhận đăng nhập.',
      'qr.label': 'Mã QR đăng nhập',
      'new.code': 'Lấy mã mới',
      'back': 'Chọn cách đăng nhập khác',
      'id': 'Số định danh cá nhân',
      'id.hint': '12 chữ số trên căn cước / căn cước công dân.',
      'password': 'Mật khẩu',
      'username': 'Tên đăng nhập',
      'org.lead': 'Tổ chức, doanh nghiệp đăng nhập bằng tài khoản do Cổng cấp (tên đăng nhập thường là mã số thuế).',
      'otp.title': 'Nhập mã OTP',
      'otp.label': 'Mã OTP (6 chữ số)',
      'confirm': 'Xác nhận',
      'resend': 'Gửi lại mã',
      'foot': 'Đăng nhập một lần bằng tài khoản định danh điện tử VNeID. Không chia sẻ mã QR hay mã OTP cho người khác; mã chỉ dùng được một lần và hết hạn sau ít phút.',
      'connecting': 'Đang tạo mã QR…',
      'ready': 'Mở ứng dụng VNeID và quét mã QR này.',
      'scanned': 'Đã quét — trên điện thoại, chọn số đang hiển thị ở đây rồi xác nhận.',
      'held': 'Điện thoại đang cập nhật quyền “Đăng nhập trên website” — mã này chờ bạn.',
      'declined': 'Yêu cầu đăng nhập đã bị từ chối trên điện thoại.',
      'declined.wrong_number': 'Số đã chọn không khớp — yêu cầu đã bị huỷ để bảo vệ bạn',
      'expired': 'Mã QR đã hết hạn. Bấm “Lấy mã mới” để tiếp tục.',
      'completing': 'Đã xác nhận — đang đăng nhập…',
      'reconnecting': 'Mất kết nối tới máy chủ — đang kết nối lại…',
      'failed': 'Không đăng nhập được. Vui lòng lấy mã mới và thử lại.',
      'expires.in': 'Mã hết hạn sau ',
      'ov.expired': 'Hết hạn',
      'ov.declined': 'Đã từ chối',
      'ov.wrong_number': 'Đã huỷ',
      'pick': 'Số cần chọn trên điện thoại: ',
      'otp.sent': 'Mã OTP đã được gửi tới số điện thoại {phone}. Nhập mã để hoàn tất đăng nhập.',
      'otp.expires': 'Mã hết hạn sau ',
      'otp.expired': 'Mã đã hết hạn. Bấm “Gửi lại mã”.',
      'otp.resent': 'Đã gửi mã mới. Mã cũ không còn dùng được.',
      'otp.left': ' Còn {n} lần thử.',
      'retry.in': ' (thử lại sau {n} giây)',
      'resend.wait': 'Gửi lại mã ({n} giây)',
      'bad.id': 'Số định danh cá nhân phải gồm 12 chữ số.',
      'bad.province': 'Ba chữ số đầu của số định danh cá nhân là mã tỉnh, thành phố nơi đăng ký khai sinh (001–096): {code} không phải mã tỉnh. Vui lòng kiểm tra lại số trên thẻ căn cước.',
      'bad.otp': 'Mã OTP gồm 6 chữ số.',
      'missing': 'Vui lòng nhập đủ thông tin.',
      'network': 'Không kết nối được tới máy chủ. Vui lòng thử lại.',
      'lang': 'English',
      'kiosk.title': 'Đăng nhập bằng ứng dụng VNeID',
      'kiosk.help': 'Quét mã bằng ứng dụng VNeID trên điện thoại của bạn. Phiên đăng nhập trên máy này tự kết thúc khi bạn rời đi.',
      'greeting': 'Xin chào, ',
      'logout': 'Đăng xuất',
      'dossiers': 'Hồ sơ của tôi',
      'no.dossiers': 'Chưa có hồ sơ nào.',
      'idle.warn': 'Máy sẽ tự đăng xuất sau {n} giây nếu không có thao tác.',
      'stay': 'Tiếp tục sử dụng',
      'title.login': 'Đăng nhập — Cổng Dịch vụ công quốc gia',
      'title.kiosk': 'Đăng nhập — Máy tự phục vụ',
      'title.portal': 'Trang cá nhân — Cổng Dịch vụ công quốc gia',
      'tabs.label': 'Cách đăng nhập',
      'demo.summary': 'Chế độ thử nghiệm (demo)',
      'demo.text': 'Nội dung mã QR, dùng với',
      'demo.png': 'Tải ảnh mã QR (PNG)',
      'demo.png.for': 'để dùng với',
      'loading': 'Đang tải thông tin tài khoản…',
      'load.failed': 'Không tải được thông tin tài khoản. Vui lòng tải lại trang.',
      'f.level': 'Mức định danh',
      'f.method': 'Cách đăng nhập',
      'f.at': 'Thời điểm đăng nhập',
      'f.kind': 'Loại tài khoản',
      'level.n': 'Mức {n}',
      'kind.org': 'Tổ chức, doanh nghiệp',
      'kind.legacy': 'Công dân (tài khoản cũ)',
      'kind.legacy.v': 'Công dân (tài khoản cũ, đã xác thực số định danh)',
      'm.qr': 'Quét mã QR bằng ứng dụng VNeID',
      'm.qr_kiosk': 'Quét mã QR bằng ứng dụng VNeID tại máy tự phục vụ',
      'm.password_otp': 'Số định danh cá nhân, mật khẩu và mã OTP',
      'm.portal_otp': 'Tài khoản cấp bởi Cổng Dịch vụ công quốc gia và mã OTP',
      'verify.title': 'Cập nhật từ CSDL Quốc gia về dân cư',
      'verify.lead': 'Xác thực số định danh cá nhân của tài khoản với Cơ sở dữ liệu quốc gia về dân cư để liên kết với tài khoản định danh điện tử VNeID và giữ các hồ sơ đã nộp.',
      'verify.btn': 'Cập nhật',
      'verify.failed': 'Không cập nhật được.',
      'd.id': 'Mã hồ sơ',
      'd.title': 'Thủ tục',
      'd.status': 'Trạng thái',
      'd.date': 'Ngày nộp',
      'oidc.for': 'Đăng nhập để sử dụng dịch vụ của'
    },
    en: {
      'portal': 'National Public Service Portal',
      'login': 'Log in',
      'choose': 'Choose the account to log in with',
      'vneid': 'Electronic identity account issued by the Ministry of Public Security',
      'vneid.sub': 'For citizens — log in with the VNeID app',
      'org': 'Account issued by the National Public Service Portal',
      'org.sub': 'For organizations and businesses',
      'vneid.title': 'Electronic identity account',
      'vouch.login': 'VNeID login',
      'vouch.issuer': 'Ministry of Public Security — National Population Data Centre',
      'vouch.asks': 'Site asking you to log in:',
      'tab.qr': 'Scan a QR code',
      'tab.pw': 'Personal ID number and password',
      'phone.note': 'A phone cannot scan a QR code on its own screen, so the page opens on the password login.',
      'step1': 'Open the VNeID app on your phone (level-2 electronic identity account).',
      'step2': 'Choose “Scan QR code” and scan the code below.',
      'step3': 'On the phone, pick the number shown here and confirm the login.',
      'qr.label': 'Login QR code',
      'new.code': 'Get a new code',
      'back': 'Choose another way to log in',
      'id': 'Personal ID number',
      'id.hint': 'The 12 digits on your citizen ID card.',
      'password': 'Password',
      'username': 'Username',
      'org.lead': 'Organizations and businesses log in with the account the portal issued (the username is usually the tax code).',
      'otp.title': 'Enter the one-time code',
      'otp.label': 'One-time code (6 digits)',
      'confirm': 'Confirm',
      'resend': 'Send a new code',
      'foot': 'One login with your VNeID electronic identity. Never share a QR code or a one-time code; codes work once and expire within minutes.',
      'connecting': 'Making a QR code…',
      'ready': 'Open the VNeID app and scan this QR code.',
      'scanned': 'Scanned — on the phone, pick the number shown here, then confirm.',
      'held': 'The phone is turning on “Log in on website” — this code waits for you.',
      'declined': 'The login was declined on the phone.',
      'declined.wrong_number': 'The number picked did not match — the request was cancelled to protect you',
      'expired': 'The QR code expired. Press “Get a new code” to go on.',
      'completing': 'Confirmed — logging in…',
      'reconnecting': 'Lost the connection to the server — reconnecting…',
      'failed': 'The login did not work. Please get a new code and try again.',
      'expires.in': 'The code expires in ',
      'ov.expired': 'Expired',
      'ov.declined': 'Declined',
      'ov.wrong_number': 'Cancelled',
      'pick': 'Number to pick on the phone: ',
      'otp.sent': 'A one-time code was sent to {phone}. Enter it to finish logging in.',
      'otp.expires': 'The code expires in ',
      'otp.expired': 'The code expired. Press “Send a new code”.',
      'otp.resent': 'A new code was sent. The old one no longer works.',
      'otp.left': ' {n} tries left.',
      'retry.in': ' (try again in {n} seconds)',
      'resend.wait': 'Send a new code ({n} s)',
      'bad.id': 'The personal ID number has 12 digits.',
      'bad.province': 'The first three digits of the personal ID number are the province code of birth registration (001–096): {code} is not a province code. Check the number on your ID card.',
      'bad.otp': 'The one-time code has 6 digits.',
      'missing': 'Please fill in both fields.',
      'network': 'Cannot reach the server. Please try again.',
      'lang': 'Tiếng Việt',
      'kiosk.title': 'Log in with the VNeID app',
      'kiosk.help': 'Scan the code with the VNeID app on your own phone. The session on this machine ends by itself when you leave.',
      'greeting': 'Hello, ',
      'logout': 'Log out',
      'dossiers': 'My dossiers',
      'no.dossiers': 'No dossiers yet.',
      'idle.warn': 'This machine logs you out in {n} seconds unless you use it.',
      'stay': 'Keep using it',
      'err.bad_credentials': 'Wrong personal ID number or password.',
      'err.otp_wrong': 'Wrong one-time code.',
      'err.otp_void': 'Too many wrong codes; this code no longer works. Please log in again.',
      'err.otp_expired': 'The one-time code expired. Send a new one.',
      'err.otp_invalid': 'This login attempt is no longer valid. Please log in again.',
      'err.rate_limited': 'Too many attempts. Please wait a moment.',
      'err.server_busy': 'The service is serving too many logins at once. Please try again in a few minutes.',
      'err.too_many_challenges_ip': 'Too many login pages are open on your network. Close the ones you are not using, or try again in a few minutes.',
      'err.level_too_low': 'A level-1 account cannot use this. Please upgrade to level 2.',
      'err.legacy_login_closed': 'Citizens now log in with their VNeID electronic identity.',
      'err.bad_password_format': 'The password has 8 to 20 characters.',
      'err.invalid_citizen_id': 'The personal ID number has 12 digits.',
      'err.invalid_province_code': 'The first three digits of the personal ID number are not a province code. Check the number on your ID card.',
      /* Dossier statuses as the portal records them (Vietnamese). */
      'ds.Đã tiếp nhận': 'Received',
      'ds.Đang xử lý': 'Being processed',
      'ds.Chờ bổ sung': 'Awaiting more documents',
      'ds.Chờ thanh toán': 'Awaiting payment',
      'ds.Đã trả kết quả': 'Result returned',
      'ds.Hoàn thành': 'Completed',
      'ds.Từ chối': 'Rejected',
      'ds.Đã huỷ': 'Cancelled',
      'err.invalid_username': 'The username is not valid.',
      'err.no_phone': 'This account has no phone number for the code. Please contact support.',
      'err.code_invalid': 'This login code is no longer valid. Please get a new QR code.',
      'err.population_mismatch': 'The details do not match the national population database. Check the personal ID number, full name and date of birth.',
      'err.forbidden': 'This account cannot do that.',
      'err.not_authenticated': 'Please log in again.',
      'err.unavailable': 'The service is busy. Please try again shortly.',
      'link.unverified': 'You also have an old portal account with this ID that was never verified against the national population database, so its dossiers are not linked. Log in with that account and use “Update from the national population database” to link it.',
      'title.login': 'Log in — National Public Service Portal',
      'title.kiosk': 'Log in — Self-service kiosk',
      'title.portal': 'My page — National Public Service Portal',
      'tabs.label': 'Ways to log in',
      'demo.summary': 'Demo mode',
      'demo.text': 'The QR code’s text, for',
      'demo.png': 'Download the QR code (PNG)',
      'demo.png.for': 'to use with',
      'loading': 'Loading your account…',
      'load.failed': 'Could not load your account. Please reload the page.',
      'f.level': 'Identity level',
      'f.method': 'Logged in with',
      'f.at': 'Logged in at',
      'f.kind': 'Account type',
      'level.n': 'Level {n}',
      'kind.org': 'Organization or business',
      'kind.legacy': 'Citizen (old portal account)',
      'kind.legacy.v': 'Citizen (old portal account, ID verified)',
      'm.qr': 'QR code scanned with the VNeID app',
      'm.qr_kiosk': 'QR code scanned with the VNeID app at a self-service kiosk',
      'm.password_otp': 'Personal ID number, password and one-time code',
      'm.portal_otp': 'Portal-issued account and one-time code',
      'verify.title': 'Update from the national population database',
      'verify.lead': 'Verify this account’s personal ID number against the national population database to link it to your VNeID electronic identity and keep your dossiers.',
      'verify.btn': 'Update',
      'verify.failed': 'Could not update.',
      'd.id': 'Dossier no.',
      'd.title': 'Procedure',
      'd.status': 'Status',
      'd.date': 'Submitted',
      'oidc.for': 'Log in to use the services of'
    }
  };
  /* The kiosk page, or the portal page reached from it ("#kiosk"). */
  var kiosk = document.documentElement.hasAttribute('data-kiosk') ||
    window.location.hash === '#kiosk';
  var lang = 'vi';
  try { if (!kiosk && localStorage.getItem('qrl-lang') === 'en') lang = 'en'; } catch (e) { /* no storage */ }
  /* A relying portal's ui_locales (OpenID Connect): the provider puts the
   * first language we speak on the login page's URL ("/?oidc=...&ui_locales=en");
   * it decides for this page, without changing the stored choice. */
  (function () {
    var m = /[?&]ui_locales=(vi|en)(?:&|$)/.exec(window.location.search);
    if (m && !kiosk) lang = m[1];
  })();

  function t(key, vars) {
    var s = (D[lang] && D[lang][key]) || D.vi[key] || '';
    if (vars) Object.keys(vars).forEach(function (k) { s = s.split('{' + k + '}').join(vars[k]); });
    return s;
  }

  /* A server error in the page's language. */
  function err(body) {
    if (!body) return t('network');
    if (lang === 'en') {
      if (D.en['err.' + body.code]) return D.en['err.' + body.code];
      if (body.message_en) return body.message_en.charAt(0).toUpperCase() + body.message_en.slice(1) + '.';
    }
    return body.message || t('failed');
  }

  function apply() {
    document.documentElement.lang = lang;
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (e) {
      e.textContent = t(e.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-label]'), function (e) {
      e.setAttribute('aria-label', t(e.getAttribute('data-i18n-label')));
    });
    var title = document.documentElement.getAttribute('data-i18n-title');
    if (title) document.title = t(title);
    document.dispatchEvent(new CustomEvent('qrl-lang', { detail: lang }));
  }

  function toggle() {
    lang = lang === 'vi' ? 'en' : 'vi';
    try { if (!kiosk) localStorage.setItem('qrl-lang', lang); } catch (e) { /* no storage */ }
    apply();
  }

  /* A page's own part brings its texts (sessions.js): added before the
   * page is translated. */
  window.QRL_I18N_ADD = function (vi, en) {
    Object.keys(vi).forEach(function (k) { D.vi[k] = vi[k]; });
    Object.keys(en).forEach(function (k) { D.en[k] = en[k]; });
  };

  /* The 63 province codes that open a 12-digit personal ID (as
   * server/helpers/protocol.c): 001 Hà Nội ... 096 Cà Mau. */
  var PROVINCES = [1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31,
    33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67,
    68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96];

  /* What is wrong with a typed personal ID, in the page's language, or ''
   * if nothing is (the server checks again and answers the same). */
  function idProblem(id) {
    if (!/^[0-9]{12}$/.test(id)) return t('bad.id');
    if (PROVINCES.indexOf(Number(id.slice(0, 3))) < 0) return t('bad.province', { code: id.slice(0, 3) });
    return '';
  }

  /* Dates the same in both languages: dd/mm/yyyy, and HH:MM after it. */
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function date(unix) {
    var d = new Date(unix * 1000);
    return two(d.getDate()) + '/' + two(d.getMonth() + 1) + '/' + d.getFullYear();
  }
  function dateTime(unix) {
    var d = new Date(unix * 1000);
    return date(unix) + ' ' + two(d.getHours()) + ':' + two(d.getMinutes());
  }

  /* A dossier's status (stored in Vietnamese) in the page's language. */
  function dossierStatus(s) {
    return (lang === 'en' && D.en['ds.' + s]) || s;
  }

  window.QRL_T = t;
  window.QRL_ERR = err;
  window.QRL_ID_PROBLEM = idProblem;
  window.QRL_DATE = date;
  window.QRL_DATETIME = dateTime;
  window.QRL_DOSSIER_STATUS = dossierStatus;
  window.QRL_LANG = function () { return lang; };
  window.QRL_SET_LANG = function (l) { if (l !== lang) toggle(); };
  document.addEventListener('DOMContentLoaded', function () {
    var b = document.getElementById('lang');
    if (b) b.addEventListener('click', toggle);
    apply();
  });
})();
