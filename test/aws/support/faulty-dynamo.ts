/**
 * A DynamoDB client in front of a real one (dynalite) that breaks calls the way a network breaks them:
 * - `lost`: the call never reaches the store and throws;
 * - `landed`: the call is applied, then its answer is lost and it throws (the SDK gave up retrying);
 * - `twice`: the call is applied, its answer is lost and the SDK sends it again: the caller sees the second
 *   answer (a conditional write's retry then fails its own condition).
 * From `dieAt` on, every call throws before it reaches the store: a process that crashed there.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export type Fault = 'lost' | 'landed' | 'twice';
export const FAULTS: readonly Fault[] = ['lost', 'landed', 'twice'];

type Command = Parameters<DynamoDBClient['send']>[0];

export interface FaultPlan {
  /** 0-based index of the call to break, among the calls `only` accepts (all calls without it). */
  readonly at?: number;
  readonly fault?: Fault;
  readonly only?: (command: Command) => boolean;
  /** 0-based index, among all calls, of the first call that fails for good. */
  readonly dieAt?: number;
}

export interface FaultyClient {
  readonly client: DynamoDBClient;
  /** Calls made so far, failed ones included. */
  calls(): number;
}

export function faultyClient(real: DynamoDBClient, plan: FaultPlan = {}): FaultyClient {
  let all = 0;
  let matching = 0;
  const send = async (command: Command): Promise<unknown> => {
    const i = all++;
    if (plan.dieAt !== undefined && i >= plan.dieAt) throw new Error(`faulty client: dead at call ${i}`);
    if (plan.only !== undefined && !plan.only(command)) return real.send(command);
    if (matching++ !== plan.at) return real.send(command);
    if (plan.fault === 'lost') throw new Error(`faulty client: call ${i} lost`);
    await real.send(command);
    if (plan.fault === 'landed') throw new Error(`faulty client: answer of call ${i} lost`);
    return real.send(command);
  };
  return { client: { send } as unknown as DynamoDBClient, calls: () => all };
}
