/**
 * A case's evidence: frames (blurred and greyscale until revealed, one by one or all with `r`) with score bars
 * per class, speech evidence (an audio player of the span, never autoplaying, and the transcript text), and any
 * other evidence's details.
 */
import { Box, Card, CardContent, Chip, Tooltip, Typography } from '@mui/material';
import { humanize, when } from '../hooks';
import { BlurredImage } from '../ui';
import type { Evidence } from '../types';

/** Score bars per class, highest first. */
export function ScoreBars({ scores }: { scores: Record<string, number> }) {
  const entries = Object.entries(scores).sort((a, b) => b[1] - a[1]);
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', gap: 0.25, mt: 0.75 }} data-testid="score-bars">
      {entries.map(([label, v]) => {
        const pct = Math.round(Math.max(0, Math.min(1, v)) * 100);
        const color = v >= 0.8 ? 'error.main' : v >= 0.5 ? 'warning.main' : 'text.disabled';
        return (
          <Box key={label} data-testid="score-bar" data-label={label} data-score={v} sx={{ display: 'grid', gridTemplateColumns: '72px 1fr 34px', alignItems: 'center', gap: 0.75, fontSize: '0.72rem' }}>
            <Box component="span" sx={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={label}>{label}</Box>
            <Box sx={{ height: 7, bgcolor: 'action.hover', borderRadius: 1, overflow: 'hidden' }} role="meter" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100} aria-label={label}>
              <Box sx={{ width: `${pct}%`, height: '100%', bgcolor: color }} />
            </Box>
            <Box component="span" sx={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums', fontWeight: v >= 0.5 ? 700 : 400 }}>{pct}%</Box>
          </Box>
        );
      })}
    </Box>
  );
}

function Frame({ e, revealed, onToggle }: { e: Evidence; revealed: boolean; onToggle: () => void }) {
  return (
    <Box sx={{ minWidth: 0 }} data-testid="evidence-frame" data-evidence-id={e.id}>
      <BlurredImage src={e.imageUrl!} alt={`frame ${e.capturedAt ? when(e.capturedAt) : e.id}`} revealed={revealed} onToggle={onToggle} height={150} hint="hidden · click or r" />
      <Typography variant="caption" color="text.secondary" noWrap component="div" sx={{ mt: 0.25 }} title={e.ruleId ?? undefined}>
        {e.capturedAt ? new Date(e.capturedAt).toLocaleTimeString() : ''}{e.ruleId ? ` · ${humanize(e.ruleId)}` : ''}
      </Typography>
      {e.scores && <ScoreBars scores={e.scores} />}
    </Box>
  );
}

/** Words of the watch-list findings in a speech evidence item, to highlight in its transcript. */
function findingWords(e: Evidence): Set<string> {
  const findings = (e.details.findings as { text?: string; phrase?: string }[] | undefined) ?? [];
  const words = new Set<string>();
  for (const f of findings) for (const w of `${f.text ?? ''} ${f.phrase ?? ''}`.toLowerCase().split(/\s+/)) if (w) words.add(w);
  return words;
}

function Speech({ e }: { e: Evidence }) {
  const hits = findingWords(e);
  const t = e.transcript;
  return (
    <Box data-testid="evidence-audio" data-evidence-id={e.id} sx={{ p: 1, border: 1, borderColor: 'divider', borderRadius: 1 }}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 0.5, flexWrap: 'wrap' }}>
        <Chip size="small" label="speech" />
        {e.ruleId && <Typography variant="caption" color="text.secondary">{humanize(e.ruleId)}</Typography>}
        {t && <Typography variant="caption" color="text.secondary">{t.start.toFixed(1)}–{t.end.toFixed(1)} s of the chunk</Typography>}
      </Box>
      {e.audioUrl && <audio controls preload="none" src={e.audioUrl} style={{ width: '100%', height: 32 }} data-testid="evidence-audio-player" />}
      <Typography variant="body2" sx={{ mt: 0.5, fontStyle: t?.text ? 'normal' : 'italic' }} data-testid="transcript">
        {t?.text
          ? t.words.length
            ? t.words.map((w, i) => (
              <Tooltip key={i} title={`${w.start.toFixed(2)}–${w.end.toFixed(2)} s`}>
                <Box component="span" sx={hits.has(w.word.toLowerCase()) ? { bgcolor: 'warning.light', color: '#000', px: 0.25, borderRadius: 0.5, fontWeight: 600 } : undefined}>{w.word}{' '}</Box>
              </Tooltip>
            ))
            : t.text
          : 'no transcript for this span'}
      </Typography>
    </Box>
  );
}

/** A compact rendering of an evidence item's details (message text, matched terms, …). */
function Details({ e }: { e: Evidence }) {
  const d = e.details;
  const body = typeof d.body === 'string' ? d.body : null;
  const rest = Object.entries(d).filter(([k]) => k !== 'body' && k !== 'audio');
  return (
    <Box sx={{ p: 1, border: 1, borderColor: 'divider', borderRadius: 1, minWidth: 0 }} data-testid="evidence-details">
      <Typography variant="caption" color="text.secondary">{e.ruleId ? humanize(e.ruleId) : 'evidence'}{e.capturedAt ? ` · ${when(e.capturedAt)}` : ''}</Typography>
      {body && <Typography variant="body2" sx={{ fontWeight: 600, wordBreak: 'break-word' }}>“{body}”</Typography>}
      {rest.length > 0 && (
        <Box component="pre" sx={{ m: 0, mt: 0.5, fontSize: '0.7rem', whiteSpace: 'pre-wrap', wordBreak: 'break-word', maxHeight: 120, overflow: 'auto', color: 'text.secondary' }}>
          {JSON.stringify(Object.fromEntries(rest), null, 1)}
        </Box>
      )}
    </Box>
  );
}

/** The evidence panel. `revealed` holds the ids of revealed frames. */
export function EvidencePanel({ evidence, revealed, onToggle }: { evidence: Evidence[]; revealed: Set<number>; onToggle: (id: number) => void }) {
  const frames = evidence.filter((e) => e.imageUrl);
  const speech = evidence.filter((e) => !e.imageUrl && (e.audioUrl || e.transcript));
  const other = evidence.filter((e) => !e.imageUrl && !e.audioUrl && !e.transcript);
  return (
    <Card data-testid="evidence-panel">
      <CardContent>
        <Box sx={{ display: 'flex', alignItems: 'baseline', gap: 1, mb: 1 }}>
          <Typography variant="subtitle2">Evidence</Typography>
          <Typography variant="caption" color="text.secondary">
            {frames.length} frame{frames.length === 1 ? '' : 's'}{speech.length ? `, ${speech.length} speech` : ''}{frames.length ? ' · images stay blurred until you reveal them (click, or r for all)' : ''}
          </Typography>
        </Box>
        {evidence.length === 0 && <Typography variant="body2" color="text.secondary">No evidence attached (a report or a manual case).</Typography>}
        {frames.length > 0 && (
          <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(170px, 1fr))', gap: 1.25, mb: speech.length || other.length ? 1.5 : 0 }}>
            {frames.map((e) => <Frame key={e.id} e={e} revealed={revealed.has(e.id)} onToggle={() => onToggle(e.id)} />)}
          </Box>
        )}
        {speech.length > 0 && <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1, mb: other.length ? 1.5 : 0 }}>{speech.map((e) => <Speech key={e.id} e={e} />)}</Box>}
        {other.length > 0 && <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(240px, 1fr))', gap: 1 }}>{other.map((e) => <Details key={e.id} e={e} />)}</Box>}
      </CardContent>
    </Card>
  );
}
