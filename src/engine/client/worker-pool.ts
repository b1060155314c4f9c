/**
 * A bounded worker pool: `concurrency` workers pull items from one iterator, so at most `concurrency`
 * items are in flight and nothing is materialised up front. Stops pulling when `shouldStop()` is true
 * or a worker throws (the first error is rethrown after in-flight work settles).
 */
export async function runWorkerPool<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  opts: { shouldStop?: () => boolean } = {},
): Promise<{ stopped: boolean }> {
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  let failed: { error: unknown } | null = null;
  let stopped = false;
  const next = async (): Promise<IteratorResult<T>> => await iterator.next();
  const loop = async (): Promise<void> => {
    for (;;) {
      if (failed) return;
      if (opts.shouldStop?.()) {
        stopped = true;
        return;
      }
      const r = await next();
      if (r.done) return;
      try {
        await worker(r.value);
      } catch (e) {
        if (!failed) failed = { error: e };
        return;
      }
    }
  };
  const n = Math.max(1, Math.floor(concurrency));
  await Promise.all(Array.from({ length: n }, () => loop()));
  if (failed) throw (failed as { error: unknown }).error;
  return { stopped };
}
