import { chmodSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { RedisLogin, StatsAccess } from '../ha/probes.ts';
import { type TlsFiles, useStackTls } from '../ha/tls.ts';
import type { StackActions } from './actions.ts';
import { plannedFailover } from './failover.ts';
import { readPrivate } from './supervisor/private-files.ts';
import type { RotateResult } from './supervisor/rotate.ts';
import { isServerKind, SERVER_KINDS, type ServerKind } from './supervisor/servers.ts';
import type { Stack } from './supervisor/supervisor.ts';
import type { UpgradeResult } from './supervisor/upgrade.ts';
import type { RedisNode, Topology } from './topology.ts';

/** What the launcher writes next to its lock so other commands find the running stack. */
export interface StackFile {
  topology: Topology;
  /** The operator's ACL user and the file of its password (0600, in the run directory). */
  username: string;
  passwordFile: string;
  /** The Sentinels' password. */
  sentinelPasswordFile: string;
  frontUrl: string;
  statsUrl: string;
  /** The operator front's password (user `operator`), who alone reads the stats page. */
  operatorPasswordFile: string;
  controlSocket: string;
  names: string[];
  ready: boolean;
  /** TLS: the CA and the operator tools' certificate (docs/tls.md); absent when the stack is plain. */
  tls?: TlsFiles;
}

type NodeCommand = 'kill' | 'terminate' | 'pause' | 'resume' | 'restart' | 'stop' | 'start';

type Command = {
  action: NodeCommand | 'failover' | 'master' | 'rotate' | 'upgrade';
  name?: string;
  pastNoReturn?: boolean;
};

/** The launcher's control channel: a unix socket only the owner of the run directory can reach. */
export function serveControl(stack: Stack, socketPath: string): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      const cmd = JSON.parse(body) as Command;
      let result: unknown = null;
      if (cmd.action === 'failover') result = await plannedFailover(stack);
      else if (cmd.action === 'master') result = (await stack.currentMaster()) ?? null;
      else if (cmd.action === 'rotate') result = await stack.rotate(String(cmd.name));
      else if (cmd.action === 'upgrade') {
        if (!isServerKind(cmd.name)) throw new Error(`upgrade needs a server: ${SERVER_KINDS.join(' or ')}`);
        result = await stack.upgrade(cmd.name, cmd.pastNoReturn === true);
      }
      // A node command always names its node: `stop` without one would stop the whole stack.
      else if (typeof cmd.name !== 'string' || !cmd.name) throw new Error(`${cmd.action} needs a node name`);
      else await stack[cmd.action](cmd.name);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result }));
    } catch (err) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
    }
  });
  return new Promise((resolve) =>
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve(server);
    }),
  );
}

function send(socketPath: string, cmd: Command): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/', method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        try {
          const reply = JSON.parse(text) as { ok: boolean; result?: unknown; error?: string };
          if (reply.ok) resolve(reply.result);
          else reject(new Error(reply.error));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', (err) =>
      reject(new Error(`the launcher does not answer on ${socketPath}: ${err.message}`)),
    );
    req.end(JSON.stringify(cmd));
  });
}

/** The same actions as the in-process Stack, carried out by the running launcher. */
export class ControlClient implements StackActions {
  readonly topology: Topology;
  readonly username: string;
  readonly password: string;
  readonly sentinelPassword: string;
  readonly frontUrl: string;
  readonly statsUrl: string;

  constructor(readonly file: StackFile) {
    // This process talks to the stack as it speaks: over TLS with the operator tools' certificate.
    useStackTls(file.tls);
    this.topology = file.topology;
    this.username = file.username;
    this.password = readPrivate(file.passwordFile).trim();
    this.sentinelPassword = readPrivate(file.sentinelPasswordFile).trim();
    this.frontUrl = file.frontUrl;
    this.statsUrl = file.statsUrl;
  }

  /** HAProxy's stats page with the operator's password, read when asked (it may be rotated). */
  get stats(): StatsAccess {
    return { url: this.statsUrl, password: readPrivate(this.file.operatorPasswordFile).trim() };
  }

  get login(): RedisLogin {
    return { username: this.username, password: this.password };
  }

  private async act(action: Command['action'], name?: string): Promise<unknown> {
    return send(this.file.controlSocket, name === undefined ? { action } : { action, name });
  }

  async kill(name: string): Promise<void> {
    await this.act('kill', name);
  }
  async terminate(name: string): Promise<void> {
    await this.act('terminate', name);
  }
  async pause(name: string): Promise<void> {
    await this.act('pause', name);
  }
  async resume(name: string): Promise<void> {
    await this.act('resume', name);
  }
  async restart(name: string): Promise<void> {
    await this.act('restart', name);
  }
  /** Stops a node; it stays down until `start(name)`. */
  async stop(name: string): Promise<void> {
    await this.act('stop', name);
  }
  /** Starts a node the operator stopped (a Redis node as a replica of the current master). */
  async start(name: string): Promise<void> {
    await this.act('start', name);
  }
  /** Moves the running stack to `server` (supervisor/upgrade.ts). */
  async upgrade(server: ServerKind, pastNoReturn: boolean): Promise<UpgradeResult> {
    return (await send(this.file.controlSocket, {
      action: 'upgrade',
      name: server,
      pastNoReturn,
    })) as UpgradeResult;
  }
  async failover(): Promise<{ from: string; to: string; ms: number }> {
    return (await this.act('failover')) as { from: string; to: string; ms: number };
  }
  async currentMaster(): Promise<RedisNode | undefined> {
    return ((await this.act('master')) as RedisNode | null) ?? undefined;
  }
  /** Replaces a secret on the running stack; resolves once every app instance runs with it. */
  async rotate(secret: string): Promise<RotateResult> {
    return (await this.act('rotate', secret)) as RotateResult;
  }
}
