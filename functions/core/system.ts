/** The real Clock and Sleep, for hosts; tests pass fake ones. */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Clock, Sleep } from './ports.ts';

export const systemClock: Clock = { now: () => performance.now(), epochMs: () => Date.now() };

export const abortableSleep: Sleep = (ms, signal) =>
  sleepTimer(ms, undefined, signal === undefined ? undefined : { signal });
