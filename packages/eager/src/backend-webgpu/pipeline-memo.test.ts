import type { GpuRuntime } from '@kiln/gpu-runtime';
import { describe, expect, it } from 'vitest';
import { memoPipeline, PIPELINE_MEMO_LIMIT } from './pipeline-memo';

describe('the pipeline memo', () => {
  it('keeps at most PIPELINE_MEMO_LIMIT pipelines per runtime; a dropped one is made again, a kept one is not', () => {
    let made = 0;
    const rt = { pipeline: () => ({ n: ++made }) } as unknown as GpuRuntime;
    const get = (i: number) => memoPipeline(rt, `sig${i}`, 'test', () => `// ${i}`);
    for (let i = 0; i <= PIPELINE_MEMO_LIMIT; i++) get(i);
    expect(made).toBe(PIPELINE_MEMO_LIMIT + 1);
    const last = get(PIPELINE_MEMO_LIMIT);
    expect(made).toBe(PIPELINE_MEMO_LIMIT + 1);
    get(0); // the least recently used: dropped when the limit was passed
    expect(made).toBe(PIPELINE_MEMO_LIMIT + 2);
    expect(get(PIPELINE_MEMO_LIMIT)).toBe(last);
  });
});
