import type { TopologyEvent, TopologySnapshot } from './model.ts';

const MAX_EVENTS = 40;
/** Sentinels report the same fact each on its own: one line, several sources, within this window. */
const MERGE_MS = 5000;

/** The recent events of the topology page: Sentinel announcements, and what changed between two polls. */
export class Timeline {
  private events: TopologyEvent[] = [];
  private nextId = 1;

  /** The id of the newest event (0: none): changes whenever an event is added. */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** A copy, oldest first. */
  list(): TopologyEvent[] {
    return this.events.map((e) => ({ ...e, sources: [...e.sources] }));
  }

  add(type: string, text: string, source: string, now = Date.now()): void {
    const same = this.events.find(
      (e) => e.type === type && e.text === text && now - Date.parse(e.at) < MERGE_MS,
    );
    if (same) {
      if (!same.sources.includes(source)) same.sources.push(source);
      return;
    }
    this.events.push({ id: this.nextId++, at: new Date(now).toISOString(), type, text, sources: [source] });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Events the Sentinels do not publish but a person wants to see: a node or an instance going away. */
  diff(before: TopologySnapshot, after: TopologySnapshot): void {
    for (const n of after.nodes) {
      const was = before.nodes.find((x) => x.name === n.name);
      if (!was) continue;
      if (was.up && !n.up) this.add('down', `${n.name} does not answer (${n.error ?? 'no reply'})`, 'poll');
      else if (!was.up && n.up) this.add('up', `${n.name} answers again as ${n.role}`, 'poll');
      else if (was.up && n.up && was.role !== n.role)
        this.add('role', `${n.name} is now ${n.role} (was ${was.role})`, 'poll');
      if (was.restarts !== null && n.restarts !== null && n.restarts > was.restarts)
        this.add('restart', `${n.name} restarted by the supervisor (${n.restarts}×)`, 'supervisor');
    }
    for (const s of after.sentinels) {
      const was = before.sentinels.find((x) => x.name === s.name);
      if (was?.up && !s.up) this.add('down', `sentinel ${s.name} does not answer`, 'poll');
      else if (was && !was.up && s.up) this.add('up', `sentinel ${s.name} answers again`, 'poll');
      if (was && !was.tilt && s.tilt) this.add('tilt', `sentinel ${s.name} entered TILT mode`, 'poll');
      else if (was?.tilt && !s.tilt && s.up) this.add('tilt', `sentinel ${s.name} left TILT mode`, 'poll');
    }
    if (before.mode.service !== after.mode.service)
      this.add('mode', `mode ${after.mode.service} (was ${before.mode.service})`, 'poll');
    for (const a of after.haproxy.apps) {
      const was = before.haproxy.apps.find((x) => x.server === a.server);
      if (was?.ready && !a.ready)
        this.add('down', `${a.server} taken out by HAProxy (${a.status})`, 'haproxy');
      else if (was && !was.ready && a.ready)
        this.add('up', `${a.server} back in HAProxy (${a.status})`, 'haproxy');
    }
  }
}
