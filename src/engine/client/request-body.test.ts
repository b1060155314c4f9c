import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequestBody, responseText } from './request-body.js';

test('chat and completions bodies carry sampling params, extra request fields and per-request extras', () => {
  const params = {
    temperature: 0,
    top_p: 1e-5,
    max_new_tokens: 64,
    extra: { seed: 3, stop: ['\n\n'], request_params: { top_k: 5 }, n_samples: 4 },
  };
  assert.deepEqual(
    buildRequestBody(
      { messages: [{ role: 'user', content: 'q' }] },
      { modelId: 'm', endpointType: 'chat', params },
    ),
    {
      model: 'm',
      messages: [{ role: 'user', content: 'q' }],
      temperature: 0,
      top_p: 1e-5,
      max_tokens: 64,
      stop: ['\n\n'],
      seed: 3,
      top_k: 5,
    },
  );
  const c = buildRequestBody(
    { prompt: 'p', extraBody: { stop: ['Q:'] } },
    { modelId: 'm', endpointType: 'completions', params: { max_new_tokens: null } },
  );
  assert.deepEqual(c, { model: 'm', prompt: 'p', stop: ['Q:'] });
  assert.throws(
    () => buildRequestBody({ prompt: 'p' }, { modelId: 'm', endpointType: 'chat', params: {} }),
    /no chat messages/,
  );
  assert.equal(responseText({ choices: [{ message: { content: 'x' } }] }, 'chat'), 'x');
  assert.equal(responseText({ choices: [{ text: 'y' }] }, 'completions'), 'y');
  assert.equal(responseText({ error: 1 }, 'chat'), null);
});
