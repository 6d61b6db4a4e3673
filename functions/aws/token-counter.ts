/**
 * The Lambda's token counter. The o200k_base ranks (2.3 MB) are not in the bundle: the CDK build copies
 * js-tiktoken's `o200k_base.cjs` next to it (lib/handler-bundling.ts, BUNDLE_SIDE_FILES), and it is read
 * on the first estimate only. Without the file (a bundle built another way) estimates fall back to
 * characters / 4, with a warning once.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { createTokenCounter } from '../core/usage/tokenizer.ts';
import type { TokenCounter } from '../core/usage/types.ts';

export const TOKENIZER_RANKS_FILE = 'o200k_base.cjs';

export function lambdaTokenCounter(dir = new URL('.', import.meta.url)): TokenCounter {
  const path = fileURLToPath(new URL(TOKENIZER_RANKS_FILE, dir));
  if (existsSync(path)) {
    const load = createRequire(import.meta.url);
    return createTokenCounter(() => load(path) as TiktokenBPE);
  }
  let warned = false;
  return {
    count(text: string): number {
      if (!warned) {
        warned = true;
        process.stdout.write(
          `${JSON.stringify({ level: 'WARN', message: `tokenizer ranks ${TOKENIZER_RANKS_FILE} missing: estimating tokens as characters / 4` })}\n`,
        );
      }
      return Math.ceil(text.length / 4);
    },
  };
}
