/*
 * web.qr_encoder - web/qr.js, the login page's QR encoder, proved against the
 * project's own encoder and decoder:
 *
 *  - the server's encoder (qrl_qr_encode: libqrencode, byte mode, ECC M, via
 *    tests/web/qr_ref.c) picks the same version and size for every payload,
 *    and under the mask libqrencode chose (read from its format information)
 *    qr.js draws the very same modules, bit for bit;
 *  - the camera: every symbol qr.js draws with the mask it chooses itself,
 *    rendered to a PNG with a 4-module quiet zone, decodes to the payload with
 *    `vneid-sim decode --image` (libzbar), or for texts longer than vneid-sim
 *    holds with the same qrl_qr_scan_png() through qrl_qr_ref decode;
 *  - each of the 8 masks, forced, still decodes;
 *  - too long a text throws a RangeError.
 *
 * Payloads: the QRL2 frame shape with random ids, frames and codes; random
 * printable ASCII of every length 1..120 and longer; Vietnamese and other
 * UTF-8; both sides of the byte capacity of every version 1..40.
 *
 * The mask qr.js chooses by the four penalty rules is libqrencode's for more
 * than 99% of payloads (and must be for at least 95%, and for a few where
 * rule N4 decides), so the page's QR looks like the server's.
 *
 * Run by ctest with QRL_QR_JS (web/qr.js), QRL_QR_REF and VNEID_SIM set.
 * QRL_SEED=N repeats a run's random payloads (the seed is printed). To see it
 * fail, point QRL_QR_JS at a broken copy of qr.js and run it with node.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');

const QR_JS = path.resolve(process.env.QRL_QR_JS || path.join(__dirname, '../../web/qr.js'));
const REF = process.env.QRL_QR_REF;
const SIM = process.env.VNEID_SIM;
if (!REF || !SIM) {
  console.error('web.qr_encoder: set QRL_QR_REF and VNEID_SIM (ctest does)');
  process.exit(2);
}
const QR = require(QR_JS);

let passed = 0;
const failures = [];
function check(ok, what) {
  if (ok) passed++;
  else failures.push(what);
  return ok;
}

/* ---- random payloads (seeded) -------------------------------------------- */

const seed = process.env.QRL_SEED ? Number(process.env.QRL_SEED) >>> 0
  : (Date.now() ^ process.pid) >>> 0;
function xorshift(state) { /* 0..n-1 */
  return (n) => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state % n;
  };
}
let rand = xorshift(seed || 1);
function pick(alphabet, n) {
  const chars = Array.from(alphabet);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[rand(chars.length)];
  return s;
}
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
let ASCII = '';
for (let c = 0x20; c < 0x7f; c++) ASCII += String.fromCharCode(c);
const VIET = 'aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệ' +
  'íìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵÁÀẢÃẠÉÈÓÒÚÙÝ ';

/* Byte capacity of version 1..40 at level M (ISO/IEC 18004, table 7). */
const CAP_M = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412,
  450, 504, 560, 624, 666, 711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370,
  1452, 1538, 1628, 1722, 1809, 1911, 1989, 2099, 2213, 2331];

const cases = [];
for (let i = 0; i < 60; i++) {
  const digits = 1 + rand(6);
  const frame = digits === 1 ? rand(10) : 10 ** (digits - 1) + rand(9 * 10 ** (digits - 1));
  cases.push('QRL2.' + pick(B64URL, 22) + '.' + frame + '.' + pick(B64URL, 16));
}
cases.push('QRL2.AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAA',
           'QRL2.______________________.999999.________________');
for (let n = 1; n <= 120; n++) cases.push(pick(ASCII, n));
for (let i = 0; i < 20; i++) cases.push(pick(ASCII, 121 + rand(200)));
cases.push('Đăng nhập bằng mã QR', 'Cổng dịch vụ công quốc gia — Bộ Công an',
           'Nguyễn Văn An, 12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội',
           'Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ ấ ầ ẩ ẫ ậ ế ề ể ễ ệ ố ồ ổ ỗ ộ ớ ờ ở ỡ ợ ứ ừ ử ữ ự',
           'QR 🔐 đăng nhập ✓', '日本語のテキスト', 'Ελληνικά', 'naïve café',
           'lone \ud800 surrogate'); /* its UTF-8 has U+FFFD */
/* Random Vietnamese, the same every run: libzbar guesses the character set
 * of such text (no ECI) and, when it takes it for Shift JIS, maps a few
 * characters unlike node's Shift_JIS table, so only some strings can be
 * checked through it; these can (all are compared with libqrencode too). */
{
  const runRand = rand;
  rand = xorshift(20240611);
  for (let i = 0; i < 30; i++) cases.push(pick(VIET, 1 + rand(60)));
  rand = runRand;
}
/* Payloads whose mask the dark-share rule (N4) decides: qr.js must pick
 * libqrencode's mask for each (without N4 it would pick another). */
const N4_DECIDES = ['rkofaxqghrwdcvfbo', 'cljeunjgjeebleyvarp', 'uivveuoqsvuathyb', 'utgabarv',
                    'myombbsbsngpqqdqenmwylarxz', 'wxtpzhxktzvxkdpyeboenmxogvgbhcdxdm'];
cases.push(...N4_DECIDES);
for (let v = 1; v <= 40; v++) {
  cases.push(pick(ASCII, CAP_M[v - 1]));
  if (v < 40) cases.push(pick(ASCII, CAP_M[v - 1] + 1));
}

/* ---- the server's encoder ------------------------------------------------ */

const hexOf = (s) => Buffer.from(s, 'utf8').toString('hex');
const ref = spawnSync(REF, ['encode'], {
  input: cases.map(hexOf).join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8'
});
if (ref.status !== 0) {
  console.error('qrl_qr_ref encode failed: ' + ref.stderr);
  process.exit(1);
}
const refs = ref.stdout.trim().split('\n').map((line) => {
  const f = line.split(' ');
  if (f[0] === 'ERR') return null;
  return { version: +f[0], size: +f[1], modules: Uint8Array.from(f[2], (c) => c === '1' ? 1 : 0) };
});
if (refs.length !== cases.length) {
  console.error('qrl_qr_ref encode: ' + refs.length + ' answers for ' + cases.length + ' payloads');
  process.exit(1);
}

/* The level and mask in a symbol's format information, read from the copy
 * around the top-left finder: bit i (0 = least significant) at column 8 of
 * rows 0-5, 7, 8, then row 8 of columns 7, 5..0. */
function formatOf(m, size) {
  const at = (x, y) => m[y * size + x];
  const pos = [];
  for (let i = 0; i < 6; i++) pos.push([8, i]);
  pos.push([8, 7], [8, 8], [7, 8]);
  for (let i = 9; i < 15; i++) pos.push([14 - i, 8]);
  let f = 0;
  pos.forEach(([x, y], i) => { f |= at(x, y) << i; });
  f ^= 0x5412;
  return { level: f >> 13, mask: (f >> 10) & 7 };
}

/* ---- the camera ---------------------------------------------------------- */

const CRC = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC[n] = c;
}
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function pngChunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, tail]);
}
/* An 8-bit grayscale PNG of the symbol: scale pixels a module, a quiet
 * zone of 4 modules. */
function png(q, scale) {
  const quiet = 4, side = (q.size + 2 * quiet) * scale;
  const raw = Buffer.alloc((side + 1) * side, 255);
  for (let y = 0; y < side; y++) {
    raw[y * (side + 1)] = 0; /* filter: none */
    const my = Math.floor(y / scale) - quiet;
    if (my < 0 || my >= q.size) continue;
    for (let x = 0; x < side; x++) {
      const mx = Math.floor(x / scale) - quiet;
      if (mx >= 0 && mx < q.size && q.modules[my * q.size + mx]) raw[y * (side + 1) + 1 + x] = 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; /* bit depth; colour type 0 (gray), the rest 0 */
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', ihdr),
                        pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qrl-qrjs-'));
const home = path.join(tmp, 'home');
let nimg = 0;
const SIM_MAX = 400; /* vneid-sim decode holds 511 bytes of text */
const bigOnes = []; /* [file, expected hex, label] for qrl_qr_ref decode */

/* Renders q and checks that the camera reads text back. */
function decodes(q, input, label) {
  const text = Buffer.from(input, 'utf8').toString('utf8'); /* what its UTF-8 says */
  const file = path.join(tmp, 'qr' + (nimg++) + '.png');
  fs.writeFileSync(file, png(q, 3));
  if (Buffer.byteLength(text) > SIM_MAX) {
    bigOnes.push([file, hexOf(text), label]);
    return;
  }
  const r = spawnSync(SIM, ['--home', home, '--json', 'decode', '--image', file], { encoding: 'utf8' });
  let out = null;
  try { out = JSON.parse(r.stdout); } catch (e) { /* below */ }
  const got = r.status === 0 && out ? out.text : null;
  if (got !== null && got !== text && /[^\x00-\x7f]/.test(text)) {
    /* libzbar guesses the character set of byte-mode text that has no ECI
     * and takes some UTF-8 for Shift JIS or Big5: then what it read must be
     * exactly our bytes in that set. */
    const bytes = Buffer.from(text, 'utf8');
    for (const cs of ['shift_jis', 'big5', 'iso-8859-1']) {
      let as = null;
      try { as = new TextDecoder(cs, { fatal: true }).decode(bytes); } catch (e) { /* not valid */ }
      if (as === got) {
        charsetGuess[cs] = (charsetGuess[cs] || 0) + 1;
        check(true);
        return;
      }
    }
  }
  check(got === text,
        label + ': vneid-sim decode read ' + JSON.stringify(out ? out.text : r.stdout + r.stderr) +
        ', want ' + JSON.stringify(text) + ' (' + file + ')');
}
const charsetGuess = {};

/* ---- the checks ---------------------------------------------------------- */

const short = (s) => JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s) +
  ' (' + Buffer.byteLength(s) + ' bytes)';
let sameMask = 0, compared = 0;
const refMasks = new Array(8).fill(0);
let t0 = process.hrtime.bigint();

cases.forEach((text, i) => {
  const label = short(text);
  let q;
  try {
    q = QR.encode(text);
  } catch (e) {
    check(false, label + ': encode threw ' + e);
    return;
  }
  const ok = q.modules instanceof Uint8Array && q.size === 4 * q.version + 17 &&
    q.modules.length === q.size * q.size && q.modules.every((b) => b === 0 || b === 1) &&
    q.mask >= 0 && q.mask <= 7;
  if (!check(ok, label + ': not a {version, size, mask, modules} of 0/1')) return;

  const r = refs[i];
  if (!r) {
    /* qrl_qr_encode refuses more than 2048 bytes; libqrencode is not asked */
    check(Buffer.byteLength(text) > 2048, label + ': the server refused it');
  } else if (check(q.version === r.version && q.size === r.size,
                   label + ': version ' + q.version + ' size ' + q.size + ', the server has version ' +
                   r.version + ' size ' + r.size)) {
    const f = formatOf(r.modules, r.size);
    check(f.level === 0, label + ': the server\'s symbol is not level M?');
    const forced = QR.encode(text, { mask: f.mask });
    let diff = -1;
    for (let k = 0; k < r.modules.length && diff < 0; k++) if (forced.modules[k] !== r.modules[k]) diff = k;
    check(forced.mask === f.mask && diff < 0,
          label + ': under mask ' + f.mask + ' the modules differ from the server\'s, first at row ' +
          Math.floor(diff / r.size) + ' column ' + diff % r.size);
    compared++;
    refMasks[f.mask]++;
    if (q.mask === f.mask) sameMask++;
    else check(!N4_DECIDES.includes(text), label + ': mask ' + q.mask + ', libqrencode chose ' +
               f.mask + ' (rule N4 decides this one)');
  }
  decodes(q, text, label);
});

/* Every mask, forced, still decodes: a QRL2 payload (version 4) and a
 * version 8 one (version information). */
for (const text of [cases[0], cases.find((s) => s.length === CAP_M[7])]) {
  for (let mask = 0; mask < 8; mask++) {
    const q = QR.encode(text, { mask });
    check(q.mask === mask, 'forced mask ' + mask + ' not used');
    decodes(q, text, short(text) + ' under mask ' + mask);
  }
}

if (bigOnes.length) {
  const r = spawnSync(REF, ['decode', ...bigOnes.map((b) => b[0])], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const lines = r.status === 0 ? r.stdout.trim().split('\n') : [];
  bigOnes.forEach(([file, hex, label], i) => {
    check(lines[i] === hex, label + ': qrl_qr_scan_png read ' + (lines[i] || r.stderr).slice(0, 60) +
          '…, want ' + hex.slice(0, 60) + '… (' + file + ')');
  });
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;

/* Every mask pattern was compared with the server's at least once. */
check(refMasks.every((n) => n > 0), 'not every mask was compared with libqrencode: ' + refMasks);
/* The four penalty rules: qr.js reads the finder-like rule (N3) as runs in
 * the ratio 1:1:3:1:1, as libqrencode seems to, and so picks the same mask
 * as the server for more than 99% of payloads (a few differ where the two
 * score a symbol slightly differently). Far fewer means a broken rule. */
check(sameMask >= 0.95 * compared,
      'qr.js chose the mask libqrencode chose for only ' + sameMask + ' of ' + compared + ' payloads');

/* Too long, or not text. */
const throws = (f, type) => { try { f(); return false; } catch (e) { return e instanceof type; } };
check(QR.encode('x'.repeat(2331)).version === 40, '2331 bytes do not fit version 40-M');
check(throws(() => QR.encode('x'.repeat(2332)), RangeError), '2332 bytes do not throw a RangeError');
check(throws(() => QR.encode('ắ'.repeat(778)), RangeError), '2334 UTF-8 bytes do not throw a RangeError');
check(throws(() => QR.encode(null), TypeError), 'encode(null) does not throw a TypeError');
check(throws(() => QR.encode('x', { mask: 8 }), RangeError), 'mask 8 does not throw a RangeError');

/* How fast: a 50-byte QRL2 frame payload (informative, not judged). */
const frame = 'QRL2.' + pick(B64URL, 22) + '.1234.' + pick(B64URL, 16);
for (let i = 0; i < 500; i++) QR.encode(frame);
const N = 10000;
t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) QR.encode(frame);
const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;

console.log(`web.qr_encoder: ${cases.length} payloads (seed ${seed}), ${nimg} images decoded in ` +
            `${secs.toFixed(1)} s; ${compared} compared bit for bit with libqrencode ` +
            `(its masks ${refMasks.join('/')}; qr.js chose the same mask for ${sameMask})`);
if (Object.keys(charsetGuess).length)
  console.log('web.qr_encoder: UTF-8 texts libzbar read as our bytes in another character set: ' +
              JSON.stringify(charsetGuess));
console.log(`web.qr_encoder: encode of a ${frame.length}-byte frame payload ` +
            `(version ${QR.encode(frame).version}): ${us.toFixed(1)} µs (${N} runs)`);
if (failures.length) {
  failures.slice(0, 20).forEach((f) => console.log('FAIL ' + f));
  if (failures.length > 20) console.log('... and ' + (failures.length - 20) + ' more');
  console.log('web.qr_encoder: images kept in ' + tmp + '; QRL_SEED=' + seed + ' repeats this run');
} else {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
