/*
 * pages.js - the demo portal's pages, in Vietnamese: the home page (the
 * "Đăng nhập" button, or the greeting of a logged-in citizen with
 * "Đăng xuất") and the error page. Plain HTML and one stylesheet: no script
 * at all, no request to anywhere else (the CSP in server.js says so).
 *
 * Not here: what the pages show comes from the caller (server.js).
 */
export const TITLE = 'Cổng Dịch vụ công tỉnh Đồng Nai (demo)';

const AMR_TEXT = {
  swk: 'khoá của thiết bị (swk)',
  mca: 'nhiều kênh (mca)',
  pin: 'mã PIN (pin)',
  pwd: 'mật khẩu (pwd)',
  sms: 'mã gửi qua SMS (sms)',
  mfa: 'nhiều yếu tố (mfa)'
};

/* Text for HTML (element content and quoted attribute values). */
export function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
    '"': '&quot;', "'": '&#39;' }[c]));
}

function layout(title, body) {
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="data:,">
</head>
<body>
<header class="top"><div class="wrap"><span class="emblem" aria-hidden="true">★</span>
<div><p class="org">Uỷ ban nhân dân tỉnh Đồng Nai</p><p class="name">${esc(TITLE)}</p></div></div></header>
<main class="wrap" id="main">
${body}
</main>
<footer class="wrap foot">Trang thử nghiệm (demo) của qrlogin: cổng tỉnh đăng nhập qua Cổng Dịch vụ công quốc gia
(OpenID Connect). Không phải trang của cơ quan nhà nước.</footer>
</body>
</html>
`;
}

/* auth_time (unix seconds) as Vietnam time, dd/mm/yyyy hh:mm:ss. */
export function vnTime(secs) {
  if (typeof secs !== 'number') return '—';
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric',
    month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    hour12: false });
  const p = Object.fromEntries(f.formatToParts(new Date(secs * 1000)).map((x) => [x.type, x.value]));
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second} (giờ Việt Nam)`;
}

/* The home page of a visitor not logged in. notice: a line to show first
 * ({kind: 'ok'|'warn', text}) or null. */
export function homeAnonymous(notice, acr) {
  return layout(TITLE, `${noticeHtml(notice)}
<h1>Chào mừng đến Cổng Dịch vụ công tỉnh Đồng Nai</h1>
<p>Nộp hồ sơ, tra cứu kết quả và thanh toán phí, lệ phí các thủ tục hành chính của tỉnh.
Đăng nhập bằng tài khoản định danh điện tử (VNeID) qua Cổng Dịch vụ công quốc gia.</p>
<p><a class="button" id="login" href="/login">Đăng nhập</a></p>
<p class="small">Cổng tỉnh yêu cầu mức xác thực <strong id="want-acr">${esc(acr)}</strong>
(${acr === 'LoA2' ? 'tài khoản định danh điện tử mức độ 2' : 'mức độ 1 trở lên'}).</p>`);
}

/* The home page of a logged-in citizen. */
export function homeCitizen(user, csrf, notice) {
  const name = user.name || user.sub;
  const amr = user.amr.length ? user.amr.map((a) => AMR_TEXT[a] || a).join(', ') : '—';
  return layout('Trang cá nhân — ' + TITLE, `${noticeHtml(notice)}
<h1 id="greeting">Xin chào, ${esc(name)}</h1>
<p>Bạn đã đăng nhập Cổng Dịch vụ công tỉnh Đồng Nai bằng tài khoản định danh điện tử,
qua Cổng Dịch vụ công quốc gia.</p>
<table class="facts">
<tr><th scope="row">Họ và tên</th><td id="name">${esc(user.name || '—')}</td></tr>
<tr><th scope="row">Mức độ tài khoản</th><td id="level">${user.level === null ? '—' : 'Mức độ ' + esc(user.level)}</td></tr>
<tr><th scope="row">Mức xác thực (acr)</th><td id="acr">${esc(user.acr || '—')}</td></tr>
<tr><th scope="row">Cách xác thực (amr)</th><td id="amr" data-amr="${esc(user.amr.join(' '))}">${esc(amr)}</td></tr>
<tr><th scope="row">Thời điểm xác thực</th><td id="auth-time" data-auth-time="${esc(user.authTime ?? '')}">${esc(vnTime(user.authTime))}</td></tr>
</table>
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="${esc(csrf)}">
<button type="submit" class="button" id="logout">Đăng xuất</button>
</form>
<p class="small">Đăng xuất ở đây cũng kết thúc phiên đăng nhập trên Cổng Dịch vụ công quốc gia
(và ở các cổng khác dùng phiên đó).</p>`);
}

/* An error page: what went wrong in Vietnamese, and its stable code. */
export function errorPage(heading, text, code) {
  return layout(heading + ' — ' + TITLE, `<h1>${esc(heading)}</h1>
<p id="error-text">${esc(text)}</p>
<p class="small">Mã lỗi: <code id="error-code">${esc(code)}</code></p>
<p><a class="button" href="/">Về trang chủ</a></p>`);
}

function noticeHtml(n) {
  return n ? `<p class="notice ${n.kind === 'warn' ? 'warn' : 'ok'}" id="notice" role="status">${esc(n.text)}</p>` : '';
}

export const STYLE = `*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1b1b;background:#f4f6f8;line-height:1.5}
.wrap{max-width:760px;margin:0 auto;padding:0 16px}
.top{background:#b71c1c;color:#fff;padding:12px 0}
.top .wrap{display:flex;align-items:center;gap:12px}
.emblem{font-size:32px;color:#ffd54f}
.org{margin:0;font-size:14px}
.name{margin:0;font-size:20px;font-weight:700}
main.wrap{background:#fff;margin-top:24px;padding:24px 16px;border-radius:8px}
h1{font-size:24px;margin-top:0}
.button{display:inline-block;background:#b71c1c;color:#fff;border:0;border-radius:6px;padding:10px 20px;font-size:16px;text-decoration:none;cursor:pointer}
.button:focus-visible,.button:hover{background:#8e1414;outline:3px solid #ffd54f}
.small{font-size:14px;color:#444}
.facts{border-collapse:collapse;margin:16px 0}
.facts th,.facts td{text-align:left;padding:6px 12px;border-bottom:1px solid #ddd}
.notice{padding:10px 12px;border-radius:6px}
.notice.ok{background:#e8f5e9;color:#1b5e20}
.notice.warn{background:#fff8e1;color:#6d4c00}
.foot{font-size:13px;color:#555;padding:16px}
`;
