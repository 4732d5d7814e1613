// The support lead's console: escalations (with retry), disliked answers, knowledge gaps, website syncs and the
// latest eval report, read from the admin API with the admin key. The key is asked once and kept
// in sessionStorage (this tab only). Every value from the API is customer or document text, so it
// reaches the page through textContent only.
'use strict';

const KEY_STORAGE = 'askdesk-admin-key';
const LIMIT = 50;
const GAP_WINDOW_MS = 30 * 24 * 3600 * 1000;

const $ = (selector) => document.querySelector(selector);

/** Creates an element: `text` sets textContent, `on*` adds a listener, others are attributes. */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Replaces what a section shows. */
function show(section, ...nodes) {
  const body = $(`#${section} .body`);
  body.replaceChildren(...nodes.filter(Boolean));
}

const empty = (text) => el('p', { class: 'empty', text });
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '–');
const percent = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)} %` : '–');

// ---- the admin API -------------------------------------------------------------------------

class Unauthorized extends Error {}

/** Calls the admin API; 401 → back to the key form; other errors carry the API's message. */
async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Accept: 'application/json', Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE)}` },
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok) {
    let message = `the server answered ${response.status}`;
    try {
      const body = await response.json();
      if (body.error?.message) message = body.error.message;
    } catch { /* not JSON */ }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  return q.toString();
}

/** Runs one section's loader, turning failures into a message in that section. */
async function load(section, loader) {
  try {
    await loader();
  } catch (error) {
    if (error instanceof Unauthorized) return askForKey('The admin key was not accepted. Enter it again.');
    show(section, el('p', { class: 'problem', role: 'alert', text: `Could not load this section: ${error.message}` }));
  }
}

// ---- sections ------------------------------------------------------------------------------

const tenant = () => $('#tenant').value;

// The check that decided a hand-over, as the ticket stores it: a name ("confidence"), or a
// name with its details ({ intent: { intent: "incident", source: "classifier" } }).
function decidedBy(decision) {
  const check = decision && decision.check;
  if (!check) return '';
  if (typeof check === 'string') return check.replaceAll('_', ' ');
  const [name, details] = Object.entries(check)[0];
  const detail = details.intent || details.topic || '';
  return `${name.replaceAll('_', ' ')}${detail ? `: ${String(detail).replaceAll('_', ' ')}` : ''}${details.source ? ` (${details.source})` : ''}`;
}

async function loadTickets() {
  const { tickets } = await api(`/api/admin/tickets?${query({ status: $('#ticket-status').value, tenant: tenant(), limit: LIMIT })}`);
  if (!tickets.length) return show('tickets', empty('No escalations match.'));
  const rows = tickets.map((t) => el('tr', {}, [
    el('td', {}, [el('div', { text: t.id }), el('div', { class: 'meta', text: t.brand || t.tenant })]),
    el('td', {}, [el('span', { class: `status-${t.status}`, text: t.status }),
      t.last_error ? el('div', { class: 'meta', text: `${t.attempts} attempts: ${t.last_error}` }) : null]),
    el('td', { text: t.question }),
    el('td', {}, [el('div', { text: t.reason || '' }),
      t.decision ? el('div', { class: 'meta', text: `decided by ${decidedBy(t.decision)}` }) : null,
      el('div', { class: 'meta', text: `confidence ${Number(t.confidence ?? 0).toFixed(2)}` })]),
    el('td', { text: t.contact_email || '–' }),
    el('td', {}, [el('div', { text: when(t.created_at) }), t.sent_at ? el('div', { class: 'meta', text: `sent ${when(t.sent_at)}` }) : null]),
    el('td', {}, [t.status === 'failed' ? el('button', { type: 'button', text: 'Retry', 'aria-label': `Retry ticket ${t.id}`, onclick: () => retry(t.id) }) : null]),
  ]));
  const head = el('tr', {}, ['Ticket', 'Status', 'Question', 'Why', 'Customer', 'Created', ''].map((h) => el('th', { scope: 'col', text: h })));
  show('tickets', el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]));
}

async function retry(id) {
  await load('tickets', async () => {
    await api(`/api/admin/tickets/${encodeURIComponent(id)}/retry`, { method: 'POST' });
    await loadTickets();
  });
}

async function loadFeedback() {
  const { feedback } = await api(`/api/admin/feedback?${query({ rating: 'down', tenant: tenant(), limit: LIMIT })}`);
  if (!feedback.length) return show('feedback', empty('No thumbs-down yet.'));
  show('feedback', ...feedback.map((f) => el('article', {}, [
    el('p', { class: 'meta', text: `${f.tenant} · ${when(f.created_at)} · ${f.outcome || ''}` }),
    el('p', {}, [el('strong', { text: 'Customer: ' }), document.createTextNode(f.question || '–')]),
    el('p', {}, [el('strong', { text: 'Bot: ' }), document.createTextNode(f.answer || '–')]),
    f.comment ? el('p', { class: 'comment', text: f.comment }) : el('p', { class: 'empty', text: 'No comment.' }),
    citationList(f.citations),
  ])));
}

function citationList(citations) {
  if (!Array.isArray(citations) || !citations.length) return null;
  return el('p', { class: 'meta', text: `Sources: ${citations.map((c) => c.title || c.id).join('; ')}` });
}

async function loadGaps() {
  const { groups } = await api(`/api/admin/gaps?${query({ tenant: tenant(), since: Date.now() - GAP_WINDOW_MS, limit: LIMIT })}`);
  if (!groups.length) return show('gaps', empty('No gaps found.'));
  show('gaps', ...groups.map((g) => el('details', {}, [
    el('summary', { text: `${g.count} × “${g.representative}” (${g.tenant})` }),
    el('ul', {}, g.questions.map((q) => el('li', {
      text: `${q.question} · confidence ${Number(q.confidence ?? 0).toFixed(2)} · ${when(q.created_at)}`,
    }))),
  ])));
}

async function loadSyncs() {
  const { syncs } = await api(`/api/admin/syncs?${query({ tenant: tenant(), limit: 20 })}`);
  if (!syncs.length) return show('syncs', empty('No website sync yet.'));
  const rows = syncs.map((s) => el('tr', {}, [
    el('td', { text: s.tenant }),
    el('td', { text: when(s.started_at) }),
    el('td', { text: s.outcome }),
    el('td', { text: `${s.pages} pages: ${s.added} added, ${s.changed} changed, ${s.removed} removed` }),
    el('td', {}, s.errors.length ? [el('details', {}, [
      el('summary', { text: `${s.errors.length} kept or left out` }),
      el('ul', {}, s.errors.map((e) => el('li', { text: e.message }))),
    ])] : [document.createTextNode('–')]),
  ]));
  const head = el('tr', {}, ['Brand', 'When', 'Outcome', 'Pages', 'Problems'].map((h) => el('th', { scope: 'col', text: h })));
  show('syncs', el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]));
}

async function loadEval() {
  let report;
  try {
    report = await api('/api/admin/eval-report');
  } catch (error) {
    if (error.status === 404) return show('eval', empty('No report yet. Run `askdesk eval evals/gate/ --json <data>/eval-report.json`.'));
    throw error;
  }
  const s = report.summary || {};
  const rows = [
    ['Cases', `${s.passed} of ${s.cases} passed (${percent(s.pass_rate)})`],
    ['Outcome accuracy', percent(s.outcome_accuracy)],
    ['Escalation precision / recall', `${percent(s.escalation_precision)} / ${percent(s.escalation_recall)}`],
    ['Fact recall', percent(s.fact_recall)],
    ['Context recall @3', percent(s.context_recall_at_3)],
    ['Forbidden text in answers', String(s.forbid_violations ?? '–')],
    ['Latency p50 / p95', `${s.p50_ms?.toFixed?.(1) ?? '–'} ms / ${s.p95_ms?.toFixed?.(1) ?? '–'} ms`],
  ];
  const failed = (report.cases || []).filter((c) => !c.passed);
  show('eval',
    el('dl', {}, rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])),
    failed.length ? el('details', {}, [
      el('summary', { text: `${failed.length} failed cases` }),
      el('ul', {}, failed.map((c) => el('li', { text: `${c.tenant}/${c.id}: ${c.question} (${(c.failures || []).join('; ')})` }))),
    ]) : null);
}

async function loadTenants() {
  // /readyz lists the tenants being served (public, no key needed)
  try {
    const { tenants } = await (await fetch('/readyz')).json();
    const select = $('#tenant');
    for (const id of tenants || []) if (![...select.options].some((o) => o.value === id)) select.append(el('option', { value: id, text: id }));
  } catch { /* the filter keeps "all" */ }
}

function refresh() {
  load('tickets', loadTickets);
  load('feedback', loadFeedback);
  load('gaps', loadGaps);
  load('syncs', loadSyncs);
  load('eval', loadEval);
}

// ---- the key -------------------------------------------------------------------------------

function askForKey(problem) {
  sessionStorage.removeItem(KEY_STORAGE);
  $('#console').hidden = true;
  $('#refresh').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  $('#login-problem').textContent = problem || '';
  $('#login-problem').hidden = !problem;
  $('#admin-key').value = '';
  $('#admin-key').focus();
}

function openConsole() {
  $('#login').hidden = true;
  $('#console').hidden = false;
  $('#refresh').hidden = false;
  $('#logout').hidden = false;
  loadTenants();
  refresh();
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('#admin-key').value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  openConsole();
});
$('#refresh').addEventListener('click', refresh);
$('#logout').addEventListener('click', () => askForKey());
$('#ticket-status').addEventListener('change', () => load('tickets', loadTickets));
$('#tenant').addEventListener('change', refresh);

if (sessionStorage.getItem(KEY_STORAGE)) openConsole();
else askForKey();
