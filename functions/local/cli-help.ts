/**
 * The command line before any command runs: which command was asked for, its flags checked against the
 * command's own (cli-commands.ts), `--help` / `-h` on every command, `--version`. What the user typed wrong
 * is a {@link UsageError}: the CLI prints it with the usage and exits 2.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { COMMANDS, type CommandName, type CommandSpec, type FlagSpec } from './cli-commands.ts';

/** Something the user typed wrong; `usage` is what to show after the message (stderr, exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** The flags a command was given, as parsed (strings, booleans, and lists for repeatable flags). */
export type FlagValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export type Invocation =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly command: CommandName;
      readonly flags: FlagValues;
      /** The positional arguments after the command's name. */
      readonly args: readonly string[];
      /** Everything after the first word, for commands that parse their own flags. */
      readonly raw: readonly string[];
    };

const SPECS: Readonly<Record<CommandName, CommandSpec>> = COMMANDS;
const NAMES = Object.keys(SPECS) as CommandName[];
const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

const isName = (name: string): name is CommandName => Object.hasOwn(SPECS, name);
/** The commands under a first word: `keys` → keys create, keys list, keys revoke. */
const family = (top: string): CommandName[] => NAMES.filter((n) => n === top || n.startsWith(`${top} `));

const WIDTH = 100;

/** `text` in lines of at most {@link WIDTH} columns (a longer word stays whole), each after `indent` spaces. */
function wrap(text: string, indent: number, first = indent): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const room = WIDTH - (lines.length === 0 ? first : indent);
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`)).join('\n');
}

/** A line of a command's notes, wrapped under its own indentation (plus 2 on the lines it wraps onto). */
function noteLine(line: string): string {
  const lead = line.length - line.trimStart().length;
  return `${' '.repeat(lead)}${wrap(line.trimStart(), lead + 2, lead)}`;
}

/** The top-level usage: every command, one entry each. */
export function topUsage(): string {
  const entries = NAMES.map((n) => {
    const { synopsis, summary } = SPECS[n];
    return synopsis.length <= 23
      ? `  ${synopsis.padEnd(25)}${wrap(summary, 27)}`
      : `  ${synopsis}\n${' '.repeat(27)}${wrap(summary, 27)}`;
  });
  return [
    'Usage: switchyard <command> [flags]',
    '',
    ...entries,
    '',
    "  keys, usage and reconcile take --stack <name> [--region <r>] too (a deployed stack's tables).",
    '  switchyard <command> --help: its flags.  switchyard --version: the version.',
    '',
  ].join('\n');
}

function flagLabel(name: string, f: FlagSpec): string {
  return f.type === 'string' ? `--${name} <${f.value ?? 'value'}>` : `--${name}`;
}

/** `switchyard <command> --help`. */
export function commandHelp(name: CommandName): string {
  const spec = SPECS[name];
  if (spec.ownParser !== undefined) return spec.ownParser.help;
  const flags = Object.entries(spec.flags).map(([n, f]) => [flagLabel(n, f), f.help] as const);
  flags.push(['-h, --help', 'this help']);
  const width = Math.max(...flags.map(([l]) => l.length)) + 2;
  return [
    `Usage: switchyard ${spec.synopsis}`,
    '',
    wrap(`${spec.summary[0]?.toUpperCase() ?? ''}${spec.summary.slice(1)}.`, 0),
    '',
    'Flags:',
    ...flags.map(([l, h]) => `  ${l.padEnd(width)}${wrap(h, width + 2)}`),
    ...(spec.notes === undefined ? [] : ['', ...spec.notes.split('\n').map(noteLine)]),
    ...family(name)
      .filter((n) => n !== name)
      .map((n) => `\nAlso: switchyard ${SPECS[n].synopsis}\n      ${wrap(SPECS[n].summary, 6)}`),
    '',
  ].join('\n');
}

/** `switchyard keys --help`: the commands under one first word. */
function familyHelp(top: string): string {
  return [
    'Usage:',
    ...family(top).map((n) => `  switchyard ${SPECS[n].synopsis}\n      ${wrap(SPECS[n].summary, 6)}`),
    '',
    `switchyard ${top} <command> --help: its flags.`,
    '',
  ].join('\n');
}

/** What to show under an error about `name`'s flags or arguments. */
function shortUsage(name: CommandName): string {
  return `Usage: switchyard ${SPECS[name].synopsis}\n(switchyard ${name} --help for every flag)\n`;
}

/** `help`, `help keys`, `help keys create`. */
function helpFor(words: readonly string[]): string {
  const joined = words.join(' ');
  if (joined === '') return topUsage();
  if (isName(joined)) return commandHelp(joined);
  if (words.length === 1 && family(joined).length > 0) return familyHelp(joined);
  throw new UsageError(`unknown command "${joined}"`, topUsage());
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/** Every flag checked against the command's: unknown ones and missing or stray values, by name. */
function checkFlags(name: CommandName, tokens: readonly Token[]): void {
  const flags: Readonly<Record<string, FlagSpec>> = SPECS[name].flags;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const f = Object.hasOwn(flags, t.name) ? flags[t.name] : undefined;
    if (f === undefined) throw new UsageError(`${name}: unknown flag ${t.rawName}`, shortUsage(name));
    if (f.type === 'string' && t.value === undefined)
      throw new UsageError(`${name}: ${t.rawName} needs a value`, shortUsage(name));
    if (f.type === 'boolean' && t.inlineValue === true)
      throw new UsageError(`${name}: ${t.rawName} takes no value`, shortUsage(name));
  }
}

/**
 * Reads the command line. Help and version are answers of their own; anything else names one command with
 * its checked flags and arguments, or throws a {@link UsageError}.
 */
export function readCommandLine(argv: readonly string[]): Invocation {
  const [top, ...rest] = argv;
  if (top === undefined) throw new UsageError('no command given', topUsage());
  if (top === '--help' || top === '-h' || top === 'help') return { kind: 'help', text: helpFor(rest) };
  if (top === '--version' || top === '-v') return { kind: 'version' };
  if (top.startsWith('-')) throw new UsageError(`unknown flag ${top}`, topUsage());
  const names = family(top);
  if (names.length === 0) throw new UsageError(`unknown command "${top}"`, topUsage());
  const own = isName(top) ? SPECS[top].ownParser : undefined;
  if (isName(top) && own !== undefined) {
    const end = rest.indexOf('--');
    const flags = end === -1 ? rest : rest.slice(0, end);
    if (flags.includes('--help') || flags.includes('-h')) return { kind: 'help', text: own.help };
    return { kind: 'run', command: top, flags: {}, args: rest, raw: rest };
  }
  // Every flag of the family is known here, so a flag's value is never taken for the subcommand.
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    ...HELP_FLAG,
  };
  for (const n of names) {
    for (const [k, f] of Object.entries(SPECS[n].flags))
      options[k] = f.multiple === true ? { type: f.type, multiple: true } : { type: f.type };
  }
  const { values, positionals, tokens } = parseArgs({
    args: [...rest],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const wantsHelp = values.help === true;
  const [first, ...after] = positionals;
  const sub = first === undefined ? undefined : `${top} ${first}`;
  // An unknown flag is named before anything else: its value would otherwise pass for a subcommand.
  const stray = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name));
  if (stray?.kind === 'option' && !wantsHelp) {
    const at = sub !== undefined && isName(sub) ? sub : isName(top) ? top : undefined;
    const message = `${at ?? top}: unknown flag ${stray.rawName}`;
    throw new UsageError(message, at === undefined ? familyHelp(top) : shortUsage(at));
  }
  let name: CommandName;
  let args: string[];
  if (sub !== undefined && isName(sub)) {
    name = sub;
    args = after;
  } else if (isName(top) && (first === undefined || names.length === 1)) {
    name = top;
    args = positionals;
  } else if (wantsHelp) {
    return { kind: 'help', text: familyHelp(top) };
  } else if (first === undefined) {
    const subs = names.map((n) => n.slice(top.length + 1));
    throw new UsageError(`${top} needs a command: ${subs.join(', ')}`, familyHelp(top));
  } else {
    throw new UsageError(`unknown command "${top} ${first}"`, familyHelp(top));
  }
  if (wantsHelp) return { kind: 'help', text: commandHelp(name) };
  checkFlags(name, tokens);
  const wanted = SPECS[name].args ?? [];
  if (args.length < wanted.length) {
    const missing = wanted.slice(args.length).map((a) => `<${a}>`);
    throw new UsageError(`${name} needs ${missing.join(' ')}`, shortUsage(name));
  }
  if (args.length > wanted.length) {
    throw new UsageError(`${name}: unexpected argument "${args[wanted.length]}"`, shortUsage(name));
  }
  const { help: _, ...flags } = values;
  return { kind: 'run', command: name, flags, args, raw: rest };
}

/** A command's flags through its zod schema; a refusal is a {@link UsageError} naming the flags. */
export function parseFlags<T extends z.ZodType>(
  name: CommandName,
  schema: T,
  flags: FlagValues,
): z.output<T> {
  const r = schema.safeParse(flags);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => {
    const flag = i.path[0];
    return typeof flag === 'string' && !i.message.includes(`--${flag}`)
      ? `--${flag}: ${i.message}`
      : i.message;
  });
  throw new UsageError(`${name}: ${why.join('; ')}`, shortUsage(name));
}

/** A usage error raised inside a command (after its flags parsed): the same message and usage as above. */
export function usageError(name: CommandName, message: string): UsageError {
  return new UsageError(`${name}: ${message}`, shortUsage(name));
}

const packageJson = z.object({ version: z.string() });

/** The version in package.json. */
export async function version(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return packageJson.parse(JSON.parse(text)).version;
}
