/**
 * The command line before a command runs: `--help` / `-h` on every command and subcommand, `--version`,
 * and usage errors (unknown command, subcommand or flag; a missing argument) that say what was wrong.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '../../functions/local/cli-commands.ts';
import { readCommandLine, topUsage, UsageError } from '../../functions/local/cli-help.ts';
import { runCli } from '../support/cli-runner.ts';

const NAMES = Object.keys(COMMANDS) as CommandName[];

function usageError(argv: string[]): UsageError {
  try {
    readCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('switchyard --help', () => {
  it.each(NAMES)('%s --help and -h answer with its own help (before anything else is checked)', (name) => {
    for (const flag of ['--help', '-h']) {
      const answer = readCommandLine([...name.split(' '), flag]);
      expect(answer.kind).toBe('help');
      const text = answer.kind === 'help' ? answer.text : '';
      expect(text).toMatch(new RegExp(`^Usage: switchyard ${name.split(' ')[0]}`));
      if (COMMANDS[name].synopsis.includes('--')) expect(text).toMatch(/--\w/);
    }
    // Help wins over a missing argument or a bad value: `keys revoke --help` needs no id.
    expect(readCommandLine([...name.split(' '), '--bogus-value=x', '-h']).kind).toBe('help');
  });

  it('lists every command at the top, and names each command’s flags in its help', () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const answer = readCommandLine(argv);
      expect(answer).toEqual({ kind: 'help', text: topUsage() });
    }
    for (const name of NAMES) expect(topUsage()).toContain(`  ${COMMANDS[name].synopsis}`);
    const create = readCommandLine(['help', 'keys', 'create']);
    const text = create.kind === 'help' ? create.text : '';
    for (const flag of ['--name <n>', '--models <a,b>', '--rpm <N>', '--budget-usd <X>', '--stack <name>'])
      expect(text).toContain(flag);
  });

  it('answers `keys --help` and `routes -h` with their subcommands', () => {
    const keys = readCommandLine(['keys', '--help']);
    expect(keys.kind === 'help' ? keys.text : '').toMatch(/keys create[\s\S]*keys list[\s\S]*keys revoke/);
    const routes = readCommandLine(['routes', '-h']);
    expect(routes.kind === 'help' ? routes.text : '').toMatch(/routes list[\s\S]*routes sync/);
  });

  it('gives the version for --version and -v', () => {
    expect(readCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(readCommandLine(['-v'])).toEqual({ kind: 'version' });
  });
});

describe('switchyard usage errors', () => {
  it('says which command is unknown, with the usage', () => {
    const e = usageError(['deploy']);
    expect(e.message).toBe('unknown command "deploy"');
    expect(e.usage).toBe(topUsage());
    expect(usageError(['keys', 'delete']).message).toBe('unknown command "keys delete"');
    expect(usageError(['routes', 'show']).message).toBe('unknown command "routes show"');
    expect(usageError(['usage', 'export']).message).toBe('unknown command "usage export"');
    expect(usageError(['help', 'nope']).message).toBe('unknown command "nope"');
    expect(usageError(['keys']).message).toBe('keys needs a command: create, list, edit, revoke');
    expect(usageError([]).message).toBe('no command given');
  });

  it('names an unknown flag, and a flag of another subcommand', () => {
    expect(usageError(['keys', 'list', '--nmae', 'x']).message).toBe('keys list: unknown flag --nmae');
    expect(usageError(['keys', 'list', '--name', 'x']).message).toBe('keys list: unknown flag --name');
    expect(usageError(['serve', '--port', '9000']).message).toBe('serve: unknown flag --port');
    expect(usageError(['usage', '-x']).message).toBe('usage: unknown flag -x');
    expect(usageError(['--verbose']).message).toBe('unknown flag --verbose');
    const e = usageError(['reconcile', '--dat', '2026-01-01']);
    expect(e.message).toBe('reconcile: unknown flag --dat');
    expect(e.usage).toContain('Usage: switchyard reconcile');
  });

  it('says when a flag lacks its value or takes none, and when an argument is missing or extra', () => {
    expect(usageError(['keys', 'create', '--name']).message).toBe('keys create: --name needs a value');
    expect(usageError(['keys', 'list', '--json=yes']).message).toBe('keys list: --json takes no value');
    expect(usageError(['routes', 'sync']).message).toBe('routes sync needs <file>');
    expect(usageError(['keys', 'revoke', 'a', 'b']).message).toBe('keys revoke: unexpected argument "b"');
    expect(usageError(['serve', 'now']).message).toBe('serve: unexpected argument "now"');
  });

  it('hands a command its flags and arguments, whatever their order', () => {
    expect(readCommandLine(['keys', '--stack', 'Prod', 'revoke', 'key_1'])).toMatchObject({
      kind: 'run',
      command: 'keys revoke',
      flags: { stack: 'Prod' },
      args: ['key_1'],
    });
    expect(readCommandLine(['reconcile', '--provider', 'a', '--provider', 'b'])).toMatchObject({
      command: 'reconcile',
      flags: { provider: ['a', 'b'] },
    });
    // validate parses its own flags (and prints its own help).
    expect(readCommandLine(['validate', '--base-url', 'u'])).toMatchObject({
      command: 'validate',
      raw: ['--base-url', 'u'],
    });
  });
});

describe('the CLI run end to end', () => {
  it('exits 2 for an unknown command, 0 for --version and for a subcommand’s -h', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-help-'));
    try {
      const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
        version: string;
      };
      const env = { SWITCHYARD_DATA_DIR: join(dir, 'data') };
      const [nope, version, revoke] = await Promise.all([
        runCli(['nope'], env),
        runCli(['--version'], env),
        runCli(['keys', 'revoke', '-h'], env),
      ]);
      expect([nope.code, nope.out]).toEqual([2, '']);
      expect(nope.err).toMatch(/^unknown command "nope"\n/);
      expect(nope.err).toContain('Usage: switchyard <command>');
      expect([version.code, version.out, version.err]).toEqual([0, `switchyard ${pkg.version}\n`, '']);
      expect([revoke.code, revoke.err]).toEqual([0, '']);
      expect(revoke.out).toMatch(/^Usage: switchyard keys revoke <id>\n/);
      expect(revoke.out).toContain('--stack <name>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
