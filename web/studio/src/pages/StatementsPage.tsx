/**
 * Decisions about the performer (statements of reasons: what was decided, why, automated or not, the restriction,
 * how to seek redress) and appeals: an appeal form while the window is open, then the appeal's status.
 */
import { useCallback, useEffect, useState } from 'react';
import { Alert, Box, Button, Chip, Paper, Stack, TextField, Typography } from '@mui/material';
import { api } from '../../../common/api.ts';
import { t } from '../../../common/i18n.ts';
import { Section } from '../Section.tsx';
import { errorText, when } from '../format.ts';
import type { Appeal, Statement } from '../types.ts';

function AppealForm({ statementId, onSent }: { statementId: string; onSent(): void }) {
  const [body, setBody] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    try { await api('/appeals', { method: 'POST', body: { statementId, body } }); onSent(); } catch (err) { setError(errorText(err)); }
  };
  return (
    <Box component="form" onSubmit={submit} sx={{ mt: 1 }}>
      <Typography component="h4" variant="subtitle2" sx={{ fontWeight: 700 }}>{t('studio.statements.appealHeading')}</Typography>
      <TextField label={t('studio.statements.appealBody')} multiline minRows={3} fullWidth value={body} onChange={(e) => setBody(e.target.value)} helperText={t('studio.statements.appealHelp')} slotProps={{ htmlInput: { maxLength: 5000 } }} sx={{ my: 1 }} />
      {error && <Alert severity="error" role="alert" sx={{ mb: 1 }}>{error}</Alert>}
      <Button type="submit" variant="contained" disabled={body.trim().length < 10}>{t('studio.statements.appealSubmit')}</Button>
    </Box>
  );
}

export function StatementsPage() {
  const [statements, setStatements] = useState<Statement[] | null>(null);
  const [appeals, setAppeals] = useState<Appeal[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [s, a] = await Promise.all([api<Statement[]>('/statements'), api<Appeal[]>('/studio/appeals')]);
      setStatements(s);
      setAppeals(a);
    } catch (err) { setError(errorText(err)); }
  }, []);
  useEffect(() => { void load(); }, [load]);
  return (
    <Section title={t('studio.statements.heading')} testId="statements-section">
      <Typography sx={{ mb: 2 }}>{t('studio.statements.intro')}</Typography>
      {error && <Alert severity="error">{error}</Alert>}
      {statements?.length === 0 && <Typography>{t('studio.statements.none')}</Typography>}
      <Stack spacing={2}>
        {statements?.map((s) => {
          const appeal = appeals.find((a) => a.statementId === s.id);
          const open = !s.withdrawnAt && !!s.appealableUntil && Date.parse(s.appealableUntil) > Date.now();
          return (
            <Paper key={s.id} variant="outlined" component="article" sx={{ p: 2 }} data-testid="statement" data-statement-id={s.id}>
              <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', alignItems: 'center', mb: 1 }}>
                <Typography component="h3" variant="subtitle1" sx={{ fontWeight: 700 }}>{t('studio.statements.decision', { decision: s.decision })}</Typography>
                <Typography variant="body2">{when(s.createdAt)}</Typography>
                {s.automatedDetection && <Chip size="small" label={t('studio.statements.automated')} />}
                {s.automatedDecision && <Chip size="small" label={t('studio.statements.automatedDecision')} />}
              </Stack>
              <Typography variant="body2">{t('studio.statements.reasonCode', { reason: s.ground?.description || s.reasonCode })}</Typography>
              <Typography variant="body2" sx={{ whiteSpace: 'pre-wrap', my: 1 }}>{s.facts}</Typography>
              {s.restriction && <Typography variant="body2">{t('studio.statements.restriction', { kind: s.restriction.kind, until: s.restriction.until ? t('studio.statements.until', { time: when(s.restriction.until) }) : '' })}</Typography>}
              {s.withdrawnAt && <Alert severity="success" sx={{ my: 1 }}>{t('studio.statements.withdrawn', { time: when(s.withdrawnAt), reason: s.withdrawnReason ?? '' })}</Alert>}
              <Typography variant="body2" sx={{ mt: 1 }}><strong>{t('studio.statements.redress')}:</strong> {s.redress}</Typography>
              {appeal ? (
                <Alert severity={appeal.status === 'overturned' ? 'success' : appeal.status === 'upheld' ? 'warning' : 'info'} sx={{ mt: 1 }} data-testid="appeal-status" data-status={appeal.status}>
                  {t(`studio.statements.appealStatus.${appeal.status}`)}
                  {appeal.decisionNote ? ` — ${t('studio.statements.appealNote', { note: appeal.decisionNote })}` : ''}
                </Alert>
              ) : open ? (
                <>
                  <Typography variant="body2" sx={{ mt: 1 }}>{t('studio.statements.appealableUntil', { time: when(s.appealableUntil) })}</Typography>
                  <AppealForm statementId={s.id} onSent={() => void load()} />
                </>
              ) : null}
            </Paper>
          );
        })}
      </Stack>
    </Section>
  );
}
