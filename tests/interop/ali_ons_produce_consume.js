#!/usr/bin/env node
// Usage: node ali_ons_produce_consume.js NAMESRV_ADDR TOPIC GROUP [COUNT] [MODE]
//
// Drives ali-ons 3.12.0 (pure JavaScript RocketMQ 4.x client) against a running name server and
// broker and checks that messages flow end to end.
//
//   COUNT  number of messages to send (default 1000). Message i has tag TagC when i % 10 == 9,
//          else TagA (even i) or TagB (odd i); key `k-<i>`, user property `idx=<i>`, body `body-<i>`.
//   MODE   `cluster` (default): one push consumer, CLUSTERING, subscribed 'TagA || TagB'.
//          `broadcast`: two push consumers in BROADCASTING mode in the same group (two client
//          instances in this process); each one must receive every TagA/TagB message.
//          `restart`: like `cluster`, in two halves around a broker restart done by the caller:
//            sends the first COUNT/2 messages, waits until they are all consumed and the consumer
//            offsets have been committed, prints `READY <consumed>` and then `PAUSE` on stdout and
//            waits for a line `GO` on stdin. The caller stops and restarts the broker in between
//            (before or after writing GO: sends are retried until the broker answers again).
//            Then the second half is sent and the script waits for every message.
//
// Order: the producer starts (no message yet) and makes sure TOPIC exists: ali-ons cannot have a
// broker auto-create a topic (see ensureTopic), so when the name server has no route for TOPIC the
// script creates it with UPDATE_AND_CREATE_TOPIC (8 queues, INTEROP_TOPIC_QUEUES) on the masters of
// the TBW102 route. Then the consumers start, with consumeFromWhere CONSUME_FROM_FIRST_OFFSET so a
// new GROUP reads TOPIC from offset 0, and then the messages are sent.
//
// Restart mode and ali-ons' reconnect behaviour: a lost connection makes every pending request
// fail; a pull that fails is retried after 3 s (pullTimeDelayMillsWhenException), the next request
// to that address opens a new connection, and route/heartbeat tasks run every 3 s here. The
// consumer keeps its next pull offset per queue in memory, so after a broker restart it goes on
// from where it was; it re-reads the committed offset from the broker only when a rebalance
// re-adds a queue, and that is when redeliveries (counted as duplicates) can show up. A send
// during the outage fails fast (ECONNREFUSED; ali-ons itself tries 4 times at once), so the script
// retries each send up to INTEROP_SEND_RETRIES times, 500 ms apart (send_retries in the summary).
//
// Checks: every TagA/TagB message received by every consumer, with the right body, tag, key and
// user property; duplicates (redeliveries) are tolerated and counted; failure on any TagC handed
// to a handler, and also on any TagC the broker returned in a pull response (ali-ons drops
// non-matching tags on the client side, so only the pull responses show whether the broker
// filtered by tag the way RocketMQ does).
//
// The last line on stdout is exactly one of
//   RESULT ok: <summary>      (exit 0)
//   RESULT fail: <reason>     (exit 1)
// In `restart` mode stdout also carries the `READY <n>` and `PAUSE` lines before it. Progress and
// client log noise go to stderr. Only 127.0.0.1:<port> addresses are accepted.
//
// Environment: INTEROP_TIMEOUT_MS (overall bound, default 120000), INTEROP_SEND_RETRIES (extra
// attempts per message after a failed send, default 0; 60 in restart mode, 500 ms apart),
// INTEROP_VERBOSE=1 (ali-ons info logs on stderr), INTEROP_KEEP_HOME=1 (keep the temp HOME).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 120000);
const VERBOSE = process.env.INTEROP_VERBOSE === '1';
const TOPIC_QUEUES = Number(process.env.INTEROP_TOPIC_QUEUES || 8); // when the script creates TOPIC
const SETTLE_MS = 1000; // after the last expected message: time for late duplicates or TagC
const T0 = Date.now();

// ali-ons consumers in broadcast mode may store offsets under ~/.rocketmq_offsets_node (the path
// is computed when ali-ons is loaded): give the client a private HOME before requiring it.
const tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrocket-interop-ons-'));
process.env.HOME = tmpHome;

function log(msg) {
  process.stderr.write(`[ali_ons_produce_consume +${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}

function cleanupHome() {
  if (process.env.INTEROP_KEEP_HOME === '1') {
    log(`temp HOME kept: ${tmpHome}`);
    return;
  }
  try {
    fs.rmSync(tmpHome, { recursive: true, force: true });
  } catch (_) { /* ignore */ }
}

let finished = false;
function finish(ok, text) {
  if (finished) return;
  finished = true;
  cleanupHome();
  const code = ok ? 0 : 1;
  const line = String(text).replace(/\s+/g, ' ').trim();
  process.stdout.write(`RESULT ${ok ? 'ok' : 'fail'}: ${line}\n`, () => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

function describe(err) {
  if (!err) return String(err);
  const parts = [ `${err.name || 'Error'}` ];
  if (err.code !== undefined) parts.push(`code=${err.code}`);
  return `${parts.join(' ')}: ${err.message}`;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function tagOf(i) {
  if (i % 10 === 9) return 'TagC';
  return i % 2 === 0 ? 'TagA' : 'TagB';
}

// Resolves when `pred()` is true (checked every 50 ms) or rejects at the overall deadline.
function waitFor(pred, what, deadline) {
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (finished) return;
      if (pred()) return resolve();
      if (Date.now() >= deadline) return reject(new Error(`timeout waiting for ${typeof what === 'function' ? what() : what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

// One line from stdin (restart mode).
function readStdinLine(expected, deadline) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no '${expected}' line on stdin before the deadline`));
    }, Math.max(0, deadline - Date.now()));
    function cleanup() {
      clearTimeout(timer);
      process.stdin.removeListener('data', onData);
      process.stdin.removeListener('end', onEnd);
      process.stdin.pause();
    }
    function onData(chunk) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === expected) {
          cleanup();
          return resolve();
        }
        if (line) log(`ignoring stdin line ${JSON.stringify(line)} (waiting for ${expected})`);
      }
    }
    function onEnd() {
      cleanup();
      reject(new Error(`stdin closed before a '${expected}' line`));
    }
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', onData);
    process.stdin.on('end', onEnd);
    process.stdin.resume();
  });
}

// ali-ons does not fall back to the TBW102 route when the name server has no route for a topic
// (TOPIC_NOT_EXIST makes send() throw), so unlike the Java and C++ clients it cannot have the
// broker auto-create a topic. When TOPIC has no route, create it on every master broker of the
// TBW102 route with UPDATE_AND_CREATE_TOPIC (17), as `mqadmin updateTopic` does, and wait until
// the name server serves its route.
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
  const t = Date.now();
  for (;;) {
    try {
      await client.getTopicRouteInfoFromNameServer(topic, 3000);
      return `created on ${masters.join(',')} with ${queues} queues; route served after ${Date.now() - t} ms`;
    } catch (err) {
      if (err.code !== 17) throw err;
      if (Date.now() >= deadline) throw new Error(`topic ${topic} created on ${masters.join(',')} but the name server has no route for it after ${Date.now() - t} ms`);
    }
    await sleep(200);
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 3 || args.length > 5) {
    return finish(false, 'usage: ali_ons_produce_consume.js NAMESRV_ADDR TOPIC GROUP [COUNT] [cluster|broadcast|restart]');
  }
  const [ addr, topic, group ] = args;
  const count = args[3] === undefined ? 1000 : Number(args[3]);
  const mode = args[4] || 'cluster';
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) {
    return finish(false, `refusing non-loopback name server address ${JSON.stringify(addr)} (want 127.0.0.1:PORT)`);
  }
  if (!Number.isInteger(count) || count < 1) {
    return finish(false, `bad COUNT ${JSON.stringify(args[3])}`);
  }
  if (![ 'cluster', 'broadcast', 'restart' ].includes(mode)) {
    return finish(false, `bad MODE ${JSON.stringify(mode)} (want cluster, broadcast or restart)`);
  }
  const sendRetries = Number(process.env.INTEROP_SEND_RETRIES || (mode === 'restart' ? 60 : 0));
  const deadline = T0 + TIMEOUT_MS;
  const overall = setTimeout(() => finish(false, `overall timeout after ${TIMEOUT_MS} ms: ${progress()}`), TIMEOUT_MS);

  let Producer;
  let Consumer;
  let Message;
  let MQClient;
  try {
    ({ Producer, Consumer, Message } = require('ali-ons'));
    MQClient = require('ali-ons/lib/mq_client');
  } catch (err) {
    return finish(false, `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }

  // --- expectations -------------------------------------------------------------------------
  const expected = new Set();
  for (let i = 0; i < count; i++) if (tagOf(i) !== 'TagC') expected.add(i);
  const nConsumers = mode === 'broadcast' ? 2 : 1;
  const stats = [];
  for (let c = 0; c < nConsumers; c++) {
    stats.push({ seen: new Set(), deliveries: 0, duplicates: 0, tagC: 0, bad: [], pulled: 0, pulledTagC: 0 });
  }
  let sent = 0;
  let sendRetriesUsed = 0;
  const sendFailures = [];
  const background = new Map(); // error message (normalised) -> count

  function progress() {
    return stats.map((s, c) => `consumer${c + 1}: ${s.seen.size}/${expected.size} received, ${s.duplicates} duplicates`).join('; ') +
      `; sent ${sent}/${count}`;
  }

  // Count TagC messages the broker returns in pull responses (ali-ons filters them afterwards).
  const clientIdToConsumer = new Map();
  const origPull = MQClient.prototype.pullMessage;
  MQClient.prototype.pullMessage = async function(brokerAddr, requestHeader, timeoutMillis) {
    const res = await origPull.call(this, brokerAddr, requestHeader, timeoutMillis);
    const c = clientIdToConsumer.get(this.clientId);
    if (c !== undefined && res && res.msgFoundList) {
      for (const m of res.msgFoundList) {
        if (m.topic !== topic) continue;
        stats[c].pulled++;
        if (m.tags === 'TagC') stats[c].pulledTagC++;
      }
    }
    return res;
  };

  function noteBackground(who, err) {
    // ali-ons re-emits one error object through several layers, prefixing its message each time
    // ("MQPushConsumer occurred an error [mq:client] ... occurred error, ..."): keep the innermost
    // part, and normalise numbers, so that repeated errors collapse into one entry.
    const inner = String(err && err.message).replace(/(MQPushConsumer occurred an error\s*)+/g, '')
      .split(/occurred error[:,]\s*/).pop();
    const key = `${who}: ${err && err.name} ${err && err.code !== undefined ? err.code : ''}: ${inner}`
      .replace(/\d+/g, 'N').slice(0, 300);
    const n = (background.get(key) || 0) + 1;
    background.set(key, n);
    if (n <= 3 || VERBOSE) log(`${who} error event: ${err && err.name} ${err && err.code !== undefined ? `code=${err.code} ` : ''}${inner}`);
    else if (n === 4) log(`(further '${key.slice(0, 80)}...' errors not shown)`);
  }

  function badMessage(c, why) {
    const s = stats[c];
    if (s.bad.length < 10) s.bad.push(why);
    else s.bad.length++; // keep counting
  }

  function onMessage(c, msg) {
    const s = stats[c];
    s.deliveries++;
    const body = msg.body ? msg.body.toString() : '';
    const keys = msg.keys;
    const m = /^k-(\d+)$/.exec(keys || '') || /^body-(\d+)$/.exec(body);
    if (msg.tags === 'TagC') s.tagC++;
    if (!m) {
      badMessage(c, `unparsable message: topic=${msg.topic} tags=${msg.tags} keys=${keys} body=${body.slice(0, 40)}`);
      return;
    }
    const i = Number(m[1]);
    const problems = [];
    if (msg.topic !== topic) problems.push(`topic=${msg.topic}`);
    if (body !== `body-${i}`) problems.push(`body=${JSON.stringify(body.slice(0, 40))}`);
    if (msg.tags !== tagOf(i)) problems.push(`tags=${msg.tags} (want ${tagOf(i)})`);
    if (keys !== `k-${i}`) problems.push(`keys=${keys}`);
    const idx = msg.properties && msg.properties.idx;
    if (idx !== String(i)) problems.push(`idx=${idx}`);
    if (problems.length) badMessage(c, `message ${i}: ${problems.join(', ')}`);
    if (!expected.has(i)) return; // TagC or out of range: counted above / reported as bad
    if (s.seen.has(i)) s.duplicates++;
    else s.seen.add(i);
  }

  // httpclient is only used to look up name servers over HTTP when nameSrv is not given.
  const httpclient = {
    request() {
      throw new Error('interop test: HTTP name-server lookup must not be used');
    },
  };
  // ali-ons defaults: route poll 30 s, heartbeat 30 s, rebalance 10 s, offset persist 5 s. The
  // first heartbeat (which makes the broker list the consumer for rebalancing) only goes out once
  // a broker is known, so shorter intervals keep the test quick. The MQClient shared by the
  // producer and consumer of one process takes its intervals from whichever was created first.
  const common = {
    httpclient,
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    nameSrv: addr,
    pollNameServerInteval: 3000,
    heartbeatBrokerInterval: 3000,
    rebalanceInterval: 2000,
    persistConsumerOffsetInterval: 1000,
  };
  if (VERBOSE) {
    common.logger = {
      info: (...a) => log(`[info] ${require('util').format(...a)}`),
      debug() {},
      warn: (...a) => log(`[warn] ${require('util').format(...a)}`),
      error: (...a) => log(`[error] ${require('util').format(...a)}`),
    };
  }

  const consumers = [];
  let producer;
  const closeAll = async () => {
    const all = [ ...consumers, producer ].filter(Boolean);
    await Promise.race([
      Promise.all(all.map(o => o.close().catch(err => log(`close failed: ${describe(err)}`)))),
      sleep(3000),
    ]);
  };

  try {
    producer = new Producer(Object.assign({}, common, { producerGroup: `${group}_PRODUCER` }));
    producer.on('error', err => noteBackground('producer', err));
    await producer.ready();
    const how = await ensureTopic(producer._mqClient, topic, TOPIC_QUEUES, deadline);
    log(`producer started; topic ${topic} ${how}`);

    for (let c = 0; c < nConsumers; c++) {
      const opts = Object.assign({}, common, {
        consumerGroup: group,
        isBroadcast: mode === 'broadcast',
        consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      });
      // Two broadcast consumers of one group in one process need their own client instances
      // (the client id is ip@instanceName; the same id would share one client and one group slot).
      if (mode === 'broadcast') opts.instanceName = `bc${c + 1}-${process.pid}`;
      const consumer = new Consumer(opts);
      consumer.on('error', err => noteBackground(`consumer${c + 1}`, err));
      clientIdToConsumer.set(consumer.clientId, c);
      consumers.push(consumer);
    }
    for (const [ c, consumer ] of consumers.entries()) {
      await consumer.ready();
      consumer.subscribe(topic, 'TagA || TagB', async msg => onMessage(c, msg));
      log(`consumer${c + 1} started (client id ${consumer.clientId}, ${mode === 'broadcast' ? 'BROADCASTING' : 'CLUSTERING'}, group ${group})`);
    }
    log(`sending ${mode === 'restart' ? 'first half of ' : ''}${count} messages to ${topic}`);

    const sendRange = async (from, to) => {
      for (let i = from; i < to; i++) {
        for (let attempt = 0; ; attempt++) {
          if (finished) return;
          const msg = new Message(topic, tagOf(i), Buffer.from(`body-${i}`));
          msg.keys = [ `k-${i}` ];
          msg.properties.idx = String(i);
          try {
            const res = await producer.send(msg);
            if (res.sendStatus !== 'SEND_OK') throw new Error(`sendStatus ${res.sendStatus}`);
            sent++;
            break;
          } catch (err) {
            if (attempt >= sendRetries || Date.now() >= deadline) {
              sendFailures.push(`k-${i}: ${describe(err)}`);
              throw new Error(`send of message ${i} failed after ${attempt + 1} attempt(s): ${describe(err)}`);
            }
            sendRetriesUsed++;
            if (attempt === 0) log(`send of message ${i} failed (${describe(err)}); retrying`);
            await sleep(500);
          }
        }
        if ((i + 1) % 200 === 0) log(`sent ${i + 1}/${count}`);
      }
    };

    const allIn = upTo => () => stats.every(s => {
      for (const i of expected) if (i < upTo && !s.seen.has(i)) return false;
      return true;
    });
    const wanted = upTo => [ ...expected ].filter(i => i < upTo).length;

    let pauseInfo = '';
    if (mode === 'restart') {
      const half = Math.floor(count / 2);
      await sendRange(0, half);
      log(`first half sent (${half}); waiting for ${wanted(half)} messages`);
      await waitFor(allIn(half), () => `first half (${wanted(half)} messages): ${progress()}`, deadline);
      // Let the consumer commit its offsets (persistConsumerOffsetInterval 1 s, plus the commit
      // offset carried by the next pull) so that the broker has them before it is restarted.
      await sleep(2500);
      const consumedBefore = stats[0].seen.size;
      const dupBefore = stats[0].duplicates;
      process.stdout.write(`READY ${consumedBefore}\nPAUSE\n`);
      log(`PAUSE: ${consumedBefore} consumed; waiting for GO on stdin`);
      const tPause = Date.now();
      await readStdinLine('GO', deadline);
      log(`GO after ${((Date.now() - tPause) / 1000).toFixed(1)} s; sending the second half`);
      pauseInfo = ` consumed_before_pause=${consumedBefore} duplicates_before_pause=${dupBefore}`;
      await sendRange(half, count);
    } else {
      await sendRange(0, count);
    }
    log(`all ${count} sent; waiting for ${expected.size} TagA/TagB messages per consumer`);
    await waitFor(allIn(count), () => `all messages: ${progress()}`, deadline);
    await sleep(Math.min(SETTLE_MS, Math.max(0, deadline - Date.now())));

    const elapsed = ((Date.now() - T0) / 1000).toFixed(1);
    const problems = [];
    stats.forEach((s, c) => {
      const who = nConsumers > 1 ? `consumer${c + 1} ` : '';
      if (s.tagC) problems.push(`${who}handler received ${s.tagC} TagC message(s)`);
      if (s.pulledTagC) problems.push(`${who}broker returned ${s.pulledTagC} TagC message(s) to a 'TagA || TagB' pull (not filtered by tag on the broker; ali-ons dropped them)`);
      if (s.bad.length) problems.push(`${who}${s.bad.length} malformed message(s), e.g. ${s.bad.filter(Boolean).slice(0, 3).join('; ')}`);
    });
    const per = stats.map((s, c) => (nConsumers > 1 ? `consumer${c + 1}:` : '') +
      `received=${s.seen.size} duplicates=${s.duplicates} pulled=${s.pulled}`).join(' ');
    const summary = `mode=${mode} sent=${sent} expected=${expected.size} ${per}${pauseInfo} ` +
      `send_retries=${sendRetriesUsed} tagC_sent=${count - expected.size} elapsed=${elapsed}s`;
    log(`background error events: ${background.size ? [ ...background ].map(([ k, n ]) => `${n}x ${k}`).join(' | ') : 'none'}`);
    await closeAll();
    clearTimeout(overall);
    if (problems.length) return finish(false, `${problems.join('; ')} (${summary})`);
    return finish(true, summary);
  } catch (err) {
    log(`failed: ${describe(err)}`);
    log(`background error events: ${background.size ? [ ...background ].map(([ k, n ]) => `${n}x ${k}`).join(' | ') : 'none'}`);
    const reason = `${err.message} (${progress()}; send_retries=${sendRetriesUsed})`;
    await closeAll().catch(() => {});
    return finish(false, reason);
  }
}

main().catch(err => finish(false, `script error: ${describe(err)}`));
