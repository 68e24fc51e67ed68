import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { login, register, startSession } from '../../src/app/auth.ts';
import type { Deps } from '../../src/app/context.ts';
import { HttpError } from '../../src/app/errors.ts';
import { hashPassword, verifyPassword } from '../../src/app/security/password.ts';
import type { LoginAttempt, LoginRefusal, LoginTicket } from '../../src/app/stores/limits.ts';

const COST = 1024;

/** Dependencies of the auth paths with in-memory stores; each records what it was asked. */
function fakeDeps() {
  const calls: string[] = [];
  const state = {
    registrationSlot: true,
    loginSlot: true,
    released: 0,
    registrationWait: 0 as number | Error,
    refusal: null as LoginRefusal | null,
    accounts: new Map<string, { passwordHash: string; gen: string | null }>(),
    ensuredGen: 'ensured' as string | null,
    created: [] as { email: string; hash: string; gen: string }[],
    createResult: true,
    sessions: [] as { email: string; gen: string; sid: string; previous?: string }[],
    refundFails: false,
    refunds: [] as string[],
    unchecked: [] as string[],
    refusedLogins: [] as string[],
    refusedRegistrations: [] as string[],
    ids: 0,
  };
  const slot = () => {
    let given = false;
    return Promise.resolve(() => {
      if (!given) state.released++;
      given = true;
    });
  };
  const metrics = {
    sessionsCreated: 0,
    passwordChecks: 0,
    count(which: 'sessionsCreated' | 'passwordChecks') {
      this[which]++;
    },
    loginRefused: (r: string) => state.refusedLogins.push(r),
    registrationRefused: (r: string) => state.refusedRegistrations.push(r),
  };
  const deps = {
    config: { scryptCost: COST },
    hashes: {
      background: undefined,
      registration: () => (state.registrationSlot ? slot() : undefined),
      login: () => (state.loginSlot ? slot() : undefined),
    },
    limiter: {
      async reserveRegistration(ip: string) {
        calls.push(`reserveRegistration ${ip}`);
        if (state.registrationWait instanceof Error) throw state.registrationWait;
        return state.registrationWait;
      },
      async reserveLogin(a: LoginAttempt) {
        calls.push(`reserveLogin ${a.email} ${a.address}${a.device ? ` device ${a.device.id}` : ''}`);
        return state.refusal ?? { via: a.device ? 'device' : 'shared', token: 'tok' };
      },
      async loginSucceeded(a: LoginAttempt, t: LoginTicket) {
        state.refunds.push(`${a.email} ${a.address} ${t.via}`);
        if (state.refundFails) throw new Error('refund lost');
      },
      async refundLogin(a: LoginAttempt, t: LoginTicket) {
        state.unchecked.push(`${a.email} ${a.address} ${t.via} ${t.token}`);
        if (state.refundFails) throw new Error('refund lost');
      },
    },
    users: {
      async create(email: string, hash: string, gen: string) {
        state.created.push({ email, hash, gen });
        return state.createResult;
      },
      async account(email: string) {
        calls.push(`account ${email}`);
        return state.accounts.get(email) ?? null;
      },
      async ensureGeneration(email: string) {
        calls.push(`ensureGeneration ${email}`);
        return state.ensuredGen;
      },
    },
    sessions: {
      async create(email: string, gen: string, sid: string, previous?: string) {
        state.sessions.push({ email, gen, sid, previous });
        return { sid, email };
      },
    },
    tokens: { newId: () => `id${++state.ids}` },
    metrics,
  };
  return { deps: deps as unknown as Deps, state, metrics, calls };
}

const httpError = (status: number, code: string, check?: (e: HttpError) => void) => (err: unknown) => {
  assert.ok(err instanceof HttpError, String(err));
  assert.equal(err.statusCode, status);
  assert.equal(err.code, code);
  check?.(err);
  return true;
};

describe('register', () => {
  it('hashes the password, creates the account with a new generation and returns it', async () => {
    const { deps, state, calls } = fakeDeps();
    const gen = await register(deps, 'a@b.co', 'correct horse', '10.0.0.1');
    assert.match(gen, /^[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(calls, ['reserveRegistration 10.0.0.1']);
    assert.equal(state.created.length, 1);
    const [c] = state.created;
    assert.equal(c!.email, 'a@b.co');
    assert.equal(c!.gen, gen);
    assert.match(c!.hash, new RegExp(`^scrypt\\$${COST}\\$8\\$1\\$`));
    assert.equal(await verifyPassword('correct horse', c!.hash), true);
    assert.equal(state.released, 1);
  });

  it('is refused at once with 503 and Retry-After 1 when no hashing slot is free', async () => {
    const { deps, state, calls } = fakeDeps();
    state.registrationSlot = false;
    await assert.rejects(
      register(deps, 'a@b.co', 'pw', 'ip'),
      httpError(503, 'busy', (e) => {
        assert.equal(e.message, 'too many registrations at once; try again in a second');
        assert.deepEqual(e.headers, { 'retry-after': '1' });
      }),
    );
    assert.deepEqual(state.refusedRegistrations, ['busy']);
    assert.deepEqual(calls, []);
  });

  it('gives the slot back when the counter fails', async () => {
    const { deps, state } = fakeDeps();
    state.registrationWait = new Error('no master');
    await assert.rejects(register(deps, 'a@b.co', 'pw', 'ip'), /no master/);
    await new Promise((r) => setImmediate(r));
    assert.equal(state.released, 1);
    assert.deepEqual(state.refusedRegistrations, []);
    assert.equal(state.created.length, 0);
  });

  it('refuses an address that registered too often with 429 and its wait, giving the slot back', async () => {
    const { deps, state } = fakeDeps();
    state.registrationWait = 42;
    await assert.rejects(
      register(deps, 'a@b.co', 'pw', 'ip'),
      httpError(429, 'too_many_registrations', (e) => {
        assert.equal(e.message, 'too many accounts registered from your address: wait 42 s and try again');
        assert.equal(e.field, 'email');
        assert.deepEqual(e.headers, { 'retry-after': '42' });
      }),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(state.released, 1);
    assert.deepEqual(state.refusedRegistrations, ['address']);
    assert.equal(state.created.length, 0);
  });

  it('answers 409 when the email is taken', async () => {
    const { deps, state } = fakeDeps();
    state.createResult = false;
    await assert.rejects(
      register(deps, 'a@b.co', 'pw', 'ip'),
      httpError(409, 'email_taken', (e) => {
        assert.equal(e.message, 'this email is already registered');
        assert.equal(e.field, 'email');
      }),
    );
    assert.equal(state.released, 1);
  });
});

describe('startSession', () => {
  it('creates a session under a new id, replacing the previous one, and counts it', async () => {
    const { deps, state, metrics } = fakeDeps();
    const s = await startSession(deps, 'a@b.co', 'g1', 'old');
    assert.deepEqual(s, { sid: 'id1', email: 'a@b.co' });
    assert.deepEqual(state.sessions, [{ email: 'a@b.co', gen: 'g1', sid: 'id1', previous: 'old' }]);
    assert.equal(metrics.sessionsCreated, 1);
  });
});

describe('login', () => {
  const withAccount = async (gen: string | null) => {
    const f = fakeDeps();
    f.state.accounts.set('a@b.co', { passwordHash: await hashPassword('right', COST), gen });
    return f;
  };

  it('opens a session of the account generation and gives the attempt back', async () => {
    const { deps, state, metrics, calls } = await withAccount('g1');
    const s = await login(deps, 'a@b.co', 'right', '10.0.0.1', 'prev');
    assert.deepEqual(s, { sid: 'id1', email: 'a@b.co', gen: 'g1' });
    assert.deepEqual(state.sessions, [{ email: 'a@b.co', gen: 'g1', sid: 'id1', previous: 'prev' }]);
    assert.deepEqual(state.refunds, ['a@b.co 10.0.0.1 shared']);
    assert.deepEqual(calls, ['reserveLogin a@b.co 10.0.0.1', 'account a@b.co']);
    assert.equal(metrics.passwordChecks, 1);
    assert.equal(state.released, 1);
  });

  it('gives an account without a generation one first', async () => {
    const { deps, state, calls } = await withAccount(null);
    await login(deps, 'a@b.co', 'right', 'ip');
    assert.ok(calls.includes('ensureGeneration a@b.co'));
    assert.equal(state.sessions[0]!.gen, 'ensured');
  });

  it('refuses the login when the account vanished before it got a generation', async () => {
    const { deps, state } = await withAccount(null);
    state.ensuredGen = null;
    await assert.rejects(login(deps, 'a@b.co', 'right', 'ip'), httpError(401, 'bad_credentials'));
    assert.equal(state.sessions.length, 0);
  });

  it('answers 401 on a wrong password, with no session and no refund', async () => {
    const { deps, state, metrics, calls } = await withAccount('g1');
    await assert.rejects(
      login(deps, 'a@b.co', 'wrong', 'ip'),
      httpError(401, 'bad_credentials', (e) => {
        assert.equal(e.message, 'wrong email or password');
        assert.equal(e.field, 'password');
      }),
    );
    assert.equal(state.sessions.length, 0);
    assert.deepEqual(state.refunds, []);
    assert.equal(metrics.passwordChecks, 1);
    assert.ok(!calls.includes('ensureGeneration a@b.co'));
  });

  it('answers 401 for an unknown email after a dummy check', async () => {
    const { deps, state, metrics } = fakeDeps();
    await assert.rejects(login(deps, 'x@b.co', 'right', 'ip'), httpError(401, 'bad_credentials'));
    assert.equal(metrics.passwordChecks, 1);
    assert.equal(state.sessions.length, 0);
  });

  it('is refused with 429, the reason message and Retry-After before anything is read', async () => {
    const { deps, state, metrics, calls } = await withAccount('g1');
    state.refusal = { reason: 'address', waitSeconds: 9 };
    await assert.rejects(
      login(deps, 'a@b.co', 'right', 'ip'),
      httpError(429, 'too_many_attempts', (e) => {
        assert.equal(e.message, 'too many failed logins from your address: wait 9 s and try again');
        assert.equal(e.field, 'email');
        assert.deepEqual(e.headers, { 'retry-after': '9' });
      }),
    );
    assert.deepEqual(state.refusedLogins, ['address']);
    assert.deepEqual(calls, ['reserveLogin a@b.co ip']);
    assert.equal(metrics.passwordChecks, 0);
  });

  it('answers 503 busy when no slot for a check is free, and gives the unchecked attempt back', async () => {
    const { deps, state, metrics } = await withAccount('g1');
    state.loginSlot = false;
    await assert.rejects(
      login(deps, 'a@b.co', 'right', 'ip'),
      httpError(503, 'busy', (e) => {
        assert.equal(e.message, 'too many logins at once; try again in a second');
        assert.deepEqual(e.headers, { 'retry-after': '1' });
      }),
    );
    assert.equal(metrics.passwordChecks, 0);
    assert.deepEqual(state.unchecked, ['a@b.co ip shared tok']);
    assert.deepEqual(state.refunds, []);
    // Its refund lost: still the 503, not a 500.
    state.refundFails = true;
    await assert.rejects(login(deps, 'a@b.co', 'right', 'ip'), httpError(503, 'busy'));
  });

  it("passes the browser's device to the limiter and gives its own budget back on success", async () => {
    const { deps, state, calls } = await withAccount('g1');
    const s = await login(deps, 'a@b.co', 'right', 'ip', undefined, { id: 'd1', gen: 'g1' });
    assert.equal(s.gen, 'g1');
    assert.deepEqual(calls.slice(0, 1), ['reserveLogin a@b.co ip device d1']);
    assert.deepEqual(state.refunds, ['a@b.co ip device']);
  });

  it('still logs in when the refund of the attempt fails', async () => {
    const { deps, state } = await withAccount('g1');
    state.refundFails = true;
    assert.deepEqual(await login(deps, 'a@b.co', 'right', 'ip'), { sid: 'id1', email: 'a@b.co', gen: 'g1' });
    assert.deepEqual(state.refunds, ['a@b.co ip shared']);
  });
});
