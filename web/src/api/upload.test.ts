import { describe, expect, it } from 'vitest';
import { newUploadId } from './upload';

describe('newUploadId', () => {
  it('makes a v4 UUID the server accepts, from any random bytes', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(newUploadId((b) => b.fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(newUploadId((b) => b.fill(0))).toBe('00000000-0000-4000-8000-000000000000');
    expect(newUploadId()).toMatch(uuid);
    expect(newUploadId()).not.toBe(newUploadId());
  });
});
