/**
 * Heap tuning for Warden's long-running processes. V8 sets the next full collection (mark-compact) at the live
 * heap times a growing factor it picks from its own speed measurements, between 1.1 and 4, and counts ArrayBuffer
 * backing stores — media packets, socket reads, tensors — towards it. A process that moves megabytes of media a
 * second through a small heap therefore collects the whole heap every second or so for garbage that is almost all
 * ArrayBuffers. A fixed factor (V8's `--heap-growing-percent`, read at every collection, so it can be set once the
 * process runs) trades some resident memory for far fewer collections.
 */
import v8 from 'node:v8';

/**
 * Sets V8's heap growing factor to 1 + `percent`/100 for the rest of the process (`--heap-growing-percent`);
 * 0 leaves V8's own heuristic. @throws RangeError for a negative or fractional percent.
 */
export function applyHeapGrowing(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growing percent must be a whole number ≥ 0, got ${percent}`);
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
