// The support lead's console (/admin/) against the real admin API: the key, escalations,
// knowledge gaps, website syncs and the eval report section.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, ADMIN_KEY, launch, newPage, screenshot } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function post(path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.ok(response.ok, `${path}: ${response.status}`);
  return response.json();
}

async function signIn(page, key) {
  await page.goto(`${BASE}/admin/`);
  await page.getByLabel('Admin key').fill(key);
  await page.getByRole('button', { name: 'Open the console' }).click();
}

test('a wrong key is refused with a clear message and asked for again', async () => {
  const page = await newPage(browser);
  await signIn(page, 'not-the-key');
  const refused = page.getByText('The admin key was not accepted. Enter it again.');
  const problem = page.locator('main .problem').first();
  await refused.or(problem).waitFor();
  assert.equal(await problem.count(), 0, await problem.allInnerTexts().then(String));
  assert.equal(await page.locator('#console').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('askdesk-admin-key')), null);
  await screenshot(page, 'console-wrong-key');
});

test('escalations, gaps and the eval report show what happened, as text', async () => {
  const question = `Do you ship <b>framed</b> prints to Antarctica? ${Date.now()}`;
  const chat = await post('/api/v1/chat', { tenant: 'fictart', message: question });
  assert.equal(chat.outcome, 'escalate', 'an off-topic question is a knowledge gap');
  const { ticket_id } = await post('/api/v1/escalations', {
    tenant: 'fictart', contact_email: 'lead-test@example.com',
    conversation_id: chat.conversation_id, conversation_token: chat.conversation_token, fields: {},
  });

  const page = await newPage(browser);
  await signIn(page, ADMIN_KEY);
  const row = page.locator('#tickets tr', { hasText: ticket_id });
  const problem = page.locator('#tickets .problem');
  await row.or(problem).waitFor();
  assert.equal(await problem.count(), 0, await problem.allInnerTexts().then(String));
  assert.match(await row.innerText(), /lead-test@example\.com/);
  assert.match(await row.innerText(), /<b>framed<\/b>/, 'markup is shown as text');
  // the chat's own hand-over names the check that decided it
  const handedOver = page.locator('#tickets tr', { hasText: 'decided by' }).filter({ hasText: question });
  await handedOver.first().waitFor();
  assert.match(await handedOver.first().innerText(), /decided by [a-z]/);

  const gap = page.locator('#gaps details', { hasText: 'Antarctica' }).first();
  await gap.waitFor();
  await gap.locator('summary').click();
  await gap.getByText(question, { exact: false }).first().waitFor();

  await page.locator('#eval').getByText(/No report yet|passed/).waitFor();
  // the demo brands sync no website: the section says so instead of failing
  await page.locator('#syncs').getByText(/No website sync yet|pages:/).waitFor();
  assert.equal(await page.locator('#syncs .problem').count(), 0);
  assert.equal(await page.locator('#console b').count(), 0);
  // the key survives a reload of the tab
  await page.reload();
  await row.waitFor();
  await screenshot(page, 'console');
});
