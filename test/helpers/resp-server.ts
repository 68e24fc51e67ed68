/**
 * A hand-written RESP server for unit tests: a Redis or Sentinel whose answers the test decides,
 * command by command, so the clients' reactions to each reply (or to none) can be checked without
 * a redis-server.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

export type Answer =
  | string
  | number
  | null
  | Error
  | { status: string }
  | Answer[]
  | undefined
  | typeof SILENT;

/** What `handle` returns for a command left without an answer. */
export const SILENT = Symbol('silent');

function encode(a: Answer): string {
  if (a === undefined || a === SILENT) return '';
  if (a === null) return '$-1\r\n';
  if (typeof a === 'number') return `:${a}\r\n`;
  if (a instanceof Error) return `-${a.message}\r\n`;
  if (Array.isArray(a)) return `*${a.length}\r\n${a.map(encode).join('')}`;
  if (typeof a === 'object') return `+${a.status}\r\n`;
  return `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
}

/** Splits the RESP arrays of bulk strings a client sends into commands. */
function parse(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  const line = (from: number) => {
    const end = buf.indexOf('\r\n', from);
    return end < 0 ? null : { text: buf.toString('utf8', from, end), next: end + 2 };
  };
  for (;;) {
    const head = line(at);
    if (!head) break;
    const n = Number(head.text.slice(1));
    let pos = head.next;
    const args: string[] = [];
    let complete = true;
    for (let i = 0; i < n; i++) {
      const len = line(pos);
      if (!len) {
        complete = false;
        break;
      }
      const size = Number(len.text.slice(1));
      if (buf.length < len.next + size + 2) {
        complete = false;
        break;
      }
      args.push(buf.toString('utf8', len.next, len.next + size));
      pos = len.next + size + 2;
    }
    if (!complete) break;
    commands.push(args);
    at = pos;
  }
  return { commands, rest: buf.subarray(at) };
}

/**
 * A Redis (or Sentinel) speaking just enough RESP in this process, on a free loopback port:
 * `handle` answers each command (upper-cased name first); every command received is logged.
 */
export class RespServer {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  log: string[][] = [];
  handle: (cmd: string[], socket: Socket) => Answer = () => ({ status: 'OK' });
  port = 0;

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        const { commands, rest } = parse(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const c of commands) {
          const cmd = [c[0]!.toUpperCase(), ...c.slice(1)];
          this.log.push(cmd);
          if (cmd[0] === 'QUIT') {
            if (this.handle(cmd, socket) !== SILENT) socket.end(encode({ status: 'OK' }));
            continue;
          }
          socket.write(encode(this.answer(cmd, socket)));
        }
      });
    });
  }

  private answer(cmd: string[], socket: Socket): Answer {
    const a = this.handle(cmd, socket);
    if (a !== undefined) return a;
    // An old Redis: RESP2 only (no HELLO); CLIENT SETNAME and SETINFO accepted.
    if (cmd[0] === 'HELLO') return new Error("ERR unknown command 'HELLO'");
    if (cmd[0] === 'CLIENT' || cmd[0] === 'AUTH') return { status: 'OK' };
    if (cmd[0] === 'INFO') return '# Server\r\n';
    return undefined;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  push(socket: Socket, a: Answer): void {
    socket.write(encode(a));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  named(name: string): string[][] {
    return this.log.filter((c) => c[0] === name);
  }
}
