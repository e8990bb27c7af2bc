/**
 * The panic button: large, fixed, high contrast, always on screen while the performer is live. It confirms
 * without a dialog: hold it for a second (a ring fills as you hold) or tap it twice. Keyboard: hold Space or
 * Enter, or press twice. Pointer and keys both work on phones and desktops.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, ButtonBase, CircularProgress, Typography } from '@mui/material';
import { t } from '../../../common/i18n.ts';

/** How long a hold confirms (ms), and how long a first tap waits for the second. */
export const HOLD_MS = 1000;
const ARM_MS = 4000;

export function PanicButton({ onFire, disabled }: { onFire(): void; disabled?: boolean }) {
  const [progress, setProgress] = useState(0);
  const [armed, setArmed] = useState(false);
  const hold = useRef<{ start: number; frame: number } | null>(null);
  const armTimer = useRef<number | null>(null);
  const keyHeld = useRef(false);

  const disarm = useCallback(() => {
    setArmed(false);
    if (armTimer.current !== null) { window.clearTimeout(armTimer.current); armTimer.current = null; }
  }, []);

  const fire = useCallback(() => {
    if (hold.current) { cancelAnimationFrame(hold.current.frame); hold.current = null; }
    setProgress(0);
    disarm();
    onFire();
  }, [disarm, onFire]);

  const begin = useCallback(() => {
    if (disabled || hold.current) return;
    const start = performance.now();
    const tick = () => {
      const p = Math.min(1, (performance.now() - start) / HOLD_MS);
      setProgress(p);
      if (p >= 1) fire();
      else if (hold.current) hold.current.frame = requestAnimationFrame(tick);
    };
    hold.current = { start, frame: requestAnimationFrame(tick) };
  }, [disabled, fire]);

  /** The press ended: a short press is a tap (the first arms, the second fires); `counts` false for a cancel. */
  const end = useCallback((counts: boolean) => {
    if (!hold.current) return;
    cancelAnimationFrame(hold.current.frame);
    hold.current = null;
    setProgress(0);
    if (!counts) return;
    if (armed) { fire(); return; }
    setArmed(true);
    armTimer.current = window.setTimeout(() => setArmed(false), ARM_MS);
  }, [armed, fire]);

  useEffect(() => () => { if (hold.current) cancelAnimationFrame(hold.current.frame); disarm(); }, [disarm]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault(); // no synthetic click: the hold decides
    if (e.repeat || keyHeld.current) return;
    keyHeld.current = true;
    begin();
  };
  const onKeyUp = (e: React.KeyboardEvent) => {
    if (e.key !== ' ' && e.key !== 'Enter') return;
    e.preventDefault();
    keyHeld.current = false;
    end(true);
  };

  // the accessible name is the visible text (PANIC and the hint); the longer help is its description
  return (
    <>
    <Box id="panic-help" component="span" sx={{ position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' }}>{t('studio.panic.ariaLabel')}</Box>
    <ButtonBase
      data-testid="panic-button" data-armed={armed ? 'true' : 'false'} data-progress={Math.round(progress * 100)}
      aria-describedby="panic-help" disabled={disabled}
      onPointerDown={(e) => { if (e.button === 0) { (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId); begin(); } }}
      onPointerUp={() => end(true)}
      onPointerCancel={() => end(false)}
      onKeyDown={onKeyDown} onKeyUp={onKeyUp}
      onBlur={() => { keyHeld.current = false; end(false); }}
      onContextMenu={(e) => e.preventDefault()}
      // an assistive technology's activation arrives as a click without a pointer or key press: a tap
      onClick={(e) => { if (e.detail === 0 && !keyHeld.current && !hold.current) { if (armed) fire(); else { setArmed(true); armTimer.current = window.setTimeout(() => setArmed(false), ARM_MS); } } }}
      sx={{
        minHeight: 80, width: '100%', maxWidth: 560, px: 2, borderRadius: 3, gap: 2, justifyContent: 'flex-start',
        bgcolor: armed ? '#7f1d1d' : '#b91c1c', color: '#ffffff', border: '3px solid #ffffff', boxShadow: 6,
        touchAction: 'none', userSelect: 'none', WebkitUserSelect: 'none', WebkitTouchCallout: 'none',
        '&:hover': { bgcolor: '#991b1b' },
        '&.Mui-focusVisible': { outline: '4px solid #f59e0b', outlineOffset: 2 },
      }}
    >
      <Box sx={{ position: 'relative', width: 56, height: 56, flex: 'none' }} aria-hidden="true">
        <CircularProgress variant="determinate" value={100} size={56} thickness={4} sx={{ color: 'rgba(255,255,255,0.35)', position: 'absolute', inset: 0 }} />
        <CircularProgress data-testid="panic-ring" variant="determinate" value={progress * 100} size={56} thickness={4} sx={{ color: '#ffffff', position: 'absolute', inset: 0, '& circle': { transition: 'none' } }} />
        <Typography component="span" sx={{ position: 'absolute', inset: 0, display: 'grid', placeItems: 'center', fontWeight: 900, fontSize: 28 }}>!</Typography>
      </Box>
      <Box sx={{ textAlign: 'left' }}>
        <Typography id="panic-label" component="span" sx={{ display: 'block', fontWeight: 900, fontSize: 26, letterSpacing: 2, lineHeight: 1.1 }}>{t('studio.panic.button')}</Typography>
        <Typography id="panic-hint" component="span" sx={{ display: 'block', fontSize: 16, fontWeight: 600 }}>
          {armed ? t('studio.panic.armed') : t('studio.panic.holdHint')}
        </Typography>
      </Box>
    </ButtonBase>
    </>
  );
}
