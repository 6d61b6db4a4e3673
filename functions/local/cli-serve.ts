/**
 * `switchyard serve` (what `npm start` runs): the local gateway with its banner and its signals. The banner
 * shows a secret only when this start made it; the "Try it" command reads the master key from where it
 * lives (the data dir's file, or the variable) so it works when pasted and never prints the key.
 */
import { maskedForm } from '../core/secrets.ts';
import { parseBillingEnv } from './local-reconcile.ts';
import { type RunningGateway, type StartConfig, startGateway } from './server.ts';
import { type LoadedConfig, loadConfigFile, type MasterKey, parseEnv, resolveMasterKey } from './settings.ts';

/** A word the shell reads as itself: paths with spaces or quotes get single quotes. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

function configLine(loaded: LoadedConfig, start: StartConfig): string {
  const routes = (n: number) => `${n} route${n === 1 ? '' : 's'}`;
  const count = routes(Object.keys(start.config.routes).length);
  if (start.action === 'kept') {
    return `the stored config (${count}; no config file, so the built-in example was not applied)`;
  }
  if (start.action === 'seeded') return `${loaded.source} (${count}), written into the empty store`;
  const removed = start.removed === 0 ? '' : `; ${start.removed} stored entries not in the file were removed`;
  return `${loaded.source} replaces the stored config (${count}${removed})`;
}

function keyLine(master: MasterKey): string {
  if (master.generated) return `${master.key} (new; saved in ${master.file})`;
  if (master.from === 'env') return `${maskedForm(master.key)} (from SWITCHYARD_MASTER_KEY)`;
  return `${maskedForm(master.key)} (from ${master.file}; print it with: cat ${shellWord(master.file)})`;
}

export function banner(gw: RunningGateway, loaded: LoadedConfig, master: MasterKey, dataDir: string): string {
  const route = Object.keys(gw.startConfig.config.routes)[0] ?? 'gpt-4o-mini';
  const bearer = master.from === 'env' ? '$SWITCHYARD_MASTER_KEY' : `$(cat ${shellWord(master.file)})`;
  const body = JSON.stringify({ model: route, messages: [{ role: 'user', content: 'Hello' }] });
  return [
    `Switchyard is listening on ${gw.origin}/v1`,
    `  config:     ${configLine(loaded, gw.startConfig)}`,
    `  data dir:   ${dataDir} (owner only; the store listens on a unix socket, not on TCP)`,
    `  master key: ${keyLine(master)}`,
    `  console:    ${gw.origin}/console (log in with the master key or a key made with keys create --admin)`,
    '',
    master.from === 'env' ? 'Try it (in a shell where SWITCHYARD_MASTER_KEY is set):' : 'Try it:',
    `  curl -s ${gw.origin}/v1/chat/completions -H "Authorization: Bearer ${bearer}" \\`,
    `    -H "Content-Type: application/json" -d ${shellWord(body)}`,
    '',
    '',
  ].join('\n');
}

export async function serve(): Promise<void> {
  const env = parseEnv(process.env);
  const loaded = await loadConfigFile(env.SWITCHYARD_CONFIG);
  const master = await resolveMasterKey(env.SWITCHYARD_MASTER_KEY, env.SWITCHYARD_DATA_DIR);
  const gw = await startGateway({
    config: loaded.config,
    // Without a file, the example only seeds an empty store: a restart keeps the routes a user synced.
    configMode: loaded.file === undefined ? 'seed' : 'replace',
    masterKey: master.key,
    providerKeys: env.SWITCHYARD_PROVIDER_KEYS,
    port: env.PORT,
    dataDir: env.SWITCHYARD_DATA_DIR,
    responsesTtlDays: env.SWITCHYARD_RESPONSES_TTL_DAYS,
    // The admin API's run-now reconciles with `switchyard reconcile`'s local billing keys and tolerance.
    billing: parseBillingEnv(process.env),
  });
  process.stderr.write(banner(gw, loaded, master, env.SWITCHYARD_DATA_DIR));
  const graceMs = env.SWITCHYARD_SHUTDOWN_GRACE_MS;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now, in-flight requests are cut.\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(
      `${signal}: finishing in-flight requests (up to ${graceMs / 1000} s), then closing the store…\n`,
    );
    gw.close(graceMs).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
