// interop.mjs - helpers/jose.c against Node's WebCrypto, an implementation
// of its own: a token qrlogind's code signs verifies in Node with the
// published JWK (ECDSA P-256 / SHA-256, raw r||s as JWS has it), its kid is
// the RFC 7638 thumbprint Node computes from the JWK, and a token Node signs
// verifies in C - while a token signed by another key, or changed, does not.
// QRL_JOSE_TOOL names tests/jose/jose_tool.c's program.
import { execFileSync, spawnSync } from 'node:child_process';
import { webcrypto as wc, createHash } from 'node:crypto';

const tool = process.env.QRL_JOSE_TOOL;
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fail = (msg) => { console.error('jose.interop: ' + msg); process.exit(1); };
const claims = JSON.stringify({ iss: 'https://xacthuc.dichvucong.gov.vn', sub: '001099012345',
                                aud: 'dvc-dongnai', name: 'Nguyễn Văn An' });

// C signs, Node verifies.
const out = JSON.parse(execFileSync(tool, ['sign', claims], { encoding: 'utf8' }));
const { jwk, token } = out;
const [h, p, s] = token.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
if (header.alg !== 'ES256' || header.typ !== 'JWT' || header.kid !== jwk.kid) fail('header ' + h);
const thumb = b64u(createHash('sha256').update(
  JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest());
if (thumb !== jwk.kid) fail(`kid ${jwk.kid} is not the RFC 7638 thumbprint ${thumb}`);
const key = await wc.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
                                      { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const alg = { name: 'ECDSA', hash: 'SHA-256' };
const ok = await wc.subtle.verify(alg, key, Buffer.from(s, 'base64url'), Buffer.from(h + '.' + p));
if (!ok) fail('Node does not verify the C signature');
if (Buffer.from(p, 'base64url').toString('utf8') !== claims) fail('payload changed');
const bad = await wc.subtle.verify(alg, key, Buffer.from(s, 'base64url'), Buffer.from(h + '.' + p + 'x'));
if (bad) fail('Node verified a changed token: the check is not a check');

// Node signs, C verifies (and refuses another key's token).
const pair = await wc.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const njwk = await wc.subtle.exportKey('jwk', pair.publicKey);
const nh = b64u(JSON.stringify({ alg: 'ES256', typ: 'JWT' }));
const np = b64u(claims);
const ns = b64u(await wc.subtle.sign(alg, pair.privateKey, Buffer.from(nh + '.' + np)));
const ntoken = `${nh}.${np}.${ns}`;
const v = spawnSync(tool, ['verify', JSON.stringify(njwk), ntoken], { encoding: 'utf8' });
if (v.status !== 0 || v.stdout !== claims) fail(`C does not verify Node's token: ${v.status} ${v.stdout}`);
const w = spawnSync(tool, ['verify', JSON.stringify(jwk), ntoken], { encoding: 'utf8' });
if (w.status !== 1 || w.stdout.trim() !== 'bad_signature') fail(`C accepted another key's token: ${w.status} ${w.stdout}`);
console.log('jose.interop: C and Node WebCrypto agree (sign, verify, thumbprint)');
