// The local dashboard's page script: polls the data API once a second and draws what it answers. No build step:
// plain DOM (text only, never HTML from data), and charts drawn by uPlot (the global `uPlot` of uplot.js, loaded
// before this script). Served by the runtime at /_local/dashboard/assets/app.js (local/dashboard/server.ts).

const BASE = '/_local/dashboard';
const API = `${BASE}/api`;
const POLL_MS = 1000;
const COLORS = ['#2457c5', '#d9730d', '#1e7b34', '#8e3ab8', '#b3261e', '#0f8a8a'];

/** An element with attributes and children (strings become text nodes, never HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (HANDLERS.includes(name)) node[name] = value;
    else if (name.startsWith('on')) throw new Error(`el(): ${name} is not in HANDLERS`);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The attributes that name what an element shows: an element of another name is another element, never patched. */
const IDENTITY = [
  'id',
  'data-tier',
  'data-agent',
  'data-dlq',
  'data-task',
  'data-subscriber',
  'data-message',
];

/** The event handlers el() may set: properties, so that morph can carry them over. */
const HANDLERS = ['onclick', 'onchange', 'oninput'];

function sameThing(old, next) {
  if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) return false;
  return (
    old.nodeType !== Node.ELEMENT_NODE || IDENTITY.every((a) => old.getAttribute(a) === next.getAttribute(a))
  );
}

/**
 * Makes `old` show what `next` shows, keeping `old` and every descendant that still names the same thing.
 *
 * The page is redrawn every second. Chromium fires no click when the pressed element leaves the page before the
 * release, so a redraw that replaced its buttons, links and summaries would lose a click now and then (and one
 * held for a second, always). Whether a reader unfolded a <details> is the reader's: a redraw leaves it.
 */
function morph(old, next) {
  if (!sameThing(old, next)) {
    old.replaceWith(next);
    return;
  }
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
    return;
  }
  const readersOwn = (name) => name === 'open' && old.nodeName === 'DETAILS';
  for (const name of old.getAttributeNames())
    if (!next.hasAttribute(name) && !readersOwn(name)) old.removeAttribute(name);
  for (const name of next.getAttributeNames())
    if (old.getAttribute(name) !== next.getAttribute(name) && !readersOwn(name))
      old.setAttribute(name, next.getAttribute(name));
  for (const handler of HANDLERS) old[handler] = next[handler];
  redraw(old, [...next.childNodes]);
}

/** Redraws `parent`'s children as `children` (elements, strings or nothing) in place: see morph. */
function redraw(parent, children) {
  const wanted = [...el('div', {}, children).childNodes];
  const olds = [...parent.childNodes];
  for (const [i, child] of wanted.entries()) {
    if (i < olds.length) morph(olds[i], child);
    else parent.append(child);
  }
  for (const extra of olds.slice(wanted.length)) extra.remove();
}

function num(value, digits = 0) {
  if (value === null || value === undefined) return '–';
  return Number(value).toFixed(digits);
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function ms(value) {
  if (value === null || value === undefined) return '–';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}

/** A number cell that keeps its raw value in data-value (what the browser tests compare with the API). */
function numCell(field, value, text) {
  return el('td', { class: 'num', 'data-field': field, 'data-value': value ?? '' }, text ?? num(value));
}

function taskLink(id) {
  return el('a', { href: `${BASE}/tasks/${id}`, class: 'task-link' }, el('code', {}, id.slice(0, 8)));
}

function notice(text, isError) {
  const box = document.getElementById('notice');
  box.hidden = false;
  box.className = isError ? 'error' : '';
  box.textContent = text;
}

async function getJson(path) {
  const response = await fetch(`${API}${path}`, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status}`);
  return body;
}

/** An action: the browser sends the secret's cookie itself (SameSite=Strict, HttpOnly). */
async function postJson(path, body) {
  const response = await fetch(`${API}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { error: { message: text } };
  }
  if (!response.ok) throw new Error(parsed?.error?.message ?? parsed?.message ?? `${response.status}`);
  return parsed;
}

let actionsAllowed = false;

async function loadSession() {
  const session = await getJson('/session');
  actionsAllowed = session.actions;
  const box = document.getElementById('session');
  box.textContent = session.actions
    ? 'actions enabled'
    : 'read-only: open the URL the runtime printed (…?token=…) to enable actions';
  box.dataset.actions = String(session.actions);
}

// ---------- charts ----------

const CHART_HEIGHT = 200;
const WINDOW_SECONDS = 15 * 60;
/** How each line of a tier is drawn: its tier's color, and a dash per figure. */
const DASHES = { solid: undefined, dashed: [6, 4], dotted: [2, 3] };

/**
 * A uPlot chart in `container`, created once for a set of lines and then updated in place with setData. The
 * instance stays on the container (`container.uplot`), where the browser tests read its series and data.
 */
function updateChart(container, lines, unit, digits, x, ys) {
  const signature = lines.map((l) => l.label).join('\n');
  let chart = container.uplot;
  if (!chart || container.dataset.series !== signature) {
    chart?.destroy();
    chart = new uPlot(
      {
        width: Math.max(container.clientWidth, 200),
        height: CHART_HEIGHT,
        cursor: { drag: { x: false, y: false } },
        scales: {
          // The last 15 minutes, whatever the points cover; rates and depths start at 0.
          x: { time: true, range: () => [Date.now() / 1000 - WINDOW_SECONDS, Date.now() / 1000] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [{}, { size: 56, values: (_u, ticks) => ticks.map((v) => `${v}${unit}`) }],
        series: [
          { label: 'time' },
          ...lines.map((l) => ({
            label: l.label,
            stroke: l.color,
            width: 2,
            dash: DASHES[l.dash],
            points: { show: false },
            value: (_u, v) => (v === null || v === undefined ? '–' : `${num(v, digits)}${unit}`),
          })),
        ],
      },
      [x, ...ys],
      container,
    );
    container.uplot = chart;
    container.dataset.series = signature;
  } else {
    chart.setData([x, ...ys]);
  }
}

/** Keeps each chart as wide as its container. */
function followWidth(container) {
  new ResizeObserver(() => {
    const width = container.clientWidth;
    if (container.uplot && width > 0 && width !== container.uplot.width)
      container.uplot.setSize({ width, height: CHART_HEIGHT });
  }).observe(container);
}

function drawCharts(tiers, series) {
  const many = new Set(tiers.map((t) => t.queue)).size > 1;
  const keys = [...new Set(tiers.map((t) => tierName(t, many)))];
  const x = series.points.map((p) => Date.parse(p.t) / 1000);
  const column = (key, field) => series.points.map((p) => p.tiers[key]?.[field] ?? null);
  const lines = (figures) =>
    keys.flatMap((key, i) =>
      figures.map(([field, name, dash]) => ({
        label: `${key} ${name}`,
        color: COLORS[i % COLORS.length],
        dash,
        values: column(key, field),
      })),
    );
  const depth = lines([
    ['depth', 'depth', 'solid'],
    ['in_flight', 'in flight', 'dashed'],
    ['dlq_depth', 'DLQ', 'dotted'],
  ]);
  const rates = lines([
    ['produced', 'produced', 'solid'],
    ['consumed', 'consumed', 'dashed'],
  ]);
  updateChart(
    document.getElementById('chart-depth'),
    depth,
    '',
    0,
    x,
    depth.map((l) => l.values),
  );
  updateChart(
    document.getElementById('chart-rates'),
    rates,
    '/s',
    2,
    x,
    rates.map((l) => l.values),
  );
}

// ---------- overview ----------

function tierName(t, many) {
  return many ? `${t.queue}/${t.tier}` : t.tier;
}

function drawTiers(tiers) {
  const many = new Set(tiers.map((t) => t.queue)).size > 1;
  redraw(
    document.querySelector('#tiers tbody'),
    tiers.map((t) =>
      el(
        'tr',
        { 'data-tier': tierName(t, many) },
        el('td', {}, tierName(t, many)),
        numCell('visible', t.visible),
        numCell('in_flight', t.in_flight),
        numCell('delayed', t.delayed),
        numCell(
          'produced_per_second',
          t.produced_per_second,
          `${num(t.produced_per_second, 2)} (${t.produced_last_minute})`,
        ),
        numCell(
          'consumed_per_second',
          t.consumed_per_second,
          `${num(t.consumed_per_second, 2)} (${t.consumed_last_minute})`,
        ),
        numCell('oldest_age_seconds', t.oldest_age_seconds, age(t.oldest_age_seconds)),
        numCell('dlq_depth', t.dlq_depth),
      ),
    ),
  );
}

function limitText(limit) {
  if (!limit) return 'none';
  const parts = [];
  if (limit.max_concurrency !== undefined) parts.push(`${limit.in_use} / ${limit.max_concurrency} at once`);
  else parts.push(`${limit.in_use} running`);
  if (limit.rate_limit)
    parts.push(
      `${limit.rate_limit.used} / ${limit.rate_limit.requests} per ${limit.rate_limit.per_seconds} s`,
    );
  return parts.join(', ');
}

function drawAgents(agents) {
  redraw(
    document.querySelector('#agents tbody'),
    agents.map((a) =>
      el(
        'tr',
        { 'data-agent': a.type },
        el('td', {}, a.type),
        el('td', {}, a.mode),
        numCell('running', a.running),
        numCell('succeeded_per_minute', a.succeeded_per_minute),
        numCell('failed_per_minute', a.failed_per_minute),
        numCell('p50', a.latency_ms.p50, ms(a.latency_ms.p50)),
        numCell('p95', a.latency_ms.p95, ms(a.latency_ms.p95)),
        el('td', { 'data-field': 'limit', 'data-value': a.limit ? a.limit.in_use : '' }, limitText(a.limit)),
      ),
    ),
  );
  const running = agents.flatMap((a) => (a.async_running ?? []).map((r) => ({ ...r, type: a.type })));
  redraw(
    document.getElementById('async-running'),
    running.length === 0
      ? el('p', { class: 'hint' }, 'No async task running.')
      : el(
          'table',
          { id: 'async' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'Async task'),
              el('th', {}, 'Type'),
              el('th', {}, 'Progress'),
              el('th', {}, 'Last heartbeat'),
              el('th', {}, 'Deadline'),
            ),
          ),
          el(
            'tbody',
            {},
            running.map((r) =>
              el(
                'tr',
                { 'data-task': r.task_id },
                el('td', {}, taskLink(r.task_id)),
                el('td', {}, r.type),
                el(
                  'td',
                  {},
                  r.progress.percent !== undefined
                    ? el('progress', { max: 100, value: r.progress.percent })
                    : null,
                  ` ${r.progress.percent !== undefined ? `${r.progress.percent}%` : ''} ${r.progress.message ?? ''}`,
                ),
                el('td', {}, time(r.heartbeat_at)),
                el('td', {}, time(r.deadline)),
              ),
            ),
          ),
        ),
  );
}

async function dlqAction(tier, queue, kind) {
  const question =
    kind === 'redrive'
      ? `Redrive every dead letter of the ${tier} tier back to its queue? (the same as taskq dlq redrive --tier ${tier})`
      : `Purge the ${tier} dead-letter queue? Its messages are deleted for good, and unfinished tasks among them are failed. (taskq dlq purge --tier ${tier} --yes)`;
  if (!window.confirm(question)) return;
  try {
    const query = queue ? `?queue=${encodeURIComponent(queue)}` : '';
    const result = await postJson(`/dlq/${encodeURIComponent(tier)}/${kind}${query}`);
    notice(
      kind === 'redrive'
        ? `${tier}: ${result.requeued.length} task(s) requeued, ${result.move?.moved ?? 0} message(s) moved back${result.skipped.length ? `, ${result.skipped.length} skipped` : ''}`
        : `${tier}: ${result.messages} message(s) purged, ${result.failed_tasks} unfinished task(s) failed`,
      false,
    );
  } catch (error) {
    notice(`${kind} ${tier}: ${error.message}`, true);
  }
  refresh();
}

function drawDlq(doc) {
  const many = new Set(doc.tiers.map((t) => t.queue)).size > 1;
  redraw(
    document.getElementById('dlq'),
    doc.tiers.map((t) =>
      el(
        'div',
        { class: 'tier-dlq', 'data-dlq': tierName(t, many) },
        el(
          'h3',
          {},
          `${tierName(t, many)}: `,
          el('span', { 'data-field': 'depth', 'data-value': t.depth }, `${t.depth} message(s)`),
          el(
            'button',
            {
              type: 'button',
              class: 'redrive',
              disabled: !actionsAllowed || t.depth === 0,
              onclick: () => dlqAction(t.tier, many ? t.queue : undefined, 'redrive'),
            },
            'Redrive',
          ),
          el(
            'button',
            {
              type: 'button',
              class: 'purge danger',
              disabled: !actionsAllowed || t.depth === 0,
              onclick: () => dlqAction(t.tier, many ? t.queue : undefined, 'purge'),
            },
            'Purge',
          ),
        ),
        t.dead_letters.length === 0
          ? null
          : el(
              'table',
              {},
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  ['Task', 'Type', 'Status', 'Attempts', 'Error', 'Age'].map((h) => el('th', {}, h)),
                ),
              ),
              el(
                'tbody',
                {},
                t.dead_letters.map((d) =>
                  el(
                    'tr',
                    { 'data-task': d.task_id ?? '' },
                    el(
                      'td',
                      {},
                      d.task_id ? taskLink(d.task_id) : el('span', { class: 'muted' }, d.message_id),
                    ),
                    el('td', {}, d.type ?? '–'),
                    el('td', { class: `status-${d.status}` }, d.status ?? '–'),
                    numCell('attempts', d.attempts),
                    el('td', {}, d.error ? `${d.error.code}: ${d.error.message}` : '–'),
                    el('td', {}, age(d.age_seconds)),
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}

function fillSelect(select, values) {
  const known = new Set([...select.options].map((o) => o.value));
  for (const value of values) if (!known.has(value)) select.append(el('option', { value }, value));
}

async function drawTasks() {
  const form = document.getElementById('filters');
  const params = new URLSearchParams();
  for (const name of ['status', 'type', 'tier'])
    if (form.elements[name].value) params.set(name, form.elements[name].value);
  const doc = await getJson(`/tasks?${params}`);
  document.getElementById('tasks-count').textContent =
    `${doc.tasks.length} shown of ${doc.matching} matching`;
  redraw(
    document.querySelector('#tasks tbody'),
    doc.tasks.map((t) =>
      el(
        'tr',
        { 'data-task': t.task_id },
        el('td', {}, taskLink(t.task_id)),
        el('td', { 'data-field': 'type' }, t.type),
        el('td', { 'data-field': 'tier' }, t.priority),
        el('td', { 'data-field': 'status', class: `status-${t.status}` }, t.status),
        numCell('attempts', t.attempts),
        el('td', {}, time(t.created_at)),
        el('td', {}, time(t.finished_at)),
        el('td', {}, t.error ? t.error.code : ''),
      ),
    ),
  );
}

let busy = false;

async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const overview = await getJson('/overview');
    document.getElementById('stack').textContent = overview.stack;
    const updated = document.getElementById('updated');
    updated.textContent = `updated ${time(overview.generated_at)}`;
    drawTiers(overview.tiers);
    drawCharts(overview.tiers, overview.series);
    drawAgents(overview.agents);
    const form = document.getElementById('filters');
    fillSelect(
      form.elements.type,
      overview.agents.map((a) => a.type),
    );
    fillSelect(
      form.elements.tier,
      overview.tiers.map((t) => t.tier),
    );
    drawDlq(await getJson('/dlq'));
    await drawTasks();
    // Set last: a test that waits for a newer generated_at then reads a page drawn from that answer.
    updated.dataset.generatedAt = overview.generated_at;
  } catch (error) {
    document.getElementById('updated').textContent = `cannot reach the runtime: ${error.message}`;
  } finally {
    busy = false;
  }
}

// ---------- task page ----------

function field(name, value) {
  return [el('dt', {}, name), el('dd', { 'data-field': name }, value ?? '–')];
}

async function cancelTask(id) {
  if (!window.confirm(`Cancel task ${id}? (the same as DELETE /tasks/${id}, or taskq cancel ${id})`)) return;
  try {
    await postJson(`/tasks/${id}/cancel`);
    notice(`task ${id}: cancelled`, false);
  } catch (error) {
    notice(`cancel ${id}: ${error.message}`, true);
  }
  refreshTask(id);
}

async function refreshTask(id) {
  if (busy) return;
  busy = true;
  try {
    const doc = await getJson(`/tasks/${encodeURIComponent(id)}`);
    const r = doc.record;
    const view = doc.view ?? {};
    const status = view.status ?? r.status;
    const finished = ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(status);
    const parts = [
      el(
        'dl',
        { class: 'fields', id: 'task-fields' },
        field('status', el('span', { class: `status-${status}` }, status)),
        field('type', r.type),
        field('tier', r.priority),
        field('queue', doc.queue),
        field('tenant', r.tenant_id),
        field('attempts', String(view.attempts ?? r.attempts)),
        field('redrives', r.redrive_count !== undefined ? String(r.redrive_count) : undefined),
        field('created', r.created_at),
        field('started', r.started_at),
        field('finished', r.finished_at),
        field('error', r.error ? `${r.error.code}: ${r.error.message}` : undefined),
        field('waiting', r.waiting ? `${r.waiting.reason} since ${r.waiting.since}` : undefined),
        field('topic', r.topic),
        field('published task', r.published_task_id ? taskLink(r.published_task_id) : undefined),
      ),
      finished
        ? null
        : el(
            'p',
            {},
            el(
              'button',
              {
                type: 'button',
                id: 'cancel',
                class: 'danger',
                disabled: !actionsAllowed,
                onclick: () => cancelTask(id),
              },
              'Cancel task',
            ),
          ),
    ];
    if (r.progress || view.progress) {
      const p = view.progress ?? r.progress;
      parts.push(
        el('h3', {}, 'Progress'),
        el(
          'p',
          { id: 'progress' },
          p.percent !== undefined ? el('progress', { max: 100, value: p.percent }) : null,
          ` ${p.percent ?? ''}% ${p.message ?? ''}`,
        ),
      );
    }
    if (view.deliveries) {
      parts.push(
        el('h3', {}, 'Deliveries'),
        el(
          'table',
          { id: 'deliveries' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ['Subscriber', 'Task', 'Status', 'Attempts', 'Error'].map((h) => el('th', {}, h)),
            ),
          ),
          el(
            'tbody',
            {},
            Object.entries(view.deliveries).map(([subscriber, d]) =>
              el(
                'tr',
                { 'data-subscriber': subscriber },
                el('td', {}, subscriber),
                el('td', {}, d.task_id ? taskLink(d.task_id) : '–'),
                el('td', { class: `status-${d.status}` }, d.status ?? '–'),
                el('td', {}, d.attempts ?? '–'),
                el('td', {}, d.error ? `${d.error.code}: ${d.error.message}` : ''),
              ),
            ),
          ),
        ),
      );
    }
    parts.push(el('h3', {}, 'Payload'), el('p', { class: 'hint', id: 'payload-note' }, doc.payload_note));
    for (const m of doc.messages)
      parts.push(
        el(
          'div',
          { class: 'message', 'data-message': m.message_id },
          el(
            'p',
            {},
            `${m.tier} ${m.kind}, ${m.state}, received ${m.receive_count} time(s), sent ${time(m.sent_at)}`,
          ),
          el('pre', { class: 'payload' }, JSON.stringify(m.payload, null, 2)),
        ),
      );
    if (r.result !== undefined)
      parts.push(
        el(
          'details',
          { id: 'result' },
          el('summary', {}, 'Result'),
          el('pre', {}, JSON.stringify(r.result, null, 2)),
        ),
      );
    parts.push(
      el(
        'details',
        { id: 'record' },
        el('summary', {}, 'Record (task table item)'),
        el('pre', {}, JSON.stringify(r, null, 2)),
      ),
    );
    const body = document.getElementById('task-body');
    redraw(body, parts);
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    body.dataset.loaded = 'true';
  } catch (error) {
    redraw(document.getElementById('task-body'), [el('p', { class: 'error' }, error.message)]);
  } finally {
    busy = false;
  }
}

function poll(fn) {
  fn();
  setInterval(fn, POLL_MS);
}

async function main() {
  await loadSession().catch(() => {});
  const match = /^\/_local\/dashboard\/tasks\/([^/]+)$/.exec(location.pathname);
  if (match) {
    const id = decodeURIComponent(match[1]);
    document.getElementById('task').hidden = false;
    document.getElementById('task-id').textContent = id;
    document.title = `task ${id.slice(0, 8)} · taskq`;
    poll(() => refreshTask(id));
    return;
  }
  document.getElementById('overview').hidden = false;
  for (const id of ['chart-depth', 'chart-rates']) followWidth(document.getElementById(id));
  document.getElementById('filters').addEventListener('change', () => drawTasks().catch(() => {}));
  poll(refresh);
}

main();
