import { describe, expect, it } from 'vitest';
import { flvAuthority, flvPlayPath, playAuthority, publicAuthority } from './play-gate.ts';

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

describe('HTTP-FLV URL authority', () => {
  it('names the node by its HTTP bind host (or the host the client called) and port; none without HTTP', () => {
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935 }, 'api.example.com')).toBeNull();
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935, http: null }, 'api.example.com')).toBeNull();
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935, http: { host: '10.0.0.5', port: 8080 } }, 'api.example.com')).toBe('10.0.0.5:8080');
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935, http: { host: null, port: 8081 } }, 'api.example.com')).toBe('api.example.com:8081');
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935, http: { host: '::1', port: 8080 } }, 'x')).toBe('[::1]:8080');
    expect(flvAuthority({ rtmpHost: null, rtmpPort: 1935, http: { host: null, port: 8080, publicUrl: 'https://ingest-2.example.com' } }, 'x')).toBe('https://ingest-2.example.com');
    expect(flvPlayPath('7d0c6e3e-52f1-4d8e-9a52-0f3c1f0e9b11')).toBe('/flv/watch/7d0c6e3e-52f1-4d8e-9a52-0f3c1f0e9b11.flv');
  });
});
