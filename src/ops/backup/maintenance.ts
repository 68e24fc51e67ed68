// The site closed during a restore: every app server of HAProxy's `apps` backend set to
// maintenance through its admin socket (a unix socket 0600 in the run directory). HAProxy then
// answers the public front with its maintenance page (render/haproxy.ts, MAINTENANCE_PAGE), a 503
// with Retry-After; the state survives a reload (HAProxy's saved server states). Nothing reaches
// an app, so nothing writes while the data set is replaced.

import { haproxyCommand } from '../supervisor/haproxy-admin.ts';

export interface SiteGate {
  close(): Promise<void>;
  open(): Promise<void>;
}

export function haproxyGate(socket: string, apps: string[]): SiteGate {
  const set = async (state: 'maint' | 'ready') => {
    for (const app of apps) {
      const out = (await haproxyCommand(socket, `set server apps/${app} state ${state}`)).trim();
      if (out !== '') throw new Error(`HAProxy refused "set server apps/${app} state ${state}": ${out}`);
    }
  };
  return { close: () => set('maint'), open: () => set('ready') };
}
