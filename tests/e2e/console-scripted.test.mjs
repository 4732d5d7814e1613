// The console against exactly scripted admin API responses (page.route), shaped as the admin
// API's contract: every section's rendering, the retry button, the key as Bearer, 401 and 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, screenshot } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const HOSTILE = '<img src=x onerror=alert(1)>';
const T0 = Date.UTC(2026, 10, 22, 9, 30);

const TICKETS = [
  { id: 'T-FAILED1', tenant: 'fictart', brand: 'FictArt', status: 'failed', attempts: 20, last_error: '550 mailbox unavailable', reason: 'incident', confidence: 0.21, decision: { check: { intent: { intent: 'incident', source: 'classifier' } }, intents: { incident: 0.97 }, confidence: 0.21, signals: {} }, question: `Refund ${HOSTILE}?`, contact_email: 'a@example.com', created_at: T0, sent_at: null },
  { id: 'T-SENT1', tenant: 'stable-diffusion-web', brand: 'Stable Diffusion Web', status: 'sent', attempts: 1, last_error: null, reason: 'requested_human', confidence: 0, question: 'A person please', contact_email: 'b@example.com', created_at: T0, sent_at: T0 + 5000 },
];
const FEEDBACK = [
  { message_id: 'm1', tenant: 'fictart', conversation_id: 'c1', rating: 'down', comment: `Wrong plan ${HOSTILE}`, question: 'Can I pause my plan?', answer: 'You can upgrade, downgrade, or cancel your plan anytime.', citations: [{ id: 'fictart/faq#plans', title: 'FAQ › Plans', url: null, snippet: '' }], outcome: 'answer', created_at: T0 },
];
const GAPS = [
  { tenant: 'fictart', count: 2, representative: 'Do you sell gift cards?', questions: [
    { question: 'Do you sell gift cards?', confidence: 0.12, created_at: T0 },
    { question: `gift card ${HOSTILE}`, confidence: 0.1, created_at: T0 },
  ] },
];
const REPORT = {
  summary: { cases: 130, passed: 110, pass_rate: 0.846, outcome_accuracy: 0.915, escalation_precision: 0.871, escalation_recall: 0.794, fact_recall: 0.894, context_recall_at_3: 0.938, forbid_violations: 0, p50_ms: 5.0, p95_ms: 9.5 },
  cases: [{ id: 'casual-contact', tenant: 'fictart', question: 'hey how can I reach you guys', passed: false, failures: ['expected outcome answer, got escalate'] }],
};

/** Scripts the admin API; records each request's path, query and Authorization header. */
async function scriptedConsole({ key = 'the-key', status = 200, evalReport = REPORT } = {}) {
  const page = await newPage(browser);
  const requests = [];
  await page.route('**/api/admin/**', (route) => {
    const request = route.request();
    const url = new URL(request.url());
    requests.push({ method: request.method(), path: url.pathname, query: Object.fromEntries(url.searchParams), auth: request.headers().authorization });
    const json = (code, body) => route.fulfill({ status: code, contentType: 'application/json', body: JSON.stringify(body) });
    if (status === 401) return json(401, { error: { code: 'unauthorized', message: 'a valid API key is required' } });
    if (url.pathname === '/api/admin/tickets') return json(200, { tickets: url.searchParams.get('status') === 'sent' ? [TICKETS[1]] : TICKETS });
    if (url.pathname === '/api/admin/tickets/T-FAILED1/retry') return json(202, { id: 'T-FAILED1', status: 'pending' });
    if (url.pathname === '/api/admin/feedback') return json(200, { feedback: FEEDBACK });
    if (url.pathname === '/api/admin/gaps') return json(200, { groups: GAPS });
    if (url.pathname === '/api/admin/eval-report') {
      return evalReport ? json(200, evalReport) : json(404, { error: { code: 'not_found', message: 'no eval report yet' } });
    }
    return json(404, { error: { code: 'not_found', message: 'unknown' } });
  });
  await page.goto(`${BASE}/admin/`);
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Open the console' }).click();
  return { page, requests };
}

test('every section renders the admin API data as text, with the key as Bearer', async () => {
  const { page, requests } = await scriptedConsole();
  await page.locator('#tickets tr', { hasText: 'T-FAILED1' }).waitFor();
  await page.locator('#feedback article').waitFor();
  await page.locator('#eval dl').waitFor();
  await page.locator('#gaps details').waitFor();
  assert.ok(requests.every((r) => r.auth === 'Bearer the-key'));
  const feedbackQuery = requests.find((r) => r.path === '/api/admin/feedback').query;
  assert.equal(feedbackQuery.rating, 'down');
  assert.ok(Number(requests.find((r) => r.path === '/api/admin/gaps').query.since) > 0);

  assert.match(await page.locator('#tickets tr', { hasText: 'T-FAILED1' }).innerText(), /550 mailbox unavailable/);
  assert.match(await page.locator('#tickets tr', { hasText: 'T-FAILED1' }).innerText(), /decided by intent: incident \(classifier\)/);
  assert.doesNotMatch(await page.locator('#tickets tr', { hasText: 'T-SENT1' }).innerText(), /decided by/, 'the handoff form decides nothing');
  const feedback = await page.locator('#feedback article').innerText();
  assert.match(feedback, /Can I pause my plan\?/);
  assert.ok(feedback.includes(`Wrong plan ${HOSTILE}`));
  assert.match(feedback, /FAQ › Plans/);
  assert.match(await page.locator('#gaps summary').innerText(), /2 × “Do you sell gift cards\?”/);
  await page.locator('#gaps summary').click();
  await page.locator('#gaps li', { hasText: HOSTILE }).waitFor();
  const evalText = await page.locator('#eval').innerText();
  assert.match(evalText, /110 of 130 passed \(84\.6 %\)/);
  assert.match(evalText, /87\.1 % \/ 79\.4 %/);
  assert.equal(await page.locator('main img').count(), 0);
  assert.deepEqual(page.dialogs, []);
  await screenshot(page, 'console-scripted');
});

test('only failed tickets have Retry, which posts and reloads; the status filter is sent', async () => {
  const { page, requests } = await scriptedConsole();
  const failed = page.locator('#tickets tr', { hasText: 'T-FAILED1' });
  await failed.waitFor();
  assert.equal(await page.locator('#tickets tr', { hasText: 'T-SENT1' }).getByRole('button').count(), 0);
  const retry = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/admin/tickets/T-FAILED1/retry'));
  const reload = retry.then(() => page.waitForRequest((r) => r.method() === 'GET' && r.url().includes('/api/admin/tickets?')));
  await failed.getByRole('button', { name: 'Retry ticket T-FAILED1' }).click();
  await retry;
  await reload;
  await page.getByLabel('Status').selectOption('sent');
  await page.locator('#tickets tr', { hasText: 'T-FAILED1' }).waitFor({ state: 'detached' });
  assert.equal(requests.at(-1).query.status, 'sent');
});

test('401 asks for the key again; 404 on the eval report says there is none yet', async () => {
  const refused = await scriptedConsole({ status: 401 });
  await refused.page.getByText('The admin key was not accepted. Enter it again.').waitFor();
  assert.equal(await refused.page.evaluate(() => sessionStorage.getItem('askdesk-admin-key')), null);

  const noReport = await scriptedConsole({ evalReport: null });
  await noReport.page.locator('#eval').getByText('No report yet.', { exact: false }).waitFor();
});
