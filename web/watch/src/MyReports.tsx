/** The reporter's own reports and what came of them (`GET /api/reports/mine`), newest first, in a dialog. */
import { useEffect, useState } from 'react';
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, List, ListItem, ListItemText } from '@mui/material';
import { ApiError, api } from '../../common/api.ts';
import { t } from '../../common/i18n.ts';
import type { MyReport, ReportCategory } from './types.ts';

export function MyReports({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [reports, setReports] = useState<MyReport[] | null>(null);
  const [labels, setLabels] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const load = () => {
    setError(null);
    api<MyReport[]>('/reports/mine').then(setReports, (err: ApiError) => setError(t('watch.errors.generic', { message: err.message })));
    api<ReportCategory[]>('/report-categories').then((cs) => setLabels(Object.fromEntries(cs.map((c) => [c.code, c.label]))), () => undefined);
  };
  useEffect(() => { if (open) load(); }, [open]);

  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="my-reports-title">
      <DialogTitle id="my-reports-title">{t('watch.myReports.heading')}</DialogTitle>
      <DialogContent>
        {error && <Alert severity="error">{error}</Alert>}
        {reports?.length === 0 && <Alert severity="info">{t('watch.myReports.empty')}</Alert>}
        <List data-testid="my-reports">
          {[...(reports ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((r) => (
            <ListItem key={r.id} divider data-testid="my-report" data-outcome={r.outcome ?? ''}>
              <ListItemText
                primary={`${t(`watch.myReports.subject.${r.subjectType}`)} · ${labels[r.category] ?? r.category}`}
                secondary={`${t('watch.myReports.reportedAt', { time: new Date(r.createdAt).toLocaleString() })} — ${r.outcome ? t('watch.myReports.outcome', { outcome: r.outcome }) : t('watch.myReports.pending')}`}
              />
            </ListItem>
          ))}
        </List>
      </DialogContent>
      <DialogActions>
        <Button onClick={load}>{t('watch.myReports.refresh')}</Button>
        <Button onClick={onClose} variant="contained">{t('watch.myReports.close')}</Button>
      </DialogActions>
    </Dialog>
  );
}
