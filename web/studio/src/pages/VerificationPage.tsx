/**
 * Verification: date of birth, the ID document (camera or upload) and a selfie (camera or upload), submitted as
 * one multipart form to `POST /api/verification`; the status of every verification (pending, approved until when,
 * rejected and why, revoked).
 */
import { useCallback, useEffect, useId, useState } from 'react';
import { Alert, Box, Button, Chip, List, ListItem, ListItemText, Stack, TextField, Typography } from '@mui/material';
import UploadFile from '@mui/icons-material/UploadFile';
import { ApiError, api } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { CameraCapture } from '../CameraCapture.tsx';
import { Section } from '../Section.tsx';
import { errorText, when } from '../format.ts';
import type { Verification } from '../types.ts';

/** One image of the form: camera or file, with a preview of the choice. */
function ImagePicker({ what, help, facingMode, file, onChange, testId }: { what: string; help: string; facingMode: 'user' | 'environment'; file: File | null; onChange(f: File | null): void; testId: string }) {
  const inputId = useId();
  const helpId = useId();
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) { setUrl(null); return; }
    const u = URL.createObjectURL(file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  return (
    <Box component="fieldset" sx={{ border: 1, borderColor: 'divider', borderRadius: 1, p: 2, m: 0 }} aria-describedby={helpId}>
      <Typography component="legend" sx={{ px: 0.5, fontWeight: 700 }}>{what}</Typography>
      <Typography id={helpId} variant="body2" sx={{ mb: 1 }}>{help}</Typography>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ mb: 1 }}>
        <CameraCapture facingMode={facingMode} name={testId} onCapture={onChange} testId={`${testId}-camera`} />
        <Button component="label" htmlFor={inputId} variant="outlined" startIcon={<UploadFile aria-hidden="true" />}>
          {t('studio.verification.upload')}
          <input id={inputId} type="file" accept="image/jpeg,image/png,image/webp" hidden data-testid={`${testId}-file`}
            onChange={(e) => { onChange(e.target.files?.[0] ?? null); e.target.value = ''; }} />
        </Button>
      </Stack>
      {file && url && (
        <Stack spacing={1} data-testid={`${testId}-chosen`} data-name={file.name}>
          <Typography variant="body2">{t('studio.verification.chosen', { name: file.name })}</Typography>
          <Box component="img" src={url} alt={t('studio.verification.preview', { what })} sx={{ maxWidth: 240, maxHeight: 240, objectFit: 'contain', borderRadius: 1, border: 1, borderColor: 'divider' }} />
          <Button onClick={() => onChange(null)} sx={{ alignSelf: 'flex-start' }}>{t('studio.verification.remove')}</Button>
        </Stack>
      )}
    </Box>
  );
}

export function VerificationPage() {
  const [list, setList] = useState<Verification[] | null>(null);
  const [dob, setDob] = useState('');
  const [doc, setDoc] = useState<File | null>(null);
  const [selfie, setSelfie] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const load = useCallback(() => api<Verification[]>('/verification').then(setList).catch(() => undefined), []);
  useEffect(() => { void load(); }, [load]);
  const pending = list?.some((v) => v.status === 'pending') ?? false;

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!dob || !doc || !selfie) { setResult({ ok: false, text: t('studio.verification.missing') }); return; }
    const form = new FormData();
    form.set('dateOfBirth', dob);
    form.set('document', doc, doc.name);
    form.set('selfie', selfie, selfie.name);
    setBusy(true);
    setResult(null);
    try {
      await api('/verification', { method: 'POST', body: form });
      setResult({ ok: true, text: t('studio.verification.submitted') });
      setDoc(null);
      setSelfie(null);
      await load();
    } catch (err) {
      setResult({ ok: false, text: err instanceof ApiError ? err.message : errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Section title={t('studio.verification.heading')} testId="verification-section">
        <Typography sx={{ mb: 2 }}>{t('studio.verification.intro')}</Typography>
        {pending ? <Alert severity="info">{t('studio.verification.pendingBlocks')}</Alert> : (
          <Box component="form" onSubmit={submit} noValidate>
            <Stack spacing={2}>
              <TextField label={t('studio.verification.dateOfBirth')} type="date" required value={dob} onChange={(e) => setDob(e.target.value)}
                slotProps={{ inputLabel: { shrink: true }, htmlInput: { 'data-testid': 'dob', max: new Date().toISOString().slice(0, 10) } }} sx={{ maxWidth: 280 }} />
              <ImagePicker what={t('studio.verification.document')} help={t('studio.verification.documentHelp')} facingMode="environment" file={doc} onChange={setDoc} testId="document" />
              <ImagePicker what={t('studio.verification.selfie')} help={t('studio.verification.selfieHelp')} facingMode="user" file={selfie} onChange={setSelfie} testId="selfie" />
              <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="verification-submit">
                {busy ? t('studio.verification.submitting') : t('studio.verification.submit')}
              </Button>
            </Stack>
          </Box>
        )}
        <Box role="status" aria-live="polite" sx={{ mt: 2 }}>
          {result && <Alert severity={result.ok ? 'success' : 'error'} data-testid="verification-result" data-ok={result.ok ? 'true' : 'false'}>{result.text}</Alert>}
        </Box>
      </Section>
      <Section title={t('studio.verification.statusHeading')}>
        {list && list.length === 0 && <Typography>{t('studio.verification.none')}</Typography>}
        <List>
          {list?.map((v) => (
            <ListItem key={v.id} divider data-testid="verification-row" data-status={v.status} sx={{ flexWrap: 'wrap', gap: 1, alignItems: 'flex-start' }}>
              <Chip label={t(`studio.verification.status.${v.status}`)} color={v.status === 'approved' ? 'success' : v.status === 'pending' ? 'info' : 'error'} />
              <ListItemText
                primary={t('studio.verification.submittedOn', { time: when(v.createdAt) })}
                secondary={[
                  v.status === 'approved' && v.expiresAt ? t('studio.verification.expires', { time: when(v.expiresAt) }) : null,
                  v.decisionReason && v.status !== 'approved' ? t('studio.verification.reason', { reason: v.decisionReason }) : null,
                  v.checks.ageYears !== null && v.checks.ageYears !== undefined ? t('studio.verification.ageOnDay', { age: v.checks.ageYears }) : null,
                  v.checks.match ? t('studio.verification.faceMatch', { result: v.checks.match.same ? t('studio.verification.match') : t('studio.verification.noMatch') }) : null,
                ].filter(Boolean).join(' · ')} />
            </ListItem>
          ))}
        </List>
      </Section>
    </>
  );
}
