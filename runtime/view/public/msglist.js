// The message list, virtualised: every event is kept (up to a cap) but only the rows in
// view are in the DOM, so a run of many thousands of messages scrolls smoothly and a busy
// run (tens of dialogues a second) costs one render per animation frame, not one per
// event. Scrolling to the top asks for older events (`loadOlder`), which are prepended
// without moving what is on screen.

const ROW = 20;
// by time, then id: the server's order, so "older than the first row" means the same to both
const byTime = (a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const CAP = 200_000;
const OVERSCAN = 10;

export class MessageList {
  constructor(box, { row, onOlder }) {
    this.box = box;
    this.row = row;
    this.onOlder = onOlder;
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    this.rows = document.createElement('div');
    this.rows.className = 'rows';
    this.box.replaceChildren(this.spacer, this.rows);
    this.items = [];
    this.ids = new Set();
    this.pending = [];
    this.frame = 0;
    this.more = false;
    this.loading = false;
    this.stick = true;
    box.addEventListener('scroll', () => {
      this.stick = box.scrollTop + box.clientHeight >= box.scrollHeight - ROW * 2;
      this.schedule();
      if (box.scrollTop < ROW * 3) void this.older();
    });
  }

  clear() {
    this.items = [];
    this.ids.clear();
    this.pending = [];
    this.more = false;
    this.stick = true;
    this.schedule();
  }

  /** Live or stored events, in any order: inserted by time at the next frame. */
  add(events) {
    for (const e of events) if (!this.ids.has(e.id)) this.pending.push(e);
    this.schedule();
  }

  get oldest() {
    return this.items[0];
  }

  async older() {
    if (!this.more || this.loading || !this.items.length) return;
    this.loading = true;
    document.body.dataset.msgLoading = '1';
    try {
      const { events, more } = await this.onOlder(this.oldest);
      const fresh = events.filter((e) => !this.ids.has(e.id));
      for (const e of fresh) this.ids.add(e.id);
      this.items = fresh.concat(this.items);
      this.more = more;
      // keep the rows on screen where they were
      this.box.scrollTop += fresh.length * ROW;
      this.schedule();
    } catch {
      // shown by the status badge; scrolling up again retries
    } finally {
      this.loading = false;
      document.body.dataset.msgLoading = '0';
    }
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  render() {
    this.frame = 0;
    if (this.pending.length) {
      const add = this.pending.filter((e) => !this.ids.has(e.id) && this.ids.add(e.id));
      this.pending = [];
      add.sort(byTime);
      if (!add.length) {
        // only events already shown
      } else if (!this.items.length || byTime(add[0], this.items[this.items.length - 1]) > 0) this.items.push(...add);
      else this.items = this.items.concat(add).sort(byTime);
      if (this.items.length > CAP) {
        for (const e of this.items.splice(0, this.items.length - CAP)) this.ids.delete(e.id);
        this.more = true;
      }
    }
    const n = this.items.length;
    this.spacer.style.height = `${n * ROW}px`;
    if (this.stick) this.box.scrollTop = this.box.scrollHeight;
    const first = Math.max(0, Math.floor(this.box.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(n, Math.ceil((this.box.scrollTop + this.box.clientHeight) / ROW) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const el = this.row(this.items[i]);
      el.style.top = `${i * ROW}px`;
      frag.append(el);
    }
    this.rows.replaceChildren(frag);
    document.body.dataset.msgTotal = String(n);
    document.body.dataset.msgOldest = String(this.items[0]?.ts ?? '');
    document.body.dataset.msgMore = this.more ? '1' : '0';
    this.onRender?.(n);
  }
}
