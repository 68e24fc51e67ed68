// What a backup counts: each key by its kind (accounts, carts, sessions, other), from the key
// names of src/ha/keys.ts. One Lua script counts them inside a node (EVAL_RO: it only reads),
// so a million keys are counted without sending their names over the wire.

import { keys } from '../../ha/keys.ts';

export const KINDS = ['accounts', 'carts', 'sessions', 'other'] as const;
export type Kind = (typeof KINDS)[number];
export type KindCounts = Record<Kind, number>;

/** The prefix of each kind's keys; a session's prefix also covers an account's list of sessions. */
export const KIND_PREFIXES: Record<Exclude<Kind, 'other'>, string> = {
  accounts: keys.user('').replace('{}', ''),
  carts: keys.cart('').replace('{}', ''),
  sessions: keys.session(''),
};

export function kindOf(key: string): Kind {
  for (const kind of ['accounts', 'carts', 'sessions'] as const)
    if (key.startsWith(KIND_PREFIXES[kind])) return kind;
  return 'other';
}

export function emptyCounts(): KindCounts {
  return { accounts: 0, carts: 0, sessions: 0, other: 0 };
}

export function totalOf(c: KindCounts): number {
  return c.accounts + c.carts + c.sessions + c.other;
}

/**
 * Counts keys of the node by kind, a part of the key space a call: ARGV is the three prefixes in
 * KIND_PREFIXES order, a time in ms (0: none), the SCAN cursor to start from and how many SCANs of
 * 10,000 to run; the answer four numbers in KINDS order, four more (the keys of each kind whose
 * lifetime ends within that time: they may be gone before a restore has moved them), then the
 * cursor to go on from ("0": done). Bounded calls keep the node answering: one call over a million
 * keys blocked a master past the Sentinels' down-after, and they sent SCRIPT KILL.
 */
export const COUNT_SCRIPT = `
local c = {0, 0, 0, 0, 0, 0, 0, 0}
local soon = tonumber(ARGV[4])
local cursor = ARGV[5]
local left = tonumber(ARGV[6])
repeat
  left = left - 1
  local r = redis.call('SCAN', cursor, 'COUNT', 10000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    local kind = 4
    for i = 1, 3 do
      if string.sub(k, 1, #ARGV[i]) == ARGV[i] then kind = i break end
    end
    c[kind] = c[kind] + 1
    if soon > 0 then
      local ttl = redis.call('PTTL', k)
      if ttl >= 0 and ttl <= soon then c[kind + 4] = c[kind + 4] + 1 end
    end
  end
until cursor == '0' or left <= 0
c[9] = cursor
return c`;

/** SCANs of 10,000 keys a call of COUNT_SCRIPT (about 100,000 keys: tens of milliseconds). */
export const SCANS_PER_CALL = 10;

export function countArgs(soonMs = 0, cursor = '0'): string[] {
  const prefixes = [KIND_PREFIXES.accounts, KIND_PREFIXES.carts, KIND_PREFIXES.sessions];
  return [...prefixes, String(soonMs), cursor, String(SCANS_PER_CALL)];
}

/** The script's answer: the counts, those that expire soon, and the cursor to go on from ("0": done). */
export function countsFromReply(reply: unknown): { counts: KindCounts; soon: KindCounts; cursor: string } {
  const a = reply as (number | string)[];
  if (!Array.isArray(a) || a.length !== 9) throw new Error(`unexpected count reply ${JSON.stringify(reply)}`);
  const at = (i: number): KindCounts => ({
    accounts: Number(a[i]),
    carts: Number(a[i + 1]),
    sessions: Number(a[i + 2]),
    other: Number(a[i + 3]),
  });
  return { counts: at(0), soon: at(4), cursor: String(a[8]) };
}

/** Adds a call's counts to the sums so far. */
export function addCounts(a: KindCounts, b: KindCounts): KindCounts {
  return {
    accounts: a.accounts + b.accounts,
    carts: a.carts + b.carts,
    sessions: a.sessions + b.sessions,
    other: a.other + b.other,
  };
}

export function formatCounts(c: KindCounts): string {
  return KINDS.map((k) => `${c[k]} ${k}`).join(', ');
}
