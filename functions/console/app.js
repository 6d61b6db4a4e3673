// Switchyard console: one script over the admin JSON API (/admin/v1/…), no framework, no download.
// Every text from outside (names, model ids, upstream text, errors) enters the page as a DOM text node or
// an attribute value, never as markup: there is no innerHTML here. The key lives in this tab's
// sessionStorage and goes out only as a bearer header to this gateway.

(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const KEY_SLOT = 'switchyard.console.key';
  // The gateway's root, whatever prefix serves it (an API Gateway stage, a proxy path).
  const BASE = new URL('.', location.href);
  const PAGES = [
    ['overview', 'Overview'],
    ['keys', 'Keys'],
    ['routes', 'Routes'],
    ['requests', 'Requests'],
    ['billing', 'Billing'],
    ['health', 'Health'],
  ];
  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  let key = sessionStorage.getItem(KEY_SLOT);
  // Each render gets a number: an answer for a page the user already left is dropped.
  let shown = 0;

  // ---- DOM ------------------------------------------------------------------------------------------
  function put(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const h = (tag, attrs, ...kids) => put(document.createElement(tag), attrs, kids);
  const s = (tag, attrs, ...kids) => put(document.createElementNS(SVG, tag), attrs, kids);
  const table = (heads, rows, attrs) =>
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        attrs,
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            heads.map((t) => h('th', { class: t.endsWith(' ') ? 'num' : null, scope: 'col' }, t.trim())),
          ),
        ),
        h('tbody', null, rows),
      ),
    );
  const num = (v) => h('td', { class: 'num' }, v);
  const alert = (text) => h('div', { class: 'alert', role: 'alert' }, text);

  // ---- Formats --------------------------------------------------------------------------------------
  const usd = (v) =>
    v === null || v === undefined ? '–' : v > 0 && v < 0.01 ? `$${v.toPrecision(2)}` : `$${v.toFixed(2)}`;
  const int = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
  const ms = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)} ms`);
  const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
  const when = (iso) => (typeof iso === 'string' ? iso.replace('T', ' ').slice(0, 19) : '–');
  const today = () => new Date().toISOString().slice(0, 10);
  const daysBack = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  const field = (label, input) => h('label', null, label, input);

  // ---- API ------------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const res = await fetch(new URL(`admin/v1/${path}`, BASE), {
      method,
      cache: 'no-store',
      credentials: 'omit',
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let data;
    try {
      data = text === '' ? {} : JSON.parse(text);
    } catch {
      data = { error: { message: text.slice(0, 300) } };
    }
    if (!res.ok) {
      const err = new Error(data?.error?.message ?? `HTTP ${res.status}`);
      err.status = res.status;
      err.requestId = res.headers.get('x-request-id');
      // The key stopped working (revoked, or mistyped at login): forget it, whatever the page was doing.
      if (res.status === 401) refused();
      throw err;
    }
    return data;
  }
  const problem = (err) => alert(`${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}`);

  // ---- Shell ----------------------------------------------------------------------------------------
  function pageOf() {
    const [page, ...rest] = location.hash.replace(/^#/, '').split('/');
    return { page: PAGES.some(([id]) => id === page) ? page : 'overview', arg: rest.join('/') };
  }

  function drawNav(page) {
    nav.hidden = false;
    nav.replaceChildren(
      h(
        'ul',
        null,
        PAGES.map(([id, label]) =>
          h('li', null, h('a', { href: `#${id}`, 'aria-current': id === page ? 'page' : null }, label)),
        ),
        h('li', null, h('a', { href: '#logout', id: 'logout' }, 'Log out')),
      ),
    );
  }

  function refused() {
    sessionStorage.removeItem(KEY_SLOT);
    key = null;
    shown++;
    login('That key was refused (401): enter a valid key.');
  }

  async function render() {
    if (location.hash === '#logout') {
      sessionStorage.removeItem(KEY_SLOT);
      key = null;
      history.replaceState(null, '', location.pathname);
    }
    if (!key) return login();
    const { page, arg } = pageOf();
    drawNav(page);
    who.textContent = 'key set for this tab';
    const mine = ++shown;
    const label = PAGES.find(([id]) => id === page)[1];
    document.title = `${label} · Switchyard console`;
    const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
    main.replaceChildren(h('h1', null, label), body);
    main.focus();
    try {
      const view = await VIEWS[page](arg, () => mine === shown);
      if (mine !== shown) return;
      body.replaceChildren(...[view].flat(Infinity));
    } catch (err) {
      if (mine !== shown || err.status === 401) return;
      body.replaceChildren(problem(err));
    }
    body.removeAttribute('aria-busy');
  }

  function login(message) {
    nav.hidden = true;
    who.textContent = '';
    document.title = 'Log in · Switchyard console';
    const input = h('input', {
      id: 'key',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: 'sk-sy-… or the master key',
    });
    const out = h('div', { 'aria-live': 'polite' }, message ? alert(message) : null);
    const form = h(
      'form',
      {
        class: 'panel login',
        onsubmit: async (e) => {
          e.preventDefault();
          key = input.value.trim();
          try {
            // A light admin call: the routes come from the gateway's route cache.
            await api('GET', 'routes');
            sessionStorage.setItem(KEY_SLOT, key);
            who.textContent = 'key set for this tab';
            if (location.hash === '' || location.hash === '#logout') location.hash = '#overview';
            else render();
          } catch (err) {
            key = null;
            if (err.status !== 401) out.replaceChildren(problem(err));
          }
        },
      },
      h('h1', null, 'Switchyard console'),
      h(
        'p',
        { class: 'muted' },
        'Enter the master key or a key made with keys create --admin. It stays in this tab only and is sent as a bearer header.',
      ),
      field('Admin key', input),
      h('p', null, h('button', { class: 'primary', type: 'submit' }, 'Log in')),
      out,
    );
    main.replaceChildren(form);
    input.focus();
  }

  // ---- Charts ---------------------------------------------------------------------------------------
  // Stacked bars per slot (a day, 5 minutes): one series per name (the 7 largest, the rest as "other").
  // Each row carries its slot in `slot`.
  function chart(kind, title, rows, dim, metric, days, opts = {}) {
    const none = opts.none ?? 'No traffic in this window.';
    const label = opts.label ?? ((d) => d.slice(5));
    const totals = new Map();
    for (const r of rows) totals.set(r[dim], (totals.get(r[dim]) ?? 0) + r[metric]);
    const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n);
    const top = ranked.slice(0, 7);
    // The rest, as one series no name can be (a model or key may well be called "other").
    const names = ranked.length > 7 ? [...top, OTHER] : top;
    const seriesOf = (n) => (top.includes(n) ? n : OTHER);
    const nameOf = (n) => (n === OTHER ? `${ranked.length - 7} others` : n);
    const byDay = new Map(days.map((d) => [d, new Map()]));
    for (const r of rows) {
      const day = byDay.get(r.slot);
      if (day === undefined) continue;
      const n = seriesOf(r[dim]);
      day.set(n, (day.get(n) ?? 0) + r[metric]);
    }
    const max = Math.max(0, ...[...byDay.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
    const W = 560;
    const H = 240;
    const L = 70;
    const B = 24;
    const top0 = 10;
    const plotH = H - B - top0;
    const step = (W - L - 8) / Math.max(1, days.length);
    const fmt = metric === 'costUsd' ? usd : int;
    const svg = s('svg', {
      class: 'chart',
      'data-chart': kind,
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': title,
    });
    const ticks = 4;
    for (let i = 0; i <= ticks; i++) {
      const y = top0 + plotH - (plotH * i) / ticks;
      svg.append(s('line', { class: 'axis', x1: L, x2: W - 4, y1: y, y2: y }));
      svg.append(
        s('text', { class: 'tick', x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmt((max * i) / ticks)),
      );
    }
    const every = Math.ceil(days.length / 10);
    days.forEach((d, i) => {
      const x = L + i * step;
      if (i % every === 0)
        svg.append(
          s('text', { class: 'tick', x: x + step / 2, y: H - 6, 'text-anchor': 'middle' }, label(d)),
        );
      let y = top0 + plotH;
      const day = byDay.get(d);
      names.forEach((n, si) => {
        const v = day.get(n) ?? 0;
        if (v <= 0 || max <= 0) return;
        const hgt = Math.max(1, (v / max) * plotH);
        y -= hgt;
        svg.append(
          s(
            'rect',
            {
              class: `mark s${si}`,
              x: x + step * 0.15,
              y,
              width: Math.max(1, step * 0.7),
              height: hgt,
              'data-series': nameOf(n),
            },
            s('title', null, `${label(d)} · ${nameOf(n)}: ${fmt(v)}`),
          ),
        );
      });
    });
    const legend = h(
      'ul',
      { class: 'legend' },
      names.map((n, si) =>
        h(
          'li',
          null,
          h('span', { class: `swatch s${si}`, 'aria-hidden': 'true' }),
          `${nameOf(n)} (${fmt(n === OTHER ? sumOther(totals, top) : totals.get(n))})`,
        ),
      ),
    );
    const empty = max <= 0 ? h('p', { class: 'muted' }, none) : null;
    return h('figure', { class: 'chart panel' }, h('figcaption', null, title), svg, legend, empty);
  }
  const OTHER = Symbol('other');
  const sumOther = (totals, top) =>
    [...totals.entries()].filter(([n]) => !top.includes(n)).reduce((a, [, v]) => a + v, 0);

  function dayList(from, to) {
    const out = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
      out.push(new Date(t).toISOString().slice(0, 10));
    return out;
  }

  // ---- Pages ----------------------------------------------------------------------------------------
  const card = (label, value, sub) =>
    h(
      'div',
      { class: 'card' },
      h('div', { class: 'label' }, label),
      h('div', { class: 'value' }, value),
      sub ? h('div', { class: 'sub' }, sub) : null,
    );

  async function overviewPage(arg) {
    const span = ['7', '14', '30'].includes(arg) ? Number(arg) : 7;
    const [o, keys] = await Promise.all([
      api('GET', `overview?from=${daysBack(span - 1)}&to=${today()}`),
      api('GET', 'keys').catch(() => ({ data: [] })),
    ]);
    const days = dayList(o.from, o.to);
    const budgets = keys.data.filter((k) => typeof k.budgetUsd === 'number' && !k.revokedAt);
    const select = h(
      'select',
      { id: 'span', onchange: (e) => (location.hash = `#overview/${e.target.value}`) },
      ['7', '14', '30'].map((d) => h('option', { value: d, selected: Number(d) === span }, `last ${d} days`)),
    );
    return [
      h(
        'div',
        { class: 'row' },
        field('Window', select),
        h('p', { class: 'muted' }, `${o.from} to ${o.to}, UTC`),
      ),
      h(
        'div',
        { class: 'cards' },
        card('Spend today', usd(o.spend.todayUsd)),
        card('Spend this month', usd(o.spend.monthUsd)),
        card('Requests', int(o.total.requests), `${int(o.total.errors)} errors`),
        card('Error rate', pct(o.errorRate)),
        card(
          'Latency p50 / p99',
          `${ms(o.lastHour.latencyMs.p50)} / ${ms(o.lastHour.latencyMs.p99)}`,
          'last hour',
        ),
        card('TTFT p50 / p99', `${ms(o.lastHour.ttftMs.p50)} / ${ms(o.lastHour.ttftMs.p99)}`, 'last hour'),
        card('Tokens in / out', `${int(o.total.inputTokens)} / ${int(o.total.outputTokens)}`),
        card('Spend in window', usd(o.total.costUsd)),
      ),
      h('h2', null, 'Budgets'),
      budgets.length === 0
        ? h('p', { class: 'muted' }, 'No key has a budget.')
        : table(
            ['Key', 'Period', 'Spent ', 'Budget ', 'Used'],
            budgets.map((k) =>
              h(
                'tr',
                null,
                h('td', null, k.name),
                h('td', null, k.window ?? k.period ?? ''),
                num(usd(k.spentUsd)),
                num(usd(k.budgetUsd)),
                h(
                  'td',
                  null,
                  h('meter', {
                    min: 0,
                    max: k.budgetUsd,
                    value: k.spentUsd ?? 0,
                    high: k.budgetUsd * 0.8,
                    optimum: 0,
                    'aria-label': `${k.name} budget used`,
                  }),
                ),
              ),
            ),
          ),
      h('h2', null, 'Over time'),
      h(
        'div',
        { class: 'grid2' },
        chart(
          'spend-provider',
          'Spend by provider, per day',
          providers(daily(o.byProvider)),
          'provider',
          'costUsd',
          days,
        ),
        chart('requests-model', 'Requests by model, per day', daily(o.byModel), 'model', 'requests', days),
        chart(
          'spend-key',
          'Spend by key, per day',
          daily(o.byKey).map((r) => ({ ...r, key: keyName(keys, r.key) })),
          'key',
          'costUsd',
          days,
        ),
        chart('errors-model', 'Errors by model, per day', daily(o.byModel), 'model', 'errors', days, {
          none: 'No errors in this window.',
        }),
        hourFigure(o, keys),
      ),
    ];
  }

  // The last hour in 5-minute steps, by provider, model or key (a select redraws it in place).
  function hourFigure(o, keys) {
    const rowsBy = {
      provider: () => providers(o.lastHour.byProvider),
      model: () => o.lastHour.byModel,
      key: () => o.lastHour.byKey.map((r) => ({ ...r, key: keyName(keys, r.key) })),
    };
    const draw = (dim) =>
      chart(
        `hour-${dim}`,
        `Requests by ${dim}, last hour (${o.lastHour.bucketMinutes}-minute steps)`,
        rowsBy[dim]().map((r) => ({ ...r, slot: r.at })),
        dim,
        'requests',
        slotsOf(o.lastHour.from, o.lastHour.bucketMinutes, 60 / o.lastHour.bucketMinutes),
        { none: 'No traffic in the last hour.', label: (at) => at.slice(11, 16) },
      );
    const slot = h('div', null, draw('provider'));
    const by = h(
      'select',
      { id: 'hour-by', onchange: (e) => slot.replaceChildren(draw(e.target.value)) },
      Object.keys(rowsBy).map((d) => h('option', { value: d }, `by ${d}`)),
    );
    return h('div', null, field('Last hour', by), slot);
  }
  const daily = (rows) => rows.map((r) => ({ ...r, slot: r.day }));
  // The server's bucket starts, the same arithmetic: from + i × step.
  const slotsOf = (from, minutes, n) =>
    Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * minutes * 60_000).toISOString());
  // A key's name, with its id when another key has the same name (their spend stays apart).
  const keyName = (keys, id) => {
    const k = keys.data.find((x) => x.id === id);
    if (k === undefined) return id;
    return keys.data.some((x) => x.name === k.name && x.id !== id) ? `${k.name} (${id})` : k.name;
  };
  // `-`: requests that reached no provider (refused or failed before routing).
  const providers = (rows) => rows.map((r) => (r.provider === '-' ? { ...r, provider: '(no provider)' } : r));

  // Keys: the list, create (the key shown once), edit limits and allow-list, revoke. An action refreshes the
  // list in place (the page, its forms and the focus stay), and only while the user is still on this page.
  async function keysPage(_arg, current) {
    const ctx = {
      current,
      out: h('div', { id: 'keys-out', 'aria-live': 'polite', tabindex: '-1' }),
      made: h('div', { id: 'made-slot' }),
      list: h('div', { id: 'keys-list' }),
    };
    ctx.refresh = async () => {
      const list = await api('GET', 'keys');
      if (!current()) return;
      const rows = list.data.flatMap((k) => keyRows(k, ctx));
      ctx.list.replaceChildren(
        table(['Name', 'Id', 'Models', 'RPM ', 'Budget ', 'Spent ', 'Status', 'Team', ''], rows, {
          id: 'keys',
        }),
      );
    };
    await ctx.refresh();
    return [createForm(ctx), ctx.made, ctx.out, ctx.list];
  }

  const csv = (v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const numOrNull = (v) => (v.trim() === '' ? null : Number(v));
  const absent = (v) => v === null || v === undefined;

  // Runs an action with its button disabled (no double submit); its error goes to the page's message box.
  async function act(button, out, fn) {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      if (err.status !== 401) out.replaceChildren(problem(err));
    } finally {
      button.disabled = false;
    }
  }

  function createForm(ctx) {
    const f = {
      name: h('input', { name: 'name', required: true, maxlength: 100 }),
      team: h('input', { name: 'team', maxlength: 64 }),
      models: h('input', { name: 'models', placeholder: 'all' }),
      rpm: h('input', { name: 'rpm', type: 'number', min: 1, step: 1 }),
      budgetUsd: h('input', { name: 'budgetUsd', type: 'number', min: 0.01, step: 'any' }),
      period: h(
        'select',
        { name: 'period' },
        ['month', 'day', 'total'].map((p) => h('option', { value: p }, p)),
      ),
      admin: h('input', { name: 'admin', type: 'checkbox' }),
    };
    const submit = h('button', { class: 'primary', type: 'submit' }, 'Create');
    const form = h(
      'form',
      {
        class: 'panel row',
        id: 'create-key',
        onsubmit: (e) => {
          e.preventDefault();
          const body = { name: f.name.value.trim() };
          if (f.team.value.trim()) body.team = f.team.value.trim();
          if (csv(f.models.value).length > 0) body.models = csv(f.models.value);
          if (f.rpm.value) body.rpm = Number(f.rpm.value);
          if (f.budgetUsd.value) {
            body.budgetUsd = Number(f.budgetUsd.value);
            body.period = f.period.value;
          }
          if (f.admin.checked) body.admin = true;
          return act(submit, ctx.out, async () => {
            const made = await api('POST', 'keys', body);
            // The key first: whatever happens to the list's refresh, it is on the page.
            ctx.out.replaceChildren();
            showKey(ctx, made);
            form.reset();
            await ctx.refresh();
          });
        },
      },
      h('h2', null, 'Create a key'),
      h(
        'div',
        { class: 'row' },
        field('Name', f.name),
        field('Team', f.team),
        field('Models (comma-separated)', f.models),
        field('RPM', f.rpm),
        field('Budget USD', f.budgetUsd),
        field('Period', f.period),
        h('label', { class: 'check' }, f.admin, 'admin'),
        submit,
      ),
    );
    return form;
  }

  // The new key, once: with a copy button; the page keeps it nowhere else.
  function showKey(ctx, made) {
    const code = h('code', { id: 'new-key' }, made.key);
    const status = h('span', { class: 'muted', 'aria-live': 'polite' });
    const copy = h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(made.key);
            status.textContent = 'Copied.';
          } catch {
            getSelection().selectAllChildren(code);
            status.textContent = 'Selected: press Ctrl+C to copy.';
          }
        },
      },
      'Copy',
    );
    ctx.made.replaceChildren(
      h(
        'div',
        { class: 'note', id: 'made' },
        h('p', null, `Created ${made.name} (${made.id}). This is the only time the key is shown:`),
        h('div', { class: 'secret' }, code, copy, status),
      ),
    );
    copy.focus();
  }

  function keyRows(k, ctx) {
    const revoked = Boolean(k.revokedAt);
    const status = revoked
      ? h('span', { class: 'badge bad' }, 'revoked')
      : h('span', { class: 'badge good' }, k.admin ? 'active, admin' : 'active');
    const actions = h('div', { class: 'row' });
    const editRow = h('tr', { hidden: true }, h('td', { colspan: 9 }, editForm(k, ctx)));
    if (!revoked) {
      actions.append(
        h(
          'button',
          {
            type: 'button',
            'data-action': 'edit',
            'aria-expanded': 'false',
            onclick: (e) => {
              editRow.hidden = !editRow.hidden;
              e.currentTarget.setAttribute('aria-expanded', String(!editRow.hidden));
              editRow.querySelector('input')?.focus();
            },
          },
          'Edit',
        ),
        revokeButton(k, ctx, actions),
      );
    }
    const row = h(
      'tr',
      { 'data-key': k.id },
      h('td', null, k.name),
      h('td', { class: 'mono' }, k.id),
      h('td', null, k.models ? k.models.join(', ') : 'all'),
      num(k.rpm ?? '–'),
      num(absent(k.budgetUsd) ? '–' : `${usd(k.budgetUsd)}/${k.period ?? 'month'}`),
      num(absent(k.spentUsd) ? '–' : usd(k.spentUsd)),
      h('td', null, status),
      h('td', null, k.team ?? '–'),
      h('td', null, actions),
    );
    return [row, editRow];
  }

  // Revoke asks once more in the page (no window.confirm): Revoke → Confirm revoke / Cancel.
  function revokeButton(k, ctx, cell) {
    const start = h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke');
    start.addEventListener('click', () => {
      const before = [...cell.childNodes];
      const yes = h(
        'button',
        { type: 'button', class: 'danger', 'data-action': 'confirm-revoke' },
        `Confirm revoke ${k.name}`,
      );
      yes.addEventListener('click', () =>
        act(yes, ctx.out, async () => {
          await api('DELETE', `keys/${encodeURIComponent(k.id)}`);
          ctx.out.replaceChildren(h('div', { class: 'note' }, `Revoked ${k.name} (${k.id}).`));
          ctx.out.focus();
          await ctx.refresh();
        }),
      );
      const no = h(
        'button',
        {
          type: 'button',
          onclick: () => {
            cell.replaceChildren(...before);
            start.focus();
          },
        },
        'Cancel',
      );
      cell.replaceChildren(yes, no);
      yes.focus();
    });
    return start;
  }

  // Sends only what the form changed (an edit of the team leaves the rest as the store has it).
  function editForm(k, ctx) {
    const f = {
      models: h('input', { name: 'models', value: k.models ? k.models.join(', ') : '', placeholder: 'all' }),
      rpm: h('input', { name: 'rpm', type: 'number', min: 1, step: 1, value: k.rpm ?? '' }),
      budgetUsd: h('input', {
        name: 'budgetUsd',
        type: 'number',
        min: 0.01,
        step: 'any',
        value: k.budgetUsd ?? '',
      }),
      period: h(
        'select',
        { name: 'period' },
        ['month', 'day', 'total'].map((p) =>
          h('option', { value: p, selected: (k.period ?? 'month') === p }, p),
        ),
      ),
      team: h('input', { name: 'team', maxlength: 64, value: k.team ?? '' }),
    };
    const save = h('button', { class: 'primary', type: 'submit' }, 'Save limits');
    return h(
      'form',
      {
        class: 'row',
        'data-edit': k.id,
        onsubmit: (e) => {
          e.preventDefault();
          const models = csv(f.models.value);
          const next = {
            models: models.length === 0 ? null : models,
            rpm: numOrNull(f.rpm.value),
            budgetUsd: numOrNull(f.budgetUsd.value),
            period: numOrNull(f.budgetUsd.value) === null ? null : f.period.value,
            team: f.team.value.trim() === '' ? null : f.team.value.trim(),
          };
          const was = {
            models: k.models ?? null,
            rpm: k.rpm ?? null,
            budgetUsd: k.budgetUsd ?? null,
            period: absent(k.budgetUsd) ? null : (k.period ?? 'month'),
            team: k.team ?? null,
          };
          const body = Object.fromEntries(
            Object.entries(next).filter(([name, v]) => JSON.stringify(v) !== JSON.stringify(was[name])),
          );
          // A budget removed takes its period with it (the API does so): no period to send then.
          if (body.budgetUsd === null) delete body.period;
          if (Object.keys(body).length === 0) {
            ctx.out.replaceChildren(h('div', { class: 'note' }, 'Nothing changed.'));
            return;
          }
          return act(save, ctx.out, async () => {
            await api('PATCH', `keys/${encodeURIComponent(k.id)}`, body);
            ctx.out.replaceChildren(h('div', { class: 'note' }, `Saved ${k.name} (${k.id}).`));
            await ctx.refresh();
          });
        },
      },
      field('Models (comma-separated, empty: all)', f.models),
      field('RPM (empty: none)', f.rpm),
      field('Budget USD (empty: none)', f.budgetUsd),
      field('Period', f.period),
      field('Team', f.team),
      save,
    );
  }

  // Routes: the YAML in the store, checked by the config's own validation (problems at their line) and
  // diffed before it is saved the way `routes sync` saves it.
  async function routesPage() {
    const { yaml } = await api('GET', 'routes');
    const text = h('textarea', {
      id: 'yaml',
      spellcheck: 'false',
      wrap: 'off',
      'aria-label': 'Routes YAML',
      'aria-describedby': 'routes-out',
    });
    text.value = yaml;
    const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
    const out = h('div', { id: 'routes-out', 'aria-live': 'polite' });
    let bad = new Set();
    const drawGutter = () => {
      const n = text.value.split('\n').length;
      const lines = [];
      for (let i = 1; i <= n; i++)
        lines.push(h('span', { class: bad.has(i) ? 'bad' : null, 'data-line': i }, `${i}\n`));
      gutter.replaceChildren(...lines);
      gutter.scrollTop = text.scrollTop;
    };
    text.addEventListener('input', drawGutter);
    text.addEventListener('scroll', () => {
      gutter.scrollTop = text.scrollTop;
    });
    const goTo = (line) => {
      const lines = text.value.split('\n');
      const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
      text.focus();
      text.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
      text.scrollTop = Math.max(0, (line - 5) * 18);
    };
    const check = async () => {
      const r = await api('POST', 'routes/check', { yaml: text.value });
      bad = new Set(r.problems.map((p) => p.line).filter((l) => l > 0));
      drawGutter();
      // Bring the first problem's line into view (the focus stays where it is).
      const first = Math.min(...bad);
      if (Number.isFinite(first)) {
        text.scrollTop = Math.max(0, (first - 5) * 18);
        gutter.scrollTop = text.scrollTop;
      }
      const diff =
        r.diff.length === 0
          ? h('p', { class: 'muted' }, 'No change from the store.')
          : h(
              'ul',
              { class: 'diff' },
              r.diff.map((d) =>
                h('li', { 'data-change': d.change }, `${d.change}: ${d.section} · ${d.name}`),
              ),
            );
      if (!r.ok)
        out.replaceChildren(
          h(
            'div',
            { class: 'alert', role: 'alert' },
            `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}: nothing was saved.`,
          ),
          h(
            'ol',
            { class: 'problems' },
            r.problems.map((p) =>
              h(
                'li',
                null,
                h(
                  'button',
                  { type: 'button', 'data-line': p.line, onclick: () => p.line > 0 && goTo(p.line) },
                  `${p.line > 0 ? `Line ${p.line}, column ${p.column}` : 'The text'}: ${p.path ? `${p.path}: ` : ''}${p.message}`,
                ),
              ),
            ),
          ),
        );
      else out.replaceChildren(h('div', { class: 'note' }, 'Valid. Saving would change:'), diff);
      return { ...r, diffList: diff };
    };
    const guard = (fn) => async () => {
      try {
        await fn();
      } catch (err) {
        out.replaceChildren(problem(err));
      }
    };
    const save = async () => {
      const r = await check();
      if (!r.ok) return;
      const saved = await api('PUT', 'routes', { yaml: text.value });
      out.replaceChildren(
        h(
          'div',
          { class: 'note', id: 'saved' },
          `Saved: ${saved.put ?? 0} written, ${saved.deleted ?? 0} deleted. Gateways use it once their route cache refreshes. It changed:`,
        ),
        r.diffList,
      );
    };
    drawGutter();
    return [
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', id: 'check', onclick: guard(check) }, 'Check'),
        h('button', { type: 'button', class: 'primary', id: 'save', onclick: guard(save) }, 'Check and save'),
      ),
      out,
      h('div', { class: 'editor' }, gutter, text),
    ];
  }

  // Requests: the latest ledger records of a window, with filters; a request's detail.
  async function requestsPage(arg) {
    if (arg.startsWith('id/')) return requestDetail(decodeURIComponent(arg.slice(3)));
    const q = new URLSearchParams(arg);
    const hours = ['1', '6', '24'].includes(q.get('hours')) ? Number(q.get('hours')) : 1;
    // `until`: a UTC minute (YYYY-MM-DDTHH:MM) the window ends at; absent: now.
    const untilText = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(q.get('until') ?? '') ? q.get('until') : '';
    const untilMs = untilText ? Date.parse(`${untilText}:00Z`) : Date.now();
    const query = new URLSearchParams({
      since: new Date(untilMs - hours * 3_600_000).toISOString(),
      until: new Date(untilMs).toISOString(),
      limit: '200',
    });
    for (const k of ['key', 'route', 'provider', 'status']) if (q.get(k)) query.set(k, q.get(k));
    const list = await api('GET', `requests?${query}`);
    const inputs = Object.fromEntries(
      ['key', 'route', 'provider', 'status'].map((k) => [
        k,
        h('input', {
          name: k,
          value: q.get(k) ?? '',
          placeholder: k === 'status' ? '5xx, 429, error' : 'any',
        }),
      ]),
    );
    const span = h(
      'select',
      { name: 'hours' },
      ['1', '6', '24'].map((v) => h('option', { value: v, selected: Number(v) === hours }, `last ${v} h`)),
    );
    const until = h('input', { name: 'until', type: 'datetime-local', value: untilText, step: 60 });
    const filters = h(
      'form',
      {
        class: 'panel row',
        onsubmit: (e) => {
          e.preventDefault();
          const next = new URLSearchParams({ hours: span.value });
          if (until.value) next.set('until', until.value.slice(0, 16));
          for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) next.set(k, el.value.trim());
          location.hash = `#requests/${next}`;
        },
      },
      field('Key id', inputs.key),
      field('Route', inputs.route),
      field('Provider', inputs.provider),
      field('Status', inputs.status),
      field('Window', span),
      field('Ending at (UTC; empty: now)', until),
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    );
    const rows = list.data.map((r) =>
      h(
        'tr',
        { 'data-request': r.requestId },
        h('td', null, when(r.time)),
        h(
          'td',
          { class: 'mono' },
          h('a', { href: `#requests/id/${encodeURIComponent(r.requestId)}` }, r.requestId),
        ),
        h('td', { class: 'mono' }, r.keyId),
        h('td', null, r.route ?? '–'),
        h('td', null, r.provider ? `${r.provider}/${r.model ?? ''}` : '–'),
        h(
          'td',
          null,
          h(
            'span',
            { class: `badge ${r.status >= 500 ? 'bad' : r.status >= 400 ? 'warn' : 'good'}` },
            r.status,
          ),
        ),
        num(ms(r.latencyMs)),
        num(ms(r.ttftMs)),
        num(`${int(r.inputTokens)} / ${int(r.outputTokens)}`),
        num(usd(r.costUsd)),
      ),
    );
    return [
      filters,
      h(
        'p',
        { class: 'muted' },
        `${list.data.length} record${list.data.length === 1 ? '' : 's'}${list.hasMore ? ' (more match: narrow the filters)' : ''}, ${when(list.since)} to ${when(list.until)} UTC`,
      ),
      table(
        [
          'Time (UTC)',
          'Request',
          'Key',
          'Route',
          'Served by',
          'Status',
          'Latency ',
          'TTFT ',
          'Tokens in / out ',
          'Cost ',
        ],
        rows,
        { id: 'requests' },
      ),
    ];
  }

  // The way a request took through its route's targets, when it took more than one attempt.
  const steps = (rec) =>
    rec.tried === undefined
      ? h('p', { class: 'muted' }, 'Served at its first attempt.')
      : table(
          ['Step ', 'Target', 'Outcome', 'Status ', 'Time '],
          rec.tried.steps.map((st, i) =>
            h(
              'tr',
              { 'data-step': i + 1 },
              num(i + 1),
              h('td', null, `${st.provider}/${st.model}`),
              h(
                'td',
                null,
                h('span', { class: `badge ${st.outcome === 'ok' ? 'good' : 'bad'}` }, st.outcome),
              ),
              num(st.status ?? '–'),
              num(ms(st.ms)),
            ),
          ),
          { class: 'steps' },
        );

  async function requestDetail(id) {
    const r = await api('GET', `requests/${encodeURIComponent(id)}`);
    const dl = (rec) =>
      h(
        'dl',
        { class: 'detail panel' },
        [
          ['Time (UTC)', when(rec.time)],
          ['Key', rec.keyId],
          ['Endpoint', rec.endpoint],
          ['Route', rec.route ?? '–'],
          ['Served by', rec.provider ? `${rec.provider}/${rec.model ?? ''}` : '–'],
          ['Status', `${rec.status}${rec.errorCode ? ` (${rec.errorCode})` : ''}`],
          ['Attempts', String(rec.attempts)],
          ['Retries', String(rec.tried?.retries ?? 0)],
          ['Fallbacks', String(rec.tried?.fallbacks ?? 0)],
          ['Stream', rec.stream ? 'yes' : 'no'],
          ['Tokens in / out', `${int(rec.inputTokens)} / ${int(rec.outputTokens)}`],
          [
            'Cached / cache write / reasoning',
            `${int(rec.cachedInputTokens)} / ${int(rec.cacheWriteTokens)} / ${int(rec.reasoningTokens)}`,
          ],
          ['Cost', `${usd(rec.costUsd)}${rec.priceVersion ? ` (prices ${rec.priceVersion})` : ''}`],
          ['Usage source', rec.usageSource],
          ['Upstream id', rec.upstreamId ?? '–'],
          ['Latency / TTFT', `${ms(rec.latencyMs)} / ${ms(rec.ttftMs)}`],
          ['Implausible usage', rec.implausible ?? '–'],
        ].flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
      );
    return [
      h('p', null, h('a', { href: '#requests' }, '← All requests')),
      h('h2', { class: 'mono' }, r.requestId),
      r.records.map((rec) => [dl(rec), steps(rec)]),
    ];
  }

  // Billing: balances, a reconciliation run now, the reports per provider and day.
  async function billingPage(_arg, current) {
    const r = await api('GET', `billing/reports?from=${daysBack(13)}&to=${today()}`);
    const out = h('div', { 'aria-live': 'polite' });
    const providers = [
      ...new Set(r.data.map((x) => x.provider).concat((r.balances ?? []).map((b) => b.provider))),
    ].sort();
    const provider = h(
      'select',
      { name: 'provider' },
      h('option', { value: '' }, 'all providers'),
      providers.map((p) => h('option', { value: p }, p)),
    );
    const day = h('input', { name: 'day', type: 'date', value: today(), max: today() });
    const run = h(
      'form',
      {
        class: 'panel row',
        id: 'reconcile',
        onsubmit: async (e) => {
          e.preventDefault();
          const button = run.querySelector('button');
          button.disabled = true;
          out.replaceChildren(h('p', { class: 'muted' }, 'Reconciling…'));
          try {
            const body = {};
            if (day.value) body.day = day.value;
            if (provider.value) body.provider = provider.value;
            const done = await api('POST', 'billing/reconcile', body);
            // A local run takes as long as the billing APIs: the user may be on another page by now.
            if (!current()) return;
            await render();
            main
              .querySelector('#billing-out')
              ?.replaceChildren(
                h(
                  'div',
                  { class: 'note' },
                  done.status === 'started'
                    ? 'Reconciliation started: its reports appear here when it finishes (reload).'
                    : `Reconciled: ${done.data?.length ?? 0} report(s).`,
                ),
              );
          } catch (err) {
            if (err.status !== 401) out.replaceChildren(problem(err));
            button.disabled = false;
          }
        },
      },
      field('Provider', provider),
      field('Day (UTC)', day),
      h('button', { type: 'submit', class: 'primary' }, 'Run a reconciliation now'),
    );
    out.id = 'billing-out';
    const verdict = (v) =>
      h(
        'span',
        { class: `badge ${v === 'ok' ? 'good' : v === 'drift' || v === 'error' ? 'bad' : 'warn'}` },
        v,
      );
    const money = (m) =>
      m === undefined ? '–' : m.currency === 'USD' ? usd(m.amount) : `${m.amount.toFixed(2)} ${m.currency}`;
    return [
      h('h2', null, 'Balances'),
      (r.balances ?? []).length === 0
        ? h('p', { class: 'muted' }, 'No provider reports a balance.')
        : h(
            'div',
            { class: 'cards' },
            r.balances.map((b) =>
              card(b.provider, money(b.balance), b.lowBalance ? 'low balance' : `as of ${b.day}`),
            ),
          ),
      run,
      out,
      h('h2', null, 'Reports'),
      r.data.length === 0
        ? h('p', { class: 'muted' }, `No reports from ${r.from} to ${r.to}.`)
        : table(
            ['Provider', 'Day', 'Verdict', 'Ledger ', 'Provider bill ', 'Drift ', 'Reason'],
            r.data.map((x) =>
              h(
                'tr',
                { 'data-report': `${x.provider}/${x.day}` },
                h('td', null, x.provider),
                h('td', null, `${x.day}${x.partial ? ' (so far)' : ''}`),
                h('td', null, verdict(x.verdict)),
                num(usd(x.ledger?.costUsd)),
                num(x.providerFigures ? money(x.providerFigures.cost) : '–'),
                num(
                  x.driftPercent === undefined
                    ? '–'
                    : `${x.driftPercent > 0 ? '+' : ''}${x.driftPercent}% (${usd(x.driftUsd)})`,
                ),
                h('td', null, x.reason),
              ),
            ),
            { id: 'reports' },
          ),
    ];
  }

  // Health: every target of every route as the fleet sees it.
  async function healthPage() {
    const r = await api('GET', 'health');
    if (r.data.length === 0) return h('p', { class: 'muted' }, 'No routes in the store.');
    const state = (v) => {
      if (v.status === 'healthy') return h('span', { class: 'badge good' }, 'healthy');
      if (v.status === 'half-open') return h('span', { class: 'badge warn' }, 'half-open (probing)');
      return v.reason === 'breaker'
        ? h('span', { class: 'badge bad' }, 'breaker open')
        : h('span', { class: 'badge warn' }, `cooling down (${v.reason.replace('_', ' ')})`);
    };
    return r.data.map((route) =>
      h(
        'section',
        { class: 'panel', 'data-route': route.route },
        h('h2', null, `${route.route} `, h('span', { class: 'muted' }, `(${route.strategy})`)),
        table(
          ['Target', 'Breaker', 'State', 'Latency ', 'TTFT ', 'Open until', 'Last seen'],
          route.targets.flatMap((t) =>
            t.breakers.map((v) =>
              h(
                'tr',
                null,
                h('td', null, t.target),
                h('td', { class: 'mono' }, v.id),
                h('td', null, state(v)),
                num(ms(v.latencyMs)),
                num(ms(v.ttftMs)),
                h('td', null, v.openUntil > 0 ? when(new Date(v.openUntil).toISOString()) : '–'),
                h('td', null, v.seenAt ? when(new Date(v.seenAt).toISOString()) : '–'),
              ),
            ),
          ),
        ),
      ),
    );
  }

  const VIEWS = {
    overview: overviewPage,
    keys: keysPage,
    routes: routesPage,
    requests: requestsPage,
    billing: billingPage,
    health: healthPage,
  };

  window.addEventListener('hashchange', render);
  render();
})();
