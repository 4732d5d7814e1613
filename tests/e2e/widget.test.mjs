// The chat widget on the demo help center, against the real service (real model, real SQLite,
// real SMTP server): streaming, sources, feedback, handoff with a screenshot, safe rendering,
// resuming after a reload, keyboard-only use and the phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, newPage, screenshot, widget, ask, tinyPng, mails, eventually } from './helpers.mjs';

const DEMO = `${BASE}/demo/fictart/`;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a question on the demo page streams an answer with its sources and thumbs', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const w = widget(page);
  await w.launcher.click();
  await w.panel.getByText('Welcome to FictArt Support').waitFor();
  const chat = page.waitForResponse((r) => r.url().endsWith('/api/v1/chat'));
  const answer = await ask(page, 'What is your refund policy?');
  const response = await chat;
  assert.equal(response.request().headers().accept, 'text/event-stream', 'the widget asks for a stream');
  assert.match(response.headers()['content-type'], /^text\/event-stream/);
  assert.match(await answer.locator('p, li').allInnerTexts().then((t) => t.join('\n')), /7 days/);
  // the tenant's config: name and colour
  await w.panel.getByRole('heading', { name: 'FictArt' }).waitFor();
  const accent = await w.launcher.evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(accent, 'rgb(228, 87, 46)');
  const sources = answer.locator('.sources li');
  assert.ok((await sources.count()) >= 1);
  assert.match(await sources.first().innerText(), /refund/i);
  // the demo knowledge's sources point at the demo help center: a real link, resolved against
  // the service's origin
  const href = await sources.first().locator('a').getAttribute('href');
  assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\/demo\/fictart\//);
  await answer.getByRole('button', { name: 'Helpful', exact: true }).waitFor();
  await answer.getByRole('button', { name: 'Not helpful' }).waitFor();
  // the host page's `button { color: red }` does not reach into the widget
  const color = await w.launcher.evaluate((b) => getComputedStyle(b).color);
  assert.notEqual(color, 'rgb(255, 0, 0)');
  assert.deepEqual(page.errors, []);
  await screenshot(page, 'answer-with-sources');
});

test('a thumbs down with a comment reaches the console', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const answer = await ask(page, 'Which file formats can I upload?');
  const comment = `I wanted the size limit, not the formats (${Date.now()})`;
  await answer.getByRole('button', { name: 'Not helpful' }).click();
  await answer.getByRole('textbox', { name: /What was wrong/ }).fill(comment);
  await answer.getByRole('button', { name: 'Send feedback' }).click();
  await answer.getByText('Thanks for your feedback.').waitFor();

  const console_ = await newPage(browser);
  await console_.goto(`${BASE}/admin/`);
  await console_.getByLabel('Admin key').fill(process.env.ASKDESK_E2E_ADMIN_KEY);
  await console_.getByRole('button', { name: 'Open the console' }).click();
  const entry = console_.locator('#feedback article', { hasText: comment });
  const problem = console_.locator('#feedback .problem');
  await entry.or(problem).waitFor();
  await screenshot(console_, 'console-feedback');
  assert.deepEqual(await problem.allInnerTexts(), [], 'the console loaded the feedback');
  assert.match(await entry.innerText(), /Which file formats can I upload\?/);
  assert.match(await entry.innerText(), /WebP/);
});

test('talking to a person sends the fields and a screenshot to the support team', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  await ask(page, 'My images are not generating at all');
  const w = widget(page);
  await w.panel.getByRole('button', { name: 'Talk to a person' }).last().click();
  const form = w.panel.getByRole('form', { name: 'Talk to a person' });
  const email = `customer-${Date.now()}@example.com`;
  await form.getByLabel('Your email (required)').fill(email);
  await form.getByLabel(/Steps to reproduce the issue/).fill('Open the editor, type a prompt, press Generate');
  await form.getByLabel(/Your subscription plan/).fill('Pro monthly');
  const png = tinyPng();
  const shot = (name) => ({ name, mimeType: 'image/png', buffer: png });
  await form.getByLabel(/Screenshots/).setInputFiles([shot('error-1.png')]);
  await form.getByText('error-1.png').waitFor();
  // a 4th screenshot is refused with a message
  await form.getByLabel(/Screenshots/).setInputFiles([shot('b.png'), shot('c.png'), shot('d.png')]);
  await form.getByText(/up to 3 screenshots; d\.png was not added/).waitFor();
  assert.equal(await form.locator('.files li').count(), 3);
  await form.getByRole('button', { name: 'Remove b.png' }).click();
  await form.getByRole('button', { name: 'Remove c.png' }).click();
  await screenshot(page, 'handoff-form');
  await form.getByRole('button', { name: 'Send to the team' }).click();
  const confirmation = w.panel.getByText(/^Ticket: T-/);
  const problem = form.getByRole('alert');
  await confirmation.or(problem).waitFor();
  await screenshot(page, 'handoff-sent');
  assert.deepEqual(await problem.allInnerTexts(), [], 'the handoff was accepted');
  await w.panel.getByText('Typically within 24–48 hours', { exact: true }).waitFor();
  const ticket = (await confirmation.innerText()).replace('Ticket: ', '').trim();

  const mail = await eventually(() => mails().find((m) => m.includes(ticket)), `the email of ${ticket}`);
  assert.match(mail, /Reply-To: .*customer-\d+@example\.com/i);
  assert.match(mail, /Steps to reproduce the issue/);
  assert.match(mail, /Open the editor, type a prompt, press Generate/);
  assert.match(mail, /Your subscription plan/);
  assert.match(mail, /Content-Disposition: attachment;\s*filename="?error-1\.png"?/i);
  assert.doesNotMatch(mail, /filename="?[bcd]\.png/);
});

test('when the bot hands over, the inline form sends the labelled fields (JSON, no screenshot)', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const answer = await ask(page, 'I want to talk to a human please');
  const w = widget(page);
  await answer.getByRole('button', { name: 'Talk to a person' }).click();
  const form = w.panel.getByRole('form', { name: 'Talk to a person' });
  await form.getByLabel('Your email (required)').fill('inline@example.com');
  await form.getByLabel(/Your subscription plan/).fill('Basic yearly');
  await form.getByRole('button', { name: 'Send to the team' }).click();
  const confirmation = w.panel.getByText(/^Ticket: T-/);
  await confirmation.or(form.getByRole('alert')).waitFor();
  assert.equal(await confirmation.count(), 1, await form.getByRole('alert').allInnerTexts().then(String));
  const ticket = (await confirmation.innerText()).replace('Ticket: ', '').trim();
  assert.equal(await answer.getByRole('button', { name: 'Talk to a person' }).count(), 0, 'the offer goes once sent');
  await screenshot(page, 'handoff-inline-sent');
  const mail = await eventually(() => mails().find((m) => m.includes(ticket)), `the email of ${ticket}`);
  assert.match(mail, /Your subscription plan/);
  assert.match(mail, /Basic yearly/);
  assert.match(mail, /I want to talk to a human please/);
  // the ticket survives a reload, and the offer does not come back
  await page.reload();
  await w.launcher.click();
  await w.log.getByText(`Ticket: ${ticket}`).waitFor();
  assert.equal(await w.log.getByRole('button', { name: 'Talk to a person' }).count(), 0);
});

test('required handoff fields and a valid email are enforced before sending', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const w = widget(page);
  await w.launcher.click();
  await w.panel.getByRole('button', { name: 'Talk to a person' }).click();
  const form = w.panel.getByRole('form', { name: 'Talk to a person' });
  await form.getByLabel('Your email (required)').fill('not an email');
  await form.getByRole('button', { name: 'Send to the team' }).click();
  await form.getByText('Please enter a valid email address.').waitFor();
  assert.equal(await form.getByLabel('Your email (required)').getAttribute('aria-invalid'), 'true');
  assert.equal(await w.panel.getByText(/^Ticket:/).count(), 0);
});

test('customer text is shown as text: no element, no script runs', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const question = 'Hi <img src=x onerror=alert(1)> <b>bold</b>';
  await ask(page, question);
  const w = widget(page);
  await w.log.getByText(question, { exact: true }).waitFor();
  assert.equal(await page.locator('#askdesk-widget img, #askdesk-widget b').count(), 0);
  assert.equal(await page.locator('img').count(), 0);
  assert.deepEqual(page.dialogs, []);
  await screenshot(page, 'markup-as-text');
});

test('a reload resumes the conversation, and New conversation starts over', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  await ask(page, 'What is your refund policy?');
  const w = widget(page);
  await page.reload();
  await w.launcher.click();
  await w.log.getByText('What is your refund policy?').waitFor();
  assert.match(await w.log.innerText(), /7 days/);
  // the follow-up goes to the same conversation (its token is accepted)
  const followUp = await ask(page, 'and after 7 days?');
  assert.match(await followUp.innerText(), /not available/);
  await screenshot(page, 'resumed');
  await w.panel.getByRole('button', { name: 'New conversation' }).click();
  assert.doesNotMatch(await w.log.innerText(), /refund policy/);
  await page.reload();
  await w.launcher.click();
  assert.doesNotMatch(await w.log.innerText(), /refund policy/);
});

test('keyboard only: Tab to the launcher, Enter, type, Enter, Escape', async () => {
  const page = await newPage(browser);
  await page.goto(DEMO);
  const w = widget(page);
  await w.launcher.waitFor();
  const isLauncherFocused = () => w.launcher.evaluate((b) => b.getRootNode().activeElement === b);
  for (let i = 0; i < 10 && !(await isLauncherFocused()); i++) await page.keyboard.press('Tab');
  assert.ok(await isLauncherFocused(), 'Tab reaches the launcher');
  await page.keyboard.press('Enter');
  await w.panel.waitFor();
  assert.ok(await w.input.evaluate((i) => i.getRootNode().activeElement === i), 'focus moves into the panel');
  await page.keyboard.type('Which file formats are supported?');
  await page.keyboard.press('Enter');
  await w.answers.nth(1).locator('.rate').waitFor();
  assert.match(await w.answers.nth(1).innerText(), /WebP/);
  await screenshot(page, 'keyboard');
  await page.keyboard.press('Escape');
  await w.panel.waitFor({ state: 'hidden' });
  assert.ok(await isLauncherFocused(), 'focus returns to the launcher');
});

test('on a 360 px phone the panel fills the screen without horizontal scrolling', async () => {
  const page = await newPage(browser, { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
  await page.goto(DEMO);
  const w = widget(page);
  await ask(page, 'What is your refund policy?');
  const box = await w.panel.boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 360, `panel within the viewport: ${JSON.stringify(box)}`);
  assert.equal(Math.round(box.width), 360);
  const overflow = await page.evaluate(() => {
    const log = document.querySelector('#askdesk-widget').shadowRoot.querySelector('[role=log]');
    return { page: document.documentElement.scrollWidth > window.innerWidth, log: log.scrollWidth > log.clientWidth };
  });
  assert.deepEqual(overflow, { page: false, log: false });
  await screenshot(page, 'phone-360');
});
