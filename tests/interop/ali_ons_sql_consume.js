#!/usr/bin/env node
// Usage: node ali_ons_sql_consume.js NAMESRV_ADDR TOPIC GROUP SELECTOR EXPECTED
//
// An ali-ons 3.12.0 push consumer (CLUSTERING, CONSUME_FROM_FIRST_OFFSET) subscribed with a
// SQL92 selector ({ expressionType: 'SQL92', subString: SELECTOR }), which ali-ons hands to
// the broker and does not evaluate itself; tests/interop_client.rs uses it to check that the
// broker filters by message properties for a third-party client.
//
//   EXPECTED  comma-separated values of the user property `idx` of the messages SELECTOR
//             matches; every message another client sends carries a distinct `idx`.
//
// Prints `READY` once subscribed, then waits for every expected message and 1 s more.
// Fails on any message whose `idx` is not expected, whether handed to the handler or only
// returned by the broker in a pull response. The last stdout line is `RESULT ok: <summary>`
// (exit 0) or `RESULT fail: <reason>` (exit 1). Only 127.0.0.1:<port> addresses are accepted.
//
// Environment: INTEROP_TIMEOUT_MS (overall bound, default 60000), INTEROP_VERBOSE=1.
'use strict';

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 60000);
const VERBOSE = process.env.INTEROP_VERBOSE === '1';
const SETTLE_MS = 1000;
const { T0, log, finish, describe, sleep, verboseLogger } =
  require('./script_common').script('ali_ons_sql_consume', { privateHome: true });

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 5) {
    return finish(false, 'usage: ali_ons_sql_consume.js NAMESRV_ADDR TOPIC GROUP SELECTOR EXPECTED');
  }
  const [ addr, topic, group, selector, expectedList ] = args;
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) {
    return finish(false, `refusing non-loopback name server address ${JSON.stringify(addr)} (want 127.0.0.1:PORT)`);
  }
  const expected = new Set(expectedList.split(',').filter(Boolean));
  const deadline = T0 + TIMEOUT_MS;

  let Consumer;
  let MQClient;
  try {
    ({ Consumer } = require('ali-ons'));
    MQClient = require('ali-ons/lib/mq_client');
  } catch (err) {
    return finish(false, `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }

  const seen = new Set();
  const unexpected = [];
  let pulledUnexpected = 0;
  const origPull = MQClient.prototype.pullMessage;
  MQClient.prototype.pullMessage = async function(brokerAddr, requestHeader, timeoutMillis) {
    const res = await origPull.call(this, brokerAddr, requestHeader, timeoutMillis);
    for (const m of (res && res.msgFoundList) || []) {
      if (m.topic === topic && !expected.has((m.properties || {}).idx)) pulledUnexpected++;
    }
    return res;
  };

  const consumer = new Consumer({
    httpclient: { request() { throw new Error('interop test: HTTP name-server lookup must not be used'); } },
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    nameSrv: addr,
    consumerGroup: group,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    pollNameServerInteval: 3000,
    heartbeatBrokerInterval: 3000,
    rebalanceInterval: 2000,
    persistConsumerOffsetInterval: 1000,
    ...(VERBOSE ? { logger: verboseLogger() } : {}),
  });
  consumer.on('error', err => { if (VERBOSE) log(`consumer error event: ${describe(err)}`); });
  const close = () => Promise.race([ consumer.close().catch(err => log(`close failed: ${describe(err)}`)), sleep(3000) ]);
  const progress = () => `received ${seen.size}/${expected.size}, unexpected ${unexpected.length}`;
  const overall = setTimeout(() => finish(false, `overall timeout after ${TIMEOUT_MS} ms: ${progress()}`), TIMEOUT_MS);

  try {
    await consumer.ready();
    consumer.subscribe(topic, { expressionType: 'SQL92', subString: selector }, async msg => {
      const idx = (msg.properties || {}).idx;
      if (expected.has(idx)) seen.add(idx);
      else unexpected.push(idx);
    });
    process.stdout.write('READY\n');
    while (seen.size < expected.size) {
      if (Date.now() >= deadline) throw new Error(`timeout waiting for messages: ${progress()}`);
      await sleep(50);
    }
    await sleep(SETTLE_MS);
    await close();
    clearTimeout(overall);
    const summary = `expected=${expected.size} received=${seen.size} elapsed=${((Date.now() - T0) / 1000).toFixed(1)}s`;
    if (unexpected.length || pulledUnexpected) {
      return finish(false, `handler got idx ${unexpected.slice(0, 10).join(',')}; broker returned ${pulledUnexpected} unmatched (${summary})`);
    }
    return finish(true, summary);
  } catch (err) {
    await close();
    return finish(false, err.message);
  }
}

main().catch(err => finish(false, `script error: ${describe(err)}`));
