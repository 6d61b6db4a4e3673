/** The local gateway's listening socket (./server.ts). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens, or fails with the cause and the fix (a port in use is the usual one). */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `Cannot listen on ${host}, port ${port}: another program (maybe another gateway) uses it. ` +
          'Stop it, or set PORT to a free port (PORT=0 picks one).',
        { cause: err },
      );
    }
    if (code === 'EACCES') {
      throw new Error(`Not allowed to listen on ${host}, port ${port}: set PORT to a port above 1023.`, {
        cause: err,
      });
    }
    throw err;
  }
  return (server.address() as AddressInfo).port;
}
