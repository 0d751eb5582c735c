// hflineage explorer: a single page over the /api/v1 JSON API.
// Routes: #/ (overview), #/model/ORG/NAME, #/compare?e=ECOSYSTEM&e=…, #/crawl.
import cytoscape from './vendor/cytoscape.esm.min.mjs';

const API = 'api/v1/';
const RELATIONS = ['finetune', 'adapter', 'quantized', 'merge'];
// The DOT export's edge styles (graph/dot.go).
const EDGE_STYLE = {
  finetune: { color: '#1f77b4', style: 'solid', width: 1.5 },
  adapter: { color: '#2ca02c', style: 'dashed', width: 1.5 },
  quantized: { color: '#ff7f0e', style: 'dotted', width: 2 },
  merge: { color: '#9467bd', style: 'solid', width: 3.5 },
};
const EXPORTS = ['dot', 'graphml', 'gexf', 'json', 'csv', 'csv-nodes', 'svg', 'png', 'pdf'];
const PICTURES = ['svg', 'png', 'pdf']; // drawn by Graphviz, at most max-nodes
const SIZES = [50, 150, 300, 1000];

const nf = new Intl.NumberFormat('en-US');
const fmt = (n) => (n == null ? '–' : nf.format(n));
const day = (s) => (s ? s.slice(0, 10) : '–');
// plural counts n things: "1 member", "2 members", "1 child", "3 children".
const plural = (n, one, many = one + 's') => `${fmt(n)} ${n === 1 ? one : many}`;
// minute is a time to the minute, in UTC.
const minute = (t) => new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
// hubBase is the Hub the server crawls (its endpoint, in the page's meta).
const hubBase = () => document.querySelector('meta[name="hflineage-hub"]').content.replace(/\/+$/, '') || 'https://huggingface.co';
const $ = (sel, root = document) => root.querySelector(sel);
const view = $('#view');
const hfl = { select: (id) => go(modelHash(id)), cy: null, route: '' };
let refreshTimer = 0;

// h builds an element: h('a', {href: '#'}, 'text', child…).
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...kids.flat(Infinity).filter((k) => k != null && k !== false));
  return el;
}

// APIError is the API's answer to a request it refused, with its HTTP status.
class APIError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(path, params = {}) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v != null && v !== ''));
  const res = await fetch(API + path + (qs.size ? '?' + qs : ''), { headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new APIError((body && body.error) || `${res.status} ${res.statusText}`, res.status);
  return body;
}

// apiPost sends a JSON body; the server's session token, which it puts in
// the page for its own user only, goes with it.
async function apiPost(path, body) {
  const token = document.querySelector('meta[name="hflineage-token"]').content;
  const res = await fetch(API + path, { method: 'POST', body: JSON.stringify(body),
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) } });
  let answer = null;
  try { answer = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new APIError((answer && answer.error) || `${res.status} ${res.statusText}`);
  return answer;
}

function showError(err) {
  const box = $('#error');
  if (!err) { box.hidden = true; return; }
  box.replaceChildren(h('strong', {}, 'Error: '), String(err.message || err),
    h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: () => showError(null) }, '×'));
  box.hidden = false;
  if (!(err instanceof APIError)) console.warn(err);
}

// guard runs an async section renderer, turning failures into a message in place.
async function guard(container, fn) {
  try { await fn(); } catch (err) {
    container.replaceChildren(h('p', { class: 'error-inline' }, String(err.message || err)));
  }
}

const modelHash = (id) => '#/model/' + id;
// idText is a model id that breaks only after its '/': each part moves to
// the next line whole, and breaks inside only when longer than a line (.idpart).
const idText = (id) => { const k = id.indexOf('/'), part = (t) => h('span', { class: 'idpart' }, t);
  return k < 0 ? part(id) : [part(id.slice(0, k + 1)), h('wbr'), part(id.slice(k + 1))]; };
const modelLink = (id, text = id) => h('a', { href: modelHash(id), 'data-model': id }, text === id ? idText(id) : text);
const go = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };

// ---- search box (ARIA combobox) ----
const input = $('#search');
const list = $('#search-list');
let searchSeq = 0, searchTimer = 0, active = -1;

function closeList() { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; }
function setActive(i) {
  const opts = list.querySelectorAll('[role=option]');
  if (!opts.length) return;
  active = (i + opts.length) % opts.length;
  opts.forEach((o, k) => o.setAttribute('aria-selected', k === active ? 'true' : 'false'));
  input.setAttribute('aria-activedescendant', opts[active].id);
}
function pick(id) { closeList(); input.value = ''; input.blur(); go(modelHash(id)); }

input.addEventListener('input', () => {
  clearTimeout(searchTimer);
  const q = input.value.trim();
  if (!q) { closeList(); return; }
  searchTimer = setTimeout(async () => {
    const seq = ++searchSeq;
    try {
      const { results } = await api('search', { q, limit: 10 });
      if (seq !== searchSeq) return;
      list.replaceChildren(...(results.length ? results.map((r, i) => h('li', {
        role: 'option', id: 'search-opt-' + i, 'data-id': r.id, 'aria-selected': 'false',
        onmousedown: (e) => { e.preventDefault(); pick(r.id); },
      }, h('span', {}, r.id), h('span', { class: 'muted' }, fmt(r.downloads) + ' ↓'))) :
        [noMatch(q)]));
      list.hidden = false; active = -1;
      input.setAttribute('aria-expanded', 'true');
    } catch (err) { showError(err); }
  }, 200);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); setActive(active + (e.key === 'ArrowDown' ? 1 : -1)); }
  else if (e.key === 'Escape') closeList();
  else if (e.key === 'Enter') {
    const opt = list.querySelectorAll('[role=option]')[active];
    e.preventDefault();
    if (opt) pick(opt.dataset.id);
    else if (input.value.trim()) bestMatch(input.value.trim());
  }
});

const noMatch = (q) => h('li', { class: 'muted', id: 'search-none', 'aria-disabled': 'true' }, `No model matches “${q}”`);
// bestMatch opens the model that q names (any letter case), else the
// search's first result, else says in the list that no model matches.
async function bestMatch(q) {
  clearTimeout(searchTimer);
  const seq = ++searchSeq;
  try {
    const { results } = await api('search', { q, limit: 10 });
    if (seq !== searchSeq) return;
    const best = results.find((r) => r.id.toLowerCase() === q.toLowerCase()) || results[0];
    if (best) { pick(best.id); return; }
    list.replaceChildren(noMatch(q));
    list.hidden = false; active = -1;
    input.setAttribute('aria-expanded', 'true');
  } catch (err) { showError(err); }
}
input.addEventListener('blur', () => setTimeout(closeList, 100));

// ---- charts (hand-drawn SVG) ----
const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text != null) el.textContent = text;
  return el;
}

// barChart draws points [{label, value, title}] as bars with a y axis. A
// label is one line or two ([run, date]); the first lines are thinned to
// every k-th bar so that none touches the next, and a second line is drawn
// only where it changes (a new day) and there is room for it.
function barChart(points, label) {
  const lines = (p) => [].concat(p.label);
  const two = points.some((p) => lines(p).length > 1);
  const W = 560, H = two ? 202 : 190, L = 48, B = two ? 36 : 24, T = 10, R = 8;
  const width = (text) => 6 * String(text).length + 8; // at 10 px, with a gap
  const max = Math.max(1, ...points.map((p) => p.value));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' });
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - T - B) * (1 - f);
    svg.append(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }),
      s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmt(Math.round(max * f))));
  }
  const bw = Math.min(48, (W - L - R) / Math.max(points.length, 1));
  const every = Math.max(1, Math.ceil(Math.max(0, ...points.map((p) => width(lines(p)[0]))) / bw));
  let second = null; // the last second line drawn: {text, right}
  points.forEach((p, i) => {
    const bh = (H - T - B) * (p.value / max), x = L + i * bw, mid = x + bw / 2;
    const bar = s('rect', { x: x + bw * 0.1, y: H - B - bh, width: Math.max(bw * 0.8, 1), height: bh, class: 'bar' });
    bar.append(s('title', {}, p.title || `${lines(p).join(' ')}: ${fmt(p.value)}`));
    svg.append(bar);
    const [first, next] = lines(p);
    if (i % every === 0) svg.append(s('text', { x: mid, y: H - B + 14, 'text-anchor': 'middle', class: 'label' }, first));
    if (next != null && next !== (second && second.text) && (!second || mid - width(next) / 2 >= second.right)) {
      svg.append(s('text', { x: mid, y: H - B + 28, 'text-anchor': 'middle', class: 'label label2' }, next));
      second = { text: next, right: mid + width(next) / 2 };
    }
  });
  return svg;
}

// fillMonths adds the months with no new model between the first and the last.
function fillMonths(months) {
  if (!months.length) return [];
  const have = new Map(months.map((m) => [m.month, m.count]));
  const out = [];
  let [y, m] = months[0].month.split('-').map(Number);
  for (const last = months[months.length - 1].month; ;) {
    const key = `${y}-${String(m).padStart(2, '0')}`;
    out.push({ label: key, value: have.get(key) || 0, title: `${key}: ${fmt(have.get(key) || 0)} new models` });
    if (key >= last) return out;
    if (++m > 12) { m = 1; y++; }
  }
}

// ---- overview ----
async function renderHome() {
  view.replaceChildren(h('h1', {}, 'Overview'), h('p', { class: 'muted' }, 'Loading statistics…'));
  const [st, { runs }] = await Promise.all([api('stats'), api('runs', { limit: 100 })]);
  view.replaceChildren(
    h('h1', {}, 'Overview'),
    crawledNote(st, runs),
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Models'), h('dd', {}, fmt(st.models))),
      h('div', {}, h('dt', {}, 'Edges'), h('dd', {}, fmt(st.edges))),
      h('div', {}, h('dt', {}, 'Models with a parent'), h('dd', {}, fmt(st.models_with_parent))),
      h('div', {}, h('dt', {}, 'Roots'), h('dd', {}, fmt(st.roots)))),
    h('section', { class: 'card' }, h('h2', {}, 'Largest families'),
      table(['Root', 'Descendants', 'Max depth', 'Downloads (family)', 'License'],
        (st.largest_families || []).map((f) => [modelLink(f.model), num(f.descendants.total), num(f.max_depth), num(f.downloads), f.license || '–']), [1, 2, 3])),
    h('section', { class: 'card', id: 'organisations' }, h('h2', {}, 'Largest organisations by derivatives'), h('div', { class: 'body' }, h('p', { class: 'muted' }, 'Loading…'))));
  await guard($('#organisations .body'), () => organisationsSection($('#organisations .body')));
}

// crawledNote says when the data was crawled: the latest finished run,
// whether it completed, and a crawl running now.
function crawledNote(st, runs) {
  const last = runs.find((r) => r.finished), running = runs.find((r) => !r.finished);
  const what = (r) => (r.mode === 'scan' ? (r.full ? 'full scan of the Hub' : 'scan of the Hub') : 'walk of ' + ((r.seeds || []).join(', ') || 'its seeds'));
  return h('div', { id: 'crawled' },
    h('p', { class: 'muted' }, last ? ['Data crawled ', h('time', { datetime: last.finished, 'data-run': last.run }, minute(last.finished)),
      ` by run ${last.run} (${what(last)}): `, last.complete ? 'complete.' : h('span', { class: 'warn-text' }, 'did not complete.')]
      : 'No crawl has finished yet.',
    running ? [' Run ', h('a', { href: '#/crawl' }, String(running.run)), ' is crawling now.'] : ''),
    st.complete === false ? h('p', { class: 'warn' }, 'The last crawl of the database did not complete: numbers may be partial.',
      st.incomplete && st.incomplete.command ? [' Finish it with ', h('code', {}, st.incomplete.command), '.'] : '') : '');
}

const num = (n) => h('span', { 'data-value': n }, fmt(n));
// table renders rows of cells; the columns listed in nums are right-aligned numbers.
function table(head, rows, nums = [], attrs = {}) {
  const cls = (i) => (nums.includes(i) ? 'num' : null);
  return h('table', attrs, h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: cls(i) }, c)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: cls(i) }, c))))
      : h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, 'None'))));
}

// ---- model page ----
async function renderModel(id) {
  const sec = (key, title) => h('section', { class: 'card', id: key }, h('h2', {}, title), h('div', { class: 'body' }, h('p', { class: 'muted' }, 'Loading…')));
  const hub = h('a', { href: hubBase() + '/' + id, rel: 'noopener', target: '_blank', id: 'hub-link' }, 'on the Hub ↗');
  const head = h('div', { class: 'model-head' }, h('h1', {}, idText(id)), hub);
  view.replaceChildren(head, h('p', { class: 'muted' }, 'Loading…'));
  const [count, info, hz] = await Promise.all([api('count', { model: id }), api('model', { model: id }), health()]); // a 404 here is the page's error
  if (hfl.route !== modelHash(id)) return;
  pictures = hz.pictures !== false;
  if (info.hub_url) hub.href = info.hub_url;
  const sections = {
    about: modelFacts(info),
    counts: sec('counts', 'Derivatives'), ancestors: sec('ancestors', 'Ancestry'), licenses: sec('licenses', 'Licenses along the lineage'),
    graph: sec('graph-section', 'Family graph'), children: sec('children', 'Direct children'),
    growth: sec('growth', 'Family growth by month'), history: sec('history', 'Family size by run'),
    exports: sec('exports', 'Download the family'),
  };
  view.replaceChildren(head, count.complete ? '' : h('p', { class: 'warn' }, 'The last crawl of this family did not complete: numbers may be partial.'),
    sections.about, h('div', { class: 'grid2' }, sections.counts, sections.ancestors), sections.licenses, sections.graph, sections.children,
    h('div', { class: 'grid2' }, sections.growth, sections.history), sections.exports);
  const body = (k) => $('.body', sections[k]);

  body('counts').replaceChildren(
    table(['Relation', 'Direct children', 'All descendants'], [...RELATIONS, 'total'].map((r) => [
      r === 'total' ? h('strong', {}, 'Total') : h('span', {}, h('i', { class: 'swatch ' + r }), r),
      childrenLink(r, count.children[r]),
      h('span', { 'data-count': 'descendants.' + r }, fmt(count.descendants[r]))]), [1, 2], { class: 'counts' }),
    h('p', {}, 'Maximum depth: ', h('strong', { 'data-count': 'max_depth' }, fmt(count.max_depth))),
    count.children.total ? h('p', { class: 'muted' }, 'Click a number of direct children to list them below.') : '');
  exportsSection(body('exports'), id, count.descendants.total + 1);
  await Promise.all([
    guard(body('ancestors'), () => ancestorsSection(body('ancestors'), id)),
    guard(body('licenses'), () => licensesSection(body('licenses'), id)),
    guard(body('graph'), () => graphSection(body('graph'), id)),
    guard(body('children'), () => childrenSection(body('children'), id)),
    guard(body('growth'), async () => {
      const st = await api('stats', { root: id });
      const g = (st.growth_by_month || [])[0];
      const pts = fillMonths(g ? g.months : []);
      body('growth').replaceChildren(pts.length ? barChart(pts, 'New family members by month of creation') : g && g.unknown_dates ? '' : h('p', { class: 'muted' }, 'No descendants.'),
        g && g.unknown_dates ? h('p', { class: 'muted' }, `${plural(g.unknown_dates, 'member has', 'members have')} no known creation date.`) : '');
    }),
    guard(body('history'), async () => {
      const { runs } = await api('history', { model: id });
      body('history').replaceChildren(runs.length ? barChart(runs.map((r) => ({
        label: ['#' + r.run, day(r.finished)], value: r.descendants.total,
        title: `run ${r.run} (${r.mode}, ${minute(r.finished)}): ${plural(r.descendants.total, 'descendant')}`,
      })), 'Descendants after each run, by run number and date') : h('p', { class: 'muted' }, 'No run recorded this family’s size: runs record it for their seeds and for large families.'));
    }),
  ]);
}

// modelFacts is the model's record: what the Hub said of it at the last
// crawl that read it (GET /api/v1/model).
function modelFacts(m) {
  const fact = (key, name, value, title) => h('div', { 'data-fact': key, title }, h('dt', {}, name), h('dd', {}, value == null || value === '' ? '–' : value));
  const gated = m.gated ? (m.gated === 'true' ? 'yes' : `yes (${m.gated})`) : 'no';
  return h('section', { class: 'card', id: 'about' }, h('h2', {}, 'About the model'),
    m.stub ? h('p', { class: 'muted' }, 'Known only as a parent that other models name: no crawl read this model itself, so nothing else is known of it.') :
      h('dl', { class: 'facts model-facts' },
        fact('downloads', 'Downloads (30 days)', fmt(m.downloads)), fact('likes', 'Likes', fmt(m.likes)),
        fact('license', 'License', m.license), fact('created', 'Created', day(m.created), m.created && minute(m.created)),
        fact('last_modified', 'Last modified', day(m.last_modified), m.last_modified && minute(m.last_modified)),
        fact('library_name', 'Library', m.library_name), fact('pipeline_tag', 'Pipeline', m.pipeline_tag),
        fact('gated', 'Gated', gated), fact('author', 'Author', m.author)));
}

// childrenLink is a number of direct children (of relation r, or all for
// 'total') that lists them: it sets the children table's relation filter.
function childrenLink(r, n) {
  const rel = r === 'total' ? '' : r;
  if (!n) return h('span', { 'data-count': 'children.' + r }, fmt(n));
  return h('button', { type: 'button', class: 'linkish count-link', 'data-count': 'children.' + r, 'data-relation': rel,
    title: `List the ${plural(n, (rel ? rel + ' ' : '') + 'child', (rel ? rel + ' ' : '') + 'children')}`, onclick: () => {
      const select = $('#children-relation');
      if (!select) return;
      select.value = rel;
      select.dispatchEvent(new Event('change'));
      $('#children').scrollIntoView({ block: 'start' });
    } }, fmt(n));
}

async function ancestorsSection(el, id) {
  const a = await api('ancestors', { model: id });
  if (!a.ancestors.length) { el.replaceChildren(h('p', {}, 'A root: this model declares no parent.')); return; }
  const byDist = new Map();
  for (const x of a.ancestors) byDist.set(x.distance, [...(byDist.get(x.distance) || []), x.model]);
  const path = h('ol', { class: 'path', 'aria-label': 'Ancestors, farthest first' });
  // One line per distance, farthest first, ending with the model and how it derives from its parents.
  [...byDist.keys()].sort((x, y) => y - x).forEach((d) => path.append(h('li', {},
    byDist.get(d).map((m, i) => [i ? ', ' : '', modelLink(m)]), ' ', h('span', { class: 'muted nowrap' }, `(${d} up)`))));
  const how = [...new Set(a.edges.filter((e) => e.child === id).map((e) => e.relation || 'plain'))].join(', ');
  path.append(h('li', {}, h('strong', {}, idText(id)), how ? h('span', { class: 'muted' }, ' — ' + how) : ''));
  el.replaceChildren(h('p', {}, 'Roots: ', a.roots.map((r, i) => [i ? ', ' : '', modelLink(r)])), path);
}

// ---- licenses along the lineage (GET /api/v1/licenses; classes: graph.LicenseClasses) ----
const LICENSE_CLASSES = ['permissive', 'copyleft', 'responsible-ai', 'community', 'non-commercial', 'no-derivatives', 'unknown'];
const licChip = (m) => h('span', { class: 'lic lic-' + m.class, title: `${m.license || 'no license stated'}: ${m.class}` }, m.license || 'none');
const changeTag = (change) => h('span', { class: 'change change-' + change }, change);

async function licensesSection(el, id) {
  const lp = await api('licenses', { model: id, top: 5 });
  const a = lp.ancestry;
  // What the edges into a model do to the licence, but "kept".
  const into = (m) => a.edges.filter((e) => e.child === m && e.change !== 'kept');
  const changes = (m) => into(m).map((e) => h('span', { class: 'muted' }, ' ', changeTag(e.change), ` from ${e.parent}`));
  const byDist = new Map();
  for (const x of a.ancestors) byDist.set(x.distance, [...(byDist.get(x.distance) || []), x]);
  const path = h('ol', { class: 'path lic-path', 'aria-label': 'Ancestors with their licenses, farthest first' });
  [...byDist.keys()].sort((x, y) => y - x).forEach((d) => path.append(h('li', {},
    byDist.get(d).map((m, i) => [i ? ' · ' : '', modelLink(m.model), ' ', licChip(m), changes(m.model)]))));
  path.append(h('li', {}, h('strong', {}, id), ' ', licChip(a), changes(id)));
  const c = lp.changes;
  const off = lp.relaxed_offenders;
  el.replaceChildren(
    h('p', { class: 'lic-legend' }, LICENSE_CLASSES.map((k) => h('span', { class: 'lic lic-' + k }, k)),
      h('span', { class: 'muted' }, ' most permissive first')),
    h('div', { class: 'grid2' },
      h('div', {}, h('h3', {}, 'Ancestry'), a.ancestors.length ? path : h('p', {}, 'A root: ', licChip(a), ' (no parent).')),
      h('div', {}, h('h3', {}, `Edges in the family (${fmt(lp.edges)})`),
        h('p', { class: 'lic-counts' }, ['kept', 'relaxed', 'tightened', 'unknown'].map((k) => h('span', {}, changeTag(k), ' ', h('strong', { 'data-license-change': k }, fmt(c[k]))))),
        off.length ? [h('p', { class: 'muted' }, 'Most downloaded derivatives that relaxed a parent’s license:'),
          h('ol', { class: 'lic-offenders' }, off.map((o) => h('li', {}, modelLink(o.model), ' ', licChip(o),
            h('span', { class: 'muted' }, ` ${plural(o.downloads, 'download')}, via `), o.path.slice(0, -1).map((m, i) => [i ? ' → ' : '', modelLink(m.model), ' ', licChip(m)]))))]
          : h('p', { class: 'muted' }, 'No derivative relaxed its parent’s license.'))));
}

// health is the server's /healthz, asked once (read_only; pictures:
// whether Graphviz can draw SVG, PNG and PDF there).
let healthAsked;
const health = () => (healthAsked ||= fetch('healthz').then((r) => r.json()).catch(() => ({})));
let pictures = true;

function exportsSection(el, id, members) {
  const maxNodes = Number(($('#graph-size') || {}).value || 150);
  const formats = pictures ? EXPORTS : EXPORTS.filter((f) => !PICTURES.includes(f));
  el.replaceChildren(h('div', { class: 'buttons' }, formats.map((f) => {
    const pic = PICTURES.includes(f);
    const qs = new URLSearchParams({ format: f, model: id, ...(pic && members > maxNodes ? { 'max-nodes': maxNodes } : {}) });
    return h('a', { class: 'button', href: API + 'export?' + qs, download: '', title: `Download the family as ${f}` }, f.toUpperCase());
  })), h('p', { class: 'muted' }, members > 1 ? `The whole family (${plural(members, 'model')}); ` +
    (pictures ? 'SVG, PNG and PDF keep the graph’s size, the most downloaded members.' : 'SVG, PNG and PDF need Graphviz on the server, which is not installed.')
    : 'The model alone: it has no descendants.'));
}

async function childrenSection(el, id) {
  const state = { sort: 'downloads', relation: '', cursors: [''], page: 0, limit: 20 };
  const rel = h('select', { id: 'children-relation', onchange: () => { state.relation = rel.value; reset(); } },
    h('option', { value: '' }, 'all relations'), RELATIONS.map((r) => h('option', { value: r }, r)));
  const out = h('div', {});
  el.replaceChildren(h('div', { class: 'toolbar' }, h('label', { for: 'children-relation' }, 'Relation '), rel), out);
  const reset = () => { state.cursors = ['']; state.page = 0; load(); };
  const sortHead = (key, text) => h('th', { scope: 'col', class: key === 'created' ? null : 'num', 'aria-sort': state.sort === key ? 'descending' : 'none' },
    h('button', { type: 'button', class: 'linkish', onclick: () => { state.sort = key; reset(); } }, text, state.sort === key ? ' ▼' : ''));
  async function load() {
    await guard(out, async () => {
      const r = await api('children', { model: id, relation: state.relation, sort: state.sort, limit: state.limit, cursor: state.cursors[state.page] });
      state.cursors[state.page + 1] = r.next_cursor;
      const from = state.page * state.limit;
      out.replaceChildren(h('table', { class: 'children' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Relation'), h('th', { scope: 'col' }, 'Author'),
          sortHead('downloads', 'Downloads'), sortHead('likes', 'Likes'), sortHead('created', 'Created'), h('th', { scope: 'col' }, 'License'))),
        h('tbody', {}, r.children.length ? r.children.map((c) => h('tr', {}, h('td', {}, modelLink(c.id)),
          h('td', {}, h('i', { class: 'swatch ' + c.relation }), c.relation || 'plain'), h('td', {}, c.author || '–'),
          h('td', { class: 'num' }, fmt(c.downloads)), h('td', { class: 'num' }, fmt(c.likes)), h('td', {}, day(c.created)), h('td', {}, c.license || '–')))
          : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No children.')))),
      h('div', { class: 'pager' },
        h('button', { type: 'button', disabled: state.page === 0, onclick: () => { state.page--; load(); } }, '← Previous'),
        h('span', {}, r.total ? `${fmt(from + 1)}–${fmt(from + r.children.length)} of ${fmt(r.total)}` : ''),
        h('button', { type: 'button', disabled: !r.next_cursor, onclick: () => { state.page++; load(); } }, 'Next →')));
    });
  }
  await load();
}

// ---- family graph ----
// graphStyle is the graph's stylesheet at zoom z: labels keep their size on screen.
const graphStyle = (z) => [
  { selector: 'node', style: { width: 'data(size)', height: 'data(size)', 'background-color': '#9fb6cd', 'border-width': 1, 'border-color': '#52667a',
    label: 'data(label)', 'font-size': 11 / z, color: '#222', 'text-valign': 'bottom', 'text-margin-y': 2 / z,
    'text-background-color': '#fbfcfd', 'text-background-opacity': 0.8, 'text-background-padding': 1 / z } },
  { selector: 'node[hidden > 0]', style: { 'background-color': '#3d5a78', 'border-color': '#1d2430' } },
  { selector: 'node[root = 1]', style: { width: 34, height: 34, 'background-color': '#ffe08a', 'border-color': '#a07800', 'border-width': 3,
    'font-weight': 'bold', 'font-size': 13 / z, 'z-index': 10 } },
  { selector: 'node.hover', style: { 'overlay-opacity': 0.15 } },
  { selector: 'edge', style: { width: 1.2, 'line-color': '#999', 'target-arrow-color': '#999', 'target-arrow-shape': 'triangle', 'arrow-scale': 0.7, 'curve-style': 'straight' } },
  ...Object.entries(EDGE_STYLE).map(([r, st]) => ({ selector: `edge[rel = "${r}"]`,
    style: { 'line-color': st.color, 'target-arrow-color': st.color, 'line-style': st.style, width: st.width } })),
];

async function graphSection(el, id) {
  const size = h('select', { id: 'graph-size' }, SIZES.map((n) => h('option', { value: n, selected: n === 150 }, fmt(n))));
  const status = h('span', { class: 'muted', id: 'graph-status' });
  const info = h('p', { class: 'muted graph-info', id: 'graph-info' }, 'Click a node to open its page. Dark nodes have members left out: right-click one to show them.');
  const box = h('div', { id: 'graph', role: 'img', 'aria-label': 'Family graph of ' + id });
  const legend = h('span', { class: 'legend' }, RELATIONS.map((r) => h('span', {}, h('i', { class: 'line ' + r }), r)),
    h('span', {}, h('i', { class: 'dot hidden-members' }), 'members left out'));
  el.replaceChildren(h('div', { class: 'toolbar' }, h('label', { for: 'graph-size' }, 'Show at most '), size, ' nodes ',
    h('button', { type: 'button', onclick: () => hfl.cy && hfl.cy.fit(undefined, 20) }, 'Fit'), legend, status), box, info);
  let cy = null;

  // Only the root and the most downloaded nodes carry a label; hovering names the others.
  const nodeData = (n, depth, top = false) => ({ id: n.id, label: top ? n.id + (n.hidden_children ? ` (+${fmt(n.hidden_children)})` : '') : '',
    downloads: n.downloads, depth, top, hidden: n.hidden_children, root: n.id === id ? 1 : 0, size: 12 + 6 * Math.log10(1 + Math.max(0, n.downloads || 0)) }); // a database written before downloads were clamped may hold negatives
  const topOf = (nodes) => new Set([id, ...[...nodes].sort((a, b) => b.downloads - a.downloads).slice(0, 8).map((n) => n.id)]);
  const edgeData = (e) => ({ id: `${e.parent}>${e.child}>${e.relation}`, source: e.parent, target: e.child, rel: e.relation || 'plain' });
  // Force-directed up to 300 nodes, else rings by depth around the root (instant at 1,000);
  // then stretched sideways to use the box's width. An expansion keeps the nodes placed.
  const layout = (randomize = true) => {
    cy.layout(cy.nodes().length <= 300
      ? { name: 'cose', animate: false, fit: false, randomize, nodeRepulsion: () => 12000, idealEdgeLength: () => 50, numIter: 1500 }
      : { name: 'concentric', concentric: (n) => 1000 - n.data('depth'), levelWidth: () => 1, minNodeSpacing: 4, animate: false, fit: false }).run();
    const bb = cy.nodes().boundingBox(), k = Math.min(1.8, Math.max(1, (box.clientWidth / box.clientHeight) / (bb.w / bb.h)));
    cy.nodes().positions((n) => ({ x: bb.x1 + (n.position('x') - bb.x1) * k, y: n.position('y') }));
    cy.fit(undefined, 24);
    if (cy.zoom() > 1.5) { cy.zoom(1.5); cy.center(); }
  };
  const describe = (g) => status.replaceChildren(`${fmt(cy.nodes().length)} of ${plural(g.members, 'member')}` +
    (g.truncated ? ' (the most downloaded, with their paths)' : ''));

  async function load() {
    box.setAttribute('aria-busy', 'true');
    const g = await api('graph', { model: id, 'max-nodes': size.value });
    if (!box.isConnected) return;
    hfl.graph = g;
    if (g.nodes.length < 2) { el.replaceChildren(h('p', { class: 'muted', id: 'graph-empty' }, 'No descendants: nothing to draw.')); return; }
    if (cy) cy.destroy();
    const top = topOf(g.nodes);
    cy = hfl.cy = cytoscape({
      container: box, minZoom: 0.05, maxZoom: 4,
      elements: [...g.nodes.map((n) => ({ data: nodeData(n, n.depth, top.has(n.id)) })), ...g.edges.map((e) => ({ data: edgeData(e) }))],
      style: graphStyle(1),
    });
    layout();
    describe(g);
    let styledZoom = 1, frame = 0;
    const restyle = () => { frame = 0; if (!cy.destroyed() && Math.abs(cy.zoom() / styledZoom - 1) > 0.05) cy.style().fromJson(graphStyle((styledZoom = cy.zoom()))).update(); };
    cy.on('zoom', () => { frame = frame || requestAnimationFrame(restyle); });
    restyle();
    cy.on('tap', 'node', (e) => hfl.select(e.target.id()));
    cy.on('cxttap', 'node', (e) => expand(e.target.id()).catch(showError));
    cy.on('mouseover', 'node', (e) => { const d = e.target.data(); e.target.addClass('hover');
      info.textContent = `${d.id} · ${plural(d.downloads, 'download')} · depth ${fmt(d.depth)}` + (d.hidden ? ` · ${plural(d.hidden, 'hidden child', 'hidden children')} (right-click to expand)` : ''); });
    cy.on('mouseout', 'node', (e) => e.target.removeClass('hover'));
    box.setAttribute('aria-busy', 'false');
    box.dataset.nodes = cy.nodes().length;
  }

  // expand merges the family of a node with hidden members into the graph.
  async function expand(nodeId) {
    const node = cy.getElementById(nodeId);
    if (!node.length || !node.data('hidden')) return;
    const g = await api('graph', { model: nodeId, 'max-nodes': size.value });
    const base = node.data('depth'), at = node.position();
    cy.batch(() => {
      for (const n of g.nodes) {
        const cur = cy.getElementById(n.id);
        if (!cur.length) cy.add({ data: nodeData(n, base + n.depth), position: { x: at.x + 40 * Math.random() - 20, y: at.y + 40 * Math.random() - 20 } });
        else if (n.id === nodeId || cur.data('hidden')) cur.data(nodeData(n, cur.data('depth'), cur.data('top')));
      }
      for (const e of g.edges) if (!cy.getElementById(edgeData(e).id).length) cy.add({ data: edgeData(e) });
    });
    layout(false);
    describe(hfl.graph);
    box.dataset.nodes = cy.nodes().length;
  }
  hfl.expand = (nodeId) => expand(nodeId);
  size.addEventListener('change', () => load().then(() => exportsSection($('#exports .body'), id, hfl.graph.members)).catch(showError));
  await load();
}

// ---- crawl page ----
async function renderCrawl() {
  const [c, { runs }] = await Promise.all([api('crawl'), api('runs')]);
  if (hfl.route !== '#/crawl') return;
  const r = c.running;
  const since = (t) => { const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
    return s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`; };
  const seeds = (x) => (x.all ? 'the whole Hub' : (x.seeds || []).length ? x.seeds.map((m, i) => [i ? ', ' : '', modelLink(m)]) : 'the whole Hub');
  const fact = (k, v) => h('div', {}, h('dt', {}, k), h('dd', {}, v));
  view.replaceChildren(h('h1', {}, 'Crawls'),
    h('section', { class: 'card', id: 'running' }, h('h2', {}, r ? (r.run ? `Running: run ${r.run}` : `Running: crawl #${r.id}`) : 'Nothing running'),
      r ? [h('p', {}, `${r.run_mode || r.mode || 'crawl'} of `, seeds(r), `, started ${since(r.started)} ago`),
        h('dl', { class: 'facts' }, fact('Models', fmt(r.models)), fact('Edges', fmt(r.edges)), fact('Pages', fmt(r.pages)),
          fact('Requests', fmt(r.requests)), fact('Pace', `${(r.rate || 0).toFixed(1)} req/s`), fact('Throttled (429)', fmt(r.throttled))),
        r.quota > 0 && r.quota_remaining >= 0 ? h('p', {}, h('label', { for: 'quota' }, `Quota left: ${fmt(r.quota_remaining)} of ${fmt(r.quota)} `),
          h('meter', { id: 'quota', min: 0, max: r.quota, value: r.quota_remaining, low: r.quota * 0.2 })) : '',
        h('p', {}, cancelButton(r)),
        h('p', { class: 'muted' }, 'Refreshing every 2 seconds.')] : h('p', { class: 'muted' }, 'The server is idle.')),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, 'Queue'), c.queue.length ? h('ol', {}, c.queue.map((q) => h('li', {}, `#${q.id}: ${q.mode && q.mode !== 'auto' ? q.mode : 'crawl'} of `, seeds(q), ' ', cancelButton(q))))
        : h('p', { class: 'muted' }, 'Empty.')),
      h('section', { class: 'card' }, h('h2', {}, 'Schedule'), h('p', {}, c.schedule ? h('code', {}, c.schedule) : h('span', { class: 'muted' }, 'No schedule: crawls run when asked.')))),
    crawlForm(),
    c.finished.length ? h('section', { class: 'card', id: 'finished' }, h('h2', {}, 'Finished here'),
      table(['Crawl', 'Outcome', 'Run', 'Models', 'Ended'], c.finished.map((o) => [num(o.id), outcomeText(o), o.run ? num(o.run) : '–', num(o.models),
        o.finished.replace('T', ' ').slice(0, 19)]), [0, 2, 3])) : '',
    h('section', { class: 'card', id: 'runs' }, h('h2', {}, 'Last runs'),
      table(['Run', 'Mode', 'Seeds', 'Started', 'Duration', 'Complete', 'Requests', 'Models +/−', 'Edges +/−'], runs.slice(0, 20).map((x) => [
        num(x.run), x.mode, seeds(x), x.started.replace('T', ' ').slice(0, 16),
        x.finished ? `${Math.round((Date.parse(x.finished) - Date.parse(x.started)) / 1000)} s` : 'running',
        x.complete ? 'yes' : x.finished ? h('span', { class: 'warn-text' }, 'no') : '–', num(x.requests),
        `+${fmt(x.models_added)} / −${fmt(x.models_removed)}`, `+${fmt(x.edges_added)} / −${fmt(x.edges_removed)}`]), [0, 4, 6, 7, 8])),
    c.webhooks ? h('section', { class: 'card', id: 'webhooks' }, h('h2', {}, 'Webhooks'),
      table(['Time', 'Watched', 'Run', 'Target', 'Outcome', 'Attempts'], c.webhooks.map((d) => [
        d.time.replace('T', ' ').slice(0, 19), d.spec || '–', num(d.run), d.host || '–',
        d.outcome === 'ok' ? `ok (${d.status})` : h('span', { class: 'warn-text', title: d.error || '' }, d.outcome + (d.error ? `: ${d.error}` : '')),
        num(d.attempts)]), [2, 5])) : '');
  if (r) refreshTimer = setTimeout(() => renderCrawl().catch(showError), 2000);
}

// crawlForm queues a crawl (POST /api/v1/crawl): of models or patterns
// (a comma list: 'meta-llama/*, Qwen/Qwen2.5-*'), or of the whole Hub, and
// full (list everything again: a scan). The page then shows it queued or
// running, and what the server said (a crawl the same as one queued or
// running is merged into it).
let crawlSaid = '';
function crawlForm() {
  const seed = h('input', { id: 'crawl-seed', type: 'text', required: true, spellcheck: 'false', placeholder: 'meta-llama/Llama-2-7b or meta-llama/*' });
  const all = h('input', { id: 'crawl-all', type: 'checkbox' });
  const full = h('input', { id: 'crawl-full', type: 'checkbox' });
  all.addEventListener('change', () => { seed.disabled = all.checked; seed.required = !all.checked; });
  const said = h('p', { id: 'crawl-said', class: 'muted', 'aria-live': 'polite' }, crawlSaid);
  const form = h('form', { id: 'crawl-form', onsubmit: async (e) => {
    e.preventDefault();
    const body = all.checked ? { all: true, full: full.checked }
      : { seeds: [seed.value.trim()], mode: full.checked ? 'scan' : 'auto', full: full.checked, depth: -1 };
    try {
      const { queued, merged } = await apiPost('crawl', body);
      crawlSaid = merged ? `The same crawl is already queued or running: crawl #${queued}.` : `Queued as crawl #${queued}.`;
      clearTimeout(refreshTimer);
      await renderCrawl();
    } catch (err) { said.textContent = String(err.message || err); }
  } }, h('label', { for: 'crawl-seed' }, 'Crawl '), seed, ' ',
  h('label', {}, all, ' the whole Hub'), ' ',
  h('label', { title: 'List everything again and remove what the Hub no longer has (a scan)' }, full, ' full'), ' ',
  h('button', { type: 'submit' }, 'Crawl'));
  return h('section', { class: 'card', id: 'crawl-new' }, h('h2', {}, 'New crawl'), form, said);
}

// cancelButton cancels a queued or running crawl (DELETE
// /api/v1/crawl/{id}, with the page's token, as its POSTs): a queued one
// never runs, a running one stops at its next commit with its position
// saved.
function cancelButton(x) {
  return h('button', { type: 'button', class: 'cancel', 'data-cancel': x.id, disabled: !!x.canceling,
    'aria-label': `Cancel crawl #${x.id}`, onclick: async (e) => {
      e.target.disabled = true;
      try {
        const { was } = await apiDelete('crawl/' + x.id);
        crawlSaid = was === 'running' ? `Crawl #${x.id} stops at its next commit; what it crawled is kept.` : `Crawl #${x.id} left the queue.`;
      } catch (err) { crawlSaid = String(err.message || err); }
      clearTimeout(refreshTimer);
      await renderCrawl().catch(showError);
    } }, x.canceling ? 'Canceling…' : 'Cancel');
}

// apiDelete sends DELETE with the server's session token, as apiPost.
async function apiDelete(path) {
  const token = document.querySelector('meta[name="hflineage-token"]').content;
  const res = await fetch(API + path, { method: 'DELETE',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) } });
  let answer = null;
  try { answer = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new APIError((answer && answer.error) || `${res.status} ${res.statusText}`);
  return answer;
}

// outcomeText says how a crawl of this server ended.
function outcomeText(o) {
  if (o.canceled) return h('span', { class: 'warn-text', title: o.error || '' }, 'canceled');
  if (o.stopped) return h('span', { class: 'warn-text', title: o.error || '' }, 'stopped');
  if (o.complete) return o.skipped ? h('span', { title: o.skipped }, 'complete, seeds skipped') : 'complete';
  return h('span', { class: 'warn-text', title: o.error || '' }, 'failed');
}

// ---- ecosystems: the Compare page and the organisations list ----
// An ecosystem is what the API counts for a pattern: ORG/*, a glob
// (Qwen/Qwen2.5-*), a model id, or several separated by commas. The Compare
// page, #/compare?e=SPEC&e=SPEC…, sets up to ECO_MAX side by side; with one
// alone it shows that ecosystem's count.
const ECO_MAX = 8;
const compareHash = (ecos) => '#/compare' + (ecos.length ? '?' + new URLSearchParams(ecos.map((e) => ['e', e])) : '');
const isCompareHash = (hash) => hash === '#/compare' || hash.startsWith('#/compare?');
// compareEcosystems reads the ecosystems a Compare hash names, each once.
function compareEcosystems(hash) {
  const q = hash.indexOf('?');
  const named = q < 0 ? [] : new URLSearchParams(hash.slice(q + 1)).getAll('e').map((e) => e.trim()).filter(Boolean);
  return [...new Set(named)].slice(0, ECO_MAX);
}
// ecoModelLink links a model's page (the id URI-encoded, part by part).
const ecoModelLink = (id) => h('a', { href: '#/model/' + id.split('/').map(encodeURIComponent).join('/'), 'data-model': id }, id);
const pct = (x) => (x == null ? '–' : (100 * x).toFixed(1) + '\u00a0%');
const ecoSwatch = () => h('i', { class: 'eco-swatch', 'aria-hidden': 'true' });

// organisations is the largest organisations by derivatives, asked at most once a minute.
let orgCache = null;
function organisations() {
  if (!orgCache || Date.now() - orgCache.at > 60000) {
    const list = api('organisations', { top: 200 }).then((r) => r.organisations);
    orgCache = { at: Date.now(), list };
    list.catch(() => { orgCache = null; });
  }
  return orgCache.list;
}

// ecoSuggestions completes what one types into ecosystems: organisations
// (ORG/* — "org/" suggests it at once), a glob of the id begun, and the
// model ids the search API finds.
async function ecoSuggestions(text) {
  const q = text.trim(), low = q.toLowerCase(), out = new Map();
  const add = (spec, note) => { if (!out.has(spec.toLowerCase())) out.set(spec.toLowerCase(), { spec, note }); };
  const orgs = await organisations().catch(() => []);
  const many = (n, one) => `${fmt(n)} ${one}${n === 1 ? '' : 's'}`;
  const orgNote = (o) => `organisation · ${many(o.models, 'model')}, ${many(o.derivatives, 'derivative')}`;
  const wild = /[*?,]/.test(q), slash = q.indexOf('/');
  if (!wild && slash < 0) {
    orgs.filter((o) => o.org.toLowerCase().startsWith(low)).slice(0, 6).forEach((o) => add(o.org + '/*', orgNote(o)));
  } else if (!wild && slash > 0) {
    const org = q.slice(0, slash), rest = q.slice(slash + 1), known = orgs.find((o) => o.org.toLowerCase() === org.toLowerCase());
    add((known ? known.org : org) + '/*', known ? orgNote(known) : 'every model of the organisation');
    if (rest) add(q + '*', 'every model whose id begins so');
  }
  if (!wild) {
    const { results } = await api('search', { q, limit: 8 });
    results.forEach((r) => add(r.id, `model · ${plural(r.downloads, 'download')}`));
  }
  return [...out.values()].slice(0, 12);
}

// ecoPicker shows the ecosystems chosen (each removable) and a combobox
// that adds one, with suggestions as one types.
function ecoPicker(ecos) {
  const full = ecos.length >= ECO_MAX;
  const input = h('input', { id: 'eco-input', type: 'text', spellcheck: 'false', autocomplete: 'off', role: 'combobox', disabled: full,
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': 'eco-list', placeholder: 'meta-llama/*, Qwen/Qwen2.5-*, or a model id' });
  const list = h('ul', { id: 'eco-list', role: 'listbox', 'aria-label': 'Suggested ecosystems', hidden: true });
  let seq = 0, timer = 0, active = -1;
  const options = () => list.querySelectorAll('[role=option]');
  const close = () => { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; };
  const setActive = (i) => {
    const opts = options();
    if (!opts.length) return;
    active = (i + opts.length) % opts.length;
    opts.forEach((o, k) => o.setAttribute('aria-selected', k === active ? 'true' : 'false'));
    input.setAttribute('aria-activedescendant', opts[active].id);
  };
  const add = (spec) => {
    clearTimeout(timer); seq++; close();
    spec = spec.trim();
    if (!spec || full) return;
    hfl.ecoFocus = true;
    go(compareHash([...ecos.filter((e) => e !== spec), spec]));
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) { close(); return; }
    timer = setTimeout(async () => {
      const n = ++seq;
      let found;
      try { found = await ecoSuggestions(q); } catch (err) { showError(err); return; }
      if (n !== seq || !input.isConnected) return;
      list.replaceChildren(...(found.length ? found.map((x, i) => h('li', { role: 'option', id: 'eco-opt-' + i, 'data-spec': x.spec, 'aria-selected': 'false',
        onmousedown: (e) => { e.preventDefault(); add(x.spec); } }, h('span', {}, x.spec), h('span', { class: 'muted' }, x.note)))
        : [h('li', { class: 'muted', 'aria-disabled': 'true' }, 'No suggestion: Enter adds it as written')]));
      list.hidden = false; active = -1;
      input.setAttribute('aria-expanded', 'true');
    }, 150);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); setActive(active + (e.key === 'ArrowDown' ? 1 : -1)); }
    else if (e.key === 'Escape') close();
    else if (e.key === 'Enter') { e.preventDefault(); const o = options()[active]; add(o ? o.dataset.spec : input.value); }
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
  const chips = h('ul', { class: 'eco-chips', 'aria-label': 'Ecosystems compared' }, ecos.map((e, i) => h('li', { class: 'eco-' + i, 'data-spec': e },
    ecoSwatch(), h('span', {}, e),
    h('button', { type: 'button', class: 'linkish', title: 'Remove', 'aria-label': 'Remove ' + e, onclick: () => go(compareHash(ecos.filter((x) => x !== e))) }, '×'))));
  return h('section', { class: 'card', id: 'eco-picker' }, ecos.length ? chips : '',
    h('div', { class: 'eco-add' }, h('label', { for: 'eco-input' }, full ? `At most ${ECO_MAX} ecosystems` : ecos.length ? 'Add an ecosystem' : 'Ecosystem'),
      h('div', { class: 'eco-combo' }, input, list),
      h('button', { type: 'button', disabled: full, onclick: () => add(input.value) }, 'Add')),
    h('p', { class: 'muted' }, 'An organisation (meta-llama/*), a glob (Qwen/Qwen2.5-*), a model id, or several separated by commas. ',
      'Members are the models descending from any of them, each counted once.'));
}

const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
// niceTicks returns the y axis' ticks from 0 to at least max: 4 or 5 round steps.
function niceTicks(max) {
  const raw = Math.max(1, max / 4), mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((k) => k >= raw && Number.isInteger(k)) || 10 * mag;
  const ticks = [];
  for (let t = 0; t < max + step; t += step) ticks.push(t);
  return ticks;
}

// growthChart draws the ecosystems' members by month of creation,
// cumulative: one line each, on the months of the comparison.
function growthChart(months, series) {
  const W = 960, H = 320, L = 58, R = 26, T = 12, B = 30;
  const n = months.length, top = niceTicks(Math.max(1, ...series.flatMap((e) => e.values)));
  const max = top[top.length - 1], dx = n > 1 ? (W - L - R) / (n - 1) : 0;
  const x = (i) => (n > 1 ? L + dx * i : (L + W - R) / 2), y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart growth', id: 'compare-chart',
    'aria-label': 'Members by month of creation, cumulative: ' + series.map((e) => e.name).join(', ') });
  for (const t of top) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(t), y2: y(t), class: 'grid' }),
      s('text', { x: L - 6, y: y(t) + 3.5, 'text-anchor': 'end' }, t >= 1e6 ? compactFmt.format(t) : fmt(t)));
  }
  svg.append(s('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }), s('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  // Month labels far enough apart not to touch ("2024-05" is about 40 px wide): every
  // k months from a January, or every k years' January.
  const step = [1, 2, 3, 6, 12, 24, 60, 120].find((k) => k * dx >= 56) || 120;
  months.forEach((m, i) => {
    const yr = Number(m.slice(0, 4)), mo = Number(m.slice(5)) - 1;
    if (n > 1 && (step < 12 ? mo % step !== 0 : mo !== 0 || yr % (step / 12) !== 0)) return;
    svg.append(s('line', { x1: x(i), x2: x(i), y1: H - B, y2: H - B + 4, class: 'axis' }),
      s('text', { x: x(i), y: H - B + 16, 'text-anchor': 'middle' }, step >= 12 ? String(yr) : m));
  });
  // Hovering a month tells every ecosystem's size then.
  months.forEach((m, i) => {
    const col = s('rect', { x: x(i) - Math.max(dx, 8) / 2, y: T, width: Math.max(dx, 8), height: H - T - B, class: 'hover-col' });
    col.append(s('title', {}, `${m}: ` + series.map((e) => `${e.name} ${fmt(e.values[i])}`).join(' · ')));
    svg.append(col);
  });
  series.forEach((e, k) => {
    const d = n > 1 ? e.values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('')
      : `M${x(0) - 5},${y(e.values[0])}H${x(0) + 5}`;
    svg.append(s('path', { d, class: `eco-line eco-${k}`, 'data-eco': k, 'data-points': n, 'data-last': n ? e.values[n - 1] : 0 }));
  });
  return svg;
}

// comparisonTable sets the ecosystems' figures side by side, one column each.
function comparisonTable(c) {
  const E = c.ecosystems;
  const cell = (i, key, v, text = fmt(v)) => h('td', { class: 'num', 'data-eco': i, 'data-key': key, 'data-value': v }, text);
  const row = (head, f) => h('tr', {}, h('th', { scope: 'row' }, head), E.map((e, i) => f(e, i)));
  const mini = (items, attrs = {}) => h('ol', { class: 'eco-mini', ...attrs }, items.length ? items : h('li', { class: 'muted' }, 'none'));
  return h('div', { class: 'scroll' }, h('table', { class: 'compare' },
    h('thead', {}, h('tr', {}, h('td', {}), E.map((e, i) => h('th', { scope: 'col', class: 'eco-' + i }, ecoSwatch(), e.ecosystem)))),
    h('tbody', {},
      row('Roots (models matched)', (e, i) => cell(i, 'matched', e.matched)),
      row(h('strong', {}, 'Members'), (e, i) => cell(i, 'descendants.total', e.descendants.total)),
      RELATIONS.map((r) => row(h('span', {}, h('i', { class: 'swatch ' + r }), r), (e, i) => cell(i, 'descendants.' + r, e.descendants[r]))),
      row(`Share of the ${plural(c.models_with_lineage, 'model')} with lineage`, (e, i) => cell(i, 'share', e.share, pct(e.share))),
      row('Members of two roots or more', (e, i) => cell(i, 'shared', e.shared)),
      row('Maximum depth', (e, i) => cell(i, 'max_depth', e.max_depth)),
      row('Keep their base’s license', (e, i) => cell(i, 'keeps_base_license', e.keeps_base_license, e.base_license_known ? pct(e.keeps_base_license) : '–')),
      row('Top licenses', (e) => h('td', {}, mini(e.licenses.slice(0, 3).map((l) => h('li', {}, l.license || 'none', ' ',
        h('span', { class: 'muted' }, pct(l.members / Math.max(1, e.descendants.total)))))))),
      row('Most downloaded members', (e, i) => h('td', {}, mini(e.top.map((m) => h('li', {}, ecoModelLink(m.model), ' ',
        h('span', { class: 'muted' }, fmt(m.downloads) + ' ↓'))), { 'data-top': i }))),
      row('Data', (e) => h('td', {}, e.complete ? 'complete' : h('span', { class: 'warn-text' }, 'partial'), e.crawled ? ', crawled ' + day(e.crawled) : '')))));
}

// overlapsTable lists what each pair of ecosystems shares.
function overlapsTable(c) {
  const index = [];
  c.ecosystems.forEach((_, i) => c.ecosystems.forEach((__, j) => { if (i < j) index.push([i, j]); }));
  const name = (i) => h('span', { class: 'eco-' + i }, ecoSwatch(), c.ecosystems[i].ecosystem);
  const of = (n, i) => pct(n / Math.max(1, c.ecosystems[i].descendants.total));
  return h('div', { class: 'scroll' }, table(['Ecosystems', 'Members of both', 'Most downloaded of them'], c.overlaps.map((o, k) => {
    const [i, j] = index[k];
    return [h('span', {}, name(i), h('span', { class: 'muted' }, ' and '), name(j)),
      h('span', {}, h('span', { 'data-overlap': k, 'data-value': o.members }, fmt(o.members)),
        o.members ? h('span', { class: 'muted' }, h('br'), `${of(o.members, i)} and ${of(o.members, j)}`) : ''),
      o.examples.length ? h('ol', { class: 'eco-mini', 'data-examples': k }, o.examples.map((m) => h('li', {}, ecoModelLink(m.model), ' ',
        h('span', { class: 'muted' }, fmt(m.downloads) + ' ↓')))) : h('span', { class: 'muted' }, 'none')];
  }), [1], { class: 'overlaps' }));
}

// ecosystemCount shows one ecosystem alone: its count (a model alone: its family).
async function ecosystemCount(el, spec, hash) {
  const c = await api('count', { model: spec });
  if (hfl.route !== hash) return;
  if (!('ecosystem' in c)) {
    el.replaceChildren(h('section', { class: 'card' }, h('h2', {}, 'One model'),
      h('p', {}, ecoModelLink(c.model), ` has ${plural(c.descendants.total, 'descendant')}. Add an ecosystem to compare it with, or name several models or a pattern.`)));
    return;
  }
  const fact = (k, v, key) => h('div', {}, h('dt', {}, k), h('dd', { 'data-count': key }, fmt(v)));
  const history = h('div', { class: 'body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.replaceChildren(
    c.complete ? '' : h('p', { class: 'warn' }, 'The last crawl of this ecosystem did not complete: numbers may be partial.',
      c.incomplete && c.incomplete.command ? [' Finish it with ', h('code', {}, c.incomplete.command), '.'] : ''),
    h('dl', { class: 'facts' }, fact('Roots (models matched)', c.matched, 'matched'), fact('Members', c.descendants.total, 'descendants.total'),
      fact('Members of two roots or more', c.shared, 'shared'), fact('Maximum depth', c.max_depth, 'max_depth')),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, 'Members by relation'),
        table(['Relation', 'Direct children', 'All members'], [...RELATIONS, 'total'].map((r) => [r === 'total' ? h('strong', {}, 'Total') :
          h('span', {}, h('i', { class: 'swatch ' + r }), r), num(c.children[r]), num(c.descendants[r])]), [1, 2]),
        h('p', { class: 'muted' }, c.crawled ? `Crawled ${day(c.crawled)}.` : 'No crawl covered these roots.')),
      h('section', { class: 'card', id: 'eco-history' }, h('h2', {}, 'Size by run'), history)),
    h('section', { class: 'card', id: 'eco-roots' }, h('h2', {}, 'Roots and their own families'),
      table(['Root', 'Descendants', 'Direct children', 'Maximum depth'], c.roots.slice(0, 25).map((r) => [ecoModelLink(r.model),
        num(r.descendants.total), num(r.children.total), num(r.max_depth)]), [1, 2, 3]),
      h('p', { class: 'muted' }, c.roots.length > 25 ? `The 25 largest of ${fmt(c.roots.length)} roots with derivatives. ` : '',
        c.roots_without_derivatives ? `${fmt(c.roots_without_derivatives)} more roots have no derivatives.` : '')));
  await guard(history, async () => {
    const { runs } = await api('history', { model: spec });
    history.replaceChildren(runs.length ? barChart(runs.map((r) => ({ label: ['#' + r.run, day(r.finished)], value: r.descendants.total,
      title: `run ${r.run} (${r.mode}, ${minute(r.finished)}): ${plural(r.descendants.total, 'member')}` })), 'Members after each run, by run number and date')
      : h('p', { class: 'muted' }, 'No run recorded changes to compare with.'));
  });
}

// compareIntro suggests ecosystems to start with: the largest organisations.
async function compareIntro(el) {
  const orgs = (await organisations()).slice(0, 8);
  el.replaceChildren(h('section', { class: 'card' }, h('h2', {}, 'Start with an organisation'),
    orgs.length ? h('p', { class: 'buttons' }, orgs.map((o) => h('a', { class: 'button', href: compareHash([o.org + '/*']) }, o.org + '/*'))) : '',
    orgs.length > 1 ? h('p', {}, h('a', { href: compareHash(orgs.slice(0, 2).map((o) => o.org + '/*')) }, `Compare the two largest: ${orgs[0].org}/* and ${orgs[1].org}/*`)) :
      h('p', { class: 'muted' }, 'No organisation in the database has derivatives yet.')));
}

async function renderCompare(hash) {
  const ecos = compareEcosystems(hash);
  const body = h('div', { id: 'compare-body' }, h('p', { class: 'muted' }, 'Loading…'));
  view.replaceChildren(h('h1', {}, 'Compare ecosystems'), ecoPicker(ecos), body);
  if (hfl.ecoFocus) { hfl.ecoFocus = false; $('#eco-input').focus(); }
  await guard(body, async () => {
    if (ecos.length === 0) return compareIntro(body);
    if (ecos.length === 1) return ecosystemCount(body, ecos[0], hash);
    // Fewer examples per pair when there are many pairs.
    const examples = ecos.length > 3 ? 3 : 5;
    const c = await api('compare?' + new URLSearchParams([...ecos.map((e) => ['ecosystem', e]), ['top', '5'], ['examples', examples]]));
    if (hfl.route !== hash) return;
    const series = c.ecosystems.map((e) => ({ name: e.ecosystem, values: e.cumulative }));
    const unknown = c.ecosystems.filter((e) => e.created_unknown).map((e) => `${e.ecosystem}: ${fmt(e.created_unknown)}`);
    body.replaceChildren(
      c.complete ? '' : h('p', { class: 'warn' }, 'The last crawl of some of these ecosystems did not complete: numbers may be partial.'),
      h('section', { class: 'card', id: 'compare-growth' }, h('h2', {}, 'Members by month of creation, cumulative'),
        h('p', { class: 'legend eco-legend' }, series.map((e, k) => h('span', { class: 'eco-' + k }, ecoSwatch(), e.name, ' ',
          h('span', { class: 'muted' }, fmt(e.values.length ? e.values[e.values.length - 1] : 0))))),
        c.months.length ? growthChart(c.months, series) : h('p', { class: 'muted' }, 'No member has a creation date.'),
        unknown.length ? h('p', { class: 'muted' }, 'Members without a creation date (not drawn): ' + unknown.join('; ') + '.') : ''),
      h('section', { class: 'card', id: 'compare-table' }, h('h2', {}, 'Side by side'), comparisonTable(c)),
      h('section', { class: 'card', id: 'compare-overlaps' }, h('h2', {}, 'Overlaps: models that descend from both'), overlapsTable(c)));
  });
}

// organisationsSection lists the largest organisations by derivatives on
// the overview, each opening its ecosystem on the Compare page.
async function organisationsSection(el) {
  const { organisations: orgs } = await api('organisations', { top: 15 });
  el.replaceChildren(
    table(['Organisation', 'Models', 'Derivatives'], orgs.map((o) => [h('a', { href: compareHash([o.org + '/*']), 'data-org': o.org }, o.org + '/*'),
      num(o.models), num(o.derivatives)]), [1, 2], { class: 'orgs' }),
    orgs.length > 1 ? h('p', {}, h('a', { class: 'button', href: compareHash(orgs.slice(0, 3).map((o) => o.org + '/*')) },
      `Compare the ${Math.min(3, orgs.length)} largest`)) : '',
    h('p', { class: 'muted' }, 'Derivatives: the models of other organisations that descend from an organisation’s models, each counted once.'));
}

// notAvailable is the page of a route that failed: the error, and for a
// model not in the database its page on the Hub and a crawl of it
// (POST /api/v1/crawl) when this browser may start crawls (it has the
// server's session token); the page opens the model once it is crawled.
let canCrawl = true;
function notAvailable(hash, err) {
  const out = [h('h1', {}, 'Not available'), h('p', { class: 'error-inline' }, String(err.message || err))];
  if (!hash.startsWith('#/model/') || !(err instanceof APIError) || err.status !== 404) return out;
  const id = decodeURIComponent(hash.slice(8));
  out.push(h('p', {}, h('a', { href: hubBase() + '/' + id, rel: 'noopener', target: '_blank', id: 'hub-link' }, 'Look for it on the Hub ↗')));
  if (!document.querySelector('meta[name="hflineage-token"]').content || !canCrawl) {
    out.push(h('p', { class: 'muted' }, 'Crawl it with ', h('code', {}, 'hflineage crawl ' + id), '.'));
    return out;
  }
  const said = h('p', { id: 'crawl-missing-said', class: 'muted', 'aria-live': 'polite' });
  // wait follows the crawl queued (GET /api/v1/crawl) until it ends.
  const wait = async (queued) => {
    if (hfl.route !== hash) return;
    let done;
    try { done = (await api('crawl')).finished.find((f) => f.id === queued); } catch (e) { said.textContent = String(e.message || e); return; }
    if (hfl.route !== hash) return;
    if (!done) refreshTimer = setTimeout(() => wait(queued), 1000);
    else if (done.error) said.textContent = `Crawl #${queued} ended without the model: ${done.error}`;
    else route();
  };
  const button = h('button', { type: 'button', id: 'crawl-missing', onclick: async () => {
    button.disabled = true;
    try {
      const { queued } = await apiPost('crawl', { seeds: [id], mode: 'auto', depth: -1 });
      said.replaceChildren(`Queued as crawl #${queued}: this page opens the model once it is crawled (`, h('a', { href: '#/crawl' }, 'follow the crawl'), ').');
      refreshTimer = setTimeout(() => wait(queued), 500);
    } catch (e) { said.textContent = String(e.message || e); button.disabled = false; }
  } }, 'Crawl ', idText(id));
  out.push(h('section', { class: 'card', id: 'crawl-offer' }, h('h2', {}, 'Crawl it'),
    h('p', {}, 'The server can crawl this model’s family from the Hub now.'), h('p', {}, button), said));
  return out;
}

// ---- router ----
async function route() {
  clearTimeout(refreshTimer);
  if (hfl.cy) { hfl.cy.destroy(); hfl.cy = null; }
  showError(null);
  const hash = (hfl.route = location.hash || '#/');
  document.querySelectorAll('[data-nav]').forEach((a) => (a.getAttribute('href') === hash.split('?')[0] ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current')));
  document.body.dataset.ready = 'false';
  try {
    if (hash.startsWith('#/model/')) {
      const id = decodeURIComponent(hash.slice(8));
      document.title = id + ' — hflineage';
      await renderModel(id);
    } else if (hash === '#/crawl') {
      document.title = 'Crawls — hflineage';
      await renderCrawl();
    } else if (isCompareHash(hash)) {
      document.title = 'Compare ecosystems — hflineage';
      await renderCompare(hash);
    } else {
      document.title = 'hflineage explorer';
      await renderHome();
    }
  } catch (err) {
    if (hfl.route === hash) {
      // A read-only server (beside a crawl of its own) starts no crawl.
      canCrawl = await health().then((x) => !x.read_only);
      if (hfl.route === hash) view.replaceChildren(...notAvailable(hash, err));
    }
  }
  if (hfl.route === hash) document.body.dataset.ready = 'true';
}
window.addEventListener('hashchange', route);
route();
