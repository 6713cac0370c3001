// Corridor observer tally: one tap per vehicle, queued in localStorage while
// the connection is down, sent to the write API when it is back.
//
// Every record gets its id here, before it is queued, so sending the same
// batch twice (a lost response, a retry after a reload) stores it once: the
// server treats a repeated id with the same content as a no-op.
'use strict';

(function () {
  const STORAGE_KEY = 'corridor-observer-v1';
  const API_PATH = document.getElementById('tally')?.dataset.api || '/api/v1/records?mode=per_record';
  const BATCH = 100;
  const RETRY_MS = 5000;

  /** The saved state: settings, the queue, and what was sent. */
  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || '{}');
      return {
        observer: saved.observer || '',
        site: saved.site || '',
        token: saved.token || '',
        queue: Array.isArray(saved.queue) ? saved.queue : [],
        sent: Array.isArray(saved.sent) ? saved.sent : [],
        taps: saved.taps && typeof saved.taps === 'object' ? saved.taps : {},
      };
    } catch (error) {
      return { observer: '', site: '', token: '', queue: [], sent: [], taps: {} };
    }
  }

  const state = load();
  let sending = false;

  function save() {
    // Keep the last 200 receipts on the device; the log keeps them all.
    state.sent = state.sent.slice(-200);
    localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
  }

  const $ = (id) => document.getElementById(id);

  /** 16 random bytes as hex; works without a secure context (unlike randomUUID). */
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  }

  /** The device's local time with its offset: 2023-01-17T09:40:05+04:00. */
  function localTime(date) {
    const pad = (value) => String(value).padStart(2, '0');
    const offset = -date.getTimezoneOffset();
    const sign = offset >= 0 ? '+' : '-';
    const hours = pad(Math.floor(Math.abs(offset) / 60));
    const minutes = pad(Math.abs(offset) % 60);
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${sign}${hours}:${minutes}`;
  }

  function checked(name) {
    const input = document.querySelector(`input[name="${name}"]:checked`);
    return input ? input.value : '';
  }

  function words(token) {
    return String(token).replace(/_/g, ' ');
  }

  function setMessage(text, kind) {
    const message = $('message');
    message.textContent = text;
    message.dataset.kind = kind || 'info';
  }

  function renderStatus() {
    const online = navigator.onLine;
    const connection = $('connection');
    connection.dataset.state = online ? 'online' : 'offline';
    connection.textContent = online ? 'online' : 'offline — tallies wait on this phone';
    const count = $('queue-count');
    count.dataset.count = String(state.queue.length);
    count.textContent = `${state.queue.length} waiting`;
    for (const button of document.querySelectorAll('button.tally')) {
      const taps = button.querySelector('.taps');
      taps.textContent = String(state.taps[button.dataset.category] || 0);
    }
    $('undo').disabled = state.queue.length === 0 || sending;
  }

  function receiptItem(entry, status) {
    const item = document.createElement('li');
    item.className = `receipt receipt-${status}`;
    item.dataset.id = entry.record.id;
    const what = document.createElement('span');
    what.className = 'what';
    const record = entry.record;
    what.textContent = `${record.observed_at.slice(11, 19)} · ${words(record.category)} · ${record.direction} · ${words(record.outcome)}`;
    const result = document.createElement('span');
    result.className = 'result';
    if (status === 'sent') {
      result.textContent = `leaf #${entry.leaf_index}`;
      result.dataset.leafIndex = String(entry.leaf_index);
    } else if (status === 'rejected') {
      result.textContent = `refused: ${entry.error}`;
    } else {
      result.textContent = sending ? 'sending…' : 'queued';
    }
    item.append(what, result);
    return item;
  }

  function renderReceipts() {
    const list = $('receipt-list');
    const items = [];
    for (const entry of state.queue.slice().reverse()) items.push(receiptItem(entry, entry.error ? 'rejected' : 'queued'));
    for (const entry of state.sent.slice().reverse().slice(0, 50)) items.push(receiptItem(entry, entry.error ? 'rejected' : 'sent'));
    list.replaceChildren(...items);
  }

  function render() {
    renderStatus();
    renderReceipts();
  }

  function configured() {
    return state.token && state.site && state.observer;
  }

  function tap(category) {
    if (!configured()) {
      $('setup-details').open = true;
      setMessage('Fill in observer, site and token first.', 'error');
      return;
    }
    const note = $('note').value.trim();
    const record = {
      type: 'passage',
      id: `obs-${randomId()}`,
      site: state.site,
      observed_at: localTime(new Date()),
      direction: checked('direction') || 'unknown',
      category,
      vehicle_class: $('vehicle-class').value || 'unknown',
      outcome: checked('outcome') || 'passed',
      source: { kind: 'direct_observation', name: state.observer },
      recorded_by: state.observer,
    };
    if (note) record.notes = note;
    $('note').value = '';
    state.queue.push({ record });
    state.taps[category] = (state.taps[category] || 0) + 1;
    save();
    render();
    if (navigator.vibrate) navigator.vibrate(15);
    flush();
  }

  /** The leaf index the server gave each record id, from whatever shape the answer has. */
  function receiptsOf(body) {
    const found = new Map();
    const visit = (value) => {
      if (Array.isArray(value)) {
        value.forEach(visit);
      } else if (value && typeof value === 'object') {
        if (typeof value.id === 'string' && Number.isInteger(value.leaf_index)) {
          found.set(value.id, value);
        } else if (typeof value.record_id === 'string' && Number.isInteger(value.leaf_index)) {
          found.set(value.record_id, value);
        }
        for (const key of Object.keys(value)) {
          if (typeof value[key] === 'object') visit(value[key]);
        }
      }
    };
    visit(body);
    return found;
  }

  /** Per-record refusals the server named, by record id. */
  function refusalsOf(body) {
    const found = new Map();
    const visit = (value) => {
      if (Array.isArray(value)) {
        value.forEach(visit);
      } else if (value && typeof value === 'object') {
        const id = value.record_id || value.id;
        const reason = value.error || value.reason || value.message;
        if (typeof id === 'string' && typeof reason === 'string' && !Number.isInteger(value.leaf_index)) {
          found.set(id, reason);
        }
        for (const key of Object.keys(value)) {
          if (typeof value[key] === 'object') visit(value[key]);
        }
      }
    };
    visit(body);
    return found;
  }

  async function flush() {
    if (sending || !navigator.onLine || !configured()) {
      renderStatus();
      return;
    }
    const batch = state.queue.filter((entry) => !entry.error).slice(0, BATCH);
    if (batch.length === 0) return;
    sending = true;
    render();
    try {
      const response = await fetch(API_PATH, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${state.token}`,
        },
        body: JSON.stringify(batch.map((entry) => entry.record)),
      });
      let body = null;
      try {
        body = await response.json();
      } catch (error) {
        body = null;
      }
      if (response.status === 401 || response.status === 403) {
        setMessage(`The server refused the token (${response.status}): check it in the settings.`, 'error');
        $('setup-details').open = true;
        return;
      }
      const receipts = receiptsOf(body);
      const refusals = refusalsOf(body);
      let stored = 0;
      for (const entry of batch) {
        const receipt = receipts.get(entry.record.id);
        if (receipt) {
          entry.leaf_index = receipt.leaf_index;
          state.sent.push(entry);
          state.queue.splice(state.queue.indexOf(entry), 1);
          stored += 1;
        } else if (refusals.has(entry.record.id) && response.status < 500) {
          entry.error = refusals.get(entry.record.id);
        }
      }
      const refused = batch.filter((entry) => entry.error).length;
      if (!response.ok && stored === 0 && refused === batch.length) {
        // 422: the server refused every record and said why for each.
        setMessage(`${refused} refused by the server: see each tally's reason.`, 'error');
      } else if (!response.ok && stored === 0) {
        const error = body && body.error;
        const reason = typeof error === 'string' ? error : (error && error.message) || (body && body.message);
        setMessage(`Not sent (${response.status}${reason ? `: ${reason}` : ''}); will retry.`, 'error');
        if (response.status < 500 && refusals.size === 0) {
          // A refusal that names no record: every record of the batch shares it.
          for (const entry of batch) entry.error = reason || `HTTP ${response.status}`;
        }
      } else {
        setMessage(`${stored} sent, ${state.queue.length} waiting.`, 'ok');
      }
    } catch (error) {
      setMessage('No connection: tallies wait on this phone and will be sent.', 'info');
    } finally {
      sending = false;
      save();
      render();
    }
    if (state.queue.some((entry) => !entry.error) && navigator.onLine) setTimeout(flush, 250);
  }

  function undo() {
    if (sending) return;
    const last = state.queue.pop();
    if (last) {
      const category = last.record.category;
      state.taps[category] = Math.max(0, (state.taps[category] || 1) - 1);
      setMessage(`Removed the last ${words(category)} tap before it was sent.`, 'info');
    }
    save();
    render();
  }

  function setup() {
    $('observer-name').value = state.observer;
    $('token').value = state.token;
    const site = $('site');
    if (state.site) site.value = state.site;
    $('setup-details').open = !configured();
    $('setup-form').addEventListener('submit', (event) => {
      event.preventDefault();
      state.observer = $('observer-name').value.trim();
      state.site = site.value;
      state.token = $('token').value.trim();
      save();
      $('setup-details').open = !configured();
      setMessage(configured() ? `Tallying at ${site.options[site.selectedIndex]?.text || state.site}.` : 'Fill in every field.', configured() ? 'ok' : 'error');
      render();
      flush();
    });
    for (const button of document.querySelectorAll('button.tally')) {
      button.addEventListener('click', () => tap(button.dataset.category));
    }
    $('send-now').addEventListener('click', () => {
      for (const entry of state.queue) delete entry.error;
      flush();
    });
    $('undo').addEventListener('click', undo);
    window.addEventListener('online', () => {
      renderStatus();
      flush();
    });
    window.addEventListener('offline', renderStatus);
    setInterval(flush, RETRY_MS);
    render();
    flush();
  }

  setup();
})();
