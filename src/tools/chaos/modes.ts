import type { ServiceMode } from '../../ha/mode.ts';
import { operatorAuthorization } from '../../ha/probes.ts';
import { getText } from '../../ha/tls.ts';
import type { Topology } from '../../ops/topology.ts';

/** A mode an app reported, or `unknown` when its /readyz answered without one. */
export type SeenMode = ServiceMode | 'unknown';

/** How often each app's /readyz is asked during a scenario. */
export const MODE_POLL_MS = 200;

/** The mode in a /readyz answer (JSON with a `mode` field, on 200 and on 503 alike). */
export function modeOf(text: string): SeenMode {
  try {
    const mode = (JSON.parse(text) as Record<string, unknown>)['mode'];
    const known: string[] = ['healthy', 'no-master', 'read-only', 'unavailable'];
    return typeof mode === 'string' && known.includes(mode) ? (mode as ServiceMode) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Polls every app instance's /readyz directly, as the operator, (not through HAProxy, which would hide all but
 * one) and keeps the modes other than `healthy` that any of them reported, in the order first
 * seen, with how long they were seen. An instance that does not answer (killed, restarting)
 * reports no mode: that is not a state of Redis.
 */
export function watchModes(
  t: Topology,
  operatorPassword?: string,
  scheme: 'http' | 'https' = 'http',
): { seen: () => ModeSpan[]; close: () => Promise<void> } {
  // The mode is in the answer only for the operator (without it, /readyz says ready or not).
  const headers: Record<string, string> =
    operatorPassword === undefined ? {} : { authorization: operatorAuthorization(operatorPassword) };
  const spans = new Map<SeenMode, ModeSpan>();
  let stopped = false;
  const poll = async (url: string) => {
    while (!stopped) {
      const at = performance.now();
      try {
        // getText: an HTTPS app is checked against the stack's CA (fetch takes no CA on Node 20).
        const mode = modeOf((await getText(url, headers, 1000)).text);
        if (mode !== 'healthy') {
          const s = spans.get(mode) ?? { mode, firstAt: at, lastAt: at, polls: 0 };
          s.lastAt = at;
          s.polls++;
          spans.set(mode, s);
        }
      } catch {
        // Not answering: the instance is down or restarting; HAProxy takes it out meanwhile.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, MODE_POLL_MS - (performance.now() - at))));
    }
  };
  const loops = t.apps.map((a) => poll(`${scheme}://${a.host}:${a.port}/readyz`));
  return {
    seen: () => [...spans.values()],
    close: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

export interface ModeSpan {
  mode: SeenMode;
  /** performance.now() of the first and the last answer in that mode. */
  firstAt: number;
  lastAt: number;
  /** Answers in that mode, from any instance. */
  polls: number;
}
