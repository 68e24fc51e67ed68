import { Html, html, layout, type PageContext } from '../views/html.ts';
import type { NodeRow, ProxiedRow, TopologyEvent, TopologySnapshot } from './topology/model.ts';

/** `12:34:56.789` (UTC): the page's script shows it in the reader's time zone. */
const clock = (iso: string) => html`<time datetime="${iso}">${iso.slice(11, 23)}</time>`;
const badge = (kind: string, text: string) => html`<span class="badge ${kind}">${text}</span>`;
const num = (v: number | null, unit = '') =>
  v === null ? html`<span class="muted">–</span>` : `${v}${unit}`;

function summary(s: TopologySnapshot): Html {
  const master = s.master
    ? html`<p class="master-line">Master of <code>${s.masterName}</code>: <strong data-master="${s.master.name}">${s.master.name}</strong> <span class="muted">${s.master.address}</span></p>`
    : html`<p class="master-line">Master of <code>${s.masterName}</code>: <strong data-master="">none known</strong></p>`;
  const kind = s.mode.service === 'healthy' && s.mode.sentinels === 'ok' ? 'ok' : 'down';
  const mode = html`<p class="mode-line" data-mode="${s.mode.service}" data-sentinel-mode="${s.mode.sentinels}">Mode: ${badge(kind, s.mode.service)}${s.mode.sentinels === 'ok' ? '' : html` ${badge('down', `sentinels ${s.mode.sentinels}`)}`} <span class="muted">${s.mode.text}</span></p>`;
  const alarms = s.alarms.length
    ? html`<ul class="alarms" role="alert">${s.alarms.map((a) => html`<li>${a}</li>`)}</ul>`
    : '';
  const warnings = s.warnings.length
    ? html`<ul class="warnings">${s.warnings.map((w) => html`<li>${w}</li>`)}</ul>`
    : '';
  const missing = s.missing.length
    ? html`<ul class="missing">${s.missing.map((m) => html`<li>${m}</li>`)}</ul>`
    : '';
  return html`${master}${mode}${alarms}${warnings}${missing}`;
}

/** What the local supervisor says of a process: restarts after crashes, and a state other than running. */
function supervision(row: { restarts: number | null; process: string | null }): Html | string {
  if (row.restarts === null) return '';
  const state = row.process && row.process !== 'running' ? html` · ${row.process}` : '';
  return html`<br><span class="muted" data-restarts="${row.restarts}">restarted ${row.restarts}×${state}</span>`;
}

function nodeRow(n: NodeRow): Html {
  const link =
    n.role === 'replica'
      ? html`link ${badge(n.link === 'up' ? 'ok' : 'down', n.link ?? '?')} to ${n.following ?? '?'}`
      : n.role === 'master'
        ? html`${n.replicas} replica${n.replicas === 1 ? '' : 's'} attached`
        : (n.error ?? '');
  const lag =
    n.role === 'replica'
      ? html`<br><span class="muted">lag ${num(n.lagBytes, ' B')}, ${num(n.lagSeconds, ' s')}</span>`
      : '';
  return html`<tr data-node="${n.name}" data-role="${n.role}"><th scope="row">${n.name}<br><span class="muted">${n.address}</span></th>
<td>${badge(n.up ? n.role : 'down', n.up ? n.role : 'down')}<br><span class="muted">${link}</span>${supervision(n)}</td>
<td class="num">${num(n.offset)}${lag}</td></tr>`;
}

function nodes(s: TopologySnapshot): Html {
  if (s.nodes.length === 0) return html`<p class="muted">Not configured.</p>`;
  return html`<table><thead><tr><th scope="col">Node</th><th scope="col">Role and link</th>
<th scope="col" class="num">Replication offset</th></tr></thead><tbody>${s.nodes.map(nodeRow)}</tbody></table>`;
}

function sentinels(s: TopologySnapshot): Html {
  if (s.sentinels.length === 0) return html`<p class="muted">Not configured.</p>`;
  const rows = s.sentinels.map(
    (
      x,
    ) => html`<tr data-sentinel="${x.name}"><th scope="row">${x.name}<br><span class="muted">${x.address}</span></th>
<td data-tilt="${x.tilt}">${x.up ? (x.tilt ? badge('down', 'TILT') : badge('ok', 'up')) : badge('down', 'down')}${supervision(x)}</td>
<td data-believes="${x.master ?? ''}">${x.master ?? html`<span class="muted">${x.error ?? 'none'}</span>`}${
      x.up
        ? html`<br><span class="muted">epoch ${num(x.configEpoch)} · ${x.flags.replaceAll(',', ', ')}</span>`
        : ''
    }</td></tr>`,
  );
  return html`<table><thead><tr><th scope="col">Sentinel</th><th scope="col">State</th><th scope="col">Believes the master is</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** `expectDown`: in the Redis front only the master is UP; the replicas being DOWN there is by design. */
function proxied(rows: ProxiedRow[], what: string, expectDown = false): Html {
  const body = rows.map(
    (r) => html`<tr data-server="${r.server}" data-ready="${r.ready}"><th scope="row">${r.server}</th>
<td>${badge(r.ready ? 'ok' : expectDown ? 'info' : 'down', r.status)}</td><td><span class="muted">${r.check}</span></td></tr>`,
  );
  return html`<table><thead><tr><th scope="col">${what}</th><th scope="col">State</th><th scope="col">Last check</th></tr></thead>
<tbody>${body}</tbody></table>`;
}

function apps(s: TopologySnapshot): Html {
  const h = s.haproxy;
  if (!h.configured) return html`<p class="muted">Not configured (HAPROXY_STATS_URL).</p>`;
  if (!h.up) return html`<p class="error">HAProxy's stats do not answer: ${h.error ?? 'no reply'}</p>`;
  const others = h.others.length
    ? html`<h3>Redis front</h3><p class="muted">Clients of HAProxy's Redis port reach only the server it checks as master.</p>${proxied(h.others, 'Server', true)}`
    : '';
  return html`${proxied(h.apps, 'Instance')}${others}`;
}

function eventItem(e: TopologyEvent): Html {
  const kind =
    e.type === 'down' || e.type === '+sdown' || e.type === '+odown'
      ? 'down'
      : e.type === '+switch-master' || e.type === 'up'
        ? 'ok'
        : 'info';
  return html`<li data-type="${e.type}" data-id="${e.id}">${clock(e.at)} ${badge(kind, e.type)} <span>${e.text}</span> <span class="muted">(${e.sources.join(', ')})</span></li>`;
}

function events(s: TopologySnapshot): Html {
  if (s.events.length === 0)
    return html`<p class="muted">Nothing has happened since this instance started watching.</p>`;
  return html`<ol class="timeline">${s.events.map(eventItem)}</ol>`;
}

/** The live parts of the page by id: the stream sends them again whenever the state changes. */
export function topologySections(s: TopologySnapshot): Record<string, string> {
  return {
    'live-summary': summary(s).text,
    'live-nodes': nodes(s).text,
    'live-sentinels': sentinels(s).text,
    'live-apps': apps(s).text,
    'live-events': events(s).text,
  };
}

export function topologyPage(ctx: PageContext, s: TopologySnapshot): string {
  const parts = topologySections(s);
  const section = (id: string, title: string) =>
    html`<section aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2><div id="${id}" data-live>${new Html(parts[id]!)}</div></section>`;
  return layout(
    'Topology',
    ctx,
    html`<p id="live-status" class="live" data-state="static">Read at ${clock(s.at)} by ${s.observer}. Live updates need JavaScript.</p>
<div id="live-summary" data-live aria-live="polite">${new Html(parts['live-summary']!)}</div>
<div class="panels">${section('live-nodes', 'Redis nodes')}${section('live-sentinels', 'Sentinels')}
${section('live-apps', 'App instances, as HAProxy sees them')}${section('live-events', 'Recent events')}</div>
<script src="/static/topology.js" defer></script>`,
    { wide: true },
  );
}
