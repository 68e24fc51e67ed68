import { renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Whether this host hears a majority of the hosts, told to keepalived through a track file
 * (`track_file` with weight 0: a non-zero value puts the front's VRRP instance in FAULT, and
 * keepalived reads the file the moment it changes). The majority check keepalived runs itself is
 * a script once a second, which fails up to 1.5 s after a cut. A host cut off one way (it receives
 * nothing) hears no advertisement either and takes the address 1.5 to 2.1 s after the cut (three
 * advertisement intervals of 0.6 s and a skew, from the last advertisement it heard), so it must
 * have given up before. This watcher asks every peer ten times a second and says FAULT once no
 * majority has answered for `heardMs`: 0.5 to 0.7 s after a cut. Not sooner: at 0.4 s it gave
 * the address up on hosts that were not cut off, over a link losing 10 % of its packets. The script stays as the check of
 * last resort (a watcher that died leaves its last value in the file).
 *
 * A peer is heard when its kernel answers a TCP connection to `port` (accepted or refused: the
 * host is there, whatever runs on it). A new probe starts every `probeMs` whether the last one
 * answered or not, so over a lossy link one lost SYN (retransmitted a second later) does not
 * silence a peer: only a peer none of whose probes answered for `heardMs` counts as gone.
 */
export interface MajorityWatchOptions {
  peers: readonly { host: string; port: number }[];
  /** The track file keepalived reads: `0` a majority heard, `1` not. */
  file: string;
  probeMs?: number;
  /** A peer none of whose probes answered for this long is not heard. */
  heardMs?: number;
  /** How long a majority must have been heard before the file says so again (keepalived's rise). */
  riseMs?: number;
  log(message: string): void;
  /** Resolves true when the peer's kernel answered (accepted or refused) within `timeoutMs`. */
  probe?: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
  write?: (file: string, value: string) => void;
  now?: () => number;
}

/** At most this many probes to one peer wait for an answer at once (a silent peer's pile up). */
const MAX_IN_FLIGHT = 10;
/** How often the file is written again with the same verdict. */
const REFRESH_MS = 1000;

export class MajorityWatch {
  private readonly heard = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly started: number;
  /** What the file says (undefined: nothing written yet). */
  private said: boolean | undefined;
  private okSince: number | undefined;
  private writtenAt = 0;
  private lastTick: number | undefined;
  private writeFailed = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly o: Required<Omit<MajorityWatchOptions, 'log'>> & Pick<MajorityWatchOptions, 'log'>;

  constructor(opts: MajorityWatchOptions) {
    this.o = {
      probeMs: 100,
      heardMs: 600,
      riseMs: 1000,
      probe: probePeer,
      write: writeTrackFile,
      now: () => performance.now(),
      ...opts,
    };
    this.started = this.o.now();
  }

  /** Peers needed besides this host: with it, a majority of all the hosts. */
  get need(): number {
    return Math.floor((this.o.peers.length + 1) / 2);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.probeMs);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: a probe to every peer, then the verdict on what answered so far. */
  tick(): void {
    // A watcher that did not run for a while (its process stalled) has not heard the answers that
    // came meanwhile yet: no verdict of silence from this round.
    const now = this.o.now();
    const stalled = this.lastTick !== undefined && now - this.lastTick > 2 * this.o.probeMs;
    this.lastTick = now;
    for (const p of this.o.peers) {
      const key = `${p.host}:${p.port}`;
      const waiting = this.inFlight.get(key) ?? 0;
      if (waiting >= MAX_IN_FLIGHT) continue;
      this.inFlight.set(key, waiting + 1);
      this.o
        .probe(p.host, p.port, this.o.heardMs * 2)
        .catch(() => false)
        .then((answered) => {
          this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
          if (!answered || this.stopped) return;
          this.heard.set(key, this.o.now());
          this.judge();
        });
    }
    this.judge(stalled);
  }

  private judge(stalled = false): void {
    const now = this.o.now();
    const heard = [...this.heard.values()].filter((at) => now - at <= this.o.heardMs).length;
    const ok = heard >= this.need;
    if (!ok) {
      this.okSince = undefined;
      // Nothing said before a first full window has passed: a watcher that just started has not
      // heard anyone yet, and must not take the address from a healthy host.
      if (this.said !== false && !stalled && now - this.started >= this.o.heardMs) this.say(false, heard);
      else this.refresh(now);
      return;
    }
    this.okSince ??= now;
    // The first verdict at once; after a FAULT, only once the majority held for riseMs.
    if (this.said === undefined || (this.said === false && now - this.okSince >= this.o.riseMs))
      this.say(true, heard);
    else this.refresh(now);
  }

  /** The verdict written again once a second: a keepalived started since found the file reset. */
  private refresh(now: number): void {
    if (this.said === undefined || now - this.writtenAt < REFRESH_MS) return;
    this.put(this.said);
    this.writtenAt = now;
  }

  /** Writes a verdict; a file that cannot be written is logged (once until it can), never thrown. */
  private put(ok: boolean): void {
    try {
      this.o.write(this.o.file, ok ? '0\n' : '1\n');
      this.writeFailed = false;
    } catch (err) {
      if (!this.writeFailed) this.o.log(`${this.o.file} could not be written: ${(err as Error).message}`);
      this.writeFailed = true;
    }
  }

  private say(ok: boolean, heard: number): void {
    this.put(ok);
    this.writtenAt = this.o.now();
    if (this.said !== undefined || !ok)
      this.o.log(
        ok
          ? `a majority of the hosts heard again (${heard + 1} of ${this.o.peers.length + 1}): the front may hold the address`
          : `only ${heard + 1} of ${this.o.peers.length + 1} hosts heard for ${this.o.heardMs} ms: the front gives the address up`,
      );
    this.said = ok;
  }
}

/** Writes the track file whole (a new file renamed over the old): keepalived never reads half of it. */
function writeTrackFile(file: string, value: string): void {
  const tmp = `${file}.new`;
  writeFileSync(tmp, value, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Whether the peer's kernel answers a TCP connection: accepted, or refused (the host is there). */
function probePeer(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (answered: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}
