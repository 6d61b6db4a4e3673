/**
 * Active health probes (issue 16, off unless a route's or provider's `health.probeEveryMs` is set): a target
 * that no request touched for that long gets one cheap request — a one-token chat completion — so a quiet
 * route's outage (or its recovery, for a half-open breaker) is found by a probe, not by the first real
 * request after a quiet night. A probe is an ordinary request of the gateway pinned to one target: it goes
 * through the breakers (an open target is not probed; a half-open one is, claiming the probe), and it has its
 * log line, metrics and ledger record like any other, under the key id {@link PROBE_KEY_ID} — a probe costs
 * tokens, and reconciliation must find them in the ledger.
 */
import type { GatewayConfig, TargetConfig } from '../config/schema.ts';
import type { GatewayRequest } from '../http.ts';
import { own } from '../json.ts';
import type { Principal } from '../ports.ts';
import { type HealthBoard, healthConfigOf, targetId } from '../routing/health.ts';

/**
 * The event the stack's schedule sends the gateway Lambda to run its probes (lib/health-probes.ts). An HTTP
 * request cannot take this shape: API Gateway and function URL events carry the request inside them.
 */
export const PROBE_EVENT = { switchyard: 'health-probe' } as const;

export function isProbeEvent(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    Object.hasOwn(event, 'switchyard') &&
    (event as { switchyard?: unknown }).switchyard === PROBE_EVENT.switchyard
  );
}

/** The longest a probe round waits for the fleet's view of its targets before choosing. */
export const PROBE_READ_CAP_MS = 2_000;

/** The key id a probe's log line and ledger record carry. */
export const PROBE_KEY_ID = 'health-probe';
export const PROBE_PRINCIPAL: Principal = { keyId: PROBE_KEY_ID };

export interface DueProbe {
  readonly route: string;
  readonly target: TargetConfig;
  readonly id: string;
}

export interface ProbeResult {
  readonly route: string;
  readonly target: string;
  readonly status: number;
  readonly requestId: string;
}

/**
 * The targets to probe now: of a route with `probeEveryMs`, each target (once, under its first route) that
 * neither a request nor a probe touched for that long, and whose breaker is not open (an open one has nothing
 * to say until its cool-down ends); a half-open one at once, so a quiet route's breaker closes without
 * waiting for a client to find out.
 */
export function dueProbes(
  config: GatewayConfig,
  board: HealthBoard,
  probedAt: ReadonlyMap<string, number>,
  now: number,
): DueProbe[] {
  const due: DueProbe[] = [];
  const seen = new Set<string>();
  for (const [route, r] of Object.entries(config.routes)) {
    for (const target of r.targets) {
      const id = targetId(target);
      if (seen.has(id)) continue;
      const cfg = healthConfigOf(r, own(config.providers, target.provider));
      if (cfg.probeEveryMs === undefined || !cfg.enabled) continue;
      seen.add(id);
      const view = board.view(id);
      const last = Math.max(probedAt.get(id) ?? 0, view.seenAt ?? 0);
      if (view.status === 'open') continue;
      // Half-open: its cool-down is over and no request came to probe it; probed now, however recent.
      if (view.status !== 'half-open' && now - last < cfg.probeEveryMs) continue;
      due.push({ route, target, id });
    }
  }
  return due;
}

/** The probe's request: a one-token chat completion on the route (pinned to the target by the caller). */
export function probeRequest(route: string, requestId: string): GatewayRequest {
  return {
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({
      model: route,
      messages: [{ role: 'user', content: 'ping' }],
      max_tokens: 1,
      stream: false,
    }),
  };
}
