/**
 * Work that outlives a response (ledger writes, budget settlements): never awaited on the request path, but
 * tracked, so the Lambda host can finish it before its invocation resolves and the local host before it
 * closes the store.
 */
export class Background {
  private readonly pending = new Set<Promise<unknown>>();

  /** Tracks a task; its failure is the task's own business (it must catch what it can handle). */
  add(task: Promise<unknown>): void {
    const p = task.catch(() => undefined).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when every task added so far, and every task those add, has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
