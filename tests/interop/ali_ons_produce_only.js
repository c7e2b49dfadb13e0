#!/usr/bin/env node
// Usage: node ali_ons_produce_only.js NAMESRV_ADDR TOPIC GROUP [COUNT]
//
// An ali-ons 3.12.0 producer (group GROUP) that sends COUNT messages (default 100) to TOPIC for
// another client to consume; tests/interop_client.rs uses it to check that what ali-ons sends
// reaches the Ferrocket Rust PushConsumer intact.
//
// Message i carries tag TagC when i % 10 == 9, else TagA (even i) or TagB (odd i); keys
// `k-<i> u-<i>` (msg.keys = ['k-<i>', 'u-<i>'], sent as KEYS joined by a space), user properties
// `idx=<i>` and `note=ünï-<i> ✓`, and body `body-<i>`. Sends are sequential and awaited.
//
// ali-ons never falls back to the TBW102 route, so when the name server has no route for TOPIC
// the script creates it with UPDATE_AND_CREATE_TOPIC (8 queues, INTEROP_TOPIC_QUEUES) on the
// masters of the TBW102 route and waits for the route, as ali_ons_produce_consume.js does.
//
// The last line on stdout is exactly one of
//   RESULT ok: sent=<n> topic=<how> elapsed=<s>   (exit 0)
//   RESULT fail: <reason>                         (exit 1)
// Progress and client log noise go to stderr. Only 127.0.0.1:<port> addresses are accepted.
//
// Environment: INTEROP_TIMEOUT_MS (overall bound, default 60000), INTEROP_VERBOSE=1.
'use strict';

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 60000);
const VERBOSE = process.env.INTEROP_VERBOSE === '1';
const TOPIC_QUEUES = Number(process.env.INTEROP_TOPIC_QUEUES || 8);
const { T0, log, finish, describe, sleep, verboseLogger, state } = require('./script_common').script('ali_ons_produce_only');

function tagOf(i) {
  if (i % 10 === 9) return 'TagC';
  return i % 2 === 0 ? 'TagA' : 'TagB';
}

// See ali_ons_produce_consume.js: create TOPIC on the TBW102 masters when it has no route.
async function ensureTopic(client, topic, queues, deadline) {
  try {
    await client.getTopicRouteInfoFromNameServer(topic, 3000);
    return 'existed';
  } catch (err) {
    if (err.code !== 17) throw err;
  }
  const def = await client.getDefaultTopicRouteInfoFromNameServer('TBW102', 3000);
  const masters = (def && def.brokerDatas || []).map(bd => bd.brokerAddrs && bd.brokerAddrs[0]).filter(Boolean);
  if (!masters.length) throw new Error(`cannot create ${topic}: the TBW102 route names no master broker`);
  for (const addr of masters) {
    await client.createTopic(addr, 'TBW102', {
      topicName: topic,
      readQueueNums: queues,
      writeQueueNums: queues,
      perm: 6,
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0,
      order: false,
    }, 3000);
  }
  for (;;) {
    try {
      await client.getTopicRouteInfoFromNameServer(topic, 3000);
      return 'created';
    } catch (err) {
      if (err.code !== 17) throw err;
      if (Date.now() >= deadline) throw new Error(`topic ${topic} created but the name server has no route for it`);
    }
    await sleep(200);
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 3 || args.length > 4) {
    return finish(false, 'usage: ali_ons_produce_only.js NAMESRV_ADDR TOPIC GROUP [COUNT]');
  }
  const [ addr, topic, group ] = args;
  const count = args[3] === undefined ? 100 : Number(args[3]);
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) {
    return finish(false, `refusing non-loopback name server address ${JSON.stringify(addr)} (want 127.0.0.1:PORT)`);
  }
  if (!Number.isInteger(count) || count < 1) return finish(false, `bad COUNT ${JSON.stringify(args[3])}`);
  const deadline = T0 + TIMEOUT_MS;

  let Producer;
  let Message;
  try {
    ({ Producer, Message } = require('ali-ons'));
  } catch (err) {
    return finish(false, `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }

  let sent = 0;
  const producer = new Producer({
    // httpclient is only used to look up name servers over HTTP when nameSrv is not given.
    httpclient: { request() { throw new Error('interop test: HTTP name-server lookup must not be used'); } },
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    nameSrv: addr,
    producerGroup: group,
    // ali-ons' info log on stderr with INTEROP_VERBOSE=1 (an undefined logger would break it).
    ...(VERBOSE ? { logger: verboseLogger() } : {}),
  });
  producer.on('error', err => log(`producer error event: ${describe(err)}`));
  const close = () => Promise.race([ producer.close().catch(err => log(`close failed: ${describe(err)}`)), sleep(3000) ]);
  const overall = setTimeout(() => finish(false, `overall timeout after ${TIMEOUT_MS} ms: sent ${sent}/${count}`), TIMEOUT_MS);

  try {
    await producer.ready();
    const how = await ensureTopic(producer._mqClient, topic, TOPIC_QUEUES, deadline);
    log(`producer started; topic ${topic} ${how}; sending ${count} messages`);
    for (let i = 0; i < count; i++) {
      if (state.finished) return;
      const msg = new Message(topic, tagOf(i), Buffer.from(`body-${i}`));
      msg.keys = [ `k-${i}`, `u-${i}` ];
      msg.properties.idx = String(i);
      msg.properties.note = `ünï-${i} ✓`;
      const res = await producer.send(msg);
      if (res.sendStatus !== 'SEND_OK') throw new Error(`message ${i}: sendStatus ${res.sendStatus}`);
      sent++;
    }
    await close();
    clearTimeout(overall);
    return finish(true, `sent=${sent} topic=${how} elapsed=${((Date.now() - T0) / 1000).toFixed(1)}s`);
  } catch (err) {
    log(`failed: ${describe(err)}`);
    await close();
    return finish(false, `${describe(err)} (sent ${sent}/${count})`);
  }
}

main().catch(err => finish(false, `script error: ${describe(err)}`));
