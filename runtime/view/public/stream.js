// One server-sent-event stream from /api/events that survives a lost connection: it is
// reopened with a growing delay (1 s, 2 s, 4 s … 30 s) instead of the browser's fixed
// retry, events are de-duplicated by id (a reopened stream re-sends what was stored), and
// the run's end ('end' with `ended`) closes it for good.

const MAX_DELAY = 30_000;

export function openStream(params, h) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''));
  const seen = new Set();
  let es;
  let delay = 1000;
  let timer;
  let closed = false;

  const lost = (message) => {
    es?.close();
    if (closed) return;
    h.lost?.({ message, retryIn: delay });
    timer = setTimeout(connect, delay);
    delay = Math.min(MAX_DELAY, delay * 2);
  };

  function connect() {
    es = new EventSource(`/api/events?${qs}`);
    es.addEventListener('events', (m) => {
      const fresh = JSON.parse(m.data).filter((e) => !seen.has(e.id) && seen.add(e.id));
      if (fresh.length) h.events(fresh);
    });
    es.addEventListener('synced', (m) => {
      delay = 1000;
      h.synced?.(JSON.parse(m.data));
    });
    es.addEventListener('end', (m) => {
      closed = true;
      es.close();
      h.end?.(JSON.parse(m.data));
    });
    // the server's own report of a failed read (the bus went away): retried like a lost connection
    es.addEventListener('failure', (m) => lost(JSON.parse(m.data).message));
    es.onerror = () => lost('connection to the viewer lost');
  }
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      es?.close();
    },
  };
}
