// Storing a sweep's measurements as its units finish, in batches.
import type { Logger } from 'pino';
import type { Measurement } from '../model.js';
import type { Store } from '../store/store.js';

/**
 * Stores finished units' measurements in batches: one transaction per batch,
 * at most BATCH_ROWS rows or BATCH_MS old, so a crash loses at most that much
 * (provisional rows of a sweep that is then settled interrupted anyway). Every
 * index page a transaction touches is written twice (WAL, checkpoint), so the
 * window sets what a measurement costs the disk: at a steady pace 2 s gathers
 * four times the rows of 500 ms, and inserts in batches of 64 write about
 * 0.7x the bytes per measurement of batches of 16 (bench/store.ts).
 * A batch the database refuses is retried row by row, so one bad row loses
 * only itself; a full disk drops what it cannot take, with a logged error,
 * and the sweep goes on (the run is then settled partial or failed).
 */
export class BatchWriter {
  static readonly BATCH_ROWS = 256;
  static readonly BATCH_MS = 2000;
  private pending: Measurement[] = [];
  private timer: NodeJS.Timeout | null = null;
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  add(measurements: Measurement[]): void {
    this.pending.push(...measurements);
    if (this.pending.length >= BatchWriter.BATCH_ROWS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BatchWriter.BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.store.insertMeasurements(batch);
    } catch (err) {
      // One refused row rolls back its whole batch: store what can be stored, one row at a time.
      let lost = 0;
      for (const m of batch) {
        try {
          this.store.insertMeasurements([m]);
        } catch {
          lost++;
        }
      }
      this.dropped += lost;
      this.logger.error({ err: (err as Error).message, count: lost, batch: batch.length }, 'measurements dropped: the database refused them');
    }
  }
}

