// What the ali-ons interop scripts share: a log line prefix with elapsed time, the single
// `RESULT ok|fail: ...` last line and exit, error descriptions, sleep, ali-ons' logger in
// verbose mode and, on request, a private HOME (ali-ons computes its offset-store path from
// HOME when it is loaded, so call this before requiring ali-ons).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const util = require('util');

function script(name, { privateHome = false } = {}) {
  const T0 = Date.now();
  let tmpHome = null;
  if (privateHome) {
    tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrocket-interop-ons-'));
    process.env.HOME = tmpHome;
  }
  const log = msg => process.stderr.write(`[${name} +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
  const state = { finished: false };
  function finish(ok, text) {
    if (state.finished) return;
    state.finished = true;
    if (tmpHome && process.env.INTEROP_KEEP_HOME !== '1') {
      try {
        fs.rmSync(tmpHome, { recursive: true, force: true });
      } catch (_) { /* ignore */ }
    }
    const code = ok ? 0 : 1;
    const line = String(text).replace(/\s+/g, ' ').trim();
    process.stdout.write(`RESULT ${ok ? 'ok' : 'fail'}: ${line}\n`, () => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  }
  const describe = err => (err
    ? `${err.name || 'Error'}${err.code !== undefined ? ` code=${err.code}` : ''}: ${err.message}`
    : String(err));
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const verboseLogger = () => ({
    info: (...a) => log(`[info] ${util.format(...a)}`),
    debug() {},
    warn: (...a) => log(`[warn] ${util.format(...a)}`),
    error: (...a) => log(`[error] ${util.format(...a)}`),
  });
  return { T0, log, finish, describe, sleep, verboseLogger, state };
}

module.exports = { script };
