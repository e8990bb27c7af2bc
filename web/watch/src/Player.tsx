/**
 * The live player: HTTP-FLV over Media Source Extensions with mpegts.js in a `<video>` with the browser's own
 * controls. A play URL is one-time (`POST /api/broadcasts/:id/play`), so every (re)connection asks for a new one;
 * a dropped connection reconnects with back-off (1 s, 2 s, 4 s … 10 s). The play API's refusals are shown plainly:
 * `hidden` and `not_live` are checked again every 10 s (a paused stream comes back by itself), `banned` and
 * `age_unverified` stop. Autoplay with sound is often blocked: the player then starts muted and offers to unmute.
 * Captions (captions.ts) go to a TextTrack of the video, toggled by a button with `aria-pressed`.
 */
import { useEffect, useRef, useState } from 'react';
import mpegts from 'mpegts.js';
import { Alert, Box, Button, Chip, Stack, Typography } from '@mui/material';
import ClosedCaptionIcon from '@mui/icons-material/ClosedCaption';
import ClosedCaptionDisabledIcon from '@mui/icons-material/ClosedCaptionDisabled';
import VolumeUpIcon from '@mui/icons-material/VolumeUp';
import { ApiError, api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import { CaptionFeed } from './captions.ts';
import type { LiveBroadcast, PlayGrant } from './types.ts';

type Refusal = 'hidden' | 'not_live' | 'banned' | 'age_unverified' | 'not_found' | 'unavailable';
type State = { kind: 'connecting' } | { kind: 'reconnecting' } | { kind: 'playing' } | { kind: 'refused'; code: Refusal } | { kind: 'unsupported' };

const RECHECK_MS = 10_000;
const backoff = (attempt: number) => Math.min(10_000, 1000 * 2 ** attempt);

/** The video's captions track (one per element, made once: tracks added by script cannot be removed). */
function captionTrack(video: HTMLVideoElement): TextTrack {
  const label = t('watch.captions.trackLabel');
  const existing = Array.from(video.textTracks).find((tr) => tr.kind === 'captions' && tr.label === label);
  const track = existing ?? video.addTextTrack('captions', label, 'en');
  if (track.mode === 'disabled') track.mode = 'hidden';
  return track;
}

export function Player({ broadcast }: { broadcast: LiveBroadcast }) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const feedRef = useRef<CaptionFeed | null>(null);
  const [state, setState] = useState<State>({ kind: 'connecting' });
  const [muted, setMuted] = useState(false);
  const [captionsOn, setCaptionsOn] = useState(false);
  const [cueCount, setCueCount] = useState(0);

  useEffect(() => {
    const video = videoRef.current!;
    if (!mpegts.getFeatureList().mseLivePlayback) { setState({ kind: 'unsupported' }); return; }
    const feed = new CaptionFeed(broadcast.id, Date.parse(broadcast.startedAt), video, captionTrack(video), () => setCueCount((n) => n + 1));
    feedRef.current = feed;
    let cancelled = false;
    let player: mpegts.Player | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let attempt = 0;

    const later = (ms: number) => { if (!cancelled) timer = setTimeout(() => void connect(), ms); };
    const teardown = () => {
      if (!player) return;
      const p = player;
      player = null;
      try { p.pause(); p.unload(); p.detachMediaElement(); p.destroy(); } catch { /* already torn down */ }
    };
    const dropped = () => {
      if (cancelled || !player) return;
      teardown();
      setState({ kind: 'reconnecting' });
      later(backoff(attempt++));
    };
    const onPlaying = () => { attempt = 0; setState({ kind: 'playing' }); };
    video.addEventListener('playing', onPlaying);

    async function connect(): Promise<void> {
      timer = null;
      let grant: PlayGrant;
      try {
        grant = await api<PlayGrant>(`/broadcasts/${broadcast.id}/play`, { method: 'POST', body: {} });
      } catch (err) {
        if (cancelled) return;
        const a = err as ApiError;
        const code: Refusal | null = a.status === 404 ? 'not_found'
          : ['hidden', 'not_live', 'banned', 'age_unverified'].includes(a.code) ? a.code as Refusal : null;
        if (code) {
          setState({ kind: 'refused', code });
          if (code === 'hidden' || code === 'not_live') later(RECHECK_MS);
        } else {
          setState({ kind: 'refused', code: 'unavailable' });
          later(backoff(attempt++));
        }
        return;
      }
      if (cancelled) return;
      if (!grant.flvUrl) { setState({ kind: 'refused', code: 'unavailable' }); later(RECHECK_MS); return; }
      const p = mpegts.createPlayer({ type: 'flv', isLive: true, url: grant.flvUrl }, {
        enableWorker: false, enableStashBuffer: false, lazyLoad: false, autoCleanupSourceBuffer: true,
        liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 4, liveBufferLatencyMinRemain: 0.5,
      });
      player = p;
      p.on(mpegts.Events.ERROR, dropped);
      p.on(mpegts.Events.LOADING_COMPLETE, dropped); // a live stream that "completes" was cut
      p.attachMediaElement(video);
      p.load();
      feed.reset();
      try {
        await video.play();
      } catch (err) {
        if ((err as Error).name === 'NotAllowedError' && !cancelled) {
          video.muted = true; // autoplay with sound blocked: start muted, offer to unmute
          setMuted(true);
          await video.play().catch(() => undefined);
        }
      }
    }

    void connect();
    return () => {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      video.removeEventListener('playing', onPlaying);
      feed.stop();
      feedRef.current = null;
      teardown();
    };
  }, [broadcast.id, broadcast.startedAt]);

  useEffect(() => {
    const video = videoRef.current;
    const feed = feedRef.current;
    if (!video || !feed) return;
    const track = captionTrack(video);
    track.mode = captionsOn ? 'showing' : 'hidden';
    if (captionsOn) feed.start(); else feed.stop();
  }, [captionsOn, state.kind]);

  const unmute = () => {
    const v = videoRef.current;
    if (!v) return;
    v.muted = false;
    setMuted(false);
    void v.play().catch(() => undefined);
  };

  const refusal = state.kind === 'refused' ? state.code : null;
  return (
    <Box>
      <Box sx={{ position: 'relative', bgcolor: 'common.black', aspectRatio: '16 / 9', width: '100%', borderRadius: 1, overflow: 'hidden' }}>
        <video ref={videoRef} id="player" controls playsInline aria-label={t('watch.player.label', { handle: broadcast.performer.handle })}
          data-testid="player-video" data-state={state.kind} style={{ width: '100%', height: '100%', display: 'block' }} />
        {state.kind === 'playing' && (
          <Chip label={t('watch.player.live')} color="error" size="small" sx={{ position: 'absolute', top: 8, left: 8, fontWeight: 700 }} />
        )}
      </Box>
      <Box aria-live="polite" sx={{ mt: 1 }}>
        {state.kind === 'connecting' && <Typography data-testid="player-status">{t('watch.player.connecting')}</Typography>}
        {state.kind === 'reconnecting' && <Alert severity="warning" data-testid="player-status">{t('watch.player.reconnecting')}</Alert>}
        {state.kind === 'unsupported' && <Alert severity="error" data-testid="player-status">{t('watch.player.unsupported')}</Alert>}
        {refusal && (
          <Alert severity={refusal === 'unavailable' ? 'warning' : 'info'} data-testid="player-refusal" data-code={refusal}>
            {t(`watch.player.refusals.${refusal}`)}
          </Alert>
        )}
      </Box>
      <Stack direction="row" spacing={1} useFlexGap sx={{ mt: 1, flexWrap: 'wrap' }}>
        <Button variant={captionsOn ? 'contained' : 'outlined'} aria-pressed={captionsOn} onClick={() => setCaptionsOn((v) => !v)}
          startIcon={captionsOn ? <ClosedCaptionIcon /> : <ClosedCaptionDisabledIcon />} data-testid="captions-toggle">
          {t('watch.captions.button')}
        </Button>
        {muted && (
          <Button variant="outlined" onClick={unmute} startIcon={<VolumeUpIcon />} data-testid="unmute">{t('watch.player.unmute')}</Button>
        )}
      </Stack>
      {captionsOn && (
        <Typography variant="body2" sx={{ mt: 1 }} color="text.secondary" data-testid="captions-note" data-cues={cueCount}>
          {t('watch.captions.note')} {cueCount === 0 ? t('watch.captions.waiting') : ''}
        </Typography>
      )}
    </Box>
  );
}
