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
      if (mine !== shown) return;
      if (err.status === 401) {
        sessionStorage.removeItem(KEY_SLOT);
        key = null;
        return login('That key was refused (401): enter a valid key.');
      }
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
            await api('GET', 'health');
            sessionStorage.setItem(KEY_SLOT, key);
            who.textContent = 'key set for this tab';
            if (location.hash === '' || location.hash === '#logout') location.hash = '#overview';
            else render();
          } catch (err) {
            key = null;
            out.replaceChildren(problem(err));
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
    const names = ranked.length > 7 ? [...top, 'other'] : top;
    const seriesOf = (n) => (top.includes(n) ? n : 'other');
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
      'aria-label': `${title}, per day`,
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
              'data-series': n,
            },
            s('title', null, `${d} · ${n}: ${fmt(v)}`),
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
          `${n} (${fmt(totals.get(n) ?? sumOther(totals, top))})`,
        ),
      ),
    );
    const empty = max <= 0 ? h('p', { class: 'muted' }, none) : null;
    return h('figure', { class: 'chart panel' }, h('figcaption', null, title), svg, legend, empty);
  }
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
          daily(o.byProvider),
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
        chart(
          'hour-provider',
          `Requests by provider, last hour (${o.lastHour.bucketMinutes}-minute steps)`,
          o.lastHour.byProvider.map((r) => ({ ...r, slot: r.at })),
          'provider',
          'requests',
          slotsOf(o.lastHour.from, o.lastHour.bucketMinutes, 60 / o.lastHour.bucketMinutes),
          { none: 'No traffic in the last hour.', label: (at) => at.slice(11, 16) },
        ),
      ),
    ];
  }
  const daily = (rows) => rows.map((r) => ({ ...r, slot: r.day }));
  // The server's bucket starts, the same arithmetic: from + i × step.
  const slotsOf = (from, minutes, n) =>
    Array.from({ length: n }, (_, i) => new Date(Date.parse(from) + i * minutes * 60_000).toISOString());
  const keyName = (keys, id) => keys.data.find((k) => k.id === id)?.name ?? id;

  // Keys: the list, create (the key shown once), edit limits and allow-list, revoke.
  async function keysPage() {
    const list = await api('GET', 'keys');
    const out = h('div', { 'aria-live': 'polite' });
    const rows = list.data.flatMap((k) => keyRows(k, out));
    return [
      createForm(out),
      out,
      table(['Name', 'Id', 'Models', 'RPM ', 'Budget ', 'Spent ', 'Status', 'Team', ''], rows, {
        id: 'keys',
      }),
    ];
  }

  const csv = (v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  const numOrNull = (v) => (v.trim() === '' ? null : Number(v));

  function createForm(out) {
    const f = {
      name: h('input', { name: 'name', required: true, maxlength: 100 }),
      team: h('input', { name: 'team', maxlength: 64 }),
      models: h('input', { name: 'models', placeholder: 'all' }),
      rpm: h('input', { name: 'rpm', type: 'number', min: 1, step: 1 }),
      budgetUsd: h('input', { name: 'budgetUsd', type: 'number', min: 0, step: 'any' }),
      period: h(
        'select',
        { name: 'period' },
        ['month', 'day', 'total'].map((p) => h('option', { value: p }, p)),
      ),
      admin: h('input', { name: 'admin', type: 'checkbox' }),
    };
    return h(
      'form',
      {
        class: 'panel row',
        id: 'create-key',
        onsubmit: async (e) => {
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
          try {
            const made = await api('POST', 'keys', body);
            await render();
            showKey(made);
          } catch (err) {
            out.replaceChildren(problem(err));
          }
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
        h('button', { class: 'primary', type: 'submit' }, 'Create'),
      ),
    );
  }

  // The new key, once: with a copy button; it is not kept anywhere by the page.
  function showKey(made) {
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
    const note = h(
      'div',
      { class: 'note', id: 'made' },
      h('p', null, `Created ${made.name} (${made.id}). This is the only time the key is shown:`),
      h('div', { class: 'secret' }, code, copy, status),
    );
    main.querySelector('#create-key')?.after(note);
    copy.focus();
  }

  function keyRows(k, out) {
    const revoked = Boolean(k.revokedAt);
    const status = revoked
      ? h('span', { class: 'badge bad' }, 'revoked')
      : h('span', { class: 'badge good' }, k.admin ? 'active, admin' : 'active');
    const actions = h('div', { class: 'row' });
    const editRow = h('tr', { hidden: true }, h('td', { colspan: 9 }, editForm(k, out)));
    if (!revoked) {
      actions.append(
        h(
          'button',
          {
            type: 'button',
            'data-action': 'edit',
            onclick: () => {
              editRow.hidden = !editRow.hidden;
              editRow.querySelector('input')?.focus();
            },
          },
          'Edit',
        ),
        revokeButton(k, out, actions),
      );
    }
    const row = h(
      'tr',
      { 'data-key': k.id },
      h('td', null, k.name),
      h('td', { class: 'mono' }, k.id),
      h('td', null, k.models ? k.models.join(', ') : 'all'),
      num(k.rpm ?? '–'),
      num(
        k.budgetUsd === null || k.budgetUsd === undefined
          ? '–'
          : `${usd(k.budgetUsd)}/${k.period ?? 'month'}`,
      ),
      num(k.spentUsd === null || k.spentUsd === undefined ? '–' : usd(k.spentUsd)),
      h('td', null, status),
      h('td', null, k.team ?? '–'),
      h('td', null, actions),
    );
    return [row, editRow];
  }

  // Revoke asks once more in the page (no window.confirm): Revoke → Confirm revoke / Cancel.
  function revokeButton(k, out, cell) {
    const start = h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke');
    start.addEventListener('click', () => {
      const yes = h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'confirm-revoke',
          onclick: async () => {
            try {
              await api('DELETE', `keys/${encodeURIComponent(k.id)}`);
              await render();
              main
                .querySelector('[aria-live]')
                ?.replaceChildren(h('div', { class: 'note' }, `Revoked ${k.name} (${k.id}).`));
            } catch (err) {
              out.replaceChildren(problem(err));
            }
          },
        },
        `Confirm revoke ${k.name}`,
      );
      const no = h('button', { type: 'button', onclick: () => render() }, 'Cancel');
      cell.replaceChildren(yes, no);
      yes.focus();
    });
    return start;
  }

  function editForm(k, out) {
    const f = {
      models: h('input', { name: 'models', value: k.models ? k.models.join(', ') : '', placeholder: 'all' }),
      rpm: h('input', { name: 'rpm', type: 'number', min: 1, step: 1, value: k.rpm ?? '' }),
      budgetUsd: h('input', {
        name: 'budgetUsd',
        type: 'number',
        min: 0,
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
      team: h('input', { name: 'team', value: k.team ?? '' }),
    };
    return h(
      'form',
      {
        class: 'row',
        'data-edit': k.id,
        onsubmit: async (e) => {
          e.preventDefault();
          const models = csv(f.models.value);
          const budget = numOrNull(f.budgetUsd.value);
          const body = {
            models: models.length === 0 ? null : models,
            rpm: numOrNull(f.rpm.value),
            budgetUsd: budget,
            team: f.team.value.trim() === '' ? null : f.team.value.trim(),
          };
          if (budget !== null) body.period = f.period.value;
          try {
            await api('PATCH', `keys/${encodeURIComponent(k.id)}`, body);
            await render();
          } catch (err) {
            out.replaceChildren(problem(err));
          }
        },
      },
      field('Models (comma-separated, empty: all)', f.models),
      field('RPM (empty: none)', f.rpm),
      field('Budget USD (empty: none)', f.budgetUsd),
      field('Period', f.period),
      field('Team', f.team),
      h('button', { class: 'primary', type: 'submit' }, 'Save limits'),
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
    const query = new URLSearchParams({
      since: new Date(Date.now() - hours * 3_600_000).toISOString(),
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
    const filters = h(
      'form',
      {
        class: 'panel row',
        onsubmit: (e) => {
          e.preventDefault();
          const next = new URLSearchParams({ hours: span.value });
          for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) next.set(k, el.value.trim());
          location.hash = `#requests/${next}`;
        },
      },
      field('Key id', inputs.key),
      field('Route', inputs.route),
      field('Provider', inputs.provider),
      field('Status', inputs.status),
      field('Window', span),
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
  async function billingPage() {
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
            const body = { day: day.value };
            if (provider.value) body.provider = provider.value;
            const done = await api('POST', 'billing/reconcile', body);
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
            out.replaceChildren(problem(err));
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
