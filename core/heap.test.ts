/** applyHeapGrowing: refuses what V8 would misread; the effect itself is measured by the capacity bench. */
import { describe, expect, it } from 'vitest';
import { applyHeapGrowing } from './heap.ts';
import { loadConfig } from './config.ts';

describe('heap growing', () => {
  it('refuses a negative or fractional percent, and the configuration refuses it first', () => {
    expect(() => applyHeapGrowing(-1)).toThrow(/whole number/);
    expect(() => applyHeapGrowing(12.5)).toThrow(/whole number/);
    expect(() => applyHeapGrowing(0)).not.toThrow();
    expect(loadConfig({}).heapGrowingPercent).toBe(100);
    expect(() => loadConfig({ HEAP_GROWING_PERCENT: '-5' })).toThrow(/HEAP_GROWING_PERCENT/);
  });
});
