/**
 * Child-process entry: start the project's reference endpoint on 127.0.0.1 (port 0), print one JSON line
 * `{"url": ...}` on stdout, and close when stdin ends or on SIGTERM. Keeps the server on its own core,
 * apart from the client being measured.
 * argv: <benchmark> <dataset file> <latency ms>
 */
const [benchmark = 'gsm8k', datasetPath, latency = '0'] = process.argv.slice(2);

async function main(): Promise<void> {
  const { startReferenceEndpoint } = await import('../src/reference-endpoint/index.js');
  const server = await startReferenceEndpoint({
    benchmark,
    datasetPath,
    latencyMs: Number(latency),
    host: '127.0.0.1',
    port: 0,
    accuracy: 1,
  });
  let closing = false;
  const close = (): void => {
    if (closing) return;
    closing = true;
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
  process.stdin.on('end', close);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`reference endpoint failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
