/**
 * A target's attempts over the last `slots` seconds, in 1 s buckets (ok / failed): what the breaker's failure
 * rate is computed over. Fixed size, no timers: a bucket older than the window is reused when its second
 * comes round.
 */
export class Ring {
  private readonly ok: number[];
  private readonly bad: number[];
  private readonly stamp: number[];
  constructor(private readonly slots: number) {
    this.ok = new Array(slots).fill(0);
    this.bad = new Array(slots).fill(0);
    this.stamp = new Array(slots).fill(-1);
  }
  add(nowMs: number, failed: boolean): void {
    const sec = Math.floor(nowMs / 1000);
    const i = sec % this.slots;
    if (this.stamp[i] !== sec) {
      this.stamp[i] = sec;
      this.ok[i] = 0;
      this.bad[i] = 0;
    }
    if (failed) (this.bad[i] as number)++;
    else (this.ok[i] as number)++;
  }
  totals(nowMs: number): { total: number; failed: number } {
    const sec = Math.floor(nowMs / 1000);
    let total = 0;
    let failed = 0;
    for (let i = 0; i < this.slots; i++) {
      const s = this.stamp[i] as number;
      if (s < 0 || sec - s >= this.slots) continue;
      total += (this.ok[i] as number) + (this.bad[i] as number);
      failed += this.bad[i] as number;
    }
    return { total, failed };
  }
  clear(): void {
    this.stamp.fill(-1);
  }
}
