/* minhbach: the explorer's in-browser verifier, written for this project.
 *
 * On every element with data-verify it checks, trusting nothing the server
 * says but the bytes it can recompute:
 *  - "checkpoint": the log's verifier key (C2SP signed-note: the key hash is
 *    recomputed) and the Ed25519 signature of the latest checkpoint;
 *  - "inclusion": also that the statement shown is the leaf's payload, that
 *    the leaf hash recomputed from the leaf bytes in the page matches, that
 *    every signer's DSSE signature verifies, and that the RFC 9162 root
 *    recomputed from the inclusion proof equals the signed checkpoint's root.
 * Then it says "verified against checkpoint N", or why not.
 *
 * SHA-256/512 come from WebCrypto; Ed25519 too when the browser has it, and
 * otherwise from the small BigInt implementation below (RFC 8032, with the
 * cofactored check the ledger uses). */
(function () {
  'use strict';
  var te = new TextEncoder();
  var vi = document.documentElement.lang !== 'en';
  function t(v, e) { return vi ? v : e; }

  // ---- bytes ----
  function b64dec(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(b) {
    var s = '';
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return s;
  }
  function concat(parts) {
    var n = 0, i, o = 0;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], o); o += parts[i].length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    var d = 0;
    for (var i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  function subtle() {
    if (!window.crypto || !crypto.subtle) {
      throw new Error(t('trình duyệt không cho dùng WebCrypto ở đây (trang cần được mở qua HTTPS)',
        'this browser offers no WebCrypto here (the page must be served over HTTPS)'));
    }
    return crypto.subtle;
  }
  async function sha256(b) { return new Uint8Array(await subtle().digest('SHA-256', b)); }
  async function sha512(b) { return new Uint8Array(await subtle().digest('SHA-512', b)); }

  // ---- Ed25519 (RFC 8032 section 5.1), BigInt ----
  var P = (1n << 255n) - 19n;
  var L = (1n << 252n) + 27742317777372353535851937790883648493n;
  function mod(a, m) { m = m || P; var r = a % m; return r >= 0n ? r : r + m; }
  function pow(b, e) {
    var r = 1n; b = mod(b);
    while (e > 0n) { if (e & 1n) r = r * b % P; b = b * b % P; e >>= 1n; }
    return r;
  }
  function inv(a) { return pow(a, P - 2n); }
  var D = mod(-121665n * inv(121666n));
  var SQRT_M1 = pow(2n, (P - 1n) / 4n);
  // Points in extended coordinates [X, Y, Z, T], x = X/Z, y = Y/Z, xy = T/Z.
  function add(p, q) { // section 5.1.4; complete, so it also doubles
    var a = mod((p[1] - p[0]) * (q[1] - q[0])), b = mod((p[1] + p[0]) * (q[1] + q[0]));
    var c = mod(2n * p[3] * q[3] * D), d = mod(2n * p[2] * q[2]);
    var e = b - a, f = d - c, g = d + c, h = b + a;
    return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
  }
  function mul(s, p) {
    var r = [0n, 1n, 1n, 0n];
    while (s > 0n) { if (s & 1n) r = add(r, p); p = add(p, p); s >>= 1n; }
    return r;
  }
  function samePoint(p, q) {
    return mod(p[0] * q[2] - q[0] * p[2]) === 0n && mod(p[1] * q[2] - q[1] * p[2]) === 0n;
  }
  function le(bytes) {
    var n = 0n;
    for (var i = bytes.length - 1; i >= 0; i--) n = (n << 8n) + BigInt(bytes[i]);
    return n;
  }
  function decodePoint(bytes) { // section 5.1.3
    if (bytes.length !== 32) return null;
    var y = le(bytes) & ((1n << 255n) - 1n), sign = bytes[31] >> 7;
    if (y >= P) return null;
    var y2 = y * y % P, u = mod(y2 - 1n), v = mod(D * y2 + 1n);
    var x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
    var vx2 = mod(v * x * x);
    if (vx2 !== u) {
      if (vx2 === mod(-u)) x = mod(x * SQRT_M1); else return null;
    }
    if (x === 0n && sign === 1) return null;
    if (Number(x & 1n) !== sign) x = P - x;
    return [x, y, 1n, mod(x * y)];
  }
  var BY = mod(4n * inv(5n));
  var BASE = (function () {
    var b = new Uint8Array(32), y = BY;
    for (var i = 0; i < 32; i++) { b[i] = Number(y & 255n); y >>= 8n; }
    return decodePoint(b);
  })();
  /* Cofactored verification: [8][S]B = [8]R + [8][k]A, S < L, canonical
     point encodings. */
  async function ed25519VerifyJs(pub, msg, sig) {
    if (pub.length !== 32 || sig.length !== 64) return false;
    var A = decodePoint(pub), R = decodePoint(sig.subarray(0, 32));
    if (!A || !R) return false;
    var S = le(sig.subarray(32));
    if (S >= L) return false;
    var k = mod(le(await sha512(concat([sig.subarray(0, 32), pub, msg]))), L);
    return samePoint(mul(8n, mul(S, BASE)), mul(8n, add(R, mul(k, A))));
  }
  var engine = 'auto';
  async function ed25519Verify(pub, msg, sig) {
    if (engine !== 'js') {
      var key = null;
      try {
        key = await subtle().importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
      } catch (e) { key = null; }
      if (key) {
        try {
          return { ok: await subtle().verify({ name: 'Ed25519' }, key, sig, msg), how: 'WebCrypto' };
        } catch (e) { /* fall through to our own */ }
      }
    }
    return { ok: await ed25519VerifyJs(pub, msg, sig), how: 'JavaScript' };
  }

  // ---- C2SP signed notes, checkpoints (tlog-checkpoint) ----
  async function parseVerifierKey(s) {
    // name+hash+data: the name and the hash hold no '+', the base64 data may.
    var i = s.indexOf('+'), j = s.indexOf('+', i + 1);
    var parts = [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
    if (i <= 0 || j < 0 || !/^[0-9a-f]{8}$/.test(parts[1])) throw new Error(t('khóa của sổ cái không đúng dạng', 'the log key is malformed'));
    var data = b64dec(parts[2]);
    if (data.length !== 33 || data[0] !== 1) throw new Error(t('khóa của sổ cái không phải Ed25519', 'the log key is not an Ed25519 key'));
    var pub = data.slice(1);
    var id = (await sha256(concat([te.encode(parts[0]), Uint8Array.of(0x0a, 0x01), pub]))).slice(0, 4);
    if (hex(id) !== parts[1]) throw new Error(t('mã băm của khóa không khớp với khóa', 'the key hash does not match the key'));
    return { name: parts[0], id: id, pub: pub, text: s };
  }
  function parseNote(text) {
    var i = text.lastIndexOf('\n\n');
    if (i < 0 || text[text.length - 1] !== '\n') throw new Error(t('checkpoint không đúng dạng', 'the checkpoint is malformed'));
    var sigs = [];
    text.slice(i + 2, -1).split('\n').forEach(function (line) {
      var m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) throw new Error(t('dòng chữ ký không đúng dạng', 'a signature line is malformed'));
      var b = b64dec(m[2]);
      if (b.length < 5) throw new Error(t('chữ ký quá ngắn', 'a signature is too short'));
      sigs.push({ name: m[1], id: b.slice(0, 4), sig: b.slice(4) });
    });
    return { body: text.slice(0, i + 1), sigs: sigs };
  }
  function parseCheckpoint(body) {
    var lines = body.split('\n');
    if (lines.length < 4 || !/^(0|[1-9][0-9]{0,19})$/.test(lines[1])) throw new Error(t('checkpoint không đúng dạng', 'the checkpoint is malformed'));
    var root = b64dec(lines[2]);
    if (root.length !== 32) throw new Error(t('gốc cây không phải 32 byte', 'the root is not 32 bytes'));
    return { origin: lines[0], size: BigInt(lines[1]), root: root };
  }
  async function fetchOk(url, kind) {
    var r = await fetch(url, { cache: 'no-store', credentials: 'omit' });
    if (!r.ok) throw new Error(url + ': ' + t('máy chủ trả lời ', 'the server answered ') + r.status);
    return kind === 'json' ? r.json() : r.text();
  }

  // ---- RFC 9162 section 2.1.3.2: the root from an inclusion proof ----
  async function rootFromInclusion(index, size, leafHash, proof) {
    if (index >= size) throw new Error(t('chỉ số nằm ngoài cây', 'the index is outside the tree'));
    var fn = index, sn = size - 1n, r = leafHash, one = Uint8Array.of(1);
    for (var i = 0; i < proof.length; i++) {
      var p = proof[i];
      if (p.length !== 32) throw new Error(t('bằng chứng có mã băm sai độ dài', 'a proof hash has the wrong length'));
      if (sn === 0n) throw new Error(t('bằng chứng quá dài', 'the proof is too long'));
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(concat([one, p, r]));
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(concat([one, r, p]));
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) throw new Error(t('bằng chứng quá ngắn', 'the proof is too short'));
    return r;
  }
  function pae(type, payload) { // DSSE v1 pre-authentication encoding
    var tb = te.encode(type);
    return concat([te.encode('DSSEv1 ' + tb.length + ' '), tb, te.encode(' ' + payload.length + ' '), payload]);
  }

  // ---- the page ----
  function reporter(box) {
    var steps = box.querySelector('[data-steps]'), status = box.querySelector('[data-status]');
    steps.textContent = '';
    box.removeAttribute('data-result');
    status.textContent = t('Đang kiểm tra…', 'Checking…');
    return {
      step: function (text, bad) {
        var li = document.createElement('li');
        li.textContent = (bad ? '✗ ' : '✓ ') + text;
        if (bad) li.className = 'bad';
        steps.appendChild(li);
      },
      done: function (ok, text, size) {
        status.textContent = text;
        box.setAttribute('data-result', ok ? 'verified' : 'failed');
        if (size !== undefined) box.setAttribute('data-size', String(size));
      }
    };
  }

  // The published copy of the read path (an object-storage replica behind a
  // CDN) when the server names one: the log's metadata and checkpoint come
  // from there, so the browser checks what every other reader sees.
  function readUrl() {
    var m = document.querySelector('meta[name="minhbach-read-url"]');
    return m ? String(m.getAttribute('content') || '').replace(/\/+$/, '') : '';
  }

  async function logKeyAndCheckpoint(rep) {
    var base = readUrl();
    if (base) rep.step(t('Đọc checkpoint từ bản công bố: ', 'Reading the checkpoint from the published copy: ') + base);
    var info = await fetchOk(base + '/api/v1/log', 'json');
    var key = await parseVerifierKey(String(info.verifier_key));
    rep.step(t('Khóa công khai của sổ cái: ', 'The log\u2019s public key: ') + key.text +
      t(' (mã khóa tính lại khớp; hãy so khóa với nơi công bố độc lập, xem trang Khóa ký)',
        ' (its key hash recomputes; compare it with an independent publication, see the Keys page)'));
    try {
      var seen = localStorage.getItem('minhbach.logkey');
      if (seen && seen !== key.text) {
        throw new Error(t('khóa của sổ cái đã ĐỔI so với lần bạn vào trước', 'the log key CHANGED since your last visit'));
      }
      if (!seen) localStorage.setItem('minhbach.logkey', key.text);
    } catch (e) { if (e instanceof Error && /CHANGED|ĐỔI/.test(e.message)) throw e; }
    var note = parseNote(await fetchOk(base + '/checkpoint', 'text'));
    var cp = parseCheckpoint(note.body);
    if (cp.origin !== key.name) throw new Error(t('checkpoint thuộc một sổ cái khác: ', 'the checkpoint is of another log: ') + cp.origin);
    var mine = note.sigs.filter(function (s) { return s.name === key.name && equal(s.id, key.id); });
    if (mine.length === 0) throw new Error(t('checkpoint không có chữ ký bằng khóa của sổ cái', 'the checkpoint has no signature by the log key'));
    var v = await ed25519Verify(key.pub, te.encode(note.body), mine[0].sig);
    if (!v.ok) throw new Error(t('chữ ký Ed25519 của checkpoint SAI', 'the checkpoint\u2019s Ed25519 signature does NOT verify'));
    rep.step(t('Checkpoint ', 'Checkpoint ') + cp.size + t(' có chữ ký Ed25519 hợp lệ của sổ cái (kiểm tra bằng ', ' carries a valid Ed25519 signature by the log (checked with ') + v.how + ')');
    return cp;
  }

  async function verifyCheckpointBox(box) {
    var rep = reporter(box);
    try {
      var cp = await logKeyAndCheckpoint(rep);
      rep.done(true, t('✓ Checkpoint ' + cp.size + ' đã được xác minh: có chữ ký của sổ cái.',
        '✓ Checkpoint ' + cp.size + ' verified: signed by the log.'), cp.size);
    } catch (e) {
      rep.step(e.message, true);
      rep.done(false, t('✗ KHÔNG xác minh được: ', '✗ NOT verified: ') + e.message);
    }
  }

  async function verifyInclusionBox(box) {
    var rep = reporter(box);
    try {
      var index = BigInt(box.getAttribute('data-index'));
      var leaf = b64dec(box.getAttribute('data-leaf'));
      var parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf));
      var env = parsed.envelope;
      var payload = b64dec(env.payload);
      var shown = document.getElementById('payload');
      var norm = function (s) { return s.replace(/\r\n?/g, '\n'); };
      if (shown && norm(shown.textContent) !== norm(new TextDecoder().decode(payload))) {
        throw new Error(t('nội dung hiển thị khác với nội dung trong lá', 'the statement shown differs from the one in the leaf'));
      }
      rep.step(t('Nội dung hiển thị đúng là nội dung đã ký trong lá (', 'The statement shown is the one signed in the leaf (') + leaf.length + t(' byte)', ' bytes)'));
      var leafHash = await sha256(concat([Uint8Array.of(0), leaf]));
      if (hex(leafHash) !== box.getAttribute('data-leaf-hash')) {
        throw new Error(t('mã băm của lá tính lại không khớp với mã băm hiển thị', 'the recomputed leaf hash differs from the one shown'));
      }
      rep.step(t('Mã băm của lá tính lại từ các byte: ', 'Leaf hash recomputed from the bytes: ') + hex(leafHash));
      var rows = document.querySelectorAll('tr[data-signer]');
      var msg = pae(env.payloadType, payload);
      for (var i = 0; i < rows.length; i++) {
        var row = rows[i], cell = row.querySelector('[data-sig-status]');
        var pk = row.getAttribute('data-pubkey');
        if (!pk) throw new Error(t('một người ký không có trong danh sách khóa', 'a signer is not in the key registry'));
        var sv = await ed25519Verify(b64dec(pk), msg, b64dec(row.getAttribute('data-sig')));
        if (cell) cell.textContent = sv.ok ? t('✓ hợp lệ (trình duyệt đã kiểm tra)', '✓ valid (checked by your browser)') : t('✗ SAI', '✗ INVALID');
        if (!sv.ok) throw new Error(t('chữ ký của một người ký SAI', 'a signer\u2019s signature does NOT verify'));
      }
      if (rows.length) rep.step(t('Chữ ký của ', 'The signatures of ') + rows.length + t(' người ký đều hợp lệ', ' signer(s) verify'));
      var cp = await logKeyAndCheckpoint(rep);
      if (index >= cp.size) {
        throw new Error(t('checkpoint ' + cp.size + ' của bản công bố chưa bao gồm bút toán #' + index + '; hãy thử lại sau ít phút',
          'the published checkpoint ' + cp.size + ' does not cover entry #' + index + ' yet; try again in a few minutes'));
      }
      var proof = await fetchOk('/api/v1/proofs/inclusion?index=' + index + '&size=' + cp.size, 'json');
      if (BigInt(proof.index) !== index || BigInt(proof.tree_size) !== cp.size || !Array.isArray(proof.proof)) {
        throw new Error(t('bằng chứng bao hàm không đúng yêu cầu', 'the inclusion proof is not the one asked for'));
      }
      var root = await rootFromInclusion(index, cp.size, leafHash, proof.proof.map(b64dec));
      if (!equal(root, cp.root)) {
        throw new Error(t('gốc cây tính từ bằng chứng bao hàm KHÔNG khớp với checkpoint ', 'the root recomputed from the inclusion proof does NOT match checkpoint ') + cp.size);
      }
      rep.step(t('Gốc cây Merkle tính lại từ bằng chứng bao hàm (', 'Merkle root recomputed from the inclusion proof (') + proof.proof.length +
        t(' mã băm) khớp với gốc đã ký của checkpoint', ' hashes) matches the signed root of checkpoint ') + (vi ? '' : cp.size));
      rep.done(true, t('✓ Đã xác minh theo checkpoint ' + cp.size + ': bút toán #' + index + ' nằm trong sổ cái đã ký.',
        '✓ Verified against checkpoint ' + cp.size + ': entry #' + index + ' is in the signed log.'), cp.size);
    } catch (e) {
      rep.step(e.message, true);
      rep.done(false, t('✗ KHÔNG xác minh được: ', '✗ NOT verified: ') + e.message);
    }
  }

  async function run(opts) {
    engine = (opts && opts.engine) || 'auto';
    var boxes = document.querySelectorAll('[data-verify]');
    for (var i = 0; i < boxes.length; i++) {
      var kind = boxes[i].getAttribute('data-verify');
      if (kind === 'inclusion') await verifyInclusionBox(boxes[i]);
      else if (kind === 'checkpoint') await verifyCheckpointBox(boxes[i]);
    }
  }

  window.minhbach = {
    run: run, ed25519Verify: ed25519Verify, ed25519VerifyJs: ed25519VerifyJs,
    rootFromInclusion: rootFromInclusion, b64dec: b64dec, hex: hex
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { run(); });
  else run();
})();
