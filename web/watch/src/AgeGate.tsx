/**
 * The age gate, before anything plays: an account that has not attested asks for its date of birth once
 * (`POST /api/me/birth-date`). 201: an adult, the page goes on. 403 `underage`: refused for good, said clearly and
 * kindly, with nothing to retry. 409 `already_attested`: a date was given before (a minor's, kept so another
 * cannot be tried), so nothing plays here.
 */
import { useState, type FormEvent } from 'react';
import { Alert, AlertTitle, Box, Button, Paper, Stack, TextField, Typography } from '@mui/material';
import { ApiError, api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';

/** @param given a date of birth was given before (and did not show an adult): nothing to ask, nothing plays. */
export function AgeGate({ onAdult, given = false }: { onAdult: () => void; given?: boolean }) {
  const [birthDate, setBirthDate] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [final, setFinal] = useState<'underage' | 'already' | null>(given ? 'already' : null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) { setError(t('watch.ageGate.invalid')); return; }
    setBusy(true);
    setError(null);
    try {
      await api('/me/birth-date', { method: 'POST', body: { birthDate } });
      onAdult();
    } catch (err) {
      const a = err as ApiError;
      if (a.code === 'underage') setFinal('underage');
      else if (a.code === 'already_attested') setFinal('already');
      else setError(a.status === 400 ? t('watch.ageGate.invalid') : a.status === 0 ? t('common.networkError') : a.message);
    } finally {
      setBusy(false);
    }
  }

  if (final === 'underage') {
    return (
      <Alert severity="info" role="alert" data-testid="age-refused" sx={{ maxWidth: 560, mx: 'auto' }}>
        <AlertTitle>{t('watch.ageGate.underageHeading')}</AlertTitle>
        <Typography>{t('watch.ageGate.underage')}</Typography>
        <Typography sx={{ mt: 1 }}>{t('watch.ageGate.underageHelp')}</Typography>
      </Alert>
    );
  }
  if (final === 'already') {
    return <Alert severity="info" role="alert" data-testid="age-refused" sx={{ maxWidth: 560, mx: 'auto' }}>{t('watch.ageGate.alreadyGiven')}</Alert>;
  }
  return (
    <Paper component="section" aria-labelledby="age-heading" sx={{ p: 3, maxWidth: 440, mx: 'auto' }} data-testid="age-gate">
      <Typography id="age-heading" component="h2" variant="h5" gutterBottom>{t('watch.ageGate.heading')}</Typography>
      <Typography sx={{ mb: 2 }}>{t('watch.ageGate.intro')}</Typography>
      <Box component="form" onSubmit={submit} noValidate>
        <Stack spacing={2}>
          <TextField label={t('watch.ageGate.birthDate')} type="date" required value={birthDate} onChange={(e) => setBirthDate(e.target.value)}
            slotProps={{ inputLabel: { shrink: true }, htmlInput: { 'data-testid': 'birth-date', max: new Date().toISOString().slice(0, 10) } }} />
          {error && <Alert severity="error">{error}</Alert>}
          <Button type="submit" variant="contained" disabled={busy} data-testid="birth-date-submit">{t('watch.ageGate.submit')}</Button>
        </Stack>
      </Box>
    </Paper>
  );
}
