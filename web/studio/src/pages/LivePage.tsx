/**
 * Live: whether the performer is live and how the stream is doing (polled every few seconds by the app), what
 * their panic button does (the room's saved protection), and where to stream.
 */
import { useState } from 'react';
import { Alert, Box, Chip, FormControl, FormControlLabel, FormLabel, Radio, RadioGroup, Stack, Typography } from '@mui/material';
import { api } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { Section } from '../Section.tsx';
import { EncoderInfo } from './EncoderInfo.tsx';
import { duration, errorText, when } from '../format.ts';
import { PROTECTIONS, type LiveStatus, type Protection, type RoomSettings } from '../types.ts';

function Figure({ label, value, testId }: { label: string; value: string | number; testId?: string }) {
  return (
    <Box sx={{ p: 1.5, border: 1, borderColor: 'divider', borderRadius: 1 }}>
      <Typography variant="body2" component="div">{label}</Typography>
      <Typography variant="h6" component="div" data-testid={testId}>{value}</Typography>
    </Box>
  );
}

export function ProtectionChooser({ value, onSaved }: { value: Protection; onSaved(s: RoomSettings): void }) {
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const change = async (p: Protection) => {
    setMessage(null);
    try {
      onSaved(await api<RoomSettings>('/rooms/me/settings', { method: 'PUT', body: { panicProtection: p } }));
      setMessage({ ok: true, text: t('studio.panic.protectionSaved') });
    } catch (err) {
      setMessage({ ok: false, text: t('studio.panic.protectionFailed', { message: errorText(err) }) });
    }
  };
  return (
    <FormControl component="fieldset">
      <FormLabel component="legend">{t('studio.panic.protectionHeading')}</FormLabel>
      <RadioGroup value={value} onChange={(e) => void change(e.target.value as Protection)} data-testid="panic-protection">
        {PROTECTIONS.map((p) => <FormControlLabel key={p} value={p} control={<Radio />} label={t(`studio.panic.protections.${p}`)} />)}
      </RadioGroup>
      <Typography variant="body2">{t('studio.panic.protectionHelp')}</Typography>
      <Box role="status" aria-live="polite">{message && <Alert severity={message.ok ? 'success' : 'error'} sx={{ mt: 1 }}>{message.text}</Alert>}</Box>
    </FormControl>
  );
}

export function LivePage({ live, error, settings, onSettings, now }: { live: LiveStatus | null; error: string | null; settings: RoomSettings | null; onSettings(s: RoomSettings): void; now: number }) {
  const b = live?.broadcast ?? null;
  const h = b?.health;
  return (
    <>
      <Section title={t('studio.live.heading')} testId="live-section">
        {error && <Alert severity="warning" sx={{ mb: 1 }}>{t('studio.live.refreshFailed', { message: error })}</Alert>}
        {!b ? (
          <Box data-testid="live-status" data-status="offline">
            <Typography sx={{ fontWeight: 700 }}>{t('studio.live.notLive')}</Typography>
            <Typography variant="body2">{t('studio.live.notLiveHelp')}</Typography>
          </Box>
        ) : (
          <Box data-testid="live-status" data-status="live" data-broadcast-id={b.id}>
            <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap', mb: 1 }}>
              <Chip label={t('studio.live.liveNow')} sx={{ bgcolor: '#b91c1c', color: '#fff', fontWeight: 700 }} />
              <Typography>{t('studio.live.since', { time: when(b.startedAt), duration: duration((now - Date.parse(b.startedAt)) / 1000) })}</Typography>
            </Stack>
            {h && (
              <>
                <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700, mt: 1 }}>{t('studio.live.healthHeading')}</Typography>
                <Alert severity={h.state === 'ok' ? 'success' : h.state === 'starting' ? 'info' : 'warning'} data-testid="live-health" data-state={h.state} sx={{ my: 1 }}>
                  {t(`studio.live.state.${h.state}`)}
                </Alert>
                <Box sx={{ display: 'grid', gap: 1, gridTemplateColumns: { xs: '1fr 1fr', md: 'repeat(4, 1fr)' } }}>
                  <Figure label={t('studio.live.framesSampled')} value={h.framesSampled} testId="health-frames" />
                  <Figure label={t('studio.live.framesAnalysed')} value={h.framesAnalysed} />
                  <Figure label={t('studio.live.audioChunks')} value={h.audioChunks} />
                  <Figure label={t('studio.live.lastSample')} value={h.secondsSinceLastSample === null ? t('studio.live.never') : t('studio.live.secondsAgo', { seconds: Math.round(h.secondsSinceLastSample) })} />
                  <Figure label={t('studio.live.viewers')} value={h.viewers ?? t('studio.live.notCounted')} />
                  <Figure label={t('studio.live.casesOpen')} value={h.casesOpen} />
                  <Figure label={t('studio.live.tapMode')} value={h.tapMode === 'interval' ? t('studio.live.tapModes.interval', { seconds: h.sampleIntervalMs / 1000 }) : h.tapMode === 'keyframes' ? t('studio.live.tapModes.keyframes') : t('studio.live.never')} />
                </Box>
              </>
            )}
          </Box>
        )}
      </Section>
      <Section title={t('studio.panic.sectionHeading')} testId="protection-section">
        {settings && <ProtectionChooser value={settings.panicProtection} onSaved={onSettings} />}
      </Section>
      <Section title={t('studio.live.ingestHeading')}>
        <EncoderInfo live={live} />
      </Section>
    </>
  );
}
