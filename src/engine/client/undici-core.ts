/**
 * The two parts of undici the engine uses: the keep-alive Pool and the request API. undici's index also
 * loads fetch, WebSocket, caches, mocks and proxies, which costs several times as much at start-up.
 */
import type { Dispatcher } from 'undici';
import PoolClass from 'undici/lib/dispatcher/pool.js';
import apiRequest from 'undici/lib/api/api-request.js';

export const Pool = PoolClass;

/** `dispatcher.request(opts)` without needing undici's index to have patched Dispatcher.prototype. */
export function requestVia(
  dispatcher: Dispatcher,
  opts: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return apiRequest.call(dispatcher, opts);
}
