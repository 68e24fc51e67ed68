// The Sentinel timers the stack sets (src/ha/sentinel/timers.ts): the command, SENTINEL DEBUG's
// answer read back, and what differs from the stack's values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseSentinelTimers,
  SENTINEL_TIMERS,
  sentinelTimersCommand,
  setSentinelTimers,
  timersMissing,
} from '../../src/ha/sentinel/timers.ts';

describe('Sentinel timers', () => {
  it('sets INFO every second and PING every 400 ms, nothing else', () => {
    assert.deepEqual(sentinelTimersCommand(), [
      'SENTINEL',
      'DEBUG',
      'info-period',
      '1000',
      'ping-period',
      '400',
    ]);
    assert.equal(SENTINEL_TIMERS.length, 2);
  });

  it("reads SENTINEL DEBUG's answer (capital names, values as strings or numbers)", () => {
    const m = parseSentinelTimers(['INFO-PERIOD', '1000', 'PING-PERIOD', 400, 'ASK-PERIOD', '1000', 'ODD']);
    assert.equal(m.get('info-period'), 1000);
    assert.equal(m.get('ping-period'), 400);
    assert.equal(m.get('ask-period'), 1000);
    assert.equal(m.size, 3);
    assert.equal(parseSentinelTimers('OK').size, 0);
  });

  it("names each timer that is not the stack's, with what it is", () => {
    assert.deepEqual(timersMissing(parseSentinelTimers(['INFO-PERIOD', '1000', 'PING-PERIOD', '400'])), []);
    assert.deepEqual(timersMissing(parseSentinelTimers(['INFO-PERIOD', '10000', 'PING-PERIOD', '1000'])), [
      'info-period 10000 (want 1000)',
      'ping-period 1000 (want 400)',
    ]);
    assert.deepEqual(timersMissing(new Map()), ['info-period ? (want 1000)', 'ping-period ? (want 400)']);
  });

  it('sends the command, and fails on an answer that is not OK', async () => {
    const sent: string[][] = [];
    const ok = {
      call: async (...a: string[]) => {
        sent.push(a);
        return 'OK';
      },
    };
    await setSentinelTimers(ok);
    assert.deepEqual(sent, [sentinelTimersCommand()]);
    const no = { call: async () => 'ERR unknown subcommand' };
    await assert.rejects(setSentinelTimers(no), /SENTINEL DEBUG answered ERR unknown subcommand/);
  });
});
