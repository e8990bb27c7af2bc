/** Where to stream (the RTMP URL, with a copy button) and the recommended encoder settings. */
import { Box, Stack, TextField, Typography } from '@mui/material';
import { t } from '../../../common/i18n.ts';
import { CopyButton } from '../CopyButton.tsx';
import type { LiveStatus } from '../types.ts';

export function EncoderInfo({ live }: { live: LiveStatus | null }) {
  if (!live) return null;
  return (
    <Stack spacing={1.5}>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ alignItems: { sm: 'center' } }}>
        <TextField label={t('studio.encoder.rtmpUrl')} value={live.ingestUrl} fullWidth slotProps={{ htmlInput: { readOnly: true, 'data-testid': 'ingest-url', spellCheck: false }, input: { sx: { fontFamily: 'monospace' } } }} />
        <CopyButton text={live.ingestUrl} label={t('studio.encoder.copyUrl')} />
      </Stack>
      <Typography variant="body2">{t('studio.encoder.streamKeyHint')}</Typography>
      <Box>
        <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{t('studio.encoder.settingsHeading')}</Typography>
        <Box component="ul" sx={{ m: 0, pl: 3 }} data-testid="encoder-settings">
          <li>{t('studio.encoder.keyframe', { seconds: live.encoder.keyframeIntervalS })}</li>
          <li>{t('studio.encoder.video', { codec: live.encoder.video })}</li>
          <li>{t('studio.encoder.audio', { codec: live.encoder.audio })}</li>
        </Box>
      </Box>
    </Stack>
  );
}
