import { describe, expect, it } from 'vitest';
import { playAuthority, publicAuthority } from './play-gate.ts';

describe('play URL authority', () => {
  it('names the node by RTMP_PUBLIC_HOST when set, else its bind host or the host the client called', () => {
    expect(publicAuthority(null, 1935)).toBeNull();
    expect(publicAuthority('ingest-1.example.com', 1935)).toBe('ingest-1.example.com:1935');
    expect(publicAuthority('live.example.com:443', 1935)).toBe('live.example.com:443');
    expect(publicAuthority('[2001:db8::1]', 1936)).toBe('[2001:db8::1]:1936');
    expect(publicAuthority('[2001:db8::1]:19350', 1936)).toBe('[2001:db8::1]:19350');
    expect(playAuthority({ rtmpHost: null, rtmpPort: 1935, publicAuthority: 'live.example.com:443' }, 'api.internal')).toBe('live.example.com:443');
    expect(playAuthority({ rtmpHost: '10.0.0.5', rtmpPort: 1935 }, 'api.internal')).toBe('10.0.0.5:1935');
    expect(playAuthority({ rtmpHost: null, rtmpPort: 1935 }, 'api.example.com')).toBe('api.example.com:1935');
    expect(playAuthority({ rtmpHost: '::1', rtmpPort: 1935 }, 'x')).toBe('[::1]:1935');
  });
});
