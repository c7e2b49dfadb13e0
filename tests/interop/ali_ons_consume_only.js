#!/usr/bin/env node
// Usage: node ali_ons_consume_only.js NAMESRV_ADDR TOPIC GROUP [COUNT]
//
// An ali-ons 3.12.0 push consumer (CLUSTERING, CONSUME_FROM_FIRST_OFFSET, subscribed
// 'TagA || TagB') for messages another client sends; tests/interop_client.rs uses it to check
// that what the Ferrocket Rust Producer sends reaches ali-ons intact.
//
//   COUNT  how many messages the sender sends (default 100). Message i is expected to carry tag
//          TagC when i % 10 == 9, else TagA (even i) or TagB (odd i); keys `k-<i> u-<i>` (two
//          keys, space-separated as KEYS), user properties `idx=<i>` and `note=ünï-<i> ✓`, and
//          body `body-<i>`. TOPIC must exist (the consumer only reads it).
//
// Once the consumer has started and subscribed, the script prints `READY` on stdout: the caller
// may send before or after that (a new GROUP reads TOPIC from offset 0). It then waits for every
// TagA/TagB message, waits 1 s more for late duplicates or TagC, and ends.
//
// Checks: every TagA/TagB message received with the right body, tag, keys and user properties;
// duplicates tolerated and counted; failure on any TagC handed to the handler or returned by the
// broker in a pull response (ali-ons filters tags again on the client side, so only the pull
// responses show whether the broker filtered).
//
// The last line on stdout is exactly one of
//   RESULT ok: <summary>      (exit 0)
//   RESULT fail: <reason>     (exit 1)
// Progress and client log noise go to stderr. Only 127.0.0.1:<port> addresses are accepted.
//
// Environment: INTEROP_TIMEOUT_MS (overall bound, default 60000), INTEROP_VERBOSE=1 (ali-ons info
// logs on stderr), INTEROP_KEEP_HOME=1 (keep the temp HOME).
'use strict';

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 60000);
const VERBOSE = process.env.INTEROP_VERBOSE === '1';
const SETTLE_MS = 1000;
const { T0, log, finish, describe, sleep, verboseLogger, state } =
  require('./script_common').script('ali_ons_consume_only', { privateHome: true });

function tagOf(i) {
  if (i % 10 === 9) return 'TagC';
  return i % 2 === 0 ? 'TagA' : 'TagB';
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 3 || args.length > 4) {
    return finish(false, 'usage: ali_ons_consume_only.js NAMESRV_ADDR TOPIC GROUP [COUNT]');
  }
  const [ addr, topic, group ] = args;
  const count = args[3] === undefined ? 100 : Number(args[3]);
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) {
    return finish(false, `refusing non-loopback name server address ${JSON.stringify(addr)} (want 127.0.0.1:PORT)`);
  }
  if (!Number.isInteger(count) || count < 1) return finish(false, `bad COUNT ${JSON.stringify(args[3])}`);
  const deadline = T0 + TIMEOUT_MS;

  let Consumer;
  let MQClient;
  try {
    ({ Consumer } = require('ali-ons'));
    MQClient = require('ali-ons/lib/mq_client');
  } catch (err) {
    return finish(false, `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }

  const expected = new Set();
  for (let i = 0; i < count; i++) if (tagOf(i) !== 'TagC') expected.add(i);
  const seen = new Set();
  let duplicates = 0;
  let tagC = 0;
  let pulled = 0;
  let pulledTagC = 0;
  const bad = []; // the first 10 problems
  let badCount = 0;
  const errors = new Map(); // background error text -> count
  const progress = () => `received ${seen.size}/${expected.size}, ${duplicates} duplicates`;

  // Count what the broker returns in pull responses (ali-ons drops non-matching tags afterwards).
  const origPull = MQClient.prototype.pullMessage;
  MQClient.prototype.pullMessage = async function(brokerAddr, requestHeader, timeoutMillis) {
    const res = await origPull.call(this, brokerAddr, requestHeader, timeoutMillis);
    for (const m of (res && res.msgFoundList) || []) {
      if (m.topic !== topic) continue;
      pulled++;
      if (m.tags === 'TagC') pulledTagC++;
    }
    return res;
  };

  function onMessage(msg) {
    const body = msg.body ? msg.body.toString() : '';
    const m = /^body-(\d+)$/.exec(body) || /^k-(\d+)\b/.exec(msg.keys || '');
    if (msg.tags === 'TagC') tagC++;
    if (!m) {
      badCount++;
      if (bad.length < 10) bad.push(`unparsable: tags=${msg.tags} keys=${msg.keys} body=${body.slice(0, 40)}`);
      return;
    }
    const i = Number(m[1]);
    const p = msg.properties || {};
    const problems = [];
    if (msg.topic !== topic) problems.push(`topic=${msg.topic}`);
    if (body !== `body-${i}`) problems.push(`body=${JSON.stringify(body.slice(0, 40))}`);
    if (msg.tags !== tagOf(i)) problems.push(`tags=${msg.tags} (want ${tagOf(i)})`);
    if (msg.keys !== `k-${i} u-${i}`) problems.push(`keys=${JSON.stringify(msg.keys)}`);
    if (p.idx !== String(i)) problems.push(`idx=${JSON.stringify(p.idx)}`);
    if (p.note !== `ünï-${i} ✓`) problems.push(`note=${JSON.stringify(p.note)}`);
    if (problems.length) {
      badCount++;
      if (bad.length < 10) bad.push(`message ${i}: ${problems.join(', ')}`);
    }
    if (!expected.has(i)) return;
    if (seen.has(i)) duplicates++;
    else seen.add(i);
  }

  const consumer = new Consumer({
    // httpclient is only used to look up name servers over HTTP when nameSrv is not given.
    httpclient: { request() { throw new Error('interop test: HTTP name-server lookup must not be used'); } },
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    nameSrv: addr,
    consumerGroup: group,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    // Shorter than ali-ons' defaults (30/30/10/5 s) so that the first rebalance comes quickly.
    pollNameServerInteval: 3000,
    heartbeatBrokerInterval: 3000,
    rebalanceInterval: 2000,
    persistConsumerOffsetInterval: 1000,
    // ali-ons' info log on stderr with INTEROP_VERBOSE=1 (an undefined logger would break it).
    ...(VERBOSE ? { logger: verboseLogger() } : {}),
  });
  consumer.on('error', err => {
    // Expected now and then, e.g. no route yet for %RETRY%<group> before the first heartbeat.
    const key = String(err && err.message).replace(/\d+/g, 'N').slice(0, 200);
    const n = (errors.get(key) || 0) + 1;
    errors.set(key, n);
    if (n <= 3 || VERBOSE) log(`consumer error event: ${describe(err)}`);
  });
  const close = () => Promise.race([ consumer.close().catch(err => log(`close failed: ${describe(err)}`)), sleep(3000) ]);
  const overall = setTimeout(() => finish(false, `overall timeout after ${TIMEOUT_MS} ms: ${progress()}`), TIMEOUT_MS);

  try {
    await consumer.ready();
    consumer.subscribe(topic, 'TagA || TagB', async msg => onMessage(msg));
    log(`consumer started (client id ${consumer.clientId}, group ${group}, topic ${topic})`);
    process.stdout.write('READY\n');
    while (![ ...expected ].every(i => seen.has(i))) {
      if (Date.now() >= deadline) throw new Error(`timeout waiting for messages: ${progress()}`);
      await sleep(50);
    }
    await sleep(SETTLE_MS);
    const problems = [];
    if (tagC) problems.push(`handler received ${tagC} TagC message(s)`);
    if (pulledTagC) problems.push(`broker returned ${pulledTagC} TagC message(s) to a 'TagA || TagB' pull`);
    if (badCount) problems.push(`${badCount} malformed message(s), e.g. ${bad.slice(0, 3).join('; ')}`);
    const summary = `expected=${expected.size} received=${seen.size} duplicates=${duplicates} pulled=${pulled} ` +
      `elapsed=${((Date.now() - T0) / 1000).toFixed(1)}s`;
    log(`background error events: ${errors.size ? [ ...errors ].map(([ k, n ]) => `${n}x ${k}`).join(' | ') : 'none'}`);
    await close();
    clearTimeout(overall);
    return finish(!problems.length, problems.length ? `${problems.join('; ')} (${summary})` : summary);
  } catch (err) {
    log(`failed: ${describe(err)}`);
    await close();
    return finish(false, `${err.message}${bad.length ? `; malformed: ${bad.slice(0, 3).join('; ')}` : ''}`);
  }
}

main().catch(err => finish(false, `script error: ${describe(err)}`));
