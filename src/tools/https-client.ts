// A browser-like HTTPS client (a cookie jar, one kept-alive connection) of a site signed by a private
// CA, and a logged-in reader on it: the tests' and the host test bed's rotation (hosts/rotate-main.ts).
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
  private agent: Agent;
  private ca: string;

  /**
   * `follow`: the CA file is read again before each request, and a new connection made when it
   * changed (as a client that takes the stack's `ca.crt` during a rotation of the certificates).
   */
  constructor(
    readonly base: string,
    private readonly caFile: string,
    private readonly follow = false,
  ) {
    this.ca = readFileSync(caFile, 'utf8');
    this.agent = this.newAgent();
  }

  private newAgent(): Agent {
    return new Agent({ keepAlive: true, maxSockets: 1, ca: this.ca });
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpsReply> {
    if (this.follow) {
      const ca = readFileSync(this.caFile, 'utf8');
      if (ca !== this.ca) {
        this.ca = ca;
        this.agent.destroy();
        this.agent = this.newAgent();
      }
    }
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

/**
 * `GET /api/cart` through `site` every ~50 ms until stopped; each read 'ok' when it answered 200
 * and `ok(body)` holds, else its status and the start of its body.
 */
export function httpsReader(site: HttpsClient, ok: (text: string) => boolean = () => true) {
  const seen: string[] = [];
  let reading = true;
  const done = (async () => {
    while (reading) {
      const t0 = Date.now();
      const res = await site
        .request('GET', '/api/cart')
        .catch((err: Error) => ({ status: 0, text: err.message }));
      seen.push(res.status === 200 && ok(res.text) ? 'ok' : `${res.status} ${res.text.slice(0, 120)}`);
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - t0))));
    }
  })();
  return {
    stop: async (): Promise<string[]> => {
      reading = false;
      await done;
      return seen;
    },
  };
}
