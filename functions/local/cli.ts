/**
 * The `switchyard` command. `serve` runs the local gateway; `routes list|sync` read and write the routes table
 * (the embedded store, or a deployed stack's table with `--stack`); keys, usage and reconcile read and write the
 * other tables the same way.
 */

import { parseArgs } from 'node:util';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { ConfigError } from '../core/config/schema.ts';
import { type Invocation, readCommandLine, topUsage, UsageError, version } from './cli-help.ts';
import { keys } from './cli-keys.ts';
import { reconcileCommand } from './cli-reconcile.ts';
import { serve } from './cli-serve.ts';
import { statementCommand } from './cli-statement.ts';
import { openCliStore, STORE_OPTIONS } from './cli-store.ts';
import { usage } from './cli-usage.ts';
import { validateCommand } from './cli-validate.ts';
import { parseEnv, readConfigFile } from './settings.ts';
import { textTable } from './text-table.ts';

/** The top-level usage (every command and what it does), from the command table in cli-commands.ts. */
const USAGE = topUsage();

async function routes(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, ...STORE_OPTIONS },
  });
  const [sub, file] = positionals;
  const env = parseEnv(process.env);
  if (sub === 'sync' && file === undefined)
    throw new Error('routes sync needs a config file: switchyard routes sync switchyard.yaml');
  if (sub !== 'list' && sub !== 'sync') throw new Error(USAGE);
  const config =
    sub === 'sync' && file !== undefined
      ? await readConfigFile(file, 'Check the path: switchyard routes sync <file>.')
      : undefined;
  const stack = values.stack;
  const conn = await openCliStore(values, env.SWITCHYARD_DATA_DIR);
  try {
    const store = new DynamoRouteStore(conn.client, conn.tableName('config'));
    if (config !== undefined) {
      const r = await store.sync(config);
      const who =
        stack === undefined
          ? 'a running server picks them up within 5 s'
          : `${stack} picks them up within 30 s`;
      process.stdout.write(`synced ${file}: ${r.put} entries written, ${r.deleted} removed (${who})\n`);
      return;
    }
    const cfg = await store.load();
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(cfg.routes, null, 2)}\n`);
      return;
    }
    const rows = Object.entries(cfg.routes).map(([name, r]) => [
      name,
      r.strategy,
      r.targets
        .map((t) => `${t.provider}/${t.model}${t.weight === undefined ? '' : ` (w=${t.weight})`}`)
        .join(' → '),
    ]);
    process.stdout.write(textTable(['route', 'strategy', 'targets'], rows));
  } finally {
    await conn.close();
  }
}

/** Runs one command line. A usage error prints the message and the usage on stderr and exits 2. */
export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(readCommandLine(argv));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${err.usage}`);
    process.exitCode = 2;
  }
}

async function dispatch(cli: Invocation): Promise<void> {
  if (cli.kind === 'help') {
    process.stdout.write(cli.text);
    return;
  }
  if (cli.kind === 'version') {
    process.stdout.write(`switchyard ${await version()}\n`);
    return;
  }
  const dataDir = () => parseEnv(process.env).SWITCHYARD_DATA_DIR;
  switch (cli.command) {
    case 'serve':
      return serve();
    case 'routes list':
    case 'routes sync':
      return routes([...cli.raw]);
    case 'keys create':
    case 'keys list':
    case 'keys edit':
    case 'keys revoke':
      return keys(cli.command, cli.flags, cli.args, dataDir());
    case 'usage':
    case 'usage replay':
      return usage(cli.command, cli.flags, cli.args, dataDir());
    case 'reconcile':
      return reconcileCommand(cli.flags);
    case 'statement':
      return statementCommand(cli.flags, dataDir());
    case 'validate':
      return validateCommand([...cli.raw]);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
