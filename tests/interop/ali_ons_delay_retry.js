#!/usr/bin/env node
// Usage: node ali_ons_delay_retry.js NAMESRV_ADDR TOPIC GROUP
//
// Drives ali-ons against a running name server and broker whose TOPIC already exists, to check
// the broker's delay levels and retries: one message sent with delayTimeLevel 2 must reach an
// ali-ons push consumer no earlier than 5 s after it was sent, and one message whose first
// consumption throws must come back (ali-ons sends it back with CONSUMER_SEND_MSG_BACK; the broker
// stores it in %RETRY%GROUP with a delay level and redelivers it) with reconsumeTimes 1.
//
// The last line on stdout is `RESULT ok: <summary>` (exit 0) or `RESULT fail: <reason>` (exit 1).
// Environment: INTEROP_TIMEOUT_MS (overall bound, default 60000), INTEROP_VERBOSE=1.
'use strict';

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 60000);
const VERBOSE = process.env.INTEROP_VERBOSE === '1';
const LEVEL2_MS = 5000;
const { T0, log, finish, describe, sleep } =
  require('./script_common').script('ali_ons_delay_retry', { privateHome: true });

async function main() {
  const [ addr, topic, group ] = process.argv.slice(2);
  if (!group) return finish(false, 'usage: ali_ons_delay_retry.js NAMESRV_ADDR TOPIC GROUP');
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) return finish(false, `refusing non-loopback address ${addr}`);
  let ons;
  try {
    ons = require('ali-ons');
  } catch (err) {
    return finish(false, `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }
  const common = {
    httpclient: { request() { throw new Error('HTTP name-server lookup must not be used'); } },
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    nameSrv: addr,
    ...(VERBOSE ? {} : { logger: { info() {}, debug() {}, warn() {}, error() {} } }),
  };
  const consumer = new ons.Consumer({
    ...common,
    consumerGroup: group,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    pollNameServerInteval: 1000,
    heartbeatBrokerInterval: 1000,
    rebalanceInterval: 1000,
    persistConsumerOffsetInterval: 1000,
  });
  const producer = new ons.Producer({ ...common, producerGroup: `${group}_P` });
  consumer.on('error', err => VERBOSE && log(`consumer error: ${describe(err)}`));
  producer.on('error', err => VERBOSE && log(`producer error: ${describe(err)}`));
  const close = () => Promise.race([ Promise.all([ consumer.close(), producer.close() ]).catch(() => {}), sleep(3000) ]);
  const overall = setTimeout(() => finish(false, `overall timeout after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

  let delayedSentAt = 0;
  let delayedAt = 0;
  const retries = []; // reconsumeTimes of each delivery of the failing message
  try {
    await Promise.all([ consumer.ready(), producer.ready() ]);
    consumer.subscribe(topic, '*', async msg => {
      const body = msg.body.toString();
      if (body === 'delayed' && !delayedAt) delayedAt = Date.now();
      if (body === 'fail-once') {
        retries.push(msg.reconsumeTimes);
        if (retries.length === 1) throw new Error('first attempt fails on purpose');
      }
    });
    await sleep(3000); // the first rebalance
    const delayed = new ons.Message(topic, 'TagD', Buffer.from('delayed'));
    delayed.delayTimeLevel = 2;
    delayedSentAt = Date.now();
    const r1 = await producer.send(delayed);
    const r2 = await producer.send(new ons.Message(topic, 'TagR', Buffer.from('fail-once')));
    if (r1.sendStatus !== 'SEND_OK' || r2.sendStatus !== 'SEND_OK') throw new Error(`send: ${r1.sendStatus} ${r2.sendStatus}`);
    while (!(delayedAt && retries.length >= 2)) {
      if (Date.now() - T0 > TIMEOUT_MS - 2000) throw new Error(`timeout: delayed=${!!delayedAt} deliveries=${retries.length}`);
      await sleep(50);
    }
    const waited = delayedAt - delayedSentAt;
    const problems = [];
    if (waited < LEVEL2_MS - 100) problems.push(`level-2 message arrived after ${waited} ms (< 5 s)`);
    if (retries[1] !== 1) problems.push(`the retry carried reconsumeTimes=${retries[1]}`);
    await close();
    clearTimeout(overall);
    const summary = `delayed_ms=${waited} deliveries=${retries.length} reconsume=${retries.join(',')}`;
    return finish(!problems.length, problems.length ? `${problems.join('; ')} (${summary})` : summary);
  } catch (err) {
    await close();
    return finish(false, describe(err));
  }
}

main().catch(err => finish(false, `script error: ${describe(err)}`));
