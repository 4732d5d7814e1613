/*!
 * askdesk chat widget. One tag on the brand's page:
 *   <script src="https://HOST/widget.js" data-tenant="fictart" defer></script>
 * Options: data-api (API base; default: this script's origin), data-name, data-color,
 * data-greeting (override the tenant's config).
 *
 * Everything lives in a Shadow DOM so the host page's styles and ours never mix. Customer,
 * answer and passage text only ever reaches the page through textContent (never innerHTML):
 * answers quote documents and echo customers, so they are untrusted.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script || !script.dataset.tenant) {
    console.error('askdesk widget: the script tag needs data-tenant="<tenant id>"');
    return;
  }
  var data = script.dataset;
  var TENANT = data.tenant;
  var API = (data.api || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  var STORE_KEY = 'askdesk:' + TENANT;
  var MAX_SCREENSHOTS = 3;
  var MAX_SCREENSHOT_BYTES = 5 * 1024 * 1024;
  var SCREENSHOT_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
  /** Transcript entries kept for redrawing after a reload (the oldest are dropped). */
  var MAX_SAVED_ENTRIES = 200;

  var STYLES = [
    ':host{all:initial}',
    '*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
    '.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;min-width:56px;height:56px;padding:0 20px;border:0;border-radius:28px;background:var(--accent);color:var(--on-accent);font-size:15px;font-weight:600;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}',
    '.launcher[hidden],.panel[hidden]{display:none}',
    'button,input,textarea{font-size:14px}',
    ':focus-visible{outline:3px solid #1a73e8;outline-offset:2px}',
    '.panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:380px;height:min(600px,calc(100vh - 40px));display:flex;flex-direction:column;background:#fff;color:#1d1d1f;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);overflow:hidden;font-size:14px;line-height:1.45}',
    '@media (prefers-reduced-motion:no-preference){.panel{animation:pop .18s ease-out}@keyframes pop{from{opacity:0;transform:translateY(12px)}}}',
    '@media (max-width:480px){.panel{right:0;bottom:0;left:0;top:0;width:100%;height:100%;border-radius:0}}',
    '.head{display:flex;align-items:center;gap:6px;padding:10px 12px;background:var(--accent);color:var(--on-accent)}',
    '.head h2{flex:1;margin:0;font-size:16px;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.head button{background:transparent;color:inherit;border:1px solid currentColor;border-radius:6px;padding:4px 8px;cursor:pointer}',
    '.log{flex:1;overflow-y:auto;overflow-x:hidden;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f6f8}',
    '.msg{max-width:88%;padding:8px 12px;border-radius:12px;overflow-wrap:anywhere}',
    '.msg p{margin:0 0 6px}.msg p:last-child{margin-bottom:0}.msg ul{margin:4px 0 6px;padding-left:20px}',
    '.user{align-self:flex-end;background:var(--accent);color:var(--on-accent)}',
    '.user a{color:inherit}',
    '.bot{align-self:flex-start;background:#fff;border:1px solid #e2e2e6}',
    '.note{align-self:stretch;max-width:100%;background:#fff8e1;border:1px solid #f0d98c}',
    '.error{align-self:stretch;max-width:100%;background:#fdecea;border:1px solid #f5b5ad;color:#7a1c12}',
    '.sources{margin-top:8px;padding-top:6px;border-top:1px solid #ececf0;font-size:12px;color:#555}',
    '.sources ul{margin:2px 0 0;padding-left:18px}.sources a{color:#1a56c4}',
    '.rate{display:flex;gap:6px;align-items:center;margin-top:6px;font-size:12px;color:#555}',
    '.rate button{display:inline-flex;border:1px solid #ccc;background:#fff;color:#444;border-radius:6px;padding:3px 7px;cursor:pointer}',
    '.rate svg{width:16px;height:16px;fill:currentColor}.rate .down svg{transform:rotate(180deg)}',
    '.rate form{flex:1}',
    '.rate button[aria-pressed=true]{background:#e8eefc;border-color:#1a56c4}',
    '.actions{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}',
    '.btn{border:1px solid var(--accent);background:#fff;color:#1d1d1f;border-radius:6px;padding:5px 10px;cursor:pointer}',
    '.btn.primary{background:var(--accent);color:var(--on-accent)}',
    'button:disabled{opacity:.55;cursor:default}',
    'form.card{display:flex;flex-direction:column;gap:6px}',
    'form.card label{font-weight:600;font-size:13px}',
    'form.card input,form.card textarea{width:100%;padding:6px 8px;border:1px solid #bbb;border-radius:6px;background:#fff;color:#1d1d1f}',
    'form.card [aria-invalid=true]{border-color:#c62828}',
    '.hint{font-size:12px;color:#555;margin:0}.problem{font-size:12px;color:#c62828;margin:0}',
    '.files{margin:0;padding-left:18px;font-size:12px}',
    '.files button{margin-left:6px;border:0;background:none;color:#1a56c4;text-decoration:underline;cursor:pointer;font-size:12px}',
    '.compose{display:flex;gap:8px;padding:10px;border-top:1px solid #e2e2e6;background:#fff}',
    '.compose textarea{flex:1;resize:none;height:40px;padding:9px 10px;border:1px solid #bbb;border-radius:8px;color:#1d1d1f;background:#fff}',
    '.foot{display:flex;justify-content:space-between;padding:0 10px 8px;background:#fff}',
    '.link{border:0;background:none;color:#1a56c4;text-decoration:underline;cursor:pointer;padding:2px;font-size:12px}',
    '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}'
  ].join('\n');

  // ---- small DOM helpers (text only; never innerHTML) ----------------------------------------

  /** Creates an element with attributes (`text` sets textContent, `on*` adds a listener). */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'text') node.textContent = value;
      else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  /** An http(s) URL as a string, or null: anything else (javascript:, data:, ...) is refused.
   *  A relative URL is resolved against the askdesk server. */
  function safeUrl(raw) {
    try {
      var url = new URL(String(raw), API + '/');
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function externalLink(href, label) {
    return el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: label });
  }

  /** Appends `text` to `parent`, turning bare http(s) URLs into links. */
  function appendLinkified(parent, text) {
    var pattern = /https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?]/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text))) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var href = safeUrl(match[0]);
      parent.appendChild(href ? externalLink(href, match[0]) : document.createTextNode(match[0]));
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** Minimal formatting: blank-line paragraphs, "- " lists, line breaks, bare links. */
  function formatted(text) {
    var fragment = document.createDocumentFragment();
    String(text).split(/\n\s*\n/).forEach(function (block) {
      var lines = block.split('\n').filter(function (l) { return l.trim() !== ''; });
      if (!lines.length) return;
      var list = null;
      var para = null;
      lines.forEach(function (line) {
        var item = /^\s*[-*] (.*)$/.exec(line);
        if (item) {
          para = null;
          if (!list) list = fragment.appendChild(el('ul'));
          appendLinkified(list.appendChild(el('li')), item[1]);
        } else {
          list = null;
          if (para) para.appendChild(el('br'));
          else para = fragment.appendChild(el('p'));
          appendLinkified(para, line);
        }
      });
    });
    return fragment;
  }

  /** Black or white, whichever reads better on the brand colour. */
  function textColorOn(color) {
    var probe = el('i', { style: 'color:' + color + ';display:none' });
    document.body.appendChild(probe);
    var rgb = (getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [0, 0, 0]).map(Number);
    probe.remove();
    var luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
    return luminance > 0.6 ? '#111' : '#fff';
  }

  // ---- saved conversation (per tenant, in localStorage) --------------------------------------

  function loadSaved() {
    try {
      var saved = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
      if (saved && Array.isArray(saved.transcript)) return saved;
    } catch (e) { /* unreadable: start over */ }
    return { conversation_id: null, conversation_token: null, transcript: [] };
  }

  function save() {
    state.transcript = state.transcript.slice(-MAX_SAVED_ENTRIES);
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) { /* storage full or blocked: the chat still works, only a reload forgets it */ }
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  /** The API's error, or a plain description, as an Error with `code` and `retryAfter`. */
  async function apiError(response) {
    var body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    var info = (body && body.error) || {};
    var error = new Error(info.message || 'The support service answered with an error (' + response.status + ').');
    error.code = info.code || 'http_' + response.status;
    error.status = response.status;
    if (response.status === 429) error.retryAfter = retryAfterSeconds(response.headers.get('Retry-After'));
    return error;
  }

  /** Retry-After is either seconds or an HTTP date. */
  function retryAfterSeconds(header) {
    if (!header) return null;
    var seconds = Number(header);
    if (!isNaN(seconds)) return Math.max(1, Math.ceil(seconds));
    var date = Date.parse(header);
    return isNaN(date) ? null : Math.max(1, Math.ceil((date - Date.now()) / 1000));
  }

  async function postJson(path, body) {
    var response = await fetch(API + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    });
    if (!response.ok) throw await apiError(response);
    return response.status === 204 ? null : response.json();
  }

  /** POSTs a chat turn and calls `onEvent(name, data)` for each Server-Sent Event. */
  async function streamChat(body, onEvent) {
    var response = await fetch(API + '/api/v1/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(body)
    });
    if (!response.ok) throw await apiError(response);
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    for (;;) {
      var chunk = await reader.read();
      buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
      var events = buffer.split(/\r?\n\r?\n/);
      buffer = chunk.done ? '' : events.pop();
      events.forEach(function (raw) {
        var name = 'message';
        var lines = [];
        raw.split(/\r?\n/).forEach(function (line) {
          if (line.indexOf('event:') === 0) name = line.slice(6).trim();
          else if (line.indexOf('data:') === 0) lines.push(line.slice(5).replace(/^ /, ''));
        });
        if (lines.length) onEvent(name, JSON.parse(lines.join('\n')));
      });
      if (chunk.done) return;
    }
  }

  // ---- state and the DOM ---------------------------------------------------------------------

  var state = loadSaved();
  var config = null; // the tenant's public config, once loaded
  var busy = false;
  var ui = {};

  function brandName() { return data.name || (config && config.name) || 'Support'; }

  function build() {
    var host = el('div', { id: 'askdesk-widget' });
    var root = host.attachShadow({ mode: 'open' });
    root.appendChild(el('style', { text: STYLES }));
    ui.launcher = root.appendChild(el('button', {
      class: 'launcher', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
      'aria-controls': 'askdesk-panel', text: 'Chat', onclick: open
    }));
    ui.title = el('h2', { id: 'askdesk-title', text: 'Support' });
    ui.log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
    ui.input = el('textarea', {
      id: 'askdesk-input', rows: '1', maxlength: '4000', placeholder: 'Type your question…',
      onkeydown: function (e) {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
      }
    });
    ui.send = el('button', { class: 'btn primary', type: 'submit', text: 'Send' });
    ui.panel = root.appendChild(el('div', {
      class: 'panel', id: 'askdesk-panel', role: 'dialog', 'aria-labelledby': 'askdesk-title', hidden: true,
      onkeydown: function (e) { if (e.key === 'Escape') { e.stopPropagation(); close(); } }
    }, [
      el('div', { class: 'head' }, [
        ui.title,
        el('button', { type: 'button', text: 'New conversation', onclick: newConversation }),
        el('button', { type: 'button', 'aria-label': 'Close chat', text: '✕', onclick: close })
      ]),
      ui.log,
      el('form', { class: 'compose', onsubmit: function (e) { e.preventDefault(); send(); } }, [
        el('label', { class: 'sr', for: 'askdesk-input', text: 'Your question' }),
        ui.input,
        ui.send
      ]),
      el('div', { class: 'foot' }, [
        el('button', { type: 'button', class: 'link', text: 'Talk to a person', onclick: function () { showHandoff(); } })
      ])
    ]));
    ui.host = document.body.appendChild(host);
    applyBrand();
  }

  /** Name, colour and greeting: data-* options first, then the tenant's config. */
  function applyBrand() {
    var color = data.color || (config && config.brand_color);
    if (!color || !(window.CSS && CSS.supports('color', color))) color = '#2457d6';
    ui.host.style.setProperty('--accent', color);
    ui.host.style.setProperty('--on-accent', textColorOn(color));
    ui.title.textContent = brandName();
    ui.launcher.setAttribute('aria-label', 'Chat with ' + brandName() + ' support');
    if (ui.greeting) {
      ui.greeting.textContent = '';
      ui.greeting.appendChild(formatted(greeting()));
    }
  }

  function greeting() {
    return data.greeting || (config && config.greeting) || 'Hi! How can we help you today?';
  }

  function open() {
    ui.panel.hidden = false;
    ui.launcher.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'true');
    if (!ui.log.childNodes.length) redraw();
    ui.input.focus();
  }

  function close() {
    ui.panel.hidden = true;
    ui.launcher.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.focus();
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function addBubble(kind, children) {
    var bubble = ui.log.appendChild(el('div', { class: 'msg ' + kind }, children));
    scrollDown();
    return bubble;
  }

  /** Draws the greeting and the saved transcript (the server has no "list messages"). */
  function redraw() {
    ui.log.textContent = '';
    ui.greeting = addBubble('bot', [formatted(greeting())]);
    state.transcript.forEach(function (entry) {
      if (entry.role === 'user') addBubble('user', [formatted(entry.text)]);
      else if (entry.role === 'bot') renderAnswer(addBubble('bot'), entry);
      else if (entry.role === 'ticket') addBubble('note', ticketConfirmation(entry));
    });
  }

  function newConversation() {
    state = { conversation_id: null, conversation_token: null, transcript: [] };
    save();
    redraw();
    ui.input.focus();
  }

  /** Fills an answer bubble: text, sources, thumbs, and the handoff offer on escalation. */
  function renderAnswer(bubble, entry) {
    bubble.textContent = '';
    bubble.appendChild(formatted(entry.text));
    var sources = (entry.citations || []).map(function (c) {
      var href = c.url ? safeUrl(c.url) : null;
      var title = c.title || 'Source';
      return el('li', {}, [href ? externalLink(href, title) : document.createTextNode(title)]);
    });
    if (sources.length) {
      bubble.appendChild(el('div', { class: 'sources' }, [el('span', { text: 'Sources' }), el('ul', {}, sources)]));
    }
    if (entry.message_id) bubble.appendChild(rating(entry));
    if (entry.outcome === 'escalate' && !entry.ticket_id && !entry.handoff_done) {
      var offer = bubble.appendChild(el('div', { class: 'actions' }));
      offer.appendChild(el('button', {
        type: 'button', class: 'btn primary', text: 'Talk to a person',
        onclick: function () { showHandoff(entry, offer); }
      }));
    }
  }

  /** A thumb icon (Material Design "thumb_up", Apache-2.0); drawn, so no emoji font is needed. */
  function thumb() {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    var path = svg.appendChild(document.createElementNS(ns, 'path'));
    path.setAttribute('d', 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z');
    return svg;
  }

  /** Thumbs up/down for one answer; a thumbs down may carry a comment. */
  function rating(entry) {
    var box = el('div', { class: 'rate' });
    function thanks() { box.replaceChildren(el('span', { text: 'Thanks for your feedback.' })); }
    function choose() {
      box.replaceChildren(
        el('span', { text: 'Was this helpful?' }),
        el('button', { type: 'button', class: 'up', 'aria-label': 'Helpful', onclick: function () { submit('up'); } }, [thumb()]),
        el('button', { type: 'button', class: 'down', 'aria-label': 'Not helpful', onclick: askComment }, [thumb()])
      );
    }
    function askComment() {
      var comment = el('textarea', { rows: '2', maxlength: '4000', 'aria-label': 'What was wrong with this answer? (optional)', placeholder: 'What was wrong? (optional)' });
      box.replaceChildren(el('form', { class: 'card', onsubmit: function (e) { e.preventDefault(); submit('down', comment.value.trim()); } }, [
        comment,
        el('div', { class: 'actions' }, [el('button', { type: 'submit', class: 'btn primary', text: 'Send feedback' })])
      ]));
      comment.focus();
    }
    function submit(value, comment) {
      box.replaceChildren(el('span', { text: 'Sending…' }));
      postJson('/api/v1/feedback', { message_id: entry.message_id, rating: value, comment: comment || undefined })
        .then(function () {
          entry.rating = value;
          save();
          thanks();
        })
        .catch(function (error) {
          choose();
          showError(describeFailure(error), null);
        });
    }
    if (entry.rating) thanks();
    else choose();
    return box;
  }

  /** An error bubble with an optional Retry (and a New conversation for a dead conversation). */
  function showError(message, retry, offerNew) {
    var actions = el('div', { class: 'actions' });
    var bubble = addBubble('error', [el('p', { role: 'alert', text: message }), actions]);
    if (retry) {
      actions.appendChild(el('button', { type: 'button', class: 'btn', text: 'Retry', onclick: function () { bubble.remove(); retry(); } }));
    }
    if (offerNew) {
      actions.appendChild(el('button', { type: 'button', class: 'btn', text: 'New conversation', onclick: newConversation }));
    }
    return bubble;
  }

  function describeFailure(error) {
    if (error.interrupted) return 'The answer was interrupted before it finished. Please try again.';
    if (error.status === 429) {
      return error.retryAfter
        ? 'You are sending messages too quickly. Please try again in ' + error.retryAfter + ' second' + (error.retryAfter === 1 ? '' : 's') + '.'
        : 'You are sending messages too quickly. Please wait a moment and try again.';
    }
    if (error.status) return error.message;
    return 'We could not reach the support service. Check your connection and try again.';
  }

  function setBusy(value) {
    busy = value;
    ui.send.disabled = value;
    ui.log.setAttribute('aria-busy', value ? 'true' : 'false');
  }

  function send() {
    var text = ui.input.value.trim();
    if (!text || busy) return;
    ui.input.value = '';
    state.transcript.push({ role: 'user', text: text });
    save();
    addBubble('user', [formatted(text)]);
    ask(text);
  }

  /** Streams the answer to `text` into a new bubble; a failure leaves a Retry, never a frozen panel. */
  async function ask(text) {
    setBusy(true);
    var bubble = addBubble('bot', [el('p', { class: 'hint', text: '…' })]);
    var entry = { role: 'bot', text: '', citations: [] };
    var finished = false;
    var body = { tenant: TENANT, message: text };
    if (state.conversation_id) {
      body.conversation_id = state.conversation_id;
      body.conversation_token = state.conversation_token;
    }
    try {
      await streamChat(body, function (name, event) {
        if (name === 'meta') {
          if (event.conversation_token) {
            state.conversation_id = event.conversation_id;
            state.conversation_token = event.conversation_token;
            save();
          }
          entry.message_id = event.message_id;
          entry.citations = event.citations || [];
        } else if (name === 'delta' || name === 'replace') {
          // `replace`: the checked answer differs from the streamed tokens; show it instead
          entry.text = name === 'delta' ? entry.text + event.text : event.text;
          bubble.textContent = '';
          bubble.appendChild(formatted(entry.text));
          scrollDown();
        } else if (name === 'done') {
          finished = true;
          // in LLM mode the citations are only known once the answer is checked
          if (Array.isArray(event.citations)) entry.citations = event.citations;
          entry.outcome = event.outcome;
          entry.ticket_id = event.ticket_id || null;
        } else if (name === 'error') {
          var error = new Error((event.error && event.error.message) || 'The answer failed.');
          error.status = 500;
          throw error;
        }
      });
      if (!finished) throw Object.assign(new Error('stream ended without done'), { interrupted: true });
      state.transcript.push(entry);
      save();
      renderAnswer(bubble, entry);
      scrollDown();
    } catch (error) {
      bubble.remove();
      var deadConversation = error.code === 'invalid_conversation_token' || (error.status === 404 && state.conversation_id);
      if (deadConversation) {
        showError('This conversation can no longer be continued. Please start a new conversation.', null, true);
      } else {
        showError(describeFailure(error), function () { ask(text); });
      }
    } finally {
      setBusy(false);
    }
  }

  // ---- handoff ("Talk to a person") ----------------------------------------------------------

  function ticketConfirmation(entry) {
    return [
      el('p', { text: 'Thanks, your request was sent to the ' + entry.brand + ' team.' }),
      el('p', { text: 'Ticket: ' + entry.ticket_id }),
      entry.reply_promise ? el('p', { text: entry.reply_promise }) : null
    ];
  }

  var fieldCount = 0;

  /** A labelled input; returns {wrap, input, problem}. */
  function field(label, attrs, multiline) {
    var id = 'askdesk-f' + (++fieldCount);
    var problem = el('p', { class: 'problem', id: id + '-problem', hidden: true });
    attrs.id = id;
    attrs['aria-describedby'] = problem.id;
    var input = el(multiline ? 'textarea' : 'input', attrs);
    return { wrap: el('div', {}, [el('label', { for: id, text: label }), input, problem]), input: input, problem: problem };
  }

  function flag(f, message) {
    f.problem.textContent = message || '';
    f.problem.hidden = !message;
    f.input.setAttribute('aria-invalid', message ? 'true' : 'false');
  }

  /** The handoff form (email, the brand's fields, up to 3 screenshots). `answer` and `offer` are
   *  the escalated answer it was offered under and its button, if any. */
  function showHandoff(answer, offer) {
    if (ui.handoff && ui.handoff.isConnected) { ui.handoff.querySelector('input').focus(); return; }
    if (!config) {
      showError('The support service is not reachable right now, so we cannot send your request.', function () {
        loadConfig().then(function () { showHandoff(answer, offer); });
      });
      return;
    }
    var email = field('Your email (required)', { type: 'email', required: true, autocomplete: 'email', maxlength: '254' });
    var extra = (config.handoff_fields || []).map(function (f) {
      var control = field(f.label + (f.required ? ' (required)' : ' (optional)'), { maxlength: '4000', rows: '2', required: !!f.required }, true);
      return { wrap: control.wrap, input: control.input, problem: control.problem, name: f.name, required: !!f.required };
    });
    var note = field('Anything else we should know? (optional)', { rows: '2', maxlength: '4000' }, true);
    var files = [];
    var fileList = el('ul', { class: 'files', 'aria-label': 'Attached screenshots' });
    var filesProblem = el('p', { class: 'problem', 'aria-live': 'polite', hidden: true });
    var picker = el('input', {
      type: 'file', id: 'askdesk-shots', accept: SCREENSHOT_TYPES.join(','), multiple: true,
      onchange: function () {
        var problems = [];
        Array.prototype.forEach.call(picker.files, function (file) {
          if (files.length >= MAX_SCREENSHOTS) problems.push('You can attach up to ' + MAX_SCREENSHOTS + ' screenshots; ' + file.name + ' was not added.');
          else if (SCREENSHOT_TYPES.indexOf(file.type) < 0) problems.push(file.name + ' is not a PNG, JPEG or WebP image.');
          else if (file.size > MAX_SCREENSHOT_BYTES) problems.push(file.name + ' is larger than 5 MB.');
          else files.push(file);
        });
        picker.value = '';
        filesProblem.textContent = problems.join(' ');
        filesProblem.hidden = !problems.length;
        drawFiles();
      }
    });
    function drawFiles() {
      fileList.textContent = '';
      files.forEach(function (file, i) {
        fileList.appendChild(el('li', {}, [
          document.createTextNode(file.name),
          el('button', { type: 'button', text: 'Remove', 'aria-label': 'Remove ' + file.name, onclick: function () { files.splice(i, 1); filesProblem.hidden = true; drawFiles(); } })
        ]));
      });
      picker.disabled = files.length >= MAX_SCREENSHOTS;
    }
    var status = el('p', { class: 'problem', role: 'alert', hidden: true });
    var submit = el('button', { type: 'submit', class: 'btn primary', text: 'Send to the team' });
    var form = el('form', { class: 'card', novalidate: true, 'aria-label': 'Talk to a person', onsubmit: onSubmit }, [
      el('p', { text: 'Leave your email and the ' + brandName() + ' team will reply' + (config.reply_promise ? ': ' + config.reply_promise : '.') }),
      email.wrap
    ].concat(extra.map(function (f) { return f.wrap; }), [
      note.wrap,
      el('div', {}, [
        el('label', { for: 'askdesk-shots', text: 'Screenshots (optional, up to 3: PNG, JPEG or WebP, 5 MB each)' }),
        picker, fileList, filesProblem
      ]),
      status,
      el('div', { class: 'actions' }, [
        submit,
        el('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: function () { bubble.remove(); ui.input.focus(); } })
      ])
    ]));
    var bubble = addBubble('note', [form]);
    ui.handoff = bubble;
    email.input.focus();

    async function onSubmit(e) {
      e.preventDefault();
      var ok = true;
      var address = email.input.value.trim();
      flag(email, /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) ? '' : 'Please enter a valid email address.');
      if (email.problem.textContent) ok = false;
      var values = {};
      extra.forEach(function (f) {
        var value = f.input.value.trim();
        flag(f, f.required && !value ? 'This field is required.' : '');
        if (f.required && !value) ok = false;
        if (value) values[f.name] = value;
      });
      if (!ok) { form.querySelector('[aria-invalid=true]').focus(); return; }
      var payload = { tenant: TENANT, contact_email: address, fields: values };
      if (note.input.value.trim()) payload.note = note.input.value.trim();
      if (state.conversation_id) {
        payload.conversation_id = state.conversation_id;
        payload.conversation_token = state.conversation_token;
      }
      submit.disabled = true;
      status.hidden = true;
      try {
        var result = await submitEscalation(payload, files);
        var ticket = { role: 'ticket', ticket_id: result.ticket_id, reply_promise: result.reply_promise, brand: brandName() };
        if (answer) answer.handoff_done = true;
        if (offer) offer.remove();
        state.transcript.push(ticket);
        save();
        bubble.textContent = '';
        ticketConfirmation(ticket).forEach(function (node) { if (node) bubble.appendChild(node); });
        bubble.setAttribute('tabindex', '-1');
        bubble.focus();
      } catch (error) {
        status.textContent = describeFailure(error);
        status.hidden = false;
        submit.disabled = false;
      }
    }
  }

  /** JSON without screenshots; multipart/form-data (a `payload` part + `screenshot` parts) with. */
  async function submitEscalation(payload, files) {
    if (!files.length) return postJson('/api/v1/escalations', payload);
    var form = new FormData();
    form.append('payload', JSON.stringify(payload));
    files.forEach(function (file) { form.append('screenshot', file, file.name); });
    var response = await fetch(API + '/api/v1/escalations', { method: 'POST', headers: { Accept: 'application/json' }, body: form });
    if (!response.ok) throw await apiError(response);
    return response.json();
  }

  // ---- start ---------------------------------------------------------------------------------

  async function loadConfig() {
    try {
      var response = await fetch(API + '/api/v1/tenants/' + encodeURIComponent(TENANT), { headers: { Accept: 'application/json' } });
      if (!response.ok) throw await apiError(response);
      config = await response.json();
    } catch (error) {
      console.error('askdesk widget: could not load the tenant config:', error.message);
      return;
    }
    applyBrand();
  }

  function start() {
    build();
    loadConfig();
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
