/**
 * The `switchyard` command. `serve` runs the local gateway; `routes list|sync` read and write the routes table
 * (the embedded store, or a deployed stack's table with `--stack`); keys, usage and reconcile read and write the
 * other tables the same way.
 */
import { parseArgs } from 'node:util';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { ConfigError } from '../core/config/schema.ts';
import { keys } from './cli-keys.ts';
import { reconcileCommand } from './cli-reconcile.ts';
import { serve } from './cli-serve.ts';
import { openCliStore, STORE_OPTIONS } from './cli-store.ts';
import { usage } from './cli-usage.ts';
import { validateCommand } from './cli-validate.ts';
import { parseEnv, readConfigFile } from './settings.ts';
import { textTable } from './text-table.ts';

const USAGE = `Usage: switchyard <command>

  serve                    run the local gateway (env: PORT, SWITCHYARD_CONFIG, SWITCHYARD_DATA_DIR,
                           SWITCHYARD_MASTER_KEY, SWITCHYARD_PROVIDER_KEYS)
  routes list [--json] [--stack <name> [--region <r>]]
                           show the routes in the store (local, or a deployed stack's table)
  routes sync <file> [--stack <name> [--region <r>]]
                           validate a config file and make the store hold exactly its providers,
                           routes and prices (locally: whether or not the server runs)
  keys create --name <n> [--models a,b] [--rpm N] [--budget-usd X [--period day|month|total]] [--json]
                           make a client key (printed once: sk-sy-…; only its SHA-256 is stored)
  keys list [--json]       the keys, their limits and this window's spend (never a key)
  keys revoke <id>         revoke a key (takes effect within 10 seconds)
  usage [--since D] [--until D] [--by key|model|provider] [--requests] [--json]
                           requests, tokens, cost and errors from the ledger (default: this UTC month)
  usage replay <file>      re-ingest spooled records (local spool or exported Lambda logs), idempotently
  reconcile [--date YYYY-MM-DD] [--provider id]… [--json | --csv]
                           the ledger against each provider's bill for a UTC day (default: yesterday);
                           exit code 3 when a provider drifted or its billing API failed
                           (env: SWITCHYARD_PROVIDER_KEYS, SWITCHYARD_BILLING_KEYS)
  (keys, usage and reconcile take --stack <name> [--region <r>] too)
  validate --base-url URL --key KEY --model M [--model M2] [--concurrency 16] [--report out.html] [--json]
  validate --target name=URL,KEY,MODEL [--target …]
                           the pre-launch checklist against any OpenAI-compatible API (switchyard validate
                           --help for every option); exit code 1 when a required check fails
`;

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

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') return serve();
  if (cmd === 'routes') return routes(rest);
  if (cmd === 'keys') return keys(rest, parseEnv(process.env).SWITCHYARD_DATA_DIR);
  if (cmd === 'usage') return usage(rest, parseEnv(process.env).SWITCHYARD_DATA_DIR);
  if (cmd === 'reconcile') return reconcileCommand(rest);
  if (cmd === 'validate') return validateCommand(rest);
  process.stdout.write(USAGE);
  if (cmd !== undefined && cmd !== 'help' && cmd !== '--help') process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
