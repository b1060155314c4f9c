/** The deps object for building one interceptor outside a chain (unit tests). */
import { silentLogger } from '../../src/engine/logging.js';
import type { InterceptorDeps } from '../../src/engine/adapters/types.js';

export function interceptorDeps(over: Partial<InterceptorDeps> = {}): InterceptorDeps {
  return {
    outputDir: '/nonexistent',
    url: 'http://127.0.0.1:9/v1/chat/completions',
    log: silentLogger,
    transport: {
      post: () => Promise.reject(new Error('this test sends nothing to an endpoint')),
      close: () => Promise.resolve(),
    },
    timeoutMs: 5000,
    fetch: () => Promise.reject(new Error('this test fetches nothing')),
    now: Date.now,
    ...over,
  };
}
