// How the store writes a measurement lives in src/records/stored-record.ts
// (the store must not import the export); re-exported for existing callers.
export { storedMeasurement, type StoredMeasurement } from '../records/stored-record.js';
