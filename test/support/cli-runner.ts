/** Runs the real `switchyard` CLI in a child process (tsx), as a user would. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../functions/local/cli.ts');

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

/** AWS endpoints of loopback fakes, as a user's environment would point the SDK at real ones. */
export function awsEnv(cfnUrl: string, dynamoEndpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfnUrl,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  };
}
