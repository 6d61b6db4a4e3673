/**
 * The admin API's routes pages (./api.ts): the config in the store as YAML; a YAML text checked with the
 * config's own validation, each problem at its line, and a diff of what saving it would change; and saving it
 * the way `switchyard routes sync` does (the gateway picks it up within its route cache's TTL).
 */
import { isNode, LineCounter, parseDocument, stringify } from 'yaml';
import { ConfigError, type GatewayConfig, parseConfig } from '../config/schema.ts';
import { InvalidRequestError } from '../errors.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../gateway/body.ts';

/** Where saved routes go: the store `routes sync` writes (functions/aws/stores/dynamo-route-store.ts). */
export interface RouteSink {
  sync(config: GatewayConfig): Promise<{ put: number; deleted: number }>;
}

export interface YamlProblem {
  /** 1-based; 0 when the problem has no place in the text. */
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

export interface Change {
  readonly section: 'providers' | 'routes' | 'prices';
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
}

export interface Checked {
  readonly ok: boolean;
  readonly problems: readonly YamlProblem[];
  readonly diff: readonly Change[];
  readonly config?: GatewayConfig;
}

const SECTIONS = ['providers', 'routes', 'prices'] as const;
/** A YAML text's aliases expand at most this many times (a "billion laughs" text stays small). */
const MAX_ALIASES = 100;

/** GET /admin/v1/routes: the config as the store holds it (defaults filled in), as YAML. */
export function routesYaml(config: GatewayConfig): string {
  return stringify(config);
}

/** What changes from `current` to `next`, entry by entry. */
export function diffConfig(current: GatewayConfig, next: GatewayConfig): Change[] {
  const out: Change[] = [];
  for (const section of SECTIONS) {
    const a: Record<string, unknown> = current[section] ?? {};
    const b: Record<string, unknown> = next[section] ?? {};
    for (const name of Object.keys(b).sort()) {
      if (!Object.hasOwn(a, name)) out.push({ section, name, change: 'added' });
      else if (JSON.stringify(a[name]) !== JSON.stringify(b[name]))
        out.push({ section, name, change: 'changed' });
    }
    for (const name of Object.keys(a).sort())
      if (!Object.hasOwn(b, name)) out.push({ section, name, change: 'removed' });
  }
  return out;
}

/** A YAML text checked: its syntax, then the config's own validation, each problem at its line. */
export function checkYaml(text: string, current: GatewayConfig): Checked {
  const lines = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  } catch (err) {
    return { ok: false, problems: [{ line: 0, column: 0, path: '', message: String(err) }], diff: [] };
  }
  const at = (offset: number | undefined) =>
    offset === undefined ? { line: 0, col: 0 } : lines.linePos(offset);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 0, col: 0 };
      return { line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0] ?? e.message };
    });
    return { ok: false, problems, diff: [] };
  }
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: MAX_ALIASES });
    if (nestsDeeperThan(json, MAX_JSON_DEPTH)) throw new Error(`nests deeper than ${MAX_JSON_DEPTH} levels`);
  } catch (err) {
    return { ok: false, problems: [{ line: 0, column: 0, path: '', message: String(err) }], diff: [] };
  }
  try {
    const config = parseConfig(json, 'routes');
    return { ok: true, problems: [], diff: diffConfig(current, config), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problems = err.details.map((d) => {
      // The deepest part of the path the text has (a missing field is reported where its parent is).
      let offset: number | undefined;
      for (let n = d.path.length; n >= 0 && offset === undefined; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(d.path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range !== undefined && node.range !== null) offset = node.range[0];
      }
      const pos = at(offset);
      return { line: pos.line, column: pos.col, path: d.path.map(String).join('.'), message: d.message };
    });
    return { ok: false, problems, diff: [] };
  }
}

/** PUT /admin/v1/routes: saved when the text is valid; else 400 naming the first problems with their lines. */
export async function saveYaml(
  sink: RouteSink,
  text: string,
  current: GatewayConfig,
): Promise<{ readonly put: number; readonly deleted: number; readonly diff: readonly Change[] }> {
  const checked = checkYaml(text, current);
  if (!checked.ok || checked.config === undefined) {
    const first = checked.problems
      .slice(0, 5)
      .map((p) => `line ${p.line}${p.path === '' ? '' : ` (${p.path})`}: ${p.message}`);
    throw new InvalidRequestError({
      code: 'invalid_config',
      message: `Nothing saved: ${first.join('; ')}`,
      param: 'yaml',
    });
  }
  const r = await sink.sync(checked.config);
  return { ...r, diff: checked.diff };
}
