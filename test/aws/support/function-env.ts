/**
 * What surrounds the function in Lambda but is not the runtime's invoke loop: its configuration and reserved
 * environment, the log capture CloudWatch Logs would get, and the timing of a cold start's init phase.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export interface FunctionConfig {
  readonly functionName: string;
  readonly region: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly accountId: string;
}

export const DEFAULT_FUNCTION: FunctionConfig = {
  functionName: 'switchyard-gateway',
  region: 'us-east-1',
  memoryMb: 512,
  timeoutMs: 15_000,
  accountId: '123456789012',
};

/** The reserved environment variables the runtime sets before the handler module loads. */
export function lambdaRuntimeEnv(cfg: FunctionConfig, taskRoot: string): Record<string, string> {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    AWS_REGION: cfg.region,
    AWS_DEFAULT_REGION: cfg.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: cfg.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(cfg.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${cfg.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    LAMBDA_TASK_ROOT: taskRoot,
  };
}

/**
 * What the runtime ships to CloudWatch Logs: every line the function writes to stdout/stderr (powertools writes
 * there directly in Lambda). Captured for assertions, and kept off the test output.
 */
export class FunctionLogs {
  readonly lines: string[] = [];
  #restore: (() => void) | undefined;

  start(): void {
    const { stdout, stderr } = process;
    const [out, err] = [stdout.write, stderr.write];
    const capture = (chunk: string | Uint8Array): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      this.lines.push(...text.split('\n').filter((l) => l !== ''));
      return true;
    };
    stdout.write = capture as typeof stdout.write;
    stderr.write = capture as typeof stderr.write;
    this.#restore = () => {
      stdout.write = out;
      stderr.write = err;
    };
  }

  stop(): void {
    this.#restore?.();
    this.#restore = undefined;
  }

  /** The lines that are JSON objects (powertools log records and EMF documents). */
  json(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return typeof v === 'object' && v !== null && !Array.isArray(v) ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }
}

/**
 * The init phase of a cold start: a fresh Node process defines a bare `awslambda`, then times the `import()`
 * of the bundle (module load + evaluation) with the given environment.
 */
export async function measureColdInitMs(bundleUrl: string, env: NodeJS.ProcessEnv): Promise<number> {
  const script = [
    "const { performance } = await import('node:perf_hooks');",
    'globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };',
    'const t = performance.now();',
    'await import(process.argv[1]);',
    'process.stdout.write(String(performance.now() - t));',
  ].join('\n');
  const args = ['--input-type=module', '-e', script, bundleUrl];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env });
  return Number(stdout);
}
