import { BackgroundScrypt } from './background-scrypt.ts';

/** Gives a hashing slot back; calling it again does nothing. */
export type Release = () => void;

/**
 * Password hashes computed at once by this instance. scrypt takes a core for tens of milliseconds,
 * so hashes beyond the cores only wait in libuv's queue, in front of everything else that needs
 * it. Registrations may hold at most half the slots and wait in a short queue; beyond it they are
 * refused at once. Logins may take any slot and are served first: a flood of registrations can
 * only ever take its half, and a login finds a slot of its own. Registrations are hashed on
 * threads of lowered priority (`background`), so that they also yield the CPU to logins and pages.
 */
export class HashSlots {
  private busy = 0;
  private registering = 0;
  private readonly logins: (() => void)[] = [];
  private readonly registrations: (() => void)[] = [];
  readonly registrationMax: number;
  readonly registrationQueueMax: number;
  readonly loginQueueMax: number;
  readonly background = new BackgroundScrypt();

  constructor(readonly total: number) {
    this.registrationMax = Math.max(1, Math.floor(total / 2));
    this.registrationQueueMax = 4 * total;
    this.loginQueueMax = 64 * total;
  }

  /** A slot for a login's check, at once or when one is free; undefined when too many wait already. */
  login(): Promise<Release> | undefined {
    if (this.busy < this.total) return Promise.resolve(this.take(false));
    if (this.logins.length >= this.loginQueueMax) return undefined;
    return new Promise((resolve) => this.logins.push(() => resolve(this.take(false))));
  }

  /** A slot for a registration's hash; undefined (refuse it) when its share and its queue are full. */
  registration(): Promise<Release> | undefined {
    if (this.busy < this.total && this.registering < this.registrationMax)
      return Promise.resolve(this.take(true));
    if (this.registrations.length >= this.registrationQueueMax) return undefined;
    return new Promise((resolve) => this.registrations.push(() => resolve(this.take(true))));
  }

  close(): Promise<void> {
    return this.background.close();
  }

  /** Slots in use and requests waiting for one (for the metrics). */
  get usage(): { busy: number; registering: number; waiting: number } {
    return {
      busy: this.busy,
      registering: this.registering,
      waiting: this.logins.length + this.registrations.length,
    };
  }

  private take(registration: boolean): Release {
    this.busy++;
    if (registration) this.registering++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
      if (registration) this.registering--;
      this.next();
    };
  }

  private next(): void {
    while (this.busy < this.total) {
      const login = this.logins.shift();
      if (login) {
        login();
        continue;
      }
      if (this.registering >= this.registrationMax) return;
      const registration = this.registrations.shift();
      if (!registration) return;
      registration();
    }
  }
}

/** Runs `fn` in a slot and gives the slot back however it ends. */
export async function inSlot<T>(slot: Promise<Release>, fn: () => Promise<T>): Promise<T> {
  const release = await slot;
  try {
    return await fn();
  } finally {
    release();
  }
}
