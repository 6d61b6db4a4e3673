// The refusal every provider's request tests look at: buildCall throws an UnsupportedFieldError naming the
// OpenAI field (param) the provider cannot honour.
import { UnsupportedFieldError } from '../../../functions/core/providers/types.ts';

/** The UnsupportedFieldError `fn` throws; another error is rethrown, and none at all fails the test. */
export function unsupportedFieldError(fn: () => unknown): UnsupportedFieldError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UnsupportedFieldError) return err;
    throw err;
  }
  throw new Error('expected an UnsupportedFieldError');
}
