import { Worker } from 'node:worker_threads';

/**
 * How much a background hash yields: a thread at nice 10 gets about a tenth of a core that a
 * normal thread also wants, and all of one that nobody wants.
 */
const NICE = 10;

// The worker computes with scryptSync on its own thread, the one whose priority it lowered (on
// Linux a priority belongs to a thread; libuv's pool threads, which hash the logins, keep theirs).
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
try { require('node:os').setPriority(${NICE}); } catch {}
parentPort.on('message', ({ id, password, salt, N, r, p, keylen }) => {
  try {
    const key = scryptSync(password, Buffer.from(salt), keylen, { N, r, p, maxmem: 256 * N * r });
    parentPort.postMessage({ id, key });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});`;

interface Job {
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

interface Hasher {
  worker: Worker;
  jobs: Map<number, Job>;
}

/**
 * scrypt on worker threads of lowered priority, for the hashes that may wait (registrations):
 * under a flood of them the CPU still goes to page views and to the logins' hashes first. The
 * caller bounds how many run at once (HashSlots); a worker is started for each of those, on first
 * use, and never keeps the process alive.
 */
export class BackgroundScrypt {
  private readonly idle: Hasher[] = [];
  private readonly all = new Set<Hasher>();
  private nextId = 0;

  derive(password: string, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number }) {
    const hasher = this.idle.pop() ?? this.start();
    const id = ++this.nextId;
    return new Promise<Buffer>((resolve, reject) => {
      hasher.jobs.set(id, { resolve, reject });
      hasher.worker.postMessage({ id, password, salt, keylen, ...opts });
    }).finally(() => {
      if (this.all.has(hasher)) this.idle.push(hasher);
    });
  }

  private start(): Hasher {
    const worker = new Worker(WORKER, { eval: true });
    worker.unref();
    const hasher: Hasher = { worker, jobs: new Map() };
    this.all.add(hasher);
    const fail = (err: Error) => {
      this.all.delete(hasher);
      const i = this.idle.indexOf(hasher);
      if (i >= 0) this.idle.splice(i, 1);
      for (const job of hasher.jobs.values()) job.reject(err);
      hasher.jobs.clear();
    };
    worker.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
      const job = hasher.jobs.get(m.id);
      if (!job) return;
      hasher.jobs.delete(m.id);
      if (m.key) job.resolve(Buffer.from(m.key));
      else job.reject(new Error(m.error ?? 'scrypt failed'));
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`scrypt worker exited (${code})`)));
    return hasher;
  }

  /** Stops the workers (jobs still running are refused). */
  async close(): Promise<void> {
    const workers = [...this.all].map((h) => h.worker);
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
