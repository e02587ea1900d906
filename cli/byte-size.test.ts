import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from './byte-size.js';

describe('parseByteSize', () => {
  it('should read plain bytes and decimal and binary units, ignoring case and a space', () => {
    expect(parseByteSize('0', '--x')).toBe(0);
    expect(parseByteSize('1073741824', '--x')).toBe(1024 ** 3);
    expect(parseByteSize('8GiB', '--x')).toBe(8 * 1024 ** 3);
    expect(parseByteSize('256MiB', '--x')).toBe(256 * 1024 ** 2);
    expect(parseByteSize('512MB', '--x')).toBe(512e6);
    expect(parseByteSize('4 kB', '--x')).toBe(4000);
    expect(parseByteSize('1.5gib', '--x')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('2TiB', '--x')).toBe(2 * 1024 ** 4);
    expect(parseByteSize('100B', '--x')).toBe(100);
    expect(parseByteSize('0.5KiB', '--x')).toBe(512);
    expect(parseByteSize('1.0001KiB', '--x')).toBe(1024); // fractions of a byte round down
  });

  it('should refuse nonsense with a message that names the flag', () => {
    for (const bad of ['', ' ', 'lots', '-1', '8G', '8 gigs', '1e9', '8GiB8', '0x10', '1.5', 'GiB', '8 GiB B']) {
      expect(() => parseByteSize(bad, '--cache-disk'), bad).toThrow(expect.objectContaining({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringContaining(`--cache-disk: '${bad}' is not a size`) }));
    }
    expect(() => parseByteSize('99999999TiB', 'ELAX_CACHE_MEMORY')).toThrow("ELAX_CACHE_MEMORY: '99999999TiB' is too large");
  });
});

describe('formatByteSize', () => {
  it('should print the largest binary unit', () => {
    expect(formatByteSize(8 * 1024 ** 3)).toBe('8 GiB');
    expect(formatByteSize(1.5 * 1024 ** 2)).toBe('1.5 MiB');
    expect(formatByteSize(512)).toBe('512 B');
  });
});
