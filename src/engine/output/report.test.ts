import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, renderReportHtml } from './report.js';

test('the HTML report escapes everything that came from requests and responses', () => {
  assert.equal(
    escapeHtml(`<script>"x" & 'y'</script>`),
    '&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;',
  );
  const html = renderReportHtml(
    [
      {
        request_data: {},
        display_request: { messages: [{ role: 'user', content: '<img src=x onerror=alert(1)>' }] },
        response: '</pre><script>alert(2)</script>',
        endpoint: 'http://h/v1?a=<b>',
        cache_key: 'k',
      },
    ],
    'run <1>',
  );
  assert.doesNotMatch(html, /<img|<script>|<b>/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /<title>run &lt;1&gt;<\/title>/);
});
