/**
 * The local dashboard in a real browser: Debian's chromium driven by puppeteer-core, against the runtime booted as
 * `npm start` runs it. Tasks are submitted through the API (echo on the high tier, limited and poison on the low
 * one: poison fails for good and is dead-lettered), then the page's numbers are compared with the data API and with
 * the queues themselves, a task page with the task's record, and a redrive is made from the page's button.
 * Every attack path of the security model is tried: over HTTP (foreign Host, foreign Origin, missing and wrong
 * secret, cross-site form POST, the cookie's attributes) and from a cross-site page in the same browser.
 *
 * Screenshots of each page go to test-artifacts/dashboard/ (gitignored; CI keeps it as an artifact).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import * as path from 'node:path';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { bootRuntime, eventually, freePort, type RunningRuntime } from './support/local-runtime';

jest.setTimeout(300_000);

/** The page's document, as the functions run in the browser use it (this project compiles without the DOM lib). */
declare const document: {
  getElementById(id: string): {
    dataset: Record<string, string | undefined>;
    textContent: string | null;
    /** On a chart's container: its uPlot instance (app.js keeps it there). */
    uplot?: ChartInstance;
  } | null;
  querySelectorAll(selector: string): { length: number } & Iterable<{ textContent: string | null }>;
  readonly body: { textContent: string | null };
  readonly cookie: string;
};

/** What the tests read of a uPlot instance. */
interface ChartInstance {
  readonly series: ReadonlyArray<{ readonly label?: string }>;
  readonly data: ReadonlyArray<ReadonlyArray<number | null>>;
  /** Set by a test to recognise the same instance after more polls. */
  mark?: string;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(__dirname, '..', '..', 'test-artifacts', 'dashboard');
const DASHBOARD = '/_local/dashboard';
/**
 * A click whose press and release are 1.5 s apart. The page redraws itself every second, and Chromium fires no click
 * when the pressed element leaves the page before the release: a redraw must keep what a reader may be pressing.
 */
const HELD_CLICK = { delay: 1_500 };

let runtime: RunningRuntime;
let browser: Browser;
let sqs: SQSClient;
let token: string;
let port: number;
const ids: { echo: string[]; limited: string; poison: string } = { echo: [], limited: '', poison: '' };
let submittedAt = 0;

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host). */
function raw(
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function api<T>(urlPath: string): Promise<T> {
  const response = await fetch(`${runtime.apiUrl}${DASHBOARD}/api${urlPath}`);
  if (!response.ok) throw new Error(`${urlPath}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

type SeriesFigures = Record<'depth' | 'in_flight' | 'produced' | 'consumed' | 'dlq_depth', number>;

interface Overview {
  generated_at: string;
  series: { interval_seconds: number; points: Array<{ t: string; tiers: Record<string, SeriesFigures> }> };
  tiers: Array<Record<string, number | string>>;
  agents: Array<{ type: string; running: number; succeeded_per_minute: number; failed_per_minute: number }>;
}

async function submit(type: string, priority: 'high' | 'low', payload: object): Promise<string> {
  const response = await fetch(`${runtime.apiUrl}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, priority, payload }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function taskStatus(id: string): Promise<{ status: string; [k: string]: unknown }> {
  return (await (await fetch(`${runtime.apiUrl}/tasks/${id}`)).json()) as { status: string };
}

async function queueCount(url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Waits for the page to draw an overview generated after `after`. */
async function drawnAfter(page: Page, after: string): Promise<void> {
  await page.waitForFunction(
    (iso: string) => {
      const at = document.getElementById('updated')?.dataset.generatedAt;
      return at !== undefined && at !== '' && at > iso;
    },
    { timeout: 20_000 },
    after,
  );
}

/** The `data-value` of every `[data-field]` cell of the row `selector`. */
function rowValues(page: Page, selector: string): Promise<Record<string, string>> {
  return page.$eval(selector, (row) =>
    Object.fromEntries(
      [...row.querySelectorAll('[data-field]')].map((cell) => [
        cell.getAttribute('data-field')!,
        cell.getAttribute('data-value') ?? '',
      ]),
    ),
  );
}

/** Clicks `selector` (held, see HELD_CLICK), answers the confirmation it opens, and returns the question asked. */
async function clickAndConfirm(page: Page, selector: string, answer: 'accept' | 'dismiss'): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const asked = new Promise<string>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`clicking ${selector} opened no confirmation in 30 s`)),
      30_000,
    );
    page.once('dialog', (dialog) => {
      resolve(dialog.message());
      void (answer === 'accept' ? dialog.accept() : dialog.dismiss());
    });
  });
  try {
    await page.click(selector, HELD_CLICK);
    return await asked;
  } finally {
    clearTimeout(timer);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  mkdirSync(SHOTS, { recursive: true });
  runtime = await bootRuntime({});
  port = runtime.ports.api;
  sqs = runtime.sqsClient();
  const printed = /Dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/_local\/dashboard\?token=([A-Za-z0-9_-]+))/.exec(
    runtime.output(),
  );
  if (!printed) throw new Error(`the banner printed no dashboard URL:\n${runtime.output()}`);
  token = printed[2]!;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });

  submittedAt = Date.now();
  for (let i = 0; i < 3; i++) ids.echo.push(await submit('echo', 'high', { message: `hello ${i}` }));
  ids.limited = await submit('limited', 'low', { n: 1 });
  ids.poison = await submit('poison', 'low', { doomed: true });
  for (const id of [...ids.echo, ids.limited, ids.poison])
    await eventually(async () => {
      const s = await taskStatus(id);
      return ['SUCCEEDED', 'FAILED'].includes(s.status) ? s : undefined;
    }, `task ${id} finishing`);
  await eventually(
    async () => ((await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)) === 1 ? true : undefined),
    'the poison task reaching the low DLQ',
  );
});

afterAll(async () => {
  await browser?.close();
  sqs?.destroy();
  await runtime?.stop();
});

describe('dashboard security (HTTP)', () => {
  it('refuses every request, reads included, whose Host is not a loopback name of the runtime (DNS rebinding)', async () => {
    for (const host of [`attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, `127.0.0.1:${port + 1}`]) {
      for (const urlPath of [
        DASHBOARD,
        `${DASHBOARD}/api/overview`,
        `${DASHBOARD}/api/tasks`,
        `${DASHBOARD}/x`,
      ]) {
        const response = await raw('GET', urlPath, { host });
        expect(response.status).toBe(403);
        expect(JSON.parse(response.body)).toEqual({
          error: { code: 'ForeignHost', message: expect.stringContaining(host) },
        });
      }
    }
    const page = await raw('GET', DASHBOARD, { host: `localhost:${port}` });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>taskq local dashboard</title>');
  });

  it('needs no secret to read, but refuses actions without the secret or with a wrong one', async () => {
    expect((await raw('GET', `${DASHBOARD}/api/overview`, {})).status).toBe(200);
    const missing = await raw(
      'POST',
      `${DASHBOARD}/api/dlq/low/purge`,
      { 'content-type': 'application/json' },
      '{}',
    );
    expect(missing.status).toBe(403);
    expect(JSON.parse(missing.body).error.code).toBe('MissingToken');
    const wrongCookie = await raw('POST', `${DASHBOARD}/api/dlq/low/purge`, {
      cookie: `taskq_dashboard_token=${token.slice(1)}x`,
    });
    expect(JSON.parse(wrongCookie.body).error.code).toBe('WrongToken');
    const wrongHeader = await raw('POST', `${DASHBOARD}/api/tasks/${ids.poison}/cancel`, {
      'x-taskq-dashboard-token': 'not-the-secret',
    });
    expect(wrongHeader.status).toBe(403);
    expect(JSON.parse(wrongHeader.body).error.code).toBe('WrongToken');
    expect(await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)).toBe(1);
  });

  it('refuses actions from a foreign Origin even with the secret, and a cross-site form POST', async () => {
    for (const origin of ['http://attacker.example', 'null', `http://127.0.0.1:${port + 1}`]) {
      const response = await raw('POST', `${DASHBOARD}/api/dlq/low/purge`, {
        origin,
        cookie: `taskq_dashboard_token=${token}`,
      });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body).error).toEqual({ code: 'ForeignOrigin', message: expect.any(String) });
    }
    // What a form on another site sends: a simple POST with its Origin, and no SameSite=Strict cookie.
    const form = await raw(
      'POST',
      `${DASHBOARD}/api/dlq/low/purge`,
      { origin: 'http://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
      'confirm=yes',
    );
    expect(form.status).toBe(403);
    expect(await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)).toBe(1);
  });

  it('trades the printed secret for an HttpOnly, SameSite=Strict cookie of the dashboard path', async () => {
    const response = await raw('GET', `${DASHBOARD}?token=${token}`, {});
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe(DASHBOARD);
    expect(response.headers['set-cookie']).toEqual([
      `taskq_dashboard_token=${token}; HttpOnly; SameSite=Strict; Path=/_local/dashboard`,
    ]);
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const wrong = await raw('GET', `${DASHBOARD}?token=nope`, {});
    expect(wrong.status).toBe(200);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('cancels through the task API: the action answers what DELETE /tasks/{id} answers', async () => {
    const [id] = ids.echo;
    const viaDashboard = await raw('POST', `${DASHBOARD}/api/tasks/${id}/cancel`, {
      'x-taskq-dashboard-token': token,
      origin: `http://127.0.0.1:${port}`,
    });
    const direct = await fetch(`${runtime.apiUrl}/tasks/${id}`, { method: 'DELETE' });
    expect(viaDashboard.status).toBe(direct.status);
    expect(JSON.parse(viaDashboard.body)).toEqual(await direct.json());
    expect((await taskStatus(id!)).status).toBe('SUCCEEDED');
  });
});

describe('dashboard in chromium', () => {
  let page: Page;
  /** What Chromium refused under the page's CSP (a script, a style…): nothing, or the page is not whole. */
  const cspViolations: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.setViewport({ width: 1280, height: 1200 });
    await page.goto(`${runtime.apiUrl}${DASHBOARD}?token=${token}`);
  });

  afterAll(async () => {
    await page?.close();
  });

  it('keeps the secret in a cookie scripts cannot read, and takes it out of the address bar', async () => {
    expect(page.url()).toBe(`${runtime.apiUrl}${DASHBOARD}`);
    const cookies = await browser.cookies();
    const cookie = cookies.find((c) => c.name === 'taskq_dashboard_token');
    expect(cookie).toMatchObject({ value: token, httpOnly: true, sameSite: 'Strict', path: DASHBOARD });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.waitForSelector('#session[data-actions="true"]');
  });

  it('shows the numbers of the data API and of the queues', async () => {
    const before = await api<Overview>('/overview');
    await drawnAfter(page, before.generated_at);
    const after = await api<Overview>('/overview');
    for (const tier of ['high', 'low']) {
      const shown = await rowValues(page, `#tiers tr[data-tier="${tier}"]`);
      const a = before.tiers.find((t) => t.tier === tier)!;
      const b = after.tiers.find((t) => t.tier === tier)!;
      for (const field of ['visible', 'in_flight', 'delayed', 'dlq_depth']) {
        expect(a[field]).toBe(b[field]); // quiet queues: the page was drawn from the same numbers
        expect(Number(shown[field])).toBe(b[field]);
      }
      // The rates move with the clock: the page's lies between the two reads around it.
      for (const field of ['produced_per_second', 'consumed_per_second']) {
        const low = Math.min(Number(a[field]), Number(b[field]));
        const high = Math.max(Number(a[field]), Number(b[field]));
        expect(Number(shown[field])).toBeGreaterThanOrEqual(low);
        expect(Number(shown[field])).toBeLessThanOrEqual(high);
      }
    }
    // And the queues themselves.
    const high = after.tiers.find((t) => t.tier === 'high')!;
    const low = after.tiers.find((t) => t.tier === 'low')!;
    expect(low.dlq_depth).toBe(await queueCount(runtime.outputs.LowDeadLetterQueueUrl!));
    expect(high.dlq_depth).toBe(await queueCount(runtime.outputs.HighDeadLetterQueueUrl!));
    expect(Number(high.visible) + Number(high.in_flight)).toBe(
      await queueCount(runtime.outputs.HighQueueUrl!),
    );
    expect(low.dlq_depth).toBe(1);
    // Every message sent within the last minute: three echo tasks on high; limited and poison on low.
    expect(Date.now() - submittedAt).toBeLessThan(55_000);
    expect(high.produced_last_minute).toBe(3);
    expect(high.consumed_last_minute).toBe(3);
    expect(low.produced_last_minute).toBe(2);
    // poison's message went to the DLQ and was deleted from low; limited's was deleted.
    expect(low.consumed_last_minute).toBe(2);

    const echo = await rowValues(page, '#agents tr[data-agent="echo"]');
    const echoApi = after.agents.find((a) => a.type === 'echo')!;
    expect(Number(echo.succeeded_per_minute)).toBe(echoApi.succeeded_per_minute);
    expect(echoApi.succeeded_per_minute).toBe(3);
    expect(Number(echo.p50)).toBeGreaterThan(0);
    const poison = await rowValues(page, '#agents tr[data-agent="poison"]');
    expect(Number(poison.failed_per_minute)).toBe(1);
    const limited = await rowValues(page, '#agents tr[data-agent="limited"]');
    expect(limited.limit).toBe('0');
    expect(
      await page.$eval('#agents tr[data-agent="limited"] [data-field="limit"]', (c) => c.textContent),
    ).toMatch(/0 \/ 2 at once, \d+ \/ 10 per 1 s/);
    await shot(page, '1-overview');
  });

  it('charts the series with uPlot, served by the runtime, and updates the charts in place', async () => {
    // The library is the uplot package's own browser build, served by the runtime under the page's CSP.
    for (const [asset, file, type] of [
      ['uplot.js', 'uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['uplot.css', 'uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
    ] as const) {
      const served = await raw('GET', `${DASHBOARD}/assets/${asset}`, {});
      expect(served.status).toBe(200);
      expect(served.headers['content-type']).toBe(type);
      expect(served.headers['content-security-policy']).toContain("script-src 'self';");
      expect(served.body).toBe(readFileSync(require.resolve(file), 'utf8'));
    }

    const read = () =>
      page.evaluate(() =>
        ['chart-depth', 'chart-rates'].map((id) => {
          const chart = document.getElementById(id)?.uplot;
          return {
            mark: chart?.mark,
            labels: chart?.series.slice(1).map((s) => s.label) ?? [],
            legend: [...document.querySelectorAll(`#${id} .u-legend .u-series .u-label`)].map(
              (l) => l.textContent,
            ),
            canvases: document.querySelectorAll(`#${id} canvas`).length,
            x: chart?.data[0] ?? [],
            latest: chart?.data.map((d) => d[d.length - 1] ?? null) ?? [],
          };
        }),
      );
    await page.waitForFunction(
      () => (document.getElementById('chart-depth')?.uplot?.data[0]?.length ?? 0) > 0,
      {
        timeout: 20_000,
      },
    );
    const before = await api<Overview>('/overview');
    await drawnAfter(page, before.generated_at);
    const [depth, rates] = await read();
    const after = await api<Overview>('/overview');

    const tiers = after.tiers.map((t) => String(t.tier));
    expect(tiers).toEqual(['high', 'low']);
    const depthLabels = tiers.flatMap((t) => [`${t} depth`, `${t} in flight`, `${t} DLQ`]);
    const rateLabels = tiers.flatMap((t) => [`${t} produced`, `${t} consumed`]);
    expect(depth!.labels).toEqual(depthLabels);
    expect(rates!.labels).toEqual(rateLabels);
    expect(depth!.legend).toEqual(['time', ...depthLabels]);
    expect(rates!.legend).toEqual(['time', ...rateLabels]);
    expect(depth!.canvases).toBe(1);

    // The charts' latest point is a point of the API's series, at least as new as the last one before the draw.
    const seconds = (iso: string) => Date.parse(iso) / 1000;
    const latestX = depth!.latest[0]!;
    expect(rates!.latest[0]).toBe(latestX);
    expect(latestX).toBeGreaterThanOrEqual(seconds(before.series.points.at(-1)!.t));
    const point = after.series.points.find((p) => seconds(p.t) === latestX);
    expect(point).toBeDefined();
    expect(depth!.latest.slice(1)).toEqual(
      tiers.flatMap((t) => [point!.tiers[t]!.depth, point!.tiers[t]!.in_flight, point!.tiers[t]!.dlq_depth]),
    );
    expect(rates!.latest.slice(1)).toEqual(
      tiers.flatMap((t) => [point!.tiers[t]!.produced, point!.tiers[t]!.consumed]),
    );
    expect(depth!.x).toEqual(
      after.series.points.filter((p) => seconds(p.t) <= latestX).map((p) => seconds(p.t)),
    );

    // A new sample (every 5 s) reaches the same chart instance: setData, not a new chart.
    await page.evaluate(() => {
      document.getElementById('chart-depth')!.uplot!.mark = 'first';
    });
    await page.waitForFunction(
      (x: number) => {
        const data = document.getElementById('chart-depth')?.uplot?.data[0];
        return data !== undefined && (data[data.length - 1] ?? 0) > x;
      },
      { timeout: 20_000 },
      latestX,
    );
    const [later] = await read();
    expect(later!.mark).toBe('first');
    expect(later!.canvases).toBe(1);
    // Sampled after the previous test saw poison's dead letter in the low DLQ: the chart shows it.
    expect(later!.latest[1 + depthLabels.indexOf('low DLQ')]).toBe(1);
    expect(cspViolations).toEqual([]);
  });

  it('lists recent tasks, filtered by status, type and tier', async () => {
    const shownIds = () =>
      page.$$eval('#tasks tbody tr', (rows) => rows.map((r) => r.getAttribute('data-task')));
    await page.waitForFunction(
      (n: number) => document.querySelectorAll('#tasks tbody tr').length === n,
      {},
      5,
    );
    expect((await shownIds()).sort()).toEqual([...ids.echo, ids.limited, ids.poison].sort());
    await page.select('#filters select[name="status"]', 'FAILED');
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 1);
    expect(await shownIds()).toEqual([ids.poison]);
    await page.select('#filters select[name="status"]', '');
    await page.select('#filters select[name="type"]', 'echo');
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 3);
    expect((await shownIds()).sort()).toEqual([...ids.echo].sort());
    await page.select('#filters select[name="type"]', '');
    await page.select('#filters select[name="tier"]', 'low');
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length === 2);
    expect((await shownIds()).sort()).toEqual([ids.limited, ids.poison].sort());
    const api = await (await fetch(`${runtime.apiUrl}${DASHBOARD}/api/tasks?tier=low`)).json();
    expect((api as { matching: number }).matching).toBe(2);
    await shot(page, '2-tasks-filtered');
    await page.select('#filters select[name="tier"]', '');
  });

  it("shows a task's record, its error, and its payload while the DLQ holds its message", async () => {
    const taskPage = await browser.newPage();
    // Closed whatever happens: a page left open keeps the next one in the background, where nothing is drawn.
    try {
      await taskPage.setViewport({ width: 1280, height: 1000 });
      await taskPage.goto(`${runtime.apiUrl}${DASHBOARD}/tasks/${ids.poison}`);
      await taskPage.waitForSelector('#task-body[data-loaded="true"]');
      const view = await taskStatus(ids.poison);
      const text = (field: string) =>
        taskPage.$eval(`#task-fields [data-field="${field}"]`, (dd) => dd.textContent ?? '');
      expect(await text('status')).toBe(view.status);
      expect(view.status).toBe('FAILED');
      expect(await text('type')).toBe('poison');
      expect(await text('tier')).toBe('low');
      expect(await text('attempts')).toBe(String(view.attempts));
      const error = view.error as { code: string; message: string };
      expect(await text('error')).toBe(`${error.code}: ${error.message}`);
      const payload = await taskPage.$eval('.message .payload', (pre) => JSON.parse(pre.textContent ?? ''));
      expect(payload).toEqual({ doomed: true });
      expect(await taskPage.$eval('.message p', (p) => p.textContent)).toMatch(
        /^low dead-letter queue, visible/,
      );
      const record = await taskPage.$eval('#record pre', (pre) => JSON.parse(pre.textContent ?? ''));
      expect(record).toMatchObject({
        task_id: ids.poison,
        status: 'FAILED',
        type: 'poison',
        priority: 'low',
      });
      expect(record.token_hash).toBeUndefined();
      await shot(taskPage, '3-task-dead-lettered');

      // A finished echo task: the result folded, and no payload any more (no queue holds its message).
      await taskPage.goto(`${runtime.apiUrl}${DASHBOARD}/tasks/${ids.echo[1]}`);
      await taskPage.waitForSelector('#task-body[data-loaded="true"]');
      const echoView = await taskStatus(ids.echo[1]!);
      expect(await text('status')).toBe('SUCCEEDED');
      expect(await taskPage.$eval('#result', (d) => (d as unknown as { open: boolean }).open)).toBe(false);
      const result = await taskPage.$eval('#result pre', (pre) => JSON.parse(pre.textContent ?? ''));
      expect(result).toEqual(echoView.result);
      expect(await taskPage.$('.message')).toBeNull();
      expect(await taskPage.$eval('#payload-note', (p) => p.textContent)).toMatch(/No queue holds a message/);
      // The page is redrawn every second: a click held longer than that still unfolds the result, and it stays
      // unfolded through the next redraws.
      await taskPage.click('#result summary', HELD_CLICK);
      const unfoldedAt = await taskPage.$eval('#updated', (u) => u.textContent ?? '');
      await taskPage.waitForFunction(
        (before: string) => document.getElementById('updated')?.textContent !== before,
        { timeout: 20_000 },
        unfoldedAt,
      );
      expect(await taskPage.$eval('#result', (d) => (d as unknown as { open: boolean }).open)).toBe(true);
      await shot(taskPage, '4-task-succeeded');
    } finally {
      await taskPage.close();
    }
  });

  it('cancels a running async task from its page while heartbeats redraw it', async () => {
    const id = await submit('async-echo', 'high', { ms: 120_000, heartbeat_ms: 200 });
    const taskPage = await browser.newPage();
    try {
      await taskPage.setViewport({ width: 1280, height: 1000 });
      await taskPage.goto(`${runtime.apiUrl}${DASHBOARD}/tasks/${id}`);
      // Running, with progress: every redraw now has something new to show.
      await taskPage.waitForSelector('#progress progress', { timeout: 30_000 });
      await taskPage.waitForSelector('#cancel:not([disabled])');
      expect(await clickAndConfirm(taskPage, '#cancel', 'accept')).toBe(
        `Cancel task ${id}? (the same as DELETE /tasks/${id}, or taskq cancel ${id})`,
      );
      await taskPage.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '') !== '');
      expect(await taskPage.$eval('#notice', (n) => n.textContent)).toBe(`task ${id}: cancelled`);
      // A running async task is told at its next heartbeat, and ends CANCELLED when it stops.
      await eventually(
        async () => ((await taskStatus(id)).status === 'CANCELLED' ? true : undefined),
        'the async task ending CANCELLED',
      );
      await taskPage.waitForFunction(
        () =>
          [...document.querySelectorAll('#task-fields [data-field="status"]')].some(
            (dd) => dd.textContent === 'CANCELLED',
          ),
        { timeout: 20_000 },
      );
      expect(await taskPage.$('#cancel')).toBeNull();
    } finally {
      await taskPage.close();
    }
  });

  it('a cross-site page cannot purge, even in the browser that holds the secret', async () => {
    // 127.0.0.1 and localhost are different sites: a SameSite=Strict cookie does not go from one to the other.
    const evilPort = await freePort();
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="POST" action="http://127.0.0.1:${port}${DASHBOARD}/api/dlq/low/purge">` +
          '<input name="x" value="1"></form><script>document.getElementById("f").submit()</script>',
      );
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    const attacker = await browser.newPage();
    try {
      const answered = attacker.waitForResponse((r) => r.url().endsWith('/purge'), { timeout: 30_000 });
      await attacker.goto(`http://localhost:${evilPort}/`, { waitUntil: 'domcontentloaded' });
      const answer = await answered;
      expect(answer.status()).toBe(403);
      expect(await answer.text()).toMatch(/"code":"ForeignOrigin"/);
    } finally {
      await attacker.close();
      evil.closeAllConnections(); // chromium keeps its connection alive: close would wait for it
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
    expect(await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)).toBe(1);
  });

  it('redrives the DLQ from the page once the confirmation is accepted, and not when it is dismissed', async () => {
    await page.goto(`${runtime.apiUrl}${DASHBOARD}`);
    await page.waitForSelector('[data-dlq="low"] button.purge:not([disabled])');
    // Dismissed: nothing happens.
    expect(await clickAndConfirm(page, '[data-dlq="low"] button.purge', 'dismiss')).toMatch(
      /Purge the low dead-letter queue/,
    );
    expect(await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)).toBe(1);

    // Accepted: the same redrive as `taskq dlq redrive --tier low`.
    expect(await clickAndConfirm(page, '[data-dlq="low"] button.redrive', 'accept')).toMatch(
      /Redrive every dead letter of the low tier/,
    );
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '') !== '', {
      timeout: 60_000,
    });
    expect(await page.$eval('#notice', (n) => n.textContent)).toMatch(
      /^low: 1 task\(s\) requeued, 1 message\(s\) moved back/,
    );
    // poison fails again, for good: back in the DLQ, with one redrive on its record.
    const detail = await eventually(async () => {
      const doc = await api<{ record: { redrive_count?: number; status: string } }>(`/tasks/${ids.poison}`);
      return doc.record.redrive_count === 1 && doc.record.status === 'FAILED' ? doc : undefined;
    }, 'the redriven poison task failing again');
    expect(detail.record.redrive_count).toBe(1);
    await eventually(
      async () => ((await queueCount(runtime.outputs.LowDeadLetterQueueUrl!)) === 1 ? true : undefined),
      'the poison message back in the DLQ',
    );
    await shot(page, '5-after-redrive');
  });
});
