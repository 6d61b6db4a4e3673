// The embedded DynamoDB (dynalite) in its own worker thread: its JSON and LevelDB work runs beside the
// gateway's event loop instead of on it. Plain JavaScript, so it runs without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({ ...workerData, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (err) => parentPort.postMessage({ type: 'error', message: String(err) }));
server.listen(0, '127.0.0.1', () =>
  parentPort.postMessage({ type: 'listening', port: server.address().port }),
);
parentPort.on('message', (m) => {
  if (m === 'close') server.close(() => parentPort.postMessage({ type: 'closed' }));
});
