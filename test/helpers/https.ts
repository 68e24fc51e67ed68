import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

/** One answer of the HTTPS client: status, headers as Node gives them, the body. */
export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * A browser-like client of an HTTPS site signed by a private CA (the built-in fetch takes no CA on
 * Node 20): a cookie jar, and one kept-alive connection as a browser would keep.
 */
export class HttpsClient {
  readonly cookies = new Map<string, string>();
  private readonly agent: Agent;

  constructor(
    readonly base: string,
    caFile: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(caFile) });
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpsReply> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.cookies.size) h['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) h['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.base), { method, headers: h, agent: this.agent }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const eq = pair!.indexOf('=');
          const value = pair!.slice(eq + 1).trim();
          if (/max-age=0/i.test(c) || value === '') this.cookies.delete(pair!.slice(0, eq).trim());
          else this.cookies.set(pair!.slice(0, eq).trim(), value);
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
