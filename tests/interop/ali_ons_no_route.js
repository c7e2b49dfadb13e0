#!/usr/bin/env node
// Usage: node ali_ons_no_route.js NAMESRV_ADDR TOPIC
//
// Points an ali-ons 3.12.0 Producer at NAMESRV_ADDR (a name server with no broker behind it),
// sends one message to TOPIC and expects the client's own no-route error: the MQClientException
// that ali-ons raises when GET_ROUTEINFO_BY_TOPIC (105) is answered with TOPIC_NOT_EXIST (17).
//
// The last line on stdout is exactly one of
//   RESULT no-route: <error message>   (exit 0)
//   RESULT other: <error>              (exit 1: refused, timeout, parse error, success, bad args)
// Client log noise goes to stderr. Only 127.0.0.1:<port> addresses are accepted.
'use strict';

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS || 20000);
const TOPIC_NOT_EXIST = 17;

let finished = false;
function finish(kind, text) {
  if (finished) return;
  finished = true;
  const line = String(text).replace(/\s+/g, ' ').trim();
  process.stdout.write(`RESULT ${kind}: ${line}\n`, () => process.exit(kind === 'no-route' ? 0 : 1));
  // Belt and braces: never linger if the write callback does not come.
  setTimeout(() => process.exit(kind === 'no-route' ? 0 : 1), 1000).unref();
}

function describe(err) {
  if (!err) return String(err);
  const parts = [ `${err.name || 'Error'}` ];
  if (err.code !== undefined) parts.push(`code=${err.code}`);
  return `${parts.join(' ')}: ${err.message}`;
}

function isNoRoute(err) {
  if (!err) return false;
  // The name server answered 105 with TOPIC_NOT_EXIST; ali-ons rethrows its remark.
  if (err.name === 'MQClientException' && err.code === TOPIC_NOT_EXIST) return true;
  // ali-ons' own message when route lookup returned nothing usable.
  return /^no publish router data for topic: /.test(err.message || '');
}

async function main() {
  const [ addr, topic ] = process.argv.slice(2);
  if (!addr || !topic || process.argv.length !== 4) {
    return finish('other', 'usage: ali_ons_no_route.js NAMESRV_ADDR TOPIC');
  }
  if (!/^127\.0\.0\.1:\d{1,5}$/.test(addr)) {
    return finish('other', `refusing non-loopback name server address ${JSON.stringify(addr)} (want 127.0.0.1:PORT)`);
  }

  const timer = setTimeout(() => {
    finish('other', `timeout: no answer from ali-ons within ${TIMEOUT_MS} ms`);
  }, TIMEOUT_MS);

  let Producer;
  let Message;
  try {
    ({ Producer, Message } = require('ali-ons'));
  } catch (err) {
    clearTimeout(timer);
    return finish('other', `cannot load ali-ons (run npm ci in tests/interop): ${err.message}`);
  }

  // httpclient is only used to look up name servers over HTTP when nameSrv is not given;
  // this stub makes sure that never happens.
  const httpclient = {
    request() {
      throw new Error('interop test: HTTP name-server lookup must not be used');
    },
  };
  const producer = new Producer({
    httpclient,
    accessKey: 'interop-ak',
    secretKey: 'interop-sk',
    producerGroup: `PG_interop_ons_${process.pid}`,
    nameSrv: addr,
  });
  const background = [];
  producer.on('error', err => {
    background.push(describe(err));
    process.stderr.write(`[ali_ons_no_route] producer error event: ${describe(err)}\n`);
  });

  let outcome;
  try {
    await producer.ready();
    const msg = new Message(topic, 'TagInterop', Buffer.from('ferrocket interop no-route probe'));
    const res = await producer.send(msg);
    outcome = [ 'other', `unexpected success: ${JSON.stringify(res)}` ];
  } catch (err) {
    process.stderr.write(`[ali_ons_no_route] send failed: ${describe(err)}\n`);
    outcome = isNoRoute(err) ? [ 'no-route', err.message ] : [ 'other', describe(err) ];
  }

  try {
    await Promise.race([
      producer.close(),
      new Promise(resolve => setTimeout(resolve, 3000).unref()),
    ]);
  } catch (err) {
    process.stderr.write(`[ali_ons_no_route] close failed: ${describe(err)}\n`);
  }
  clearTimeout(timer);
  // ali-ons keeps scheduled-task timers alive after close(), so exit explicitly.
  finish(outcome[0], outcome[1]);
}

main().catch(err => finish('other', `script error: ${describe(err)}`));
