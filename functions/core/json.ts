/** Parsed JSON of unknown shape, and the one test for a JSON object every reader uses. */
export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The value a record holds under a name that came from outside (a model, a provider id, a header), looked up
 * as an own property only: `constructor`, `__proto__` or `toString` never reach `Object.prototype`.
 */
export function own<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
