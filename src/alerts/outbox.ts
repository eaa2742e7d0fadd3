// The alert outbox's table access lives with the store (src/store/outbox.ts);
// re-exported here for the alert pipeline.
export { Outbox, type NewAlert, type OutboxRow, type OutboxStatus } from '../store/outbox.js';
