// The topology page's only script (served as /static/topology.js; the CSP allows no inline script).
// It follows /api/topology/stream and swaps in each part of the page the server rendered anew.
(() => {
  const status = document.getElementById('live-status');
  const pad = (n, w) => String(n).padStart(w, '0');
  const clock = (iso) => {
    const d = new Date(iso);
    return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
  };
  // The server writes UTC; a person reads their own clock.
  const localTimes = (root) => {
    for (const t of root.querySelectorAll('time[datetime]')) t.textContent = clock(t.dateTime);
  };
  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  localTimes(document);
  if (!status || !('EventSource' in window)) return;
  setStatus('connecting', 'Connecting to live updates…');
  const shown = new Map();
  const flash = (el) => {
    el.classList.remove('changed');
    void el.offsetWidth; // restarts the animation
    el.classList.add('changed');
  };
  // The timeline only grows at its end: add the new lines (highlighted) and drop the ones that
  // fell off, so that a line's highlight is not cut short by the next update.
  const mergeTimeline = (el, markup) => {
    const next = document.createElement('template');
    next.innerHTML = markup;
    const list = el.querySelector('ol.timeline');
    const incoming = next.content.querySelector('ol.timeline');
    if (!list || !incoming) return false;
    const ids = new Set(Array.from(incoming.children, (li) => li.dataset.id));
    for (const li of Array.from(list.children)) if (!ids.has(li.dataset.id)) li.remove();
    const have = new Set(Array.from(list.children, (li) => li.dataset.id));
    for (const li of Array.from(incoming.children)) {
      if (have.has(li.dataset.id)) continue;
      localTimes(li);
      list.append(li);
      flash(li);
    }
    return true;
  };
  let observer = null;
  const source = new EventSource('/api/topology/stream?format=html');
  source.addEventListener('error', () => setStatus('lost', 'Live updates interrupted; reconnecting…'));
  source.addEventListener('sections', (ev) => {
    const data = JSON.parse(ev.data);
    // Another instance after a reconnect: its timeline is its own, start from it afresh.
    const sameObserver = observer === data.observer;
    observer = data.observer;
    for (const [id, markup] of Object.entries(data.sections)) {
      const el = document.getElementById(id);
      if (!el || shown.get(id) === markup) continue;
      const first = !shown.has(id);
      shown.set(id, markup);
      if (id === 'live-events' && sameObserver && mergeTimeline(el, markup)) continue;
      el.innerHTML = markup;
      localTimes(el);
      // Draw the eye to a new master, not to every offset that moves.
      if (id === 'live-summary' && !first) flash(el);
    }
    setStatus('live', `Live · read at ${clock(data.at)} by ${data.observer}`);
  });
})();
