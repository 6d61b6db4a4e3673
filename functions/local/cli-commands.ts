/**
 * Every `switchyard` command as data: its synopsis, what it does, its flags and its arguments. The one source
 * of the help texts (`switchyard --help`, `switchyard <command> --help`) and of the flags each command
 * accepts (cli-help.ts rejects any other, by name).
 */
import { VALIDATE_USAGE } from './cli-validate.ts';

/** A flag as node's `parseArgs` takes it, with the text `--help` prints for it. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** `--name <value>` in the help: the value's placeholder. */
  readonly value?: string;
  readonly help: string;
}

export interface CommandSpec {
  /** After `switchyard `: the command's name, then its arguments and flags in usage notation. */
  readonly synopsis: string;
  /** What it does (the top-level usage and the command's help show it). */
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Positional arguments after the command's name, all required. */
  readonly args?: readonly string[];
  /** More lines for the command's help: environment, exit codes. */
  readonly notes?: string;
  /** The command parses its own flags and prints its own help (this text). */
  readonly ownParser?: { readonly help: string };
}

const STORE_FLAGS = {
  stack: {
    type: 'string',
    value: 'name',
    help: "work on a deployed stack's tables (found through its outputs) instead of the local store",
  },
  region: { type: 'string', value: 'r', help: "the stack's region (default: your AWS config's)" },
} as const satisfies Record<string, FlagSpec>;

const JSON_FLAG = { type: 'boolean', help: 'print JSON for scripts instead of the table' } as const;
const CSV_FLAG = {
  type: 'boolean',
  help: 'print CSV (RFC 4180, a header row; amounts as plain numbers, no $ or separators)',
} as const;

/** By full name (`keys create`); a name's first word is what the user types first. */
export const COMMANDS = {
  serve: {
    synopsis: 'serve',
    summary: 'run the local gateway (on 127.0.0.1; npm start runs this)',
    flags: {},
    notes: `Environment:
  PORT                      listen port (default 8787)
  SWITCHYARD_CONFIG         the YAML config (default switchyard.yaml, else a built-in example)
  SWITCHYARD_DATA_DIR       the embedded store's folder (default .switchyard)
  SWITCHYARD_MASTER_KEY     a client key allowed every model (default: generated on first start)
  SWITCHYARD_PROVIDER_KEYS  JSON {"<provider id>": "key" | ["key1", "key2"]}`,
  },
  'routes list': {
    synopsis: 'routes list [--json] [--stack <name> [--region <r>]]',
    summary: "show the routes in the store (local, or a deployed stack's table)",
    flags: { json: JSON_FLAG, ...STORE_FLAGS },
  },
  'routes sync': {
    synopsis: 'routes sync <file> [--stack <name> [--region <r>]]',
    summary:
      'validate a config file and make the store hold exactly its providers, routes and prices (locally: whether or not the server runs)',
    flags: { ...STORE_FLAGS },
    args: ['file'],
  },
  'keys create': {
    synopsis:
      'keys create --name <n> [--team T] [--models a,b] [--rpm N] [--budget-usd X [--period day|month|total]] [--limit-shards S] [--admin] [--json]',
    summary: 'make a client key (printed once: sk-sy-…; only its SHA-256 is stored)',
    flags: {
      name: {
        type: 'string',
        value: 'n',
        help: 'who the key is for (required; shown by keys list and usage)',
      },
      team: {
        type: 'string',
        value: 'T',
        help: 'the team its spend is billed to in statements (keys edit changes it)',
      },
      models: {
        type: 'string',
        value: 'a,b',
        help: 'the routes the key may use (default: every route); each must be a route in the store the key is written to',
      },
      rpm: { type: 'string', value: 'N', help: 'requests per minute, across every gateway instance' },
      'budget-usd': {
        type: 'string',
        value: 'X',
        help: 'spend cap in USD per period (reserved before each call)',
      },
      period: { type: 'string', value: 'day|month|total', help: "the budget's UTC window (default month)" },
      'limit-shards': {
        type: 'string',
        value: 'S',
        help: 'split the rpm and budget over S items (1-64, default 1) for a key past ~500 requests/s (README, Scale); fixed once created',
      },
      admin: {
        type: 'boolean',
        help: 'the key may also use the admin API under /admin/v1 (README, Admin API)',
      },
      json: { type: 'boolean', help: 'print {"id","key"} as JSON' },
      ...STORE_FLAGS,
    },
    notes: 'Exit code 2 when a flag is wrong or --models names a route the store does not have.',
  },
  'keys list': {
    synopsis: 'keys list [--json]',
    summary: "the keys, their limits and this window's spend (never a key)",
    flags: { json: JSON_FLAG, ...STORE_FLAGS },
  },
  'keys edit': {
    synopsis:
      'keys edit <id> [--team T | --no-team] [--models a,b | --all-models] [--rpm N | --no-rpm] [--budget-usd X] [--period day|month|total] [--no-budget]',
    summary:
      "change a key's team, allow-list or limits (each flag sets one, its --no-/--all- twin removes it; the rest stays)",
    flags: {
      team: {
        type: 'string',
        value: 'T',
        help: 'the team to bill the key to (statements group by team from then on, past months included)',
      },
      'no-team': { type: 'boolean', help: 'take the key out of any team' },
      models: {
        type: 'string',
        value: 'a,b',
        help: 'the routes the key may use from now on; each must be a route in the store',
      },
      'all-models': { type: 'boolean', help: 'let the key use every route' },
      rpm: { type: 'string', value: 'N', help: "requests per minute (at least the key's limit shards)" },
      'no-rpm': { type: 'boolean', help: 'no rate limit' },
      'budget-usd': {
        type: 'string',
        value: 'X',
        help: 'spend cap in USD per period (a key that had none gets the period month unless --period says)',
      },
      period: {
        type: 'string',
        value: 'day|month|total',
        help: "the budget's UTC window (the key must have a budget, or get one with --budget-usd)",
      },
      'no-budget': { type: 'boolean', help: 'no spend cap (its period goes with it)' },
      ...STORE_FLAGS,
    },
    args: ['id'],
    notes:
      'The same rules as keys create and the admin API. Exit code 2 when a flag is wrong, two flags contradict each other, or --models names a route the store does not have. A change reaches the gateways within 10 seconds.',
  },
  'keys revoke': {
    synopsis: 'keys revoke <id>',
    summary: 'revoke a key (takes effect within 10 seconds)',
    flags: { ...STORE_FLAGS },
    args: ['id'],
  },
  usage: {
    synopsis:
      'usage [--since D] [--until D] [--by key|model|provider] [--requests [--endpoint E]] [--json | --csv]',
    summary: 'requests, tokens, cost and errors from the ledger (default: this UTC month)',
    flags: {
      since: { type: 'string', value: 'D', help: 'from this UTC day (YYYY-MM-DD) or ISO time' },
      until: {
        type: 'string',
        value: 'D',
        help: 'to the end of this UTC day, or this ISO time (default: now)',
      },
      by: {
        type: 'string',
        value: 'key|model|provider',
        help: 'group the totals (default key: id and name)',
      },
      requests: { type: 'boolean', help: 'one row per request instead of totals' },
      endpoint: {
        type: 'string',
        value: 'E',
        help: 'with --requests: only the requests of this API (chat, embeddings, responses, messages)',
      },
      json: JSON_FLAG,
      csv: CSV_FLAG,
      ...STORE_FLAGS,
    },
    notes:
      'A long range is one query per day and usage shard: they run at most 16 at a time, so a range of years takes minutes.',
  },
  'usage replay': {
    synopsis: 'usage replay <file>',
    summary: 're-ingest spooled records (local spool or exported Lambda logs), idempotently',
    flags: { ...STORE_FLAGS },
    args: ['file'],
  },
  reconcile: {
    synopsis: 'reconcile [--date YYYY-MM-DD] [--provider id]… [--json | --csv]',
    summary:
      "the ledger against each provider's bill for a UTC day (default: yesterday); exit code 3 when a provider drifted or its billing API failed",
    flags: {
      date: { type: 'string', value: 'YYYY-MM-DD', help: 'the UTC day (default: yesterday)' },
      provider: {
        type: 'string',
        multiple: true,
        value: 'id',
        help: 'only these providers (repeat it, or a,b)',
      },
      json: JSON_FLAG,
      csv: CSV_FLAG,
      ...STORE_FLAGS,
    },
    notes: `Environment (locally; with --stack the stack's secret is used):
  SWITCHYARD_PROVIDER_KEYS  the providers' keys (balance-style bills read with them)
  SWITCHYARD_BILLING_KEYS   JSON {"<provider id>": "<admin / management key>"} for billing APIs
Exit code 3 when a provider drifted or its billing API failed.`,
  },
  statement: {
    synopsis:
      'statement --month YYYY-MM [--team T] [--by team|key] [--format table|csv|json|html] [--issuer NAME] [--issue]',
    summary:
      "a month's statement: spend by team, key, provider and model, with how much of it the providers' bills confirm",
    flags: {
      month: { type: 'string', value: 'YYYY-MM', help: 'the UTC month (required)' },
      team: { type: 'string', value: 'T', help: "only this team's keys" },
      by: { type: 'string', value: 'team|key', help: 'group by team then key (default), or by key alone' },
      format: {
        type: 'string',
        value: 'table|csv|json|html',
        help: 'output format (default table; html: one self-contained, printable page)',
      },
      issuer: {
        type: 'string',
        value: 'NAME',
        help: 'the organisation issuing it (default: SWITCHYARD_ORG_NAME, else Switchyard)',
      },
      issue: {
        type: 'boolean',
        help: 'keep it as issued (a finished month only): later changes show as an amendment to it',
      },
      ...STORE_FLAGS,
    },
  },
  validate: {
    synopsis:
      'validate --base-url URL --key KEY --model M [--model M2] [--concurrency 16] [--report out.html] [--json]',
    summary:
      'the pre-launch checklist against any OpenAI-compatible API (or --target name=URL,KEY,MODEL, repeated); exit code 1 when a required check fails',
    flags: {},
    ownParser: { help: VALIDATE_USAGE },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
