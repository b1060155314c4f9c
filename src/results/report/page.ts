/**
 * The report page's own CSS and script, inlined into every report (no network). The script reads the
 * data from the page's `<script type="application/json" id="nel-data">` block and builds the page with
 * createElement and textContent only: no data ever goes through innerHTML, so a reply holding markup
 * shows as text. Sample lists are virtualised (only the visible rows are in the DOM) and filters run
 * over the data array, so a report of tens of thousands of samples stays responsive.
 *
 * Written as plain browser JavaScript (ES2017) in a raw string: no backticks or template holes inside.
 * The job page's samples come as their samples.jsonl lines; the page shapes them with sample-view.ts's
 * viewSamples, whose compiled source is embedded (ES2022, as tsc emits it).
 */
import { viewSamples } from './sample-view.js';

export const PAGE_CSS = String.raw`
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#20232a;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px;font-weight:600}
header .sub{color:#c8c8c8;font-size:13px;margin-top:4px}
main{padding:16px 24px;max-width:1500px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 16px;padding:12px 16px}
section h2{font-size:16px;margin:0 0 10px}
table.grid{border-collapse:collapse;width:100%;font-size:13px}
table.grid th,table.grid td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
table.grid th{background:#f3f3f3;font-weight:600}
table.grid td.num{text-align:right;font-variant-numeric:tabular-nums}
.headline{font-size:28px;font-weight:600;margin:4px 0}
.headline small{font-size:14px;font-weight:400;color:#555}
.kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:2px 18px;font-size:13px}
.kv div{display:flex;gap:8px;border-bottom:1px dotted #eee}
.kv b{font-weight:600;min-width:150px;word-break:break-all}
.kv span{word-break:break-all}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:8px}
.controls input[type=search]{min-width:260px;padding:4px 8px}
.controls select{padding:3px}
.count{color:#555;margin-left:auto}
.vlist{position:relative;height:440px;overflow-y:auto;border:1px solid #ddd;border-radius:4px;background:#fff}
.vlist .spacer{position:relative;width:100%}
.row{position:absolute;left:0;right:0;height:28px;display:flex;align-items:center;border-bottom:1px solid #f0f0f0;cursor:pointer;font-size:13px;white-space:nowrap}
.row:hover{background:#f3f7ff}
.row.sel{background:#dfe9ff}
.row.head{position:sticky;top:0;z-index:1;background:#f3f3f3;font-weight:600;cursor:default}
.cell{overflow:hidden;text-overflow:ellipsis;padding:0 6px;flex:0 0 auto}
.cell.grow{flex:1 1 auto}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;line-height:18px}
.v-right{background:#d8f5dc;color:#135c1f}
.v-wrong{background:#fbdcdc;color:#8a1616}
.v-partial{background:#fff0c2;color:#6b5200}
.v-failed{background:#e6d4f5;color:#4d1780}
.v-unscored{background:#eee;color:#444}
.detail h3{font-size:14px;margin:12px 0 4px}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;border:1px solid #eee;padding:8px;margin:0;max-height:420px;overflow:auto;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.note{color:#8a5300}
.muted{color:#777}
a{color:#0b57d0}
button{padding:2px 10px}
`;

const PAGE_SCRIPT_BODY = String.raw`
  var data = JSON.parse(document.getElementById('nel-data').textContent);
  var app = document.getElementById('app');
  var ROW_H = 28;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function fmt(v) {
    if (v === null || v === undefined || (typeof v === 'number' && isNaN(v))) return '-';
    if (typeof v !== 'number') return String(v);
    return Number.isInteger(v) ? String(v) : v.toFixed(4);
  }
  function signed(v) { return (v > 0 ? '+' : '') + fmt(v); }
  function ci(c) { return c ? '[' + fmt(c[0]) + ', ' + fmt(c[1]) + ']' : '-'; }
  function section(title, id) {
    var s = el('section');
    if (id) s.id = id;
    add(s, el('h2', null, title));
    app.appendChild(s);
    return s;
  }
  function table(headers, rows, numeric) {
    var t = el('table', 'grid');
    var tr = el('tr');
    headers.forEach(function (h) { tr.appendChild(el('th', null, h)); });
    add(t, add(el('thead'), tr));
    var body = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c, i) {
        var td = el('td', numeric && numeric.indexOf(i) >= 0 ? 'num' : null);
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined || c === null ? '' : String(c);
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    return t;
  }
  function kv(pairs) {
    var d = el('div', 'kv');
    pairs.forEach(function (p) { add(d, add(el('div'), el('b', null, p[0]), el('span', null, p[1]))); });
    return d;
  }
  function badge(v) { return el('span', 'badge v-' + v, v); }
  function pre(text) { return el('pre', null, text); }
  function oneLine(s, n) {
    s = s === null || s === undefined ? '' : String(s);
    if (s.length > (n || 160)) s = s.slice(0, n || 160) + '…';
    return s.replace(/\s+/g, ' ');
  }
  function header(title, sub) {
    var h = el('header');
    add(h, el('h1', null, title));
    if (sub) add(h, el('div', 'sub', sub));
    document.body.insertBefore(h, app);
    document.title = title;
  }
  function notes(list) {
    if (!list || !list.length) return;
    var s = section('Notes');
    list.forEach(function (n) { add(s, el('div', 'note', n)); });
  }
  function select(id, label, options) {
    var wrap = el('label', null, label + ' ');
    var s = el('select');
    s.id = id;
    options.forEach(function (o) {
      if (o.group) {
        var g = el('optgroup');
        g.label = o.group;
        o.options.forEach(function (x) { var op = el('option', null, x[1]); op.value = x[0]; g.appendChild(op); });
        s.appendChild(g);
      } else {
        var op = el('option', null, o[1]);
        op.value = o[0];
        s.appendChild(op);
      }
    });
    wrap.appendChild(s);
    return { wrap: wrap, sel: s };
  }
  function safeHref(h) { return typeof h === 'string' && !/^\s*(javascript|data|vbscript):/i.test(h) ? h : '#'; }

  // A virtualised list: only the rows in view (and a margin) exist in the DOM.
  function vlist(parent, columns, onSelect) {
    var head = el('div', 'row head');
    columns.forEach(function (c) { var x = el('div', 'cell' + (c.grow ? ' grow' : ''), c.title); x.style.width = c.width || ''; head.appendChild(x); });
    var box = el('div', 'vlist');
    box.id = 'rows';
    var spacer = el('div', 'spacer');
    add(box, head, spacer);
    parent.appendChild(box);
    var items = [];
    var selected = -1;
    var pending = false;
    function draw() {
      pending = false;
      spacer.style.height = (items.length * ROW_H) + 'px';
      var top = Math.max(0, box.scrollTop - ROW_H);
      var first = Math.max(0, Math.floor(top / ROW_H) - 10);
      var last = Math.min(items.length, first + Math.ceil(box.clientHeight / ROW_H) + 20);
      var frag = document.createDocumentFragment();
      for (var i = first; i < last; i++) {
        var it = items[i];
        var r = el('div', 'row' + (it === selected ? ' sel' : ''));
        r.style.top = (i * ROW_H) + 'px';
        r.setAttribute('data-pos', String(i));
        columns.forEach(function (c) {
          var v = c.value(it);
          var x = el('div', 'cell' + (c.grow ? ' grow' : ''));
          x.style.width = c.width || '';
          if (v instanceof Node) x.appendChild(v); else x.textContent = v === undefined || v === null ? '' : String(v);
          r.appendChild(x);
        });
        frag.appendChild(r);
      }
      spacer.textContent = '';
      spacer.appendChild(frag);
    }
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(draw); } }
    box.addEventListener('scroll', schedule);
    window.addEventListener('resize', schedule);
    spacer.addEventListener('click', function (ev) {
      var r = ev.target.closest('.row');
      if (!r) return;
      selected = items[Number(r.getAttribute('data-pos'))];
      draw();
      onSelect(selected);
    });
    return {
      set: function (list) { items = list; box.scrollTop = 0; draw(); },
      box: box
    };
  }

  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function scoresTable(scores) {
    return table(['task', 'metric', 'value', 'stderr', '95% CI', 'n'], scores.map(function (s) {
      return [s.task, s.metric === s.score ? s.metric : s.metric + '.' + s.score, fmt(s.value), fmt(s.stderr), ci(s.ci), fmt(s.count)];
    }), [2, 3, 5]);
  }
  function headlineBlock(parent, h, sampleCount) {
    var d = el('div', 'headline');
    d.id = 'headline';
    d.textContent = (h.metric === h.score ? h.metric : h.metric + '.' + h.score) + ' ' + fmt(h.value) + ' ';
    var extra = [];
    if (h.stderr !== null) extra.push('± ' + fmt(h.stderr) + ' (stderr)');
    if (h.ci) extra.push('95% CI ' + ci(h.ci));
    if (h.count !== null) extra.push('n = ' + fmt(h.count));
    else if (sampleCount) extra.push(sampleCount + ' samples');
    add(d, el('small', null, extra.join(', ')));
    parent.appendChild(d);
  }

  // ---- job report ----
  function jobPage() {
    // the samples.jsonl lines as rows (sample-view.ts, embedded above)
    var view = viewSamples(data.lines, data.scores, data.requests);
    data.samples = view.samples;
    data.verdictMetric = view.verdictMetric;
    var j = data.job;
    header(data.title, [j.model ? 'model ' + j.model : null, 'task ' + j.task, j.jobId ? 'job ' + j.jobId : null,
      'generated ' + data.generatedAt].filter(Boolean).join(' · '));
    var s = section('Scores', 'scores');
    var head = data.scores.filter(function (x) { return x.headline; })[0];
    if (head) headlineBlock(s, head, data.samples.length);
    var own = data.scores.filter(function (x) { return x.group === null; });
    var groups = data.scores.filter(function (x) { return x.group !== null; });
    if (own.length) s.appendChild(scoresTable(own)); else add(s, el('div', 'muted', 'no scores (no results.yml)'));
    if (groups.length) {
      var det = el('details');
      add(det, el('summary', null, 'Sub-groups (' + groups.length + ' scores)'));
      det.appendChild(table(['task', 'group', 'metric', 'value', 'stderr', '95% CI', 'n'], groups.map(function (g) {
        return [g.task, g.group, g.metric === g.score ? g.metric : g.metric + '.' + g.score, fmt(g.value), fmt(g.stderr), ci(g.ci), fmt(g.count)];
      }), [3, 4, 6]));
      s.appendChild(det);
    }
    var run = section('Run', 'run');
    run.appendChild(kv([['model', j.model || '-'], ['endpoint', j.url || '-'], ['endpoint type', j.endpointType || '-'],
      ['invocation', j.invocationId || '-'], ['job', j.jobId || '-']].concat(data.params.map(function (p) { return ['params.' + p[0], p[1]]; }))));
    if (data.stats.length || data.timings.length) {
      var st = section('Tokens and timings', 'stats');
      if (data.stats.length) { add(st, el('h3', null, 'Responses (response_stats interceptor)')); st.appendChild(kv(data.stats)); }
      if (data.timings.length) { add(st, el('h3', null, 'Timings')); st.appendChild(kv(data.timings)); }
    }
    notes(data.notes);
    samplesSection();
    if (data.requests.length) requestsSection();
  }

  function samplesSection() {
    var s = section('Samples', 'samples');
    var samples = data.samples;
    if (!samples.length) { add(s, el('div', 'muted', 'no samples (samples.jsonl is missing or empty)')); return; }
    var controls = el('div', 'controls');
    var q = el('input');
    q.type = 'search';
    q.id = 'search';
    q.placeholder = 'search prompt, response, answer, target, id';
    controls.appendChild(q);
    var verdict = select('f-verdict', 'show', [['all', 'all samples'], ['wrong', 'wrong only'], ['right', 'right only'], ['failed', 'failed or flagged']]);
    controls.appendChild(verdict.wrap);
    var groupNames = {};
    samples.forEach(function (x) { x.groups.forEach(function (g) { groupNames[g] = (groupNames[g] || 0) + 1; }); });
    var gk = Object.keys(groupNames).sort();
    var group = null;
    if (gk.length) {
      group = select('f-group', 'group', [['', 'all groups']].concat(gk.map(function (g) { return [g, g + ' (' + groupNames[g] + ')']; })));
      controls.appendChild(group.wrap);
    }
    var instNames = {};
    samples.forEach(function (x) { (x.instructions || []).forEach(function (t) { instNames[t] = 1; }); });
    var ik = Object.keys(instNames).sort();
    var inst = null;
    if (ik.length) {
      inst = select('f-inst', 'instruction', [['', 'all instructions'],
        { group: 'has instruction', options: ik.map(function (t) { return ['has:' + t, t]; }) },
        { group: 'did not follow (strict)', options: ik.map(function (t) { return ['failed:' + t, t]; }) }]);
      controls.appendChild(inst.wrap);
    }
    var count = el('span', 'count');
    count.id = 'count';
    controls.appendChild(count);
    s.appendChild(controls);
    var detail = el('div', 'detail');
    detail.id = 'detail';
    var vm = data.verdictMetric;
    var list = vlist(s, [
      { title: '#', width: '60px', value: function (x) { return x.index === null ? '' : x.index; } },
      { title: 'id', width: '110px', value: function (x) { return x.id; } },
      { title: 'verdict', width: '90px', value: function (x) { return badge(x.verdict); } },
      { title: vm || 'score', width: '80px', value: function (x) { return vm ? fmt(x.scores[vm]) : ''; } },
      { title: 'extracted', width: '140px', value: function (x) { return oneLine(x.extracted.join(' | '), 60); } },
      { title: 'target', width: '140px', value: function (x) { return oneLine(x.target, 60); } },
      { title: 'group', width: '150px', value: function (x) { return x.groups.join(', '); } },
      { title: 'response', grow: true, value: function (x) { return oneLine(x.error ? 'error: ' + x.error : x.responses[0], 200); } }
    ], function (x) { showSample(detail, x); });
    s.appendChild(detail);
    var hay = null;
    function haystack() {
      if (hay) return hay;
      hay = samples.map(function (x) {
        return (x.id + '\n' + x.prompt + '\n' + x.responses.join('\n') + '\n' + x.extracted.join('\n') + '\n' + x.target + '\n' + x.groups.join('\n') + '\n' + (x.error || '')).toLowerCase();
      });
      return hay;
    }
    function apply() {
      var t0 = performance.now();
      var text = q.value.trim().toLowerCase();
      var v = verdict.sel.value;
      var g = group ? group.sel.value : '';
      var i = inst ? inst.sel.value : '';
      var ik2 = i ? i.slice(i.indexOf(':') + 1) : '';
      var failedOnly = i.indexOf('failed:') === 0;
      var h = text ? haystack() : null;
      var out = [];
      for (var n = 0; n < samples.length; n++) {
        var x = samples[n];
        if (v === 'wrong' && x.verdict === 'right') continue;
        if (v === 'right' && x.verdict !== 'right') continue;
        if (v === 'failed' && x.verdict !== 'failed' && !x.flags.length) continue;
        if (g && x.groups.indexOf(g) < 0) continue;
        if (ik2 && (failedOnly ? (x.instructionsFailed || []) : (x.instructions || [])).indexOf(ik2) < 0) continue;
        if (h && h[n].indexOf(text) < 0) continue;
        out.push(x);
      }
      list.set(out);
      count.textContent = 'showing ' + out.length + ' of ' + samples.length + ' samples';
      count.setAttribute('data-shown', String(out.length));
      count.setAttribute('data-query', text);
      window.__nelFilterMs = performance.now() - t0;
    }
    q.addEventListener('input', debounce(apply, 120));
    verdict.sel.addEventListener('change', apply);
    if (group) group.sel.addEventListener('change', apply);
    if (inst) inst.sel.addEventListener('change', apply);
    apply();
  }

  // details are embedded as compact JSON (a smaller page), and indented when shown; cut text stays as it is
  function prettyJson(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (e) {
      return text;
    }
  }

  function showSample(detail, x) {
    detail.textContent = '';
    add(detail, el('h3', null, 'Sample ' + x.id + (x.index !== null ? ' (#' + x.index + ')' : '')));
    var top = [['verdict', x.verdict], ['target', x.target], ['extracted', x.extracted.map(function (e) { return e === null ? '(none)' : e; }).join(' | ') || '(none)']];
    Object.keys(x.scores).forEach(function (k) { top.push(['score ' + k, fmt(x.scores[k])]); });
    if (x.groups.length) top.push(['groups', x.groups.join(', ')]);
    if (x.instructions) top.push(['instructions', x.instructions.join(', ')]);
    if (x.instructionsFailed && x.instructionsFailed.length) top.push(['not followed (strict)', x.instructionsFailed.join(', ')]);
    if (x.flags.length) top.push(['flags', x.flags.join(', ')]);
    if (x.error) top.push(['error', x.error]);
    detail.appendChild(kv(top));
    add(detail, el('h3', null, 'Prompt'), pre(x.prompt));
    x.responses.forEach(function (r, i) {
      add(detail, el('h3', null, x.responses.length > 1 ? 'Response ' + (i + 1) : 'Response'));
      var p = pre(r);
      p.className = 'response';
      detail.appendChild(p);
    });
    if (x.details) add(detail, el('h3', null, 'Details'), pre(prettyJson(x.details)));
    (x.requests || []).forEach(function (k) {
      var r = data.requests[k];
      if (!r) return;
      add(detail, el('h3', null, 'Request and response (cache ' + r.key.slice(0, 12) + ')'));
      add(detail, add(el('div', 'cols'), pre(r.request), pre(r.response)));
    });
    detail.scrollIntoView({ block: 'nearest' });
  }

  function requestsSection() {
    var s = section('Requests and responses (' + data.requests.length + ' from the cache)', 'requests');
    var PAGE = 10;
    var page = 0;
    var nav = el('div', 'controls');
    var prev = el('button', null, 'previous');
    var next = el('button', null, 'next');
    var where = el('span', 'muted');
    add(nav, prev, next, where);
    var body = el('div');
    add(s, nav, body);
    function show() {
      body.textContent = '';
      var end = Math.min(data.requests.length, (page + 1) * PAGE);
      where.textContent = (page * PAGE + 1) + '–' + end + ' of ' + data.requests.length;
      for (var i = page * PAGE; i < end; i++) {
        var r = data.requests[i];
        add(body, el('h3', null, 'Request ' + (i + 1) + ' · ' + r.key + ' · ' + r.endpoint));
        add(body, add(el('div', 'cols'), pre(r.request), pre(r.response)));
      }
    }
    prev.addEventListener('click', function () { if (page > 0) { page--; show(); } });
    next.addEventListener('click', function () { if ((page + 1) * PAGE < data.requests.length) { page++; show(); } });
    show();
  }

  // ---- invocation report ----
  function invocationPage() {
    header(data.title, 'invocation ' + data.invocationId + ' · ' + data.jobs.length + ' job(s) · generated ' + data.generatedAt);
    var s = section('Jobs', 'jobs');
    s.appendChild(table(['job', 'task', 'model', 'headline', 'value', 'stderr', '95% CI', 'samples', 'not right', 'report'],
      data.jobs.map(function (j) {
        var link = j.href ? el('a', null, 'report') : el('span', 'muted', j.reportNote || 'none');
        if (j.href) link.setAttribute('href', safeHref(j.href));
        var h = j.headline;
        return [j.jobId, j.task, j.model || '-', h ? (h.metric === h.score ? h.metric : h.metric + '.' + h.score) : (j.state || '-'),
          h ? fmt(h.value) : '-', h ? fmt(h.stderr) : '-', h ? ci(h.ci) : '-', fmt(j.samples), fmt(j.notRight), link];
      }), [4, 5, 7, 8]));
    var all = [];
    data.jobs.forEach(function (j) { j.scores.forEach(function (x) { all.push([j.jobId].concat([x.task, x.metric === x.score ? x.metric : x.metric + '.' + x.score, fmt(x.value), fmt(x.stderr), ci(x.ci), fmt(x.count)])); }); });
    if (all.length) {
      var m = section('All scores', 'all-scores');
      m.appendChild(table(['job', 'task', 'metric', 'value', 'stderr', '95% CI', 'n'], all, [3, 4, 6]));
    }
    notes(data.notes);
  }

  // ---- comparison report ----
  function comparePage() {
    header(data.title, 'baseline A ' + data.runs[0] + ' · ' + data.runs.slice(1).map(function (r) { return 'B ' + r; }).join(' · ') + ' · generated ' + data.generatedAt);
    data.comparisons.forEach(function (c) {
      c.tasks.forEach(function (t) {
        var s = section(t.task + ': ' + c.a + ' (A) vs ' + c.b + ' (B)');
        add(s, el('div', 'muted', t.jobA + ' vs ' + t.jobB + ', ' + t.samples.both + ' paired samples'));
        s.appendChild(table(['metric', 'group', 'n', 'A', 'B', 'B-A', '95% CI', 'p', 'test'], t.metrics.map(function (m) {
          return [m.metric, m.group || '', fmt(m.n), fmt(m.meanA), fmt(m.meanB), signed(m.diff), '[' + signed(m.ci[0]) + ', ' + signed(m.ci[1]) + ']',
            fmt(m.p) + (m.significant ? ' *' : ''), m.discordant ? 'mcnemar b=' + m.discordant.b + ' c=' + m.discordant.c : 'bootstrap'];
        }), [2, 3, 4, 5, 7]));
        t.warnings.forEach(function (w) { add(s, el('div', 'note', 'warning: ' + w)); });
      });
      c.warnings.forEach(function (w) { add(app.lastChild, el('div', 'note', 'warning: ' + w)); });
    });
    notes(data.notes);
    var s = section('Disagreements (' + data.disagreements.length + ' samples scored differently)', 'samples');
    var items = data.disagreements;
    var controls = el('div', 'controls');
    var q = el('input');
    q.type = 'search';
    q.id = 'search';
    q.placeholder = 'search prompt, responses, answers, target, id';
    controls.appendChild(q);
    var dir = select('f-verdict', 'show', [['all', 'all disagreements'], ['b-better', 'B scored higher'], ['a-better', 'A scored higher']]);
    controls.appendChild(dir.wrap);
    var pairs = {};
    items.forEach(function (d) { pairs[d.pair] = 1; });
    var pk = Object.keys(pairs);
    var pairSel = null;
    if (pk.length > 1) { pairSel = select('f-group', 'pair', [['', 'all']].concat(pk.map(function (p) { return [p, p]; }))); controls.appendChild(pairSel.wrap); }
    var count = el('span', 'count');
    count.id = 'count';
    controls.appendChild(count);
    s.appendChild(controls);
    var detail = el('div', 'detail');
    detail.id = 'detail';
    var list = vlist(s, [
      { title: 'task', width: '140px', value: function (d) { return d.task; } },
      { title: 'id', width: '90px', value: function (d) { return d.id; } },
      { title: 'metric', width: '100px', value: function (d) { return d.metric; } },
      { title: 'A', width: '70px', value: function (d) { return fmt(d.a.score); } },
      { title: 'B', width: '70px', value: function (d) { return fmt(d.b.score); } },
      { title: 'A extracted', width: '130px', value: function (d) { return oneLine(d.a.extracted, 50); } },
      { title: 'B extracted', width: '130px', value: function (d) { return oneLine(d.b.extracted, 50); } },
      { title: 'target', width: '120px', value: function (d) { return oneLine(d.target, 50); } },
      { title: 'prompt', grow: true, value: function (d) { return oneLine(d.prompt, 200); } }
    ], function (d) {
      detail.textContent = '';
      add(detail, el('h3', null, d.task + ' sample ' + d.id + ' (' + d.pair + ')'));
      detail.appendChild(kv([['target', d.target], ['A ' + d.metric, fmt(d.a.score)], ['B ' + d.metric, fmt(d.b.score)]]));
      add(detail, el('h3', null, 'Prompt'), pre(d.prompt));
      var cols = el('div', 'cols');
      [['A', d.a], ['B', d.b]].forEach(function (p) {
        var c = el('div');
        add(c, el('h3', null, p[0] + ': ' + p[1].job + ' · extracted ' + (p[1].extracted || '(none)')));
        var r = pre(p[1].response);
        r.className = 'response';
        c.appendChild(r);
        cols.appendChild(c);
      });
      detail.appendChild(cols);
    });
    s.appendChild(detail);
    var hay = null;
    function apply() {
      var text = q.value.trim().toLowerCase();
      if (text && !hay) hay = items.map(function (d) { return (d.id + '\n' + d.prompt + '\n' + d.target + '\n' + d.a.response + '\n' + d.b.response + '\n' + d.a.extracted + '\n' + d.b.extracted).toLowerCase(); });
      var v = dir.sel.value;
      var p = pairSel ? pairSel.sel.value : '';
      var out = [];
      for (var n = 0; n < items.length; n++) {
        var d = items[n];
        if (v === 'b-better' && !(d.b.score > d.a.score)) continue;
        if (v === 'a-better' && !(d.a.score > d.b.score)) continue;
        if (p && d.pair !== p) continue;
        if (text && hay[n].indexOf(text) < 0) continue;
        out.push(d);
      }
      list.set(out);
      count.textContent = 'showing ' + out.length + ' of ' + items.length + ' disagreements';
      count.setAttribute('data-shown', String(out.length));
      count.setAttribute('data-query', text);
    }
    q.addEventListener('input', debounce(apply, 120));
    dir.sel.addEventListener('change', apply);
    if (pairSel) pairSel.sel.addEventListener('change', apply);
    apply();
  }

  var t0 = performance.now();
  if (data.kind === 'job') jobPage();
  else if (data.kind === 'invocation') invocationPage();
  else if (data.kind === 'compare') comparePage();
  window.__nelRenderMs = performance.now() - t0;
  document.body.setAttribute('data-ready', '1');
`;

/**
 * The page's script: the job page's sample view (sample-view.ts, self-contained, so its source runs in
 * the page as it runs here), then the page's own code.
 */
export const PAGE_SCRIPT = `
(function () {
  'use strict';
  var viewSamples = ${viewSamples.toString()};
${PAGE_SCRIPT_BODY}})();
`;
