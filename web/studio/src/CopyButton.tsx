/** A button that copies a text to the clipboard and says whether it worked. */
import { useState } from 'react';
import { Button } from '@mui/material';
import ContentCopy from '@mui/icons-material/ContentCopy';
import { t } from '../../common/i18n.ts';

export function CopyButton({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.setTimeout(() => setState('idle'), 3000);
  };
  return (
    <Button variant="outlined" startIcon={<ContentCopy aria-hidden="true" />} onClick={() => void copy()} data-testid={testId} aria-live="polite">
      {state === 'copied' ? t('studio.keys.copied') : state === 'failed' ? t('studio.keys.copyFailed') : label}
    </Button>
  );
}
