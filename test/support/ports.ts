/**
 * Ports for servers that a test starts later (a deployment behind a Slurm job or a container): a port
 * the kernel hands out as an ephemeral port (to any outgoing connection on the machine) could be taken
 * between the choice and the listen. These come from 20000 up to the start of the ephemeral range (above
 * the test clusters' ports, 17800-17999), and are free when chosen.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The first ephemeral port (net.ipv4.ip_local_port_range), 32768 when it cannot be read. */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

const chosen = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on now and the kernel does not hand out by itself. */
export async function serverPort(): Promise<number> {
  const low = 20000;
  const high = Math.max(low + 1000, ephemeralStart()) - 1;
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (chosen.has(port)) continue;
    if (await canListen(port)) {
      chosen.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${low}-${high}`);
}
