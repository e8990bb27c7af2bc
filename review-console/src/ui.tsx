/**
 * Small shared pieces: priority chips, SLA countdown clocks, blurred images (moderator wellbeing: blurred and
 * greyscale until revealed) and the action dialog every decision uses (reason code, note, hours).
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import {
  Box, Button, Chip, CircularProgress, Dialog, DialogActions, DialogContent, DialogTitle, MenuItem, TextField, Tooltip, Typography,
} from '@mui/material';
import { clock, useReasonCodes } from './hooks';
import { useNow } from './live';
import type { Priority } from './types';

/** Background colours of priorities (white text on each passes WCAG AA). */
export const PRIORITY_COLORS: Record<Priority, string> = {
  critical: '#b71c1c', urgent: '#c43e00', high: '#8a5a00', normal: '#1565c0', low: '#546e7a',
};

/** A case's priority as a coloured chip. */
export function PriorityChip({ priority, count, onClick, selected, testId }: { priority: Priority; count?: number; onClick?: () => void; selected?: boolean; testId?: string }) {
  return (
    <Chip
      size="small"
      label={count === undefined ? priority : `${priority} ${count}`}
      onClick={onClick}
      data-testid={testId}
      data-priority={priority}
      variant={selected === false ? 'outlined' : 'filled'}
      sx={{
        fontWeight: 600, textTransform: 'uppercase', fontSize: '0.68rem', letterSpacing: 0.3, height: 22,
        ...(selected === false
          ? { borderColor: PRIORITY_COLORS[priority], color: 'text.primary' }
          : { bgcolor: PRIORITY_COLORS[priority], color: '#fff', '&:hover': { bgcolor: PRIORITY_COLORS[priority], filter: 'brightness(1.1)' } }),
      }}
    />
  );
}

/** A live countdown to the SLA due time; red and negative once overdue. Frozen (grey) for resolved cases. */
export function SlaClock({ due, resolvedAt }: { due: string; resolvedAt?: string | null }) {
  const now = useNow();
  const end = resolvedAt ? new Date(resolvedAt).getTime() : now;
  const left = (new Date(due).getTime() - end) / 1000;
  const overdue = left < 0;
  return (
    <Tooltip title={`SLA due ${new Date(due).toLocaleString()}`}>
      <Box component="span" data-testid="sla-clock" data-overdue={overdue ? 'true' : 'false'} sx={{
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', fontSize: '0.8rem', fontWeight: overdue ? 700 : 500, whiteSpace: 'nowrap',
        color: resolvedAt ? 'text.secondary' : overdue ? 'error.main' : left < 300 ? 'warning.main' : 'text.primary',
      }}>
        {overdue ? `${clock(left)} overdue` : clock(left)}
      </Box>
    </Tooltip>
  );
}

/** The blur applied to unrevealed evidence. */
export const HIDDEN_FILTER = 'blur(24px) grayscale(1)';

/**
 * An image shown blurred and greyscale until revealed; clicking toggles it (or calls `onToggle` when the
 * reveal state is owned by the parent). Never loads eagerly off-screen.
 */
export function BlurredImage({ src, alt, revealed: revealedProp, onToggle, height = 160, testId = 'evidence-image', hint = 'hidden · click to reveal' }: {
  src: string; alt: string; revealed?: boolean; onToggle?: () => void; height?: number | string; testId?: string;
  /** The label over a hidden image (none when empty, e.g. on small thumbnails). */
  hint?: string;
}) {
  const [own, setOwn] = useState(false);
  const revealed = revealedProp ?? own;
  const toggle = onToggle ?? (() => setOwn((v) => !v));
  return (
    <Box
      role="button"
      tabIndex={0}
      aria-label={revealed ? `${alt} (click to hide)` : `${alt}, hidden (click to reveal)`}
      onClick={(e) => { e.stopPropagation(); toggle(); }}
      onKeyDown={(e) => { if (e.key === ' ') { e.preventDefault(); toggle(); } }}
      sx={{ position: 'relative', overflow: 'hidden', borderRadius: 1, bgcolor: '#222', height, cursor: 'pointer', lineHeight: 0 }}
    >
      <img
        src={src}
        alt={alt}
        loading="lazy"
        draggable={false}
        data-testid={testId}
        data-revealed={revealed ? 'true' : 'false'}
        style={{ width: '100%', height: '100%', objectFit: 'contain', filter: revealed ? 'none' : HIDDEN_FILTER, transition: 'filter 120ms' }}
      />
      {!revealed && hint && (
        <Box sx={{ position: 'absolute', inset: 0, display: 'flex', alignItems: 'center', justifyContent: 'center', pointerEvents: 'none' }}>
          <Typography variant="caption" sx={{ color: '#fff', bgcolor: 'rgba(0,0,0,.55)', px: 1, py: 0.25, borderRadius: 1, lineHeight: 1.6 }}>{hint}</Typography>
        </Box>
      )}
    </Box>
  );
}

export interface ActionValues { reasonCode: string; note: string; hours: number | undefined }

/**
 * A confirm dialog for a moderation action: reason code (preselected), optional note, hours when the action
 * lasts. Enter confirms (the confirm button has focus), Escape cancels.
 */
export function ActionDialog({ open, title, description, confirmLabel, danger, withReason = true, defaultReason, chooseReason, hours, noteRequired, onConfirm, onClose, testId = 'action-dialog', children }: {
  open: boolean; title: string; description?: ReactNode; confirmLabel: string; danger?: boolean; withReason?: boolean; defaultReason?: string | null;
  /** No reason code is preselected: the moderator must choose one. */
  chooseReason?: boolean;
  /** Default hours, shown as a field when set. */
  hours?: number; noteRequired?: boolean;
  onConfirm: (v: ActionValues) => Promise<unknown>; onClose: () => void; testId?: string; children?: ReactNode;
}) {
  const codes = useReasonCodes();
  const [reasonCode, setReasonCode] = useState('');
  const [note, setNote] = useState('');
  const [hoursText, setHoursText] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!open) return;
    setReasonCode(defaultReason ?? '');
    setNote('');
    setHoursText(hours === undefined ? '' : String(hours));
    setBusy(false);
  }, [open, defaultReason, hours]);
  // reason codes arriving after the dialog opened: choose the first when none is preselected
  useEffect(() => {
    if (open && codes.length && !chooseReason) setReasonCode((rc) => (rc && codes.some((c) => c.code === rc) ? rc : defaultReason && codes.some((c) => c.code === defaultReason) ? defaultReason : codes[0]!.code));
  }, [open, codes, defaultReason, chooseReason]);

  const hoursValue = hours === undefined ? undefined : Number(hoursText);
  const invalid = (withReason && !reasonCode) || (noteRequired && !note.trim()) || (hours !== undefined && !(hoursValue! > 0));
  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (invalid || busy) return;
    setBusy(true);
    try {
      await onConfirm({ reasonCode, note: note.trim(), hours: hoursValue });
      onClose();
    } catch {
      setBusy(false); // the caller reported the error; keep the dialog for another try
    }
  };
  const selected = codes.find((c) => c.code === reasonCode);

  return (
    <Dialog open={open} onClose={busy ? undefined : onClose} maxWidth="xs" fullWidth slotProps={{ paper: { component: 'form', onSubmit: submit, 'data-testid': testId } as object }}>
      <DialogTitle sx={{ pb: 1 }}>{title}</DialogTitle>
      <DialogContent sx={{ display: 'flex', flexDirection: 'column', gap: 1.5, pt: '4px !important' }}>
        {description && <Typography variant="body2" color="text.secondary">{description}</Typography>}
        {children}
        {withReason && (
          <TextField select size="small" label="Reason code" autoFocus={!!chooseReason} value={reasonCode} onChange={(e) => setReasonCode(e.target.value)}
            helperText={selected ? `${selected.description}${selected.weight ? ` · ${selected.weight} strike point${selected.weight === 1 ? '' : 's'}` : ''}` : ' '}
            slotProps={{ select: { MenuProps: { slotProps: { paper: { sx: { maxHeight: 320 } } } } }, htmlInput: { 'data-testid': 'reason-code' } }}>
            {codes.length === 0 && reasonCode && <MenuItem value={reasonCode}>{reasonCode}</MenuItem>}
            {chooseReason && <MenuItem value="" disabled>Choose a reason code</MenuItem>}
            {codes.map((c) => <MenuItem key={c.code} value={c.code} dense>{c.label} <Typography component="span" variant="caption" sx={{ ml: 1, color: 'text.secondary' }}>{c.code}</Typography></MenuItem>)}
          </TextField>
        )}
        {hours !== undefined && (
          <TextField size="small" type="number" label="Hours" value={hoursText} onChange={(e) => setHoursText(e.target.value)}
            slotProps={{ htmlInput: { min: 1, max: 8760, step: 1 } }} error={!(hoursValue! > 0)} />
        )}
        <TextField size="small" label={noteRequired ? 'Note (required)' : 'Note (optional)'} value={note} onChange={(e) => setNote(e.target.value)}
          slotProps={{ htmlInput: { maxLength: 2000 } }} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={busy}>Cancel</Button>
        <Button type="submit" variant="contained" color={danger ? 'error' : 'primary'} autoFocus={!chooseReason} disabled={invalid || busy} data-testid="confirm-action"
          startIcon={busy ? <CircularProgress size={14} color="inherit" /> : undefined}>
          {confirmLabel} <Box component="span" sx={{ ml: 1, opacity: 0.7, fontSize: '0.7rem' }}>⏎</Box>
        </Button>
      </DialogActions>
    </Dialog>
  );
}
