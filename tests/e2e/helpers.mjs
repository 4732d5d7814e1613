// Shared by the browser tests: the service under test (started by scripts/e2e.sh), Debian's
// chromium driven by playwright-core, screenshots, a generated PNG, and the SMTP maildir.
import { chromium } from 'playwright-core';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through scripts/e2e.sh`);
  return value;
}

export const BASE = required('ASKDESK_E2E_BASE');
export const ADMIN_KEY = required('ASKDESK_E2E_ADMIN_KEY');
export const MAILDIR = required('ASKDESK_E2E_MAILDIR');
const SCREENSHOTS = new URL('./screenshots/', import.meta.url).pathname;

/** Chromium with the flags recipes.md names for this closed network, and a fresh profile. */
export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A page that fails the test on any uncaught error and records dialogs (alert() must never fire). */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.errors = [];
  page.dialogs = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  page.on('dialog', (dialog) => {
    page.dialogs.push(dialog.message());
    dialog.dismiss();
  });
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** The widget's parts (playwright's CSS and role locators reach into its open shadow root). */
export function widget(page) {
  return {
    launcher: page.locator('#askdesk-widget .launcher'),
    panel: page.getByRole('dialog'),
    input: page.getByRole('textbox', { name: 'Your question' }),
    log: page.getByRole('log'),
    answers: page.locator('#askdesk-widget .msg.bot'),
  };
}

/** Opens the widget, asks `question` with the keyboard and waits for the finished answer. */
export async function ask(page, question) {
  const w = widget(page);
  if (!(await w.panel.isVisible())) await w.launcher.click();
  const before = await w.answers.count();
  await w.input.fill(question);
  await w.input.press('Enter');
  const answer = w.answers.nth(before);
  // an answer is finished when its feedback row (or an escalation offer) is drawn
  await answer.locator('.rate, .actions').first().waitFor();
  return answer;
}

/** A valid PNG of `width`×`height` grey pixels, built by hand (signature, IHDR, IDAT, IEND). */
export function tinyPng(width = 4, height = 3) {
  const chunk = (type, body) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0; // filter: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The raw messages the SMTP server has stored so far. */
export function mails() {
  const dir = join(MAILDIR, 'new');
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((name) => readFileSync(join(dir, name), 'utf8'));
}

/** Polls `probe` until it returns a truthy value; gives up after `tries` × 100 ms. */
export async function eventually(probe, what, tries = 300) {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}
