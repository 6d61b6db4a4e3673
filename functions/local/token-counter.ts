/** The local host's token counter: js-tiktoken's o200k_base ranks from node_modules, loaded on first use. */
import { createRequire } from 'node:module';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { createTokenCounter } from '../core/usage/tokenizer.ts';
import type { TokenCounter } from '../core/usage/types.ts';

const require = createRequire(import.meta.url);

export function localTokenCounter(): TokenCounter {
  return createTokenCounter(() => require('js-tiktoken/ranks/o200k_base') as TiktokenBPE);
}
