/**
 * Reporting a stream, a chat message or a user: the categories the policy allows (`GET /api/report-categories`,
 * loaded once), an optional note, `POST /api/reports`. The reporter later sees the outcome under My reports.
 */
import { useEffect, useState, type FormEvent } from 'react';
import {
  Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, FormControl, FormControlLabel, FormLabel, Radio, RadioGroup, TextField, Typography,
} from '@mui/material';
import { ApiError, api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import type { ReportCategory, ReportSubject } from './types.ts';

let categories: Promise<ReportCategory[]> | null = null;
/** The report categories (fetched once per page; a failure is retried on the next call). */
function loadCategories(): Promise<ReportCategory[]> {
  categories ??= api<ReportCategory[]>('/report-categories').catch((err) => { categories = null; throw err; });
  return categories;
}

function title(s: ReportSubject): string {
  return s.type === 'broadcast' ? t('watch.report.dialogStream') : s.type === 'message' ? t('watch.report.dialogMessage') : t('watch.report.dialogUser', { handle: s.handle });
}

export function ReportDialog({ subject, onClose }: { subject: ReportSubject | null; onClose: () => void }) {
  const [list, setList] = useState<ReportCategory[] | null>(null);
  const [category, setCategory] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);

  useEffect(() => {
    if (!subject) return;
    setCategory(''); setNote(''); setError(null); setSent(false);
    loadCategories().then(setList, (err: ApiError) => setError(t('watch.errors.generic', { message: err.message })));
  }, [subject]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!subject) return;
    if (!category) { setError(t('watch.report.chooseCategory')); return; }
    setBusy(true);
    setError(null);
    try {
      await api('/reports', { method: 'POST', body: { subjectType: subject.type, subjectId: subject.id, category, note: note.trim() || null } });
      setSent(true);
    } catch (err) {
      const a = err as ApiError;
      if (a.status === 409) {
        setSent(true);
        setError(t('watch.report.duplicate'));
      } else setError(a.status === 429 ? t('watch.report.rateLimited') : a.status === 0 ? t('common.networkError') : t('watch.errors.generic', { message: a.message }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open={!!subject} onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="report-title">
      <form onSubmit={submit} noValidate>
        <DialogTitle id="report-title">{subject ? title(subject) : ''}</DialogTitle>
        <DialogContent>
          {subject?.type === 'message' && <Typography sx={{ mb: 2, wordBreak: 'break-word' }}>{t('watch.report.quoted', { text: subject.text })}</Typography>}
          {sent && !error && <Alert severity="success" data-testid="report-sent">{t('watch.report.sent')}</Alert>}
          {error && <Alert severity={sent ? 'info' : 'error'} sx={{ mb: 2 }} data-testid="report-error">{error}</Alert>}
          {!sent && list && (
            <>
              <FormControl required sx={{ mb: 2 }}>
                <FormLabel id="report-category-label">{t('watch.report.category')}</FormLabel>
                <RadioGroup aria-labelledby="report-category-label" value={category} onChange={(e) => setCategory(e.target.value)}>
                  {list.map((c) => (
                    <FormControlLabel key={c.code} value={c.code} control={<Radio slotProps={{ input: { 'data-testid': `report-category-${c.code}` } as object }} />}
                      label={<><Typography component="span">{c.label}</Typography>{c.description && <Typography component="span" variant="body2" color="text.secondary" sx={{ display: 'block' }}>{c.description}</Typography>}</>} />
                  ))}
                </RadioGroup>
              </FormControl>
              <TextField label={t('watch.report.note')} multiline minRows={2} fullWidth value={note} onChange={(e) => setNote(e.target.value.slice(0, 1000))}
                slotProps={{ htmlInput: { maxLength: 1000, 'data-testid': 'report-note' } }} />
            </>
          )}
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose} data-testid="report-close">{sent ? t('watch.myReports.close') : t('watch.report.cancel')}</Button>
          {!sent && <Button type="submit" variant="contained" disabled={busy || !list} data-testid="report-submit">{t('watch.report.submit')}</Button>}
        </DialogActions>
      </form>
    </Dialog>
  );
}
