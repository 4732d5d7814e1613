// The widget against exactly scripted chat responses (page.route, or a fetch whose stream the test
// holds open): drawing while streaming, a service that is down, rate limiting, a stream cut before
// `done`, hostile citation URLs, an escalating answer. The real service serves the page and the
// tenant config.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, screenshot, widget } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const sse = (events) => events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join('');
const META = { conversation_id: 'c-fake', conversation_token: 'tok', message_id: 'm-fake', citations: [] };

/** Opens the demo page with `handler` answering POST /api/v1/chat, and sends one question. */
async function askWith(handler) {
  const page = await newPage(browser);
  let calls = 0;
  await page.route('**/api/v1/chat', (route) => handler(route, ++calls));
  await page.goto(`${BASE}/demo/fictart/`);
  const w = widget(page);
  await w.launcher.click();
  await w.input.fill('What is your refund policy?');
  await w.input.press('Enter');
  return { page, w, calls: () => calls };
}

async function assertUsable(w) {
  assert.equal(await w.panel.getByRole('button', { name: 'Send' }).isEnabled(), true, 'Send is enabled again');
  assert.equal(await w.input.isEditable(), true);
}

test('an answer is drawn while it streams, before done arrives', async () => {
  const page = await newPage(browser);
  // the chat response's body is a stream the test releases in two steps; one event is split
  // across two chunks, as the network may split it
  await page.addInitScript(() => {
    const realFetch = window.fetch;
    const encode = (name, data) => new TextEncoder().encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    let release;
    window.releaseStream = () => release();
    window.fetch = (url, options) => {
      if (!String(url).endsWith('/api/v1/chat')) return realFetch(url, options);
      const body = new ReadableStream({
        async start(controller) {
          controller.enqueue(encode('meta', { conversation_id: 'c', conversation_token: 't', message_id: 'm', citations: [] }));
          const first = encode('delta', { text: 'Refunds are possible ' });
          controller.enqueue(first.slice(0, 9));
          controller.enqueue(first.slice(9));
          await new Promise((resolve) => { release = resolve; });
          controller.enqueue(encode('delta', { text: 'within 7 days.' }));
          controller.enqueue(encode('done', { outcome: 'answer' }));
          controller.close();
        },
      });
      return Promise.resolve(new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }));
    };
  });
  await page.goto(`${BASE}/demo/fictart/`);
  const w = widget(page);
  await w.launcher.click();
  await w.input.fill('Can I get a refund?');
  await w.input.press('Enter');
  const answer = w.answers.nth(1);
  await answer.getByText('Refunds are possible').waitFor();
  assert.equal(await answer.locator('.rate').count(), 0, 'not finished yet');
  assert.equal(await w.panel.getByRole('button', { name: 'Send' }).isDisabled(), true, 'one question at a time');
  await page.evaluate(() => window.releaseStream());
  await answer.locator('.rate').waitFor();
  assert.equal(await answer.locator('p').innerText(), 'Refunds are possible within 7 days.');
  await assertUsable(w);
});

test('a service that cannot be reached says so and offers Retry, which works', async () => {
  const { page, w, calls } = await askWith((route, n) =>
    n === 1
      ? route.abort('connectionrefused')
      : route.fulfill({ status: 200, contentType: 'text/event-stream', body: sse([['meta', META], ['delta', { text: 'Back again.' }], ['done', { outcome: 'answer' }]]) }));
  await w.log.getByText('We could not reach the support service').waitFor();
  await assertUsable(w);
  await screenshot(page, 'error-unreachable');
  await w.log.getByRole('button', { name: 'Retry' }).click();
  await w.log.getByText('Back again.').waitFor();
  assert.equal(calls(), 2);
  assert.equal(await w.log.getByText('We could not reach').count(), 0, 'the error goes on retry');
});

test('429 says when to try again (from Retry-After)', async () => {
  const { w } = await askWith((route) => route.fulfill({
    status: 429,
    headers: { 'Retry-After': '30', 'Content-Type': 'application/json' },
    body: JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests.' } }),
  }));
  await w.log.getByText('Please try again in 30 seconds.').waitFor();
  await w.log.getByRole('button', { name: 'Retry' }).waitFor();
  await assertUsable(w);
});

test('a stream cut before done is reported, not left hanging', async () => {
  const { page, w } = await askWith((route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sse([['meta', META], ['delta', { text: 'Refunds are possible within' }]]),
  }));
  await w.log.getByText('The answer was interrupted before it finished').waitFor();
  await w.log.getByRole('button', { name: 'Retry' }).waitFor();
  await assertUsable(w);
  await screenshot(page, 'error-interrupted');
});

test('an error event from the server is shown with its message', async () => {
  const { w } = await askWith((route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sse([['meta', META], ['error', { error: { code: 'internal_error', message: 'something went wrong on our side; please try again' } }]]),
  }));
  await w.log.getByText('something went wrong on our side').waitFor();
  await assertUsable(w);
});

test('sources and bare links become links only for http(s) URLs', async () => {
  const citations = [
    { id: 'a', title: 'Refund policy', url: 'https://help.example/refunds', snippet: '' },
    { id: 'b', title: 'Sneaky source', url: 'javascript:alert(1)', snippet: '' },
    { id: 'c', title: 'No address', url: null, snippet: '' },
  ];
  const text = 'See https://help.example/faq. Not javascript:alert(2)\n\n- first\n- second <script>alert(3)</script>';
  const { page, w } = await askWith((route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sse([['meta', { ...META, citations }], ['delta', { text }], ['done', { outcome: 'answer' }]]),
  }));
  const answer = w.answers.nth(1);
  await answer.locator('.rate').waitFor();
  const links = await answer.locator('a').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href'), a.rel]));
  assert.deepEqual(links, [
    ['https://help.example/faq', 'https://help.example/faq', 'noopener noreferrer'],
    ['Refund policy', 'https://help.example/refunds', 'noopener noreferrer'],
  ]);
  await answer.getByText('Sneaky source').waitFor();
  assert.deepEqual(await answer.locator('li').allInnerTexts(), ['first', 'second <script>alert(3)</script>', 'Refund policy', 'Sneaky source', 'No address']);
  assert.equal(await page.locator('#askdesk-widget script').count(), 0);
  assert.deepEqual(page.dialogs, []);
});

test('an LLM-mode stream: citations from done, and replace swaps the streamed text', async () => {
  const citations = [{ id: 'fictart/faq#can-i-get-a-refund', title: 'FAQ › Can I get a refund?', url: null, snippet: '' }];
  const { w } = await askWith((route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sse([
      ['meta', META],
      ['delta', { text: 'Refunds within 7 days [1] and [9]' }],
      ['replace', { text: 'Refunds within 7 days [1].' }],
      ['done', { outcome: 'answer', citations }],
    ]),
  }));
  const answer = w.answers.nth(1);
  await answer.locator('.rate').waitFor();
  assert.equal(await answer.locator('p').innerText(), 'Refunds within 7 days [1].');
  assert.deepEqual(await answer.locator('.sources li').allInnerTexts(), ['FAQ › Can I get a refund?']);
});

test('an escalating answer offers the handoff form inline', async () => {
  const { w } = await askWith((route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sse([['meta', META], ['delta', { text: 'I am not sure; the team can help.' }], ['done', { outcome: 'escalate', reason: 'low_confidence' }]]),
  }));
  const answer = w.answers.nth(1);
  await answer.getByRole('button', { name: 'Talk to a person' }).click();
  const form = w.panel.getByRole('form', { name: 'Talk to a person' });
  await form.getByLabel('Your email (required)').waitFor();
  // labels come from the tenant's handoff fields
  await form.getByLabel(/Steps to reproduce the issue \(optional\)/).waitFor();
  await form.getByLabel(/Your subscription plan \(optional\)/).waitFor();
});
