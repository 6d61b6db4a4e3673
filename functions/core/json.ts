/** Parsed JSON of unknown shape, and the one test for a JSON object every reader uses. */
export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
