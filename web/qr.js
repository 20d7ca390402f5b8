/* qrlogin — QR Code encoder for the login page (ISO/IEC 18004).
 *
 * The page draws each animated QR frame from its payload text instead of
 * receiving the modules from the server. What it makes is what the server
 * made with libqrencode: byte mode, error correction level M, the smallest
 * version (1-40) that holds the text's UTF-8 bytes. The data mask is chosen
 * by the standard's four penalty rules, the finder-like rule (N3) read as
 * runs in the ratio 1:1:3:1:1; libqrencode chooses the same mask for more
 * than 99% of payloads, so the page's QR is in general the server's, module
 * for module (tests/web/qr_encoder_test.js).
 *
 *   QRL_QR.encode(text)  -> { version, size, mask, modules }
 *     modules: Uint8Array(size * size), row-major, 1 = dark, no quiet zone.
 *     Throws a RangeError when the text does not fit in version 40-M.
 *   QRL_QR.encodeBytes(bytes) -> the same for a Uint8Array of bytes.
 *   Either takes { mask: 0..7 } as a second argument to force a mask (tests).
 *
 * A global (window.QRL_QR) in the page; module.exports under node.
 */
'use strict';

(function () {
  /* ---- GF(256) with x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2 ----- */

  var EXP = new Uint8Array(512);
  var LOG = new Uint8Array(256);
  (function () {
    var v = 1;
    for (var i = 0; i < 255; i++) {
      EXP[i] = v;
      LOG[v] = i;
      v <<= 1;
      if (v & 0x100) v ^= 0x11d;
    }
    for (i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  })();

  /* g(x) = (x - a^0)(x - a^1)...(x - a^(n-1)); returned without its leading
   * 1, highest degree first: gen[i] is the coefficient of x^(n-1-i). */
  var generators = {};
  function generator(n) {
    if (generators[n]) return generators[n];
    var p = [1];
    for (var i = 0; i < n; i++) {
      var q = new Array(p.length + 1);
      q[0] = p[0];
      for (var j = 1; j < p.length; j++) q[j] = p[j] ^ gfMul(p[j - 1], EXP[i]);
      q[p.length] = gfMul(p[p.length - 1], EXP[i]);
      p = q;
    }
    return (generators[n] = Uint8Array.from(p.slice(1)));
  }

  function gfMul(a, b) {
    return a && b ? EXP[LOG[a] + LOG[b]] : 0;
  }

  /* The n error correction codewords of data: the remainder of
   * data(x) * x^n divided by g(x), by a shift register. */
  function reedSolomon(data, n) {
    var gen = generator(n);
    var rem = new Uint8Array(n);
    for (var i = 0; i < data.length; i++) {
      var f = data[i] ^ rem[0];
      rem.copyWithin(0, 1);
      rem[n - 1] = 0;
      if (f) {
        var lf = LOG[f];
        for (var j = 0; j < n; j++) if (gen[j]) rem[j] ^= EXP[LOG[gen[j]] + lf];
      }
    }
    return rem;
  }

  /* ---- the tables of the standard (level M) --------------------------- */

  /* Error correction codewords per block, and blocks, for level M, by
   * version (index 0 unused). The data codewords follow from the symbol's
   * codewords: blocks of equal length, the last (total mod blocks) of them
   * one codeword longer. */
  var EC_PER_BLOCK_M = [0,
    10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
  var BLOCKS_M = [0,
    1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];

  /* Row/column coordinates of the alignment pattern centres (Annex E). */
  var ALIGN = [null, [],
    [6, 18], [6, 22], [6, 26], [6, 30], [6, 34],
    [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50], [6, 30, 54], [6, 32, 58], [6, 34, 62],
    [6, 26, 46, 66], [6, 26, 48, 70], [6, 26, 50, 74], [6, 30, 54, 78], [6, 30, 56, 82],
    [6, 30, 58, 86], [6, 34, 62, 90],
    [6, 28, 50, 72, 94], [6, 26, 50, 74, 98], [6, 30, 54, 78, 102], [6, 28, 54, 80, 106],
    [6, 32, 58, 84, 110], [6, 30, 58, 86, 114], [6, 34, 62, 90, 118],
    [6, 26, 50, 74, 98, 122], [6, 30, 54, 78, 102, 126], [6, 26, 52, 78, 104, 130],
    [6, 30, 56, 82, 108, 134], [6, 34, 60, 86, 112, 138], [6, 30, 58, 86, 114, 142],
    [6, 34, 62, 90, 118, 146],
    [6, 30, 54, 78, 102, 126, 150], [6, 24, 50, 76, 102, 128, 154],
    [6, 28, 54, 80, 106, 132, 158], [6, 32, 58, 84, 110, 136, 162],
    [6, 26, 54, 82, 110, 138, 166], [6, 30, 58, 86, 114, 142, 170]];

  var EC_BITS_M = 0; /* format information: L 01, M 00, Q 11, H 10 */

  /* Modules left for codewords (and remainder bits) in a version: the whole
   * square less finders with separators (3 x 64), timing (2 x (size - 16)),
   * format information and the dark module (31), alignment patterns (25
   * each, less the 5 timing modules of those on row or column 6) and
   * version information (36, version 7 and up). */
  function dataModules(v) {
    var size = 4 * v + 17;
    var n = size * size - 192 - 2 * (size - 16) - 31;
    if (v >= 2) {
      var a = ALIGN[v].length;
      n -= 25 * (a * a - 3) - 5 * 2 * (a - 2);
    }
    if (v >= 7) n -= 36;
    return n;
  }

  function totalCodewords(v) { return dataModules(v) >> 3; }
  function dataCodewords(v) {
    return totalCodewords(v) - EC_PER_BLOCK_M[v] * BLOCKS_M[v];
  }
  function countBits(v) { return v < 10 ? 8 : 16; } /* byte mode */

  /* ---- BCH codes of the format and version information ---------------- */

  function bitLength(x) {
    var n = 0;
    while (x >>> n) n++;
    return n;
  }

  /* x mod g over GF(2). */
  function polyMod(x, g) {
    var dg = bitLength(g) - 1;
    for (var d = bitLength(x) - 1; d >= dg; d = bitLength(x) - 1) x ^= g << (d - dg);
    return x;
  }

  /* 15 bits: 2 bits of level, 3 of mask, BCH(15,5) with
   * x^10+x^8+x^5+x^4+x^2+x+1, XOR 101010000010010. */
  function formatBits(mask) {
    var d = (EC_BITS_M << 3) | mask;
    return ((d << 10) | polyMod(d << 10, 0x537)) ^ 0x5412;
  }

  /* 18 bits: 6 of version, BCH(18,6) with x^12+x^11+x^10+x^9+x^8+x^5+x^2+1. */
  function versionBits(v) {
    return (v << 12) | polyMod(v << 12, 0x1f25);
  }

  /* ---- the symbol's layout, per version (built once, kept) ------------ */

  /* { size, base (function patterns drawn, format area light), order (the
   * data modules in placement order), masks (the 8 mask patterns), fmtA/fmtB
   * (module index of format bit i, both copies) } */
  var layouts = [];

  function layout(v) {
    if (layouts[v]) return layouts[v];
    var size = 4 * v + 17;
    var base = new Uint8Array(size * size);
    var fn = new Uint8Array(size * size);
    var i, j, x, y;

    function put(px, py, dark) {
      base[py * size + px] = dark ? 1 : 0;
      fn[py * size + px] = 1;
    }

    /* Finder patterns with their light separators: 7x7 dark ring, light
     * ring, 3x3 dark centre; the separator is the ring at distance 4. */
    var finders = [[3, 3], [size - 4, 3], [3, size - 4]];
    for (i = 0; i < 3; i++) {
      for (y = -4; y <= 4; y++) {
        for (x = -4; x <= 4; x++) {
          var fx = finders[i][0] + x, fy = finders[i][1] + y;
          if (fx < 0 || fy < 0 || fx >= size || fy >= size) continue;
          var r = Math.max(Math.abs(x), Math.abs(y));
          put(fx, fy, r !== 2 && r !== 4);
        }
      }
    }

    /* Timing patterns on row 6 and column 6. */
    for (i = 8; i < size - 8; i++) {
      put(i, 6, (i & 1) === 0);
      put(6, i, (i & 1) === 0);
    }

    /* Alignment patterns: 5x5 dark ring, light ring, dark centre; none
     * where a finder is. */
    var al = ALIGN[v], last = al.length - 1;
    for (i = 0; i <= last; i++) {
      for (j = 0; j <= last; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
        for (y = -2; y <= 2; y++) {
          for (x = -2; x <= 2; x++) {
            put(al[j] + x, al[i] + y, Math.max(Math.abs(x), Math.abs(y)) !== 1);
          }
        }
      }
    }

    /* Format information: bit i (0 = least significant) of the first copy
     * runs up column 8 beside the top-left finder (0-5 in rows 0-5, 6 in
     * row 7, 7 at (8,8)), then left along row 8 (8 in column 7, 9-14 in
     * columns 5-0). The second copy: 0-7 leftwards along row 8 from the
     * right edge, 8-14 down column 8 to the bottom edge. */
    var fmtA = new Int32Array(15), fmtB = new Int32Array(15);
    for (i = 0; i < 15; i++) {
      if (i < 6) fmtA[i] = i * size + 8;
      else if (i < 8) fmtA[i] = (i + 1) * size + 8;
      else if (i === 8) fmtA[i] = 8 * size + 7;
      else fmtA[i] = 8 * size + (14 - i);
      if (i < 8) fmtB[i] = 8 * size + (size - 1 - i);
      else fmtB[i] = (size - 15 + i) * size + 8;
      fn[fmtA[i]] = fn[fmtB[i]] = 1;
    }
    put(8, size - 8, true); /* the dark module */

    /* Version information (7 and up): bit i at column size-11 + i%3, row
     * i/3 (top right), and transposed (bottom left). */
    if (v >= 7) {
      var vb = versionBits(v);
      for (i = 0; i < 18; i++) {
        var a = size - 11 + (i % 3), b = (i / 3) | 0, bit = (vb >>> i) & 1;
        put(a, b, bit);
        put(b, a, bit);
      }
    }

    /* Placement order of the data bits: two-module-wide columns from the
     * right edge, the first going up, alternating; column 6 (the vertical
     * timing pattern) is skipped; within a pair the right module first. */
    var n = dataModules(v);
    var order = new Int32Array(n), ox = new Uint8Array(n), oy = new Uint8Array(n);
    var k = 0, up = true;
    for (var right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (var s = 0; s < size; s++) {
        y = up ? size - 1 - s : s;
        for (j = 0; j < 2; j++) {
          x = right - j;
          if (fn[y * size + x]) continue;
          if (k >= n) throw new Error('qr.js: layout of version ' + v + ' is wrong');
          order[k] = y * size + x;
          ox[k] = x;
          oy[k] = y;
          k++;
        }
      }
      up = !up;
    }
    if (k !== n) throw new Error('qr.js: layout of version ' + v + ' is wrong');

    /* The 8 data masks over this layout: 1 where a mask inverts a data
     * module (never on a function module). */
    var words = (size * size + 3) >> 2, masks = [];
    for (var mk = 0; mk < 8; mk++) {
      var pat = new Uint8Array(4 * words);
      for (k = 0; k < n; k++) if (masked(mk, oy[k], ox[k])) pat[order[k]] = 1;
      masks.push(new Uint32Array(pat.buffer));
    }

    /* Scratch symbols: unmasked, and one mask applied (4 modules a word). */
    var plain = new Uint8Array(4 * words), trial = new Uint8Array(4 * words);
    return (layouts[v] = { size: size, base: base, order: order, masks: masks,
                           fmtA: fmtA, fmtB: fmtB, plain: plain, trial: trial,
                           plain32: new Uint32Array(plain.buffer),
                           trial32: new Uint32Array(trial.buffer) });
  }

  /* ---- codewords ------------------------------------------------------ */

  function chooseVersion(len) {
    for (var v = 1; v <= 40; v++) {
      if (4 + countBits(v) + 8 * len <= 8 * dataCodewords(v)) return v;
    }
    throw new RangeError('QR payload too long: ' + len + ' bytes (at most ' +
                         ((8 * dataCodewords(40) - 20) >> 3) + ')');
  }

  /* Byte-mode segment, terminator, zero bits to a byte boundary, then pad
   * codewords 0xEC 0x11 alternating. */
  function dataStream(bytes, v) {
    var cap = dataCodewords(v);
    var out = new Uint8Array(cap);
    var pos = 0;
    function put(val, nbits) {
      for (var i = nbits - 1; i >= 0; i--, pos++) {
        if ((val >>> i) & 1) out[pos >> 3] |= 0x80 >>> (pos & 7);
      }
    }
    put(4, 4); /* 0100: byte mode */
    put(bytes.length, countBits(v));
    for (var i = 0; i < bytes.length; i++) put(bytes[i], 8);
    pos += Math.min(4, 8 * cap - pos); /* terminator 0000 (or what fits) */
    for (var p = (pos + 7) >> 3, pad = 0xec; p < cap; p++, pad ^= 0xec ^ 0x11) out[p] = pad;
    return out;
  }

  /* Splits the data into blocks, appends each block's error correction
   * codewords, and interleaves: data codeword i of every block in turn,
   * then error correction codeword i of every block. */
  function codewords(data, v) {
    var total = totalCodewords(v), nb = BLOCKS_M[v], ecn = EC_PER_BLOCK_M[v];
    var shortLen = Math.floor(total / nb) - ecn;
    var numShort = nb - total % nb;
    var blocks = [], ecs = [], off = 0, b, i;
    for (b = 0; b < nb; b++) {
      var len = shortLen + (b < numShort ? 0 : 1);
      blocks.push(data.subarray(off, off + len));
      ecs.push(reedSolomon(blocks[b], ecn));
      off += len;
    }
    var out = new Uint8Array(total), k = 0;
    for (i = 0; i <= shortLen; i++) {
      for (b = 0; b < nb; b++) if (i < blocks[b].length) out[k++] = blocks[b][i];
    }
    for (i = 0; i < ecn; i++) {
      for (b = 0; b < nb; b++) out[k++] = ecs[b][i];
    }
    return out;
  }

  /* ---- masks and their penalty ---------------------------------------- */

  /* Whether mask m inverts the module at row y, column x. */
  function masked(m, y, x) {
    switch (m) {
    case 0: return (y + x) % 2 === 0;
    case 1: return y % 2 === 0;
    case 2: return x % 3 === 0;
    case 3: return (y + x) % 3 === 0;
    case 4: return (((y / 2) | 0) + ((x / 3) | 0)) % 2 === 0;
    case 5: return (y * x) % 2 + (y * x) % 3 === 0;
    case 6: return ((y * x) % 2 + (y * x) % 3) % 2 === 0;
    default: return ((y + x) % 2 + (y * x) % 3) % 2 === 0;
    }
  }

  /* Penalty of one line of modules (a row or a column: start, step, n).
   * N1: each run of 5 or more modules of one colour, 3 + (run - 5).
   * N3: each 1:1:3:1:1 dark:light:dark:light:dark pattern (runs of any
   * width in that ratio) with a light area 4 modules wide before or after
   * it, 40; the quiet zone around the symbol is light. */
  var runs = new Int32Array(180);
  function linePenalty(m, start, step, n) {
    var score = 0, k = 0, colour = 0, len = 0, i, c, u;
    /* Run lengths, alternately light and dark, starting and ending with a
     * light run (empty when the line starts or ends dark). */
    for (i = 0, c = start; i < n; i++, c += step) {
      if (m[c] !== colour) {
        runs[k++] = len;
        colour ^= 1;
        len = 0;
      }
      len++;
    }
    runs[k++] = len;
    if (colour) runs[k++] = 0;
    for (i = 0; i < k; i++) if (runs[i] >= 5) score += runs[i] - 2;
    runs[0] += 4;
    runs[k - 1] += 4;
    for (i = 1; i + 4 < k; i += 2) { /* dark runs */
      u = runs[i];
      if (runs[i + 1] === u && runs[i + 2] === 3 * u && runs[i + 3] === u &&
          runs[i + 4] === u && (runs[i - 1] >= 4 || runs[i + 5] >= 4)) score += 40;
    }
    return score;
  }

  function penalty(m, size) {
    var score = 0, dark = 0, i, y, end, c, prev;
    for (i = 0; i < size; i++) {
      score += linePenalty(m, i * size, 1, size);
      score += linePenalty(m, i, size, size);
    }
    /* N2: each 2x2 block of one colour, 3. N4: 10 for every full 5% the
     * dark share is away from 50%. */
    for (y = 0; y < size - 1; y++) {
      i = y * size;
      end = i + size;
      prev = m[i] + m[i + size]; /* dark modules in this column of the pair of rows */
      dark += m[i];
      for (i++; i < end; i++) {
        c = m[i] + m[i + size];
        dark += m[i];
        if (((c + prev) & 3) === 0) score += 3; /* 0 or 4 dark */
        prev = c;
      }
    }
    for (i = (size - 1) * size; i < size * size; i++) dark += m[i];
    return score + 10 * Math.floor(Math.abs(dark * 20 - size * size * 10) / (size * size));
  }

  /* ---- the symbol ----------------------------------------------------- */

  /* L.trial = L.plain with mask applied and its format information. */
  function applyMask(L, mask) {
    var a = L.plain32, t = L.trial32, p = L.masks[mask], k;
    for (k = 0; k < t.length; k++) t[k] = a[k] ^ p[k];
    var f = formatBits(mask), m = L.trial;
    for (k = 0; k < 15; k++) m[L.fmtA[k]] = m[L.fmtB[k]] = (f >>> k) & 1;
  }

  function build(bytes, opts) {
    var v = chooseVersion(bytes.length);
    var L = layout(v), size = L.size;
    var cw = codewords(dataStream(bytes, v), v);
    var nbits = cw.length * 8, k;

    /* Unmasked: function patterns plus data bits (remainder bits light). */
    var plain = L.plain, order = L.order;
    plain.set(L.base);
    for (k = 0; k < nbits; k++) plain[order[k]] = (cw[k >> 3] >>> (7 - (k & 7))) & 1;

    var want = opts && opts.mask !== undefined ? opts.mask : -1;
    if (want !== -1 && !(want >= 0 && want <= 7 && want === (want | 0)))
      throw new RangeError('QR mask must be 0..7');
    var bestMask = want, bestScore = Infinity;
    for (var mask = 0; mask < 8 && want === -1; mask++) {
      applyMask(L, mask);
      var score = penalty(L.trial, size);
      if (score < bestScore) {
        bestMask = mask;
        bestScore = score;
      }
    }
    applyMask(L, bestMask);
    var best = L.trial.slice(0, size * size);
    return { version: v, size: size, mask: bestMask, modules: best };
  }

  /* UTF-8 bytes of a string (a lone surrogate becomes U+FFFD). */
  function utf8(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) {
        var d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      }
      if (c < 0x80) {
        out.push(c);
      } else if (c < 0x800) {
        out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      } else if (c < 0x10000) {
        out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      } else {
        out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63),
                 0x80 | (c & 63));
      }
    }
    return Uint8Array.from(out);
  }

  var api = {
    encode: function (text, opts) {
      if (typeof text !== 'string') throw new TypeError('QR text must be a string');
      return build(utf8(text), opts);
    },
    encodeBytes: function (bytes, opts) {
      return build(Uint8Array.from(bytes), opts);
    }
  };

  if (typeof module === 'object' && module && module.exports) module.exports = api;
  if (typeof window === 'object' && window) window.QRL_QR = api;
})();
