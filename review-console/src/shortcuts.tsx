/**
 * Keyboard shortcuts. Pages register single-key handlers with {@link useShortcuts}; a key never fires while the
 * user types in a field, while a dialog or menu is open (the dialog handles its own keys: Enter confirms,
 * Escape cancels), or with Ctrl, Alt or Meta held. `?` shows the list ({@link ShortcutHelp}).
 */
import { useEffect, useRef } from 'react';
import { Box, Dialog, DialogContent, DialogTitle, Table, TableBody, TableCell, TableRow, Typography } from '@mui/material';

/** True when the event comes from somewhere the user types (inputs, selects, editable text). */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t || !(t instanceof HTMLElement)) return false;
  const tag = t.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable) return true;
  return !!t.closest('[role="combobox"], [role="listbox"], [role="menu"], [contenteditable="true"]');
}

/** True while a modal (dialog, menu, select popup) is open. */
export function modalOpen(): boolean {
  return !!document.querySelector('.MuiModal-root:not(.MuiModal-hidden), .MuiDialog-root');
}

export type ShortcutMap = Partial<Record<string, (e: KeyboardEvent) => void>>;

/**
 * Handles the keys of `map` (by `KeyboardEvent.key`: `j`, `Enter`, `?`) while `enabled`.
 * Handlers may change between renders without re-registering.
 */
export function useShortcuts(map: ShortcutMap, enabled = true): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      if (isTyping(e) || modalOpen()) return;
      const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      const fn = ref.current[key];
      if (!fn) return;
      // Enter on a focused button or link is the browser's to handle
      if (key === 'Enter' && (e.target as HTMLElement | null)?.closest?.('button, a, [role="button"]')) return;
      e.preventDefault();
      fn(e);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled]);
}

/** Every shortcut, as the help dialog lists them. */
export const SHORTCUTS: readonly { keys: string; what: string; where: string }[] = [
  { keys: 'n', what: 'Next case: open and claim the most urgent unclaimed case', where: 'anywhere' },
  { keys: 'u', what: 'Undo your last decision (while the undo bar counts down)', where: 'anywhere' },
  { keys: '?', what: 'This help', where: 'anywhere' },
  { keys: 'j / k', what: 'Move down / up the queue', where: 'queue' },
  { keys: 'Enter', what: 'Open (and claim) the selected case', where: 'queue' },
  { keys: 'r', what: 'Reveal / hide all evidence', where: 'case' },
  { keys: 'c / x', what: 'Claim / release the case', where: 'case' },
  { keys: 'd', what: 'Dismiss', where: 'case' },
  { keys: 'w', what: 'Warn', where: 'case' },
  { keys: 'm', what: 'Remove the content', where: 'case' },
  { keys: 't', what: 'Timeout (chat)', where: 'case' },
  { keys: 'e', what: 'End the stream', where: 'case' },
  { keys: 's', what: 'Suspend', where: 'case' },
  { keys: 'b', what: 'Ban', where: 'case' },
  { keys: 'h / o', what: 'Uphold / overturn (appeal cases)', where: 'case' },
  { keys: 'a / j', what: 'Approve / reject (age/ID verification cases)', where: 'case' },
  { keys: 'Enter', what: 'Confirm the decision (reason code preselected)', where: 'decision dialog' },
  { keys: 'Esc', what: 'Cancel', where: 'dialogs' },
  { keys: 'Backspace', what: 'Back to the queue', where: 'case' },
];

/** The shortcut list in a dialog. */
export function ShortcutHelp({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} maxWidth="sm" fullWidth data-testid="shortcut-help">
      <DialogTitle>Keyboard shortcuts</DialogTitle>
      <DialogContent>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
          Shortcuts never fire while you type in a field. A decision key opens its dialog with the suggested reason
          code chosen, so banning a performer is <Kbd>b</Kbd> then <Kbd>Enter</Kbd>.
        </Typography>
        <Table size="small">
          <TableBody>
            {SHORTCUTS.map((s) => (
              <TableRow key={`${s.keys}-${s.where}`}>
                <TableCell sx={{ width: 110, whiteSpace: 'nowrap' }}>{s.keys.split(' / ').map((k, i) => <span key={k}>{i > 0 && ' / '}<Kbd>{k}</Kbd></span>)}</TableCell>
                <TableCell>{s.what}</TableCell>
                <TableCell sx={{ color: 'text.secondary', whiteSpace: 'nowrap' }}>{s.where}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </DialogContent>
    </Dialog>
  );
}

/** A key cap. */
export function Kbd({ children }: { children: React.ReactNode }) {
  return (
    <Box component="kbd" sx={{
      display: 'inline-block', minWidth: 18, px: 0.5, border: 1, borderColor: 'divider', borderRadius: 0.5, fontSize: '0.75rem',
      fontFamily: 'ui-monospace, monospace', textAlign: 'center', lineHeight: 1.5, bgcolor: 'action.hover',
    }}>{children}</Box>
  );
}
