// The embedded DynamoDB (dynalite) in its own worker thread: its JSON and LevelDB work runs beside the
// gateway's event loop instead of on it. Plain JavaScript, so it runs without a TypeScript loader.
// It listens on a unix socket only (workerData.socket): no TCP port any local process could reach.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const { socket, path } = workerData;
const server = dynalite({
  ...(path === undefined ? {} : { path }),
  createTableMs: 0,
  deleteTableMs: 0,
  updateTableMs: 0,
});
server.once('error', (err) => parentPort.postMessage({ type: 'error', message: String(err) }));
server.listen(socket, () => parentPort.postMessage({ type: 'listening' }));
parentPort.on('message', (m) => {
  if (m === 'close') server.close(() => parentPort.postMessage({ type: 'closed' }));
});
